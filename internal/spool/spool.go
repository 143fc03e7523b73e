// Package spool keeps accepted submissions on disk until staff collect them: one file per
// submission, named by a random id, written so that a file is either complete and synced or not
// there at all. The drop box writes it; keytool reads a copy of it.
package spool

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Ext is the extension of a stored submission: a binary OpenPGP message.
const Ext = ".pgp"

// incoming holds files being received; nothing in it is a submission.
const incoming = ".incoming"

var nameRE = regexp.MustCompile(`^[0-9a-f]{32}\.pgp$`)

var (
	// ErrDiskFull means the file system has no room: nothing was kept.
	ErrDiskFull = errors.New("the spool's disk is full")
	// ErrOverQuota means the submission would take the spool past its configured quota: staff
	// must collect submissions.
	ErrOverQuota = errors.New("the spool is over its quota")
	// ErrQuotaReserved means the quota is not reached by what is stored, but would be by the
	// uploads in progress: the submission may be sent again shortly.
	ErrQuotaReserved = fmt.Errorf("%w with the uploads in progress", ErrOverQuota)
	// ErrLonger means a submission was longer than the size reserved for it.
	ErrLonger = errors.New("the submission is longer than the size reserved for it")
)

// Spool is a folder of submissions.
type Spool struct {
	dir   string
	quota int64 // bytes; 0 for none

	mu       sync.Mutex
	used     int64 // bytes of stored submissions
	reserved int64 // bytes reserved by submissions being stored
	counted  time.Time
}

