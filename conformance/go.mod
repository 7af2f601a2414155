module github.com/compio-sync/gosync/conformance

go 1.26.0

require (
	github.com/anishathalye/porcupine v1.3.1
	github.com/compio-sync/gosync/backend-generic v0.0.0
	github.com/compio-sync/gosync/core v0.0.0
	github.com/google/go-cmp v0.7.0
	go.uber.org/goleak v1.3.0
	pgregory.net/rapid v1.3.0
)

replace (
	github.com/compio-sync/gosync/backend-generic => ../backend-generic
	github.com/compio-sync/gosync/core => ../core
)
