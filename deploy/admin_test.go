package deploy

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base32"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// adminSnippet is the operator's SSH service; its comments are the operator's steps.
const adminSnippet = "admin-ssh.torrc"

// Tor's own words, at info level, for a service's folder and for an .auth file it took.
// load_client_keys is the service's side; the client's side loads .auth_private files in
// hs_config_client_authorization.
const (
	serviceKeysLine = `hs_service_load_all_keys(): Loading v3 onion service keys from "`
	authLoadedLine  = "load_client_keys(): Loaded a client authorization key file "
	clientAuthLine  = "hs_config_client_authorization(): Loaded a client authorization key file "
)

// The operator will have both services in one tor: Debian's check takes them together.
func TestTorAcceptsBothSnippets(t *testing.T) { checkTorAccepts(t, torSnippet, adminSnippet) }

// The SSH service maps port 22 and nothing else, weakens nothing, and is a service of its own;
// the public service never maps SSH.
func TestTheAdminSnippetOffersOnlySSH(t *testing.T) {
	admin, public := torOptions(t, adminSnippet), torOptions(t, torSnippet)
	admin.checkServiceOnly(t, adminSnippet)
	if v := admin.value("HiddenServiceVersion"); v != "3" {
		t.Errorf("%s: HiddenServiceVersion is %q; client authorization by .auth files is v3's", adminSnippet, v)
	}
	if n := admin.count("HiddenServicePort"); n != 1 {
		t.Errorf("%s has %d HiddenServicePort lines; want one, to sshd", adminSnippet, n)
	}
	if v := admin.value("HiddenServicePort"); v != "22 127.0.0.1:22" {
		t.Errorf("%s: HiddenServicePort is %q; want 22 to sshd on loopback, 127.0.0.1:22", adminSnippet, v)
	}
	a := strings.TrimSuffix(admin.value("HiddenServiceDir"), "/") + "/"
	p := strings.TrimSuffix(public.value("HiddenServiceDir"), "/") + "/"
	if strings.HasPrefix(a, p) || strings.HasPrefix(p, a) {
		t.Errorf("the SSH service's folder %s and the public one's %s overlap: one folder is one service, so SSH would be on the public address or its .auth files would lock the public out", a, p)
	}
	for _, o := range public {
		if !strings.EqualFold(o.name, "HiddenServicePort") {
			continue
		}
		// HiddenServicePort VIRTPORT [TARGET]: without a target, tor uses the same port.
		port := strings.Fields(o.value)
		target := port[len(port)-1]
		if port[0] == "22" || target == "22" || strings.HasSuffix(target, ":22") {
			t.Errorf("%s maps %q: SSH on the public address, open to everyone who has it", torSnippet, o.value)
		}
	}
}

