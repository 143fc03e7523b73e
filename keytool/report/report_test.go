package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/safe-complaints/dropbox/site/rules"
)

// procedures are the rules keytool carries; the tests need the site built (make site).
func procedures(t testing.TB) *rules.Rules {
	t.Helper()
	r, err := rules.Procedures()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	testYear = 2026
	// testNow is the day the test reports are made: its date holds no number from 1 to 4.
	testNow = time.Date(2027, time.January, 15, 10, 0, 0, 0, time.UTC)
)

func dayOf(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func yes() *bool { v := true; return &v }
func no() *bool  { v := false; return &v }

// block is five cases alike, so that every count the report makes of them is a multiple of 5.
type block struct {
	n             int // 5 unless the test wants a small count
	procedure     string
	arrived       string
	channel       string
	contactWanted *bool
	outcome       string
	appealed      bool
	steps         []Step
}

// step is a step due on due and done on done ("" for not done), which took wd working days.
func step(t testing.TB, id, due, done string, wd int) Step {
	s := Step{ID: id, Due: dayOf(t, due), By: "staff", WorkingDays: wd}
	if done != "" {
		s.Done = dayOf(t, done)
	}
	return s
}

// plant is a string that must never be found in a report.
func plant(what string, i int) string { return fmt.Sprintf("PLANTED-%s-%04d-zq", what, i) }

// testCases are the cases of the report tests: every count a multiple of 5 but those of the
// child contact procedure (3 cases, in March), every median 0 or at least 5, every share of at
// most 100 cases; a unique string planted in every string field that the rules do not decide.
func testCases(t testing.TB) []Case {
	const pProc, pChan, pOutcome = "PROCEDURE", "CHANNEL", "OUTCOME"
	blocks := []block{
		{procedure: "kok-complaints", arrived: "2026-01-07", channel: "browser", contactWanted: yes(), outcome: "resolved",
			steps: []Step{step(t, "contact", "2026-01-12", "2026-01-09", 5)}},
		{procedure: "kok-complaints", arrived: "2026-02-10", channel: "browser", contactWanted: yes(), outcome: "resolved",
			steps: []Step{step(t, "contact", "2026-02-13", "2026-02-13", 5)}},
		{procedure: "kok-complaints", arrived: "2026-03-16", channel: "server", contactWanted: no(), outcome: "ended-by-complainant"},
		{procedure: "kok-complaints", arrived: "2026-04-20", channel: "browser", contactWanted: yes(),
			steps: []Step{step(t, "contact", "2026-04-23", "", -1)}},
		// The deadline is still to come on the day of the report: neither kept nor missed.
		{procedure: "kok-complaints", arrived: "2026-12-30", channel: "browser", contactWanted: yes(),
			steps: []Step{step(t, "contact", "2027-01-20", "", -1)}},
		{procedure: "mk-act-complaints", arrived: "2026-05-05", channel: "browser", outcome: "upheld", appealed: true,
			steps: []Step{
				step(t, "formal-acknowledgement", "2026-05-12", "2026-05-07", 5),
				step(t, "formal-handling", "2026-05-19", "2026-05-18", 10),
				step(t, "appeal", "2026-06-02", "2026-05-26", 5),
				step(t, "appeal-acknowledgement", "2026-06-02", "2026-06-01", 5),
				step(t, "appeal-answer", "2026-06-20", "2026-06-30", 20),
			}},
		{procedure: "mk-act-complaints", arrived: "2026-06-08", channel: "server", outcome: "not-upheld",
			steps: []Step{
				step(t, "formal-acknowledgement", "2026-06-15", "2026-06-10", 5),
				step(t, "formal-handling", "2026-06-22", "2026-07-06", 20),
			}},
		{procedure: "mk-act-complaints", arrived: "2026-06-22", channel: pChan, outcome: pOutcome,
			steps: []Step{step(t, "formal-acknowledgement", "2026-06-29", "2026-06-23", 5)}},
		{procedure: pProc, arrived: "2026-07-01", channel: "browser", outcome: "withdrawn"},
		{n: 3, procedure: "child-integrity-contact", arrived: "2026-03-02", channel: "browser",
			steps: []Step{step(t, "first-contact", "2026-03-09", "2026-03-03", 5)}},
		// The year before: not in the report.
		{procedure: pProc, arrived: "2025-12-31", channel: pChan, outcome: pOutcome, contactWanted: yes()},
		{procedure: "kok-complaints", arrived: "2025-06-01", channel: "browser", contactWanted: yes(),
			steps: []Step{step(t, "contact", "2025-06-04", "2025-06-10", 5)}},
	}
	var cases []Case
	i := 0
	for _, b := range blocks {
		n := b.n
		if n == 0 {
			n = 5
		}
		for range n {
			i++
			c := Case{
				Procedure: b.procedure, Organisation: plant("ORGANISATION", i), Channel: b.channel,
				Arrived: dayOf(t, b.arrived), ContactWanted: b.contactWanted, Outcome: b.outcome, Appealed: b.appealed,
			}
			if c.Procedure == pProc {
				c.Procedure = plant(pProc, i)
			}
			if c.Channel == pChan {
				c.Channel = plant(pChan, i)
			}
			if c.Outcome == pOutcome {
				c.Outcome = plant(pOutcome, i)
			}
			for _, s := range b.steps {
				s.By = plant("BY", i)
				c.Steps = append(c.Steps, s)
			}
			c.Steps = append(c.Steps, Step{ID: plant("STEP", i), Due: c.Arrived, Done: c.Arrived, By: "staff", WorkingDays: 0})
			cases = append(cases, c)
		}
	}
	return cases
}

func writeReport(t *testing.T, cases []Case) (dir string, files map[string]string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "report")
	if err := Write(dir, testYear, cases, procedures(t), testNow); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files = map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	if len(files) != 3 || files[HTMLFile] == "" || files[CSVFile] == "" || files[SummaryFile] == "" {
		t.Fatalf("the report's files: %v", slices.Sorted(func(yield func(string) bool) {
			for k := range files {
				if !yield(k) {
					return
				}
			}
		}))
	}
	return dir, files
}

