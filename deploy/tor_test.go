package deploy

import (
	"bytes"
	"crypto/sha3"
	"encoding/base32"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/internal/config"
)

// The snippet as shipped, and Debian's defaults that its tor unit reads before /etc/tor/torrc.
const (
	torSnippet      = "complaints.torrc"
	debianTorrcBase = "/usr/share/tor/tor-service-defaults-torrc"
)

// installedAs is each snippet's name in /etc/tor/torrc.d/, as its comments install it.
var installedAs = map[string]string{
	torSnippet:   "complaints-dropbox.conf",
	adminSnippet: "complaints-admin-ssh.conf",
}

// anonymityBreakers are the options no snippet may set (tor reads option names in any case), and
// what each would do.
var anonymityBreakers = map[string]string{
	"HiddenServiceNonAnonymousMode": "makes the server's address findable",
	"HiddenServiceSingleHopMode":    "makes the server's address findable",
	"HiddenServiceExportCircuitID":  "hands the drop box an id per circuit: a link between one person's requests",
	"HiddenServiceDirGroupReadable": "lets a group read the service's private key",
}

// firefoxConnections is the most connections Firefox ESR, Tor Browser's engine, opens to one
// host: network.http.max-persistent-connections-per-server (6) and
// max-urgent-start-excessive-connections-per-host (3). A stream limit below it would close a
// person's circuit, and their upload with it.
const firefoxConnections = 6 + 3

// torStartLimit bounds the wait for tor to make the service's keys: it takes well under a second.
const torStartLimit = 30 * time.Second

// Debian's tor unit checks its configuration with --verify-config before it starts tor; this is
// that command on the snippet, included from a torrc as the operator's guide says, with Debian's
// defaults, and only the data folder and the service's folder moved into the test's.
func TestTorAcceptsTheSnippet(t *testing.T) { checkTorAccepts(t, torSnippet) }

// checkTorAccepts runs Debian's check on the snippets, all included from one torrc.
func checkTorAccepts(t *testing.T, snippets ...string) {
	t.Helper()
	tor := torBinary(t)
	if _, err := os.Stat(debianTorrcBase); err != nil {
		t.Fatalf("%s is missing: install Debian's tor (make deps does)", debianTorrcBase)
	}
	dir := t.TempDir()
	torrc, _ := movedSnippets(t, dir, snippets...)
	names := strings.Join(snippets, " and ")
	// Debian's defaults run tor as debian-tor, which then insists on owning the data folder;
	// --User "" keeps tor as the test's user, whose t.TempDir() that folder is.
	out, err := exec.Command(tor, "--defaults-torrc", debianTorrcBase, "-f", torrc,
		"--RunAsDaemon", "0", "--verify-config",
		"--DataDirectory", filepath.Join(dir, "data"), "--User", "").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Configuration was valid")) {
		t.Fatalf("tor --verify-config refuses %s (%v):\n%s", names, err, out)
	}
	if w := torWarnings(out); len(w) > 0 {
		t.Errorf("tor --verify-config warns about %s:\n%s", names, strings.Join(w, "\n"))
	}
}

// Tor starts on the snippet and makes the onion service: its keys, in a folder only tor's user
// may read, and a v3 address for the public key it holds. There is no network here and tor is
// told to use none; it makes the keys all the same, before it would publish anything. It binds
// nothing: no SOCKS or control port, no network.
func TestTorStartsTheOnionService(t *testing.T) {
	tor := torBinary(t)
	dir := t.TempDir()
	torrc, services := movedSnippets(t, dir, torSnippet)
	service := services[0]
	// Running as root, tor warns and goes on; --User would need the test's folders to belong
	// to that user.
	run := startTor(t, dir, torrc, "--DataDirectory", filepath.Join(dir, "data"))
	hostname := run.waitForFile(t, filepath.Join(service, "hostname"))

	checkOnionAddress(t, hostname, filepath.Join(service, "hs_ed25519_public_key"))
	if info, err := os.Stat(service); err != nil {
		t.Error(err)
	} else if info.Mode().Perm() != 0o700 {
		t.Errorf("tor made the service's folder %s mode %o; only tor's user may read it (0700)", service, info.Mode().Perm())
	}
	if info, err := os.Stat(filepath.Join(service, "hs_ed25519_secret_key")); err != nil {
		t.Error(err)
	} else if info.Mode().Perm()&0o077 != 0 {
		t.Errorf("the service's private key is mode %o; only tor's user may read it", info.Mode().Perm())
	}

	run.stop(t)

	// What the running tor applied, in its own words, is what the snippet says.
	opts := torOptions(t, torSnippet)
	log := run.log()
	for _, line := range []string{
		"Service PoW defenses are enabled",
		"Service PoW queue rate set to: " + opts.value("HiddenServicePoWQueueRate"),
		"Service PoW queue burst set to: " + opts.value("HiddenServicePoWQueueBurst"),
		"Service INTRO2 DoS defenses rate set to: " + opts.value("HiddenServiceEnableIntroDoSRatePerSec"),
		"Service INTRO2 DoS defenses burst set to: " + opts.value("HiddenServiceEnableIntroDoSBurstPerSec"),
	} {
		if !strings.Contains(log, line) {
			t.Errorf("tor's log lacks %q: the running tor did not apply the snippet's setting, or tor %s words it differently:\n%s", line, torVersion(tor), log)
		}
	}
	if w := torWarnings([]byte(log)); len(w) > 0 {
		t.Errorf("tor warned while running the snippet:\n%s", strings.Join(w, "\n"))
	}
}

