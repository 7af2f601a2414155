module github.com/compio-sync/gosync/otel

go 1.26.0

require (
	github.com/compio-sync/gosync/adaptive v0.0.0
	github.com/compio-sync/gosync/backend-generic v0.0.0
	github.com/compio-sync/gosync/core v0.0.0
	github.com/google/go-cmp v0.7.0
	go.opentelemetry.io/otel v1.47.0
	go.opentelemetry.io/otel/metric v1.47.0
	go.opentelemetry.io/otel/sdk/metric v1.47.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/sdk v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace (
	github.com/compio-sync/gosync/adaptive => ../adaptive
	github.com/compio-sync/gosync/backend-generic => ../backend-generic
	github.com/compio-sync/gosync/backend-iocp => ../backend-iocp
	github.com/compio-sync/gosync/backend-iouring => ../backend-iouring
	github.com/compio-sync/gosync/conformance => ../conformance
	github.com/compio-sync/gosync/core => ../core
	github.com/compio-sync/gosync/shared => ../shared
)
