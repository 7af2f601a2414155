//go:build !linux && !windows

package shared

import (
	"errors"
	"fmt"
)

var errNoOpen = fmt.Errorf("shared: %w: shared semaphores are implemented on Linux and Windows only", errors.ErrUnsupported)

func createFile(string, uintptr, *config, func([]byte)) ([]byte, func() error, error) {
	return nil, nil, errNoOpen
}

func healFile(string) error { return errNoOpen }

func mapExisting(string, *config) ([]byte, func() error, error) { return nil, nil, errNoOpen }

func removeFile(string) error { return errNoOpen }

const osNameSeparators = ""

func regionKey(path string) string { return path }
