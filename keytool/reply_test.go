package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/submission"
)

var regexpDigit = regexp.MustCompile(`\p{Nd}`)

// replyRun runs keytool reply in this process with stdin as its standard input (not a terminal)
// and no $EDITOR.
func replyRun(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("EDITOR", "")
	var out, errOut bytes.Buffer
	root := newRootCmd(strings.NewReader(stdin), &out, &errOut)
	root.SetArgs(append([]string{"reply"}, args...))
	err := root.Execute()
	return out.String() + errOut.String(), err
}

// answerCase makes a case folder as keytool decrypt does for a first complaint sent with the
// codename of codenameKeys, in lang through procedure, and returns CASES and its id.
func answerCase(t *testing.T, lang, procedure string) (string, string) {
	t.Helper()
	keys := codenameKeys(t)
	cases := filepath.Join(t.TempDir(), "cases")
	id := "0123456789abcdef0123456789abcdef"
	fu, _ := json.Marshal(keys.FirstComplaint())
	sub, _ := json.Marshal(submission.Submission{Procedure: procedure, Lang: lang, Fields: []submission.Field{}, Attachments: []submission.Attachment{}, Followup: fu})
	writeFiles(t, map[string][]byte{
		filepath.Join(cases, id, "submission.json"): sub,
		filepath.Join(cases, id, followupFile):      fu,
		filepath.Join(cases, id, "summary.txt"):     []byte("Submission " + id + "\n"),
	})
	return cases, id
}

