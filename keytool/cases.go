package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/safe-complaints/dropbox/keytool/register"
	"github.com/safe-complaints/dropbox/site/rules"
)

// loadRules reads the procedures' rules keytool was built with; the tests give their own.
var loadRules = rules.Procedures

// today is the staff's calendar day, by the computer's clock and time zone; the tests fix it.
var today = func() time.Time { return register.Day(time.Now()) }

// defaultRegister is where cases and case look without --register: the working folder, which
// is the folder of case folders when staff work there.
const defaultRegister = "register.sqlite"

type casesOptions struct {
	register string
	json     bool
}

func newCasesCmd() *cobra.Command {
	var opts casesOptions
	cmd := &cobra.Command{
		Use:   "cases [--register FILE] [--json]",
		Short: "List the open cases, what each waits for and by when",
		Long: `List the open cases of the case register, the one due first at the top.

For each case: its id, procedure, the day it arrived, the next step of its procedure, the day
that step is due and the working days left until then (in the public holidays of the
organisation's region). A step past its due day is overdue: in red on a terminal, and with the
word "overdue" always. A time the person has (an appeal within 10 working days of the outcome)
shows as "open until", and is never overdue. A case whose steps are all done waits to be closed
(keytool case ID --close REASON).

The register is the file keytool decrypt writes (CASES/register.sqlite); without --register,
keytool looks for register.sqlite in the current folder. --json writes the same list for
scripts.`,
		Example: `  keytool cases --register ~/cases/register.sqlite
  cd ~/cases && keytool cases
  keytool cases --register cases/register.sqlite --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCases(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.register, "register", defaultRegister, "the case register (CASES/register.sqlite, made by keytool decrypt)")
	cmd.Flags().BoolVar(&opts.json, "json", false, "write the list as JSON, for scripts")
	return cmd
}

// openRegister opens an existing register for cases and case.
func openRegister(path string) (*register.Register, error) {
	r, err := register.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("there is no case register at %s; keytool decrypt --out CASES makes CASES/register.sqlite: give it with --register, or run keytool in CASES", path)
	}
	return r, err
}

// caseRow is a row of keytool cases.
type caseRow struct {
	ID           string `json:"id"`
	Procedure    string `json:"procedure"`
	Organisation string `json:"organisation"`
	Arrived      string `json:"arrived"`
	NextStep     string `json:"next_step,omitempty"` // empty: every step is done
	NextTitle    string `json:"next_title,omitempty"`
	Due          string `json:"due,omitempty"`
	OpenUntil    bool   `json:"open_until,omitempty"` // the due day ends a time the person has
	DaysLeft     *int   `json:"days_left,omitempty"`  // working days, negative once past
	Overdue      bool   `json:"overdue"`
	Note         string `json:"note,omitempty"`
	due          time.Time
	passed       bool // the person's time is over
}

func runCases(cmd *cobra.Command, opts casesOptions) error {
	rs, err := loadRules()
	if err != nil {
		return err
	}
	reg, err := openRegister(opts.register)
	if err != nil {
		return err
	}
	defer reg.Close()
	cases, err := reg.OpenCases()
	if err != nil {
		return err
	}
	rows, err := caseRows(rs, cases, today())
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if opts.json {
		if rows == nil {
			rows = []*caseRow{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(w, "No open cases in %s.\n", opts.register)
		return nil
	}
	printCases(w, rows, colour(w))
	return nil
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	if a == b {
		return 0
	}
	if a {
		return 1
	}
	return -1
}

func caseRows(rs *rules.Rules, cases []register.Case, on time.Time) ([]*caseRow, error) {
	rows := make([]*caseRow, 0, len(cases))
	for _, c := range cases {
		row := &caseRow{ID: c.ID, Procedure: c.Procedure, Organisation: c.Organisation, Arrived: c.Arrived.Format(time.DateOnly)}
		p, ok := rs.Procedure(c.Procedure)
		if !ok {
			row.Note = "a procedure this keytool does not know"
			rows = append(rows, row)
			continue
		}
		lines, err := register.Timeline(p, c)
		if err != nil {
			return nil, err
		}
		next, ok := register.Next(lines)
		if !ok {
			row.Note = "every step done: close it"
			rows = append(rows, row)
			continue
		}
		row.NextStep, row.NextTitle = next.Step, next.Title
		if !next.Due.IsZero() {
			row.due, row.Due, row.OpenUntil = next.Due, next.Due.Format(time.DateOnly), !next.Tracked()
			days, err := register.WorkdaysBetween(on, next.Due, p.Region)
			if err != nil {
				return nil, err
			}
			row.DaysLeft, row.Overdue = &days, next.Overdue(on)
			row.passed = row.OpenUntil && on.After(next.Due)
		}
		rows = append(rows, row)
	}
	// What is due first comes first, the staff's deadlines before the person's time on one day;
	// then what waits without a due day, the oldest first.
	slices.SortFunc(rows, func(a, b *caseRow) int {
		switch {
		case a.due.IsZero() != b.due.IsZero():
			return cmpBool(a.due.IsZero(), b.due.IsZero())
		case !a.due.Equal(b.due):
			return a.due.Compare(b.due)
		case a.OpenUntil != b.OpenUntil:
			return cmpBool(a.OpenUntil, b.OpenUntil)
		case a.Arrived != b.Arrived:
			return strings.Compare(a.Arrived, b.Arrived)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return rows, nil
}

// colour reports whether w is a terminal that takes colours (and NO_COLOR is not set).
func colour(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

func printCases(w io.Writer, rows []*caseRow, colour bool) {
	// Columns padded by hand rather than by text/tabwriter, which holds every cell of 100,000
	// rows in memory; the coloured column is the last, so its escape codes upset no alignment.
	table := make([][6]string, 0, len(rows)+1)
	table = append(table, [6]string{"CASE", "PROCEDURE", "ARRIVED", "NEXT STEP", "DUE", "DAYS LEFT"})
	overdue := 0
	for _, r := range rows {
		next, due, left := r.NextStep, r.Due, "-"
		if next == "" {
			next = "(" + r.Note + ")"
		}
		if due == "" {
			due = "-"
		}
		if r.OpenUntil {
			due = "open until " + due
		}
		if r.DaysLeft != nil {
			left = strconv.Itoa(*r.DaysLeft)
			switch {
			case r.Overdue:
				overdue++
				// The word is there on a terminal too: a colour alone is lost on some eyes and screens.
				left += " overdue"
				if colour {
					left = "\x1b[1;31m" + left + "\x1b[0m"
				}
			case r.passed:
				left += " (passed)"
			}
		}
		table = append(table, [6]string{r.ID, r.Procedure, r.Arrived, next, due, left})
	}
	var width [5]int
	for _, row := range table {
		for i := range width {
			width[i] = max(width[i], utf8.RuneCountInString(row[i]))
		}
	}
	bw := bufio.NewWriter(w)
	spaces := strings.Repeat(" ", slices.Max(width[:])+2)
	for _, row := range table {
		for i, cell := range row[:5] {
			bw.WriteString(cell)
			bw.WriteString(spaces[:width[i]-utf8.RuneCountInString(cell)+2])
		}
		bw.WriteString(row[5])
		bw.WriteByte('\n')
	}
	fmt.Fprintf(bw, "%s", count(len(rows), "open case"))
	if overdue > 0 {
		fmt.Fprintf(bw, ", %d overdue", overdue)
	}
	fmt.Fprintln(bw)
	bw.Flush()
}

// stepIDs lists a procedure's step ids, for an error that says which are valid.
func stepIDs(p *rules.Procedure) string {
	ids := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		ids[i] = s.ID
	}
	return strings.Join(ids, ", ")
}
