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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/spool"
	"github.com/safe-complaints/dropbox/site"
)

// testKeys returns the shared staff keys and an outsider's key.
var testKeys = policytest.Staff

type testServer struct {
	url   string
	spool string
	logs  *syncBuffer
	srv   *server
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
func startServer(t *testing.T, change func(*Config)) *testServer {
	t.Helper()
	return startServerWithSite(t, site.Files(), change)
}

func startServerWithSite(t *testing.T, files fs.FS, change func(*Config)) *testServer {
	t.Helper()
	keys, _ := testKeys(t)
	cfg := defaults()
	cfg.Spool = filepath.Join(t.TempDir(), "spool")
	if change != nil {
		change(&cfg)
	}
	sp, err := spool.Open(cfg.Spool, cfg.SpoolQuota)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := newLogger(logs)
	s := newServer(cfg, policytest.Recipients(keys...), sp, files, log)
	srv := httptest.NewUnstartedServer(s)
	srv.Config.ErrorLog = serverErrorLog(&s.journal)
	srv.Start()
	t.Cleanup(srv.Close)
	return &testServer{url: srv.URL, spool: cfg.Spool, logs: logs, srv: s}
}

func (s *testServer) post(t *testing.T, contentType string, body []byte) (int, map[string]string, http.Header) {
	t.Helper()
	resp, err := http.Post(s.url+"/api/v1/submissions", contentType, bytes.NewReader(body))
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

// stored lists everything in the spool, half-received files included.
func (s *testServer) stored(t *testing.T) []string {
	t.Helper()
	var names []string
	filepath.Walk(s.spool, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			names = append(names, strings.TrimPrefix(path, s.spool+"/"))
		}
		return nil
	})
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
	s := startServer(t, func(c *Config) { c.BodyLimit = 1 << 20 })
	// Declared too large: refused from the header alone.
	resp := rawRequest(t, s.url, "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 2097152\r\n\r\n", []byte{0xc1})
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
	req, _ := http.NewRequest("POST", s.url+"/api/v1/submissions", pr)
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
	s := startServer(t, func(c *Config) { c.BodyTimeout = Duration{time.Second} })
	start := time.Now()
	resp := rawRequest(t, s.url, "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n", []byte{0xc1, 0x10})
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
	s := startServer(t, func(c *Config) { c.MaxUploads = 1 })
	keys, _ := testKeys(t)
	// The first upload sends its first 100 KiB, so it flows and holds the one slot, then nothing more.
	big := policytest.Encrypt(t, bytes.Repeat([]byte("a"), 1<<20), keys...)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(big))
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
	s := startServer(t, func(c *Config) { c.SpoolQuota = int64(len(msg)) * 3 / 2 })
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
	s := startServer(t, func(c *Config) { c.Spool = dir })
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
	for _, target := range []string{"/", "/healthz", "/api/v1/submissions", "/no-such-page", "/en/"} {
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
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Errorf("healthz = %d %s", resp.StatusCode, body)
	}
}

func TestLogsHoldNoAddressAgentOrBody(t *testing.T) {
	keys, other := testKeys(t)
	s := startServer(t, nil)
	secret := "the-secret-complaint-text"
	for _, body := range [][]byte{policytest.Encrypt(t, []byte(secret), keys...), []byte(secret), policytest.Encrypt(t, []byte(secret), other)} {
		req, _ := http.NewRequest("POST", s.url+"/api/v1/submissions", bytes.NewReader(body))
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

func TestConfigIsReadFromTheHugoFileRelativeToIt(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.toml"), []byte(`
baseURL = "/"
[params.dropbox]
recipients = ["keys/a.pub.asc", "/abs/b.pub.asc"]
spool = "var/spool"
body_limit = 2097152
body_timeout = "5m"
`), 0o644)
	os.MkdirAll(filepath.Join(dir, "config", "demo"), 0o755)
	os.WriteFile(filepath.Join(dir, "config", "demo", "params.toml"), []byte("[dropbox]\nspool = \"demo/spool\"\n"), 0o644)
	cfg, err := loadConfig(filepath.Join(dir, "config.toml"), "production")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Recipients[0] != filepath.Join(dir, "keys/a.pub.asc") || cfg.Recipients[1] != "/abs/b.pub.asc" {
		t.Errorf("recipients = %v", cfg.Recipients)
	}
	if cfg.Spool != filepath.Join(dir, "var/spool") || cfg.BodyLimit != 2<<20 || cfg.BodyTimeout.Minutes() != 5 || cfg.MaxUploads != 64 {
		t.Errorf("config = %+v", cfg)
	}
	demo, err := loadConfig(filepath.Join(dir, "config.toml"), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if demo.Spool != filepath.Join(dir, "demo/spool") || len(demo.Recipients) != 2 {
		t.Errorf("the demo environment's overlay: spool %q, recipients %v", demo.Spool, demo.Recipients)
	}
	os.WriteFile(filepath.Join(dir, "bad.toml"), []byte("[params.dropbox]\nbody_limit = 10\n"), 0o644)
	if _, err := loadConfig(filepath.Join(dir, "bad.toml"), ""); err == nil || !strings.Contains(err.Error(), "body_limit") {
		t.Errorf("a 10-byte body limit: %v, want an error naming body_limit", err)
	}
}

func TestTheRepositoryConfigLoads(t *testing.T) {
	cfg, err := loadConfig("../config.toml", "production")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BodyLimit < 25<<20 {
		t.Errorf("body_limit %d is below the 25 MiB of attachments the site promises", cfg.BodyLimit)
	}
}
