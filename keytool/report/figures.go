package report

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/safe-complaints/dropbox/site/rules"
)

// The sections of the report, as the CSV names them.
const (
	secComplaints = "complaints"
	secMonth      = "month"
	secChannel    = "channel"
	secContact    = "contact"
	secOutcome    = "outcome"
	secAppeals    = "appeals"
	secDeadline   = "deadline"
)

// The procedure column's names besides the procedures' slugs.
const (
	allProcedures   = "all"   // the sum over every procedure
	otherProcedures = "other" // procedures the rules do not know
)

// channels, outcomes and contact answers in the order the report shows them; a value the report
// does not know is counted under its last entry, so that no text from the input is ever shown.
var (
	channels      = []string{"browser", "server", "unknown"}
	outcomes      = []string{"open", "upheld", "not-upheld", "resolved", "ended-by-complainant", "withdrawn", "not-in-scope", "other"}
	contactValues = []string{"yes", "no", "not-recorded"}
)

// minShown is the smallest count shown as it is: 1 to minShown-1 could point to a person.
const minShown = 5

type kind int

const (
	count  kind = iota
	share       // a share in per cent of Base
	median      // the median of Base durations, in working days
)

type state int

const (
	shown  state = iota
	small        // a count from 1 to 4: "fewer than 5"
	hidden       // not shown: a share or median of fewer than 5, or a count that would give a small one away
	none         // a share or median of nothing
)

// figure is one number of the report, one row of the CSV.
type figure struct {
	Section, Procedure, Key string
	Kind                    kind
	Count                   int     // a count; for a share or a median, how many cases it is of
	Value                   float64 // a share in per cent, or a median
	State                   state
	// smallPart marks a share whose part, or the rest, is a count from 1 to 4: shown with its
	// count it would give that small count away (3 of 7 met is 43 %).
	smallPart bool
}

// group is figures that add up to a total that is shown too: if only one of them were hidden,
// the others and the total would give it away.
type group struct {
	cells []int
	total int
}

// deadline is a step whose deadline is a promise of the staff.
type deadline struct {
	procedure *rules.Procedure
	step      *rules.Step
}

// figures is the whole report: every figure in the order of the CSV, and what the pages need to
// lay them out.
type figures struct {
	year       int
	now        time.Time
	procedures []string // slugs, in the order of the rules, then "other" when there are cases
	rules      *rules.Rules
	asking     []string // procedures whose form asks whether the person wants contact
	appealing  []string // procedures with an appeal
	deadlines  []deadline
	list       []figure
	index      map[[3]string]int
	groups     []group
}

func (f *figures) add(fig figure) int {
	f.list = append(f.list, fig)
	i := len(f.list) - 1
	f.index[[3]string{fig.Section, fig.Procedure, fig.Key}] = i
	return i
}

// at returns the index of a figure; it panics for one that was never added, a bug.
func (f *figures) at(section, procedure, key string) int {
	i, ok := f.index[[3]string{section, procedure, key}]
	if !ok {
		panic(fmt.Sprintf("report: no figure %s/%s/%s", section, procedure, key))
	}
	return i
}

func (f *figures) get(section, procedure, key string) figure {
	return f.list[f.at(section, procedure, key)]
}

func monthKey(year int, m time.Month) string { return fmt.Sprintf("%04d-%02d", year, int(m)) }

// tally holds the counts of one procedure while the cases are read.
type tally struct {
	total    int
	months   [12]int
	channels map[string]int
	contact  map[string]int
	outcomes map[string]int
	appeals  int
	due, met map[string]int   // per deadline step
	days     map[string][]int // per deadline step: working days taken, of the steps done
}

func newTally() *tally {
	return &tally{
		channels: map[string]int{}, contact: map[string]int{}, outcomes: map[string]int{},
		due: map[string]int{}, met: map[string]int{}, days: map[string][]int{},
	}
}

