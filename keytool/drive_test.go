//go:build unix

package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Case folders written onto the export's drive would travel back to the server as plaintext:
// keytool warns when --out lies on --in's file system and not on the one it was started from.
// /dev/shm stands for the drive: a file system of its own on Linux.
func TestDecryptWarnsWhenCasesGoOntoTheDrive(t *testing.T) {
	drive, err := os.MkdirTemp("/dev/shm", "usb-")
	if err != nil {
		t.Fatalf("this test needs /dev/shm, a file system apart from the working folder's: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(drive) })
	here, _ := device(".")
	if there, _ := device(drive); there == here {
		t.Fatalf("/dev/shm lies on the working folder's file system here; the test needs another")
	}
	in, home := filepath.Join(drive, "kok"), t.TempDir()
	os.MkdirAll(in, 0o700)
	if !onTheDrive(in, filepath.Join(drive)) {
		t.Error("cases on the drive: no warning")
	}
	if onTheDrive(in, home) {
		t.Error("cases on this computer's disk: a warning")
	}
	if onTheDrive(home, home) {
		t.Error("a spool copy and its cases both on this computer's disk: a warning")
	}
}
