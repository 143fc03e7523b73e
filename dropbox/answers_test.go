package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
)

// answersRoot is where startServer's organisations keep their answers (testOrganisations).
func (s *testServer) answersRoot() string { return filepath.Join(filepath.Dir(s.root), "answers") }

// importInto imports files (outbox path → content) into the server's answers on the day of now.
func (s *testServer) importInto(t *testing.T, now time.Time, files map[string][]byte) {
	t.Helper()
	conf := importConfig(filepath.Dir(s.root))
	var out bytes.Buffer
	if err := importOutbox(&out, conf, writeOutbox(t, files), now); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

// check posts to a mailbox route and returns the status, the raw body and the headers.
func (s *testServer) check(t *testing.T, path, contentType, body string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Post(s.url+path, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header
}

type answerList struct {
	Answers []struct {
		ID   string `json:"id"`
		Day  string `json:"day"`
		Data []byte `json:"data"` // base64 in JSON
	} `json:"answers"`
}

// manyChecks lets a test make more mailbox checks than the default allows.
func manyChecks(d *config.Dropbox) { d.AnswerChecks = 1000 }

func tokenBody(token string) string { return `{"token":"` + token + `"}` }

func (s *testServer) readAnswers(t *testing.T, org, token string) answerList {
	t.Helper()
	code, raw, h := s.check(t, "/api/v1/orgs/"+org+"/answers", "application/json", tokenBody(token))
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, raw)
	}
	if h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", h)
	}
	var list answerList
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("not JSON: %v: %.200s", err, raw)
	}
	return list
}

func TestAnswersAreReadWithTheTokenNewestFirst(t *testing.T) {
	s := startServer(t, manyChecks)
	a := newMailbox(t)
	older, newer1, newer2, other := randomID(), randomID(), randomID(), randomID()
	if newer2 < newer1 {
		newer1, newer2 = newer2, newer1
	}
	texts := map[string]string{older: "Wir haben Ihre Beschwerde erhalten.", newer1: "Das Ergebnis folgt.", newer2: "نتيجة الشكوى", other: "MK-ACT's answer"}
	files := map[string][]byte{}
	for _, id := range []string{older, newer1, newer2} {
		files["kok/"+a.lookup+"/"+id+".pgp"] = encryptAnswer(t, a.pass, texts[id], nil)
	}
	day1 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	s.importInto(t, day1, map[string][]byte{"kok/" + a.lookup + "/" + older + ".pgp": files["kok/"+a.lookup+"/"+older+".pgp"]})
	delete(files, "kok/"+a.lookup+"/"+older+".pgp")
	// The same mailbox at another organisation: the same codename used with MK-ACT gives another
	// lookup, but the server must not mix the folders even for the same one.
	files["mk-act/"+a.lookup+"/"+other+".pgp"] = encryptAnswer(t, a.pass, texts[other], nil)
	s.importInto(t, day1.Add(72*time.Hour), files)

	list := s.readAnswers(t, "kok", a.token)
	var ids, days []string
	for _, got := range list.Answers {
		ids, days = append(ids, got.ID), append(days, got.Day)
		plain, err := answers.Decrypt(bytes.NewReader(got.Data), a.pass)
		if err != nil {
			t.Fatal(err)
		}
		r, err := answers.NewReader(plain)
		if err != nil {
			t.Fatal(err)
		}
		if r.Answer().Text != texts[got.ID] {
			t.Errorf("%s reads %q, want %q", got.ID, r.Answer().Text, texts[got.ID])
		}
	}
	if strings.Join(ids, " ") != strings.Join([]string{newer1, newer2, older}, " ") || strings.Join(days, " ") != "2026-11-05 2026-11-05 2026-11-02" {
		t.Errorf("ids %v on %v, want newest day first, by id within a day", ids, days)
	}
	if mk := s.readAnswers(t, "mk-act", a.token); len(mk.Answers) != 1 || mk.Answers[0].ID != other {
		t.Errorf("mk-act's answers for the same lookup: %+v", mk)
	}
	if kr := s.readAnswers(t, "kinderrechtencoalitie", a.token); len(kr.Answers) != 0 {
		t.Errorf("an organisation with no answers for it: %+v", kr)
	}

	// The same token as a form field, as a page without JavaScript sends it.
	code, raw, _ := s.check(t, "/api/v1/orgs/kok/answers", "application/x-www-form-urlencoded", url.Values{"token": {a.token}}.Encode())
	if code != http.StatusOK || !bytes.Contains(raw, []byte(older)) {
		t.Errorf("as a form: %d %.200s", code, raw)
	}

	// A token that finds nothing: exactly the answer of an empty mailbox.
	for _, token := range []string{newMailbox(t).token, strings.Repeat("0", 32)} {
		code, raw, h := s.check(t, "/api/v1/orgs/kok/answers", "application/json", tokenBody(token))
		if code != http.StatusOK || string(raw) != "{\"answers\":[]}\n" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("a token with no answers: %d %q %v", code, raw, h)
		}
	}
	logs := s.log()
	if !strings.Contains(logs, `"answers_2xx":6`) {
		t.Errorf("the log does not count the checks as answers:\n%s", logs)
	}
	for _, leak := range []string{a.token, a.lookup, older, other} {
		if strings.Contains(logs, leak) {
			t.Errorf("the log holds %q:\n%s", leak, logs)
		}
	}
}

