module github.com/compio-sync/gosync/benchmarks

go 1.26

require github.com/compio-sync/gosync/core v0.0.0

replace (
	github.com/compio-sync/gosync/backend-generic => ../backend-generic
	github.com/compio-sync/gosync/backend-iocp => ../backend-iocp
	github.com/compio-sync/gosync/backend-iouring => ../backend-iouring
	github.com/compio-sync/gosync/conformance => ../conformance
	github.com/compio-sync/gosync/core => ../core
)
