module github.com/compio-sync/gosync/backend-iouring

go 1.26

require golang.org/x/sys v0.50.0

replace (
	github.com/compio-sync/gosync/conformance => ../conformance
	github.com/compio-sync/gosync/core => ../core
)
