package site

// The answers pages (docs/answers.md, "The answers page"), as built: every organisation has one
// in every language, with its three outputs. The page carries what js/answers.js needs (the
// routes, the organisation's keys exactly as its forms carry them, the messages) and says the
// retention the drop box applies; result.html is a Go html/template with [[ ]] delimiters that
// survived Hugo's minifier, runs with the contract's data names and escapes an answer's text;
// answers.json names its page; every procedure page with a form links to its answers page.

import (
	"bytes"
	"encoding/json"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// answersPage is one built /<lang>/answers/<org>/.
type answersPage struct {
	lang, org string
	dir       string // <lang>/answers/<org>
}

// builtAnswersPages lists the answers pages of the built site, in whatever languages it has.
func builtAnswersPages(t *testing.T, s *builtSite) []answersPage {
	t.Helper()
	var out []answersPage
	for _, p := range s.sortedPages() {
		parts := strings.Split(p.path, "/")
		if len(parts) == 4 && parts[1] == "answers" && parts[3] == "index.html" {
			out = append(out, answersPage{lang: parts[0], org: parts[2], dir: path.Dir(p.path)})
		}
	}
	if len(out) == 0 {
		t.Fatalf("no answers page in %s (content/answers/<organisation>/index.<lang>.md)", publicDir())
	}
	return out
}

func byID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if found == nil && n.Type == html.ElementNode {
			if v, _ := attr(n, "id"); v == id {
				found = n
			}
		}
	})
	return found
}

// elements lists the elements with this tag under n.
func elements(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	walk(n, func(c *html.Node) {
		if c.Type == html.ElementNode && c.Data == tag {
			out = append(out, c)
		}
	})
	return out
}

// field is the control with this name inside a form.
func field(form *html.Node, name string) *html.Node {
	for _, tag := range []string{"input", "textarea"} {
		for _, n := range elements(form, tag) {
			if v, _ := attr(n, "name"); v == name {
				return n
			}
		}
	}
	return nil
}