// compute counts the cases that arrived in year.
func compute(year int, cases []Case, procs *rules.Rules, now time.Time) *figures {
	today := day(now)
	f := &figures{year: year, now: now, rules: procs, index: map[[3]string]int{}}
	tallies := map[string]*tally{}
	staffDeadline := map[string]map[string]bool{} // procedure → step id → a deadline by staff
	for i := range procs.Procedures {
		p := &procs.Procedures[i]
		f.procedures = append(f.procedures, p.Slug)
		tallies[p.Slug] = newTally()
		if _, ok := p.Choices["contact-wanted"]; ok {
			f.asking = append(f.asking, p.Slug)
		}
		if _, ok := p.Step("appeal"); ok {
			f.appealing = append(f.appealing, p.Slug)
		}
		staffDeadline[p.Slug] = map[string]bool{}
		for j := range p.Steps {
			if d := p.Steps[j].Deadline; d != nil && d.By == "staff" {
				f.deadlines = append(f.deadlines, deadline{p, &p.Steps[j]})
				staffDeadline[p.Slug][p.Steps[j].ID] = true
			}
		}
	}
	other := newTally()

	for i := range cases {
		c := &cases[i]
		arrived := c.Arrived.UTC()
		if arrived.Year() != year {
			continue
		}
		t, known := tallies[c.Procedure]
		if !known {
			t = other
		}
		t.total++
		t.months[arrived.Month()-1]++
		t.channels[oneOf(c.Channel, channels)]++
		if c.ContactWanted == nil {
			t.contact["not-recorded"]++
		} else if *c.ContactWanted {
			t.contact["yes"]++
		} else {
			t.contact["no"]++
		}
		outcome := c.Outcome
		if outcome == "" {
			outcome = "open"
		}
		t.outcomes[oneOf(outcome, outcomes)]++
		if c.Appealed {
			t.appeals++
		}
		if !known {
			continue
		}
		for _, s := range c.Steps {
			if !staffDeadline[c.Procedure][s.ID] || s.Due.IsZero() {
				continue
			}
			done := !s.Done.IsZero()
			// A deadline still to come is not yet kept or missed.
			if !done && !day(s.Due).Before(today) {
				continue
			}
			t.due[s.ID]++
			if done && !day(s.Done).After(day(s.Due)) {
				t.met[s.ID]++
			}
			if done && s.WorkingDays >= 0 {
				t.days[s.ID] = append(t.days[s.ID], s.WorkingDays)
			}
		}
	}
	if other.total > 0 {
		f.procedures = append(f.procedures, otherProcedures)
		tallies[otherProcedures] = other
	}

	// Complaints per procedure, and per month.
	var all tally
	all.channels, all.outcomes = map[string]int{}, map[string]int{}
	for _, p := range f.procedures {
		t := tallies[p]
		all.total += t.total
		for m := range t.months {
			all.months[m] += t.months[m]
		}
		for k, n := range t.channels {
			all.channels[k] += n
		}
		for k, n := range t.outcomes {
			all.outcomes[k] += n
		}
		all.appeals += t.appeals
	}
	total := f.add(figure{Section: secComplaints, Procedure: allProcedures, Key: "total", Count: all.total})
	byProcedure := group{total: total}
	for _, p := range f.procedures {
		byProcedure.cells = append(byProcedure.cells, f.add(figure{Section: secComplaints, Procedure: p, Key: "total", Count: tallies[p].total}))
	}
	f.groups = append(f.groups, byProcedure)

	// The breakdowns by month, channel and outcome are tables of procedures by key, with the
	// sums over procedures in an "all" row: each row adds up to its procedure's total, each
	// column to its "all" figure.
	table := func(section string, keys []string, value func(t *tally, key string) int, allValue func(key string) int) {
		allRow := group{total: total}
		for _, k := range keys {
			allRow.cells = append(allRow.cells, f.add(figure{Section: section, Procedure: allProcedures, Key: k, Count: allValue(k)}))
		}
		f.groups = append(f.groups, allRow)
		columns := make([]group, len(keys))
		for i := range keys {
			columns[i].total = allRow.cells[i]
		}
		for _, p := range f.procedures {
			row := group{total: f.at(secComplaints, p, "total")}
			for i, k := range keys {
				cell := f.add(figure{Section: section, Procedure: p, Key: k, Count: value(tallies[p], k)})
				row.cells = append(row.cells, cell)
				columns[i].cells = append(columns[i].cells, cell)
			}
			f.groups = append(f.groups, row)
		}
		f.groups = append(f.groups, columns...)
	}
	var months []string
	for m := time.January; m <= time.December; m++ {
		months = append(months, monthKey(year, m))
	}
	table(secMonth, months,
		func(t *tally, k string) int { return t.months[slices.Index(months, k)] },
		func(k string) int { return all.months[slices.Index(months, k)] })
	table(secChannel, channels,
		func(t *tally, k string) int { return t.channels[k] },
		func(k string) int { return all.channels[k] })

	// Contact, only where the form asks: each row adds up to the procedure's total.
	for _, p := range f.asking {
		row := group{total: f.at(secComplaints, p, "total")}
		for _, k := range contactValues {
			row.cells = append(row.cells, f.add(figure{Section: secContact, Procedure: p, Key: k, Count: tallies[p].contact[k]}))
		}
		f.groups = append(f.groups, row)
	}

	table(secOutcome, outcomes,
		func(t *tally, k string) int { return t.outcomes[k] },
		func(k string) int { return all.outcomes[k] })

	// Appeals, where the procedure has one (and wherever a case says it was appealed).
	appeals := group{total: f.add(figure{Section: secAppeals, Procedure: allProcedures, Key: "appealed", Count: all.appeals})}
	for _, p := range f.procedures {
		if slices.Contains(f.appealing, p) || tallies[p].appeals > 0 {
			appeals.cells = append(appeals.cells, f.add(figure{Section: secAppeals, Procedure: p, Key: "appealed", Count: tallies[p].appeals}))
		}
	}
	f.groups = append(f.groups, appeals)

	// Deadlines by staff: how many were due, the share met, the median working days taken.
	for _, d := range f.deadlines {
		t, id := tallies[d.procedure.Slug], d.step.ID
		due := t.due[id]
		f.add(figure{Section: secDeadline, Procedure: d.procedure.Slug, Key: id + "/due", Count: due})
		pct := 0.0
		if due > 0 {
			pct = percent(t.met[id], due)
		}
		met, missed := t.met[id], due-t.met[id]
		small := func(n int) bool { return n > 0 && n < minShown }
		f.add(figure{Section: secDeadline, Procedure: d.procedure.Slug, Key: id + "/met-percent", Kind: share, Count: due, Value: pct, smallPart: small(met) || small(missed)})
		f.add(figure{Section: secDeadline, Procedure: d.procedure.Slug, Key: id + "/median-working-days", Kind: median, Count: len(t.days[id]), Value: medianOf(t.days[id])})
	}
	return f
}

