package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/export"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/spool"
	"github.com/safe-complaints/dropbox/site"
)

// testKeys returns the shared staff keys and an outsider's key.
var testKeys = policytest.Staff

type testServer struct {
	url   string
	root  string // the folder of the organisations' spool folders
	spool string // kok's spool folder, where s.post stores
	logs  *syncBuffer
	srv   *server
}

// The paths of kok, the organisation most tests send to.
const (
	kokSubmissions = "/api/v1/orgs/kok/submissions"
	formURL        = "/api/v1/orgs/kok/forms/de/kok-complaints"
)

// testOrganisations declares the site's three organisations as config.toml does, each with its
// own test keys (policytest.Organisations) and its spool folder under cfg.Spool, and opens them
// as the server does at start.
func testOrganisations(t testing.TB, cfg config.Dropbox) (*config.Config, []*organisation) {
	t.Helper()
	if !filepath.IsAbs(cfg.Answers) {
		cfg.Answers = filepath.Join(filepath.Dir(cfg.Spool), "answers")
	}
	conf := &config.Config{Dropbox: cfg, DefaultLanguage: "en"}
	regions := map[string]string{"kok": "DE-BE", "mk-act": "GB-ENG", "kinderrechtencoalitie": "BE-VLG"}
	for id, keys := range policytest.Organisations(t) {
		o := &config.Organisation{ID: id, Name: strings.ToUpper(id), Region: regions[id], Spool: filepath.Join(cfg.Spool, id)}
		for _, k := range keys {
			o.Keys = append(o.Keys, k.PubPath)
		}
		conf.Organisations = append(conf.Organisations, o)
	}
	slices.SortFunc(conf.Organisations, func(a, b *config.Organisation) int { return strings.Compare(a.ID, b.ID) })
	orgs, err := openOrganisations(conf)
	if err != nil {
		t.Fatal(err)
	}
	return conf, orgs
}

// log returns the log so far, after the counts of answers are written out as each minute's are.
func (s *testServer) log() string {
	s.srv.inflight.Wait()
	s.srv.journal.flush(s.srv.log)
	return s.logs.String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs the real handler on a loopback port with a fresh spool and the built site.
func startServer(t *testing.T, change func(*config.Dropbox)) *testServer {
	t.Helper()
	return startServerWithSite(t, site.Files(), change)
}

func startServerWithSite(t *testing.T, files fs.FS, change func(*config.Dropbox)) *testServer {
	t.Helper()
	cfg := config.Defaults()
	cfg.Spool = filepath.Join(t.TempDir(), "spool")
	if change != nil {
		change(&cfg)
	}
	conf, orgs := testOrganisations(t, cfg)
	logs := &syncBuffer{}
	log := newLogger(logs)
	s := newServer(conf, orgs, files, log)
	srv := httptest.NewUnstartedServer(s)
	srv.Config.ErrorLog = serverErrorLog(&s.journal)
	srv.Start()
	t.Cleanup(srv.Close)
	return &testServer{url: srv.URL, root: cfg.Spool, spool: filepath.Join(cfg.Spool, "kok"), logs: logs, srv: s}
}

func (s *testServer) post(t *testing.T, contentType string, body []byte) (int, map[string]string, http.Header) {
	t.Helper()
	return s.postTo(t, kokSubmissions, contentType, body)
}

// postTo sends a body to a path of the drop box and reads its JSON answer.
func (s *testServer) postTo(t *testing.T, target, contentType string, body []byte) (int, map[string]string, http.Header) {
	t.Helper()
	resp, err := http.Post(s.url+target, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON: %q", raw)
	}
	return resp.StatusCode, out, resp.Header
}

// stored lists everything in kok's spool folder, half-received files included.
func (s *testServer) stored(t *testing.T) []string { return filesUnder(s.spool) }

// allStored lists every file in every organisation's spool folder, as <id>/<name>.
func (s *testServer) allStored(t *testing.T) []string { return filesUnder(s.root) }

// filesUnder lists the files in dir and its folders, sorted, by their paths from dir.
func filesUnder(dir string) []string {
	var names []string
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			names = append(names, strings.TrimPrefix(path, dir+"/"))
		}
		return nil
	})
	slices.Sort(names)
	return names
}

