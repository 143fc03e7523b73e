package main

// End-to-end: the built dropbox and keytool binaries, real processes, a real loopback port, real
// files, and messages from go-crypto, OpenPGP.js (node) and GnuPG.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/spool"
	"github.com/safe-complaints/dropbox/internal/submission"
)

var (
	binOnce                sync.Once
	dropboxBin, keytoolBin string
	binErr                 error
)

func binaries(t *testing.T) (string, string) {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "complaints-bin-")
		if err != nil {
			binErr = err
			return
		}
		dropboxBin, keytoolBin = filepath.Join(dir, "dropbox"), filepath.Join(dir, "keytool")
		for bin, pkg := range map[string]string{dropboxBin: ".", keytoolBin: "../keytool"} {
			if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return dropboxBin, keytoolBin
}

// staffKey is a key made by the real keytool keygen.
type staffKey struct{ pub, key, pass string }

func keygen(t *testing.T, dir, name string) staffKey {
	t.Helper()
	_, keytool := binaries(t)
	pass := filepath.Join(dir, name+".pass")
	os.WriteFile(pass, []byte("a long enough passphrase for "+name+"\n"), 0o600)
	out, err := exec.Command(keytool, "keygen", "--name", name, "--out", dir, "--passphrase-file", pass).CombinedOutput()
	if err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	k := staffKey{pub: filepath.Join(dir, name+".pub.asc"), key: filepath.Join(dir, name+".key.asc"), pass: pass}
	if info, err := os.Stat(k.key); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v, mode %v; want 0600", err, info.Mode())
	}
	return k
}

type dropboxProcess struct {
	cmd   *exec.Cmd
	url   string
	spool string
	log   *journalLines // everything it wrote to its journal (standard error)
	ended chan struct{}
}

// journalLines collects a process's log as it is written.
type journalLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *journalLines) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *journalLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// stop ends the drop box as systemd would (SIGTERM: it flushes its last counts) and returns
// everything it logged.
func (d *dropboxProcess) stop(t *testing.T) string {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.ended:
	case <-time.After(60 * time.Second):
		t.Fatal("dropbox did not stop within a minute of SIGTERM")
	}
	return d.log.String()
}

// startDropbox runs the real binary on a free loopback port with the repository's config.toml
// and waits until it listens. recipients are kok's staff keys; the other organisations get
// policytest's keys (orgConfig).
func startDropbox(t *testing.T, spoolDir string, recipients ...string) *dropboxProcess {
	t.Helper()
	return startDropboxWithConfig(t, "../config.toml", spoolDir, recipients...)
}

// orgConfig writes a configuration file that declares the three organisations of config.toml,
// kok with the given keys and the others with policytest's, to follow the real one in --config.
func orgConfig(t *testing.T, kokKeys ...string) string {
	t.Helper()
	keys := map[string][]string{"kok": kokKeys}
	for id, ks := range policytest.Organisations(t) {
		if id != "kok" {
			for _, k := range ks {
				keys[id] = append(keys[id], k.PubPath)
			}
		}
	}
	var b strings.Builder
	for _, o := range []struct{ id, name, region string }{{"kok", "KOK", "DE-BE"}, {"mk-act", "MK-ACT", "GB-ENG"}, {"kinderrechtencoalitie", "Kinderrechtencoalitie", "BE-VLG"}} {
		quoted, _ := json.Marshal(keys[o.id])
		fmt.Fprintf(&b, "[params.organisations.%s]\nname = %q\nregion = %q\nkeys = %s\n", o.id, o.name, o.region, quoted)
	}
	file := filepath.Join(t.TempDir(), "organisations.toml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func startDropboxWithConfig(t *testing.T, config, spoolDir string, recipients ...string) *dropboxProcess {
	t.Helper()
	bin, _ := binaries(t)
	// An empty site: these tests speak to the API, and the built site's forms encrypt to the keys
	// of config.toml, so the server would (rightly) refuse to serve them with other keys.
	args := []string{"serve", "--config", config + "," + orgConfig(t, recipients...), "--listen", "127.0.0.1:0", "--spool", spoolDir, "--site", t.TempDir()}
	cmd := exec.Command(bin, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	log, ended := &journalLines{}, make(chan struct{})
	go func() {
		defer close(ended)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			log.add(sc.Text())
			var line struct{ Msg, Address string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && !sent {
				addr <- line.Address
				sent = true
			}
		}
		if !sent {
			close(addr)
		}
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatal("dropbox exited before listening")
		}
		return &dropboxProcess{cmd: cmd, url: "http://" + a, spool: filepath.Join(spoolDir, "kok"), log: log, ended: ended}
	case <-time.After(20 * time.Second):
		t.Fatal("dropbox did not start listening")
	}
	return nil
}

func (d *dropboxProcess) submit(t *testing.T, msg []byte) string {
	t.Helper()
	resp, err := http.Post(d.url+kokSubmissions, "application/octet-stream", bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %d %v", resp.StatusCode, out)
	}
	return out["id"]
}

func runKeytool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	_, keytool := binaries(t)
	out, err := exec.Command(keytool, args...).CombinedOutput()
	return string(out), err
}

