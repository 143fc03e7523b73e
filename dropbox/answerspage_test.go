package main

// The answers page without JavaScript: the real handler on loopback, a site with a small
// result.html that shows every name of the page's data, answers made and imported as keytool
// reply and dropbox replies import make them, and follow-ups opened with the staff's keys.

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/spool"
)

// resultPage shows every name of answersPage, so that a test sees what the page would.
const resultPage = `<main>
[[- if .Error]]<p class=error data-error="[[.Error]]" data-pos="[[.ErrPos]]" data-char="[[.ErrChar]]" data-count="[[.ErrCount]]"></p>[[end]]
[[- if .Deleted]]<p class=deleted></p>[[end]]
[[- if .Sent]]<p class=sent>[[.Sent]]</p>[[end]]
[[- if .Broken]]<p class=broken>[[.Broken]]</p>[[end]]
[[- if .Read]][[range .Answers]]
<article id="[[.ID]]" lang="[[.Lang]]"><time>[[.Day]]</time><p class=text>[[.Text]]</p>
[[- range .Files]]<form method=post action=file><input type=hidden name=codename value="[[$.Codename]]"><input type=hidden name=id value="[[.N]]"><button>[[.Name]] ([[.Size]])</button></form>[[end]]</article>
[[- else]]<p class=none></p>[[end]][[end]]
<form method=post><input name=codename value="[[.Codename]]"></form></main>
`

// answersSite is the site as the build writes kok's German answers page, and a page whose
// answers.json names another organisation than its path.
var answersSiteFS = fstest.MapFS{
	"de/answers/kok/result.html":     {Data: []byte(resultPage)},
	"de/answers/kok/answers.json":    {Data: []byte(`{"organisation": "kok", "lang": "de", "more_label": "Was möchten Sie ergänzen?"}`)},
	"de/answers/mk-act/result.html":  {Data: []byte(resultPage)},
	"de/answers/mk-act/answers.json": {Data: []byte(`{"organisation": "kok", "lang": "de", "more_label": "x"}`)},
}

const pageURL = "/api/v1/orgs/kok/answers-page/de"