// The settings the service's safety rests on are in the file, with values that do what its
// comments say, and nothing in it weakens the service's anonymity or changes the rest of the
// machine's tor.
func TestTheSnippetKeepsTheServiceAnonymous(t *testing.T) {
	opts := torOptions(t, torSnippet)
	opts.checkServiceOnly(t, torSnippet)
	for name, want := range map[string]int{
		"HiddenServiceVersion":                3,
		"HiddenServicePoWDefensesEnabled":     1,
		"HiddenServiceEnableIntroDoSDefense":  1,
		"HiddenServiceMaxStreamsCloseCircuit": 1,
	} {
		if got := opts.value(name); got != strconv.Itoa(want) {
			t.Errorf("%s: %s is %q, want %d", torSnippet, name, got, want)
		}
	}

	cfg, err := config.Load([]string{"../config.toml"}, config.Environment())
	if err != nil {
		t.Fatal(err)
	}
	// One port, to where the drop box listens: nothing else on the machine is reachable through
	// the onion address.
	if n := opts.count("HiddenServicePort"); n != 1 {
		t.Errorf("%s has %d HiddenServicePort lines; want one, to the drop box", torSnippet, n)
	}
	if port := strings.Fields(opts.value("HiddenServicePort")); len(port) != 2 || port[0] != "80" || port[1] != cfg.Dropbox.Listen {
		t.Errorf("HiddenServicePort is %q; want 80 to the drop box's listen address in config.toml, %s", opts.value("HiddenServicePort"), cfg.Dropbox.Listen)
	}
	if host, _, err := net.SplitHostPort(cfg.Dropbox.Listen); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Errorf("config.toml's listen is %q; the drop box must listen on loopback only, with the onion service its only way in", cfg.Dropbox.Listen)
	}

	// 0 means no limit for each of these.
	positive := func(name string) int {
		n, err := strconv.Atoi(opts.value(name))
		if err != nil || n < 1 {
			t.Errorf("%s is %q; want a limit of at least 1 (0 is none)", name, opts.value(name))
		}
		return n
	}
	queueRate, introRate := positive("HiddenServicePoWQueueRate"), positive("HiddenServiceEnableIntroDoSRatePerSec")
	positive("HiddenServicePoWQueueBurst")
	positive("HiddenServiceEnableIntroDoSBurstPerSec")
	points := positive("HiddenServiceNumIntroductionPoints")
	if introRate*points <= queueRate {
		t.Errorf("the introduction points pass %d × %d = %d requests a second, no more than the proof-of-work queue dispatches (%d): the queue never fills, and no puzzle ever counts", points, introRate, introRate*points, queueRate)
	}
	streams := positive("HiddenServiceMaxStreams")
	if streams < firefoxConnections {
		t.Errorf("HiddenServiceMaxStreams %d is below the %d connections Tor Browser opens to one site: its circuit, and a person's upload, would be closed", streams, firefoxConnections)
	}
	if streams >= cfg.Dropbox.MaxUploads {
		t.Errorf("HiddenServiceMaxStreams %d lets one circuit hold all of the drop box's %d upload places (max_uploads)", streams, cfg.Dropbox.MaxUploads)
	}
}

// torOption is one line of a torrc: an option and its value.
type torOption struct{ name, value string }

type torOptionList []torOption