func TestSubmitStoresValidCiphertextDurably(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServer(t, nil)
	msg := policytest.Encrypt(t, bytes.Repeat([]byte("x"), 100_000), keys...)
	code, out, _ := s.post(t, "application/octet-stream", msg)
	if code != http.StatusCreated {
		t.Fatalf("status %d %v, want 201", code, out)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(out["id"]) {
		t.Fatalf("id %q is not 128 random bits in hex", out["id"])
	}
	got, err := os.ReadFile(filepath.Join(s.spool, out["id"]+".pgp"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Error("the stored file differs from what was sent")
	}
	if files := s.stored(t); len(files) != 1 {
		t.Errorf("spool holds %v, want only the submission", files)
	}
	code, out2, _ := s.post(t, "application/octet-stream", msg)
	if code != http.StatusCreated || out2["id"] == out["id"] {
		t.Errorf("second submission: %d %v; ids must differ", code, out2)
	}
}

func TestSubmitRefusesHostileMessagesAndKeepsNothing(t *testing.T) {
	keys, other := testKeys(t)
	s := startServer(t, nil)
	cases := policytest.Hostile(t, keys, other)
	if len(cases) < 20 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			code, out, _ := s.post(t, "application/octet-stream", c.Body)
			if code < 400 || code > 499 {
				t.Errorf("status %d, want 4xx", code)
			}
			if !strings.Contains(out["error"], c.Want) {
				t.Errorf("error %q does not say %q", out["error"], c.Want)
			}
			if files := s.stored(t); len(files) != 0 {
				t.Errorf("spool holds %v after a refusal", files)
			}
		})
	}
}

func TestSubmitRefusesOtherContentTypes(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServer(t, nil)
	msg := policytest.Encrypt(t, []byte("x"), keys...)
	for _, ct := range []string{"text/plain", "application/pgp-encrypted", ""} {
		code, out, _ := s.post(t, ct, msg)
		if code != http.StatusUnsupportedMediaType || !strings.Contains(out["error"], "application/octet-stream") {
			t.Errorf("Content-Type %q: %d %v, want 415 naming application/octet-stream", ct, code, out)
		}
	}
}

// rawRequest sends the head of a request and part of its body over a bare TCP connection, then
// reads the answer without sending the rest.
func rawRequest(t *testing.T, url, head string, part []byte) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	conn.Write(part)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	return resp
}

func TestBodyLimitAnswersBeforeTheBodyArrives(t *testing.T) {
	s := startServer(t, func(c *config.Dropbox) { c.BodyLimit = 1 << 20 })
	// Declared too large: refused from the header alone.
	resp := rawRequest(t, s.url, "POST "+kokSubmissions+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 2097152\r\n\r\n", []byte{0xc1})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("declared 2 MiB: status %d, want 413", resp.StatusCode)
	}
	// Chunked, no length: refused once the limit is passed, while the client is still sending.
	keys, _ := testKeys(t)
	big := policytest.Encrypt(t, bytes.Repeat([]byte("y"), 3<<20), keys...)
	pr, pw := io.Pipe()
	go func() {
		for off := 0; off < len(big); off += 64 << 10 {
			if _, err := pw.Write(big[off:min(off+64<<10, len(big))]); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", s.url+kokSubmissions, pr)
	req.Header.Set("Content-Type", "application/octet-stream")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	pr.CloseWithError(io.ErrClosedPipe)
	if r2.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 3 MiB: status %d, want 413", r2.StatusCode)
	}
	if files := s.stored(t); len(files) != 0 {
		t.Errorf("spool holds %v after 413", files)
	}
}

func TestStalledUploadIsCutAtTheBodyTimeout(t *testing.T) {
	s := startServer(t, func(c *config.Dropbox) { c.BodyTimeout = config.Duration{Duration: time.Second} })
	start := time.Now()
	resp := rawRequest(t, s.url, "POST "+kokSubmissions+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n", []byte{0xc1, 0x10})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("the stalled upload was held for %s", waited)
	}
	if files := s.stored(t); len(files) != 0 {
		t.Errorf("spool holds %v after a stalled upload", files)
	}
}

func TestConcurrentUploadsAreCapped(t *testing.T) {
	s := startServer(t, func(c *config.Dropbox) { c.MaxUploads = 1 })
	keys, _ := testKeys(t)
	// The first upload sends its first 100 KiB, so it flows and holds the one slot, then nothing more.
	big := policytest.Encrypt(t, bytes.Repeat([]byte("a"), 1<<20), keys...)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST "+kokSubmissions+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(big))
	conn.Write(big[:100<<10])
	time.Sleep(300 * time.Millisecond)
	code, out, h := s.post(t, "application/octet-stream", policytest.Encrypt(t, []byte("x"), keys...))
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("second upload: %d %v (Retry-After %q), want 503 with Retry-After", code, out, h.Get("Retry-After"))
	}
}

