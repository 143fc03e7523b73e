package register

import (
	"os"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/site/rules"
)

// testRules are the procedures' rules as the site wrote them (a copy of procedures.json, so
// that the tests do not need a built site).
func testRules(t *testing.T) *rules.Rules {
	t.Helper()
	raw, err := os.ReadFile("testdata/procedures.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := rules.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNextStepOfEachProcedure(t *testing.T) {
	r := testRules(t)
	type done = map[string]string
	for _, c := range []struct {
		name      string
		procedure string
		arrived   string
		choices   map[string]string
		done      done
		today     string
		want      string // step id
		due       string
		byPerson  bool
		overdue   bool
	}{
		{"KOK: contact within 3 working days", "kok-complaints", "2026-12-23", map[string]string{"contact-wanted": "yes"}, nil, "2026-12-29", "contact", "2026-12-29", false, false},
		{"KOK: contact overdue the day after", "kok-complaints", "2026-12-23", map[string]string{"contact-wanted": "yes"}, nil, "2026-12-30", "contact", "2026-12-29", false, true},
		{"KOK: no contact wanted, no deadline", "kok-complaints", "2026-12-23", map[string]string{"contact-wanted": "no"}, nil, "2027-03-01", "no-contact", "", false, false},
		{"KOK: choice unknown, the contact deadline is shown", "kok-complaints", "2026-12-23", nil, nil, "2026-12-24", "contact", "2026-12-29", false, false},
		{"KOK: after contact, clarification", "kok-complaints", "2026-12-23", map[string]string{"contact-wanted": "yes"}, done{"contact": "2026-12-28"}, "2027-01-04", "clarification", "", false, false},
		{"MK-ACT: acknowledgement first", "mk-act-complaints", "2027-12-22", nil, nil, "2027-12-23", "formal-acknowledgement", "2027-12-31", false, false},
		{"MK-ACT: then handling", "mk-act-complaints", "2027-12-22", nil, done{"formal-acknowledgement": "2027-12-23"}, "2028-01-11", "formal-handling", "2028-01-10", false, true},
		{"MK-ACT: the outcome has no deadline", "mk-act-complaints", "2027-12-22", nil, done{"formal-acknowledgement": "2027-12-23", "formal-handling": "2028-01-05"}, "2028-02-01", "formal-outcome", "", false, false},
		{"MK-ACT: the appeal is the person's, open until, never overdue", "mk-act-complaints", "2027-05-03", nil, done{"formal-acknowledgement": "2027-05-04", "formal-handling": "2027-05-10", "formal-outcome": "2027-05-28"}, "2027-07-01", "appeal", "2027-06-14", true, false},
		{"MK-ACT: an appeal is acknowledged within 5 working days", "mk-act-complaints", "2027-05-03", nil, done{"formal-acknowledgement": "2027-05-04", "formal-handling": "2027-05-10", "formal-outcome": "2027-05-28", "appeal": "2027-06-01"}, "2027-06-02", "appeal-acknowledgement", "2027-06-08", false, false},
		{"MK-ACT: the written answer 15 days after the meeting", "mk-act-complaints", "2027-10-01", nil, done{"formal-acknowledgement": "2027-10-04", "formal-handling": "2027-10-08", "formal-outcome": "2027-11-01", "appeal": "2027-11-05", "appeal-acknowledgement": "2027-11-08", "meeting-request": "2027-11-09", "appeal-meeting": "2027-12-20"}, "2028-01-05", "appeal-answer", "2028-01-04", false, true},
		{"Child contact: steps without deadlines, in order", "child-integrity-contact", "2026-07-10", nil, done{"first-contact": "2026-07-13"}, "2026-07-14", "together", "", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, ok := r.Procedure(c.procedure)
			if !ok {
				t.Fatalf("no procedure %s", c.procedure)
			}
			cs := Case{ID: idA, Procedure: c.procedure, Arrived: mustDay(t, c.arrived), Choices: c.choices}
			for step, on := range c.done {
				cs.Steps = append(cs.Steps, Done{Step: step, Day: mustDay(t, on)})
			}
			lines, err := Timeline(p, cs)
			if err != nil {
				t.Fatal(err)
			}
			next, ok := Next(lines)
			if !ok {
				t.Fatal("no next step")
			}
			due := ""
			if !next.Due.IsZero() {
				due = next.Due.Format(time.DateOnly)
			}
			if next.Step != c.want || due != c.due || next.ByPerson != c.byPerson || next.Overdue(mustDay(t, c.today)) != c.overdue {
				t.Errorf("next = %s due %q (by person %v, overdue %v); want %s due %q (by person %v, overdue %v)",
					next.Step, due, next.ByPerson, next.Overdue(mustDay(t, c.today)), c.want, c.due, c.byPerson, c.overdue)
			}
		})
	}
}

func TestTimelineSaysMetOrLate(t *testing.T) {
	p, _ := testRules(t).Procedure("mk-act-complaints")
	cs := Case{ID: idA, Procedure: p.Slug, Arrived: mustDay(t, "2027-12-22"), Steps: []Done{
		{Step: "formal-acknowledgement", Day: mustDay(t, "2027-12-31")}, // the last day: met
		{Step: "formal-handling", Day: mustDay(t, "2028-01-11")},        // a day late
		{Step: FollowUp, Day: mustDay(t, "2028-01-02"), Submission: idF},
	}}
	lines, err := Timeline(p, cs)
	if err != nil {
		t.Fatal(err)
	}
	if !lines[0].Met() || lines[1].Met() || lines[2].Met() {
		t.Errorf("met: %v %v %v", lines[0].Met(), lines[1].Met(), lines[2].Met())
	}
	if lines[3].After != "formal-outcome" || !lines[3].Due.IsZero() {
		t.Errorf("the appeal's clock started: %+v", lines[3])
	}
	if last := lines[len(lines)-1]; last.Step != FollowUp || last.Submission != idF {
		t.Errorf("the follow-up is not on the timeline: %+v", last)
	}
	all := cs
	for _, s := range p.Steps {
		all.Steps = append(all.Steps, Done{Step: s.ID, Day: mustDay(t, "2028-02-01")})
	}
	lines, _ = Timeline(p, all)
	if next, ok := Next(lines); ok {
		t.Errorf("every step done, but next is %+v", next)
	}
}