func TestMailboxRequestsThatAreRefused(t *testing.T) {
	s := startServer(t, manyChecks)
	a := newMailbox(t)
	id := randomID()
	s.importInto(t, time.Now(), map[string][]byte{"kok/" + a.lookup + "/" + id + ".pgp": encryptAnswer(t, a.pass, "Antwort", nil)})
	// A body of exactly 1 KiB is read; one byte more is not.
	atLimit := tokenBody(a.token) + strings.Repeat(" ", maxCheckBody-len(tokenBody(a.token)))
	if code, raw, _ := s.check(t, "/api/v1/orgs/kok/answers", "application/json", atLimit); code != http.StatusOK || !bytes.Contains(raw, []byte(id)) {
		t.Errorf("a body of exactly 1 KiB: %d %.100s", code, raw)
	}
	cases := []struct {
		name, path, contentType, body string
		code                          int
		want                          string
	}{
		{"a body over 1 KiB", "/answers", "application/json", atLimit + " ", 413, "larger than 1 KiB"},
		{"a short token", "/answers", "application/json", tokenBody(a.token[:31]), 400, "32 lower-case hex digits"},
		{"a token in capitals", "/answers", "application/json", tokenBody(strings.ToUpper(a.token)), 400, "32 lower-case hex digits"},
		{"the lookup instead of the token", "/answers", "application/json", tokenBody(a.lookup), 400, "32 lower-case hex digits"},
		{"no token", "/answers", "application/json", `{}`, 400, "32 lower-case hex digits"},
		{"another member", "/answers", "application/json", `{"token":"` + a.token + `","codename":"1"}`, 400, "could not be read"},
		{"two values", "/answers", "application/json", tokenBody(a.token) + tokenBody(a.token), 400, "could not be read"},
		{"plain text", "/answers", "text/plain", a.token, 415, "application/json"},
		{"delete without an id", "/answers/delete", "application/json", tokenBody(a.token), 400, "the id is"},
		{"delete a path", "/answers/delete", "application/json", `{"token":"` + a.token + `","id":"../` + a.lookup + `"}`, 400, "the id is"},
		{"delete an id with an extension", "/answers/delete", "application/json", `{"token":"` + a.token + `","id":"` + id + `.pgp"}`, 400, "the id is"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, raw, h := s.check(t, "/api/v1/orgs/kok"+c.path, c.contentType, c.body)
			if code != c.code || !bytes.Contains(raw, []byte(c.want)) || h.Get("Cache-Control") != "no-store" {
				t.Errorf("%d %s, want %d saying %q", code, raw, c.code, c.want)
			}
		})
	}
	if code, _, _ := s.check(t, "/api/v1/orgs/nobody/answers", "application/json", tokenBody(a.token)); code != 404 {
		t.Errorf("an unknown organisation: %d", code)
	}
	if list := s.readAnswers(t, "kok", a.token); len(list.Answers) != 1 {
		t.Errorf("after the refusals the answer is gone: %+v", list)
	}
}

