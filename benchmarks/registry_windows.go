package benchmarks

import (
	iocp "github.com/compio-sync/gosync/backend-iocp"
	"github.com/compio-sync/gosync/core"
)

// platformContenders are the contenders that exist only on Windows.
var platformContenders = []Contender{
	{Name: "core+iocp", New: coreNew(func() (core.Backend, error) { return iocp.New() }), Weighted: true, Cancellable: true, FIFO: true},
}
