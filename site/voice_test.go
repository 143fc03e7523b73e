package site

// One voice and one vocabulary per language (issue 10). Each language may have a glossary,
// docs/glossary/<lang>.toml (format and how to add a term: docs/glossary/README.md), that says
// which form of address pages for adults and pages for children use, and for each thing the one
// word the language uses for it, with patterns for the words it does not use. These tests read
// what a reader sees on every built page of the language (text and user-facing attributes), the
// theme's strings (themes/safe/i18n/<lang>.toml) and the content sources (content/**/index.<lang>.md,
// which catches text not built yet), and report every place that speaks in the other voice or
// uses an avoided word, with a quote a translator can search for. GLOSSARY_DIR points the tests at
// other glossaries (e.g. one with a rule broken on purpose).

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"
	"golang.org/x/net/html"
)

// glossary is docs/glossary/<lang>.toml.
type glossary struct {
	Address struct {
		Adults         string   `toml:"adults"`
		Children       string   `toml:"children"`
		NotForAdults   []string `toml:"not_for_adults"`
		NotForChildren []string `toml:"not_for_children"`
	} `toml:"address"`
	Term []struct {
		Means string   `toml:"means"`
		Use   string   `toml:"use"`
		Avoid []string `toml:"avoid"`
	} `toml:"term"`
}

// The audiences a page can have (front matter `audience: "children"`; everything else is adults).
const (
	adults   = "adults"
	children = "children"
)

// rule is one compiled pattern of a glossary, with what it stands for in a failure message.
type rule struct {
	what    string // e.g. `term "working days" (use "Werktag")`
	pattern string // as written in the glossary
	re      *regexp.Regexp
	bounded bool // the pattern had a \b, so a match may carry one boundary character at each end
}

// voice is a language's glossary, compiled.
type voice struct {
	lang   string
	notFor map[string][]rule // by audience: the other form of address
	terms  []rule            // avoided words, everywhere
}

// finding is one place that breaks a rule.
type finding struct {
	rule  rule
	match string // the matched text
	quote string // about 60 characters around it
	at    int    // byte offset of the match in the text checked
}

func (f finding) String() string {
	return fmt.Sprintf("%s: found %q (pattern '%s') in “%s”", f.rule.what, f.match, f.rule.pattern, f.quote)
}

// wordChar is what a Unicode \b separates from everything else: letters, combining marks (Arabic
// vowel signs, Cyrillic stress marks), digits and the underscore.
func wordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || unicode.IsNumber(r) || r == '_'
}

// nonWordClass is wordChar's complement as RE2 writes it.
const nonWordClass = `[^\p{L}\p{M}\p{N}_]`

// compilePattern compiles a glossary pattern. RE2's \b knows only ASCII letters: "\bты\b"
// would never match, and "\bdu\b" would match in "Südu" after the "ü". So each \b outside a
// character class becomes one non-word character instead, and find pads the text with one at
// each end. That is exact for a \b that stands next to a letter in the pattern (the only
// use that makes sense); \B has no such rewrite and is refused.
func compilePattern(p string) (*regexp.Regexp, bool, error) {
	var b strings.Builder
	bounded, inClass := false, false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			next := p[i+1]
			i++
			switch {
			case next == 'b' && !inClass:
				b.WriteString(nonWordClass)
				bounded = true
			case next == 'B' && !inClass:
				return nil, false, errors.New(`\B is not supported (RE2's \B knows only ASCII letters)`)
			default:
				b.WriteByte(c)
				b.WriteByte(next)
			}
			continue
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			// A ']' first in a class (after an optional '^') is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case c == ']' && inClass:
			inClass = false
		}
		b.WriteByte(c)
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, false, err
	}
	if re.MatchString("") || (bounded && re.MatchString("  ")) {
		return nil, false, errors.New("matches empty text, so it would match everywhere")
	}
	return re, bounded, nil
}

