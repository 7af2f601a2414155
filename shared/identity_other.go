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
