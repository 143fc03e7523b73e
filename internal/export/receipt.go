package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/spool"
)

// Sign writes r as receipt.json in dir with its detached binary signature, receipt.json.sig,
// made by signer (a staff key, unlocked). Each file is written whole or not at all, the
// signature last: a receipt cut short by a pulled drive fails its signature and deletes nothing.
func Sign(dir string, r *Receipt, signer *openpgp.Entity) error {
	raw, err := encode(r)
	if err != nil {
		return err
	}
	var sig bytes.Buffer
	if err := openpgp.DetachSign(&sig, []*openpgp.Entity{signer}, bytes.NewReader(raw), nil); err != nil {
		return fmt.Errorf("signing the receipt: %w", err)
	}
	if err := removeTemporary(dir); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, ReceiptName), raw); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, SignatureName), sig.Bytes())
}

func encode(r *Receipt) ([]byte, error) {
	if r.Submissions == nil {
		r.Submissions = []Kept{}
	}
	raw, err := json.MarshalIndent(r, "", " ")
	return append(raw, '\n'), err
}

// ReceiptPath is where the receipt of dir (a folder of the drive, or the receipt itself) is.
func ReceiptPath(path string) string {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return filepath.Join(path, ReceiptName)
	}
	return path
}

// VerifyReceipt reads the receipt at path and its signature beside it (path + ".sig"), checks
// the signature against keys, then the receipt's rules. It returns the receipt and the staff key
// that signed it; anything else is an error that says why nothing may be deleted.
func VerifyReceipt(path string, keys openpgp.EntityList) (*Receipt, *openpgp.Entity, error) {
	raw, err := readLimited(path, maxList)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s is missing: keytool decrypt writes it on the drive, beside the manifest, once the submissions are decrypted", path)
	}
	if err != nil {
		return nil, nil, err
	}
	sig, err := readLimited(path+".sig", maxSignature)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s.sig, the receipt's signature, is missing: without it the receipt deletes nothing; run keytool decrypt on this drive again to write both", path)
	}
	if err != nil {
		return nil, nil, err
	}
	_, signer, err := openpgp.VerifyDetachedSignature(keys, bytes.NewReader(raw), bytes.NewReader(sig), nil)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return nil, nil, errors.New("the receipt is not signed by a staff key of any organisation of this drop box: only a receipt keytool decrypt signed with a configured staff key deletes anything")
	case err != nil:
		return nil, nil, fmt.Errorf("the receipt's signature does not hold (%v): the receipt was changed or cut short after it was signed; run keytool decrypt on this drive again", err)
	}
	r, err := ParseReceipt(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("the receipt is signed but %w", err)
	}
	return r, signer, nil
}

// Released is what Release did.
type Released struct {
	Deleted []string // ids
	Gone    []string // ids the receipt names that the spool no longer holds: released before
}

// Release deletes from spoolDir exactly the submissions r names, and only if every one the spool
// still holds has the receipt's SHA-256: one that differs means the receipt is not about these
// files, and then nothing is deleted at all. Submissions the receipt does not name are never
// touched.
func Release(spoolDir string, r *Receipt) (*Released, error) {
	var out Released
	var doomed []string
	for _, k := range r.Submissions {
		path := filepath.Join(spoolDir, k.ID+spool.Ext)
		info, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			out.Gone = append(out.Gone, k.ID)
			continue
		}
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file; nothing was deleted", path)
		}
		got, err := Hash(path)
		if err != nil {
			return nil, err
		}
		if got != k.SHA256 {
			return nil, fmt.Errorf("submission %s in the spool is not the one the receipt names (its SHA-256 differs); nothing was deleted: export again and let keytool decrypt write a new receipt", k.ID)
		}
		doomed = append(doomed, path)
	}
	for i, path := range doomed {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &out, fmt.Errorf("deleting %s: %w (%d of %d deleted; run release again for the rest)", path, err, i, len(doomed))
		}
		out.Deleted = append(out.Deleted, filepath.Base(path)[:32])
	}
	if err := syncDir(spoolDir); err != nil {
		return &out, err
	}
	day := spool.Today()
	os.Chtimes(spoolDir, day, day)
	return &out, nil
}