// oneOf returns v if it is among known, and the last of known otherwise.
func oneOf(v string, known []string) string {
	if slices.Contains(known, v) {
		return v
	}
	return known[len(known)-1]
}

// day is t's calendar day in UTC, as the register keeps days.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// percent is part of whole in whole per cent, never rounded to 0 or 100 when it is neither.
func percent(part, whole int) float64 {
	p := math.Round(100 * float64(part) / float64(whole))
	switch {
	case p == 0 && part > 0:
		p = 1
	case p == 100 && part < whole:
		p = 99
	}
	return p
}

func medianOf(days []int) float64 {
	if len(days) == 0 {
		return 0
	}
	s := slices.Clone(days)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return float64(s[n/2-1]+s[n/2]) / 2
}

// suppress hides what could point to a person: a count from 1 to 4 is "fewer than 5"; a share
// or median of fewer than 5 cases is not shown, nor a share whose part or rest is 1 to 4; and where a group adds up to a total, one hidden
// figure alone could be worked out from the rest, so another is hidden with it, the smallest,
// until no group has exactly one.
func (f *figures) suppress() {
	for i := range f.list {
		fig := &f.list[i]
		switch {
		case fig.Kind != count && fig.Count == 0:
			fig.State = none
		case fig.Kind != count && fig.Count < minShown, fig.smallPart:
			fig.State = hidden
		case fig.Kind == count && fig.Count > 0 && fig.Count < minShown:
			fig.State = small
		}
	}
	for changed := true; changed; {
		changed = false
		for _, g := range f.groups {
			unknown := 0
			if f.list[g.total].State != shown {
				unknown++
			}
			for _, c := range g.cells {
				if f.list[c].State != shown {
					unknown++
				}
			}
			if unknown != 1 {
				continue
			}
			pick := -1
			for _, c := range g.cells {
				if fig := f.list[c]; fig.State == shown && fig.Count > 0 && (pick < 0 || fig.Count < f.list[pick].Count) {
					pick = c
				}
			}
			if pick < 0 && f.list[g.total].State == shown && f.list[g.total].Count > 0 {
				pick = g.total
			}
			if pick >= 0 {
				f.list[pick].State = hidden
				changed = true
			}
		}
	}
}
