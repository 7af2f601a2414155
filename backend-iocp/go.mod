module github.com/compio-sync/gosync/backend-iocp

go 1.26

require (
	github.com/compio-sync/gosync/core v0.0.0
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.47.0
)

replace (
	github.com/compio-sync/gosync/conformance => ../conformance
	github.com/compio-sync/gosync/core => ../core
)