func readCSV(t *testing.T, s string) map[[3]string]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], []string{"section", "procedure", "key", "value"}) {
		t.Fatalf("the CSV's header: %q", rows[0])
	}
	out := map[[3]string]string{}
	for _, r := range rows[1:] {
		k := [3]string{r[0], r[1], r[2]}
		if _, dup := out[k]; dup {
			t.Errorf("the CSV has %v twice", k)
		}
		out[k] = r[3]
	}
	return out
}

// TestNothingOfACaseButCounts: a unique string planted in every string field that the rules do
// not decide is in no file of the report, and no count from 1 to 4 is either.
func TestNothingOfACaseButCounts(t *testing.T) {
	cases := testCases(t)
	_, files := writeReport(t, cases)

	r := procedures(t)
	known := map[string]bool{}
	for _, p := range r.Procedures {
		known[p.Slug] = true
		for _, s := range p.Steps {
			known[s.ID] = true
		}
	}
	for _, v := range append(slices.Clone(channels), outcomes...) {
		known[v] = true
	}
	known["staff"] = true
	var planted []string
	for _, c := range cases {
		planted = append(planted, c.Procedure, c.Organisation, c.Channel, c.Outcome)
		for _, s := range c.Steps {
			planted = append(planted, s.ID, s.By)
		}
	}
	checked := 0
	for _, s := range planted {
		if s == "" || known[s] {
			continue
		}
		checked++
		for name, body := range files {
			if strings.Contains(strings.ToLower(body), strings.ToLower(s)) {
				t.Errorf("%s holds %q, from a case", name, s)
			}
		}
	}
	for name, body := range files {
		if strings.Contains(strings.ToLower(body), "planted") {
			t.Errorf("%s holds a planted string", name)
		}
	}
	if checked < len(cases) {
		t.Fatalf("only %d planted strings in %d cases", checked, len(cases))
	}

	// The counts of 1 to 4 the test made, each in its cell as "<5" and nowhere as a number.
	values := readCSV(t, files[CSVFile])
	for _, k := range [][3]string{
		{"complaints", "child-integrity-contact", "total"},
		{"month", "child-integrity-contact", "2026-03"},
		{"channel", "child-integrity-contact", "browser"},
		{"outcome", "child-integrity-contact", "open"},
	} {
		if v, ok := values[k]; !ok || v != "<5" {
			t.Errorf("CSV %v: %q, want <5", k, v)
		}
	}
	for k, v := range values {
		if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 && n < minShown {
			t.Errorf("CSV %v: %s, a count from 1 to 4", k, v)
		}
	}
	for _, name := range []string{HTMLFile, SummaryFile} {
		text := files[name]
		if name == HTMLFile {
			text = htmlText(t, files[name])
		}
		// The check reads the charts' text too: their axes and the counts at the bars.
		if name == HTMLFile && (!strings.Contains(text, " Feb ") || !strings.Contains(text, " <5 ") || !strings.Contains(text, " 15 ")) {
			t.Errorf("the page's text misses the charts':\n%s", text)
		}
		for _, n := range smallNumbers(text) {
			t.Errorf("%s says %q, a number from 1 to 4", name, n)
		}
		if !strings.Contains(text, "fewer than 5") || !strings.Contains(text, "so that nobody can be recognised") {
			t.Errorf("%s does not say fewer than 5 and why", name)
		}
	}
}

