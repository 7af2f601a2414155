//go:build !windows

package iocp_test

import (
	"errors"
	"strings"
	"testing"

	iocp "github.com/compio-sync/gosync/backend-iocp"
)

// Off Windows, New must fail in a way callers can detect and fall back on.
func TestNewIsUnsupportedOffWindows(t *testing.T) {
	b, err := iocp.New()
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("New() error = %v, want one satisfying errors.Is(err, errors.ErrUnsupported)", err)
	}
	if b != nil {
		t.Fatalf("New() = %v, %v, want nil Backend with the error", b, err)
	}
	if !strings.Contains(err.Error(), "Windows") {
		t.Errorf("New() error = %q, want it to say the backend needs Windows", err)
	}
}

func TestInvalidOptionIsReportedOffWindows(t *testing.T) {
	_, err := iocp.New(iocp.WithBatchSize(0))
	if err == nil || errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "WithBatchSize(0)") {
		t.Fatalf("New(WithBatchSize(0)) error = %v, want the option's own error naming WithBatchSize(0)", err)
	}
}

func TestNameIsIOCPOffWindows(t *testing.T) {
	if got := (*iocp.Backend)(nil).Name(); got != "iocp" {
		t.Fatalf("Name() = %q, want %q", got, "iocp")
	}
}