// aCodename draws a codename and derives it at kok, as the server will.
func aCodename(t testing.TB) (answers.Codename, *answers.Keys) {
	t.Helper()
	c, err := answers.NewCodename()
	if err != nil {
		t.Fatal(err)
	}
	k, err := answers.Derive(c, "kok")
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

type answerFile struct {
	name string
	data []byte
}

// encryptAnswerWith makes an answer with any number of files, as keytool reply does.
func encryptAnswerWith(t testing.TB, pass, lang, text string, files ...answerFile) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := answers.Encrypt(&out, pass)
	if err != nil {
		t.Fatal(err)
	}
	a := &answers.Answer{Lang: lang, Day: "2026-11-30", Text: text}
	for _, f := range files {
		a.Attachments = append(a.Attachments, answers.Attachment{Name: f.name, Type: "text/html", Size: int64(len(f.data))})
	}
	aw, err := answers.NewWriter(w, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		aw.Write(f.data)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// postPage posts a urlencoded step of the answers page.
func (s *testServer) postPage(t *testing.T, target string, form url.Values) (int, string, http.Header) {
	t.Helper()
	code, raw, h := s.check(t, target, "application/x-www-form-urlencoded", form.Encode())
	return code, string(raw), h
}

// shown is what a result page says: the error, the answers' ids and texts in order, and so on.
type shown struct {
	err, pos, char, count string
	ids, texts            []string
	files                 []string // "name (size)"
	none, deleted         bool
	sent, broken          string
	codename              string // in the page's own form
}

var (
	errorRE    = regexp.MustCompile(`<p class=error data-error="([^"]*)" data-pos="([^"]*)" data-char="([^"]*)" data-count="([^"]*)">`)
	articleRE  = regexp.MustCompile(`<article id="([0-9a-f]{32})"[^>]*><time>[^<]*</time><p class=text>([^<]*)</p>`)
	fileRE     = regexp.MustCompile(`<button>([^<]*)</button>`)
	sentRE     = regexp.MustCompile(`<p class=sent>([^<]*)</p>`)
	brokenRE   = regexp.MustCompile(`<p class=broken>([^<]*)</p>`)
	codenameRE = regexp.MustCompile(`<form method=post><input name=codename value="([^"]*)"></form></main>`)
)

func readShown(t *testing.T, page string) shown {
	t.Helper()
	var sh shown
	if m := errorRE.FindStringSubmatch(page); m != nil {
		sh.err, sh.pos, sh.char, sh.count = m[1], m[2], m[3], m[4]
	}
	for _, m := range articleRE.FindAllStringSubmatch(page, -1) {
		sh.ids, sh.texts = append(sh.ids, m[1]), append(sh.texts, m[2])
	}
	for _, m := range fileRE.FindAllStringSubmatch(page, -1) {
		sh.files = append(sh.files, m[1])
	}
	if m := sentRE.FindStringSubmatch(page); m != nil {
		sh.sent = m[1]
	}
	if m := brokenRE.FindStringSubmatch(page); m != nil {
		sh.broken = m[1]
	}
	m := codenameRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("not the result page: %q", page)
	}
	sh.codename = m[1]
	sh.none = strings.Contains(page, "<p class=none>")
	sh.deleted = strings.Contains(page, "<p class=deleted>")
	return sh
}

func TestTheAnswersPageReadsAndDecryptsTheMailbox(t *testing.T) {
	s := startServerWithSite(t, answersSiteFS, manyChecks)
	codename, keys := aCodename(t)
	box := "kok/" + keys.Lookup + "/"
	older, newA, newB, broken := randomID(), randomID(), randomID(), randomID()
	if newA > newB {
		newA, newB = newB, newA
	}
	photo := make([]byte, 1_234_567)
	rand.Read(photo)
	s.importInto(t, time.Now().Add(-72*time.Hour), map[string][]byte{
		box + older + ".pgp": encryptAnswerWith(t, keys.AnswerPass, "de", "Die erste Antwort"),
	})
	s.importInto(t, time.Now(), map[string][]byte{
		box + newB + ".pgp": encryptAnswerWith(t, keys.AnswerPass, "de", "<script>alert(1)</script> & Zeile 2",
			answerFile{"<b>brief.html", []byte("<script>alert(2)</script>")}, answerFile{"foto.jpg", photo}),
		box + newA + ".pgp": encryptAnswerWith(t, keys.AnswerPass, "ar", "جواب"),
		// Imported into this mailbox, but not with its passphrase: it does not open.
		box + broken + ".pgp": encryptAnswerWith(t, newMailbox(t).pass, "de", "fremd"),
	})

	code, page, h := s.postPage(t, pageURL, url.Values{"codename": {codename.String()}})
	if code != http.StatusOK || h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, headers %v: %s", code, h, page)
	}
	sh := readShown(t, page)
	// Newest day first, by id within a day; the broken one counted, not shown.
	wantIDs := []string{newA, newB, older}
	if fmt.Sprint(sh.ids) != fmt.Sprint(wantIDs) || sh.broken != "1" || sh.err != "" || sh.none {
		t.Fatalf("ids %v (want %v), broken %q, error %q:\n%s", sh.ids, wantIDs, sh.broken, sh.err, page)
	}
	if sh.texts[1] != "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Zeile 2" || strings.Contains(page, "<script>") || strings.Contains(page, "<b>") {
		t.Errorf("the answer's text or a file name is not escaped: %s", page)
	}
	if sh.texts[0] != "جواب" || !strings.Contains(page, `<article id="`+newA+`" lang="ar">`) {
		t.Errorf("the Arabic answer: %q", sh.texts[0])
	}
	if want := []string{"&lt;b&gt;brief.html (25 B)", "foto.jpg (1.2 MB)"}; fmt.Sprint(sh.files) != fmt.Sprint(want) {
		t.Errorf("files %q, want %q", sh.files, want)
	}
	if sh.codename != codename.String() {
		t.Errorf("the page's codename %q, want it in groups of five", sh.codename)
	}
	// Typed another way (hyphens, Arabic-Indic digits) it is the same codename.
	arabic := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '٠' + (r - '0')
		}
		return '-'
	}, codename.String())
	if _, again, _ := s.postPage(t, pageURL, url.Values{"codename": {arabic}}); again != page {
		t.Errorf("the codename in Arabic-Indic digits does not read the same page:\n%s", again)
	}
}

