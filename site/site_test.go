package site

// These tests read the built site in site/public (run `make site` first) and check what the
// issue promises for every page: nothing loaded from another host, nothing inline that
// CSP default-src 'self' would block, the right lang and dir, and no broken internal link.
// The page weight (brotli) is checked by the browser tests in tests/browser/.

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"
)

// languages are the site's languages; only ar is written right to left.
var languages = []string{"de", "en", "nl", "sv", "zh", "ar", "fr", "es", "ro", "bg", "ru", "uk"}

// procedures are the slugs every language must have (docs/content.md).
var procedures = []string{
	"kok-complaints", "mk-act-complaints", "child-integrity-contact",
	"joint-routine-template", "quality-standards",
}

// publicDir is the built site; SITE_PUBLIC points the tests at another build (e.g. a copy
// broken on purpose to see a test fail).
func publicDir() string {
	if d := os.Getenv("SITE_PUBLIC"); d != "" {
		return d
	}
	return "public"
}

// page is one parsed HTML file of the built site.
type page struct {
	path string // slash path inside the site, e.g. "en/procedures/kok-complaints/index.html"
	doc  *html.Node
	ids  map[string]bool
}

// urlPath is the path a browser asks for to get this page.
func (p *page) urlPath() string {
	if p.path == "index.html" {
		return "/"
	}
	if strings.HasSuffix(p.path, "/index.html") {
		return "/" + strings.TrimSuffix(p.path, "index.html")
	}
	return "/" + p.path
}

type builtSite struct {
	fsys  fs.FS
	pages map[string]*page // by path
	files map[string]bool  // every file, by path
}

var (
	loadOnce sync.Once
	loaded   *builtSite
	loadErr  error
)

// site loads and parses the built site once; it fails the test (never skips) when the site
// has not been built.
func site(t *testing.T) *builtSite {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = load(publicDir()) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loaded
}

func load(dir string) (*builtSite, error) {
	if _, err := os.Stat(path.Join(dir, "index.html")); err != nil {
		return nil, fmt.Errorf("the site is not built (%s/index.html: %v): run `make site` first", dir, err)
	}
	s := &builtSite{fsys: os.DirFS(dir), pages: map[string]*page{}, files: map[string]bool{}}
	err := fs.WalkDir(s.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		s.files[p] = true
		if !strings.HasSuffix(p, ".html") {
			return nil
		}
		b, err := fs.ReadFile(s.fsys, p)
		if err != nil {
			return err
		}
		doc, err := html.Parse(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		pg := &page{path: p, doc: doc, ids: map[string]bool{}}
		walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			if id, ok := attr(n, "id"); ok {
				pg.ids[id] = true
			}
			if n.Data == "a" {
				if name, ok := attr(n, "name"); ok {
					pg.ids[name] = true
				}
			}
		})
		s.pages[p] = pg
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.pages) < 2 {
		return nil, fmt.Errorf("%s holds only the placeholder: run `make site` first", dir)
	}
	return s, nil
}