// sampleSubmission is a complaint with fields in two scripts and two attachments.
func sampleSubmission(t *testing.T, attachmentSize int) ([]byte, *submission.Submission, [][]byte) {
	t.Helper()
	photo := make([]byte, attachmentSize)
	rand.Read(photo)
	note := []byte("Notizen\nzweite Zeile\n")
	sub := &submission.Submission{
		Procedure: "kok-complaints", Lang: "de",
		Fields: []submission.Field{
			{Name: "who", Label: "Wer sind Sie?", Value: "Betroffene Person"},
			{Name: "what-happened", Label: "Was ist passiert?", Value: "Zeile eins\nZeile zwei — mit Umlauten: äöü"},
			{Name: "contact", Label: "Möchten Sie kontaktiert werden?", Value: "Nein"},
		},
		Attachments: []submission.Attachment{
			submission.NewAttachment("../Foto vom Brief.jpg", "image/jpeg", photo),
			submission.NewAttachment("notiz.txt", "text/plain", note),
		},
	}
	var buf bytes.Buffer
	if err := submission.Write(&buf, sub, []io.Reader{bytes.NewReader(photo), bytes.NewReader(note)}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), sub, [][]byte{photo, note}
}

func encryptTo(t *testing.T, plain []byte, pubs ...string) []byte {
	t.Helper()
	var to []*openpgp.Entity
	for _, p := range pubs {
		r, err := policy.LoadRecipient(p)
		if err != nil {
			t.Fatal(err)
		}
		to = append(to, r.Entity)
	}
	var out bytes.Buffer
	w, err := openpgp.Encrypt(&out, to, nil, nil, nil, policy.EncryptConfig())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// checkCase compares a decrypted case folder with what was sent.
func checkCase(t *testing.T, dir string, sub *submission.Submission, bodies [][]byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "submission.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got submission.Submission
	json.Unmarshal(raw, &got)
	wantJSON, _ := json.Marshal(sub)
	gotJSON, _ := json.Marshal(&got)
	if !bytes.Equal(wantJSON, gotJSON) {
		t.Errorf("submission.json\n got %s\nwant %s", gotJSON, wantJSON)
	}
	summary, _ := os.ReadFile(filepath.Join(dir, "summary.txt"))
	for _, f := range sub.Fields {
		if !strings.Contains(string(summary), f.Label) {
			t.Errorf("summary.txt lacks the label %q", f.Label)
		}
		for _, line := range strings.Split(f.Value, "\n") {
			if !strings.Contains(string(summary), line) {
				t.Errorf("summary.txt lacks %q", line)
			}
		}
	}
	files, _ := os.ReadDir(filepath.Join(dir, "attachments"))
	if len(files) != len(bodies) {
		t.Fatalf("%d attachment files, want %d", len(files), len(bodies))
	}
	for i, f := range files {
		if strings.Contains(f.Name(), "/") || strings.HasPrefix(f.Name(), ".") {
			t.Errorf("unsafe attachment name %q", f.Name())
		}
		data, _ := os.ReadFile(filepath.Join(dir, "attachments", f.Name()))
		if !bytes.Equal(data, bodies[i]) {
			t.Errorf("attachment %s differs from what was sent", f.Name())
		}
	}
}

func TestRoundTripKeygenSubmitDecrypt(t *testing.T) {
	dir := t.TempDir()
	ana, ben := keygen(t, dir, "ana"), keygen(t, dir, "ben")
	d := startDropbox(t, filepath.Join(dir, "spool"), ana.pub, ben.pub)
	plain, sub, bodies := sampleSubmission(t, 1<<20)
	id := d.submit(t, encryptTo(t, plain, ana.pub, ben.pub))

	cases := filepath.Join(dir, "cases")
	// Plaintext goes under --out and nowhere else: not even a temporary file.
	tmp := t.TempDir()
	_, keytool := binaries(t)
	cmd := exec.Command(keytool, "decrypt", "--key", ana.key, "--passphrase-file", ana.pass, "--in", d.spool, "--out", cases)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	outBytes, err := cmd.CombinedOutput()
	out := string(outBytes)
	if err != nil {
		t.Fatalf("decrypt: %v\n%s", err, out)
	}
	if !strings.Contains(out, "1 decrypted, 0 skipped, 0 failed") {
		t.Errorf("table:\n%s", out)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("keytool wrote %d files to TMPDIR", len(left))
	}
	var files []string
	filepath.Walk(cases, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, strings.TrimPrefix(p, cases+"/"))
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v; plaintext files are 0600", p, info.Mode().Perm())
			}
		}
		return nil
	})
	// summary.txt, submission.json, two attachments, and the case register (0600 too)
	if len(files) != 5 || !slices.Contains(files, "register.sqlite") {
		t.Errorf("cases holds %v", files)
	}
	checkCase(t, filepath.Join(cases, id), sub, bodies)

	// Run again: nothing to do.
	out, err = runKeytool(t, "decrypt", "--key", ana.key, "--passphrase-file", ana.pass, "--in", d.spool, "--out", cases)
	if err != nil || !strings.Contains(out, "0 decrypted, 1 skipped, 0 failed") {
		t.Errorf("rerun: %v\n%s", err, out)
	}
	// The other staff member reads the same submission with their own key.
	out, err = runKeytool(t, "decrypt", "--key", ben.key, "--passphrase-file", ben.pass, "--in", d.spool, "--out", filepath.Join(dir, "cases-ben"))
	if err != nil {
		t.Fatalf("decrypt with ben's key: %v\n%s", err, out)
	}
	checkCase(t, filepath.Join(dir, "cases-ben", id), sub, bodies)
}

func TestKeytoolErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	ana := keygen(t, dir, "ana")
	d := startDropbox(t, filepath.Join(dir, "spool"), ana.pub)
	plain, _, _ := sampleSubmission(t, 1000)
	good := d.submit(t, encryptTo(t, plain, ana.pub))
	bad := d.submit(t, encryptTo(t, plain, ana.pub))
	// Damage one stored submission inside its encrypted data, as a bad drive might.
	path := filepath.Join(d.spool, bad+".pgp")
	raw, _ := os.ReadFile(path)
	raw[len(raw)-40] ^= 0xff
	os.WriteFile(path, raw, 0o600)

	wrong := filepath.Join(dir, "wrong.pass")
	os.WriteFile(wrong, []byte("not the passphrase at all\n"), 0o600)
	cases := filepath.Join(dir, "cases")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong passphrase", []string{"--key", ana.key, "--passphrase-file", wrong}, "passphrase does not open"},
		{"public key given", []string{"--key", ana.pub, "--passphrase-file", ana.pass}, "is a public key; decrypt needs the private key"},
		{"no spool", []string{"--key", ana.key, "--passphrase-file", ana.pass, "--in", filepath.Join(dir, "nope")}, "reading the spool copy"},
	} {
		args := append([]string{"decrypt", "--in", d.spool, "--out", cases}, c.args...)
		out, err := runKeytool(t, args...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: %v, output %q; want a failure saying %q", c.name, err, out, c.want)
		}
	}
	out, err := runKeytool(t, "decrypt", "--key", ana.key, "--passphrase-file", ana.pass, "--in", d.spool, "--out", cases)
	if err == nil {
		t.Fatalf("a damaged submission did not fail the run:\n%s", out)
	}
	if !regexp.MustCompile(bad+`\s+failed\s+\S`).MatchString(out) || !strings.Contains(out, "1 decrypted, 0 skipped, 1 failed") {
		t.Errorf("table does not show the failure with a reason:\n%s", out)
	}
	entries, _ := os.ReadDir(cases)
	entries = slices.DeleteFunc(entries, func(e os.DirEntry) bool { return e.Name() == "register.sqlite" })
	if len(entries) != 1 || entries[0].Name() != good {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("cases folder holds %v; want only %s (nothing of the damaged one, no partial folders)", names, good)
	}
}

