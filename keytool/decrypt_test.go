package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/submission"
)

func TestSafeNameMakesOneHarmlessPathElement(t *testing.T) {
	cases := map[string]string{
		"Brief.pdf":                "Brief.pdf",
		"../../etc/passwd":         "_.._etc_passwd",
		`..\..\Windows\system.ini`: `_.._Windows_system.ini`,
		".bashrc":                  "bashrc",
		"...":                      "attachment",
		"":                         "attachment",
		"a\x00b\nc\x1bd":           "abcd",
		"invoice\u202Efdp.exe":     "invoicefdp.exe", // a right-to-left override hides the real extension
		"C:evil":                   "C_evil",
		"  spaced  ":               "spaced",
		"فاتورة.pdf":               "فاتورة.pdf",
		"照片 1.jpg":                 "照片 1.jpg",
	}
	for in, want := range cases {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
	long := safeName(strings.Repeat("ü", 200) + ".jpeg")
	if len(long) > 120 || !strings.HasSuffix(long, ".jpeg") || !utf8.ValidString(long) {
		t.Errorf("a long name became %q (%d bytes)", long, len(long))
	}
}

func TestPrintableKeepsTextAndLineBreaksButNoEscapes(t *testing.T) {
	in := "Zeile 1\n\tZeile 2 \x1b[2J\x1b]0;owned\x07 ende \u202e \u0085"
	if got, want := printable(in), "Zeile 1\n\tZeile 2 [2J]0;owned ende  "; got != want {
		t.Errorf("printable = %q, want %q", got, want)
	}
}

// message is an encrypted submission for ana with attachments of the given sizes.
func message(t *testing.T, ana policytest.Key, sizes ...int) []byte {
	t.Helper()
	sub := &submission.Submission{
		Procedure: "kok-complaints", Lang: "en",
		Fields: []submission.Field{{Name: "what-happened", Label: "What happened?", Value: "My passport was kept."}},
	}
	var bodies []io.Reader
	for i, n := range sizes {
		data := make([]byte, n)
		rand.Read(data)
		sub.Attachments = append(sub.Attachments, submission.NewAttachment(fmt.Sprintf("scan-%d.pdf", i+1), "application/pdf", data))
		bodies = append(bodies, bytes.NewReader(data))
	}
	var plain bytes.Buffer
	if err := submission.Write(&plain, sub, bodies); err != nil {
		t.Fatal(err)
	}
	return policytest.Encrypt(t, plain.Bytes(), ana)
}

// keytool runs the command in this process, with a standard input that is not a terminal.
func keytool(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	root := newRootCmd(strings.NewReader(""), &out, &errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func writeFiles(t *testing.T, files map[string][]byte) {
	t.Helper()
	for path, data := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDecryptReportsWhatLooksLikeASubmissionButIsNot(t *testing.T) {
	staff, _ := policytest.Staff(t)
	ana := staff[0]
	dir := t.TempDir()
	in, out := filepath.Join(dir, "spool"), filepath.Join(dir, "cases")
	const (
		good   = "0123456789abcdef0123456789abcdef"
		linked = "11111111111111111111111111111111"
		folder = "22222222222222222222222222222222"
		upper  = "ABCDEF0123456789ABCDEF0123456789"
		nested = "33333333333333333333333333333333"
		lone   = "44444444444444444444444444444444"
	)
	msg := message(t, ana, 100)
	writeFiles(t, map[string][]byte{
		filepath.Join(in, good+".pgp"):                        msg,
		filepath.Join(dir, "elsewhere", linked+".pgp"):        msg,
		filepath.Join(in, folder+".pgp", "x"):                 []byte("x"),
		filepath.Join(in, upper+".pgp"):                       msg,
		filepath.Join(in, good+".pgp.1"):                      msg, // cp made a second copy
		filepath.Join(in, lone+" (1).pgp"):                    msg, // a file manager's copy, the original gone
		filepath.Join(in, "spool", nested+".pgp"):             msg, // cp -r spool into an existing spool folder
		filepath.Join(in, "complaint.pgp"):                    msg,
		filepath.Join(in, strings.Repeat("ab", 32)+".sha256"): []byte("a hash, not an id"),
		filepath.Join(in, "notes.txt"):                        []byte("collected on Monday\n"),
		filepath.Join(in, ".incoming", "123456"):              []byte("half an upload"),
	})
	if err := os.Symlink(filepath.Join(dir, "elsewhere", linked+".pgp"), filepath.Join(in, linked+".pgp")); err != nil {
		t.Fatal(err)
	}

	stdout, _, err := keytool("decrypt", "--key", ana.KeyPath, "--passphrase-file", ana.PassPath, "--in", in, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "7 entries in "+in+" look like submissions but could not be read as one") {
		t.Errorf("error = %v; want it to count the 7 entries that were not read", err)
	}
	for _, c := range []struct{ name, why string }{
		{linked + ".pgp", "a symbolic link, not a file; copy the submission file itself"},
		{folder + ".pgp", "a folder, not a file"},
		{upper + ".pgp", "rename it to " + strings.ToLower(upper) + ".pgp"},
		{good + ".pgp.1", "probably a second copy of " + good + ".pgp"},
		{`"` + lone + ` (1).pgp"`, "rename it to " + lone + ".pgp"},
		{"spool", "a folder holding 1 submission; keytool reads only the files directly in --in: run it again with --in " + filepath.Join(in, "spool")},
		{"complaint.pgp", "if it is one (keytool inspect shows whether it is an encrypted message), give it such a name"},
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(c.name) + `\s+not read\s+.*` + regexp.QuoteMeta(c.why)).MatchString(stdout) {
			t.Errorf("the table does not say that %s was not read because %q:\n%s", c.name, c.why, stdout)
		}
	}
	if !strings.Contains(stdout, "Also in "+in+", not submissions, left alone: "+strings.Repeat("ab", 32)+".sha256, notes.txt\n") {
		t.Errorf("the other files are not mentioned as left alone:\n%s", stdout)
	}
	if strings.Contains(stdout, ".incoming") {
		t.Errorf("the drop box's .incoming folder is mentioned:\n%s", stdout)
	}
	if !strings.Contains(stdout, "1 submission: 1 decrypted, 0 skipped, 0 failed\n7 entries look like submissions but were not read") {
		t.Errorf("the counts are wrong:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, good, "summary.txt")); err != nil {
		t.Errorf("the good submission was not decrypted: %v", err)
	}
}

func TestDecryptRemovesUnfinishedFoldersBeforeTheKeyIsUnlocked(t *testing.T) {
	staff, _ := policytest.Staff(t)
	ana := staff[0]
	dir := t.TempDir()
	in := filepath.Join(dir, "spool")
	os.Mkdir(in, 0o700)
	wrong := filepath.Join(dir, "wrong.pass")
	os.WriteFile(wrong, []byte("not the passphrase\n"), 0o600)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong passphrase", []string{"--key", ana.KeyPath, "--passphrase-file", wrong, "--in", in}, "the passphrase does not open"},
		{"no terminal for the prompt", []string{"--key", ana.KeyPath, "--in", in}, "no passphrase"},
		{"no key given", []string{"--in", in}, "decrypt needs --key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "cases")
			partial := filepath.Join(out, ".partial-0123456789abcdef0123456789abcdef-a1b2c3d4e5f6")
			writeFiles(t, map[string][]byte{filepath.Join(partial, "attachments", "01-scan.pdf"): []byte("unchecked plaintext")})
			_, stderr, err := keytool(append([]string{"decrypt", "--out", out}, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v; want one saying %q", err, c.want)
			}
			if _, err := os.Stat(partial); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the unfinished folder is still there (%v)", err)
			}
			if want := "removed 1 unfinished case folder (.partial-*) that an interrupted run left in " + out; !strings.Contains(stderr, want) {
				t.Errorf("stderr %q does not say %q", stderr, want)
			}
		})
	}
}

func TestDecryptCleanRemovesOnlyUnfinishedFolders(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cases")
	done := filepath.Join(out, "0123456789abcdef0123456789abcdef", "summary.txt")
	writeFiles(t, map[string][]byte{
		filepath.Join(out, ".partial-0123456789abcdef0123456789abcdef-a1b2c3d4e5f6", "summary.txt"):         []byte("unchecked"),
		filepath.Join(out, ".partial-11111111111111111111111111111111-a1b2c3d4e5f6", "attachments", "01-x"): []byte("unchecked"),
		done: []byte("a finished case"),
	})
	stdout, _, err := keytool("decrypt", "--clean", "--out", out)
	if err != nil || !strings.Contains(stdout, "removed 2 unfinished case folders (.partial-*, plaintext an interrupted run left unchecked) from "+out) {
		t.Fatalf("--clean: %v\n%s", err, stdout)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("after --clean the cases folder holds %d entries; want only the finished case", len(entries))
	}
	if _, err := os.Stat(done); err != nil {
		t.Errorf("--clean touched a finished case: %v", err)
	}
	stdout, _, err = keytool("decrypt", "--clean", "--out", out)
	if err != nil || !strings.Contains(stdout, "nothing to remove: no unfinished case folders (.partial-*) in "+out) {
		t.Errorf("second --clean: %v\n%s", err, stdout)
	}
}

// TestDecryptAfterAKilledRun kills a real keytool process while it writes an attachment, then
// checks that the unfinished folder is there, that --clean removes it, and that a rerun works.
func TestDecryptAfterAKilledRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds keytool and decrypts 60 MiB")
	}
	staff, _ := policytest.Staff(t)
	ana := staff[0]
	dir := t.TempDir()
	bin := filepath.Join(dir, "keytool")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in := filepath.Join(dir, "spool")
	const id = "0123456789abcdef0123456789abcdef"
	writeFiles(t, map[string][]byte{filepath.Join(in, id+".pgp"): message(t, ana, 20<<20, 20<<20, 20<<20)})
	decrypt := func(out string) *exec.Cmd {
		return exec.Command(bin, "decrypt", "--key", ana.KeyPath, "--passphrase-file", ana.PassPath, "--in", in, "--out", out)
	}

	var out string
	killed := false
	for attempt := 0; attempt < 5 && !killed; attempt++ {
		out = filepath.Join(dir, fmt.Sprintf("cases-%d", attempt))
		cmd := decrypt(out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
	poll:
		for {
			select {
			case <-exited:
				break poll // finished before it could be caught writing: try again
			default:
			}
			written, _ := filepath.Glob(filepath.Join(out, ".partial-*", "attachments", "*"))
			if len(written) > 0 {
				cmd.Process.Kill()
				<-exited
				killed = true
				break poll
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	if !killed {
		t.Fatal("keytool finished five times before it could be killed while writing")
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".partial-"+id+"-*")); len(left) != 1 {
		t.Fatalf("after the kill, %s holds %v; want one unfinished folder", out, left)
	}

	stdout, err := exec.Command(bin, "decrypt", "--clean", "--out", out).CombinedOutput()
	if err != nil || !strings.Contains(string(stdout), "removed 1 unfinished case folder") {
		t.Fatalf("--clean: %v\n%s", err, stdout)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".partial-*")); len(left) != 0 {
		t.Fatalf("--clean left %v", left)
	}
	stdout, err = decrypt(out).CombinedOutput()
	if err != nil || !strings.Contains(string(stdout), "1 submission: 1 decrypted, 0 skipped, 0 failed") {
		t.Fatalf("rerun: %v\n%s", err, stdout)
	}
	if names, _ := filepath.Glob(filepath.Join(out, id, "attachments", "*")); len(names) != 3 {
		t.Errorf("the rerun wrote attachments %v; want 3", names)
	}
}