// rawText is the text under n as it is, white space and all.
func rawText(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

// words is text with its runs of white space made one space, trimmed.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// retentionDays is the answer_retention of config.toml (and of the environment's params over
// it), in whole days, as the drop box applies it.
func retentionDays(t *testing.T) int {
	t.Helper()
	var cfg struct {
		Params struct {
			Dropbox struct {
				AnswerRetention string `toml:"answer_retention"`
			} `toml:"dropbox"`
		} `toml:"params"`
	}
	decodeFile(t, "../config.toml", &cfg)
	retention := cfg.Params.Dropbox.AnswerRetention
	env := os.Getenv("HUGO_ENVIRONMENT")
	if env == "" {
		env = "production"
	}
	if over := filepath.Join("..", "config", env, "params.toml"); fileExists(over) {
		var params struct {
			Dropbox struct {
				AnswerRetention string `toml:"answer_retention"`
			} `toml:"dropbox"`
		}
		decodeFile(t, over, &params)
		if params.Dropbox.AnswerRetention != "" {
			retention = params.Dropbox.AnswerRetention
		}
	}
	if retention == "" {
		retention = "2160h" // the drop box's default
	}
	d, err := time.ParseDuration(retention)
	if err != nil {
		t.Fatalf("config.toml: answer_retention %q: %v", retention, err)
	}
	return int(d.Hours() / 24)
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// TestAnswersPagesInEveryLanguage: every organisation of config.toml has its answers page, with
// result.html and answers.json, in every language.
func TestAnswersPagesInEveryLanguage(t *testing.T) {
	s := site(t)
	for _, lang := range languages {
		for id := range configuredOrganisations(t) {
			for _, f := range []string{"index.html", "result.html", "answers.json"} {
				if p := path.Join(lang, "answers", id, f); !s.files[p] {
					t.Errorf("missing /%s (content/answers/%s/index.%s.md)", p, id, lang)
				}
			}
		}
	}
}

// formKeys is the data-keys of the forms of one organisation in one language, by form page:
// the keys as the forms carry them.
func formKeys(t *testing.T, s *builtSite, lang, org string) map[string]*string {
	t.Helper()
	out := map[string]*string{}
	matches, _ := fs.Glob(s.fsys, lang+"/forms/*/form.json")
	for _, m := range matches {
		var f struct {
			Organisation string `json:"organisation"`
		}
		b, err := fs.ReadFile(s.fsys, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if f.Organisation != org {
			continue
		}
		p := s.pages[path.Join(path.Dir(m), "index.html")]
		if p == nil {
			continue
		}
		for _, n := range elements(p.doc, "form") {
			if _, ok := attr(n, "data-endpoint"); ok {
				var keys *string
				if v, ok := attr(n, "data-keys"); ok {
					keys = &v
				}
				out[p.path] = keys
			}
		}
	}
	return out
}

// TestAnswersPage: the page's parts as docs/answers.md's table names them, the organisation's
// keys as its forms and /keys/<org>.asc have them, its script exactly when it has keys, and the
// retention the drop box applies.
func TestAnswersPage(t *testing.T) {
	s := site(t)
	days := retentionDays(t)
	digits := regexp.MustCompile(`\p{Nd}+`)
	for _, ap := range builtAnswersPages(t, s) {
		p := s.pages[ap.dir+"/index.html"]
		base := "/api/v1/orgs/" + ap.org
		open := byID(p.doc, "answers-open")
		if open == nil || open.Data != "form" {
			t.Errorf("%s: no form#answers-open", p.path)
			continue
		}
		want := map[string]string{
			"method": "post", "action": base + "/answers-page/" + ap.lang,
			"data-org": ap.org, "data-lang": ap.lang, "data-read": base + "/answers",
			"data-delete": base + "/answers/delete", "data-submit": base + "/submissions",
		}
		for k, v := range want {
			if got, _ := attr(open, k); got != v {
				t.Errorf("%s: form#answers-open %s=%q, want %q", p.path, k, got, v)
			}
		}
		for _, k := range []string{"data-max-bytes", "data-more-label", "data-msg-char", "data-msg-none", "data-msg-sent"} {
			if v, _ := attr(open, k); v == "" {
				t.Errorf("%s: form#answers-open has no %s", p.path, k)
			}
		}

		// The organisation's keys, exactly as its forms carry them.
		keys, hasKeys := attr(open, "data-keys")
		asc, ascErr := fs.ReadFile(s.fsys, "keys/"+ap.org+".asc")
		switch {
		case hasKeys && ascErr != nil:
			t.Errorf("%s: data-keys, but the organisation publishes no /keys/%s.asc", p.path, ap.org)
		case !hasKeys && ascErr == nil:
			t.Errorf("%s: no data-keys, but the organisation has keys (/keys/%s.asc)", p.path, ap.org)
		case hasKeys:
			var armored string
			if err := json.Unmarshal([]byte(keys), &armored); err != nil || armored != string(asc) {
				t.Errorf("%s: data-keys is not /keys/%s.asc as JSON (%v)", p.path, ap.org, err)
			}
		}
		forms := formKeys(t, s, ap.lang, ap.org)
		for form, fk := range forms {
			if (fk == nil) != !hasKeys || fk != nil && *fk != keys {
				t.Errorf("%s: data-keys differs from the form's on %s", p.path, form)
			}
		}
		var scripts []string
		for _, n := range elements(p.doc, "script") {
			if src, _ := attr(n, "src"); strings.Contains(src, "/js/answers.") {
				scripts = append(scripts, src)
			}
		}
		if hasKeys != (len(scripts) == 1) {
			t.Errorf("%s: %d answers scripts with keys %v; want one exactly when it has keys", p.path, len(scripts), hasKeys)
		}

		input := byID(p.doc, "codename")
		if input == nil || input.Data != "input" {
			t.Errorf("%s: no input#codename", p.path)
		} else {
			for k, v := range map[string]string{"name": "codename", "autocomplete": "off", "spellcheck": "false", "inputmode": "numeric", "dir": "ltr"} {
				if got, _ := attr(input, k); got != v {
					t.Errorf("%s: input#codename %s=%q, want %q", p.path, k, got, v)
				}
			}
		}
		status := byID(p.doc, "answers-status")
		if role, _ := attr(status, "role"); status == nil || role != "status" {
			t.Errorf("%s: no #answers-status with role=status", p.path)
		} else if live, _ := attr(status, "aria-live"); live != "polite" {
			t.Errorf("%s: #answers-status aria-live=%q, want polite", p.path, live)
		}
		for id, tag := range map[string]string{"answers-list": "section", "answers-more": "form", "answers-forget": "button"} {
			n := byID(p.doc, id)
			if n == nil || n.Data != tag {
				t.Errorf("%s: no %s#%s", p.path, tag, id)
			} else if _, hidden := attr(n, "hidden"); !hidden {
				t.Errorf("%s: %s#%s is not hidden until answers were read", p.path, tag, id)
			}
		}
		if more := byID(p.doc, "answers-more"); more != nil {
			checkMoreFields(t, s, p.path, more, ap.lang)
		}

		// The retention, in days, as the drop box applies it, and no other number.
		kept := byClass(p.doc, "answers-kept")
		if len(kept) != 1 {
			t.Errorf("%s: %d paragraphs on how long answers are kept (class answers-kept), want 1", p.path, len(kept))
		} else if got := digits.FindAllString(textOf(kept[0]), -1); len(got) != 1 || got[0] != strconv.Itoa(days) {
			t.Errorf("%s: says answers are kept %v days, want %d (answer_retention in config.toml): %q", p.path, got, days, textOf(kept[0]))
		}
	}
}

// checkMoreFields: the write-more form has the complaint form's limits: a textarea named more
// with the forms' maxlength, and files.
func checkMoreFields(t *testing.T, s *builtSite, where string, more *html.Node, lang string) {
	t.Helper()
	text := field(more, "more")
	if text == nil || text.Data != "textarea" {
		t.Errorf("%s: the write-more form has no textarea name=more", where)
	} else {
		got, _ := attr(text, "maxlength")
		matches, _ := fs.Glob(s.fsys, lang+"/forms/*/index.html")
		for _, m := range matches {
			for _, ta := range elements(s.pages[m].doc, "textarea") {
				if want, _ := attr(ta, "maxlength"); want != got {
					t.Errorf("%s: textarea maxlength=%q, the form %s has %q", where, got, m, want)
				}
			}
		}
	}
	files := field(more, "files")
	if files == nil {
		t.Errorf("%s: the write-more form has no input name=files", where)
	} else if typ, _ := attr(files, "type"); typ != "file" {
		t.Errorf("%s: input name=files is type %q", where, typ)
	} else if _, ok := attr(files, "multiple"); !ok {
		t.Errorf("%s: input name=files does not take several files", where)
	}
}

// The data of result.html, with the names and types of the drop box's answersPage
// (docs/answers.md): a name the template uses that is not here fails the execution.
type resultFile struct {
	N          int
	Name, Size string
}

type resultAnswer struct {
	ID, Day, Lang, Text string
	Files               []resultFile
}

type resultData struct {
	Codename, Error string
	ErrPos          int
	ErrChar         string
	ErrCount        int
	Read            bool
	Answers         []resultAnswer
	Broken          int
	Deleted         bool
	Sent            string
}

// message is one of the page's data-msg-* with its {placeholders} filled in, as the script does.
func message(t *testing.T, open *html.Node, key string, values map[string]string) string {
	t.Helper()
	s, ok := attr(open, "data-msg-"+key)
	if !ok {
		t.Fatalf("the page has no data-msg-%s", key)
	}
	for k, v := range values {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return words(s)
}

// run executes result.html with d and parses what it wrote.
func run(t *testing.T, tmpl *htmltemplate.Template, d resultData) (string, *html.Node) {
	t.Helper()
	var b bytes.Buffer
	if err := tmpl.Execute(&b, d); err != nil {
		t.Fatalf("executing with %+v: %v", d, err)
	}
	out := b.String()
	if strings.Contains(out, "[[") || strings.Contains(out, "]]") {
		i := max(strings.Index(out, "[["), strings.Index(out, "]]"))
		t.Errorf("a delimiter was left in the output, so an action did not survive the build: %q", out[max(0, i-80):min(len(out), i+80)])
	}
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return out, doc
}

// warnings are the texts of the page's warnings (class warn).
func warnings(doc *html.Node) []string {
	var out []string
	for _, n := range byClass(doc, "warn") {
		out = append(out, words(textOf(n)))
	}
	return out
}

// TestAnswersResult: every result.html parses as the drop box parses it, runs with each error,
// with answers and without, escapes what an answer holds, and posts the codename only in the
// body of forms to its own routes.
func TestAnswersResult(t *testing.T) {
	s := site(t)
	const codename = "48213 09375 11842 66301 72845 2"
	const id1, id2, sent = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "00112233445566778899aabbccddeeff"
	for _, ap := range builtAnswersPages(t, s) {
		file := ap.dir + "/result.html"
		t.Run(file, func(t *testing.T) {
			b, err := fs.ReadFile(s.fsys, file)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := htmltemplate.New("result.html").Delims("[[", "]]").Parse(string(b))
			if err != nil {
				t.Fatalf("does not parse as the drop box parses it: %v", err)
			}
			open := byID(s.pages[ap.dir+"/index.html"].doc, "answers-open")
			if open == nil {
				t.Fatal("the page has no form#answers-open")
			}
			page := "/api/v1/orgs/" + ap.org + "/answers-page/" + ap.lang

			// No codename accepted: each error, and the codename form again.
			errs := map[string]string{
				"char":        message(t, open, "char", map[string]string{"pos": "7", "char": `"><i>O`}),
				"length":      message(t, open, "length", map[string]string{"count": "25"}),
				"check":       message(t, open, "check", nil),
				"busy":        message(t, open, "busy", nil),
				"failed":      message(t, open, "failed", nil),
				"too_large":   message(t, open, "too-large", nil),
				"more_failed": message(t, open, "more-failed", nil),
			}
			for kind, want := range errs {
				out, doc := run(t, tmpl, resultData{Error: kind, ErrPos: 7, ErrChar: `"><i>O`, ErrCount: 25})
				if got := warnings(doc); len(got) != 1 || got[0] != want {
					t.Errorf("error %s: says %q, want %q", kind, got, want)
				}
				if strings.Contains(out, `"><i>O`) {
					t.Errorf("error %s: the character typed is not escaped", kind)
				}
			}
			_, doc := run(t, tmpl, resultData{})
			if got := warnings(doc); len(got) != 0 {
				t.Errorf("no error, yet it warns: %q", got)
			}
			f := byID(doc, "answers-open")
			if f == nil {
				t.Fatal("without a codename, no form#answers-open")
			}
			if action, _ := attr(f, "action"); action != page {
				t.Errorf("form#answers-open posts to %q, want %q", action, page)
			}
			if field(f, "codename") == nil {
				t.Errorf("form#answers-open has no codename field")
			}
			if byID(doc, "answers-list") != nil || byID(doc, "answers-more") != nil {
				t.Errorf("without a codename, it shows answers or the write-more form")
			}

			// Answers read: escaped, each with its files and a delete form.
			d := resultData{Codename: codename, Read: true, Broken: 1, Deleted: true, Sent: sent, Answers: []resultAnswer{
				{ID: id1, Day: "2027-01-02", Lang: "ar", Text: "<script>alert(1)</script>\nسطر & \"quoted\"", Files: []resultFile{
					{N: 1, Name: `a"><script>.pdf`, Size: "1.2 MB"}, {N: 2, Name: "leeg.txt", Size: "0 B"}}},
				{ID: id2, Day: "2027-01-01", Lang: "de", Text: "\nGuten Tag,\n\n  eingerückt\n"},
			}}
			out, doc := run(t, tmpl, d)
			if strings.Contains(out, "<script>alert") || strings.Contains(out, `"><script>`) {
				t.Errorf("an answer's text or file name is not escaped")
			}
			if byID(doc, "answers-open") != nil {
				t.Errorf("with a codename, the codename form is shown again")
			}
			arts := byClass(doc, "answer")
			if len(arts) != 2 {
				t.Fatalf("%d answers shown, want 2", len(arts))
			}
			for i, a := range d.Answers {
				pres := elements(arts[i], "pre")
				if len(pres) != 1 {
					t.Errorf("answer %d: %d pre elements, want 1", i+1, len(pres))
					continue
				}
				if got := rawText(pres[0]); got != a.Text {
					t.Errorf("answer %d: text %q, want %q", i+1, got, a.Text)
				}
				if lang, _ := attr(pres[0], "lang"); lang != a.Lang {
					t.Errorf("answer %d: lang=%q, want %q", i+1, lang, a.Lang)
				}
				if got, want := words(textOf(elements(arts[i], "h3")[0])), message(t, open, "from", map[string]string{"day": a.Day}); got != want {
					t.Errorf("answer %d: heading %q, want %q", i+1, got, want)
				}
				forms := elements(arts[i], "form")
				if len(forms) != len(a.Files)+1 {
					t.Errorf("answer %d: %d forms, want one per file and one to delete", i+1, len(forms))
					continue
				}
				for j, f := range a.Files {
					checkResultForm(t, forms[j], page+"/file", map[string]string{"codename": codename, "id": a.ID, "n": strconv.Itoa(f.N)})
					if got, want := words(textOf(forms[j])), message(t, open, "save", map[string]string{"name": f.Name, "size": f.Size}); got != want {
						t.Errorf("answer %d, file %d: says %q, want %q", i+1, j+1, got, want)
					}
				}
				checkResultForm(t, forms[len(a.Files)], page+"/delete", map[string]string{"codename": codename, "id": a.ID})
			}
			wantWarn := message(t, open, "broken", map[string]string{"count": "1"})
			if got := warnings(doc); len(got) != 1 || got[0] != wantWarn {
				t.Errorf("with a broken answer: warns %q, want %q", got, wantWarn)
			}
			for _, want := range []string{message(t, open, "sent", map[string]string{"id": sent}), message(t, open, "deleted", nil)} {
				if !strings.Contains(words(textOf(doc)), want) {
					t.Errorf("does not say %q", want)
				}
			}
			if strings.Contains(words(textOf(doc)), message(t, open, "none", nil)) {
				t.Errorf("says there are no answers while it shows two")
			}
			more := byID(doc, "answers-more")
			if more == nil {
				t.Fatal("no form#answers-more")
			}
			checkResultForm(t, more, page+"/more", map[string]string{"codename": codename})
			if enc, _ := attr(more, "enctype"); enc != "multipart/form-data" {
				t.Errorf("form#answers-more enctype=%q, want multipart/form-data", enc)
			}
			checkMoreFields(t, s, file, more, ap.lang)

			// A mailbox without answers.
			_, doc = run(t, tmpl, resultData{Codename: codename, Read: true})
			if !strings.Contains(words(textOf(doc)), message(t, open, "none", nil)) {
				t.Errorf("an empty mailbox does not say there are no answers")
			}
			if len(byClass(doc, "answer")) != 0 || len(warnings(doc)) != 0 {
				t.Errorf("an empty mailbox shows an answer or a warning")
			}
		})
	}
}

// checkResultForm: a form of result.html posts to its route with these hidden fields and no
// codename anywhere but in a hidden field of the body.
func checkResultForm(t *testing.T, f *html.Node, action string, hidden map[string]string) {
	t.Helper()
	if got, _ := attr(f, "action"); got != action {
		t.Errorf("a form posts to %q, want %q", got, action)
	}
	if m, _ := attr(f, "method"); m != "post" {
		t.Errorf("the form to %s has method %q, want post", action, m)
	}
	for name, want := range hidden {
		n := field(f, name)
		if n == nil {
			t.Errorf("the form to %s has no field %s", action, name)
			continue
		}
		typ, _ := attr(n, "type")
		val, _ := attr(n, "value")
		if typ != "hidden" || val != want {
			t.Errorf("the form to %s: %s is type=%q value=%q, want hidden %q", action, name, typ, val, want)
		}
	}
}

// TestAnswersJSON: every answers.json is the contract's object and names its own page.
func TestAnswersJSON(t *testing.T) {
	s := site(t)
	for _, ap := range builtAnswersPages(t, s) {
		file := ap.dir + "/answers.json"
		b, err := fs.ReadFile(s.fsys, file)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		open := byID(s.pages[ap.dir+"/index.html"].doc, "answers-open")
		label, _ := attr(open, "data-more-label")
		want := map[string]any{"organisation": ap.org, "lang": ap.lang, "more_label": label}
		if len(got) != len(want) {
			t.Errorf("%s: keys %v, want organisation, lang and more_label", file, got)
		}
		for k, v := range want {
			if got[k] != v || v == "" {
				t.Errorf("%s: %s = %v, want %q (the page's)", file, k, got[k], v)
			}
		}
	}
}

// TestProceduresLinkToTheirAnswers: every procedure page with a form links to its organisation's
// answers page in its language.
func TestProceduresLinkToTheirAnswers(t *testing.T) {
	s := site(t)
	matches, _ := fs.Glob(s.fsys, "*/forms/*/form.json")
	if len(matches) == 0 {
		t.Fatal("no form.json in the built site")
	}
	for _, m := range matches {
		var f struct {
			Organisation string `json:"organisation"`
			Procedure    string `json:"procedure"`
		}
		b, err := fs.ReadFile(s.fsys, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		lang := strings.SplitN(m, "/", 2)[0]
		proc := s.pages[path.Join(lang, "procedures", f.Procedure, "index.html")]
		if proc == nil {
			t.Errorf("%s: no procedure page %s", m, f.Procedure)
			continue
		}
		if href := "/" + lang + "/answers/" + f.Organisation + "/"; !linksTo(proc.doc, href) {
			t.Errorf("%s does not link to its organisation's answers page %s", proc.path, href)
		}
	}
}
