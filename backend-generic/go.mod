module github.com/compio-sync/gosync/backend-generic

go 1.26.0

require github.com/compio-sync/gosync/core v0.0.0

require golang.org/x/sync v0.25.0 // indirect

replace (
	github.com/compio-sync/gosync/conformance => ../conformance
	github.com/compio-sync/gosync/core => ../core
)