var number = regexp.MustCompile(`\d+(?:[.,]\d+)?`)

// smallNumbers returns every number in s from 1 to 4 (also 1.5 or 3,5).
func smallNumbers(s string) []string {
	var out []string
	for _, m := range number.FindAllString(s, -1) {
		if n, err := strconv.ParseFloat(strings.ReplaceAll(m, ",", "."), 64); err == nil && n > 0 && n < minShown {
			out = append(out, m)
		}
	}
	return out
}

// htmlText is the text a reader sees in the page, the charts' text included: not the style
// sheet, nor the deadlines' lengths from the rules (such as "3 working days from arrival"), which
// are not counts and are checked to be only that.
func htmlText(t *testing.T, page string) string {
	t.Helper()
	rulesText := map[string]bool{}
	for _, p := range procedures(t).Procedures {
		for _, s := range p.Steps {
			if d := s.Deadline; d != nil {
				rulesText[ruleText(d.Count, d.Unit, d.From, d.Guideline)] = true
			}
		}
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(page))
	skip, inRule := 0, false
	for {
		switch z.Next() {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				t.Fatal(z.Err())
			}
			return b.String()
		case html.StartTagToken:
			tok := z.Token()
			if tok.Data == "style" || tok.Data == "script" {
				skip++
			}
			for _, a := range tok.Attr {
				if a.Key == "class" && a.Val == "rule" {
					inRule = true
				}
			}
		case html.EndTagToken:
			tok := z.Token()
			if tok.Data == "style" || tok.Data == "script" {
				skip--
			}
		case html.TextToken:
			text := string(z.Text())
			switch {
			case inRule:
				if !rulesText[text] {
					t.Errorf("a deadline reads %q, which is not from the rules", text)
				}
				inRule = false
			case skip == 0:
				b.WriteString(text)
				b.WriteString(" ")
			}
		}
	}
}

// TestFigures checks the figures of the test cases against what the test made.
func TestFigures(t *testing.T) {
	_, files := writeReport(t, testCases(t))
	v := readCSV(t, files[CSVFile])
	want := map[[3]string]string{
		{"complaints", "kok-complaints", "total"}:    "25",
		{"complaints", "mk-act-complaints", "total"}: "15",
		{"complaints", "all", "total"}:               "48",
		{"month", "all", "2026-06"}:                  "10",
		{"month", "all", "2026-08"}:                  "0",
		{"channel", "mk-act-complaints", "unknown"}:  "5",
		{"contact", "kok-complaints", "yes"}:         "20",
		{"contact", "kok-complaints", "no"}:          "5",
		{"outcome", "mk-act-complaints", "other"}:    "5",
		{"outcome", "kok-complaints", "resolved"}:    "10",
		{"appeals", "mk-act-complaints", "appealed"}: "5",
		// Due: done, or the deadline passed; the one still to come is not counted.
		{"deadline", "kok-complaints", "contact/due"}:                                   "15",
		{"deadline", "kok-complaints", "contact/met-percent"}:                           "67",
		{"deadline", "kok-complaints", "contact/median-working-days"}:                   "5",
		{"deadline", "mk-act-complaints", "formal-handling/due"}:                        "10",
		{"deadline", "mk-act-complaints", "formal-handling/met-percent"}:                "50",
		{"deadline", "mk-act-complaints", "formal-handling/median-working-days"}:        "15",
		{"deadline", "mk-act-complaints", "appeal-answer/met-percent"}:                  "0",
		{"deadline", "mk-act-complaints", "appeal-acknowledgement/met-percent"}:         "100",
		{"deadline", "mk-act-complaints", "formal-acknowledgement/due"}:                 "15",
		{"deadline", "mk-act-complaints", "formal-acknowledgement/median-working-days"}: "5",
	}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%v: %q, want %q", k, v[k], w)
		}
	}
	// The appeal is the person's deadline, and the child contact has none: neither is reported.
	for k := range v {
		if k[0] == "deadline" && (strings.HasPrefix(k[2], "appeal/") || k[1] == "child-integrity-contact") {
			t.Errorf("the CSV reports %v", k)
		}
	}
	// The total is shown, so the smallest other procedure is hidden with the child contact's.
	if got := v[[3]string{"complaints", "other", "total"}]; got != "not-shown" {
		t.Errorf("complaints in other procedures: %q, want not-shown", got)
	}
}

