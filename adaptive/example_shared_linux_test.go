package adaptive_test

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/compio-sync/gosync/adaptive"
	"github.com/compio-sync/gosync/shared"
)

// A limit shared by the processes of one machine, set by one of them from
// what the calls behind it report. The controlling process wraps its handle
// in a Limiter; the Limiter steers the region's maximum, which every
// process's handle obeys, and the other processes acquire from their own
// handles as usual. Run exactly one Limiter per shared semaphore (see
// docs/adaptive.md): two would fight over the same maximum.
func Example_shared() {
	name := "gosync-example-adaptive-" + strconv.Itoa(os.Getpid())
	sem, err := shared.Open(name, 8) // other processes open the same name
	if err != nil {
		fmt.Println(err)
		return
	}
	defer shared.Remove(name)
	defer sem.Detach()

	l := adaptive.New(sem, adaptive.AIMD(), adaptive.WithLimits(2, 16, 8))
	ctx := context.Background()
	for range 2 {
		tok, err := l.Acquire(ctx)
		if err != nil {
			fmt.Println(err) // holds nothing
			return
		}
		tok.Drop() // the call behind it timed out: an overload signal
	}
	fmt.Println("limit:", l.Limit(), "region maximum:", sem.MaxPermits(), "in use:", sem.InUse())
	// Output:
	// limit: 6 region maximum: 6 in use: 0
}
