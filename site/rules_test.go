package site

// The procedures' rules for the case register (docs/register.md, docs/content.md): the step ids,
// deadlines and ifs in the procedure pages are data, the same in every language, and
// procedures.json carries them (from English) to keytool.

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/safe-complaints/dropbox/keytool/register"
	"github.com/safe-complaints/dropbox/site/rules"
)

// untracked are the deadlines that carry no id, from or by, by procedure and English step title:
// their clock starts at neither the arrival nor a step of a case (docs/content.md).
var untracked = map[string][]string{
	"mk-act-complaints": {
		"Tell us soon",                  // from the incident, a day the register never knows
		"The team leader looks into it", // the informal stage: spoken, never sent through this site
	},
}

type procedureData struct {
	Audience string `yaml:"audience"`
	Stages   []struct {
		Title string     `yaml:"title"`
		Steps []stepData `yaml:"steps"`
	} `yaml:"stages"`
}

type stepData struct {
	Title string `yaml:"title"`
	ID    string `yaml:"id"`
	If    *struct {
		Field string `yaml:"field"`
		Value string `yaml:"value"`
	} `yaml:"if"`
	Deadline *struct {
		Count     int    `yaml:"count"`
		Unit      string `yaml:"unit"`
		After     string `yaml:"after"` // words, translated: not compared
		From      string `yaml:"from"`
		By        string `yaml:"by"`
		Guideline bool   `yaml:"guideline"`
	} `yaml:"deadline"`
}

// rule is what of a step must be the same in every language.
func (s stepData) rule() string {
	r := "id=" + s.ID
	if s.If != nil {
		r += fmt.Sprintf(" if=%s:%s", s.If.Field, s.If.Value)
	}
	if d := s.Deadline; d != nil {
		r += fmt.Sprintf(" deadline=%d %s from=%s by=%s guideline=%v", d.Count, d.Unit, d.From, d.By, d.Guideline)
	}
	return r
}

type formData struct {
	Fields []formField `yaml:"fields"`
}

type formField struct {
	Name    string `yaml:"name"`
	Options []struct {
		Value string `yaml:"value"`
		Label string `yaml:"label"`
	} `yaml:"options"`
}

// readFrontMatter reads a content file's YAML front matter into v; ok is false when there is no file.
func readFrontMatter(t *testing.T, file string, v any) (ok bool) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	head, _, found := strings.Cut(strings.TrimPrefix(string(raw), "---\n"), "\n---")
	if !found {
		t.Fatalf("%s: no YAML front matter", file)
	}
	if err := yaml.Unmarshal([]byte(head), v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return true
}

func procedureFile(slug, lang string) string {
	return filepath.Join("..", "content", "procedures", slug, "index."+lang+".md")
}

func formFile(slug, lang string) string {
	return filepath.Join("..", "content", "forms", slug, "index."+lang+".md")
}

func TestRulesAreTheSameInEveryLanguage(t *testing.T) {
	for _, slug := range procedures {
		var en procedureData
		if !readFrontMatter(t, procedureFile(slug, "en"), &en) {
			t.Fatalf("no %s", procedureFile(slug, "en"))
		}
		for _, lang := range languages {
			var p procedureData
			if !readFrontMatter(t, procedureFile(slug, lang), &p) {
				continue // TestEveryProcedureInEveryLanguage says so
			}
			if len(p.Stages) != len(en.Stages) {
				t.Errorf("%s %s: %d stages, English has %d", slug, lang, len(p.Stages), len(en.Stages))
				continue
			}
			for i, stage := range en.Stages {
				if len(p.Stages[i].Steps) != len(stage.Steps) {
					t.Errorf("%s %s: stage %d has %d steps, English has %d", slug, lang, i+1, len(p.Stages[i].Steps), len(stage.Steps))
					continue
				}
				for j, step := range stage.Steps {
					if got, want := p.Stages[i].Steps[j].rule(), step.rule(); got != want {
						t.Errorf("%s %s: stage %d, step %d (%q):\n  %s\nEnglish:\n  %s", slug, lang, i+1, j+1, step.Title, got, want)
					}
				}
			}
		}
	}
}