// find returns every match of r in text, left to right. A match may share its boundary
// character with the next ("du du"), but never more.
func (r rule) find(text string) []finding {
	padded := "\n" + text + "\n"
	var out []finding
	for pos := 0; pos < len(padded); {
		loc := r.re.FindStringIndex(padded[pos:])
		if loc == nil {
			break
		}
		s, e := pos+loc[0], pos+loc[1]
		_, first := utf8.DecodeRuneInString(padded[s:])
		_, last := utf8.DecodeLastRuneInString(padded[s:e])
		pos = max(e-last, s+first)
		if r.bounded { // drop the boundary characters the rewrite consumed
			if c, n := utf8.DecodeRuneInString(padded[s:e]); !wordChar(c) && s+n < e {
				s += n
			}
			if c, n := utf8.DecodeLastRuneInString(padded[s:e]); !wordChar(c) && e-n > s {
				e -= n
			}
		}
		s, e = min(max(s-1, 0), len(text)), min(max(e-1, 0), len(text))
		out = append(out, finding{rule: r, match: text[s:e], quote: quote(text, s, e), at: s})
	}
	return out
}

// quote is the match with about 30 characters either side, on one line.
func quote(text string, s, e int) string {
	const side = 30
	from, n := s, 0
	for from > 0 && n < side {
		_, size := utf8.DecodeLastRuneInString(text[:from])
		from -= size
		n++
	}
	to, n := e, 0
	for to < len(text) && n < side {
		_, size := utf8.DecodeRuneInString(text[to:])
		to += size
		n++
	}
	q := text[from:to]
	if from > 0 {
		q = "…" + q
	}
	if to < len(text) {
		q += "…"
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(q, "\n", " | ")), " ")
}

// parseGlossary compiles a glossary, with every mistake in it (bad pattern, unknown key, a term
// whose own word it avoids) as one error.
func parseGlossary(lang string, data []byte) (*voice, error) {
	var g glossary
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&g); err != nil {
		return nil, err
	}
	v := &voice{lang: lang, notFor: map[string][]rule{}}
	var errs []error
	add := func(list *[]rule, what string, patterns []string) {
		for _, p := range patterns {
			re, bounded, err := compilePattern(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: pattern '%s': %v", what, p, err))
				continue
			}
			*list = append(*list, rule{what: what, pattern: p, re: re, bounded: bounded})
		}
	}
	a := g.Address
	addressRule := func(audience, form, other string) string {
		switch {
		case form != "" && other != "":
			return fmt.Sprintf("form of address: pages for %s say %s, not %s", audience, form, other)
		case form != "":
			return fmt.Sprintf("form of address: pages for %s say %s", audience, form)
		}
		return fmt.Sprintf("form of address: not on pages for %s", audience)
	}
	list := v.notFor[adults]
	add(&list, addressRule(adults, a.Adults, a.Children), a.NotForAdults)
	v.notFor[adults] = list
	list = v.notFor[children]
	add(&list, addressRule(children, a.Children, a.Adults), a.NotForChildren)
	v.notFor[children] = list
	for i, term := range g.Term {
		if term.Means == "" || term.Use == "" || len(term.Avoid) == 0 {
			errs = append(errs, fmt.Errorf("[[term]] number %d (means %q): every term needs means, use and avoid", i+1, term.Means))
		}
		what := fmt.Sprintf("term %q (use %q)", term.Means, term.Use)
		var rules []rule
		add(&rules, what, term.Avoid)
		for _, r := range rules {
			if len(r.find(term.Use)) > 0 {
				errs = append(errs, fmt.Errorf("%s: pattern '%s' matches the word to use", what, r.pattern))
			}
		}
		v.terms = append(v.terms, rules...)
	}
	return v, errors.Join(errs...)
}

// checkText applies the rules for an audience (the other form of address) and every term's
// avoided words to a text; audience "" applies the terms alone.
func (v *voice) checkText(text, audience string) []finding {
	var out []finding
	for _, r := range v.notFor[audience] {
		out = append(out, r.find(text)...)
	}
	for _, r := range v.terms {
		out = append(out, r.find(text)...)
	}
	slices.SortStableFunc(out, func(a, b finding) int { return a.at - b.at })
	return out
}

// i18nFinding is a finding in one string of the theme.
type i18nFinding struct {
	key string // e.g. "receipt_title_child" or "deadline_working_days.other"
	finding
}