// Open prepares dir (mode 0700), removes what a crash left half-received, and counts what is there.
func Open(dir string, quota int64) (*Spool, error) {
	if err := os.MkdirAll(filepath.Join(dir, incoming), 0o700); err != nil {
		return nil, fmt.Errorf("preparing the spool: %w", err)
	}
	leftovers, err := os.ReadDir(filepath.Join(dir, incoming))
	if err != nil {
		return nil, err
	}
	for _, e := range leftovers {
		// Never acknowledged, so never promised: a crash mid-upload leaves these behind.
		os.Remove(filepath.Join(dir, incoming, e.Name()))
	}
	// Making the folders, or clearing them, set their times to now: back to the day.
	day := Today()
	os.Chtimes(filepath.Join(dir, incoming), day, day)
	os.Chtimes(dir, day, day)
	s := &Spool{dir: dir, quota: quota}
	if s.used, err = s.size(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the spool's folder.
func (s *Spool) Dir() string { return s.dir }

func (s *Spool) size() (int64, error) {
	entries, err := List(s.dir)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range entries {
		n += e.Size
	}
	return n, nil
}

// Store writes a submission durably. It copies r into a new file while check reads the same
// bytes; if check fails, or r fails, nothing is kept. The id is returned only once the file and
// its name are on disk. The first bytes (held, 128 KiB) stay in memory until check has read
// past them: the session keys and the start of the encrypted data are judged before anything
// touches the disk, so a body that is not ciphertext at all never gets there.
//
// size is the most bytes the submission may have. It is reserved against the quota before the
// first byte is read and the rest given back at the end, so that uploads running side by side can
// never take the spool past its quota together; a submission longer than size is refused.
func (s *Spool) Store(r io.Reader, size int64, check func(io.Reader) error) (id string, err error) {
	if err := s.reserve(size); err != nil {
		return "", err
	}
	out := &heldFile{dir: filepath.Join(s.dir, incoming), max: size}
	stored := false // set last, so that a panic anywhere counts as not stored
	defer func() {
		s.mu.Lock()
		s.reserved -= size
		if stored {
			s.used += out.n
		}
		s.mu.Unlock()
		if !stored {
			out.discard()
		}
		out.release()
	}()
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	id = hex.EncodeToString(raw[:])
	if err = check(io.TeeReader(r, out)); err != nil {
		return "", diskError(err)
	}
	if err = out.sync(); err != nil {
		return "", diskError(err)
	}
	// The file's times say the day, never the moment: a seized disk must not tell when within a
	// day a submission arrived, nor pair a complaint with a follow-up or an answer by the minute.
	// (The change time, which no program can set, still does: docs/threat-model.md.)
	day := Today()
	if err = os.Chtimes(out.f.Name(), day, day); err != nil {
		return "", diskError(err)
	}
	final := filepath.Join(s.dir, id+Ext)
	if err = os.Rename(out.f.Name(), final); err != nil {
		return "", diskError(err)
	}
	if err = SyncDir(s.dir); err != nil {
		// The name may not survive a crash, so it was not promised: take it back.
		os.Remove(final)
		return "", diskError(err)
	}
	// The folders' times moved with the rename; set them back to the day (best effort: a folder
	// time left exact says when the last submission arrived, nothing about whose).
	os.Chtimes(s.dir, day, day)
	os.Chtimes(filepath.Dir(out.f.Name()), day, day)
	stored = true
	return id, nil
}

// Today is the start of the current day in UTC: the only time the spool and the answers keep.
func Today() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

// held is how much of an upload stays in memory before its file is created.
const held = 128 << 10

// heldBuffers keeps the held bytes' buffers between uploads: one allocation each, never grown.
var heldBuffers = sync.Pool{New: func() any { b := make([]byte, 0, held); return &b }}

// heldFile is a temporary file in .incoming that is created only when held bytes have come.
type heldFile struct {
	dir string
	max int64 // the size reserved
	buf *[]byte
	f   *os.File
	n   int64
}

func (h *heldFile) Write(p []byte) (int, error) {
	if h.n+int64(len(p)) > h.max {
		return 0, ErrLonger
	}
	h.n += int64(len(p))
	if h.f == nil {
		if h.buf == nil {
			h.buf = heldBuffers.Get().(*[]byte)
		}
		if len(*h.buf)+len(p) <= held {
			*h.buf = append(*h.buf, p...) // within its capacity
			return len(p), nil
		}
	}
	if err := h.open(); err != nil {
		return 0, err
	}
	return h.f.Write(p)
}

func (h *heldFile) open() error {
	if h.f != nil {
		return nil
	}
	f, err := os.CreateTemp(h.dir, "*")
	if err != nil {
		return err
	}
	h.f = f
	if h.buf != nil {
		_, err = f.Write(*h.buf)
	}
	return err
}

// sync writes what is still held, then syncs and closes the file.
func (h *heldFile) sync() error {
	if err := h.open(); err != nil {
		return err
	}
	if err := h.f.Sync(); err != nil {
		return err
	}
	return h.f.Close()
}

// release gives the buffer back for the next upload.
func (h *heldFile) release() {
	if h.buf != nil {
		clear(*h.buf)
		*h.buf = (*h.buf)[:0]
		heldBuffers.Put(h.buf)
		h.buf = nil
	}
}

func (h *heldFile) discard() {
	if h.f != nil {
		h.f.Close()
		os.Remove(h.f.Name())
		day := Today()
		os.Chtimes(filepath.Dir(h.f.Name()), day, day) // no trace of when a refused upload ended
	}
}

// reserve sets size bytes aside for a submission, or refuses it if the spool would pass its quota.
func (s *Spool) reserve(size int64) error {
	if s.quota <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used+s.reserved+size > s.quota && time.Since(s.counted) >= recountEvery {
		// Staff may have collected submissions since: count again, at most once every
		// recountEvery however many are refused meanwhile, as it holds up every upload's end.
		used, err := s.size()
		if err != nil {
			return err
		}
		s.used, s.counted = used, time.Now()
	}
	switch {
	case s.used+size > s.quota:
		return ErrOverQuota
	case s.used+s.reserved+size > s.quota:
		return ErrQuotaReserved
	}
	s.reserved += size
	return nil
}

// recountEvery is how often a refusal may count the spool's files again.
const recountEvery = time.Second

func diskError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}

// SyncDir makes a folder's entries (a file renamed into it) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Entry is one stored submission.
type Entry struct {
	ID   string
	Path string
	Size int64
	Day  time.Time // the file's modification time: the day it arrived, which Store sets
}

// List returns the complete submissions in dir, in id order, ignoring anything else (files
// still being received, notes staff may have left, copies made by other tools).
func List(dir string) ([]Entry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range entries {
		if !e.Type().IsRegular() || !nameRE.MatchString(e.Name()) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // collected meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{ID: e.Name()[:32], Path: filepath.Join(dir, e.Name()), Size: info.Size(), Day: info.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