// A wrong codename and a right one whose mailbox is empty get the same page, byte for byte,
// but for the codename itself in its fields.
func TestAWrongCodenameReadsLikeAnEmptyMailbox(t *testing.T) {
	s := startServerWithSite(t, answersSiteFS, manyChecks)
	wrong, _ := aCodename(t)
	emptied, keys := aCodename(t)
	if err := os.MkdirAll(filepath.Join(s.answersRoot(), "kok", keys.Lookup), 0o700); err != nil {
		t.Fatal(err)
	}
	read := func(c answers.Codename) (int, string, http.Header) {
		code, page, h := s.postPage(t, pageURL, url.Values{"codename": {c.String()}})
		return code, strings.ReplaceAll(page, c.String(), "CODENAME"), h
	}
	code1, page1, h1 := read(wrong)
	code2, page2, h2 := read(emptied)
	if code1 != http.StatusOK || code1 != code2 || page1 != page2 || h1.Get("Content-Length") != h2.Get("Content-Length") {
		t.Fatalf("a wrong codename: %d %q\nan empty mailbox: %d %q", code1, page1, code2, page2)
	}
	if sh := readShown(t, page1); !sh.none || len(sh.ids) != 0 || sh.err != "" || sh.codename != "CODENAME" {
		t.Errorf("the empty page: %+v", sh)
	}
}

// A typo is caught before anything is derived or counted: the page says which, with a 400.
func TestTheAnswersPageNamesACodenamesTypo(t *testing.T) {
	s := startServerWithSite(t, answersSiteFS, func(d *config.Dropbox) { d.AnswerChecks = 1 }) // bursts of 2
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s.srv.checks.now = func() time.Time { return clock }
	good, _ := aCodename(t)
	digits := good.Digits()
	swapped := digits[:3] + digits[4:5] + digits[3:4] + digits[5:]
	if digits[3] == digits[4] {
		swapped = digits[:3] + string('0'+(digits[3]-'0'+1)%10) + digits[4:]
	}
	for _, tc := range []struct {
		name, typed, err, pos, char, count string
	}{
		{"a letter", digits[:6] + "O" + digits[7:], "char", "7", "O", "0"},
		{"an Arabic letter after a space", digits[:5] + " ب" + digits[6:], "char", "7", "ب", "0"},
		{"25 digits", digits[:25], "length", "0", "", "25"},
		{"27 digits", digits + "1", "length", "0", "", "27"},
		{"nothing", "", "length", "0", "", "0"},
		{"two digits swapped or one wrong", swapped, "check", "0", "", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, page, _ := s.postPage(t, pageURL, url.Values{"codename": {tc.typed}})
			sh := readShown(t, page)
			if code != http.StatusBadRequest || sh.err != tc.err || sh.pos != tc.pos || sh.char != tc.char || sh.count != tc.count || sh.codename != "" || sh.none {
				t.Errorf("status %d, shown %+v", code, sh)
			}
		})
	}
	// None of them took one of the checks: the burst is still whole.
	for i := range 2 {
		if code, page, _ := s.postPage(t, pageURL, url.Values{"codename": {good.String()}}); code != http.StatusOK {
			t.Errorf("check %d after the typos: %d %s", i+1, code, page)
		}
	}
}

