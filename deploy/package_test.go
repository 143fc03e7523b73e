package deploy

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// packageEpoch is the SOURCE_DATE_EPOCH of the test's package: 2026-01-01 00:00 UTC.
const packageEpoch = 1767225600

// entry is one line of dpkg-deb --contents.
type entry struct{ mode, owner string }

// The package as an operator gets it, built by make package's own script from a copy of the
// source with a production environment whose staff keys the test makes with keytool keygen.
// dpkg-deb reads it: every path with its owner and mode, the control fields, the conffiles,
// the maintainer scripts (run with every system command replaced by one that only notes its
// arguments), and the drop box in it starts with the configuration beside it, as its unit runs it.
func TestThePackage(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: it is part of every Debian system", tool)
		}
	}
	if _, err := os.Stat("complaints.torrc"); err != nil {
		t.Fatalf("deploy/complaints.torrc, tor's snippet that the package installs, is missing: %v", err)
	}
	src := copySource(t, filepath.Join(t.TempDir(), "src"))
	orgs := productionKeys(t, src)
	release(t, src, []string{"SOURCE_DATE_EPOCH=" + fmt.Sprint(packageEpoch), "VERSION=1.2.3"}, "deb/amd64")
	deb := filepath.Join(src, "dist", "complaints-dropbox_1.2.3_amd64.deb")

	t.Run("contents", func(t *testing.T) {
		contents := debContents(t, deb)
		want := map[string]entry{
			"./usr/bin/complaints-dropbox":                              {"-rwxr-xr-x", "root/root"},
			"./lib/systemd/system/complaints-dropbox.service":           {"-rw-r--r--", "root/root"},
			"./etc/tor/torrc.d/complaints-dropbox.conf":                 {"-rw-r--r--", "root/root"},
			"./etc/complaints/":                                         {"drwxr-x---", "root/complaints"},
			"./etc/complaints/config.toml":                              {"-rw-r-----", "root/complaints"},
			"./etc/complaints/server.toml":                              {"-rw-r-----", "root/complaints"},
			"./etc/complaints/config/production/params.toml":            {"-rw-r-----", "root/complaints"},
			"./var/lib/complaints/":                                     {"drwx------", "complaints/complaints"},
			"./usr/share/doc/complaints-dropbox/README.md":              {"-rw-r--r--", "root/root"},
			"./usr/share/doc/complaints-dropbox/":                       {"drwxr-xr-x", "root/root"},
			"./etc/complaints/keys/":                                    {"drwxr-x---", "root/complaints"},
			"./etc/complaints/config/":                                  {"drwxr-x---", "root/complaints"},
			"./etc/complaints/config/production/":                       {"drwxr-x---", "root/complaints"},
			"./etc/complaints/keys/kok-staff.pub.asc":                   {"-rw-r-----", "root/complaints"},
			"./etc/complaints/keys/mk-act-staff.pub.asc":                {"-rw-r-----", "root/complaints"},
			"./etc/complaints/keys/kinderrechtencoalitie-staff.pub.asc": {"-rw-r-----", "root/complaints"},
			"./usr/share/doc/complaints-dropbox/operations.md":          {"-rw-r--r--", "root/root"},
			"./usr/share/doc/complaints-dropbox/transfer.md":            {"-rw-r--r--", "root/root"},
		}
		if len(orgs) != 3 {
			t.Fatalf("the test keys %d organisations; want lists three keys", len(orgs))
		}
		for path, w := range want {
			got, ok := contents[path]
			if !ok {
				t.Errorf("the package lacks %s", path)
			} else if got != w {
				t.Errorf("%s is %s %s, want %s %s", path, got.mode, got.owner, w.mode, w.owner)
			}
		}
		// Nothing else under /etc/complaints, and no private key anywhere.
		for path, got := range contents {
			if strings.HasPrefix(path, "./etc/complaints/") {
				if _, ok := want[path]; !ok {
					t.Errorf("the package holds %s (%s %s), which it should not", path, got.mode, got.owner)
				}
			}
			if strings.HasSuffix(path, ".key.asc") {
				t.Errorf("the package holds a private key: %s", path)
			}
		}
	})

	root := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	control := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", deb, control).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}

	t.Run("files as in the source", func(t *testing.T) {
		for installed, source := range map[string]string{
			"lib/systemd/system/complaints-dropbox.service": "complaints-dropbox.service",
			"etc/tor/torrc.d/complaints-dropbox.conf":       "complaints.torrc",
			"etc/complaints/server.toml":                    "debian/server.toml",
			"etc/complaints/config.toml":                    "../config.toml",
			"usr/share/doc/complaints-dropbox/README.md":    "../README.md",
		} {
			sameFile(t, filepath.Join(root, installed), source)
		}
		for _, o := range orgs {
			sameFile(t, filepath.Join(root, "etc/complaints/keys", o+"-staff.pub.asc"), filepath.Join(src, "keys", o+"-staff.pub.asc"))
		}
		for _, script := range []string{"postinst", "prerm", "postrm"} {
			sameFile(t, filepath.Join(control, script), filepath.Join("debian", script))
		}
	})

	t.Run("control", func(t *testing.T) {
		info, err := exec.Command("dpkg-deb", "--info", deb).CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg-deb --info: %v\n%s", err, info)
		}
		for _, field := range []string{"Package: complaints-dropbox", "Version: 1.2.3", "Architecture: amd64", "Depends: adduser", "Recommends: tor"} {
			if !regexp.MustCompile(`(?m)^ ` + regexp.QuoteMeta(field) + `$`).Match(info) {
				t.Errorf("dpkg-deb --info lacks %q:\n%s", field, info)
			}
		}
		conffiles, err := os.ReadFile(filepath.Join(control, "conffiles"))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Fields(string(conffiles))
		slices.Sort(got)
		if want := []string{"/etc/complaints/server.toml", "/etc/tor/torrc.d/complaints-dropbox.conf"}; !slices.Equal(got, want) {
			t.Errorf("conffiles are %v, want %v", got, want)
		}
	})

	t.Run("time stamps", func(t *testing.T) {
		// dpkg-deb prints times in TZ; every one is SOURCE_DATE_EPOCH.
		want := time.Unix(packageEpoch, 0).UTC().Format("2006-01-02 15:04")
		cmd := exec.Command("dpkg-deb", "--contents", deb)
		cmd.Env = append(os.Environ(), "TZ=UTC")
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(line); len(f) < 6 || f[3]+" "+f[4] != want {
				t.Errorf("not at %s: %s", want, line)
			}
		}
	})

	t.Run("maintainer scripts", func(t *testing.T) {
		for _, script := range []string{"postinst", "prerm", "postrm"} {
			if out, err := exec.Command("sh", "-n", filepath.Join(control, script)).CombinedOutput(); err != nil {
				t.Errorf("sh -n %s: %v\n%s", script, err, out)
			}
		}
		starts := regexp.MustCompile(`(?m)^(systemctl|deb-systemd-invoke) .*\b(start|restart|enable|reload-or-restart)\b.*$`)

		first := runScript(t, filepath.Join(control, "postinst"), false, "configure", "", "", "")
		for _, want := range []string{
			"adduser --system --group --home /var/lib/complaints --no-create-home --shell /usr/sbin/nologin complaints",
			"install -d -o complaints -g complaints -m 0700 /var/lib/complaints",
			"chown -R root:complaints /etc/complaints",
			"find /etc/complaints -type d -exec chmod 0750 {} +",
			"find /etc/complaints -type f -exec chmod 0640 {} +",
			"systemctl daemon-reload",
		} {
			if !strings.Contains(first.commands, want+"\n") {
				t.Errorf("postinst configure (a first install) did not run %q; it ran:\n%s", want, first.commands)
			}
		}
		if m := starts.FindString(first.commands); m != "" {
			t.Errorf("postinst starts the service on a first install, before the operator has checked the keys: %s", m)
		}
		if !strings.Contains(first.output, "NOT started: check the staff keys first") {
			t.Errorf("postinst does not say that the service is not started, and why:\n%s", first.output)
		}

		upgrade := runScript(t, filepath.Join(control, "postinst"), true, "configure", "1.2.2", "", "")
		if strings.Contains(upgrade.commands, "adduser") {
			t.Errorf("postinst makes the user again on an upgrade:\n%s", upgrade.commands)
		}
		if m := starts.FindString(upgrade.commands); m != "systemctl try-restart complaints-dropbox.service" {
			t.Errorf("on an upgrade, postinst should restart the service only if it runs (try-restart); it ran:\n%s", upgrade.commands)
		}

		if remove := runScript(t, filepath.Join(control, "prerm"), true, "remove", "", "", ""); !strings.Contains(remove.commands, "systemctl stop complaints-dropbox.service\n") {
			t.Errorf("prerm remove does not stop the service; it ran:\n%s", remove.commands)
		}
		if up := runScript(t, filepath.Join(control, "prerm"), true, "upgrade", "1.2.4", "", ""); up.commands != "" {
			t.Errorf("prerm upgrade should leave the service to postinst's restart; it ran:\n%s", up.commands)
		}

		// The state folder of the test, with a complaint in it, stands for /var/lib/complaints.
		state := t.TempDir()
		if err := os.WriteFile(filepath.Join(state, "a-complaint.pgp"), []byte("not collected yet"), 0o600); err != nil {
			t.Fatal(err)
		}
		purge := runScript(t, filepath.Join(control, "postrm"), true, "purge", "", "/var/lib/complaints", state)
		if strings.Contains(purge.commands, state) {
			t.Errorf("postrm purge touches /var/lib/complaints, which may hold complaints not yet collected:\n%s", purge.commands)
		}
		if !strings.Contains(purge.output, state+" is kept") || !strings.Contains(purge.output, "not collected yet") {
			t.Errorf("postrm purge does not say that /var/lib/complaints is kept, and why:\n%s", purge.output)
		}
		// Whatever the branch: no rm (nor anything else that deletes) names the folder.
		raw, err := os.ReadFile(filepath.Join(control, "postrm"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range codeLines(string(raw)) {
			if regexp.MustCompile(`\b(rm|rmdir|find|deluser|userdel)\b.*(/var/lib/complaints|\$HOME|~)`).MatchString(line) {
				t.Errorf("postrm may delete the spool: %s", line)
			}
		}
	})

	t.Run("the drop box starts as its unit runs it", func(t *testing.T) {
		serveAsTheUnit(t, root)
	})
}

// productionKeys gives each organisation of config.toml a staff key made by keytool keygen, in
// src/keys, listed in src/config/production/params.toml: what an operator does before make
// package. It returns the organisations' ids.
func productionKeys(t *testing.T, src string) []string {
	t.Helper()
	keytool := filepath.Join(t.TempDir(), "keytool")
	build := exec.Command("go", "build", "-o", keytool, "./keytool")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./keytool: %v\n%s", err, out)
	}
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("a passphrase for the test's keys only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	orgs := []string{"kok", "mk-act", "kinderrechtencoalitie"}
	var params strings.Builder
	for _, o := range orgs {
		out, err := exec.Command(keytool, "keygen", "--name", o+" Staff", "--out", filepath.Join(src, "keys"), "--passphrase-file", pass).CombinedOutput()
		if err != nil {
			t.Fatalf("keytool keygen: %v\n%s", err, out)
		}
		fmt.Fprintf(&params, "[organisations.%s]\nkeys = [\"keys/%s-staff.pub.asc\"]\n", o, o)
	}
	dir := filepath.Join(src, "config", "production")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "params.toml"), []byte(params.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return orgs
}

// debContents reads dpkg-deb --contents: each path with its mode and owner.
func debContents(t *testing.T, deb string) map[string]entry {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "--contents", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb --contents: %v\n%s", err, out)
	}
	contents := map[string]entry{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb --contents: a line without a path: %q", line)
		}
		contents[f[5]] = entry{f[0], f[1]}
	}
	return contents
}