func TestAnAnswerIsDeletedOnlyWithItsToken(t *testing.T) {
	s := startServer(t, manyChecks)
	a := newMailbox(t)
	id1, id2 := randomID(), randomID()
	outbox := map[string][]byte{
		"kok/" + a.lookup + "/" + id1 + ".pgp":    encryptAnswer(t, a.pass, "eins", nil),
		"kok/" + a.lookup + "/" + id2 + ".pgp":    encryptAnswer(t, a.pass, "zwei", nil),
		"mk-act/" + a.lookup + "/" + id1 + ".pgp": encryptAnswer(t, a.pass, "MK-ACT", nil),
	}
	s.importInto(t, time.Now(), outbox)
	del := func(org, token, id string) string {
		t.Helper()
		code, raw, h := s.check(t, "/api/v1/orgs/"+org+"/answers/delete", "application/json", `{"token":"`+token+`","id":"`+id+`"}`)
		if code != http.StatusOK || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("delete: %d %s", code, raw)
		}
		return strings.TrimSpace(string(raw))
	}
	if got := del("kok", newMailbox(t).token, id1); got != `{"deleted":false}` {
		t.Errorf("with another token: %s", got)
	}
	if got := del("kok", a.token, id1); got != `{"deleted":true}` {
		t.Errorf("with the token: %s", got)
	}
	if got := del("kok", a.token, id1); got != `{"deleted":false}` {
		t.Errorf("again: %s", got)
	}
	if list := s.readAnswers(t, "kok", a.token); len(list.Answers) != 1 || list.Answers[0].ID != id2 {
		t.Errorf("after deleting one: %+v", list)
	}
	if list := s.readAnswers(t, "mk-act", a.token); len(list.Answers) != 1 {
		t.Errorf("deleting at kok touched mk-act's answer with the same id: %+v", list)
	}
	// Form-encoded, as a page without JavaScript sends it; the last answer takes its folder along.
	code, raw, _ := s.check(t, "/api/v1/orgs/kok/answers/delete", "application/x-www-form-urlencoded", url.Values{"token": {a.token}, "id": {id2}}.Encode())
	if code != http.StatusOK || strings.TrimSpace(string(raw)) != `{"deleted":true}` {
		t.Errorf("as a form: %d %s", code, raw)
	}
	// What is left is a mark for each, named by neither the mailbox nor the id, and keeping no day.
	kok := filepath.Join(s.answersRoot(), "kok")
	want := []string{goneDir, goneDir + "/" + sha256Hex(id1), goneDir + "/" + sha256Hex(id2)}
	slices.Sort(want)
	if got := treeUnder(kok); !slices.Equal(got, want) {
		t.Errorf("kok's answers hold %v, want only %v", got, want)
	}
	for _, id := range []string{id1, id2} {
		if info, err := os.Stat(goneMark(kok, id)); err != nil || info.Size() != 0 || !info.ModTime().Equal(time.Unix(0, 0)) || info.Mode().Perm() != 0o600 {
			t.Errorf("the mark of %s: %v %v", id, info, err)
		}
	}
	today := dayOf(time.Now())
	for _, dir := range []string{kok, filepath.Join(kok, goneDir)} {
		if info, _ := os.Stat(dir); !info.ModTime().Equal(today) {
			t.Errorf("after a deletion %s's time is %s, not the day", dir, info.ModTime())
		}
	}
	// The same outbox imported again brings neither back, and says so; mk-act's is still there.
	var out bytes.Buffer
	if err := importOutbox(&out, importConfig(filepath.Dir(s.root)), writeOutbox(t, outbox), time.Now()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "0 imported, 1 imported before, 2 deleted on the server since, 0 refused") || strings.Count(out.String(), resultDeleted) != 2 {
		t.Errorf("importing again:\n%s", out.String())
	}
	if list := s.readAnswers(t, "kok", a.token); len(list.Answers) != 0 {
		t.Errorf("importing again brought deleted answers back: %+v", list)
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestMailboxChecksAreLimitedServerWide(t *testing.T) {
	s := startServer(t, nil) // answer_checks 5, bursts of 10
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s.srv.checks.now = func() time.Time { return clock }
	a := newMailbox(t)
	id := randomID()
	s.importInto(t, time.Now(), map[string][]byte{"kok/" + a.lookup + "/" + id + ".pgp": encryptAnswer(t, a.pass, "Antwort", nil)})
	orgs := []string{"kok", "mk-act", "kinderrechtencoalitie"} // one limit for all of them
	for i := range config.Defaults().AnswerBurst() {
		code, raw, _ := s.check(t, "/api/v1/orgs/"+orgs[i%3]+"/answers", "application/json", tokenBody(newMailbox(t).token))
		if code != http.StatusOK {
			t.Fatalf("check %d of the burst: %d %s", i+1, code, raw)
		}
	}
	// The burst's next: refused before anything is done, a deletion with the right token too.
	code, raw, h := s.check(t, "/api/v1/orgs/kok/answers/delete", "application/json", `{"token":"`+a.token+`","id":"`+id+`"}`)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") != "1" || !bytes.Contains(raw, []byte("nothing was done")) {
		t.Errorf("check burst+1: %d %s, Retry-After %q", code, raw, h.Get("Retry-After"))
	}
	if _, err := os.Stat(filepath.Join(s.answersRoot(), "kok", a.lookup, id+".pgp")); err != nil {
		t.Errorf("the refused deletion deleted: %v", err)
	}
	// A fifth of a second later one check is free again (5 a second), and only one.
	clock = clock.Add(200 * time.Millisecond)
	if code, _, _ := s.check(t, "/api/v1/orgs/kok/answers/delete", "application/json", `{"token":"`+a.token+`","id":"`+id+`"}`); code != http.StatusOK {
		t.Errorf("after 200 ms: %d", code)
	}
	if code, _, _ := s.check(t, "/api/v1/orgs/kok/answers", "application/json", tokenBody(a.token)); code != http.StatusTooManyRequests {
		t.Errorf("the second after 200 ms: %d", code)
	}
	if logs := s.log(); !strings.Contains(logs, `"answers_4xx":2`) || !strings.Contains(logs, `"answers_2xx":11`) {
		t.Errorf("the log:\n%s", logs)
	}
}

