package site

// What the pages promise about an organisation comes from config.toml, never from content: every
// form page, receipt and procedure page that takes complaints says how many staff members of
// which organisation can read what is sent (as many as it has keys), and gives the emergency
// number of its country (themes/safe/data/regions.toml). The expectations are read from the same
// files as the build, for the environment in HUGO_ENVIRONMENT (production unless set: what
// `make test` builds; HUGO_ENVIRONMENT=demo for a demo build, whose config/demo/params.toml
// gives each organisation its demo key).

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/net/html"
)

// organisation is one [params.organisations.<id>] as the pages use it.
type organisation struct {
	Name   string   `toml:"name"`
	Region string   `toml:"region"`
	Keys   []string `toml:"keys"`
}

func (o organisation) country() string { return strings.SplitN(o.Region, "-", 2)[0] }

type region struct {
	Emergency string `toml:"emergency"`
	Helplines []struct {
		Number string `toml:"number"`
	} `toml:"helplines"`
}

func decodeFile(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := toml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// configuredOrganisations reads config.toml and, as Hugo does, the params of the environment
// over it, table by table.
func configuredOrganisations(t *testing.T) map[string]organisation {
	t.Helper()
	var cfg struct {
		Params struct {
			Organisations map[string]organisation `toml:"organisations"`
		} `toml:"params"`
	}
	decodeFile(t, "../config.toml", &cfg)
	orgs := cfg.Params.Organisations
	if len(orgs) == 0 {
		t.Fatal("config.toml declares no [params.organisations]")
	}
	env := os.Getenv("HUGO_ENVIRONMENT")
	if env == "" {
		env = "production"
	}
	over := filepath.Join("..", "config", env, "params.toml")
	if _, err := os.Stat(over); err != nil {
		return orgs
	}
	var params struct {
		Organisations map[string]struct {
			Name   *string   `toml:"name"`
			Region *string   `toml:"region"`
			Keys   *[]string `toml:"keys"`
		} `toml:"organisations"`
	}
	decodeFile(t, over, &params)
	for id, o := range params.Organisations {
		org := orgs[id]
		if o.Name != nil {
			org.Name = *o.Name
		}
		if o.Region != nil {
			org.Region = *o.Region
		}
		if o.Keys != nil {
			org.Keys = *o.Keys
		}
		orgs[id] = org
	}
	return orgs
}

// frontMatter reads one quoted or bare value of a content file's front matter ("" if absent).
func frontMatter(t *testing.T, file, key string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(string(b), "---", 3)
	if len(parts) < 3 {
		t.Fatalf("%s: no front matter", file)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `:\s*"?([^"\n]*)"?\s*$`).FindStringSubmatch(parts[1])
	if m == nil {
		return ""
	}
	return m[1]
}

// fill puts values in place of {{ .Key }} in an i18n string.
func fill(s string, values map[string]string) string {
	for k, v := range values {
		s = strings.ReplaceAll(s, "{{ ."+k+" }}", v)
	}
	return s
}

// readersSentences are the sentences a page of this language may show for an organisation with
// count keys: the plural forms of org_readers with that count, or org_readers_none. A form that
// does not show the number (Arabic "one" and "two") is taken only for the count it names.
// suffix is "_child" on the pages of a procedure for children, which have their own strings.
func readersSentences(i18n map[string]any, suffix, name string, count int) []string {
	values := map[string]string{"Name": name, "Count": fmt.Sprint(count)}
	if count == 0 {
		s, _ := i18n["org_readers_none"+suffix].(string)
		return []string{fill(s, values)}
	}
	named := map[string]int{"zero": 0, "one": 1, "two": 2}
	forms, _ := i18n["org_readers"+suffix].(map[string]any)
	var out []string
	for category, f := range forms {
		s, _ := f.(string)
		if n, ok := named[category]; ok && n != count && !strings.Contains(s, "{{ .Count }}") {
			continue
		}
		out = append(out, fill(s, values))
	}
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		switch {
		case c.Type == html.TextNode:
			b.WriteString(c.Data)
		case c.Type == html.ElementNode && (c.Data == "p" || c.Data == "li"):
			b.WriteString(" ") // minified pages have no space between paragraphs
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// byClass returns the elements of a page that carry class.
func byClass(doc *html.Node, class string) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if c, ok := attr(n, "class"); n.Type == html.ElementNode && ok && strings.Contains(" "+c+" ", " "+class+" ") {
			out = append(out, n)
		}
	})
	return out
}

