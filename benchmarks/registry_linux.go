package benchmarks

import (
	iouring "github.com/compio-sync/gosync/backend-iouring"
	"github.com/compio-sync/gosync/core"
)

// platformContenders are the contenders that exist only on Linux. core+iouring
// is left out of a run (with a note) when iouring.New reports
// errors.ErrUnsupported: an old kernel, io_uring disabled by sysctl, or a
// sandbox.
var platformContenders = []Contender{
	{Name: "core+iouring", New: coreNew(func() (core.Backend, error) { return iouring.New() }), Weighted: true, Cancellable: true, FIFO: true},
}
