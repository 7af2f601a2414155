//go:build !linux

package shared

import (
	"errors"
	"fmt"
)

var errNoOpen = fmt.Errorf("shared: %w: shared semaphores are implemented on Linux only (no Windows named file mapping yet)", errors.ErrUnsupported)

func createFile(string, uintptr, *config) ([]byte, func() error, error) { return nil, nil, errNoOpen }

func mapExisting(string, *config) ([]byte, func() error, error) { return nil, nil, errNoOpen }

func removeFile(string) error { return errNoOpen }
