package fleet_test

import (
	"testing"
	"time"
)

// TestCutOffHolderIsToldBeforeAnotherIsGranted: a holder cut off from etcd
// learns that its permit is lost (Done closes, ErrLeaseLost) before etcd
// expires its lease and grants the permit to a waiter in another process:
// it keeps a deadline of TTL minus a margin from the last keepalive etcd
// answered, instead of waiting to hear that etcd acted. (On one member;
// TestFaults/PartitionedHolderLearnsLoss runs the same on three.)
func TestCutOffHolderIsToldBeforeAnotherIsGranted(t *testing.T) {
	watchdog(t, 60*time.Second)
	c := sharedEmbedded(t)
	testPartitionedHolder(t, c)
}