func TestKeytoolShowAndInspect(t *testing.T) {
	dir := t.TempDir()
	ana := keygen(t, dir, "ana")
	out, err := runKeytool(t, "show", ana.pub)
	if err != nil {
		t.Fatal(err, out)
	}
	for _, want := range []string{"version 6, Ed25519", "version 6, X25519", "usage encrypt", "AES-256-GCM", "does not expire", "accepted as a recipient"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out, _ = runKeytool(t, "show", ana.key)
	if !strings.Contains(out, "private key, protected by a passphrase") {
		t.Errorf("show of the private key:\n%s", out)
	}
	msg := filepath.Join(dir, "m.pgp")
	os.WriteFile(msg, encryptTo(t, []byte("x"), ana.pub), 0o600)
	out, err = runKeytool(t, "inspect", msg)
	if err != nil || !strings.Contains(out, "session key v6") || !strings.Contains(out, "SEIPDv2, AES-256-GCM") {
		t.Errorf("inspect: %v\n%s", err, out)
	}
}

func TestInteropOpenPGPjs(t *testing.T) {
	dir := t.TempDir()
	ana, ben := keygen(t, dir, "ana"), keygen(t, dir, "ben")
	d := startDropbox(t, filepath.Join(dir, "spool"), ana.pub, ben.pub)
	plain, sub, bodies := sampleSubmission(t, 2<<20)
	plainPath, msgPath := filepath.Join(dir, "plain"), filepath.Join(dir, "msg.pgp")
	os.WriteFile(plainPath, plain, 0o600)
	out, err := exec.Command("node", "--conditions=browser", "../testdata/interop/openpgpjs-encrypt.mjs", plainPath, msgPath, ana.pub, ben.pub).CombinedOutput()
	if err != nil {
		t.Fatalf("OpenPGP.js (run `make deps` to install it): %v\n%s", err, out)
	}
	msg, _ := os.ReadFile(msgPath)
	s, err := policy.Inspect(bytes.NewReader(msg))
	if err != nil || s.DataVersion != 2 || s.AEAD != 3 {
		t.Fatalf("OpenPGP.js did not choose SEIPDv2 with GCM for our keys: %+v %v", s, err)
	}
	id := d.submit(t, msg)
	cases := filepath.Join(dir, "cases")
	if out, err := runKeytool(t, "decrypt", "--key", ben.key, "--passphrase-file", ben.pass, "--in", d.spool, "--out", cases); err != nil {
		t.Fatalf("decrypt: %v\n%s", err, out)
	}
	checkCase(t, filepath.Join(cases, id), sub, bodies)
}

// gnupg runs gpg in its own home folder.
type gnupg struct {
	t    *testing.T
	home string
}

const gpgPass = "gpg test passphrase"

func newGnuPG(t *testing.T) *gnupg {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatal("gpg is not installed: run `make deps`")
	}
	home, err := os.MkdirTemp("", "gpg-") // short: gpg-agent's socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	g := &gnupg{t: t, home: home}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	return g
}

