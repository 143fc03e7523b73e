package spool

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreKeepsOnlyWhatPassesTheCheck(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Store(strings.NewReader("ciphertext"), 1<<20, func(r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, id+Ext))
	if err != nil || string(got) != "ciphertext" {
		t.Fatalf("stored %q, %v", got, err)
	}
	refused := errors.New("refused")
	if _, err := s.Store(strings.NewReader("plaintext"), 1<<20, func(r io.Reader) error {
		io.Copy(io.Discard, r)
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("Store = %v, want the check's error", err)
	}
	entries, _ := List(dir)
	incoming, _ := os.ReadDir(filepath.Join(dir, incoming))
	if len(entries) != 1 || len(incoming) != 0 {
		t.Errorf("after a refusal: %d submissions, %d half-received files; want 1 and 0", len(entries), len(incoming))
	}
}

func TestARefusalInTheFirstBytesNeverTouchesTheDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sawFile bool
	_, err = s.Store(strings.NewReader(strings.Repeat("plaintext ", 10000)), 1<<20, func(r io.Reader) error {
		buf := make([]byte, 64<<10) // as the validator's reader does: one large read, then a verdict
		io.ReadFull(r, buf)
		left, _ := os.ReadDir(filepath.Join(dir, incoming))
		sawFile = len(left) > 0
		return errors.New("not an OpenPGP message")
	})
	if err == nil || sawFile {
		t.Errorf("Store = %v; a file existed while the first bytes were judged: %v", err, sawFile)
	}
	// A large upload does reach the disk as it streams, not all in memory.
	var streamed bool
	_, err = s.Store(strings.NewReader(strings.Repeat("c", 1<<20)), 1<<20, func(r io.Reader) error {
		io.CopyN(io.Discard, r, 512<<10)
		left, _ := os.ReadDir(filepath.Join(dir, incoming))
		streamed = len(left) == 1
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if err != nil || !streamed {
		t.Errorf("Store = %v; file while streaming: %v", err, streamed)
	}
}

func TestListSeesOnlyCompleteSubmissions(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, incoming), 0o700)
	for _, name := range []string{
		"0123456789abcdef0123456789abcdef.pgp", // a submission
		"0123456789ABCDEF0123456789ABCDEF.pgp", // not a name the drop box writes
		"notes.txt", "0123.pgp", ".DS_Store",
		filepath.Join(incoming, "half-received"),
	} {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600)
	}
	entries, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].ID != "0123456789abcdef0123456789abcdef" || entries[0].Size != 1 {
		t.Errorf("List = %+v, want only the one submission", entries)
	}
}

func TestOpenClearsWhatACrashLeftAndCountsTheRest(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, incoming), 0o700)
	os.WriteFile(filepath.Join(dir, incoming, "crashed"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, "0123456789abcdef0123456789abcdef.pgp"), make([]byte, 100), 0o600)
	s, err := Open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, incoming)); len(left) != 0 {
		t.Errorf("%d leftovers after Open", len(left))
	}
	if _, err := s.Store(strings.NewReader("x"), 1, func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }); !errors.Is(err, ErrOverQuota) {
		t.Errorf("Store over quota = %v, want ErrOverQuota", err)
	}
}

func copyAll(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }

func TestReservationsKeepUploadsSideBySideWithinTheQuota(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// One upload is still arriving, with 600 bytes reserved: a second of 600 must not start.
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := s.Store(strings.NewReader(strings.Repeat("a", 500)), 600, func(r io.Reader) error {
			<-release
			return copyAll(r)
		})
		first <- err
	}()
	for {
		s.mu.Lock()
		reserved := s.reserved
		s.mu.Unlock()
		if reserved == 600 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := s.Store(strings.NewReader("b"), 600, copyAll); !errors.Is(err, ErrQuotaReserved) {
		t.Errorf("second upload while 600 of 1000 are reserved: %v, want ErrQuotaReserved", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The first took 500 of its 600: the 100 it did not use are free again.
	if _, err := s.Store(strings.NewReader(strings.Repeat("c", 500)), 500, copyAll); err != nil {
		t.Errorf("500 more after 500 stored of 1000: %v", err)
	}
	if _, err := s.Store(strings.NewReader("d"), 1, copyAll); !errors.Is(err, ErrOverQuota) {
		t.Errorf("one byte past the quota: %v, want ErrOverQuota", err)
	}
	if s.reserved != 0 {
		t.Errorf("%d bytes still reserved after every upload ended", s.reserved)
	}
}

func TestASubmissionLongerThanItsReservationIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store(strings.NewReader(strings.Repeat("x", 300<<10)), 200<<10, copyAll); !errors.Is(err, ErrLonger) {
		t.Errorf("300 KiB in a 200 KiB reservation: %v, want ErrLonger", err)
	}
	if entries, _ := List(dir); len(entries) != 0 {
		t.Errorf("kept %v", entries)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, incoming)); len(left) != 0 {
		t.Errorf("%d files left in %s", len(left), incoming)
	}
}

func TestAPanicWhileStoringKeepsNothingAndCountsNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { recover() }()
		s.Store(strings.NewReader(strings.Repeat("p", 300<<10)), 300<<10, func(r io.Reader) error {
			io.Copy(io.Discard, r)
			panic("a bug in the check")
		})
	}()
	if s.used != 0 || s.reserved != 0 {
		t.Errorf("after a panic: used %d, reserved %d; want 0 and 0", s.used, s.reserved)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, incoming)); len(left) != 0 {
		t.Errorf("%d files left in %s after a panic", len(left), incoming)
	}
}

// A seized spool tells the day a submission arrived, not the moment: the file, the spool folder
// and the folder of uploads in progress all carry 00:00 UTC of the day, after a submission is
// kept and after one is refused.
func TestStoredSubmissionsAndTheirFoldersKeepOnlyTheDay(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	copyAll := func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }
	id, err := s.Store(strings.NewReader("ciphertext"), 1<<20, copyAll)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store(strings.NewReader(strings.Repeat("x", 300<<10)), 1<<20, func(r io.Reader) error {
		io.Copy(io.Discard, r)
		return errors.New("refused after the held bytes, so a file was made and removed")
	}); err == nil {
		t.Fatal("the refusing check was not obeyed")
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for _, p := range []string{filepath.Join(dir, id+Ext), dir, filepath.Join(dir, incoming)} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.ModTime().UTC(); !got.Equal(day) {
			t.Errorf("%s has the time %s, want %s: finer than the day", p, got.Format(time.RFC3339Nano), day.Format(time.RFC3339))
		}
	}
}