// sortedPages returns the pages in a stable order, so failures read the same on every run.
func (s *builtSite) sortedPages() []*page {
	out := make([]*page, 0, len(s.pages))
	for _, p := range s.pages {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// resourceURLs lists the URLs an element makes the browser load by itself (not links the
// reader follows).
func resourceURLs(n *html.Node) []string {
	var out []string
	add := func(key string) {
		if v, ok := attr(n, key); ok {
			out = append(out, v)
		}
	}
	addSrcset := func() {
		v, ok := attr(n, "srcset")
		if !ok {
			return
		}
		for _, part := range strings.Split(v, ",") {
			if f := strings.Fields(part); len(f) > 0 {
				out = append(out, f[0])
			}
		}
	}
	switch n.Data {
	case "link":
		add("href")
	case "script", "img", "iframe", "frame", "embed", "audio", "video", "source", "track", "input":
		add("src")
		addSrcset()
	case "object":
		add("data")
	}
	if n.Data == "video" {
		add("poster")
	}
	if n.Data == "image" || n.Data == "use" { // inline SVG
		add("href")
		add("xlink:href")
	}
	return out
}

// isLocal reports whether u stays on the site's own host (a path, no scheme, no host).
func isLocal(u string) bool {
	pu, err := url.Parse(strings.TrimSpace(u))
	if err != nil {
		return false
	}
	return pu.Scheme == "" && pu.Host == "" && !strings.HasPrefix(strings.TrimSpace(u), "//")
}

func TestNoResourceFromAnotherHost(t *testing.T) {
	s := site(t)
	for _, p := range s.sortedPages() {
		walk(p.doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			for _, u := range resourceURLs(n) {
				if !isLocal(u) {
					t.Errorf("%s: <%s> loads %q from another host", p.path, n.Data, u)
				}
			}
			if n.Data == "meta" {
				if v, _ := attr(n, "http-equiv"); strings.EqualFold(v, "refresh") {
					c, _ := attr(n, "content")
					if _, target, ok := strings.Cut(c, "url="); ok && !isLocal(target) {
						t.Errorf("%s: meta refresh leaves for %q", p.path, target)
					}
				}
			}
		})
	}
	for f := range s.files {
		if !strings.HasSuffix(f, ".css") {
			continue
		}
		b, err := fs.ReadFile(s.fsys, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range cssURLs(string(b)) {
			if !isLocal(u) {
				t.Errorf("%s: url(%s) loads from another host", f, u)
			}
		}
		if bytes.Contains(b, []byte("@import")) {
			t.Errorf("%s: @import (every style must be in the one fingerprinted file)", f)
		}
	}
}

var cssURL = regexp.MustCompile(`url\(\s*['"]?([^'")]+)['"]?\s*\)`)

func cssURLs(css string) []string {
	var out []string
	for _, m := range cssURL.FindAllStringSubmatch(css, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestNoInlineScriptOrStyle(t *testing.T) {
	s := site(t)
	for _, p := range s.sortedPages() {
		walk(p.doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			switch n.Data {
			case "script":
				if _, ok := attr(n, "src"); !ok || n.FirstChild != nil {
					t.Errorf("%s: inline <script>", p.path)
				}
				if _, ok := attr(n, "integrity"); !ok {
					t.Errorf("%s: <script> without integrity", p.path)
				}
			case "style":
				t.Errorf("%s: <style> element", p.path)
			case "meta":
				if v, _ := attr(n, "name"); strings.EqualFold(v, "generator") {
					t.Errorf("%s: generator meta tag", p.path)
				}
			}
			for _, a := range n.Attr {
				switch {
				case a.Key == "style":
					t.Errorf("%s: <%s style=%q>", p.path, n.Data, a.Val)
				case strings.HasPrefix(a.Key, "on"):
					t.Errorf("%s: <%s %s=...> inline event handler", p.path, n.Data, a.Key)
				case (a.Key == "href" || a.Key == "src" || a.Key == "action") &&
					strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:"):
					t.Errorf("%s: <%s %s=%q>", p.path, n.Data, a.Key, a.Val)
				}
			}
		})
	}
}

func TestLangAndDir(t *testing.T) {
	s := site(t)
	valid := map[string]bool{}
	for _, l := range languages {
		valid[l] = true
	}
	for _, p := range s.sortedPages() {
		var root *html.Node
		walk(p.doc, func(n *html.Node) {
			if root == nil && n.Type == html.ElementNode && n.Data == "html" {
				root = n
			}
		})
		lang, _ := attr(root, "lang")
		dir, _ := attr(root, "dir")
		if !valid[lang] {
			t.Errorf("%s: <html lang=%q>, want one of %v", p.path, lang, languages)
			continue
		}
		want := "ltr"
		if lang == "ar" {
			want = "rtl"
		}
		if dir != want {
			t.Errorf("%s: <html lang=%q dir=%q>, want dir=%q", p.path, lang, dir, want)
		}
		// A page lives in its language's folder (the root chooser is the one exception).
		if p.path != "index.html" && !strings.HasPrefix(p.path, lang+"/") {
			t.Errorf("%s: lang=%q but the page is not under /%s/", p.path, lang, lang)
		}
	}
}

// TestInternalLinks follows every link, script and stylesheet that stays on the site: the
// file must exist and a #fragment must name an id in it.
func TestInternalLinks(t *testing.T) {
	s := site(t)
	checked := 0
	for _, p := range s.sortedPages() {
		base := &url.URL{Path: p.urlPath()}
		walk(p.doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			var refs []string
			if n.Data == "a" || n.Data == "area" {
				if v, ok := attr(n, "href"); ok {
					refs = append(refs, v)
				}
			}
			refs = append(refs, resourceURLs(n)...)
			for _, ref := range refs {
				if !isLocal(ref) {
					continue
				}
				checked++
				u, err := base.Parse(ref)
				if err != nil {
					t.Errorf("%s: bad link %q: %v", p.path, ref, err)
					continue
				}
				target, ok := s.resolve(u.Path)
				if !ok {
					t.Errorf("%s: link %q: no file for %s", p.path, ref, u.Path)
					continue
				}
				if u.Fragment == "" {
					continue
				}
				tp := s.pages[target]
				if tp == nil || !tp.ids[u.Fragment] {
					t.Errorf("%s: link %q: %s has no id %q", p.path, ref, target, u.Fragment)
				}
			}
		})
	}
	if checked == 0 {
		t.Fatal("found no internal link at all")
	}
}

// resolve maps a URL path to the file a static server answers with.
func (s *builtSite) resolve(urlPath string) (string, bool) {
	p := strings.TrimPrefix(path.Clean(urlPath), "/")
	if strings.HasSuffix(urlPath, "/") || p == "" || p == "." {
		p = strings.TrimPrefix(path.Join(p, "index.html"), "./")
		return p, s.files[p]
	}
	if s.files[p] {
		return p, true
	}
	p = path.Join(p, "index.html")
	return p, s.files[p]
}

// TestEveryPageHasQuickExitFirst: the quick exit is the first thing the keyboard reaches, and
// every page links to privacy and safety.
func TestEveryPageHasQuickExitFirst(t *testing.T) {
	s := site(t)
	for _, p := range s.sortedPages() {
		var first *html.Node
		walk(p.doc, func(n *html.Node) {
			if first != nil || n.Type != html.ElementNode {
				return
			}
			if focusable(n) {
				first = n
			}
		})
		if first == nil {
			t.Errorf("%s: nothing focusable", p.path)
			continue
		}
		id, _ := attr(first, "id")
		href, _ := attr(first, "href")
		if id != "quick-exit" || href != "https://www.wikipedia.org/" {
			t.Errorf("%s: first focusable element is <%s id=%q href=%q>, want the quick exit", p.path, first.Data, id, href)
		}
		if p.path == "index.html" {
			continue
		}
		lang := strings.SplitN(p.path, "/", 2)[0]
		for _, want := range []string{"/" + lang + "/privacy/", "/" + lang + "/safety/"} {
			if !linksTo(p.doc, want) {
				t.Errorf("%s: no link to %s", p.path, want)
			}
		}
	}
}

func focusable(n *html.Node) bool {
	if _, ok := attr(n, "tabindex"); ok {
		v, _ := attr(n, "tabindex")
		return v != "-1"
	}
	switch n.Data {
	case "a":
		_, ok := attr(n, "href")
		return ok
	case "button", "input", "select", "textarea", "summary", "iframe":
		return true
	}
	return false
}

func linksTo(doc *html.Node, href string) bool {
	found := false
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" {
			if v, _ := attr(n, "href"); v == href {
				found = true
			}
		}
	})
	return found
}