func TestRetentionDeletesExactlyWhatIsOlder(t *testing.T) {
	s := startServer(t, nil) // answer_retention 90 days
	a, b := newMailbox(t), newMailbox(t)
	day := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	kept, gone, alone := randomID(), randomID(), randomID()
	before := map[string][]byte{
		"kok/" + a.lookup + "/" + gone + ".pgp":  encryptAnswer(t, a.pass, "the day before", nil),
		"kok/" + b.lookup + "/" + alone + ".pgp": encryptAnswer(t, b.pass, "alone in its mailbox", nil),
	}
	s.importInto(t, day.Add(-time.Hour), before)
	s.importInto(t, day.Add(23*time.Hour), map[string][]byte{"kok/" + a.lookup + "/" + kept + ".pgp": encryptAnswer(t, a.pass, "the day", nil)})
	crashed := filepath.Join(s.answersRoot(), "kok", a.lookup, incomingPrefix+"123")
	os.WriteFile(crashed, []byte("half"), 0o600)
	os.Chtimes(crashed, time.Now().Add(-25*time.Hour), time.Now().Add(-25*time.Hour))

	// 90 days after the day exactly: the day's answer is 90 days old, not older, and stays.
	s.srv.sweep(day.Add(90 * 24 * time.Hour))
	answersLeft := func() []string { // the marks of what was deleted left out
		return slices.DeleteFunc(treeUnder(filepath.Join(s.answersRoot(), "kok")), func(p string) bool { return strings.HasPrefix(p, goneDir) })
	}
	got := answersLeft()
	if strings.Join(got, " ") != a.lookup+" "+a.lookup+"/"+kept+".pgp" {
		t.Errorf("after the sweep at 90 days: %v, want the day's answer alone, the other mailbox's folder gone", got)
	}
	if logs := s.log(); !strings.Contains(logs, `"expired_answers_deleted":2`) || strings.Contains(logs, a.lookup) || strings.Contains(logs, b.lookup) {
		t.Errorf("the log:\n%s", logs)
	}
	s.srv.sweep(day.Add(90*24*time.Hour + time.Nanosecond))
	if got := answersLeft(); len(got) != 0 {
		t.Errorf("a nanosecond later: %v", got)
	}
	// An old outbox imported again does not bring expired answers back with a new day.
	var out bytes.Buffer
	if err := importOutbox(&out, importConfig(filepath.Dir(s.root)), writeOutbox(t, before), day.Add(100*24*time.Hour)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := answersLeft(); len(got) != 0 || !strings.Contains(out.String(), "2 deleted on the server since") {
		t.Errorf("after importing the expired answers again: %v\n%s", got, out.String())
	}
}

// TestNothingLinksAnAnswerToItsComplaint stores a complaint that carries a codename's followup
// values, imports an answer for its mailbox, and reads both trees: no name, no file size and no
// time finer than a day is in both, and the answers tree has no time but whole days.
func TestNothingLinksAnAnswerToItsComplaint(t *testing.T) {
	s := startServer(t, manyChecks)
	c, err := answers.NewCodename()
	if err != nil {
		t.Fatal(err)
	}
	k, err := answers.Derive(c, "kok")
	if err != nil {
		t.Fatal(err)
	}
	keys := policytest.Organisations(t)["kok"]
	followup, _ := json.Marshal(k.FirstComplaint())
	complaint := policytest.Encrypt(t, append([]byte(`{"followup":`), append(followup, '}')...), keys...)
	if code, out, _ := s.post(t, "application/octet-stream", complaint); code != http.StatusCreated {
		t.Fatalf("the complaint: %d %v", code, out)
	}
	id := randomID()
	s.importInto(t, time.Now(), map[string][]byte{"kok/" + k.Lookup + "/" + id + ".pgp": encryptAnswer(t, k.AnswerPass, "Wir haben Ihre Beschwerde erhalten.", nil)})
	time.Sleep(10 * time.Millisecond) // a read now would record a time other than the day
	if list := s.readAnswers(t, "kok", k.TokenText()); len(list.Answers) != 1 {
		t.Fatalf("the answer is not there: %+v", list)
	}

	type seen struct{ names, sizes, times map[string]bool }
	read := func(root string) seen {
		v := seen{map[string]bool{}, map[string]bool{}, map[string]bool{}}
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || path == root {
				return nil
			}
			info, _ := d.Info()
			rel, _ := filepath.Rel(root, path)
			if !strings.Contains(rel, "/") && d.IsDir() { // the organisations' folders, named alike on purpose
			} else {
				v.names[strings.TrimSuffix(d.Name(), ".pgp")] = true
			}
			if !d.IsDir() {
				v.sizes[strconv.FormatInt(info.Size(), 10)] = true
			}
			v.times[info.ModTime().UTC().Format(time.RFC3339Nano)] = true
			// The time of the last read too: a mount with relatime records the first read of an
			// answer to the nanosecond unless the drop box reads without it (oNoAtime).
			if st, ok := info.Sys().(*syscall.Stat_t); ok && strings.HasPrefix(path, s.answersRoot()) {
				v.times[time.Unix(st.Atim.Sec, st.Atim.Nsec).UTC().Format(time.RFC3339Nano)] = true
			}
			return nil
		})
		return v
	}
	spool, box := read(s.root), read(s.answersRoot())
	if len(spool.names) == 0 || len(box.names) != 2 {
		t.Fatalf("the trees: spool %v, answers %v", spool.names, box.names)
	}
	for _, what := range []struct {
		kind string
		a, b map[string]bool
	}{{"name", spool.names, box.names}, {"size", spool.sizes, box.sizes}} {
		for v := range what.a {
			if what.b[v] {
				t.Errorf("the %s %q is in the spool and in the answers", what.kind, v)
			}
		}
	}
	// Times may be shared, as long as each is only a day: both trees keep nothing finer, so a
	// complaint and an answer of the same day look like any two of that day.
	for where, times := range map[string]map[string]bool{"spool": spool.times, "answers": box.times} {
		for tm := range times {
			if parsed, _ := time.Parse(time.RFC3339Nano, tm); !parsed.Equal(dayOf(parsed)) {
				t.Errorf("the %s hold the time %s, finer than a day", where, tm)
			}
		}
	}
	// What the complaint carries, and the token, are nowhere in the log.
	logs := s.log()
	for _, leak := range []string{k.TokenText(), k.Lookup, k.Case, k.AnswerPass, c.Digits(), id} {
		if strings.Contains(logs, leak) {
			t.Errorf("the log holds %q", leak)
		}
	}
}