// The page counts against answer_checks with the mailbox routes: the burst is taken whole, the
// next is refused before anything is done, with the codename kept for a retry.
func TestTheAnswersPageIsPacedAtExactlyTheBurst(t *testing.T) {
	s := startServerWithSite(t, answersSiteFS, func(d *config.Dropbox) { d.AnswerChecks = 2 }) // bursts of 4
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s.srv.checks.now = func() time.Time { return clock }
	codename, keys := aCodename(t)
	id := randomID()
	s.importInto(t, time.Now(), map[string][]byte{"kok/" + keys.Lookup + "/" + id + ".pgp": encryptAnswerWith(t, keys.AnswerPass, "de", "Antwort")})
	for i := range s.srv.cfg.AnswerBurst() - 1 {
		if code, page, _ := s.postPage(t, pageURL, url.Values{"codename": {codename.String()}}); code != http.StatusOK {
			t.Fatalf("check %d of the burst: %d %s", i+1, code, page)
		}
	}
	// The last of the burst through the JSON route: one limit for both.
	if code, raw, _ := s.check(t, "/api/v1/orgs/kok/answers", "application/json", tokenBody(keys.TokenText())); code != http.StatusOK {
		t.Fatalf("the burst's last: %d %s", code, raw)
	}
	code, page, h := s.postPage(t, pageURL+"/delete", url.Values{"codename": {codename.String()}, "id": {id}})
	sh := readShown(t, page)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") != "1" || sh.err != "busy" || sh.codename != codename.String() || len(sh.ids) != 0 {
		t.Errorf("burst+1: %d, Retry-After %q, shown %+v", code, h.Get("Retry-After"), sh)
	}
	if _, err := os.Stat(filepath.Join(s.answersRoot(), "kok", keys.Lookup, id+".pgp")); err != nil {
		t.Errorf("the refused deletion deleted: %v", err)
	}
}

func TestTheAnswersPageDeletesOneAnswer(t *testing.T) {
	s := startServerWithSite(t, answersSiteFS, manyChecks)
	codename, keys := aCodename(t)
	other, _ := aCodename(t)
	gone, kept := randomID(), randomID()
	s.importInto(t, time.Now(), map[string][]byte{
		"kok/" + keys.Lookup + "/" + gone + ".pgp": encryptAnswerWith(t, keys.AnswerPass, "de", "Die erste"),
		"kok/" + keys.Lookup + "/" + kept + ".pgp": encryptAnswerWith(t, keys.AnswerPass, "de", "Die zweite"),
	})
	file := filepath.Join(s.answersRoot(), "kok", keys.Lookup, gone+".pgp")
	// Another codename deletes nothing, and sees nothing.
	code, page, _ := s.postPage(t, pageURL+"/delete", url.Values{"codename": {other.String()}, "id": {gone}})
	if sh := readShown(t, page); code != http.StatusOK || sh.deleted || !sh.none {
		t.Errorf("another codename's deletion: %d %+v", code, sh)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("another codename deleted the answer: %v", err)
	}
	code, page, _ = s.postPage(t, pageURL+"/delete", url.Values{"codename": {codename.String()}, "id": {gone}})
	if sh := readShown(t, page); code != http.StatusOK || !sh.deleted || fmt.Sprint(sh.ids) != fmt.Sprint([]string{kept}) {
		t.Errorf("the deletion: %d %+v", code, sh)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the answer is still there: %v", err)
	}
	// Again: nothing to delete, the rest listed.
	code, page, _ = s.postPage(t, pageURL+"/delete", url.Values{"codename": {codename.String()}, "id": {gone}})
	if sh := readShown(t, page); code != http.StatusOK || sh.deleted || len(sh.ids) != 1 {
		t.Errorf("deleted again: %d %+v", code, sh)
	}
	for _, id := range []string{"", "../" + kept, strings.ToUpper(kept)} {
		code, page, _ = s.postPage(t, pageURL+"/delete", url.Values{"codename": {codename.String()}, "id": {id}})
		if sh := readShown(t, page); code != http.StatusBadRequest || sh.err != "failed" {
			t.Errorf("id %q: %d %+v", id, code, sh)
		}
	}
}