// outboxAnswers lists the answers in an outbox.
func outboxAnswers(t *testing.T, outbox string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(outbox, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	return files
}

// readAnswer checks an encrypted answer as the drop box does and reads it as the person's
// browser does, with the case's answer_pass.
func readAnswer(t *testing.T, path string) (*answers.Answer, [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := answers.Validate(f, answers.MaxCiphertext); err != nil {
		t.Fatalf("Validate refuses the answer: %v", err)
	}
	f.Seek(0, io.SeekStart)
	plain, err := answers.Decrypt(f, codenameKeys(t).AnswerPass)
	if err != nil {
		t.Fatal(err)
	}
	r, err := answers.NewReader(plain)
	if err != nil {
		t.Fatal(err)
	}
	var bodies [][]byte
	for {
		_, body, err := r.Next()
		if err == io.EOF {
			break
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
	if _, err := io.Copy(io.Discard, plain); err != nil {
		t.Fatalf("the last authentication tag: %v", err)
	}
	return r.Answer(), bodies
}

func TestReplyWritesAnAnswerThePersonCanRead(t *testing.T) {
	cases, id := answerCase(t, "ar", "kok-complaints")
	keys := codenameKeys(t)
	dir := t.TempDir()
	outbox := filepath.Join(dir, "outbox")
	text := "مرحبًا،\r\nشكرًا. 你好 <b>not bold</b>\u2028\n"
	pdf := make([]byte, 70000)
	rand.Read(pdf)
	writeFiles(t, map[string][]byte{
		filepath.Join(dir, "answer.txt"):        []byte(text),
		filepath.Join(dir, "Beslissing 1.pdf"):  pdf,
		filepath.Join(dir, "leer"):              {},
		filepath.Join(dir, ".hidden\u202e.txt"): []byte("x"),
	})
	day := time.Now().UTC().Format(time.DateOnly)
	stdout, err := replyRun(t, "", "--cases", cases, "--case", id, "--out", outbox, "--text", filepath.Join(dir, "answer.txt"),
		"--attach", filepath.Join(dir, "Beslissing 1.pdf"), "--attach", filepath.Join(dir, "leer"), "--attach", filepath.Join(dir, ".hidden\u202e.txt"))
	if err != nil {
		t.Fatalf("reply: %v\n%s", err, stdout)
	}
	if strings.Contains(stdout, keys.Lookup) || strings.Contains(stdout, keys.AnswerPass) {
		t.Errorf("reply printed the mailbox or the passphrase:\n%s", stdout)
	}
	files := outboxAnswers(t, outbox)
	if len(files) != 1 {
		t.Fatalf("the outbox holds %v; want one answer", files)
	}
	rel, _ := filepath.Rel(outbox, files[0])
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) != 3 || parts[0] != "kok" || parts[1] != keys.Lookup || !idRE.MatchString(strings.TrimSuffix(parts[2], ".pgp")) || !strings.HasSuffix(parts[2], ".pgp") {
		t.Errorf("the answer is at %s; want kok/<lookup>/<32 hex>.pgp", rel)
	}
	for _, p := range []string{outbox, filepath.Join(outbox, "kok"), filepath.Dir(files[0]), files[0]} {
		info, _ := os.Stat(p)
		if want := fs.FileMode(0o700); info.IsDir() && info.Mode().Perm() != want || !info.IsDir() && info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", p, info.Mode().Perm())
		}
	}

	a, bodies := readAnswer(t, files[0])
	if a.Text != text || a.Lang != "ar" || a.Day != day {
		t.Errorf("the answer reads %q in %s on %s; want %q in ar (the complaint's) on %s", a.Text, a.Lang, a.Day, text, day)
	}
	wantNames := []string{"Beslissing 1.pdf", "leer", "_.hidden_.txt"} // answers.CleanName
	wantBodies := [][]byte{pdf, {}, []byte("x")}
	if len(a.Attachments) != 3 || len(bodies) != 3 {
		t.Fatalf("the answer has %d attachments; want 3", len(a.Attachments))
	}
	for i := range wantNames {
		if a.Attachments[i].Name != wantNames[i] || !bytes.Equal(bodies[i], wantBodies[i]) {
			t.Errorf("attachment %d is %q, %d bytes; want %q, %d bytes, byte for byte", i+1, a.Attachments[i].Name, len(bodies[i]), wantNames[i], len(wantBodies[i]))
		}
	}
	if a.Attachments[0].Type != "application/pdf" {
		t.Errorf("the PDF is sent as %q", a.Attachments[0].Type)
	}

	// The case folder shows what was sent.
	copyDir := filepath.Join(cases, id, "answers", "01-"+day)
	if got, err := os.ReadFile(filepath.Join(copyDir, "text.txt")); err != nil || string(got) != text {
		t.Errorf("the copy's text is %q (%v)", got, err)
	}
	for i, name := range wantNames {
		if got, err := os.ReadFile(filepath.Join(copyDir, "attachments", fmt.Sprintf("%02d-%s", i+1, name))); err != nil || !bytes.Equal(got, wantBodies[i]) {
			t.Errorf("the copy of attachment %d: %v", i+1, err)
		}
	}
	if note, _ := os.ReadFile(filepath.Join(copyDir, "sent.txt")); !strings.Contains(string(note), strings.TrimSuffix(parts[2], ".pgp")) {
		t.Errorf("sent.txt does not name the answer's file: %s", note)
	}

	// A second answer, from standard input, in another language, gets the next number.
	if out, err := replyRun(t, "Second answer.\n", "--cases", cases, "--case", id, "--out", outbox, "--lang", "en"); err != nil {
		t.Fatalf("second reply: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(cases, id, "answers", "02-"+day, "text.txt")); err != nil || string(got) != "Second answer.\n" {
		t.Errorf("the second copy: %q (%v)", got, err)
	}
	if files := outboxAnswers(t, outbox); len(files) != 2 {
		t.Errorf("the outbox holds %d answers; want 2", len(files))
	}
}

func TestReplyLimits(t *testing.T) {
	cases, id := answerCase(t, "de", "kok-complaints")
	dir := t.TempDir()
	atLimitText := strings.Repeat("ü", answers.MaxText/2) // exactly MaxText bytes of UTF-8
	big := make([]byte, answers.MaxAttachmentBytes-1)
	writeFiles(t, map[string][]byte{
		filepath.Join(dir, "limit.txt"): []byte(atLimitText),
		filepath.Join(dir, "over.txt"):  []byte(atLimitText + "x"),
		filepath.Join(dir, "short.txt"): []byte("Siehe Anhang.\n"),
		filepath.Join(dir, "big.bin"):   big,
		filepath.Join(dir, "one"):       {1},
		filepath.Join(dir, "two"):       {1, 2},
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, c := range []struct {
		name string
		args []string
		want string // "" when the answer is written
	}{
		{"text at the limit", []string{"--text", p("limit.txt")}, ""},
		{"text one byte over", []string{"--text", p("over.txt")}, "the answer's text is 262145 bytes, and an answer holds at most 262144 (256 KiB)"},
		{"template and own text at the limit together", []string{"--template", "received", "--text", p("limit.txt")}, "an answer holds at most 262144"},
		{"attachments at the limit", []string{"--text", p("short.txt"), "--attach", p("big.bin"), "--attach", p("one")}, ""},
		{"attachments one byte over", []string{"--text", p("short.txt"), "--attach", p("big.bin"), "--attach", p("two")}, "the attachments are 26214401 bytes together, and an answer holds at most 26214400 (25 MiB)"},
		{"empty", []string{}, "the answer is empty"},
		{"a folder to attach", []string{"--text", p("short.txt"), "--attach", dir}, "is not a file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			outbox := filepath.Join(t.TempDir(), "outbox")
			before := snapshot(t, filepath.Join(cases, id))
			out, err := replyRun(t, "", append([]string{"--cases", cases, "--case", id, "--out", outbox}, c.args...)...)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, out)
				}
				if files := outboxAnswers(t, outbox); len(files) != 1 {
					t.Fatalf("the outbox holds %v", files)
				} else if a, _ := readAnswer(t, files[0]); len(a.Text) == 0 {
					t.Errorf("the answer has no text")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("error = %v; want one saying %q and that nothing was written", err, c.want)
			}
			if files := outboxAnswers(t, outbox); len(files) != 0 {
				t.Errorf("a refused answer left %v in the outbox", files)
			}
			if after := snapshot(t, filepath.Join(cases, id)); after != before {
				t.Errorf("a refused answer changed the case folder")
			}
		})
	}
}

func TestReplyRefusesWhatCannotBeAnswered(t *testing.T) {
	staff, _ := policytest.Staff(t)
	ana := staff[0]
	keys := codenameKeys(t)
	dir := t.TempDir()
	in, cases, outbox := filepath.Join(dir, "spool"), filepath.Join(dir, "cases"), filepath.Join(dir, "outbox")
	const (
		plain  = "11111111111111111111111111111111"
		orphan = "22222222222222222222222222222222"
	)
	orphanMsg, _ := codenameMessage(t, ana, keys.FollowUp(), "Noch etwas.")
	writeFiles(t, map[string][]byte{
		filepath.Join(in, plain+".pgp"):  message(t, ana),
		filepath.Join(in, orphan+".pgp"): orphanMsg,
		filepath.Join(dir, "a.txt"):      []byte("Hallo"),
	})
	decryptRun(t, ana, in, cases)
	for _, c := range []struct{ name, id, want string }{
		{"sent without a codename", plain, "this complaint was sent without a codename; it cannot be answered through the site"},
		{"a follow-up without its case", orphan, orphan + " is a follow-up whose first complaint is not among the cases in " + cases},
		{"no such case", "33333333333333333333333333333333", "there is no case 33333333333333333333333333333333 in " + cases},
		{"not an id", "../" + plain, "give the case folder's name, 32 lower-case hex digits"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := replyRun(t, "", "--cases", cases, "--case", c.id, "--out", outbox, "--text", filepath.Join(dir, "a.txt"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v; want one saying %q", err, c.want)
			}
			if _, err := os.Stat(outbox); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the outbox was made (%v)", err)
			}
		})
	}
}

func TestReplyTemplateFlags(t *testing.T) {
	cases, id := answerCase(t, "ru", "child-integrity-contact")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--template", "contact-soon"}, "--template contact-soon needs --days N"},
		{[]string{"--template", "contact-soon", "--days", "0"}, "give a number of working days from 1 to 260"},
		{[]string{"--template", "received", "--days", "3"}, "--days is only for --template contact-soon"},
		{[]string{"--template", "thanks"}, `there is no ready-made answer "thanks"; choose one of received, contact-soon, outcome-coming`},
		{[]string{"--template", "received", "--lang", "pt"}, `the ready-made answer received has no text in "pt"`},
		{[]string{"--template", "received", "--audience", "teens"}, "give adults or children"},
	} {
		outbox := filepath.Join(t.TempDir(), "outbox")
		_, err := replyRun(t, "", append([]string{"--cases", cases, "--case", id, "--out", outbox}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error = %v; want one saying %q", c.args, err, c.want)
		}
	}

	// A child's case gets the children's text, in the complaint's language, with the staff's own
	// words after it.
	dir := t.TempDir()
	outbox := filepath.Join(dir, "outbox")
	writeFiles(t, map[string][]byte{filepath.Join(dir, "own.txt"): []byte("Лиен")})
	if out, err := replyRun(t, "", "--cases", cases, "--case", id, "--out", outbox, "--template", "contact-soon", "--days", "3", "--text", filepath.Join(dir, "own.txt")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	a, _ := readAnswer(t, outboxAnswers(t, outbox)[0])
	want, _ := renderTemplate("contact-soon", "ru", "children", 3)
	if a.Text != want+"\n\nЛиен" || !strings.Contains(a.Text, "с тобой в течение 3 рабочих дней") || a.Lang != "ru" {
		t.Errorf("the answer is %q in %s", a.Text, a.Lang)
	}
}

func TestTemplatesRenderInEveryLanguage(t *testing.T) {
	for _, name := range templateNames {
		tmpl, err := loadTemplate(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(tmpl) != len(siteLanguages) {
			t.Errorf("%s has %d languages; want all %d of the site", name, len(tmpl), len(siteLanguages))
		}
		for _, lang := range siteLanguages {
			for _, audience := range []string{"adults", "children"} {
				days := []int{0}
				if name == daysTemplate {
					days = []int{1, 2, 3, 4, 5, 10, 11, 12, 14, 19, 20, 21, 22, 25, 100, 101, 111, maxDays}
				}
				for _, n := range days {
					text, err := renderTemplate(name, lang, audience, n)
					if err != nil {
						t.Fatalf("%s %s %s: %v", name, lang, audience, err)
					}
					if len([]rune(strings.TrimSpace(text))) < 20 || strings.ContainsAny(text, "{}") || strings.Contains(text, "\n") {
						t.Errorf("%s %s %s %d: %q", name, lang, audience, n, text)
					}
					// Arabic writes one and two days in words.
					if name == daysTemplate && !strings.Contains(text, " "+strconv.Itoa(n)+" ") && !strings.Contains(text, "在"+strconv.Itoa(n)+"个") && !(lang == "ar" && n <= 2) {
						t.Errorf("%s %s %s: %d is not in %q", name, lang, audience, n, text)
					}
					if name != daysTemplate && regexpDigit.MatchString(text) {
						t.Errorf("%s %s %s has a number: %q", name, lang, audience, text)
					}
				}
			}
		}
	}
}

func TestPluralCategories(t *testing.T) {
	for _, c := range []struct {
		lang string
		want map[int]string
	}{
		{"en", map[int]string{1: "one", 2: "other", 21: "other"}},
		{"fr", map[int]string{1: "one", 2: "other"}},
		{"zh", map[int]string{1: "other", 2: "other"}},
		{"ru", map[int]string{1: "one", 2: "few", 4: "few", 5: "many", 11: "many", 12: "many", 21: "one", 22: "few", 111: "many"}},
		{"uk", map[int]string{1: "one", 3: "few", 14: "many", 31: "one"}},
		{"ro", map[int]string{1: "one", 2: "few", 19: "few", 20: "other", 101: "few", 120: "other"}},
		{"ar", map[int]string{1: "one", 2: "two", 3: "few", 10: "few", 11: "many", 99: "many", 100: "other", 103: "few"}},
	} {
		for n, want := range c.want {
			if got := pluralCategory(c.lang, n); got != want {
				t.Errorf("pluralCategory(%s, %d) = %s; want %s", c.lang, n, got, want)
			}
		}
	}
}

func TestReplyTakesTheTextFromTheEditor(t *testing.T) {
	cases, id := answerCase(t, "nl", "kok-complaints")
	outbox := filepath.Join(t.TempDir(), "outbox")
	// keytool runs $EDITOR with the draft's path as its last argument, as a shell would.
	t.Setenv("EDITOR", `printf 'Uit de editor\n' >`)
	var out bytes.Buffer
	root := newRootCmd(strings.NewReader("not this"), &out, &out)
	root.SetArgs([]string{"reply", "--cases", cases, "--case", id, "--out", outbox})
	if err := root.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if a, _ := readAnswer(t, outboxAnswers(t, outbox)[0]); a.Text != "Uit de editor\n" || a.Lang != "nl" {
		t.Errorf("the answer is %q in %s", a.Text, a.Lang)
	}
	if drafts, _ := filepath.Glob(filepath.Join(cases, id, ".answer-draft-*")); len(drafts) != 0 {
		t.Errorf("the draft is still there: %v", drafts)
	}
}
