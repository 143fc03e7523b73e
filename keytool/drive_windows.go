package main

import (
	"path/filepath"
	"strings"
)

// device is the drive a path lies on (its volume name, such as E:); ok is false when it cannot
// be told.
func device(path string) (dev string, ok bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	v := strings.ToUpper(filepath.VolumeName(abs))
	return v, v != ""
}