// torOptions reads a snippet as tor does: a # starts a comment, the first word is the option,
// the rest its value; a leading + or / (append, clear) is not part of the name.
func torOptions(t *testing.T, snippet string) torOptionList {
	t.Helper()
	raw, err := os.ReadFile(snippet)
	if err != nil {
		t.Fatal(err)
	}
	var opts torOptionList
	for _, line := range strings.Split(string(raw), "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			t.Fatalf("%s continues a line with \\; keep each option on one line so that it is read as tor reads it", snippet)
		}
		name, value, _ := strings.Cut(line, " ")
		opts = append(opts, torOption{strings.TrimLeft(name, "+/"), strings.TrimSpace(value)})
	}
	return opts
}

func (l torOptionList) count(name string) int {
	n := 0
	for _, o := range l {
		if strings.EqualFold(o.name, name) {
			n++
		}
	}
	return n
}

func (l torOptionList) has(name string) bool { return l.count(name) > 0 }

// checkServiceOnly fails the test if a snippet sets an option of the whole tor, sets one that
// weakens its service's anonymity, or is not one service in Debian's tor's folder.
func (l torOptionList) checkServiceOnly(t *testing.T, snippet string) {
	t.Helper()
	for _, o := range l {
		if !strings.HasPrefix(strings.ToLower(o.name), "hiddenservice") {
			t.Errorf("%s sets %s, an option of the whole tor: the snippet may set only its own service's options, so that Debian's tor keeps doing what else it does", snippet, o.name)
		}
	}
	for name, why := range anonymityBreakers {
		if l.has(name) {
			t.Errorf("%s sets %s, which %s", snippet, name, why)
		}
	}
	if n := l.count("HiddenServiceDir"); n != 1 {
		t.Errorf("%s has %d HiddenServiceDir lines; want one service", snippet, n)
	}
	if dir := l.value("HiddenServiceDir"); !strings.HasPrefix(dir, "/var/lib/tor/") {
		t.Errorf("%s: HiddenServiceDir is %q; Debian's tor may keep it only under /var/lib/tor/", snippet, dir)
	}
}

// value is the option's last value, the one tor keeps.
func (l torOptionList) value(name string) string {
	v := ""
	for _, o := range l {
		if strings.EqualFold(o.name, name) {
			v = o.value
		}
	}
	return v
}

