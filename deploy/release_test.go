package deploy

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Staff check keytool's SHA-256 against SHA256SUMS, and anyone may rebuild it from the commit to
// check that the published binary is what the source makes. So the release build must give the
// same bytes whoever builds it, wherever: here, in two copies of the source in two folders whose
// paths differ in name and length, with the release script itself (one target, to stay quick).
// The Go build cache is shared, as on any one machine; what differs is everything a folder can
// leak into a binary.
func TestKeytoolBuildsTheSameBytesInTwoFolders(t *testing.T) {
	first := copySource(t, filepath.Join(t.TempDir(), "a"))
	second := copySource(t, filepath.Join(t.TempDir(), "another-folder", "b"))
	var builds [][]byte
	for _, src := range []string{first, second} {
		release(t, src, nil, "keytool/linux/amd64")
		bin, err := os.ReadFile(filepath.Join(src, "dist", "keytool-linux-amd64"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bin, []byte(src)) {
			t.Errorf("keytool built in %s holds the folder's name: the build leaks paths (is -trimpath missing from scripts/release?)", src)
		}
		sums, err := os.ReadFile(filepath.Join(src, "dist", "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%x  keytool-linux-amd64\n", sha256.Sum256(bin)); string(sums) != want {
			t.Errorf("dist/SHA256SUMS is\n%s\nwant\n%s", sums, want)
		}
		builds = append(builds, bin)
	}
	if a, b := builds[0], builds[1]; !bytes.Equal(a, b) {
		at := 0
		for at < len(a) && at < len(b) && a[at] == b[at] {
			at++
		}
		t.Fatalf("keytool built in two folders differs: %d and %d bytes, first at byte %d (sha256 %x and %x); compare them with go version -m and cmp -l",
			len(a), len(b), at, sha256.Sum256(a), sha256.Sum256(b))
	}
	out, err := exec.Command(filepath.Join(first, "dist", "keytool-linux-amd64"), "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "keytool ") || !strings.Contains(string(out), "built with go1.") {
		t.Errorf("keytool --version: %v\n%s", err, out)
	}
	t.Logf("keytool for linux/amd64: %d bytes, the same in both folders", len(builds[0]))
}

// copySource copies the source as it is in this checkout, committed or not (git's files and the
// new ones it does not ignore), into dir, with each file's mode and time, and no .git: a copy
// as scripts/release sees one outside git. node_modules is linked, not copied; with the times
// kept, scripts/deps finds it up to date and never installs into the checkout's.
func copySource(t *testing.T, dir string) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	list, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files in %s: %v; the release tests copy the source as git lists it", root, err)
	}
	for _, name := range strings.Split(strings.TrimSuffix(string(list), "\x00"), "\x00") {
		from := filepath.Join(root, name)
		info, err := os.Lstat(from)
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		to := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, raw, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(to, info.ModTime(), info.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules")); err == nil {
		if err := os.Symlink(filepath.Join(root, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// release runs scripts/release in src with the given settings over the test's environment.
func release(t *testing.T, src string, env []string, targets ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(src, "scripts", "release"), targets...)
	cmd.Dir = src
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "HUGO_ENVIRONMENT", "SOURCE_DATE_EPOCH", "VERSION", "RELEASE_TRIAL":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release %s in %s: %v\n%s", strings.Join(targets, " "), src, err, out)
	}
}