func TestSpoolOverQuotaAnswers503(t *testing.T) {
	keys, _ := testKeys(t)
	msg := policytest.Encrypt(t, bytes.Repeat([]byte("z"), 2000), keys...)
	// Room for one, not two: the quota is never passed.
	s := startServer(t, func(c *config.Dropbox) { c.SpoolQuota = int64(len(msg)) * 3 / 2 })
	if code, out, _ := s.post(t, "application/octet-stream", msg); code != http.StatusCreated {
		t.Fatalf("first: %d %v, want 201", code, out)
	}
	code, out, _ := s.post(t, "application/octet-stream", msg)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("over quota: %d %v, want 503", code, out)
	}
	// Staff collect the submission; the spool takes new ones again, once it counts its files
	// again (at most once a second), as a client that retries finds.
	entries, _ := spool.List(s.spool)
	os.Remove(entries[0].Path)
	deadline := time.Now().Add(3 * time.Second)
	for {
		code, out, _ := s.post(t, "application/octet-stream", msg)
		if code == http.StatusCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after collecting: %d %v, want 201 within 3 s", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestFullDiskAnswers507AndLeavesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs as a full disk")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	keys, _ := testKeys(t)
	s := startServer(t, func(c *config.Dropbox) { c.Spool = dir })
	msg := policytest.Encrypt(t, bytes.Repeat([]byte("f"), 700<<10), keys...)
	code, out, _ := s.post(t, "application/octet-stream", msg)
	if code != http.StatusInsufficientStorage {
		t.Fatalf("status %d %v, want 507", code, out)
	}
	if files := s.stored(t); len(files) != 0 {
		t.Errorf("a full disk left %v behind", files)
	}
	small := policytest.Encrypt(t, []byte("small"), keys...)
	if code, out, _ := s.post(t, "application/octet-stream", small); code != http.StatusCreated {
		t.Errorf("a small submission after the full one: %d %v, want 201", code, out)
	}
}

func TestEveryAnswerHasSecurityHeadersAndNoCookie(t *testing.T) {
	s := startServer(t, nil)
	for _, target := range []string{"/", "/healthz", kokSubmissions, "/no-such-page", "/en/"} {
		resp, err := http.Get(s.url + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k, v := range securityHeaders {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", target, k, got, v)
			}
		}
		if c := resp.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("GET %s sets a cookie: %v", target, c)
		}
	}
	csp := securityHeaders["Content-Security-Policy"]
	for _, must := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, must) {
			t.Errorf("CSP lacks %q", must)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows something unsafe: %s", csp)
	}
}

func TestHealthSaysNothingAboutSubmissions(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServer(t, nil)
	s.post(t, "application/octet-stream", policytest.Encrypt(t, []byte("x"), keys...))
	resp, err := http.Get(s.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok","unexported_too_long":0}` {
		t.Errorf("healthz = %d %s", resp.StatusCode, body)
	}
}

