// Package export is what travels on the removable drive between the drop box and the offline
// computer: the export's manifest, which submissions the drive holds with their sizes and
// SHA-256, and the staff's signed receipt, which of them were decrypted and are kept safely. The
// receipt is the only thing that lets the drop box delete a submission (docs/transfer.md).
package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"

	"github.com/safe-complaints/dropbox/internal/spool"
)

// The files an export and a receipt put in an organisation's folder on the drive.
const (
	ManifestName  = "manifest.json"
	ReceiptName   = "receipt.json"
	SignatureName = "receipt.json.sig"
)

// The formats' first key: a reader refuses any other.
const (
	ManifestFormat = "complaints-export/1"
	ReceiptFormat  = "complaints-receipt/1"
)

// maxList bounds what a manifest or receipt may be: 100,000 submissions take about 12 MB.
const maxList = 32 << 20

// maxSignature bounds the signature file: one signature is a few hundred bytes.
const maxSignature = 64 << 10

var (
	idRE   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	orgRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
)

// File is one submission on the drive: its id (the spool file is <id>.pgp), its size and the
// SHA-256 of its bytes, the ciphertext.
type File struct {
	ID     string `json:"id"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest is manifest.json: every submission one export copied for one organisation.
type Manifest struct {
	Format       string `json:"format"`
	Organisation string `json:"organisation"`
	Submissions  []File `json:"submissions"`
}

// Kept is one submission a receipt names: decrypted, its integrity checked, and its case folder
// on the offline computer's disk.
type Kept struct {
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
}

// Receipt is receipt.json: what the staff confirm they have, signed with a staff key.
type Receipt struct {
	Format       string `json:"format"`
	Organisation string `json:"organisation"`
	Submissions  []Kept `json:"submissions"`
}

// ReadManifest reads dir's manifest.json and checks every rule of docs/transfer.md.
func ReadManifest(dir string) (*Manifest, error) {
	raw, err := readLimited(filepath.Join(dir, ManifestName), maxList)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := decodeStrict(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	if err := checkList(m.Format, ManifestFormat, m.Organisation, len(m.Submissions), func(i int) (string, string) {
		return m.Submissions[i].ID, m.Submissions[i].SHA256
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	for _, f := range m.Submissions {
		if f.Size < 0 {
			return nil, fmt.Errorf("%s: submission %s has a negative size", ManifestName, f.ID)
		}
	}
	return &m, nil
}

// ParseReceipt checks a receipt's bytes against every rule of docs/transfer.md. It says nothing
// of who signed them: VerifyReceipt does.
func ParseReceipt(raw []byte) (*Receipt, error) {
	var r Receipt
	if err := decodeStrict(raw, &r); err != nil {
		return nil, err
	}
	if err := checkList(r.Format, ReceiptFormat, r.Organisation, len(r.Submissions), func(i int) (string, string) {
		return r.Submissions[i].ID, r.Submissions[i].SHA256
	}); err != nil {
		return nil, err
	}
	return &r, nil
}

// checkList holds the rules a manifest and a receipt share: the format, the organisation's id,
// and each submission's id and hash, no id twice.
func checkList(format, want, org string, n int, item func(int) (id, hash string)) error {
	if format != want {
		return fmt.Errorf("its format is %q, not %q", format, want)
	}
	if !orgRE.MatchString(org) {
		return fmt.Errorf("%q is not an organisation's id", org)
	}
	seen := make(map[string]bool, n)
	for i := range n {
		id, hash := item(i)
		if !idRE.MatchString(id) {
			return fmt.Errorf("%q is not a submission's id (32 hex digits)", id)
		}
		if !hashRE.MatchString(hash) {
			return fmt.Errorf("submission %s: %q is not a SHA-256 (64 lower-case hex digits)", id, hash)
		}
		if seen[id] {
			return fmt.Errorf("submission %s is named twice", id)
		}
		seen[id] = true
	}
	return nil
}

// decodeStrict reads exactly one JSON object with no key v lacks and nothing after it.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not valid: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("not valid: something follows its JSON object")
	}
	return nil
}

// readLimited reads a file of at most max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > max {
		return nil, fmt.Errorf("%s is longer than %d bytes, more than any %s can be", path, max, filepath.Base(path))
	}
	return raw, nil
}

// Hash is the SHA-256 of a file, as the manifest and the receipt write it.
func Hash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeJSON writes v as path, durably and whole or not at all: to a temporary file, synced,
// renamed into place, and the folder synced.
func writeJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return writeFile(path, append(raw, '\n'))
}

// writeFile writes raw as path, durably and whole or not at all.
func writeFile(path string, raw []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone after the rename; left by an error otherwise
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a folder's new names durable. Windows cannot sync a folder (keytool runs there
// too), and NTFS journals names itself.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	return spool.SyncDir(dir)
}