func sameFile(t *testing.T, got, want string) {
	t.Helper()
	a, err := os.ReadFile(got)
	if err != nil {
		t.Error(err)
		return
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Error(err)
		return
	}
	if !bytes.Equal(a, b) {
		t.Errorf("the package's %s differs from %s", got, want)
	}
}

// ran is what a maintainer script did: the commands it ran, one a line, and what it printed.
type ran struct{ commands, output string }

// runScript runs a maintainer script as dpkg would, with its action and version, but with every
// command it may run replaced by one that notes its arguments and does nothing, systemd's folder
// (/run/systemd/system, there when systemd runs) replaced by one of the test's, and one more path
// (from) by another (to) when from is not empty. Only cat is real, for the messages; any other
// command fails as not found, so a script that starts doing something new fails here first.
func runScript(t *testing.T, script string, userExists bool, action, version, from, to string) ran {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	systemd := filepath.Join(dir, "run-systemd-system")
	log := filepath.Join(dir, "commands")
	for _, d := range []string{bin, systemd} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	getent := 2 // no such user
	if userExists {
		getent = 0
	}
	for _, name := range []string{"adduser", "getent", "install", "chown", "chmod", "find", "systemctl", "rm", "rmdir", "deb-systemd-helper", "deb-systemd-invoke", "deluser", "userdel"} {
		status := 0
		if name == "getent" {
			status = getent
		}
		stub := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >>%q\nexit %d\n", name, log, status)
		if err := os.WriteFile(filepath.Join(bin, name), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cat, filepath.Join(bin, "cat")); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	patched := filepath.Join(dir, filepath.Base(script))
	raw = bytes.ReplaceAll(raw, []byte("/run/systemd/system"), []byte(systemd))
	if from != "" {
		raw = bytes.ReplaceAll(raw, []byte(from), []byte(to))
	}
	if err := os.WriteFile(patched, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", patched, action, version)
	cmd.Env = []string{"PATH=" + bin, "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s %s: %v\n%s", filepath.Base(script), action, version, err, out)
	}
	commands, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return ran{string(commands), string(out)}
}

// codeLines are a shell script's lines without comments and without the text of here-documents,
// where words are only words.
func codeLines(script string) []string {
	var out []string
	end := ""
	for _, line := range strings.Split(script, "\n") {
		if end != "" {
			if strings.TrimSpace(line) == end {
				end = ""
			}
			continue
		}
		if m := regexp.MustCompile(`<<-?\s*'?"?(\w+)`).FindStringSubmatch(line); m != nil {
			end = m[1]
		}
		if code := strings.TrimSpace(line); code != "" && !strings.HasPrefix(code, "#") {
			out = append(out, code)
		}
	}
	return out
}

// serveAsTheUnit runs the packaged drop box with the unit's ExecStart, its paths moved into the
// unpacked package at root, and folders and port of the test's added after: it refuses to start
// unless the configuration the package installs holds exactly the staff keys of the site inside
// the binary.
func serveAsTheUnit(t *testing.T, root string) {
	t.Helper()
	unitText, err := os.ReadFile(filepath.Join(root, "lib/systemd/system/complaints-dropbox.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindSubmatch(unitText)
	if m == nil {
		t.Fatal("the unit has no ExecStart")
	}
	args := strings.Fields(string(m[1]))
	for i, a := range args {
		var parts []string
		for _, p := range strings.Split(a, ",") {
			if strings.HasPrefix(p, "/") {
				if _, err := os.Stat(filepath.Join(root, p)); err != nil {
					t.Fatalf("the unit's ExecStart names %s, which the package does not install", p)
				}
				p = filepath.Join(root, p)
			}
			parts = append(parts, p)
		}
		args[i] = strings.Join(parts, ",")
	}
	state := t.TempDir()
	over := filepath.Join(t.TempDir(), "test.toml")
	if err := os.WriteFile(over, []byte(fmt.Sprintf("[params.dropbox]\nspool = %q\nanswers = %q\n", filepath.Join(state, "spool"), filepath.Join(state, "answers"))), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	args = append(args, "--config", over, "--listen", addr)
	cmd := exec.Command(args[0], args[1:]...)
	logFile := filepath.Join(t.TempDir(), "log")
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	logged := func() string { raw, _ := os.ReadFile(logFile); return string(raw) }
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the packaged drop box, run as its unit runs it (%s), stopped: %v\n%s", strings.Join(args, " "), err, logged())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("the packaged drop box did not answer /healthz in 30 s:\n%s", logged())
}