// Submissions no export copied within unexported_alert are counted, all organisations together,
// in the health answer and the log; an export takes them off the count, and nothing is deleted.
func TestHealthCountsSubmissionsWaitingTooLongForAnExport(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServer(t, nil)
	for range 3 {
		if code, _, _ := s.post(t, "application/octet-stream", policytest.Encrypt(t, []byte("x"), keys...)); code != http.StatusCreated {
			t.Fatalf("submit: %d", code)
		}
	}
	entries, _ := spool.List(s.spool)
	old := spool.Today().AddDate(0, 0, -4)
	for _, e := range entries[:2] {
		os.Chtimes(e.Path, old, old)
	}
	health := func() string {
		t.Helper()
		resp, err := http.Get(s.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(body))
	}
	s.srv.countUnexported(time.Now())
	if got := health(); got != `{"status":"ok","unexported_too_long":2}` {
		t.Errorf("with two submissions 4 days old and one new: %s", got)
	}
	if log := s.log(); !strings.Contains(log, "2 submissions have waited longer than 72h0m0s for dropbox spool export") {
		t.Errorf("the log does not count them:\n%s", log)
	}
	entries, _ = spool.List(s.spool)
	m, err := export.Write(t.TempDir(), "kok", entries)
	if err != nil {
		t.Fatal(err)
	}
	if err := export.MarkExported(s.spool, m); err != nil {
		t.Fatal(err)
	}
	s.srv.countUnexported(time.Now())
	if got := health(); got != `{"status":"ok","unexported_too_long":0}` {
		t.Errorf("after an export: %s", got)
	}
	if after, _ := spool.List(s.spool); len(after) != 3 {
		t.Errorf("counting deleted something: %d left of 3", len(after))
	}
}

// With onion_location, every page of the site says where its onion service is, path included;
// the API does not need it. Without, no page says it.
func TestOnionLocationOnEveryPage(t *testing.T) {
	onion := "http://" + strings.Repeat("a", 56) + ".onion"
	with := startServer(t, func(d *config.Dropbox) { d.OnionLocation = onion })
	without := startServer(t, nil)
	for _, target := range []string{"/", "/en/", "/de/procedures/kok-complaints/", "/healthz"} {
		resp, err := http.Get(with.url + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := onion + target
		if target == "/healthz" {
			want = ""
		}
		if got := resp.Header.Get("Onion-Location"); got != want {
			t.Errorf("%s: Onion-Location %q, want %q", target, got, want)
		}
		resp, err = http.Get(without.url + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Onion-Location"); got != "" {
			t.Errorf("%s without onion_location: Onion-Location %q", target, got)
		}
	}
}

func TestLogsHoldNoAddressAgentOrBody(t *testing.T) {
	keys, other := testKeys(t)
	s := startServer(t, nil)
	secret := "the-secret-complaint-text"
	for _, body := range [][]byte{policytest.Encrypt(t, []byte(secret), keys...), []byte(secret), policytest.Encrypt(t, []byte(secret), other)} {
		req, _ := http.NewRequest("POST", s.url+kokSubmissions, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("User-Agent", "Agent-Smith/1.0")
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	logs := s.log()
	if !strings.Contains(logs, `"upload_2xx":1`) || !strings.Contains(logs, `"upload_4xx":2`) {
		t.Fatalf("the log does not show the requests at all:\n%s", logs)
	}
	for _, leak := range []string{"127.0.0.1", "203.0.113.7", "Agent-Smith", secret, "mallory"} {
		if strings.Contains(logs, leak) {
			t.Errorf("the log contains %q:\n%s", leak, logs)
		}
	}
}

func TestHTTPServerLogKeepsOnlyTheKindOfLine(t *testing.T) {
	var buf syncBuffer
	var j journal
	w := httpLogWriter{&j}
	for _, line := range []string{
		"http: panic serving 203.0.113.9:4711: my name is Jane Doe",
		"http: TLS handshake error from [2001:db8::1]:443: EOF",
		"http: TLS handshake error from 2001:db8::1: EOF",
		"read tcp 127.0.0.1:8080->203.0.113.9:4711: read: connection reset by peer",
		"http: URL query contains semicolon, which is no longer a supported separator; parts of the query may be stripped when parsed; see golang.org/issue/25192",
	} {
		fmt.Fprint(w, line)
	}
	j.flush(newLogger(&buf))
	out := buf.String()
	for _, leak := range []string{"203.0.113.9", "2001:db8::1", "4711", "Jane", "semicolon", "reset"} {
		if strings.Contains(out, leak) {
			t.Errorf("the log holds %q: %s", leak, out)
		}
	}
	for _, kind := range []string{`"msg":"http server: panic serving","times":1`, `"msg":"http server: TLS handshake error","times":2`, `"msg":"http server: other (text withheld)","times":2`} {
		if !strings.Contains(out, kind) {
			t.Errorf("the log lacks %s: %s", kind, out)
		}
	}
}