var stepID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func TestRulesAreWellFormed(t *testing.T) {
	for _, slug := range procedures {
		var p procedureData
		readFrontMatter(t, procedureFile(slug, "en"), &p)
		earlier := []string{"arrival"}
		left := slices.Clone(untracked[slug])
		for _, stage := range p.Stages {
			for _, s := range stage.Steps {
				where := fmt.Sprintf("%s: step %q", slug, s.Title)
				if s.ID == "" {
					if s.If != nil {
						t.Errorf("%s: an if without an id (the register knows steps by id)", where)
					}
					if d := s.Deadline; d != nil {
						if i := slices.Index(left, s.Title); i < 0 {
							t.Errorf("%s: a deadline without an id; give the step an id, and the deadline from and by (docs/content.md)", where)
						} else {
							left = slices.Delete(left, i, i+1)
						}
						if d.From != "" || d.By != "" {
							t.Errorf("%s: from and by on a deadline the register does not track", where)
						}
					}
					continue
				}
				if !stepID.MatchString(s.ID) || slices.Contains(earlier, s.ID) {
					t.Errorf("%s: id %q is not lower-case words with hyphens, or not unique", where, s.ID)
				}
				if d := s.Deadline; d != nil {
					if !slices.Contains(earlier, d.From) {
						t.Errorf("%s: deadline from %q; want arrival or an earlier step's id: %s", where, d.From, strings.Join(earlier[1:], ", "))
					}
					if d.By != "staff" && d.By != "person" {
						t.Errorf("%s: deadline by %q; want staff or person", where, d.By)
					}
				}
				if s.If != nil {
					checkIf(t, slug, where, s.If.Field, s.If.Value)
				}
				earlier = append(earlier, s.ID)
			}
		}
		for _, title := range left {
			t.Errorf("%s: untracked names %q, which is not a step with a deadline and without an id", slug, title)
		}
	}
}

// checkIf: field is a choice of the procedure's form in every language, with value among its options.
func checkIf(t *testing.T, slug, where, field, value string) {
	t.Helper()
	for _, lang := range languages {
		var form formData
		if !readFrontMatter(t, formFile(slug, lang), &form) {
			t.Errorf("%s: if %s=%s, but %s has no form in %s", where, field, value, slug, lang)
			continue
		}
		i := slices.IndexFunc(form.Fields, func(f formField) bool { return f.Name == field })
		if i < 0 {
			t.Errorf("%s: if names field %q, which the %s form does not have", where, field, lang)
			continue
		}
		var values []string
		for _, o := range form.Fields[i].Options {
			values = append(values, o.Value)
		}
		if !slices.Contains(values, value) {
			t.Errorf("%s: if %s=%s, but the %s form's %s has only %v", where, field, value, lang, field, values)
		}
	}
}

// TestProceduresJSON: the built site has procedures.json once, from English, and it says what
// the pages say.
func TestProceduresJSON(t *testing.T) {
	s := site(t)
	for _, lang := range languages {
		_, err := fs.Stat(s.fsys, lang+"/procedures.json")
		if lang == "en" && err != nil {
			t.Fatalf("no en/procedures.json: %v", err)
		}
		if lang != "en" && err == nil {
			t.Errorf("%s/procedures.json: the rules are written from the default language only", lang)
		}
	}
	raw, err := fs.ReadFile(s.fsys, "en/procedures.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := rules.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}

	var want []rules.Procedure
	for _, slug := range procedures {
		var form formData
		if !readFrontMatter(t, formFile(slug, "en"), &form) {
			continue
		}
		var p procedureData
		readFrontMatter(t, procedureFile(slug, "en"), &p)
		proc := rules.Procedure{Slug: slug, Audience: p.Audience, Choices: map[string]map[string][]string{}}
		for _, stage := range p.Stages {
			for _, s := range stage.Steps {
				if s.ID == "" {
					continue
				}
				step := rules.Step{ID: s.ID, Stage: stage.Title, Title: s.Title}
				if d := s.Deadline; d != nil {
					step.Deadline = &rules.Deadline{Count: d.Count, Unit: d.Unit, From: d.From, By: d.By, Guideline: d.Guideline}
				}
				if s.If != nil {
					step.If = &rules.Condition{Field: s.If.Field, Value: s.If.Value}
					proc.Choices[s.If.Field] = map[string][]string{}
				}
				proc.Steps = append(proc.Steps, step)
			}
		}
		for field, options := range proc.Choices {
			for _, lang := range languages {
				var f formData
				readFrontMatter(t, formFile(slug, lang), &f)
				for _, fd := range f.Fields {
					if fd.Name == field {
						for _, o := range fd.Options {
							options[o.Value] = append(options[o.Value], o.Label)
						}
					}
				}
			}
		}
		want = append(want, proc)
	}

	if len(r.Procedures) != len(want) {
		t.Fatalf("procedures.json has %d procedures, the content %d with a form", len(r.Procedures), len(want))
	}
	for i, got := range r.Procedures {
		w := want[i]
		// organisation and region come from config.toml, checked by the rules package's test
		w.Organisation, w.Region = got.Organisation, got.Region
		if !reflect.DeepEqual(got, w) {
			t.Errorf("procedures.json, %s:\n%+v\nthe content says:\n%+v", w.Slug, got, w)
		}
	}
}

// Every procedure's working days can be counted: its region (its own holidays, else its
// organisation's) is one whose public holidays the case register knows.
func TestEveryProcedureHasHolidaysTheRegisterKnows(t *testing.T) {
	raw, err := fs.ReadFile(site(t).fsys, "en/procedures.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := rules.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Procedures {
		if _, err := register.Due(time.Date(2026, 12, 23, 0, 0, 0, 0, time.UTC), 3, register.WorkingDays, p.Region); err != nil {
			t.Errorf("%s: %v; give the procedure holidays: with a region the register knows, or add the region to keytool/register/workdays.go", p.Slug, err)
		}
	}
}