func TestTheAnswersPageGivesAFileAsADownload(t *testing.T) {
	s := startServerWithSite(t, answersSiteFS, manyChecks)
	codename, keys := aCodename(t)
	other, _ := aCodename(t)
	id := randomID()
	page := []byte("<html><script>alert(1)</script></html>")
	binary := make([]byte, 3<<20+17)
	rand.Read(binary)
	s.importInto(t, time.Now(), map[string][]byte{"kok/" + keys.Lookup + "/" + id + ".pgp": encryptAnswerWith(t, keys.AnswerPass, "de", "Anbei",
		answerFile{"Bescheid \"ä\" 100%.html", page}, answerFile{"scan.bin", binary})})

	for n, want := range map[string][]byte{"1": page, "2": binary} {
		resp, err := http.PostForm(s.url+pageURL+"/file", url.Values{"codename": {codename.String()}, "id": {id}, "n": {n}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Fatalf("file %s: status %d, %d bytes (%v), want %d", n, resp.StatusCode, len(got), err, len(want))
		}
		h := resp.Header
		if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Cache-Control") != "no-store" || h.Get("Content-Length") != fmt.Sprint(len(want)) {
			t.Errorf("file %s: headers %v", n, h)
		}
		if n == "1" {
			if cd := h.Get("Content-Disposition"); cd != `attachment; filename="Bescheid ___ 100_.html"; filename*=UTF-8''Bescheid%20%22%C3%A4%22%20100%25.html` {
				t.Errorf("Content-Disposition %q", cd)
			}
		}
	}
	// A file that is not there, or asked with another codename: a 404 and the page with the list.
	for _, tc := range []struct {
		name     string
		codename answers.Codename
		id, n    string
		listed   int
	}{
		{"no third file", codename, id, "3", 1},
		{"another answer", codename, randomID(), "1", 1},
		{"another codename", other, id, "1", 0},
	} {
		code, page, h := s.postPage(t, pageURL+"/file", url.Values{"codename": {tc.codename.String()}, "id": {tc.id}, "n": {tc.n}})
		sh := readShown(t, page)
		if code != http.StatusNotFound || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || sh.err != "failed" || len(sh.ids) != tc.listed {
			t.Errorf("%s: %d %+v", tc.name, code, sh)
		}
	}
	for _, n := range []string{"0", "-1", "x", "", "101"} {
		if code, page, _ := s.postPage(t, pageURL+"/file", url.Values{"codename": {codename.String()}, "id": {id}, "n": {n}}); code != http.StatusBadRequest {
			t.Errorf("n %q: %d %s", n, code, page)
		}
	}
}

// morePart is one part of a follow-up's multipart body.
type morePart struct {
	name, value, file string
	data              []byte
}

