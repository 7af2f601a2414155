module github.com/compio-sync/gosync/adaptive

go 1.26.0

require (
	github.com/compio-sync/gosync/backend-generic v0.0.0
	github.com/compio-sync/gosync/core v0.0.0
	github.com/compio-sync/gosync/shared v0.0.0
	go.uber.org/goleak v1.3.0
)

require golang.org/x/sys v0.50.0 // indirect

replace (
	github.com/compio-sync/gosync/backend-generic => ../backend-generic
	github.com/compio-sync/gosync/backend-iocp => ../backend-iocp
	github.com/compio-sync/gosync/backend-iouring => ../backend-iouring
	github.com/compio-sync/gosync/conformance => ../conformance
	github.com/compio-sync/gosync/core => ../core
	github.com/compio-sync/gosync/shared => ../shared
)