// movedSnippets writes the snippets into dir/torrc.d/, each with its HiddenServiceDir moved into
// dir, a torrc that includes them as the operator's /etc/tor/torrc does, and a data folder,
// dir/data. It returns that torrc and the services' folders, which tor must make itself.
func movedSnippets(t *testing.T, dir string, snippets ...string) (torrc string, services []string) {
	t.Helper()
	torrc = torTree(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, snippet := range snippets {
		services = append(services, installSnippet(t, snippet, filepath.Join(dir, "torrc.d"), dir))
	}
	return torrc, services
}

// torTree makes dir/torrc.d/ and dir/torrc, which includes that folder's *.conf files as the
// operator's /etc/tor/torrc does, and returns the torrc.
func torTree(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, "torrc.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	torrc := filepath.Join(dir, "torrc")
	include := "%include " + filepath.Join(dir, "torrc.d", "*.conf") + "\n"
	if err := os.WriteFile(torrc, []byte(include), 0o644); err != nil {
		t.Fatal(err)
	}
	return torrc
}

// installSnippet writes a snippet into torrcD under the name its comments give it, with its
// HiddenServiceDir moved from /var/lib/tor/ into varLibTor, and returns the service's folder.
func installSnippet(t *testing.T, snippet, torrcD, varLibTor string) string {
	t.Helper()
	raw, err := os.ReadFile(snippet)
	if err != nil {
		t.Fatal(err)
	}
	serviceDir := regexp.MustCompile(`(?m)^HiddenServiceDir /var/lib/tor/([^/\s]+)/?$`)
	m := serviceDir.FindAllSubmatch(raw, -1)
	if len(m) != 1 {
		t.Fatalf("%s needs one line HiddenServiceDir /var/lib/tor/<name>/; it has %d", snippet, len(m))
	}
	service := filepath.Join(varLibTor, string(m[0][1]))
	moved := serviceDir.ReplaceAllLiteral(raw, []byte("HiddenServiceDir "+service+"/"))
	if err := os.WriteFile(filepath.Join(torrcD, installedAs[snippet]), moved, 0o644); err != nil {
		t.Fatal(err)
	}
	return service
}

// torProcess is a tor the test started, and the file its log goes to.
type torProcess struct {
	cmd     *exec.Cmd
	exited  chan error
	stopped bool
	logFile string
	started time.Time
}

// startTor runs tor on torrc with no network, no SOCKS or control port, and the log at info
// level, where tor says what it applied, in a file of its own in dir. Not with Debian's defaults:
// they would write /run/tor and open Debian's SOCKS ports. The test stops it if it has not.
func startTor(t *testing.T, dir, torrc string, options ...string) *torProcess {
	t.Helper()
	defaults := filepath.Join(dir, "no-defaults")
	if err := os.WriteFile(defaults, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	logOut, err := os.CreateTemp(dir, "tor-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logOut.Close()
	args := append([]string{"--defaults-torrc", defaults, "-f", torrc,
		"--SocksPort", "0", "--ControlPort", "0", "--DisableNetwork", "1",
		"--Log", "info stdout",
		"--__OwningControllerProcess", strconv.Itoa(os.Getpid())}, // gone with the test, if killed
		options...)
	p := &torProcess{cmd: exec.Command(torBinary(t), args...), exited: make(chan error, 1), logFile: logOut.Name()}
	p.cmd.Stdout, p.cmd.Stderr = logOut, logOut
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.stopped {
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *torProcess) log() string { b, _ := os.ReadFile(p.logFile); return string(b) }

// waitForFile waits until tor has written the file, and returns what it holds.
func (p *torProcess) waitForFile(t *testing.T, path string) []byte {
	t.Helper()
	tick, limit := time.NewTicker(20*time.Millisecond), time.After(torStartLimit)
	defer tick.Stop()
	for {
		select {
		case err := <-p.exited:
			p.stopped = true
			t.Fatalf("tor stopped before it wrote %s (%v):\n%s", path, err, p.log())
		case <-limit:
			t.Fatalf("tor wrote no %s within %s of starting:\n%s", path, torStartLimit, p.log())
		case <-tick.C:
			if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
				t.Logf("tor wrote %s %s after it started", filepath.Join(filepath.Base(filepath.Dir(path)), filepath.Base(path)), time.Since(p.started).Round(time.Millisecond))
				return b
			}
		}
	}
}

// stop stops tor as systemd does, with SIGTERM.
func (p *torProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		p.stopped = true
	case <-time.After(10 * time.Second):
		t.Fatalf("tor did not stop within 10 s of SIGTERM:\n%s", p.log())
	}
}

// checkOnionAddress checks a hostname file against the v3 address format (rend-spec-v3,
// "Encoding onion addresses"): base32 of the service's ed25519 public key, a two-byte checksum
// and the version 3, and that the key is the one tor keeps in the folder.
func checkOnionAddress(t *testing.T, hostname []byte, publicKeyFile string) {
	t.Helper()
	address := strings.TrimSpace(string(hostname))
	if !regexp.MustCompile(`^[a-z2-7]{56}\.onion$`).MatchString(address) {
		t.Fatalf("hostname is %q; a v3 address is 56 base32 characters and .onion", address)
	}
	raw, err := base32.StdEncoding.DecodeString(strings.ToUpper(strings.TrimSuffix(address, ".onion")))
	if err != nil {
		t.Fatal(err)
	}
	key, checksum, version := raw[:32], raw[32:34], raw[34]
	sum := sha3.Sum256(append(append([]byte(".onion checksum"), key...), version))
	if version != 3 || !bytes.Equal(checksum, sum[:2]) {
		t.Errorf("%s: version %d, checksum %x (want 3 and %x)", address, version, checksum, sum[:2])
	}
	// The key file is a 32-byte header, "== ed25519v1-public: type0 ==" and padding, then the key.
	file, err := os.ReadFile(publicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(file) != 64 || !bytes.HasPrefix(file, []byte("== ed25519v1-public: type0 ==")) || !bytes.Equal(file[32:], key) {
		t.Errorf("%s is not the address of the key in %s", address, publicKeyFile)
	}
}

// torWarnings are tor's [warn] and [err] lines, but for two about how the test runs it, not
// about the snippet: as root, which the test may be and Debian's tor is not (it runs as
// debian-tor), and at the info level, which the test reads and a server should not keep.
func torWarnings(out []byte) []string {
	var w []string
	for _, line := range strings.Split(string(out), "\n") {
		if (strings.Contains(line, "[warn]") || strings.Contains(line, "[err]")) &&
			!strings.Contains(line, "You are running Tor as root") &&
			!strings.Contains(line, "you're logging more than \"notice\"") {
			w = append(w, line)
		}
	}
	return w
}

func torBinary(t *testing.T) string {
	t.Helper()
	tor, err := exec.LookPath("tor")
	if err != nil {
		t.Fatal("tor is missing: install Debian's tor (make deps does)")
	}
	return tor
}

func torVersion(tor string) string {
	out, _ := exec.Command(tor, "--version").Output()
	first, _, _ := strings.Cut(string(out), "\n")
	return fmt.Sprintf("(%s)", strings.TrimSpace(first))
}
