//go:build unix

package main

import (
	"os"
	"syscall"
)

// device is the file system a path lies on; ok is false when it cannot be told.
func device(path string) (dev uint64, ok bool) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true
}
