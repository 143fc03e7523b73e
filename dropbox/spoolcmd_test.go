package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/export"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/spool"
)

// runDropbox runs the real dropbox binary with the test's configuration and spool.
func runDropbox(t *testing.T, config, spoolRoot string, args ...string) (string, error) {
	t.Helper()
	bin, _ := binaries(t)
	cmd := exec.Command(bin, append(args, "--config", config, "--spool", spoolRoot)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// unlocked reads a private key file and opens every secret part with the passphrase in passFile.
func unlocked(t *testing.T, keyFile, passFile string) *openpgp.Entity {
	t.Helper()
	keys, err := policy.ReadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := os.ReadFile(passFile)
	e := keys[0]
	all := []*packet.PrivateKey{e.PrivateKey}
	for _, s := range e.Subkeys {
		all = append(all, s.PrivateKey)
	}
	if err := packet.DecryptPrivateKeys(all, bytes.TrimSpace(pass)); err != nil {
		t.Fatal(err)
	}
	return e
}

func spoolIDs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := spool.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	return ids
}

// The whole way of a submission off the server: export to a drive, keytool decrypt with its
// signed receipt, release. Then every receipt that must delete nothing: signed by a key that is
// no staff key, by another organisation's staff key, naming an id twice, naming a changed hash,
// changed after signing, cut short, without its signature.
func TestExportDecryptReceiptRelease(t *testing.T) {
	dir := t.TempDir()
	ana := keygen(t, dir, "ana")
	spoolRoot := filepath.Join(dir, "spool")
	d := startDropbox(t, spoolRoot, ana.pub)
	var kokIDs []string
	for _, size := range []int{0, 1000, 3 << 20} {
		plain, _, _ := sampleSubmission(t, size)
		kokIDs = append(kokIDs, d.submit(t, encryptTo(t, plain, ana.pub)))
	}
	mk := policytest.Organisations(t)["mk-act"]
	resp, err := http.Post(d.url+"/api/v1/orgs/mk-act/submissions", "application/octet-stream", bytes.NewReader(policytest.Encrypt(t, []byte("complaint-submission/1\n{}\n"), mk...)))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("MK-ACT's submission: %v %v", err, resp)
	}
	resp.Body.Close()
	config := "../config.toml," + orgConfig(t, ana.pub)
	kokSpool, mkSpool := filepath.Join(spoolRoot, "kok"), filepath.Join(spoolRoot, "mk-act")

	// Export, while the drop box runs.
	drive := filepath.Join(dir, "usb")
	out, err := runDropbox(t, config, spoolRoot, "spool", "export", "--to", drive)
	if err != nil || !strings.Contains(out, "kok: 3 submissions") || !strings.Contains(out, "Nothing was deleted from the server") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	m, err := export.ReadManifest(filepath.Join(drive, "kok"))
	if err != nil || len(m.Submissions) != 3 || m.Organisation != "kok" {
		t.Fatalf("kok's manifest: %v %+v", err, m)
	}
	for _, f := range m.Submissions {
		src, dst := filepath.Join(kokSpool, f.ID+".pgp"), filepath.Join(drive, "kok", f.ID+".pgp")
		a, _ := os.ReadFile(src)
		b, _ := os.ReadFile(dst)
		if !bytes.Equal(a, b) || int64(len(b)) != f.Size {
			t.Errorf("%s: the drive's copy differs from the spool's", f.ID)
		}
		if h, _ := export.Hash(dst); h != f.SHA256 {
			t.Errorf("%s: manifest hash %s, file %s", f.ID, f.SHA256, h)
		}
		si, _ := os.Stat(src)
		di, _ := os.Stat(dst)
		if !si.ModTime().Equal(di.ModTime()) {
			t.Errorf("%s: the drive's copy has time %v, the spool's %v (keytool reads the arrival day from it)", f.ID, di.ModTime(), si.ModTime())
		}
	}
	if mm, err := export.ReadManifest(filepath.Join(drive, "mk-act")); err != nil || len(mm.Submissions) != 1 {
		t.Errorf("mk-act's manifest: %v %+v", err, mm)
	}
	if got := spoolIDs(t, kokSpool); len(got) != 3 {
		t.Fatalf("export deleted from the spool: %v", got)
	}

	// keytool decrypt on the drive writes the receipt.
	cases := filepath.Join(dir, "cases")
	out, err = runKeytool(t, "decrypt", "--key", ana.key, "--passphrase-file", ana.pass, "--in", filepath.Join(drive, "kok"), "--out", cases)
	if err != nil || !strings.Contains(out, "Receipt for 3 submissions written to") {
		t.Fatalf("decrypt: %v\n%s", err, out)
	}
	if strings.Contains(out, "not submissions, left alone") {
		t.Errorf("decrypt takes the export's own files for notes left on the drive:\n%s", out)
	}
	receipt := filepath.Join(drive, "kok", "receipt.json")
	good, _ := os.ReadFile(receipt)
	goodSig, _ := os.ReadFile(receipt + ".sig")
	var r export.Receipt
	if err := json.Unmarshal(good, &r); err != nil || len(r.Submissions) != 3 || r.Organisation != "kok" {
		t.Fatalf("the receipt: %v %s", err, good)
	}

	// Receipts that delete nothing.
	bob := policytest.NewKey(t, dir, "bob")
	anaKey := unlocked(t, ana.key, ana.pass)
	mkKey := unlocked(t, mk[0].KeyPath, mk[0].PassPath)
	bobKey := unlocked(t, bob.KeyPath, bob.PassPath)
	changed := r
	changed.Submissions = append([]export.Kept(nil), r.Submissions...)
	changed.Submissions[1].SHA256 = strings.Repeat("0", 64)
	twice := r
	twice.Submissions = append(append([]export.Kept(nil), r.Submissions...), r.Submissions[0])
	asMK := r
	for _, c := range []struct {
		name  string
		write func(folder string)
		want  string
	}{
		{"signed by a key that is no staff key", func(f string) { export.Sign(f, &r, bobKey) }, "not signed by a staff key"},
		{"signed by another organisation's staff key", func(f string) { export.Sign(f, &asMK, mkKey) }, `names organisation "kok" but is signed by a staff key of MK-ACT (mk-act)`},
		{"naming an id twice", func(f string) { export.Sign(f, &twice, anaKey) }, "is named twice"},
		{"with a changed hash, signed", func(f string) { export.Sign(f, &changed, anaKey) }, "its SHA-256 differs"},
		{"changed after signing", func(f string) {
			os.WriteFile(filepath.Join(f, "receipt.json"), bytes.Replace(good, []byte(r.Submissions[0].SHA256[:8]), []byte("00000000"), 1), 0o600)
			os.WriteFile(filepath.Join(f, "receipt.json.sig"), goodSig, 0o600)
		}, "signature does not hold"},
		{"cut short", func(f string) {
			os.WriteFile(filepath.Join(f, "receipt.json"), good[:len(good)/2], 0o600)
			os.WriteFile(filepath.Join(f, "receipt.json.sig"), goodSig, 0o600)
		}, "signature does not hold"},
		{"its signature cut short", func(f string) {
			os.WriteFile(filepath.Join(f, "receipt.json"), good, 0o600)
			os.WriteFile(filepath.Join(f, "receipt.json.sig"), goodSig[:len(goodSig)-10], 0o600)
		}, "signature does not hold"},
		{"without its signature", func(f string) { os.WriteFile(filepath.Join(f, "receipt.json"), good, 0o600) }, "receipt.json.sig, the receipt's signature, is missing"},
		{"without a receipt", func(f string) {}, "receipt.json is missing"},
	} {
		folder := filepath.Join(t.TempDir(), "kok")
		os.MkdirAll(folder, 0o700)
		c.write(folder)
		out, err := runDropbox(t, config, spoolRoot, "spool", "release", folder)
		if err == nil || !strings.Contains(out, c.want) || !strings.Contains(out, "nothing was deleted") {
			t.Errorf("a receipt %s: %v\n%s\nwant it refused with %q and nothing deleted", c.name, err, out, c.want)
		}
		if got := spoolIDs(t, kokSpool); len(got) != 3 {
			t.Fatalf("a receipt %s deleted %d submissions", c.name, 3-len(got))
		}
	}
	if got := spoolIDs(t, mkSpool); len(got) != 1 {
		t.Fatalf("MK-ACT's spool holds %v", got)
	}

	// The real receipt deletes exactly kok's three, and a second time nothing more.
	out, err = runDropbox(t, config, spoolRoot, "spool", "release", receipt)
	if err != nil || !strings.Contains(out, "kok: deleted 3 submissions the receipt names, signed by ana") || !strings.Contains(out, "still holds 0 submissions") {
		t.Fatalf("release: %v\n%s", err, out)
	}
	if got := spoolIDs(t, kokSpool); len(got) != 0 {
		t.Errorf("after release kok's spool holds %v", got)
	}
	if got := spoolIDs(t, mkSpool); len(got) != 1 {
		t.Errorf("release touched MK-ACT's spool: %v", got)
	}
	out, err = runDropbox(t, config, spoolRoot, "spool", "release", filepath.Join(drive, "kok"))
	if err != nil || !strings.Contains(out, "deleted 0 submissions") || !strings.Contains(out, "3 it names were released before") {
		t.Errorf("release again: %v\n%s", err, out)
	}
	// The drop box still takes submissions, and counts a new one apart from the released.
	plain, _, _ := sampleSubmission(t, 10)
	d.submit(t, encryptTo(t, plain, ana.pub))
	if got := spoolIDs(t, kokSpool); len(got) != 1 {
		t.Errorf("after a new submission kok's spool holds %v", got)
	}
}