func (g *gnupg) run(args ...string) []byte {
	g.t.Helper()
	full := append([]string{"--homedir", g.home, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", gpgPass}, args...)
	cmd := exec.Command("gpg", full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		g.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// newKey makes a v4 key the way staff with GnuPG have them and exports it for the drop box.
func (g *gnupg) newKey(dir, name, primaryAlgo, encAlgo string) staffKey {
	g.t.Helper()
	uid := name + " <" + name + "@example.org>"
	g.run("--quick-gen-key", uid, primaryAlgo, "sign,cert", "0")
	fpr := regexp.MustCompile(`fpr:::::::::([0-9A-F]{40}):`).FindStringSubmatch(string(g.run("--list-keys", "--with-colons", uid)))[1]
	g.run("--quick-add-key", fpr, encAlgo, "encr", "0")
	k := staffKey{pub: filepath.Join(dir, name+".pub.asc"), key: filepath.Join(dir, name+".key.asc"), pass: filepath.Join(dir, name+".pass")}
	os.WriteFile(k.pub, g.run("--armor", "--export", fpr), 0o644)
	os.WriteFile(k.key, g.run("--armor", "--export-secret-keys", fpr), 0o600)
	os.WriteFile(k.pass, []byte(gpgPass+"\n"), 0o600)
	return k
}

func TestInteropGnuPG(t *testing.T) {
	dir := t.TempDir()
	g := newGnuPG(t)
	cv := g.newKey(dir, "carla", "ed25519", "cv25519")
	rsa := g.newKey(dir, "rui", "rsa3072", "rsa3072")
	d := startDropbox(t, filepath.Join(dir, "spool"), cv.pub, rsa.pub)
	plain, sub, bodies := sampleSubmission(t, 1<<20)
	plainPath := filepath.Join(dir, "plain")
	os.WriteFile(plainPath, plain, 0o600)

	// GnuPG encrypts (to v4 keys: v3 session keys, SEIPDv1, compressed inside).
	gpgMsg := filepath.Join(dir, "gpg.pgp")
	g.run("--trust-model", "always", "--recipient", "carla@example.org", "--recipient", "rui@example.org", "--output", gpgMsg, "--encrypt", plainPath)
	raw, _ := os.ReadFile(gpgMsg)
	gpgID := d.submit(t, raw)
	// go-crypto encrypts to the same GnuPG keys, as the drop box does for forms without JavaScript.
	goID := d.submit(t, encryptTo(t, plain, cv.pub, rsa.pub))

	for _, k := range []staffKey{cv, rsa} {
		cases := filepath.Join(dir, "cases-"+filepath.Base(k.key))
		out, err := runKeytool(t, "decrypt", "--key", k.key, "--passphrase-file", k.pass, "--in", d.spool, "--out", cases)
		if err != nil {
			t.Fatalf("keytool with the GnuPG key %s: %v\n%s", k.key, err, out)
		}
		checkCase(t, filepath.Join(cases, gpgID), sub, bodies)
		checkCase(t, filepath.Join(cases, goID), sub, bodies)
	}
	// And GnuPG 2.2 itself reads what go-crypto wrote to its keys.
	decrypted := g.run("--decrypt", filepath.Join(d.spool, goID+".pgp"))
	if !bytes.Equal(decrypted, plain) {
		t.Error("gpg --decrypt of the go-crypto message differs from the plaintext")
	}

	// A GnuPG key signs the receipt (a v4 signature, which gpg itself verifies), and the drop
	// box releases against it.
	config := "../config.toml," + orgConfig(t, cv.pub, rsa.pub)
	spoolRoot := filepath.Dir(d.spool)
	drive := filepath.Join(dir, "usb")
	if out, err := runDropbox(t, config, spoolRoot, "spool", "export", "--org", "kok", "--to", drive); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if out, err := runKeytool(t, "decrypt", "--key", rsa.key, "--passphrase-file", rsa.pass, "--in", filepath.Join(drive, "kok"), "--out", filepath.Join(dir, "cases-drive")); err != nil || !strings.Contains(out, "Receipt for 2 submissions") {
		t.Fatalf("decrypt on the drive with the GnuPG key: %v\n%s", err, out)
	}
	receipt := filepath.Join(drive, "kok", "receipt.json")
	g.run("--trust-model", "always", "--verify", receipt+".sig", receipt)
	out, err := runDropbox(t, config, spoolRoot, "spool", "release", receipt)
	if err != nil || !strings.Contains(out, "deleted 2 submissions the receipt names, signed by rui") {
		t.Fatalf("release with a GnuPG key's receipt: %v\n%s", err, out)
	}
}

func TestKeysTooWeakAreRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	g := newGnuPG(t)
	weak := g.newKey(dir, "old", "rsa2048", "rsa2048")
	bin, _ := binaries(t)
	serve := func(kokKey string) ([]byte, error) {
		return exec.Command(bin, "serve", "--config", "../config.toml,"+orgConfig(t, kokKey), "--listen", "127.0.0.1:0", "--spool", filepath.Join(dir, "s")).CombinedOutput()
	}
	out, err := serve(weak.pub)
	if err == nil || !strings.Contains(string(out), "RSA with 2048 bits; at least 3072") {
		t.Errorf("a 2048-bit RSA recipient: %v\n%s", err, out)
	}
	// A good key whose newest encryption subkey is weak: senders would pick the weak one.
	good := g.newKey(dir, "later", "ed25519", "cv25519")
	fpr := regexp.MustCompile(`fpr:::::::::([0-9A-F]{40}):`).FindStringSubmatch(string(g.run("--list-keys", "--with-colons", "later@example.org")))[1]
	time.Sleep(1100 * time.Millisecond) // a later creation time, so it is the newest
	g.run("--quick-add-key", fpr, "rsa2048", "encr", "0")
	os.WriteFile(good.pub, g.run("--armor", "--export", fpr), 0o644)
	out, err = serve(good.pub)
	if err == nil || !strings.Contains(string(out), "senders would encrypt to its newest subkey") {
		t.Errorf("a key whose newest subkey is RSA-2048: %v\n%s", err, out)
	}
	out, err = serve(weak.key)
	if err == nil || !strings.Contains(string(out), "holds a private key") {
		t.Errorf("a private key as recipient: %v\n%s", err, out)
	}
}

func TestCrashConsistencyUnderSIGKILL(t *testing.T) {
	dir := t.TempDir()
	ana := keygen(t, dir, "ana")
	spoolDir := filepath.Join(dir, "spool")
	d := startDropbox(t, spoolDir, ana.pub)
	var msgs [][]byte
	for _, size := range []int{4 << 10, 64 << 10, 512 << 10, 2 << 20} {
		plain, _, _ := sampleSubmission(t, size)
		msgs = append(msgs, encryptTo(t, plain, ana.pub))
	}

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(d.url+kokSubmissions, "application/octet-stream", bytes.NewReader(msgs[(w+i)%len(msgs)]))
				if err != nil {
					return // the server is gone
				}
				var out map[string]string
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acked = append(acked, out["id"])
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 10 {
		t.Fatalf("only %d submissions acknowledged before the kill; the load did not run", len(acked))
	}
	// What keytool sees right after the crash, before any restart: only complete submissions.
	out, err := runKeytool(t, "decrypt", "--key", ana.key, "--passphrase-file", ana.pass, "--in", d.spool, "--out", filepath.Join(dir, "cases"))
	if err != nil {
		t.Fatalf("keytool after the crash: %v\n%s", err, out)
	}
	for _, id := range acked {
		if _, err := os.Stat(filepath.Join(dir, "cases", id, "summary.txt")); err != nil {
			t.Errorf("acknowledged submission %s is missing after the crash", id)
		}
	}
	// A restart clears what was half-received and takes submissions again.
	d2 := startDropbox(t, spoolDir, ana.pub)
	if left, _ := os.ReadDir(filepath.Join(d2.spool, ".incoming")); len(left) != 0 {
		t.Errorf("%d half-received files remain after the restart", len(left))
	}
	d2.submit(t, msgs[0])
	entries, _ := spool.List(d2.spool)
	t.Logf("%d acknowledged before SIGKILL; %d in the spool after the restart", len(acked), len(entries))
}

func TestSIGTERMWaitsABoundedTimeAndKeepsNothingCut(t *testing.T) {
	dir := t.TempDir()
	ana := keygen(t, dir, "ana")
	config := filepath.Join(dir, "config.toml")
	os.WriteFile(config, []byte("[params.dropbox]\nshutdown_grace = \"2s\"\n"), 0o644)
	spoolDir := filepath.Join(dir, "spool")
	d := startDropboxWithConfig(t, config, spoolDir, ana.pub)
	plain, _, _ := sampleSubmission(t, 1<<20)
	msg := encryptTo(t, plain, ana.pub)

	// An upload that flows, then slows down: it is in flight when the signal comes.
	conn, err := net.Dial("tcp", strings.TrimPrefix(d.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST "+kokSubmissions+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(msg))
	conn.Write(msg[:256<<10])
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	// The sender goes on trickling, as a slow Tor circuit would, well past the grace.
	go func() {
		for off := 256 << 10; off < len(msg); off += 1 << 10 {
			if _, err := conn.Write(msg[off : off+1<<10]); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- d.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("dropbox exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("dropbox still runs 15 s after SIGTERM with a 2 s grace")
	}
	if took := time.Since(start); took < 2*time.Second || took > 8*time.Second {
		t.Errorf("stopped %s after SIGTERM; want the 2 s grace, then a prompt stop", took)
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	answer, _ := io.ReadAll(conn)
	if bytes.Contains(answer, []byte(" 201 ")) {
		t.Errorf("the cut upload was acknowledged: %q", answer)
	}
	if entries, _ := spool.List(d.spool); len(entries) != 0 {
		t.Errorf("the cut upload was stored: %v", entries)
	}
	if left, _ := os.ReadDir(filepath.Join(d.spool, ".incoming")); len(left) != 0 {
		t.Errorf("%d half-received files left behind", len(left))
	}
}

func TestConfigurationsRefusedAtStart(t *testing.T) {
	bin, _ := binaries(t)
	orgs := policytest.Organisations(t)
	declare := func(id, extra string) string {
		return fmt.Sprintf("[params.organisations.%s]\nname = %q\nregion = \"DE\"\nkeys = [%q]\n%s\n", id, strings.ToUpper(id), orgs[id][0].PubPath, extra)
	}
	cases := []struct {
		name, config, site, want string
	}{
		{"two organisations, one spool folder", declare("kok", `spool = "shared"`) + declare("mk-act", `spool = "shared"`), t.TempDir(),
			"organisations kok and mk-act share the spool folder"},
		{"an organisation without keys", declare("kok", "") + "[params.organisations.mk-act]\nname = \"MK-ACT\"\nregion = \"GB\"\n", t.TempDir(),
			"organisation mk-act (MK-ACT) has no staff keys"},
		{"the site's procedure of an organisation not declared", declare("kok", "") + declare("mk-act", ""), "../site/public",
			`is for organisation "kinderrechtencoalitie", which this configuration does not declare`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Not under t.TempDir(): the test's name has a comma, and --config splits at commas.
			dir, _ := os.MkdirTemp("", "config-")
			defer os.RemoveAll(dir)
			config := filepath.Join(dir, "config.toml")
			os.WriteFile(config, []byte(c.config), 0o644)
			out, err := exec.Command(bin, "serve", "--config", config, "--listen", "127.0.0.1:0", "--site", c.site).CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Errorf("%v\n%s\nwant an error saying %q", err, out, c.want)
			}
		})
	}
}

// keytool with one organisation's key decrypts that organisation's submissions and leaves the
// others' alone, saying whose they are.
func TestKeytoolDecryptsItsOrganisationsAndRefusesTheOthers(t *testing.T) {
	dir := t.TempDir()
	ana := keygen(t, dir, "ana")
	d := startDropbox(t, filepath.Join(dir, "spool"), ana.pub)
	plain, sub, bodies := sampleSubmission(t, 1000)
	kokID := d.submit(t, encryptTo(t, plain, ana.pub))
	mk := policytest.Organisations(t)["mk-act"]
	resp, err := http.Post(d.url+"/api/v1/orgs/mk-act/submissions", "application/octet-stream", bytes.NewReader(policytest.Encrypt(t, plain, mk...)))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("MK-ACT's submission: %v %v", err, resp)
	}
	resp.Body.Close()
	mkSpool := filepath.Join(dir, "spool", "mk-act")
	mkFiles, _ := spool.List(mkSpool)
	if len(mkFiles) != 1 {
		t.Fatalf("mk-act's folder holds %v", mkFiles)
	}

	// Its own folder: decrypted.
	out, err := runKeytool(t, "decrypt", "--key", ana.key, "--passphrase-file", ana.pass, "--in", d.spool, "--out", filepath.Join(dir, "cases"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	checkCase(t, filepath.Join(dir, "cases", kokID), sub, bodies)

	// MK-ACT's folder, and a copy that mixes both: MK-ACT's submission is refused with whose it
	// is, and stays as it was.
	mixed := filepath.Join(dir, "mixed")
	os.MkdirAll(mixed, 0o700)
	for _, f := range []string{filepath.Join(d.spool, kokID+".pgp"), mkFiles[0].Path} {
		data, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(mixed, filepath.Base(f)), data, 0o600)
	}
	config := "../config.toml," + orgConfig(t, ana.pub)
	for _, in := range []string{mkSpool, mixed} {
		cases := filepath.Join(t.TempDir(), "cases")
		out, err := runKeytool(t, "decrypt", "--key", ana.key, "--passphrase-file", ana.pass, "--in", in, "--out", cases, "--config", config)
		if err == nil || !strings.Contains(out, mkFiles[0].ID+"  not yours  not for your key: it is for the staff of MK-ACT (mk-act)") ||
			!strings.Contains(out, "Your key is a staff key of KOK (kok).") || !strings.Contains(out, "1 not yours") {
			t.Errorf("--in %s: %v\n%s", in, err, out)
		}
		if err != nil && !strings.Contains(err.Error()+out, "not for your key and were left alone") {
			t.Errorf("the error does not say what was left: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(cases, mkFiles[0].ID)); err == nil {
			t.Errorf("a case folder was made for MK-ACT's submission")
		}
	}
	if _, err := os.Stat(mkFiles[0].Path); err != nil {
		t.Errorf("MK-ACT's submission is gone from its folder: %v", err)
	}
	// Without the configuration, keytool still refuses, naming the keys instead.
	out, err = runKeytool(t, "decrypt", "--key", ana.key, "--passphrase-file", ana.pass, "--in", mkSpool, "--out", filepath.Join(dir, "cases-2"))
	if err == nil || !strings.Contains(out, "not for your key: encrypted to key ") {
		t.Errorf("without --config: %v\n%s", err, out)
	}
}