// The rate limiter alone, at its edges, without a server.
func TestMailboxChecksRefill(t *testing.T) {
	clock := time.Unix(0, 0)
	m := newMailboxChecks(1, 2)
	m.now = func() time.Time { return clock }
	take := func() bool { ok, _ := m.take(); return ok }
	if !take() || !take() || take() {
		t.Fatal("a burst of 2 takes 2")
	}
	clock = clock.Add(999 * time.Millisecond)
	if take() {
		t.Error("a check was free before a second had passed")
	}
	clock = clock.Add(time.Millisecond)
	if !take() {
		t.Error("no check was free after a second")
	}
	clock = clock.Add(time.Hour)
	if !take() || !take() || take() {
		t.Error("after an hour the burst is still 2")
	}
	_, wait := m.take()
	if wait <= 0 || wait > time.Second {
		t.Errorf("the wait is %s", wait)
	}
}

// Reading answers holds an upload's place while it streams, so slow readers are bounded like slow
// uploads; with every place taken, a full mailbox and a wrong token get the same busy answer.
func TestReadingAnswersHoldsAnUploadPlace(t *testing.T) {
	s := startServer(t, func(c *config.Dropbox) { manyChecks(c); c.MaxUploads = 2 })
	a := newMailbox(t)
	s.importInto(t, time.Now(), map[string][]byte{"kok/" + a.lookup + "/" + randomID() + ".pgp": encryptAnswer(t, a.pass, "Antwort", nil)})
	wrong := newMailbox(t)
	for range 2 {
		s.srv.uploads <- struct{}{}
	}
	var bodies [][]byte
	for _, token := range []string{a.token, wrong.token} {
		code, raw, h := s.check(t, "/api/v1/orgs/kok/answers", "application/json", tokenBody(token))
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Errorf("with every place taken: %d %s", code, raw)
		}
		bodies = append(bodies, raw)
	}
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Errorf("a full mailbox and a wrong token are told apart when busy: %q, %q", bodies[0], bodies[1])
	}
	<-s.srv.uploads
	if list := s.readAnswers(t, "kok", a.token); len(list.Answers) != 1 {
		t.Errorf("with a place free again: %+v", list)
	}
	if len(s.srv.uploads) != 1 {
		t.Errorf("the read kept its place: %d taken, want the 1 still held", len(s.srv.uploads))
	}
}