// checkI18n checks a theme strings file: every string against the terms, and the strings of
// keys ending in _child (the child pages' own strings) against the address rules for children.
// Other keys may be shown on adult pages only; the built pages show where they are.
func (v *voice) checkI18n(data []byte) ([]i18nFinding, error) {
	var strs map[string]any
	if err := toml.Unmarshal(data, &strs); err != nil {
		return nil, err
	}
	var out []i18nFinding
	check := func(key, base, text string) {
		audience := ""
		if strings.HasSuffix(base, "_child") {
			audience = children
		}
		for _, f := range v.checkText(text, audience) {
			out = append(out, i18nFinding{key, f})
		}
	}
	for _, key := range sortedKeys(strs) {
		switch val := strs[key].(type) {
		case string:
			check(key, key, val)
		case map[string]any: // plural forms: [key] one = "...", other = "..."
			for _, form := range sortedKeys(val) {
				if s, ok := val[form].(string); ok {
					check(key+"."+form, key, s)
				}
			}
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// inlineElements do not break a word or sentence: text either side of them reads as one.
var inlineElements = map[string]bool{
	"a": true, "abbr": true, "b": true, "bdi": true, "bdo": true, "cite": true, "code": true,
	"data": true, "dfn": true, "em": true, "i": true, "kbd": true, "mark": true, "q": true,
	"s": true, "samp": true, "small": true, "span": true, "strong": true, "sub": true,
	"sup": true, "time": true, "u": true, "var": true, "wbr": true, "label": true,
}

// pageText is a page as its reader meets it, in its language, by audience: the visible text
// (head's title included, script and style left out, noscript read as markup) and the attributes
// a reader sees or hears (aria-label, title, alt, placeholder, a button's value, the messages the
// form's script shows from data-msg-*, data-label, the meta description). Elements marked with
// another lang (the language chooser, "read the original") are left out: they are not this
// language. An element marked data-audience="children" (or "adults") speaks to that audience
// whatever the page's: the card of the children's page in a list on an adult page. Blocks and
// attributes are separate lines, so a pattern never matches across them.
func pageText(doc *html.Node, lang, audience string) map[string]string {
	texts := map[string]*strings.Builder{}
	out := func(audience string) *strings.Builder {
		if texts[audience] == nil {
			texts[audience] = &strings.Builder{}
		}
		return texts[audience]
	}
	var visit func(n *html.Node, audience string)
	visit = func(n *html.Node, audience string) {
		switch n.Type {
		case html.TextNode:
			out(audience).WriteString(n.Data)
			return
		case html.CommentNode:
			return
		case html.ElementNode:
			if n.Data == "script" || n.Data == "style" {
				return
			}
			if l, ok := attr(n, "lang"); ok && l != "" && !sameLanguage(l, lang) {
				return
			}
			if a, _ := attr(n, "data-audience"); a == adults || a == children {
				audience = a
			}
			if !inlineElements[n.Data] {
				out(audience).WriteByte('\n')
			}
			for _, a := range n.Attr {
				if userFacing(n, a.Key) {
					out(audience).WriteString("\n" + a.Val + "\n")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c, audience)
		}
		if n.Type == html.ElementNode && !inlineElements[n.Data] {
			out(audience).WriteByte('\n')
		}
	}
	visit(doc, audience)
	result := map[string]string{}
	for aud, b := range texts {
		var lines []string
		for _, line := range strings.Split(b.String(), "\n") {
			if line = strings.Join(strings.Fields(line), " "); line != "" {
				lines = append(lines, line)
			}
		}
		if len(lines) > 0 {
			result[aud] = strings.Join(lines, "\n")
		}
	}
	return result
}

func userFacing(n *html.Node, key string) bool {
	switch key {
	case "aria-label", "aria-description", "title", "alt", "placeholder", "data-label":
		return true
	case "value":
		t, _ := attr(n, "type")
		return n.Data == "button" || n.Data == "input" && (t == "submit" || t == "button" || t == "reset")
	case "content":
		name, _ := attr(n, "name")
		return n.Data == "meta" && name == "description"
	}
	return strings.HasPrefix(key, "data-msg-")
}

// sameLanguage compares primary language subtags: "zh-Hans" is zh.
func sameLanguage(a, b string) bool {
	primary := func(s string) string { return strings.ToLower(strings.SplitN(s, "-", 2)[0]) }
	return primary(a) == primary(b)
}

// pageFrontMatter reads the two front matter keys whom a page speaks to depends on (YAML or TOML).
func pageFrontMatter(file string) (audience, procedure string, err error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", "", err
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	var fm struct {
		Audience  string `yaml:"audience" toml:"audience"`
		Procedure string `yaml:"procedure" toml:"procedure"`
	}
	for _, delim := range []string{"---", "+++"} {
		if !strings.HasPrefix(text, delim+"\n") {
			continue
		}
		head, _, ok := strings.Cut(text[len(delim)+1:], "\n"+delim+"\n")
		if !ok {
			return "", "", fmt.Errorf("%s: front matter not closed with %s", file, delim)
		}
		if delim == "---" {
			err = yaml.Unmarshal([]byte(head), &fm)
		} else {
			err = toml.Unmarshal([]byte(head), &fm)
		}
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", file, err)
		}
	}
	return fm.Audience, fm.Procedure, nil
}

// audiences decides whom each built page speaks to, from the content it is built from.
type audiences struct {
	content string // the content folder
	lang    string
	cache   map[string]string // procedure slug -> audience
}

// procedure is the audience of a procedure's page in this language.
func (a *audiences) procedure(slug string) (string, error) {
	if aud, ok := a.cache[slug]; ok {
		return aud, nil
	}
	aud, _, err := pageFrontMatter(filepath.Join(a.content, "procedures", slug, "index."+a.lang+".md"))
	if err != nil {
		return "", err
	}
	if aud != children {
		aud = adults
	}
	a.cache[slug] = aud
	return aud, nil
}

// page is the audience of a built page: children for a children's procedure, and for its form,
// receipt and error page; children for an answers page whose content says so (audience:
// "children"), and for its result.html; adults for every other page.
func (a *audiences) page(sitePath string) (string, error) {
	parts := strings.Split(sitePath, "/") // <lang>/procedures/<slug>/index.html
	if len(parts) != 4 {
		return adults, nil
	}
	switch parts[1] {
	case "procedures":
		return a.procedure(parts[2])
	case "answers":
		aud, _, err := pageFrontMatter(filepath.Join(a.content, "answers", parts[2], "index."+a.lang+".md"))
		if err != nil {
			return "", err
		}
		if aud != children {
			aud = adults
		}
		return aud, nil
	case "forms":
		_, proc, err := pageFrontMatter(filepath.Join(a.content, "forms", parts[2], "index."+a.lang+".md"))
		if err != nil {
			return "", err
		}
		if proc == "" {
			return "", fmt.Errorf("content/forms/%s/index.%s.md names no procedure", parts[2], a.lang)
		}
		return a.procedure(proc)
	}
	return adults, nil
}

// glossaryDir is where the glossaries are; GLOSSARY_DIR points the tests at others.
func glossaryDir() string {
	if d := os.Getenv("GLOSSARY_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "docs", "glossary")
}

// TestVoiceGlossaries: every glossary is for a language of the site and compiles.
func TestVoiceGlossaries(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(glossaryDir(), "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		lang := strings.TrimSuffix(filepath.Base(f), ".toml")
		if !slices.Contains(languages, lang) {
			t.Errorf("%s: no language %q on the site (the file is <lang>.toml, one of %v)", f, lang, languages)
		}
	}
}

// TestVoiceAndVocabulary checks each language with a glossary: its built pages, its theme
// strings and its content sources.
func TestVoiceAndVocabulary(t *testing.T) {
	s := site(t)
	for _, lang := range languages {
		t.Run(lang, func(t *testing.T) {
			file := filepath.Join(glossaryDir(), lang+".toml")
			data, err := os.ReadFile(file)
			if errors.Is(err, fs.ErrNotExist) {
				t.Logf("%s: no glossary (%s), not checked", lang, file)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v, err := parseGlossary(lang, data)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			checkPages(t, s, v)
			checkThemeStrings(t, v)
			checkContentSources(t, v)
		})
	}
}

func checkPages(t *testing.T, s *builtSite, v *voice) {
	aud := &audiences{content: filepath.Join("..", "content"), lang: v.lang, cache: map[string]string{}}
	checked := 0
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for f := range s.files {
			if strings.HasPrefix(f, v.lang+"/") && strings.HasSuffix(f, ".html") && !yield(f) {
				return
			}
		}
	}) {
		b, err := fs.ReadFile(s.fsys, p)
		if err != nil {
			t.Fatal(err)
		}
		// Without scripting, so that what a <noscript> holds is read as the page it is.
		doc, err := html.ParseWithOptions(bytes.NewReader(b), html.ParseOptionEnableScripting(false))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		audience, err := aud.page(p)
		if err != nil {
			t.Errorf("%s: /%s: whom the page is for: %v", v.lang, p, err)
			continue
		}
		url := (&page{path: p}).urlPath()
		texts := pageText(doc, v.lang, audience)
		for _, aud := range sortedKeys(texts) {
			what := "for " + aud
			if aud != audience {
				what = fmt.Sprintf("for %s; a part marked data-audience=%q", audience, aud)
			}
			for _, f := range v.checkText(texts[aud], aud) {
				t.Errorf("%s: %s (%s): %s", v.lang, url, what, f)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Errorf("%s: no built page under %s/%s/", v.lang, publicDir(), v.lang)
	}
}

func checkThemeStrings(t *testing.T, v *voice) {
	file := path.Join("..", "themes", "safe", "i18n", v.lang+".toml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("%s: %v", v.lang, err)
		return
	}
	found, err := v.checkI18n(data)
	if err != nil {
		t.Errorf("%s: %s: %v", v.lang, file, err)
	}
	for _, f := range found {
		t.Errorf("%s: %s key %s: %s", v.lang, strings.TrimPrefix(file, "../"), f.key, f.finding)
	}
}

func checkContentSources(t *testing.T, v *voice) {
	root := filepath.Join("..", "content")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if name := d.Name(); name != "index."+v.lang+".md" && name != "_index."+v.lang+".md" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		text := string(b)
		rel := filepath.ToSlash(strings.TrimPrefix(p, ".."+string(filepath.Separator)))
		for _, f := range v.checkText(text, "") {
			line := 1 + strings.Count(text[:f.at], "\n")
			t.Errorf("%s: %s:%d: %s", v.lang, rel, line, f)
		}
		return nil
	})
	if err != nil {
		t.Errorf("%s: %v", v.lang, err)
	}
}

// The checker itself, on small fixtures: it finds the other form of address in what a reader
// sees, avoided words in the theme's strings and the sources, and whole words only, in German
// and in Cyrillic alike.
func TestVoiceCheckerFindsWhatItShould(t *testing.T) {
	de, err := parseGlossary("de", []byte(`
[address]
adults = "Sie (formal)"
children = "du (informal)"
not_for_adults = ['\b(du|dich|dir|dein|deine|deinen|deinem|deiner|deines)\b']
not_for_children = ['\b(Ihnen|Ihr|Ihre|Ihren|Ihrem|Ihrer)\b']

[[term]]
means = "working days"
use = "Werktag"
avoid = ['Arbeitstag']
`))
	if err != nil {
		t.Fatal(err)
	}
	ru, err := parseGlossary("ru", []byte(`
[address]
not_for_adults = ['\b(ты|тебя|тебе|тобой|твой|твоя|твоё|твои)\b']
[[term]]
means = "complaint"
use = "жалоба"
avoid = ['\bпретензи']
`))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("page", func(t *testing.T) {
		doc, err := html.ParseWithOptions(strings.NewReader(`<!doctype html><html lang=de><head>
<title>Beschwerde</title><meta name=description content="Hier kannst du dich beschweren."></head>
<body><p>Das Produkt geht durch die Prüfung. Schreib, was <strong>dir</strong> passiert ist.</p>
<script>var du = "dein";</script><style>.du{}</style>
<nav><a href=/en/ lang=en>du dein (another language)</a></nav>
<noscript><p>Ohne JavaScript geht dein Text zuerst an den Server.</p></noscript>
<form data-msg-network="Prüfe deine Verbindung." aria-label="Formular">
<input type=submit value="Schick deinen Text"><input type=text name=draft value="du im Entwurf">
<img alt="Ein Bild für dich"><p>Binnen 5 Arbeitstagen.</p></form>
<ul><li data-audience=children><a href=/de/k/>Für Kinder</a><p>Hat dir jemand wehgetan? Ihr Kind?</p></li></ul>
</body></html>`),
			html.ParseOptionEnableScripting(false))
		if err != nil {
			t.Fatal(err)
		}
		texts := pageText(doc, "de", adults)
		text := texts[adults]
		// In reading order: the meta description, the paragraph, noscript, data-msg-*, the
		// button's value, alt and the term; not the script, the style, the other language, or
		// what a text field holds.
		want := []string{"du", "dich", "dir", "dein", "deine", "deinen", "dich", "Arbeitstag"}
		if got := matches(de.checkText(text, adults)); !slices.Equal(got, want) {
			t.Errorf("adult page: found %q, want %q\ntext:\n%s", got, want, text)
		}
		if got := matches(de.checkText(text, children)); !slices.Equal(got, []string{"Arbeitstag"}) {
			t.Errorf("children's page: found %q, want only the term", got)
		}
		// The card of the children's page on an adult page speaks to children.
		if got := matches(de.checkText(texts[children], children)); !slices.Equal(got, []string{"Ihr"}) {
			t.Errorf("the part for children: found %q, want [Ihr]\ntext:\n%s", got, texts[children])
		}
		f := de.checkText(text, adults)[2]
		if !strings.Contains(f.quote, "Schreib, was dir passiert ist.") || !strings.Contains(f.String(), `pages for adults say Sie (formal), not du (informal)`) {
			t.Errorf("the failure does not say enough to find and fix it: %s", f)
		}
	})

	t.Run("theme strings", func(t *testing.T) {
		found, err := de.checkI18n([]byte(`
receipt_title = "Ihre Beschwerde ist angekommen"
receipt_title_child = "Ihre Nachricht ist angekommen"
who_heading_child = "Wer dir zuhört"
form_intro = "Sie antworten binnen 5 Arbeitstagen."
[deadline_working_days_child]
one = "binnen {{ .Count }} Arbeitstag"
other = "binnen {{ .Count }} Werktagen"
`))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range found {
			got = append(got, f.key+": "+f.match)
		}
		// Address only on _child keys (receipt_title is for adults, "dir" is right for children).
		want := []string{"deadline_working_days_child.one: Arbeitstag", "form_intro: Arbeitstag", "receipt_title_child: Ihre"}
		if !slices.Equal(got, want) {
			t.Errorf("found %q, want %q", got, want)
		}
	})

	t.Run("whole words", func(t *testing.T) {
		for _, c := range []struct {
			v    *voice
			text string
			want []string
		}{
			{de, "Das Produkt geht durch, Sie dürfen dirigieren.", nil},
			{de, "Südufer, Fußdu, dußen, dü", nil},                                               // ü and ß are letters
			{de, "du du,du.(dich)–dir\ndein", []string{"du", "du", "du", "dich", "dir", "dein"}}, // shared boundaries
			{de, "Du", nil}, // case counts, as the glossary wrote it
			{ru, "Результаты работы: ты и тебе; ТЫ", []string{"ты", "тебе"}},
			{ru, "тыква, ребёнок твойский", nil},
			{ru, "Претензия и претензии", []string{"претензи"}},
			{ru, "дыпретензия", nil},
			{ru, "ты\u0301 (with a stress mark)", nil}, // a combining mark belongs to the word
		} {
			if got := matches(c.v.checkText(c.text, adults)); !slices.Equal(got, c.want) {
				t.Errorf("%s: %q: found %q, want %q", c.v.lang, c.text, got, c.want)
			}
		}
	})

	t.Run("content source", func(t *testing.T) {
		src := "---\ntitle: \"Beschwerde\"\n---\n\nDas Büro antwortet\nbinnen 5 Arbeitstagen.\n"
		f := de.checkText(src, "")
		if len(f) != 1 || 1+strings.Count(src[:f[0].at], "\n") != 6 {
			t.Errorf("found %v, want Arbeitstag on line 6", f)
		}
	})

	t.Run("glossary mistakes", func(t *testing.T) {
		for _, bad := range []string{
			"[address]\nnot_for_adults = ['\\B(du)']",                      // \B cannot be made Unicode-aware
			"[address]\nnot_for_adults = ['(du']",                          // not RE2
			"[address]\nnot_for_adults = ['\\b(du|)\\b']",                  // matches empty text
			"[[term]]\nmeans = \"x\"\nuse = \"Werktag\"\navoid = ['Werk']", // avoids its own word
			"[[term]]\nmeans = \"x\"\nuse = \"Werktag\"",                   // nothing to avoid
			"[adress]\nadults = \"Sie\"",                                   // a misspelt table
		} {
			if _, err := parseGlossary("de", []byte(bad)); err == nil {
				t.Errorf("glossary accepted:\n%s", bad)
			}
		}
	})
}

func matches(fs []finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.match)
	}
	return out
}
