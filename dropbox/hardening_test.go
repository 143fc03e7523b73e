package main

// The limits every upload shares, at the limit: the largest form without JavaScript, several at
// once, senders that trickle, cut and malformed forms, the quota under load, and what the log
// may say about any of it.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/spool"
	"github.com/safe-complaints/dropbox/internal/submission"
	"github.com/safe-complaints/dropbox/site"
)

// openStored decrypts one stored submission with a staff key, as keytool would.
func openStored(t *testing.T, file string, k policytest.Key) (*submission.Submission, [][]byte) {
	t.Helper()
	keys, err := policy.ReadKeyFile(k.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys[0].DecryptPrivateKeys([]byte(policytest.Passphrase)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md, err := openpgp.ReadMessage(f, keys, nil, &packet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := submission.NewReader(md.UnverifiedBody, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	for {
		_, body, err := r.Next()
		if err == io.EOF {
			return r.Submission(), bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
}

// receiptID reads the id from formSite's receipt page.
func receiptID(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`<b>([0-9a-f]{32})</b>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no receipt id in %q", page)
	}
	return m[1]
}

// The form promises 25 MiB of attachments without JavaScript too: max_plain_forms of them at once.
func TestFormsWithoutJavaScriptAtTheFullSizeFourAtOnce(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServerWithSite(t, formSite, nil) // the defaults: 32 MiB bodies, 4 forms in memory
	if s.srv.cfg.MaxPlainForms != 4 {
		t.Fatalf("max_plain_forms is %d; this test sends that many", s.srv.cfg.MaxPlainForms)
	}
	const size = 25 << 20
	files := make([][]byte, 4)
	ids := make([]string, 4)
	var wg sync.WaitGroup
	for i := range files {
		files[i] = make([]byte, size)
		rand.Read(files[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, page := postForm(t, s.url+formURL, []formPart{
				{name: "who", value: "affected"}, {name: "what-happened", value: fmt.Sprintf("Form %d", i)},
				{name: "files", file: fmt.Sprintf("scan-%d.pdf", i)},
			}, files[i])
			if code != http.StatusOK {
				t.Errorf("form %d of 25 MiB: status %d %q", i, code, page)
				return
			}
			ids[i] = receiptID(t, page)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, id := range ids {
		sub, bodies := openStored(t, filepath.Join(s.spool, id+spool.Ext), keys[0])
		if sub.Fields[1].Value != fmt.Sprintf("Form %d", i) || len(bodies) != 1 || !bytes.Equal(bodies[0], files[i]) {
			t.Errorf("form %d: fields %+v, %d attachments; not what was sent", i, sub.Fields, len(bodies))
		}
		if sum := sha256.Sum256(files[i]); sub.Attachments[0].SHA256 != fmt.Sprintf("%x", sum) || sub.Attachments[0].Size != size {
			t.Errorf("form %d: attachment %+v", i, sub.Attachments[0])
		}
	}
}

// A panic anywhere in a form's request must not leave its plaintext in memory.
func TestAPanicInAFormWipesItsPlaintextAndShowsTheErrorPage(t *testing.T) {
	s := startServerWithSite(t, formSite, nil)
	var held []plainBlock
	afterFormRead = func(p *plainSet) {
		held = append([]plainBlock(nil), p.blocks...)
		panic("boom: a bug between reading and storing")
	}
	t.Cleanup(func() { afterFormRead = func(*plainSet) {} })
	secret := bytes.Repeat([]byte("PASSPORT-SCAN "), 100_000) // 1.4 MiB
	code, page := postForm(t, s.url+formURL, []formPart{
		{name: "who", value: "affected"}, {name: "what-happened", value: "x"}, {name: "files", file: "passport.jpg"},
	}, secret)
	if code != http.StatusInternalServerError || !strings.Contains(page, "Fehler.") {
		t.Errorf("status %d %q; want 500 with the form's own error page", code, page)
	}
	if len(held) < 5 {
		t.Fatalf("the request held only %d blocks", len(held))
	}
	for i, b := range held {
		if bytes.ContainsFunc(b.b[:cap(b.b)], func(r rune) bool { return r != 0 }) {
			t.Fatalf("block %d of %d still holds plaintext after the panic", i, len(held))
		}
	}
	log := s.log()
	if !strings.Contains(log, `"msg":"panic at github.com/safe-complaints/dropbox/dropbox.TestAPanicInAFormWipesItsPlaintextAndShowsTheErrorPage.func1`) || strings.Contains(log, "boom") || strings.Contains(log, "PASSPORT") {
		t.Errorf("the log should say where it panicked, without any value:\n%s", log)
	}
	if files := s.stored(t); len(files) != 0 {
		t.Errorf("spool holds %v after a panic", files)
	}
}

// The review's reproduction: a part header line that is not a header, quoting a name.
func TestAMalformedFormIsRefusedPlainlyAndNothingOfItIsLogged(t *testing.T) {
	s := startServerWithSite(t, formSite, nil)
	body := "--BB\r\nContent-Disposition: form-data; name=\"x\"\r\nMy name is Jane Doe\r\n\r\nv\r\n--BB--\r\n"
	resp, err := http.Post(s.url+formURL, "multipart/form-data; boundary=BB", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(page), "Das Formular passt nicht.") {
		t.Errorf("status %d %q; want 400 with the form's bad-form message", resp.StatusCode, page)
	}
	if log := s.log(); strings.Contains(log, "Jane") || strings.Contains(log, "ERROR") {
		t.Errorf("the log:\n%s", log)
	}
}

// browserForm is a form as a browser sends it, with words and a file name that must never reach
// the log.
func browserForm() (body []byte, contentType string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.SetBoundary("----WebKitFormBoundaryQ8z2M3kYx7WJpLr4")
	w.WriteField("who", "affected")
	w.WriteField("what-happened", "My employer Karl Mustermann keeps my passport at Hauptstrasse 12")
	w.WriteField("contact-wanted", "yes")
	w.WriteField("contact", "Signal +49 151 2345678")
	fw, _ := w.CreateFormFile("files", "Jane-Doe-passport.jpg")
	fw.Write([]byte("JFIF-Jane-Doe-born-1990-in-Lagos"))
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// Cut at every byte, two ways (the connection ends; the declared length ends), a form's words
// never reach the log: no eight bytes of it in a row.
func TestAFormCutAtEveryByteLeavesNothingOfItInTheLog(t *testing.T) {
	s := startServerWithSite(t, formSite, nil)
	body, contentType := browserForm()
	addr := strings.TrimPrefix(s.url, "http://")
	_, params, _ := mime.ParseMediaType(contentType)
	closed := bytes.LastIndex(body, []byte("--"+params["boundary"]+"--")) + len(params["boundary"]) + 4
	for cut := 0; cut < len(body); cut++ {
		for _, declared := range []int{len(body), cut} {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", formURL, contentType, declared)
			conn.Write(body[:cut])
			conn.(*net.TCPConn).CloseWrite()
			answer, _ := io.ReadAll(conn)
			conn.Close()
			if declared == cut && cut < closed && !bytes.HasPrefix(answer, []byte("HTTP/1.1 4")) {
				t.Fatalf("cut at %d of %d: %.40q; want a 4xx page", cut, len(body), answer)
			}
		}
	}
	log := s.log()
	for i := 0; i+8 <= len(body); i++ {
		if strings.Contains(log, string(body[i:i+8])) {
			t.Fatalf("the log holds %q of the form:\n%s", body[i:i+8], log)
		}
	}
	if strings.Contains(log, "ERROR") || strings.Contains(log, "WARN") {
		t.Errorf("cut forms are the client's doing, not errors of the server:\n%s", log)
	}
	// Stored: only the body that ends right after the closing boundary, without its line break.
	if entries, _ := spool.List(s.spool); len(entries) != 1 {
		t.Errorf("%d forms stored; want only the one cut right after the closing boundary", len(entries))
	}
}

// slowSender opens an upload and sends its head and a few bytes, then one byte a second.
func slowSender(t *testing.T, addr, target, contentType string, stop <-chan struct{}, wg *sync.WaitGroup) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 1048576\r\n\r\n", target, contentType)
	conn.Write([]byte("--BB\r\n"))
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer conn.Close()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				conn.Write([]byte("x"))
			}
		}
	}()
}

func TestSlowSendersHoldNoSlotOfAnyoneElse(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServerWithSite(t, formSite, nil) // 64 uploads, 4 forms in memory
	addr := strings.TrimPrefix(s.url, "http://")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 500; i++ {
		slowSender(t, addr, kokSubmissions, "application/octet-stream", stop, &wg)
	}
	for i := 0; i < 50; i++ {
		slowSender(t, addr, formURL, "multipart/form-data; boundary=BB", stop, &wg)
	}
	time.Sleep(500 * time.Millisecond)
	code, out, _ := s.post(t, "application/octet-stream", policytest.Encrypt(t, bytes.Repeat([]byte("u"), 200<<10), keys...))
	if code != http.StatusCreated {
		t.Errorf("an upload among 550 slow senders: %d %v, want 201", code, out)
	}
	code, page := postForm(t, s.url+formURL, []formPart{
		{name: "who", value: "affected"}, {name: "what-happened", value: "x"}, {name: "files", file: "a.pdf"},
	}, bytes.Repeat([]byte("f"), 300<<10))
	if code != http.StatusOK {
		t.Errorf("a form among 550 slow senders: %d %q, want 200", code, page)
	}
}

func TestASenderBelowTheMinimumRateLosesItsUploadOnly(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServer(t, func(c *config.Dropbox) { c.SlowTimeout = config.Duration{Duration: time.Second} })
	msg := policytest.Encrypt(t, bytes.Repeat([]byte("s"), 1<<20), keys...)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST "+kokSubmissions+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(msg))
	// The first window flows; then 32 KiB a second, half the rate the server asks for.
	conn.Write(msg[:window+1])
	start := time.Now()
	go func() {
		for off := window + 1; off < len(msg); off += 8 << 10 {
			if _, err := conn.Write(msg[off:min(off+8<<10, len(msg))]); err != nil {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, _ := io.ReadAll(conn)
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the slow upload was held for %s; slow_timeout is 1 s", took)
	}
	if !bytes.HasPrefix(answer, []byte("HTTP/1.1 400")) {
		t.Errorf("answer %.60q, want 400", answer)
	}
	if files := s.stored(t); len(files) != 0 {
		t.Errorf("spool holds %v after a cut upload", files)
	}
	// At the rate asked for, the same upload arrives: 64 KiB every 0.5 s.
	pr, pw := io.Pipe()
	go func() {
		for off := 0; off < len(msg); off += window {
			pw.Write(msg[off:min(off+window, len(msg))])
			time.Sleep(500 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", s.url+kokSubmissions, pr)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.ContentLength = int64(len(msg))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("an upload at 128 KiB/s: %d, want 201", resp.StatusCode)
	}
}

func TestTheQuotaHoldsWith64UploadsAtOnce(t *testing.T) {
	keys, _ := testKeys(t)
	const quota = 10 << 20
	s := startServer(t, func(c *config.Dropbox) { c.SpoolQuota = quota })
	msg := policytest.Encrypt(t, bytes.Repeat([]byte("q"), 5<<20), keys...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(s.url+kokSubmissions, "application/octet-stream", bytes.NewReader(msg))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	entries, _ := spool.List(s.spool)
	var total int64
	for _, e := range entries {
		total += e.Size
	}
	if total > quota || codes[201] == 0 || codes[201]+codes[503] != 64 || len(entries) != codes[201] {
		t.Errorf("64 uploads of %d bytes against a %d-byte quota: answers %v, %d stored, %d bytes", len(msg), quota, codes, len(entries), total)
	}
}

// logLines returns the log's lines without their times, and checks that the times are minutes.
func logLines(t *testing.T, log string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if tm, _ := m["time"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\dZ$`).MatchString(tm) {
			t.Errorf("time %q is finer than the minute", tm)
		}
		delete(m, "time")
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	return out
}

// validForm fills every question of a built form.json with an answer it accepts.
func validForm(def *formDef) []formPart {
	var parts []formPart
	for _, f := range def.Fields {
		switch {
		case f.When != nil, f.Type == "files":
		case f.Type == "choice":
			parts = append(parts, formPart{name: f.Name, value: f.Options[0].Value})
		default:
			parts = append(parts, formPart{name: f.Name, value: "an answer"})
		}
	}
	return parts
}

// The log of a visit to any page, or of any form sent, is the same line: it cannot tell which.
func TestTheLogCannotTellTwoPagesOrTwoProceduresApart(t *testing.T) {
	files := site.Files()
	s := startServerWithSite(t, files, nil)
	seen := map[string][]string{} // the log lines of each kind of request, by what was asked
	visit := func(kind string, do func()) {
		before := len(s.log())
		do()
		seen[kind] = append(seen[kind], strings.Join(logLines(t, s.log()[before:]), "\n"))
	}
	pages, forms := 0, 0
	fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch path.Base(name) {
		case "index.html":
			pages++
			visit("page", func() {
				resp, err := http.Get(s.url + "/" + strings.TrimSuffix(name, "index.html"))
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("GET %s: %v %v", name, err, resp)
				}
				resp.Body.Close()
			})
		case "form.json":
			forms++
			def, err := loadForm(files, path.Dir(name))
			if err != nil {
				t.Fatal(err)
			}
			target := s.url + "/api/v1/orgs/" + def.Organisation + "/forms/" + def.Lang + "/" + path.Base(path.Dir(name))
			visit("upload accepted", func() {
				if code, page := postForm(t, target, validForm(def), nil); code != 200 {
					t.Fatalf("%s: %d %q", name, code, page)
				}
			})
			visit("form refused", func() {
				if code, _ := postForm(t, target, nil, nil); code != 400 {
					t.Fatalf("%s with nothing filled in: %d, want 400", name, code)
				}
			})
		}
		return nil
	})
	// Nor can it tell a form sent without JavaScript from one the browser encrypted.
	keys, _ := testKeys(t)
	visit("upload accepted", func() {
		if code, out, _ := s.post(t, "application/octet-stream", policytest.Encrypt(t, []byte("x"), keys...)); code != 201 {
			t.Fatalf("upload: %d %v", code, out)
		}
	})
	if pages < 100 || forms < 30 {
		t.Fatalf("only %d pages and %d forms: build the site first (make site)", pages, forms)
	}
	for kind, lines := range seen {
		for _, l := range lines {
			if l != lines[0] {
				t.Errorf("two %ss log differently:\n%s\n%s", kind, lines[0], l)
				break
			}
		}
		if lines[0] == "" {
			t.Errorf("a %s is not counted in the log at all", kind)
		}
	}
}

func TestHeadIsAnsweredLikeGetWithoutABody(t *testing.T) {
	s := startServer(t, nil)
	for target, want := range map[string]int{"/": 200, "/en/": 200, "/healthz": 200, "/en/no-such-page/": 404} {
		req, _ := http.NewRequest(http.MethodHead, s.url+target, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || len(body) != 0 || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("HEAD %s: %d with %d bytes; want %d, no body, the security headers", target, resp.StatusCode, len(body), want)
		}
	}
}

func TestTheNotFoundPageIsInTheLanguageOfThePath(t *testing.T) {
	s := startServer(t, nil)
	for target, lang := range map[string]string{"/de/gibt-es-nicht/": "de", "/ar/x": "ar", "/nowhere": "en", "/xx/y": "en"} {
		resp, err := http.Get(s.url + target)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !regexp.MustCompile(`<html lang="?`+lang+`\b`).Match(page) || !strings.Contains(string(page), "quick-exit") {
			t.Errorf("GET %s: %d, want the %s 404 page with the quick exit; got %.200q", target, resp.StatusCode, lang, page)
		}
	}
}

func TestTheMediaTypeIsReadAsTheStandardSays(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServer(t, nil)
	for _, ct := range []string{"Application/Octet-Stream", "application/octet-stream; charset=binary"} {
		if code, out, _ := s.post(t, ct, policytest.Encrypt(t, []byte("x"), keys...)); code != http.StatusCreated {
			t.Errorf("Content-Type %q: %d %v, want 201", ct, code, out)
		}
	}
}

func TestFileNamesKeepWhatBrowsersEscape(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServerWithSite(t, formSite, nil)
	// What a browser sends for a file named  say "no".jpg  (WHATWG HTML's multipart encoding).
	body := "--BB\r\nContent-Disposition: form-data; name=\"who\"\r\n\r\naffected\r\n" +
		"--BB\r\nContent-Disposition: form-data; name=\"what-happened\"\r\n\r\nx\r\n" +
		"--BB\r\nContent-Disposition: form-data; name=\"files\"; filename=\"say %22no%22.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nJPEG\r\n--BB--\r\n"
	resp, err := http.Post(s.url+formURL, "multipart/form-data; boundary=BB", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	sub, _ := decryptStored(t, s.spool, keys[0])
	if got := sub.Attachments[0].Name; got != `say "no".jpg` {
		t.Errorf("name %q, want %q", got, `say "no".jpg`)
	}
}

func TestAnAnswerTooLongIsNamed(t *testing.T) {
	s := startServerWithSite(t, formSite, nil)
	code, page := postForm(t, s.url+formURL, []formPart{
		{name: "who", value: "affected"}, {name: "what-happened", value: strings.Repeat("a", maxFieldBytes+1)},
	}, nil)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, "Ihre Antwort auf „Was ist passiert?“ ist zu lang.") {
		t.Errorf("status %d %q; want 413 naming the question", code, page)
	}
	// Just at the limit, it goes through.
	code, page = postForm(t, s.url+formURL, []formPart{
		{name: "who", value: "affected"}, {name: "what-happened", value: strings.Repeat("a", maxFieldBytes)},
	}, nil)
	if code != http.StatusOK {
		t.Errorf("an answer of exactly %d bytes: %d %q", maxFieldBytes, code, page)
	}
}

func TestNoDotfileIsServedEvenFromASiteFolder(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*"), 0o644)
	os.WriteFile(filepath.Join(dir, ".git", "config"), []byte("[core]"), 0o644)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<html lang=\"en\">home</html>"), 0o644)
	s := startServerWithSite(t, os.DirFS(dir), nil)
	for target, want := range map[string]int{"/": 200, "/.gitignore": 404, "/.git/config": 404, "/.git/": 404} {
		resp, err := http.Get(s.url + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", target, resp.StatusCode, want)
		}
	}
}

// flowingForm starts a form that sends its first 100 KiB, so it holds its places, then stalls.
func flowingForm(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BB\r\nContent-Length: 1048576\r\n\r\n", formURL)
	conn.Write([]byte("--BB\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bin\"\r\n\r\n"))
	conn.Write(make([]byte, 100<<10))
	return conn
}

func TestAFormThatFindsNoPlaceWaitsThenGivesBackEverything(t *testing.T) {
	keys, _ := testKeys(t)
	plainFormWait = 300 * time.Millisecond
	t.Cleanup(func() { plainFormWait = 10 * time.Second })
	s := startServerWithSite(t, formSite, func(c *config.Dropbox) { c.MaxUploads, c.MaxPlainForms = 2, 1 })
	addr := strings.TrimPrefix(s.url, "http://")
	flowingForm(t, addr) // holds one upload place and the one form place
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	code, page := postForm(t, s.url+formURL, []formPart{{name: "who", value: "affected"}, {name: "what-happened", value: "x"}}, nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(page, "Beschäftigt.") || time.Since(start) < plainFormWait {
		t.Errorf("a second form: %d %q after %s; want 503 with the busy message after waiting %s", code, page, time.Since(start), plainFormWait)
	}
	// The second form gave its upload place back: an upload gets through.
	if code, out, _ := s.post(t, "application/octet-stream", policytest.Encrypt(t, []byte("x"), keys...)); code != http.StatusCreated {
		t.Errorf("an upload after the refused form: %d %v, want 201", code, out)
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// Connections that send their headers and nothing more hold no memory of ours: before a body's
// bytes come, nothing is taken for them.
func TestConnectionsThatSendNothingHoldNoMemory(t *testing.T) {
	s := startServerWithSite(t, formSite, nil)
	addr := strings.TrimPrefix(s.url, "http://")
	before := heapInUse()
	const n = 1000
	conns := make([]net.Conn, 0, 2*n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		for _, target := range []string{kokSubmissions, formURL} {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
			ct := "application/octet-stream"
			if target == formURL {
				ct = "multipart/form-data; boundary=BB"
			}
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 1048576\r\n\r\n", target, ct)
		}
	}
	time.Sleep(time.Second)
	// net/http's own buffers and each handler's goroutine cost about 13 KiB a connection here;
	// a 64 KiB window taken before any byte came would cost 64 KiB more.
	if grew := (heapInUse() - before) / (2 * n); grew > 24<<10 {
		t.Errorf("each connection that sent nothing holds %d KiB", grew>>10)
	}
}

// Bytes that come slowly before an upload has a place hold memory only within the waiting budget:
// once it is spent, more uploads are told to come back, and the memory stays bounded.
func TestFirstWindowsTogetherStayWithinTheWaitingBudget(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServer(t, func(c *config.Dropbox) { c.MaxUploads = 4 }) // budget: 4 × 128 KiB
	budget := waitingBudget(s.srv.cfg)
	addr := strings.TrimPrefix(s.url, "http://")
	msg := policytest.Encrypt(t, bytes.Repeat([]byte("w"), 1<<20), keys...)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Each sends 20 KiB (five blocks) of a real message and then waits.
	for i := 0; i < int(budget/(20<<10))+2; i++ {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		fmt.Fprintf(conn, "POST "+kokSubmissions+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(msg))
		conn.Write(msg[:20<<10])
	}
	time.Sleep(500 * time.Millisecond)
	if left := s.srv.waiting.Load(); left < 0 || left >= windowBlock*5 {
		t.Errorf("waiting budget left: %d of %d; want it spent, never below zero", left, budget)
	}
	// Another upload needs sixteen blocks for its first window; fewer than five are left.
	code, out, h := s.post(t, "application/octet-stream", msg)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("an upload once the budget is spent: %d %v, want 503 with Retry-After", code, out)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	time.Sleep(300 * time.Millisecond)
	if left := s.srv.waiting.Load(); left != budget {
		t.Errorf("after the waiting uploads went away: %d of %d left", left, budget)
	}
	if code, out, _ := s.post(t, "application/octet-stream", policytest.Encrypt(t, []byte("later"), keys...)); code != http.StatusCreated {
		t.Errorf("an upload after they went away: %d %v, want 201", code, out)
	}
}

func TestALongBoundaryIsABadFormNotAPanic(t *testing.T) {
	s := startServerWithSite(t, formSite, nil)
	boundary := strings.Repeat("b", 5000)
	body := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"who\"\r\n\r\naffected\r\n--" + boundary + "--\r\n"
	resp, err := http.Post(s.url+formURL, "multipart/form-data; boundary="+boundary, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(page), "Das Formular passt nicht.") {
		t.Errorf("status %d %q; want 415 with the bad-form message", resp.StatusCode, page)
	}
	if log := s.log(); strings.Contains(log, "panic") {
		t.Errorf("the log:\n%s", log)
	}
}

// At shutdown, a form whose body has come whole is stored and answered, even if storing it takes
// longer than the grace; an upload still arriving is cut, not stored, not answered.
func TestShutdownCutsReadsButAnswersWhatArrivedWhole(t *testing.T) {
	keys, _ := testKeys(t)
	cfg := config.Defaults()
	cfg.Spool = filepath.Join(t.TempDir(), "spool")
	conf, orgs := testOrganisations(t, cfg)
	s := newServer(conf, orgs, formSite, newLogger(io.Discard))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String()

	stored := make(chan struct{})
	afterFormRead = func(*plainSet) { close(stored); time.Sleep(1500 * time.Millisecond) } // a slow disk
	t.Cleanup(func() { afterFormRead = func(*plainSet) {} })
	formDone := make(chan string, 1)
	go func() {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("who", "affected")
		w.WriteField("what-happened", "x")
		w.Close()
		resp, err := http.Post(url+formURL, w.FormDataContentType(), &body)
		if err != nil {
			formDone <- err.Error()
			return
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		formDone <- fmt.Sprint(resp.StatusCode, " ", string(page))
	}()
	msg := policytest.Encrypt(t, bytes.Repeat([]byte("t"), 1<<20), keys...)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST "+kokSubmissions+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(msg))
	conn.Write(msg[:200<<10]) // then nothing: still arriving when the grace ends
	select {
	case <-stored:
	case got := <-formDone:
		t.Fatalf("the form ended before it was stored: %s", got)
	case <-time.After(20 * time.Second):
		t.Fatal("the form was not read within 20 s")
	}
	if err := shutdown(srv, s, 300*time.Millisecond, newLogger(io.Discard)); err != nil {
		t.Fatal(err)
	}
	if got := <-formDone; !strings.HasPrefix(got, "200 ") {
		t.Errorf("the form that had arrived whole: %s; want 200 with its receipt", got)
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if answer, _ := io.ReadAll(conn); bytes.Contains(answer, []byte(" 201 ")) {
		t.Errorf("the cut upload was acknowledged: %.80q", answer)
	}
	if entries, _ := spool.List(filepath.Join(cfg.Spool, "kok")); len(entries) != 1 {
		t.Errorf("%d stored; want only the form", len(entries))
	}
}
