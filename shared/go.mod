module github.com/compio-sync/gosync/shared

go 1.26.0

require (
	github.com/compio-sync/gosync/backend-generic v0.0.0-00010101000000-000000000000
	github.com/compio-sync/gosync/backend-iouring v0.0.0
	github.com/compio-sync/gosync/core v0.0.0
	golang.org/x/sys v0.50.0
)

replace (
	github.com/compio-sync/gosync/backend-generic => ../backend-generic
	github.com/compio-sync/gosync/backend-iouring => ../backend-iouring
	github.com/compio-sync/gosync/conformance => ../conformance
	github.com/compio-sync/gosync/core => ../core
)
