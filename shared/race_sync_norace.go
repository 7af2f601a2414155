//go:build !race

package shared

// Without the race detector the region lock's own atomics are the only
// ordering needed (see race_sync_race.go).

func raceRelease() {}

func raceAcquire() {}