func TestOrganisationPagesSayWhoReadsAndWhomToCall(t *testing.T) {
	s := site(t)
	orgs := configuredOrganisations(t)
	var regions map[string]region
	decodeFile(t, "../themes/safe/data/regions.toml", &regions)

	for _, lang := range languages {
		var i18n map[string]any
		decodeFile(t, fmt.Sprintf("../themes/safe/i18n/%s.toml", lang), &i18n)
		// The pages of each procedure that takes complaints, and of each form.
		pagesOf := map[string][]string{} // procedure slug -> built pages
		for _, slug := range procedures {
			file := fmt.Sprintf("../content/procedures/%s/index.%s.md", slug, lang)
			if frontMatter(t, file, "takes_complaints") == "true" {
				pagesOf[slug] = append(pagesOf[slug], path.Join(lang, "procedures", slug, "index.html"))
			}
		}
		forms, err := filepath.Glob(fmt.Sprintf("../content/forms/*/index.%s.md", lang))
		if err != nil || len(forms) == 0 {
			t.Fatalf("%s: no forms (%v)", lang, err)
		}
		for _, file := range forms {
			slug := filepath.Base(filepath.Dir(file))
			proc := frontMatter(t, file, "procedure")
			pagesOf[proc] = append(pagesOf[proc],
				path.Join(lang, "forms", slug, "index.html"), path.Join(lang, "forms", slug, "receipt.html"))
		}
		if len(pagesOf) == 0 {
			t.Fatalf("%s: no procedure takes complaints", lang)
		}

		for proc, paths := range pagesOf {
			id := frontMatter(t, fmt.Sprintf("../content/procedures/%s/index.%s.md", proc, lang), "organisation")
			org, ok := orgs[id]
			if !ok {
				t.Errorf("%s/%s: organisation %q is not in config.toml", lang, proc, id)
				continue
			}
			reg, ok := regions[org.country()]
			if !ok || reg.Emergency == "" {
				t.Errorf("%s: regions.toml has no emergency number for %s", id, org.country())
				continue
			}
			suffix := ""
			if frontMatter(t, fmt.Sprintf("../content/procedures/%s/index.%s.md", proc, lang), "audience") == "children" {
				suffix = "_child"
			}
			readers := readersSentences(i18n, suffix, org.Name, len(org.Keys))
			inCountry, _ := i18n["in_country_"+org.country()].(string)
			call := fill(i18n["not_urgent_call"+suffix].(string), map[string]string{"InCountry": inCountry})

			for _, p := range paths {
				pg := s.pages[p]
				if pg == nil {
					t.Errorf("%s: not built", p)
					continue
				}
				found := byClass(pg.doc, "readers")
				if len(found) == 0 {
					t.Errorf("%s: no sentence on who can read it (class readers)", p)
				}
				for _, n := range found {
					if got := textOf(n); !slices.Contains(readers, got) {
						t.Errorf("%s: says %q\nwant one of %q (%s, %d keys)", p, got, readers, org.Name, len(org.Keys))
					}
				}
				notices := byClass(pg.doc, "not-urgent")
				if len(notices) == 0 {
					t.Errorf("%s: no note that this is not for emergencies (class not-urgent)", p)
				}
				for _, n := range notices {
					text := textOf(n)
					if !strings.Contains(text, call+" "+reg.Emergency) {
						t.Errorf("%s: the emergency note says %q\nwant %q", p, text, call+" "+reg.Emergency)
					}
					for _, h := range reg.Helplines {
						if !strings.Contains(text, h.Number) {
							t.Errorf("%s: the helpline %s of %s is missing", p, h.Number, org.country())
						}
					}
				}
			}
		}
	}
}
