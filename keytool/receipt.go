package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/export"
	"github.com/safe-complaints/dropbox/internal/spool"
)

// hasManifest says whether in is a folder dropbox spool export wrote, which gets a receipt.
func hasManifest(in string) bool {
	_, err := os.Stat(filepath.Join(in, export.ManifestName))
	return err == nil
}

// writeReceipt confirms on the drive, in a receipt signed with the staff key, every submission of
// the export's manifest whose case folder is on this computer's disk, synced, and whose copy on
// the drive has the manifest's SHA-256. The drop box deletes those, and only those, when it is
// given the receipt (dropbox spool release). It says how many submissions the receipt leaves
// out, with the reason on the table above (failed, not yours) or here.
func writeReceipt(w io.Writer, in, out string, keyring openpgp.EntityList) error {
	m, err := export.ReadManifest(in)
	if err != nil {
		return fmt.Errorf("the export's %w; no receipt was written, so the drop box deletes nothing: export again", err)
	}
	cases, err := readCases(out)
	if err != nil {
		return err
	}
	r := &export.Receipt{Format: export.ReceiptFormat, Organisation: m.Organisation}
	var differ []string
	for _, f := range m.Submissions {
		dir := filepath.Join(out, f.ID)
		if where, ok := cases.filed[f.ID]; ok {
			dir = filepath.Join(out, where)
		}
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			continue // not decrypted here: failed, or not this key's (the table says which)
		}
		hash, err := export.Hash(filepath.Join(in, f.ID+spool.Ext))
		if err != nil || hash != f.SHA256 {
			differ = append(differ, f.ID)
			continue
		}
		if err := syncTree(dir, out); err != nil {
			return fmt.Errorf("making case %s durable on this disk: %w; no receipt was written", f.ID, err)
		}
		r.Submissions = append(r.Submissions, export.Kept{ID: f.ID, SHA256: f.SHA256})
	}
	left := len(m.Submissions) - len(r.Submissions)
	if len(r.Submissions) == 0 {
		fmt.Fprintf(w, "No receipt written: none of the %s the export's manifest names is decrypted here.\n", count(len(m.Submissions), "submission"))
	} else {
		signer := signingKey(keyring)
		if signer == nil {
			return errors.New("your key has no key that can sign, so no receipt was written and the drop box deletes nothing; make a key with keytool keygen")
		}
		if err := export.Sign(in, r, signer); err != nil {
			return fmt.Errorf("writing the receipt on the drive: %w; the drop box deletes nothing without it: make room on the drive, or check it is not read-only, and run keytool decrypt again", err)
		}
		fmt.Fprintf(w, "Receipt for %s written to %s, signed with your key. Bring the drive back to the server, where\n  dropbox spool release %s\ndeletes exactly these from it.\n",
			count(len(r.Submissions), "submission"), filepath.Join(in, export.ReceiptName), in)
	}
	if left > 0 {
		fmt.Fprintf(w, "%s of the export %s not in the receipt and stay on the server.\n", count(left, "submission"), plural(left, "is", "are"))
	}
	if len(differ) > 0 {
		return fmt.Errorf("%s on the drive %s not the bytes the export's manifest names (%s): copy them again with dropbox spool export", count(len(differ), "submission"), plural(len(differ), "is", "are"), differ[0])
	}
	return nil
}

// signingKey is the first entity of keyring whose signing key is unlocked.
func signingKey(keyring openpgp.EntityList) *openpgp.Entity {
	for _, e := range keyring {
		if k, ok := e.SigningKey(time.Now(), nil); ok && k.PrivateKey != nil && !k.PrivateKey.Encrypted {
			return e
		}
	}
	return nil
}

// syncTree syncs every file and folder of dir, and the folders between it and out: a receipt
// lets the server delete the ciphertext, so the case must survive a power cut after it.
func syncTree(dir, out string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && runtime.GOOS == "windows" {
			return nil // Windows cannot sync a folder; NTFS journals names itself
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
	if err != nil || runtime.GOOS == "windows" {
		return err
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if err := spool.SyncDir(p); err != nil {
			return err
		}
		if p == filepath.Clean(out) || p == filepath.Dir(p) {
			return nil
		}
	}
}

// onTheDrive says whether out, where plaintext case folders go, lies on the drive of in (an
// export, which goes back to the server) and not on the disk keytool was started from. The
// working folder stands for "this computer's disk": staff who start keytool from the drive itself
// get no warning, which is the price of not guessing which disks are removable.
func onTheDrive(in, out string) bool {
	a, okA := device(in)
	b, okB := device(out)
	here, okHere := device(".")
	return okA && okB && okHere && a == b && b != here
}