func TestSmallCounts(t *testing.T) {
	d := func(s string) time.Time { return dayOf(t, s) }
	var cases []Case
	// 12 kok complaints: 9 by browser and 3 without JavaScript, which the 12 would give away.
	for i := range 12 {
		c := Case{Procedure: "kok-complaints", Channel: "browser", Arrived: d("2026-09-07"), ContactWanted: yes()}
		if i < 3 {
			c.Channel = "server"
			// Three contacts due: too few for a share or a median.
			c.Steps = []Step{{ID: "contact", Due: d("2026-09-10"), Done: d("2026-09-08"), WorkingDays: 1}}
		}
		cases = append(cases, c)
	}
	f := compute(testYear, cases, procedures(t), testNow)
	f.suppress()
	for _, tc := range []struct {
		section, procedure, key string
		text, csv               string
	}{
		{"complaints", "kok-complaints", "total", "12", "12"},
		{"channel", "kok-complaints", "server", "fewer than 5", "<5"},
		{"channel", "kok-complaints", "browser", "not shown", "not-shown"},
		{"channel", "kok-complaints", "unknown", "0", "0"},
		{"deadline", "kok-complaints", "contact/due", "fewer than 5", "<5"},
		{"deadline", "kok-complaints", "contact/met-percent", "not shown", "not-shown"},
		{"deadline", "kok-complaints", "contact/median-working-days", "not shown", "not-shown"},
		{"deadline", "mk-act-complaints", "formal-handling/met-percent", "none due", ""},
	} {
		fig := f.get(tc.section, tc.procedure, tc.key)
		if fig.text() != tc.text || fig.csvValue() != tc.csv {
			t.Errorf("%s/%s/%s: %q and %q, want %q and %q", tc.section, tc.procedure, tc.key, fig.text(), fig.csvValue(), tc.text, tc.csv)
		}
	}
	// The same holds across every table of procedures by key: no group of figures with a shown
	// total has exactly one figure hidden.
	for _, g := range f.groups {
		hidden := 0
		for _, c := range append(slices.Clone(g.cells), g.total) {
			if f.list[c].State != shown {
				hidden++
			}
		}
		if hidden == 1 {
			t.Errorf("a group with one figure hidden: %v", f.list[g.total])
		}
	}
	// And no chart draws a bar for a count that is not shown.
	for _, fig := range f.list {
		if fig.State != shown && barHeight(fig) != 0 {
			t.Errorf("%v has a bar", fig)
		}
	}
}

func TestNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CSVFile), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(dir, testYear, nil, procedures(t), testNow)
	if err == nil || !strings.Contains(err.Error(), "never written over") {
		t.Fatalf("error %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, CSVFile)); string(b) != "kept" {
		t.Errorf("the CSV was written over: %q", b)
	}
	// What it wrote before it found the CSV is gone again.
	if _, err := os.Stat(filepath.Join(dir, HTMLFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the HTML is left behind: %v", err)
	}
}

// TestSelfContained: the page asks for nothing outside itself: no script, no link, no external
// reference, no font to fetch; the charts are inline SVG with a typeface named, not loaded.
func TestSelfContained(t *testing.T) {
	_, files := writeReport(t, testCases(t))
	page := files[HTMLFile]
	for _, bad := range []string{"http:", "https:", "//", "url(", "href", "src=", "@import", "@font-face", "<script", "<link", "<img", "<image", "<iframe", "<object", "<use", "xlink", "<?xml"} {
		// "//" only outside the style sheet's comments, which it has none of.
		if strings.Contains(strings.ToLower(page), bad) {
			i := strings.Index(strings.ToLower(page), bad)
			t.Errorf("the page holds %q: …%s…", bad, page[max(0, i-60):min(len(page), i+60)])
		}
	}
	if n := strings.Count(page, "<svg "); n != 3 {
		t.Errorf("%d charts, want 3", n)
	}
	charts := strings.Join(regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1), "")
	if fam := regexp.MustCompile(`font-family:[^;"]*;`).FindAllString(charts, -1); len(fam) == 0 {
		t.Error("the charts name no typeface")
	} else {
		for _, f := range fam {
			if f != fontStack {
				t.Errorf("a chart's text in %q", f)
			}
		}
	}
	// The page is well-formed enough for a parser to find the three figures' charts in it.
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	svgs := 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "svg" && n.Parent != nil && n.Parent.Data == "figure" {
			svgs++
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if svgs != 3 {
		t.Errorf("%d charts in figures, want 3", svgs)
	}
}

// TestInlineSVGRefusesOutsideReferences: a chart that would point outside the page is an error,
// whatever a later gonum writes.
func TestInlineSVGRefusesOutsideReferences(t *testing.T) {
	head := "<?xml version=\"1.0\"?>\n<!-- Generated by SVGo and Plotinum VG -->\n<svg width=\"10pt\" height=\"10pt\" viewBox=\"0 0 10 10\"\n\txmlns=\"http://www.w3.org/2000/svg\"\n\txmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"
	for name, body := range map[string]string{
		"an embedded font":  "<defs>\n\t<style>\n\t\t@font-face{ src: url(data:font/ttf;base64,AAAA) }\n</style></defs></svg>",
		"an image":          `<image x="0" y="0" xlink:href="data:image/png;base64,AAAA" /></svg>`,
		"a link":            `<a href="https://example.org/">x</a></svg>`,
		"another font":      `<text style="font-family:Liberation Serif;font-size:10px">x</text></svg>`,
		"another beginning": "<svg>",
	} {
		svg := head + body
		if name == "another beginning" {
			svg = body
		}
		if _, err := inlineSVG(svg, "t"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	out, err := inlineSVG(head+`<text style="font-family:Liberation Sans;font-size:10px">x</text></svg>`, `a "title"`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<svg viewBox="0 0 10 10" width="10pt" height="10pt" role="img" aria-label="a &#34;title&#34;">` + "\n<text style=\"" + fontStack + "font-size:10px\">x</text></svg>"; string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestTickStepIsAMultipleOfFive(t *testing.T) {
	for _, top := range []float64{0, 1, 4, 5, 12, 30, 31, 99, 150, 151, 1000, 123456} {
		step := tickStep(top)
		if int(step)%5 != 0 || top/step > 6 {
			t.Errorf("tickStep(%v) = %v", top, step)
		}
		for _, tick := range (countTicks{step}).Ticks(0, top+step) {
			if n, _ := strconv.Atoi(tick.Label); n > 0 && n < minShown {
				t.Errorf("a tick at %s", tick.Label)
			}
		}
	}
}

func TestRefusesAYearNotBegun(t *testing.T) {
	err := Write(t.TempDir(), 2028, nil, procedures(t), testNow)
	if err == nil || !strings.Contains(err.Error(), "has not begun") {
		t.Errorf("error %v", err)
	}
}

// A report of no complaints is a report of zeros, not an error.
func TestEmptyYear(t *testing.T) {
	_, files := writeReport(t, nil)
	if !bytes.Contains([]byte(files[SummaryFile]), []byte("Complaints: 0 (")) {
		t.Errorf("summary:\n%s", files[SummaryFile])
	}
}

// A share of enough cases is still hidden when the part met, or the part missed, is 1 to 4: 3 of
// 7 met (43 %) beside "7 due" would give the 3 away. 0 missed (100 %) is no small count.
func TestAShareDoesNotGiveASmallPartAway(t *testing.T) {
	d := func(s string) time.Time { return dayOf(t, s) }
	contact := func(met bool) Case {
		done := d("2026-09-08")
		if !met {
			done = d("2026-09-14")
		}
		return Case{Procedure: "kok-complaints", Channel: "browser", Arrived: d("2026-09-07"), ContactWanted: yes(),
			Steps: []Step{{ID: "contact", Due: d("2026-09-10"), Done: done, WorkingDays: 1}}}
	}
	for _, tc := range []struct {
		met, missed int
		want        string
	}{{3, 4, "not shown"}, {7, 3, "not shown"}, {5, 5, "50%"}, {8, 0, "100%"}} {
		var cases []Case
		for i := range tc.met + tc.missed {
			cases = append(cases, contact(i < tc.met))
		}
		f := compute(testYear, cases, procedures(t), testNow)
		f.suppress()
		if got := f.get("deadline", "kok-complaints", "contact/met-percent").text(); !strings.HasPrefix(got, strings.TrimSuffix(tc.want, "%")) {
			t.Errorf("%d met, %d missed: the share reads %q, want %q", tc.met, tc.missed, got, tc.want)
		}
	}
}
