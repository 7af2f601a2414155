//go:build race

package shared

import "sync/atomic"

// raceSync gives the race detector the happens-before edges that the region
// lock provides but that it cannot see: its shadow memory does not cover
// the shared mapping, so atomics on the lock word order nothing for it.
// Every unlock releases through this Go-heap word and
// every lock acquires from it, which is what the lock word does for real.
// Only race-enabled builds have it.
var raceSync atomic.Uint64

func raceRelease() { raceSync.Add(1) }

func raceAcquire() { raceSync.Load() }