func (s *testServer) postMore(t *testing.T, parts ...morePart) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, p := range parts {
		if p.file != "" {
			fw, _ := w.CreateFormFile(p.name, p.file)
			fw.Write(p.data)
			continue
		}
		w.WriteField(p.name, p.value)
	}
	w.Close()
	resp, err := http.Post(s.url+pageURL+"/more", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

// A follow-up without JavaScript is the submission the page's script would send: the procedure
// follow-up, the text under answers.json's label, the files, and the codename's case only.
func TestTheAnswersPageSendsMoreToTheCase(t *testing.T) {
	staff, _ := testKeys(t)
	s := startServerWithSite(t, answersSiteFS, manyChecks)
	codename, keys := aCodename(t)
	s.importInto(t, time.Now(), map[string][]byte{"kok/" + keys.Lookup + "/" + randomID() + ".pgp": encryptAnswerWith(t, keys.AnswerPass, "de", "Antwort")})
	scan := make([]byte, 2<<20)
	rand.Read(scan)
	code, page := s.postMore(t,
		morePart{name: "codename", value: codename.String()},
		morePart{name: "more", value: "Noch etwas\r\ndazu"},
		morePart{name: "files", file: "scan.pdf", data: scan},
		morePart{name: "files", file: "notiz.txt", data: []byte("Notiz")},
		morePart{name: "send", value: "Senden"},
	)
	sh := readShown(t, page)
	if code != http.StatusOK || sh.err != "" || len(sh.ids) != 1 || sh.codename != codename.String() {
		t.Fatalf("status %d, shown %+v", code, sh)
	}
	file := filepath.Join(s.spool, sh.sent+spool.Ext)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the receipt number %q is not in the spool: %v", sh.sent, err)
	}
	if bytes.Contains(raw, []byte("Noch etwas")) || bytes.Contains(raw, scan[:64]) {
		t.Fatal("plaintext in the spool")
	}
	for _, k := range staff {
		sub, bodies := openStored(t, file, k)
		header, _ := json.Marshal(sub)
		if sub.Procedure != "follow-up" || sub.Lang != "de" || len(sub.Fields) != 1 ||
			sub.Fields[0].Name != "more" || sub.Fields[0].Label != "Was möchten Sie ergänzen?" || sub.Fields[0].Value != "Noch etwas\ndazu" {
			t.Errorf("the follow-up's header: %s", header)
		}
		if len(bodies) != 2 || !bytes.Equal(bodies[0], scan) || string(bodies[1]) != "Notiz" || sub.Attachments[0].Name != "scan.pdf" {
			t.Errorf("the follow-up's files: %+v", sub.Attachments)
		}
		if string(sub.Followup) != `{"case":"`+keys.Case+`"}` {
			t.Errorf("followup %s, want the case only", sub.Followup)
		}
		for _, secret := range []string{codename.Digits(), codename.String(), keys.Lookup, keys.AnswerPass, keys.TokenText()} {
			if bytes.Contains(header, []byte(secret)) {
				t.Errorf("the follow-up carries %q", secret)
			}
		}
	}

	// Refused, and nothing stored: a typo (nothing derived), nothing to send, no codename.
	for _, tc := range []struct {
		name   string
		parts  []morePart
		status int
		err    string
	}{
		{"a typo", []morePart{{name: "codename", value: codename.Digits()[:25]}, {name: "more", value: "x"}}, http.StatusBadRequest, "length"},
		{"no codename", []morePart{{name: "more", value: "x"}}, http.StatusBadRequest, "length"},
		{"nothing to send", []morePart{{name: "codename", value: codename.String()}, {name: "more", value: " \r\n "}, {name: "files", file: "", data: nil}}, http.StatusBadRequest, "more_empty"},
	} {
		code, page := s.postMore(t, tc.parts...)
		if sh := readShown(t, page); code != tc.status || sh.err != tc.err || sh.sent != "" {
			t.Errorf("%s: %d %+v", tc.name, code, sh)
		}
	}
	// Only a file is enough.
	if code, page := s.postMore(t, morePart{name: "codename", value: codename.String()}, morePart{name: "files", file: "a.txt", data: []byte("a")}); code != http.StatusOK || readShown(t, page).sent == "" {
		t.Errorf("a file without text: %d %s", code, page)
	}
	if n := len(s.stored(t)); n != 2 {
		t.Errorf("%d files in the spool, want 2", n)
	}
}