// An export killed at any moment leaves a drive whose manifest, if there is one, names only
// files the drive holds in full with the bytes it says.
func TestAnExportKilledNeverClaimsAFileTheDriveLacks(t *testing.T) {
	dir := t.TempDir()
	ana := keygen(t, dir, "ana")
	config := "../config.toml," + orgConfig(t, ana.pub)
	spoolRoot := filepath.Join(dir, "spool")
	kok := filepath.Join(spoolRoot, "kok")
	os.MkdirAll(kok, 0o700)
	// The export copies bytes without reading them as OpenPGP: random bytes do.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 24 {
		var id [16]byte
		for i := range id {
			id[i] = byte(rng.IntN(256))
		}
		body := make([]byte, rng.IntN(3<<20))
		for i := range body {
			body[i] = byte(rng.IntN(256))
		}
		os.WriteFile(filepath.Join(kok, hex.EncodeToString(id[:])+".pgp"), body, 0o600)
	}
	bin, _ := binaries(t)
	args := []string{"spool", "export", "--org", "kok", "--config", config, "--spool", spoolRoot}
	start := time.Now()
	full := filepath.Join(dir, "timing")
	if out, err := exec.Command(bin, append(args, "--to", full)...).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	took := time.Since(start)
	drive := filepath.Join(dir, "usb")
	manifests := 0
	for i := range 20 {
		cmd := exec.Command(bin, append(args, "--to", drive)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(took))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		m, err := export.ReadManifest(filepath.Join(drive, "kok"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatalf("kill %d: the manifest is unreadable: %v", i, err)
		}
		manifests++
		for _, f := range m.Submissions {
			got, err := export.Hash(filepath.Join(drive, "kok", f.ID+".pgp"))
			if err != nil || got != f.SHA256 {
				t.Fatalf("kill %d: the manifest names %s, which the drive does not hold in full (%v)", i, f.ID, err)
			}
		}
	}
	t.Logf("a whole export takes %v; %d of 20 kills left a manifest, each true", took, manifests)
	if out, err := exec.Command(bin, append(args, "--to", drive)...).CombinedOutput(); err != nil {
		t.Fatalf("the export after the kills: %v\n%s", err, out)
	}
	if m, err := export.ReadManifest(filepath.Join(drive, "kok")); err != nil || len(m.Submissions) != 24 {
		t.Fatalf("after the kills, a whole export: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(drive, "kok", ".tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left on the drive: %v", left)
	}
}
