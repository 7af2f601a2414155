// Package fleet is a fleet-wide semaphore on etcd.
package fleet

import (
	_ "github.com/compio-sync/gosync/core"
	_ "go.etcd.io/etcd/client/v3"
)