// TestEveryProcedureInEveryLanguage: 5 procedures × 12 languages, each with its
// original-language note; the root page lists every language.
func TestEveryProcedureInEveryLanguage(t *testing.T) {
	s := site(t)
	for _, lang := range languages {
		for _, slug := range procedures {
			p := s.pages[lang+"/procedures/"+slug+"/index.html"]
			if p == nil {
				t.Errorf("missing page /%s/procedures/%s/ (content/procedures/%s/index.%s.md)", lang, slug, slug, lang)
				continue
			}
			if !hasClass(p.doc, "original-note") {
				t.Errorf("%s: no line naming the original language", p.path)
			}
		}
		for _, other := range []string{"index.html", "privacy/index.html", "safety/index.html"} {
			if s.pages[lang+"/"+other] == nil {
				t.Errorf("missing page /%s/%s", lang, other)
			}
		}
		if !linksTo(s.pages["index.html"].doc, "/"+lang+"/") {
			t.Errorf("the root page does not link to /%s/", lang)
		}
	}
}

func hasClass(doc *html.Node, class string) bool {
	found := false
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode {
			if v, ok := attr(n, "class"); ok && strings.Contains(" "+v+" ", " "+class+" ") {
				found = true
			}
		}
	})
	return found
}

// TestNoFeedsOrSitemaps: nothing the issue rules out was built.
func TestNoFeedsOrSitemaps(t *testing.T) {
	s := site(t)
	for f := range s.files {
		base := path.Base(f)
		if strings.HasSuffix(f, ".xml") || base == "robots.txt" {
			t.Errorf("%s: feeds, sitemaps and robots.txt are not built", f)
		}
	}
}

// TestNoDotfiles: nothing but the site is served. Hugo writes no dotfile; the one in site/public
// is the .gitignore that keeps the folder in git, and Files, what the drop box serves, hides it.
func TestNoDotfiles(t *testing.T) {
	for f := range site(t).files {
		if strings.Contains("/"+f, "/.") && f != ".gitignore" {
			t.Errorf("%s: the build wrote a dotfile", f)
		}
	}
	served := Files()
	if _, err := fs.Stat(served, ".gitignore"); err == nil {
		t.Error("Files() has .gitignore: the drop box would serve /.gitignore")
	}
	n := 0
	err := fs.WalkDir(served, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			t.Errorf("Files() has %s", p)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < len(site(t).files)-1 {
		t.Errorf("Files() lists %d names, fewer than the %d files built", n, len(site(t).files)-1)
	}
}
