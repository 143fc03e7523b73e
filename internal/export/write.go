package export

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/safe-complaints/dropbox/internal/spool"
)

// exportedName is the file in a spool folder that lists the submissions the last export copied,
// one id a line: the drop box counts those it does not list that have waited too long. It says
// nothing a seized spool does not already show: the ids are the files' names.
const exportedName = ".exported"

// Write copies an organisation's stored submissions into dir on the drive (made, 0700, if
// missing), then writes the manifest. At every moment the drive either has no manifest or one
// whose every file is on the drive in full, synced: an earlier manifest is removed first; each
// file is written under a temporary name, synced, given its spool time (the day it arrived,
// which keytool reads) and renamed; the folder is synced before the new manifest is written, and
// the manifest itself is written whole or not at all. A file the drive holds already with the
// same bytes is not written again, so a second export to the same drive copies only what is new.
func Write(dir, org string, entries []spool.Entry) (*Manifest, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(dir, ManifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	if err := removeTemporary(dir); err != nil {
		return nil, err
	}
	m := &Manifest{Format: ManifestFormat, Organisation: org, Submissions: []File{}}
	for _, e := range entries {
		f, err := copyOne(dir, e)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("copying submission %s: %w", e.ID, err)
		}
		m.Submissions = append(m.Submissions, f)
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(dir, ManifestName), m); err != nil {
		return nil, fmt.Errorf("writing the manifest: %w", err)
	}
	return m, nil
}

// removeTemporary removes what an interrupted export or receipt left: never a submission or a
// manifest, only files that were not yet renamed into place.
func removeTemporary(dir string) error {
	leftovers, err := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if err != nil {
		return err
	}
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	return nil
}

// copyOne copies one submission to dir as <id>.pgp, unless the same bytes are there already.
func copyOne(dir string, e spool.Entry) (File, error) {
	src, err := os.Open(e.Path)
	if err != nil {
		return File{}, err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return File{}, err
	}
	name := e.ID + spool.Ext
	dst := filepath.Join(dir, name)
	if there, err := os.Stat(dst); err == nil && there.Mode().IsRegular() && there.Size() == info.Size() {
		want, err := hashOf(src)
		if err != nil {
			return File{}, err
		}
		if got, err := Hash(dst); err == nil && got == want {
			return File{ID: e.ID, Size: info.Size(), SHA256: want}, nil
		}
		if _, err := src.Seek(0, io.SeekStart); err != nil {
			return File{}, err
		}
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return File{}, err
	}
	defer os.Remove(tmp.Name()) // gone after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, err
	}
	if n != info.Size() {
		return File{}, fmt.Errorf("read %d bytes of %d", n, info.Size())
	}
	if err := os.Chtimes(tmp.Name(), info.ModTime(), info.ModTime()); err != nil {
		return File{}, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return File{}, err
	}
	return File{ID: e.ID, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func hashOf(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MarkExported records in the spool folder which submissions m copied.
func MarkExported(spoolDir string, m *Manifest) error {
	var b strings.Builder
	for _, f := range m.Submissions {
		b.WriteString(f.ID + "\n")
	}
	if err := writeFile(filepath.Join(spoolDir, exportedName), []byte(b.String())); err != nil {
		return err
	}
	day := spool.Today() // the folder's time says the day, as everywhere in the spool
	os.Chtimes(filepath.Join(spoolDir, exportedName), day, day)
	os.Chtimes(spoolDir, day, day)
	return nil
}

// Waiting counts the submissions in spoolDir that no export has copied and that arrived before
// the day of cutoff: those the staff should have collected by now.
func Waiting(spoolDir string, cutoff time.Time) (int, error) {
	entries, err := spool.List(spoolDir)
	if err != nil {
		return 0, err
	}
	exported := map[string]bool{}
	raw, err := readLimited(filepath.Join(spoolDir, exportedName), maxList)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	for _, id := range strings.Fields(string(raw)) {
		exported[id] = true
	}
	n := 0
	for _, e := range entries {
		if !exported[e.ID] && e.Day.Before(cutoff) {
			n++
		}
	}
	return n, nil
}
