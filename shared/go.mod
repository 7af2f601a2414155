module github.com/compio-sync/gosync/shared

go 1.26.0

require (
	github.com/compio-sync/gosync/backend-generic v0.0.0
	github.com/compio-sync/gosync/backend-iocp v0.0.0
	github.com/compio-sync/gosync/backend-iouring v0.0.0
	github.com/compio-sync/gosync/conformance v0.0.0
	github.com/compio-sync/gosync/core v0.0.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/anishathalye/porcupine v1.3.1 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)

replace (
	github.com/compio-sync/gosync/backend-generic => ../backend-generic
	github.com/compio-sync/gosync/backend-iocp => ../backend-iocp
	github.com/compio-sync/gosync/backend-iouring => ../backend-iouring
	github.com/compio-sync/gosync/conformance => ../conformance
	github.com/compio-sync/gosync/core => ../core
)
