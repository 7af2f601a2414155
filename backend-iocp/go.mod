module github.com/compio-sync/gosync/backend-iocp

go 1.26

require github.com/compio-sync/gosync/core v0.0.0

replace (
	github.com/compio-sync/gosync/conformance => ../conformance
	github.com/compio-sync/gosync/core => ../core
)
