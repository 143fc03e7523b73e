// Package rules is the procedures' rules for the staff's case register: each procedure's steps,
// their deadlines and the form choices that decide a case's path, as the site writes them in
// procedures.json (docs/register.md). `go generate ./site` copies that file here and the package
// embeds it, so keytool carries the rules offline, without Hugo or the repository.
package rules

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// all: because before the first build data/ holds only its .gitignore, and Go refuses to embed
// a folder with nothing but dotfiles.
//
//go:embed all:data
var data embed.FS

// ReservedStep is the step the case register records a follow-up submission as (keytool/register):
// no procedure's step may take it.
const ReservedStep = "follow-up"

// Version is the version of procedures.json this package reads.
const Version = 1

// ErrNotBuilt is returned by Procedures when the binary was built before the site.
var ErrNotBuilt = errors.New("keytool was built without the procedures' rules: run make site, then build keytool again")

// Rules is procedures.json: every procedure that has a form.
type Rules struct {
	Version    int         `json:"version"`
	Procedures []Procedure `json:"procedures"`
}

// Procedure is one procedure's rules, from its page in the default language (English).
type Procedure struct {
	Slug         string `json:"slug"`         // e.g. kok-complaints
	Organisation string `json:"organisation"` // the id of [params.organisations.<id>] in config.toml
	Region       string `json:"region"`       // ISO 3166-2, for the public holidays of its working days
	Audience     string `json:"audience"`     // adults or children
	Steps        []Step `json:"steps"`        // the steps with an id, in the order of the page
	// Choices maps each form field named in a step's If to its option values, and each value to
	// the labels the form shows for it in every language: a submission carries the label.
	Choices map[string]map[string][]string `json:"choices"`
}

// Step is a step of a procedure that the register tracks.
type Step struct {
	ID       string     `json:"id"`
	Stage    string     `json:"stage"` // the stage's English title; empty when the procedure has one stage
	Title    string     `json:"title"` // English, for staff
	Deadline *Deadline  `json:"deadline,omitempty"`
	If       *Condition `json:"if,omitempty"` // the step happens only on this choice of the form
}

// Deadline is the time a step must be done in.
type Deadline struct {
	Count int    `json:"count"`
	Unit  string `json:"unit"` // working_days, days or months
	// From is what starts the clock: "arrival" (the day the submission arrived) or the id of an
	// earlier step (the day it was done).
	From string `json:"from"`
	// By is "staff" (a promise of the organisation) or "person" (a time the person has, such as
	// an appeal: it ends, but is never overdue).
	By string `json:"by"`
	// Guideline: the source says "normally"; a guide, not a limit.
	Guideline bool `json:"guideline"`
}

// Condition is a form's choice: the field's name and one of its option values.
type Condition struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// Procedures parses the embedded procedures.json.
func Procedures() (*Rules, error) {
	return load(data)
}

func load(fsys fs.FS) (*Rules, error) {
	raw, err := fs.ReadFile(fsys, "data/procedures.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotBuilt
	}
	if err != nil {
		return nil, err
	}
	return Parse(raw)
}

// Parse reads procedures.json and checks what the register relies on: the version, that every
// deadline starts at arrival or at an earlier step, and that every choice names one option by
// each of its labels.
func Parse(raw []byte) (*Rules, error) {
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("procedures.json: %w", err)
	}
	if head.Version != Version {
		return nil, fmt.Errorf("procedures.json has version %d; this keytool reads version %d: build keytool again from the same checkout as the site", head.Version, Version)
	}
	var r Rules
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("procedures.json: %w", err)
	}
	for _, p := range r.Procedures {
		if err := p.check(); err != nil {
			return nil, fmt.Errorf("procedures.json: %s: %w", p.Slug, err)
		}
	}
	return &r, nil
}

func (p *Procedure) check() error {
	done := map[string]bool{"arrival": true}
	for _, s := range p.Steps {
		if s.ID == "" || done[s.ID] {
			return fmt.Errorf("step %q: an empty or repeated id", s.ID)
		}
		if s.ID == ReservedStep {
			return fmt.Errorf("step %q: the id is the register's, for follow-ups sent with a codename; name the step otherwise", s.ID)
		}
		if d := s.Deadline; d != nil {
			if !done[d.From] {
				return fmt.Errorf("step %q: the deadline counts from %q, which is not arrival nor an earlier step", s.ID, d.From)
			}
			if d.By != "staff" && d.By != "person" {
				return fmt.Errorf("step %q: the deadline is by %q, not staff or person", s.ID, d.By)
			}
			if d.Unit != "working_days" && d.Unit != "days" && d.Unit != "months" {
				return fmt.Errorf("step %q: unknown deadline unit %q", s.ID, d.Unit)
			}
			if d.Count <= 0 {
				return fmt.Errorf("step %q: a deadline of %d %s", s.ID, d.Count, d.Unit)
			}
		}
		if c := s.If; c != nil {
			if _, ok := p.Choices[c.Field][c.Value]; !ok {
				return fmt.Errorf("step %q: its if names %s=%s, which is not among the choices", s.ID, c.Field, c.Value)
			}
		}
		done[s.ID] = true
	}
	for field, options := range p.Choices {
		seen := map[string]string{}
		for value, labels := range options {
			for _, label := range labels {
				if other, ok := seen[label]; ok && other != value {
					return fmt.Errorf("field %s: the label %q stands for both %s and %s", field, label, other, value)
				}
				seen[label] = value
			}
		}
	}
	return nil
}

// Procedure returns the procedure with the given slug.
func (r *Rules) Procedure(slug string) (*Procedure, bool) {
	for i := range r.Procedures {
		if r.Procedures[i].Slug == slug {
			return &r.Procedures[i], true
		}
	}
	return nil, false
}

// Step returns the step with the given id.
func (p *Procedure) Step(id string) (*Step, bool) {
	for i := range p.Steps {
		if p.Steps[i].ID == id {
			return &p.Steps[i], true
		}
	}
	return nil, false
}

// Choice returns the option value of field whose label, in any language, is label: the answer a
// submission carries, as the person saw it.
func (p *Procedure) Choice(field, label string) (value string, ok bool) {
	label = strings.TrimSpace(label)
	for value, labels := range p.Choices[field] {
		for _, l := range labels {
			if l == label {
				return value, true
			}
		}
	}
	return "", false
}