// The follow-up's attachments may be 25 MiB together, as the forms': exactly that is taken, one
// byte more is refused and nothing of it kept.
func TestTheAnswersPageTakesMoreAtExactly25MiB(t *testing.T) {
	staff, _ := testKeys(t)
	s := startServerWithSite(t, answersSiteFS, manyChecks)
	codename, keys := aCodename(t)
	big := make([]byte, answers.MaxAttachmentBytes-1000)
	rand.Read(big)
	rest := make([]byte, 1000)
	rand.Read(rest)
	code, page := s.postMore(t, morePart{name: "codename", value: codename.String()}, morePart{name: "more", value: "Belege"},
		morePart{name: "files", file: "a.bin", data: big}, morePart{name: "files", file: "b.bin", data: rest})
	sh := readShown(t, page)
	if code != http.StatusOK || sh.sent == "" {
		t.Fatalf("25 MiB: %d %+v", code, sh)
	}
	sub, bodies := openStored(t, filepath.Join(s.spool, sh.sent+spool.Ext), staff[0])
	if sub.TotalSize(1<<40) != 25<<20 || !bytes.Equal(bodies[0], big) || !bytes.Equal(bodies[1], rest) || string(sub.Followup) != `{"case":"`+keys.Case+`"}` {
		t.Errorf("the follow-up of 25 MiB: %+v", sub.Attachments)
	}
	code, page = s.postMore(t, morePart{name: "codename", value: codename.String()}, morePart{name: "more", value: "Belege"},
		morePart{name: "files", file: "a.bin", data: big}, morePart{name: "files", file: "b.bin", data: append(rest, 0)})
	if sh := readShown(t, page); code != http.StatusRequestEntityTooLarge || sh.err != "too_large" || sh.sent != "" {
		t.Errorf("25 MiB and a byte: %d %+v", code, sh)
	}
	if n := len(s.stored(t)); n != 1 {
		t.Errorf("%d files in the spool, want 1", n)
	}
}

// Every step of the page, refused or done, leaves in the log only counts: under "answers", and a
// follow-up under "upload" like any submission; no codename, nothing derived from it, no
// answer's id.
func TestTheAnswersPageLeavesNoCodenameInTheLog(t *testing.T) {
	s := startServerWithSite(t, answersSiteFS, manyChecks)
	codename, keys := aCodename(t)
	id := randomID()
	s.importInto(t, time.Now(), map[string][]byte{"kok/" + keys.Lookup + "/" + id + ".pgp": encryptAnswerWith(t, keys.AnswerPass, "de", "Antwort", answerFile{"a.txt", []byte("a")})})
	c := url.Values{"codename": {codename.String()}, "id": {id}, "n": {"1"}}
	s.postPage(t, pageURL, c)
	s.postPage(t, pageURL+"/file", c)
	s.postPage(t, pageURL, url.Values{"codename": {codename.Digits()[:20] + "x"}})
	s.postMore(t, morePart{name: "codename", value: codename.String()}, morePart{name: "more", value: "mehr"})
	s.postPage(t, pageURL+"/delete", c)
	s.check(t, pageURL, "text/plain", "codename="+codename.Digits())
	logs := s.log()
	if !strings.Contains(logs, `"answers_2xx":3`) || !strings.Contains(logs, `"answers_4xx":2`) || !strings.Contains(logs, `"upload_2xx":1`) {
		t.Errorf("the counts:\n%s", logs)
	}
	for _, secret := range []string{codename.Digits(), codename.Digits()[:20], codename.String()[:11], keys.TokenText(), keys.Lookup, keys.AnswerPass, keys.Case, id} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
}

