package rules

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// builtRules reads procedures.json from the built site: site/public, or the folder SITE_PUBLIC
// names (as the site's own tests do). It fails, never skips, when the site has not been built.
func builtRules(t *testing.T) *Rules {
	t.Helper()
	public := os.Getenv("SITE_PUBLIC")
	if public == "" {
		public = filepath.Join("..", "public")
	}
	raw, err := os.ReadFile(filepath.Join(public, "en", "procedures.json"))
	if err != nil {
		t.Fatalf("%v: build the site first (make site), or point SITE_PUBLIC at a build", err)
	}
	r, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTheBuiltSitesRules(t *testing.T) {
	r := builtRules(t)
	var slugs []string
	for _, p := range r.Procedures {
		slugs = append(slugs, p.Slug)
	}
	if got := strings.Join(slugs, " "); got != "kok-complaints mk-act-complaints child-integrity-contact" {
		t.Errorf("procedures: %s", got)
	}

	tests := []struct {
		procedure, step string
		want            Deadline
		wantIf          *Condition
		wantStage       string
	}{
		{"kok-complaints", "contact", Deadline{3, "working_days", "arrival", "staff", false}, &Condition{"contact-wanted", "yes"}, ""},
		{"mk-act-complaints", "formal-acknowledgement", Deadline{5, "working_days", "arrival", "staff", false}, nil, "Formal complaint"},
		{"mk-act-complaints", "formal-handling", Deadline{10, "working_days", "arrival", "staff", false}, nil, "Formal complaint"},
		{"mk-act-complaints", "appeal", Deadline{10, "working_days", "formal-outcome", "person", false}, nil, "Appeal"},
		{"mk-act-complaints", "appeal-acknowledgement", Deadline{5, "working_days", "appeal", "staff", false}, nil, "Appeal"},
		{"mk-act-complaints", "meeting-request", Deadline{10, "working_days", "appeal", "person", false}, nil, "Appeal"},
		{"mk-act-complaints", "appeal-answer", Deadline{15, "days", "appeal-meeting", "staff", false}, nil, "Appeal"},
	}
	for _, tc := range tests {
		t.Run(tc.procedure+"/"+tc.step, func(t *testing.T) {
			p, ok := r.Procedure(tc.procedure)
			if !ok {
				t.Fatalf("no procedure %s", tc.procedure)
			}
			s, ok := p.Step(tc.step)
			if !ok {
				t.Fatalf("no step %s", tc.step)
			}
			if s.Deadline == nil || *s.Deadline != tc.want {
				t.Errorf("deadline %+v, want %+v", s.Deadline, tc.want)
			}
			if (s.If == nil) != (tc.wantIf == nil) || (s.If != nil && *s.If != *tc.wantIf) {
				t.Errorf("if %+v, want %+v", s.If, tc.wantIf)
			}
			if s.Stage != tc.wantStage || s.Title == "" {
				t.Errorf("stage %q, title %q", s.Stage, s.Title)
			}
		})
	}

	kok, _ := r.Procedure("kok-complaints")
	if kok.Organisation != "kok" || kok.Region != "DE-BE" || kok.Audience != "adults" {
		t.Errorf("kok-complaints: %s %s %s", kok.Organisation, kok.Region, kok.Audience)
	}
	if s, _ := kok.Step("no-contact"); s == nil || s.If == nil || *s.If != (Condition{"contact-wanted", "no"}) {
		t.Errorf("no-contact: %+v", s)
	}
	for label, want := range map[string]string{
		"Yes, please contact me":            "yes",
		"Ja, bitte melden Sie sich bei mir": "yes",
		"No, please do not contact me":      "no",
		"  Non, ne me contactez pas ":       "no",
	} {
		if got, ok := kok.Choice("contact-wanted", label); !ok || got != want {
			t.Errorf("Choice(contact-wanted, %q) = %q, %v; want %q", label, got, ok, want)
		}
	}
	if got, ok := kok.Choice("contact-wanted", "Maybe"); ok {
		t.Errorf("Choice of a label no form shows: %q", got)
	}
	for value, labels := range kok.Choices["contact-wanted"] {
		if len(labels) != 12 {
			t.Errorf("contact-wanted=%s: %d labels, want one per language (12)", value, len(labels))
		}
	}
	child, _ := r.Procedure("child-integrity-contact")
	if child.Region != "BE-VLG" || child.Audience != "children" || len(child.Steps) != 3 {
		t.Errorf("child-integrity-contact: %+v", child)
	}
}

// TestTheEmbeddedRules: the copy keytool carries (go generate ./site puts it in data/) is the
// built site's.
func TestTheEmbeddedRules(t *testing.T) {
	r, err := Procedures()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, builtRules(t)) {
		t.Error("data/procedures.json is not the built site's en/procedures.json: run go generate ./site")
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"another version", `{"version": 2, "procedures": []}`, "version 2"},
		{"no version", `{"procedures": []}`, "version 0"},
		{"not JSON", `<html>`, "procedures.json"},
		{"an unknown key", `{"version": 1, "procedures": [{"slug": "x", "steps": [], "deadlines": []}]}`, "unknown field"},
		{"a clock from a later step", `{"version": 1, "procedures": [{"slug": "x", "steps": [
			{"id": "a", "deadline": {"count": 1, "unit": "days", "from": "b", "by": "staff"}}, {"id": "b"}]}]}`, `counts from "b"`},
		{"a deadline by nobody", `{"version": 1, "procedures": [{"slug": "x", "steps": [
			{"id": "a", "deadline": {"count": 1, "unit": "days", "from": "arrival", "by": ""}}]}]}`, "not staff or person"},
		{"an unknown unit", `{"version": 1, "procedures": [{"slug": "x", "steps": [
			{"id": "a", "deadline": {"count": 1, "unit": "weeks", "from": "arrival", "by": "staff"}}]}]}`, "unit"},
		{"a repeated id", `{"version": 1, "procedures": [{"slug": "x", "steps": [{"id": "a"}, {"id": "a"}]}]}`, "repeated"},
		{"the register's own step", `{"version": 1, "procedures": [{"slug": "x", "steps": [{"id": "follow-up"}]}]}`, "the register's"},
		{"an if without its choice", `{"version": 1, "procedures": [{"slug": "x", "steps": [
			{"id": "a", "if": {"field": "f", "value": "yes"}}], "choices": {"f": {"no": ["No"]}}}]}`, "f=yes"},
		{"one label for two values", `{"version": 1, "procedures": [{"slug": "x", "steps": [],
			"choices": {"f": {"yes": ["Ja"], "no": ["Ja"]}}}]}`, `"Ja" stands for both`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one that says %q", err, tc.want)
			}
		})
	}
}

func TestABinaryBuiltBeforeTheSiteSaysWhatToDo(t *testing.T) {
	_, err := load(fstest.MapFS{"data/.gitignore": {Data: []byte("*\n")}})
	if !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "run make site, then build keytool again") {
		t.Errorf("error %v", err)
	}
}
