//go:build !linux

package iouring_test

import (
	"errors"
	"testing"

	iouring "github.com/compio-sync/gosync/backend-iouring"
)

func TestNewIsUnsupportedOffLinux(t *testing.T) {
	b, err := iouring.New()
	if b != nil || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("New() = %v, %v, want nil, ErrUnsupported", b, err)
	}
}