// The operator's steps, run as written in the snippet, on the drop box's running tor as Debian
// runs it (started by root, then debian-tor): the key pair, the .auth file in its place, the
// snippet added and tor reloaded; then a restart with both services, as after a reboot, and with
// the operator's .auth_private file in the ClientOnionAuthDir of the same tor, standing in for the
// operator's own. Tor says at info level which .auth files a service took: that line, in the
// admin service's part of the log and in no other, is the proof that client authorization is on.
// There is no network, so no descriptor is published or fetched.
func TestTorRunsTheAdminServiceWithClientAuthorization(t *testing.T) {
	dir, varLibTor := debianTorTree(t)
	torrc, torrcD := torTree(t, dir), filepath.Join(dir, "torrc.d")
	public := installSnippet(t, torSnippet, torrcD, varLibTor)
	admin := filepath.Join(varLibTor, adminServiceName(t))
	steps := operatorSteps(t)
	asDebian := []string{"--DataDirectory", varLibTor, "--User", "debian-tor"}

	// The drop box as it runs before the operator adds SSH.
	run := startTor(t, dir, torrc, asDebian...)
	publicHostname := run.waitForFile(t, filepath.Join(public, "hostname"))
	// Tor takes SIGHUP from when it says this; systemd reloads it only after tor says it is ready,
	// later still.
	run.waitForLog(t, "Bootstrapped 0%")

	// Steps 1 to 3: the key pair on the operator's computer, the .auth file on the server, then
	// the snippet and `systemctl reload tor`, which is SIGHUP (Debian's tor@default.service).
	operator := filepath.Join(dir, "operator")
	if err := os.Mkdir(operator, 0o700); err != nil {
		t.Fatal(err)
	}
	runSteps(t, operator, varLibTor, steps.keys)
	auth, err := os.ReadFile(filepath.Join(operator, "operator.auth"))
	if err != nil {
		t.Fatalf("step 1 made no operator.auth: %v", err)
	}
	if !regexp.MustCompile(`^descriptor:x25519:[A-Z2-7]{52}\n$`).Match(auth) {
		t.Fatalf("step 1 made operator.auth %q; tor takes one line descriptor:x25519:<52 base32 characters>", auth)
	}
	runSteps(t, operator, varLibTor, steps.server)
	authFile := filepath.Join(admin, "authorized_clients", "operator.auth")
	checkTorOwns(t, admin, 0o700)
	checkTorOwns(t, filepath.Dir(authFile), 0o700)
	checkTorOwns(t, authFile, 0o600)
	installSnippet(t, adminSnippet, torrcD, varLibTor)
	if err := run.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	adminHostname := run.waitForFile(t, filepath.Join(admin, "hostname"))
	// Tor handles one signal at a time: by the time it takes SIGTERM it has finished the reload
	// that wrote the hostname, and logged all of it.
	run.stop(t)
	checkClientAuthorization(t, run.log(), admin, public, "operator.auth")
	if w := torWarnings([]byte(run.log())); len(w) > 0 {
		t.Errorf("tor warned while the operator added the SSH service:\n%s", strings.Join(w, "\n"))
	}

	// Step 4: the .auth_private file for the operator's own tor, the other half of the same pair.
	address := strings.TrimSuffix(strings.TrimSpace(string(adminHostname)), ".onion")
	runSteps(t, operator, varLibTor, steps.client(address))
	private, err := os.ReadFile(filepath.Join(operator, "admin-ssh.auth_private"))
	if err != nil {
		t.Fatalf("step 4 made no admin-ssh.auth_private: %v", err)
	}
	m := regexp.MustCompile(`^([a-z2-7]{56}):descriptor:x25519:([A-Z2-7]{52})\n$`).FindSubmatch(private)
	if m == nil || string(m[1]) != address {
		t.Fatalf("step 4 made admin-ssh.auth_private %q; tor takes one line <address without .onion>:descriptor:x25519:<52 base32 characters>, here for %s", private, address)
	}
	if got, want := x25519Public(t, string(m[2])), strings.TrimPrefix(strings.TrimSpace(string(auth)), "descriptor:x25519:"); got != want {
		t.Errorf("the private key in admin-ssh.auth_private belongs to the public key %s, not to the one in operator.auth, %s: the operator's tor could not open the service's descriptor", got, want)
	}
	onionAuth := filepath.Join(varLibTor, "onion-auth")
	checkTorOwns(t, onionAuth, 0o700)
	checkTorOwns(t, filepath.Join(onionAuth, "admin-ssh.auth_private"), 0o600)

	// After a reboot: both services from the start, each with the address it had.
	run = startTor(t, dir, torrc, append(asDebian, "--ClientOnionAuthDir", onionAuth)...)
	run.waitForLog(t, "Bootstrapped 0%")
	run.stop(t)
	log := run.log()
	for _, s := range []struct {
		service string
		before  []byte
	}{{public, publicHostname}, {admin, adminHostname}} {
		now, err := os.ReadFile(filepath.Join(s.service, "hostname"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(now, s.before) {
			t.Errorf("%s's address changed from %s to %s on restart", s.service, s.before, now)
		}
		checkOnionAddress(t, now, filepath.Join(s.service, "hs_ed25519_public_key"))
	}
	if bytes.Equal(publicHostname, adminHostname) {
		t.Errorf("both services have the address %s", publicHostname)
	}
	checkClientAuthorization(t, log, admin, public, "operator.auth")
	if !strings.Contains(log, clientAuthLine+"admin-ssh.auth_private.") {
		t.Errorf("tor, as the operator's client, did not take admin-ssh.auth_private from its ClientOnionAuthDir:\n%s", log)
	}
	if w := torWarnings([]byte(log)); len(w) > 0 {
		t.Errorf("tor warned while running both services:\n%s", strings.Join(w, "\n"))
	}
}

// The two likely slips in step 2, each on the operator's own key: a file copied as root (mode
// 0600, owner root, which debian-tor cannot read) and one made without `tr -d =`. Tor skips both
// with a warning and takes none: the service would then have no client authorization. This is what
// the comment's warning is for, and the proof that the log line the test above looks for can be
// missing.
func TestTorSkipsAuthFilesItCannotUse(t *testing.T) {
	dir, varLibTor := debianTorTree(t)
	torrc, torrcD := torTree(t, dir), filepath.Join(dir, "torrc.d")
	public := installSnippet(t, torSnippet, torrcD, varLibTor)
	admin := installSnippet(t, adminSnippet, torrcD, varLibTor)
	steps := operatorSteps(t)
	operator := filepath.Join(dir, "operator")
	if err := os.Mkdir(operator, 0o700); err != nil {
		t.Fatal(err)
	}
	runSteps(t, operator, varLibTor, steps.keys)
	// Step 1's last command without `tr -d =`, and step 2 on its file: tor's owner and mode.
	var padded []string
	for _, c := range append(steps.keys[len(steps.keys)-1:], steps.server...) {
		c = strings.Replace(c, " | tr -d =", "", 1)
		padded = append(padded, strings.ReplaceAll(c, "operator.auth", "padded.auth"))
	}
	runSteps(t, operator, varLibTor, padded)
	clients := filepath.Join(admin, "authorized_clients")
	checkTorOwns(t, filepath.Join(clients, "padded.auth"), 0o600)
	// The right key, copied by root as root copies files.
	good, err := os.ReadFile(filepath.Join(operator, "operator.auth"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clients, "root.auth"), good, 0o600); err != nil {
		t.Fatal(err)
	}

	run := startTor(t, dir, torrc, "--DataDirectory", varLibTor, "--User", "debian-tor")
	run.waitForLog(t, "Bootstrapped 0%")
	run.stop(t)
	log := run.log()
	sections := serviceLog(log, admin)
	if len(sections) == 0 {
		t.Fatalf("tor's log has no part for %s:\n%s", admin, log)
	}
	for _, s := range sections {
		if strings.Contains(s, authLoadedLine) {
			t.Errorf("tor took an .auth file it should have skipped:\n%s", s)
		}
	}
	for _, want := range []string{
		"/authorized_clients/root.auth can't be read",
		"Client authorization encoded base32 public key length is invalid",
	} {
		if !regexp.MustCompile(`\[warn\] .*` + regexp.QuoteMeta(want)).MatchString(log) {
			t.Errorf("tor did not warn %q:\n%s", want, log)
		}
	}
	for _, s := range serviceLog(log, public) {
		if strings.Contains(s, authLoadedLine) {
			t.Errorf("the public service took an .auth file:\n%s", s)
		}
	}
}

// checkClientAuthorization checks, in each part of tor's log that loads the admin service, that
// tor took the .auth file, and that no part for the public service took any.
func checkClientAuthorization(t *testing.T, log, admin, public, authFile string) {
	t.Helper()
	sections := serviceLog(log, admin)
	if len(sections) == 0 {
		t.Errorf("tor's log has no part for %s:\n%s", admin, log)
	}
	for _, s := range sections {
		if !strings.Contains(s, authLoadedLine+authFile+".") {
			t.Errorf("tor loaded the admin service without taking %s: it has no client authorization, and anyone with its address reaches sshd:\n%s", authFile, s)
		}
	}
	for _, s := range serviceLog(log, public) {
		if strings.Contains(s, authLoadedLine) {
			t.Errorf("the public service took an .auth file: the people the drop box is for could not reach it:\n%s", s)
		}
	}
}

// serviceLog returns the parts of tor's log that load one service's keys: each from the line
// naming its folder to the next such line for any service.
func serviceLog(log, service string) []string {
	var parts []string
	start := serviceKeysLine + service + "/\""
	for rest := log; ; {
		i := strings.Index(rest, start)
		if i < 0 {
			return parts
		}
		rest = rest[i+len(start):]
		end := strings.Index(rest, serviceKeysLine)
		if end < 0 {
			end = len(rest)
		}
		parts = append(parts, rest[:end])
	}
}

// adminServiceName is the admin service's folder's name under /var/lib/tor/.
func adminServiceName(t *testing.T) string {
	t.Helper()
	dir := torOptions(t, adminSnippet).value("HiddenServiceDir")
	name, ok := strings.CutPrefix(strings.TrimSuffix(dir, "/"), "/var/lib/tor/")
	if !ok || name == "" || strings.Contains(name, "/") {
		t.Fatalf("%s: HiddenServiceDir is %q; want /var/lib/tor/<name>/", adminSnippet, dir)
	}
	return name
}

// operatorCommands are the commands in the snippet's steps that make and place the keys: the
// lines "#   operator$ ...", "#   operator# ..." and "#   server# ..." of its comments. The rest
// (installing the snippet, reloading, ssh) change this machine or need a network.
type operatorCommands struct {
	keys, server []string // steps 1 and 2
	clientSteps  []string // step 4, with the placeholder line for the address first
}

var addressPlaceholder = regexp.MustCompile(`^address=<[^>]*>$`)

func operatorSteps(t *testing.T) operatorCommands {
	t.Helper()
	raw, err := os.ReadFile(adminSnippet)
	if err != nil {
		t.Fatal(err)
	}
	var c operatorCommands
	command := regexp.MustCompile(`^#\s+(operator[$#]|server#) (.+)$`)
	for _, line := range strings.Split(string(raw), "\n") {
		m := command.FindStringSubmatch(line)
		switch {
		case m == nil:
		case m[1] == "server#":
			if strings.HasPrefix(m[2], "install ") && strings.Contains(m[2], "/var/lib/tor/") {
				c.server = append(c.server, m[2])
			}
		case addressPlaceholder.MatchString(m[2]) || c.clientSteps != nil:
			c.clientSteps = append(c.clientSteps, m[2])
		default:
			c.keys = append(c.keys, m[2])
		}
	}
	if len(c.keys) == 0 || len(c.server) == 0 || len(c.clientSteps) < 2 {
		t.Fatalf("%s's comments lack the operator's commands (lines \"#   operator$ ...\", \"#   server# install ...\", and \"#   operator$ address=<...>\" before the .auth_private file's): found %v", adminSnippet, c)
	}
	return c
}

// client is step 4's commands with the address filled in.
func (c operatorCommands) client(address string) []string {
	return append([]string{"address=" + address}, c.clientSteps[1:]...)
}

// runSteps runs commands as one shell script in dir, as the operator would type them, with
// /var/lib/tor/ moved to the test's stand-in.
func runSteps(t *testing.T, dir, varLibTor string, commands []string) {
	t.Helper()
	script := strings.ReplaceAll(strings.Join(commands, "\n"), "/var/lib/tor/", varLibTor+"/")
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the operator's commands failed (%v):\n%s\n%s", err, script, out)
	}
}

// debianTorTree makes a folder for the test that debian-tor may pass through, and in it the
// stand-in for /var/lib/tor/ as Debian's tor package makes it: debian-tor's, mode 2700. Debian's
// tor starts as root and then becomes debian-tor: only root can run it so.
func debianTorTree(t *testing.T) (dir, varLibTor string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: Debian's tor starts as root and reads the .auth files as debian-tor, which is what this checks")
	}
	torBinary(t)
	uid, gid := debianTor(t)
	dir, err := os.MkdirTemp("", "admin-ssh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	varLibTor = filepath.Join(dir, "lib")
	for _, step := range []error{
		os.Chmod(dir, 0o711),
		os.Mkdir(varLibTor, 0o700),
		os.Chown(varLibTor, uid, gid),
		os.Chmod(varLibTor, 0o700|os.ModeSetgid),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	return dir, varLibTor
}

func debianTor(t *testing.T) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup("debian-tor")
	if err != nil {
		t.Fatal("there is no user debian-tor: install Debian's tor (make deps does)")
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid
}

// checkTorOwns checks that a file or folder is debian-tor's with the mode the steps give it.
func checkTorOwns(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	uid, _ := debianTor(t)
	if st, ok := info.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid {
		t.Errorf("%s is not debian-tor's: Debian's tor, no longer root when it reads it, would skip it", path)
	}
	if info.Mode().Perm() != mode {
		t.Errorf("%s is mode %o; want %o", path, info.Mode().Perm(), mode)
	}
}

// x25519Public is the base32 public key of a base32 X25519 private key, as tor writes both.
func x25519Public(t *testing.T, private string) string {
	t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(private)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key.PublicKey().Bytes())
}

// waitForLog waits until tor's log holds the text.
func (p *torProcess) waitForLog(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(torStartLimit)
	for !strings.Contains(p.log(), text) {
		select {
		case err := <-p.exited:
			p.stopped = true
			t.Fatalf("tor stopped before its log said %q (%v):\n%s", text, err, p.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tor's log did not say %q within %s:\n%s", text, torStartLimit, p.log())
		}
	}
}