// A page of another organisation, or none, is a 404; a result.html that does not fill in stops
// the drop box at start with a message that names it.
func TestAnswersPagesAreCheckedAtStart(t *testing.T) {
	s := startServerWithSite(t, answersSiteFS, manyChecks)
	codename, _ := aCodename(t)
	for _, target := range []string{"/api/v1/orgs/mk-act/answers-page/de", "/api/v1/orgs/kok/answers-page/fr", "/api/v1/orgs/nobody/answers-page/de", "/api/v1/orgs/kok/answers-page/DE/delete"} {
		if code, _, _ := s.postPage(t, target, url.Values{"codename": {codename.String()}}); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", target, code)
		}
	}
	for _, tc := range []struct{ name, result, json, says string }{
		{"fine", resultPage, `{"organisation":"kok","lang":"de","more_label":"x"}`, ""},
		{"a name the data lacks", `[[.Answers]][[.Codenames]]`, `{"organisation":"kok"}`, "de/answers/kok/result.html cannot be filled in"},
		{"a name inside a branch", `[[range .Answers]][[range .Files]][[.Bytes]][[end]][[end]]`, `{"organisation":"kok"}`, "cannot be filled in"},
		{"not a template", `[[if .Read]]`, `{"organisation":"kok"}`, "de/answers/kok/result.html is not a Go html/template"},
		{"Hugo's delimiters left", `{{ .Read }}[[ .Read ]]`, `{"organisation":"kok"}`, ""},
		{"no answers.json", resultPage, "", "has no answers.json"},
	} {
		site := fstest.MapFS{"de/answers/kok/result.html": {Data: []byte(tc.result)}}
		if tc.json != "" {
			site["de/answers/kok/answers.json"] = &fstest.MapFile{Data: []byte(tc.json)}
		}
		pages, err := loadAnswerPages(site)
		if tc.says == "" && (err != nil || pages["de/kok"] == nil) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says) || pages["de/kok"] != nil) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestSizesAndFileNamesAsThePageGivesThem(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1234: "1.2 kB", 34_000: "34 kB", 999_499: "999 kB",
		999_500: "1.0 MB", 1_234_567: "1.2 MB", 25 << 20: "26 MB", 9_960_000: "10 MB"} {
		if got := decimalSize(n); got != want {
			t.Errorf("decimalSize(%d) = %q, want %q", n, got, want)
		}
	}
	for name, want := range map[string]string{
		"brief.pdf":       `attachment; filename="brief.pdf"; filename*=UTF-8''brief.pdf`,
		"Über uns.pdf":    `attachment; filename="_ber uns.pdf"; filename*=UTF-8''%C3%9Cber%20uns.pdf`,
		`a"b\c%d;e'f.txt`: `attachment; filename="a_b_c_d;e'f.txt"; filename*=UTF-8''a%22b%5Cc%25d%3Be%27f.txt`,
		"تقرير.pdf":       `attachment; filename="_____.pdf"; filename*=UTF-8''%D8%AA%D9%82%D8%B1%D9%8A%D8%B1.pdf`,
	} {
		if got := contentDisposition(name); got != want {
			t.Errorf("contentDisposition(%q) =\n%s, want\n%s", name, got, want)
		}
	}
}

// The pages the drop box fills in are not served as they are: a GET of result.html (or of a
// form's receipt or error page) is a 404, while answers.json and the pages around stay served.
func TestPagesTheDropBoxFillsInAreNotServedRaw(t *testing.T) {
	site := fstest.MapFS{
		"index.html":                           {Data: []byte("<p>start</p>")},
		"de/answers/kok/index.html":            {Data: []byte("<p>the page</p>")},
		"de/forms/kok-complaints/index.html":   {Data: []byte("<p>the form</p>")},
		"de/forms/kok-complaints/receipt.html": {Data: []byte(ReceiptPlaceholder + CodenamePlaceholder)},
		"de/forms/kok-complaints/error.html":   {Data: []byte(ErrorPlaceholder)},
	}
	for k, v := range answersSiteFS {
		site[k] = v
	}
	s := startServerWithSite(t, site, nil)
	for path, want := range map[string]int{
		"/de/answers/kok/result.html":           http.StatusNotFound,
		"/de/forms/kok-complaints/receipt.html": http.StatusNotFound,
		"/de/forms/kok-complaints/error.html":   http.StatusNotFound,
		"/de/answers/kok/answers.json":          http.StatusOK,
		"/de/answers/kok/":                      http.StatusOK,
		"/de/forms/kok-complaints/":             http.StatusOK,
	} {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusNotFound && bytes.Contains(body, []byte("PLACEHOLDER"))) {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
