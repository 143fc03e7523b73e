package register

import (
	"fmt"
	"time"

	"github.com/safe-complaints/dropbox/site/rules"
)

// Line is one step of a case's timeline: a step of its procedure, or a follow-up the person
// sent.
type Line struct {
	Step, Title, Stage string
	// Applies is false for a step on another choice's path (KOK's contact when the person
	// wanted none), unless it was recorded all the same.
	Applies bool
	// Due is the deadline's last day; zero without a deadline, or while the step that starts
	// its clock (After) is not done.
	Due   time.Time
	After string
	// ByPerson marks a time the person has (an appeal within 10 working days): the register
	// shows until when it is open and never calls it overdue; nor a guideline.
	ByPerson, Guideline bool
	Done                time.Time // zero while not done
	Result              string
	Submission          string // for a follow-up: its id
}

// Tracked reports whether the line's deadline is a promise of the staff that can be overdue.
func (l Line) Tracked() bool { return !l.Due.IsZero() && !l.ByPerson && !l.Guideline }

// Overdue reports whether a tracked deadline passed before today without the step done.
func (l Line) Overdue(today time.Time) bool {
	return l.Tracked() && l.Done.IsZero() && Day(today).After(l.Due)
}

// Met reports whether a done step with a deadline was done by its due day.
func (l Line) Met() bool { return !l.Done.IsZero() && !l.Due.IsZero() && !l.Done.After(l.Due) }

// applies reports whether a step is on the case's path. A choice the register does not know
// (an older form, an answer left out) puts the step on it: a deadline shown once too often is
// better than one hidden.
func applies(s rules.Step, choices map[string]string) bool {
	if s.If == nil {
		return true
	}
	v, ok := choices[s.If.Field]
	return !ok || v == s.If.Value
}

// Timeline is a case's steps: its procedure's, in the order of the procedure's page, each with
// its due day and when it was done, then the follow-ups the person sent.
func Timeline(p *rules.Procedure, c Case) ([]Line, error) {
	// A case has a few steps: looking them up one by one is quicker than a map.
	done := func(id string) (Done, bool) {
		for _, d := range c.Steps {
			if d.Step == id && d.Submission == "" {
				return d, true
			}
		}
		return Done{}, false
	}
	lines := make([]Line, 0, len(p.Steps)+len(c.Steps))
	for _, s := range p.Steps {
		d, isDone := done(s.ID)
		l := Line{Step: s.ID, Title: s.Title, Stage: s.Stage, Applies: isDone || applies(s, c.Choices), Done: d.Day, Result: d.Result}
		if dl := s.Deadline; dl != nil {
			l.ByPerson, l.Guideline = dl.By == "person", dl.Guideline
			from := c.Arrived
			if dl.From != "arrival" && dl.From != "" {
				f, ok := done(dl.From)
				from = f.Day
				if !ok {
					l.After = dl.From
				}
			}
			if l.After == "" {
				due, err := Due(from, dl.Count, dl.Unit, p.Region)
				if err != nil {
					return nil, fmt.Errorf("procedure %s, step %s: %w", p.Slug, s.ID, err)
				}
				l.Due = due
			}
		}
		lines = append(lines, l)
	}
	for _, d := range c.Steps {
		if d.Submission != "" {
			lines = append(lines, Line{Step: FollowUp, Title: "The person sent more with their codename", Applies: true, Done: d.Day, Submission: d.Submission})
		}
	}
	return lines, nil
}

// Next is the step a case waits for: of the steps on its path not done yet, the one whose
// deadline of the staff comes first; without one, the time the person has that ends first;
// without one, the first in the procedure's order. ok is false when every step is done.
func Next(lines []Line) (next Line, ok bool) {
	rank := func(l Line) int {
		switch {
		case l.Tracked():
			return 0
		case !l.Due.IsZero():
			return 1
		}
		return 2
	}
	for _, l := range lines {
		if !l.Applies || !l.Done.IsZero() || l.Submission != "" {
			continue
		}
		if !ok || rank(l) < rank(next) || rank(l) == rank(next) && rank(l) < 2 && l.Due.Before(next.Due) {
			next, ok = l, true
		}
	}
	return next, ok
}
