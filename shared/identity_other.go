//go:build !linux && !windows

package shared

import (
	"errors"
	"fmt"
)

func selfIdentity() (uint64, error) {
	return 0, fmt.Errorf("shared: process identity: %w (implemented on Linux and Windows only)", errors.ErrUnsupported)
}

// alive says true: without a liveness oracle nothing may be reclaimed.
func alive(uint64) bool { return true }

func pidNamespace() uint64 { return 0 }

// liveness is a stub: Open fails before a handle exists on this system.
type liveness struct{}

func newLiveness(int, uint32) (liveness, error) {
	_, err := selfIdentity()
	return liveness{}, err
}

func (liveness) claim(*region, uint32) (uint64, bool) { return 0, false }

func (liveness) unclaim(uint32) {}

func (liveness) alive(uint64) bool { return true }

func (liveness) aliveAt(uint32, uint64) bool { return true }
