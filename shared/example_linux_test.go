package shared_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/compio-sync/gosync/shared"
)

func init() { extraRoles["example"] = exampleChild }

// Two processes share a limit of 2 (say, two GPU slots). The first creates
// the semaphore and takes a slot; the second (here this test binary started
// again) opens it by name, takes the other slot, finds no third, and exits
// without releasing, as a crash would. Its slot comes back to the first
// process.
func Example() {
	name := "gosync-example-" + strconv.Itoa(os.Getpid())
	sem, err := shared.Open(name, 2) // creates /dev/shm/<name> with 2 permits, mode 0600
	if err != nil {
		fmt.Println(err)
		return
	}
	defer shared.Remove(name)
	defer sem.Detach()

	p, err := sem.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("first process holds", p.Count(), "of", sem.MaxPermits())

	second := exec.Command(os.Args[0], "-test.run=^$")
	second.Env = append(os.Environ(), childRole+"=example", childName+"="+name)
	second.Stdout = os.Stdout
	stdin, _ := second.StdinPipe() // the child exits if its parent dies
	if err := second.Run(); err != nil {
		fmt.Println("second process:", err)
	}
	stdin.Close()

	// The second process died holding a permit. A waiter looks for dead
	// processes every 100 ms or so and returns what they held.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := sem.Acquire(ctx)
	fmt.Println("after it exited, Acquire:", err, "InUse:", sem.InUse())
	q.Release()
	p.Release()
	// Output:
	// first process holds 1 of 2
	// second process: took 1; InUse 2
	// second process: TryAcquire of a third: false
	// after it exited, Acquire: <nil> InUse: 2
}

// exampleChild is Example's second process.
func exampleChild(out logger) int {
	sem, err := shared.OpenExisting(os.Getenv(childName))
	if err != nil {
		fmt.Println(err)
		return 2
	}
	p, err := sem.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return 2
	}
	fmt.Printf("second process: took %d; InUse %d\n", p.Count(), sem.InUse())
	_, ok := sem.TryAcquire()
	fmt.Println("second process: TryAcquire of a third:", ok)
	return 0 // exits holding p: its permit returns to the semaphore anyway
}
