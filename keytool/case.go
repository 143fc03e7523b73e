package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/keytool/register"
	"github.com/safe-complaints/dropbox/site/rules"
)

type caseOptions struct {
	register string
	step     string
	result   string
	day      string
	close    string
}

func newCaseCmd() *cobra.Command {
	var opts caseOptions
	cmd := &cobra.Command{
		Use:   "case ID [--register FILE] [--step STEP [--result upheld|not-upheld]] [--close REASON] [--day YYYY-MM-DD]",
		Short: "Show a case's timeline, record a step of its procedure, or close it",
		Long: `Show one case of the case register step by step: each step of its procedure on the case's
path, its due day, the day it was done, and whether that met the deadline; then the follow-ups
the person sent with their codename.

--step records that a step was done, today unless --day says which day; the step is one of the
procedure's (the error lists them). --result records an outcome with it: upheld (you agree with
the complaint) or not-upheld. A step is recorded once.

--close closes the case, for one of these reasons:
  resolved              the procedure came to its end: an outcome, a decision, a settled matter
  ended-by-complainant  the person stopped the procedure once it had begun
  withdrawn             the person took the complaint back before it was looked into
  not-in-scope          the procedure does not cover it (about someone else, another service)
A closed case takes no more steps and leaves keytool cases.

ID is the case's id, the name of its folder (32 hex digits); a follow-up's id finds the case it
belongs to. Without --register, keytool looks for register.sqlite in the current folder.`,
		Example: `  keytool case 0123456789abcdef0123456789abcdef --register ~/cases/register.sqlite
  keytool case 0123456789abcdef0123456789abcdef --step contact
  keytool case 0123456789abcdef0123456789abcdef --step formal-outcome --result upheld --day 2027-01-15
  keytool case 0123456789abcdef0123456789abcdef --close ended-by-complainant`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCase(cmd, args[0], opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.register, "register", defaultRegister, "the case register (CASES/register.sqlite, made by keytool decrypt)")
	f.StringVar(&opts.step, "step", "", "record that this step of the case's procedure was done")
	f.StringVar(&opts.result, "result", "", "with --step: the outcome, upheld or not-upheld")
	f.StringVar(&opts.day, "day", "", "with --step or --close: the day it happened, YYYY-MM-DD (default today)")
	f.StringVar(&opts.close, "close", "", "close the case: "+strings.Join(register.CloseReasons, ", "))
	return cmd
}

func runCase(cmd *cobra.Command, id string, opts caseOptions) error {
	switch {
	case opts.result != "" && opts.step == "":
		return errors.New("--result goes with --step: the step whose outcome it is")
	case opts.day != "" && opts.step == "" && opts.close == "":
		return errors.New("--day goes with --step or --close: the day the step was done or the case closed")
	}
	on := today()
	if opts.day != "" {
		d, err := register.ParseDay(opts.day)
		if err != nil {
			return fmt.Errorf("--day: %w", err)
		}
		if d.After(on) {
			return fmt.Errorf("--day %s is after today (%s): record what was done, when it is done", opts.day, on.Format(time.DateOnly))
		}
		on = d
	}
	rs, err := loadRules()
	if err != nil {
		return err
	}
	reg, err := openRegister(opts.register)
	if err != nil {
		return err
	}
	defer reg.Close()
	c, err := reg.Get(id)
	if errors.Is(err, register.ErrNotFound) {
		return fmt.Errorf("there is no case %s in %s (keytool cases lists the open ones)", id, opts.register)
	}
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if c.ID != id {
		fmt.Fprintf(w, "%s is a follow-up of case %s.\n", id, c.ID)
	}
	p, known := rs.Procedure(c.Procedure)
	if opts.step != "" {
		if !known {
			return fmt.Errorf("case %s is of the procedure %q, which this keytool does not know, so it cannot check the step; use a keytool built with that procedure", c.ID, c.Procedure)
		}
		if _, ok := p.Step(opts.step); !ok {
			return fmt.Errorf("%s has no step %q; its steps are %s", p.Slug, opts.step, stepIDs(p))
		}
		if err := reg.RecordStep(c.ID, opts.step, on, opts.result, "case"); err != nil {
			return err
		}
		fmt.Fprintf(w, "Recorded: %s done on %s.\n", opts.step, on.Format(time.DateOnly))
	}
	if opts.close != "" {
		if err := reg.CloseCase(c.ID, on, opts.close); err != nil {
			return err
		}
		fmt.Fprintf(w, "Closed on %s: %s.\n", on.Format(time.DateOnly), opts.close)
	}
	if opts.step != "" || opts.close != "" {
		if c, err = reg.Get(c.ID); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return printTimeline(w, p, c, today())
}

// printTimeline writes a case's head and its steps.
func printTimeline(w io.Writer, p *rules.Procedure, c register.Case, on time.Time) error {
	fmt.Fprintf(w, "Case %s\nProcedure:  %s (%s)\nArrived:    %s, in %s, %s\n", c.ID, c.Procedure, c.Organisation, c.Arrived.Format(time.DateOnly), c.Lang, channelWords(c.Channel))
	if len(c.Choices) > 0 {
		var choices []string
		for field, value := range c.Choices {
			choices = append(choices, field+": "+value)
		}
		sort.Strings(choices)
		fmt.Fprintf(w, "Choices:    %s\n", strings.Join(choices, ", "))
	}
	if c.Closed.IsZero() {
		fmt.Fprintln(w, "Status:     open")
	} else {
		fmt.Fprintf(w, "Status:     closed on %s, %s\n", c.Closed.Format(time.DateOnly), c.CloseReason)
	}
	fmt.Fprintln(w)
	if p == nil {
		fmt.Fprintf(w, "This keytool does not know the procedure %s; the steps recorded:\n", c.Procedure)
		for _, d := range c.Steps {
			fmt.Fprintf(w, "  %s  %s %s\n", d.Day.Format(time.DateOnly), d.Step, d.Result)
		}
		return nil
	}
	lines, err := register.Timeline(p, c)
	if err != nil {
		return err
	}
	next, hasNext := register.Next(lines)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tDUE\tDONE\tSTATUS\tWHAT")
	for _, l := range lines {
		if !l.Applies {
			continue
		}
		due, done := "-", "-"
		if !l.Due.IsZero() {
			due = l.Due.Format(time.DateOnly)
		}
		if !l.Done.IsZero() {
			done = l.Done.Format(time.DateOnly)
		}
		status, err := lineStatus(p, l, on, c.Closed.IsZero())
		if err != nil {
			return err
		}
		if c.Closed.IsZero() && hasNext && l.Step == next.Step && l.Submission == "" {
			status = strings.TrimPrefix(status+", next", ", ")
		}
		what := l.Title
		if l.Submission != "" {
			what = "the person sent more with their codename (" + l.Submission + ")"
		}
		if l.Result != "" {
			what += " (" + l.Result + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Step, due, done, status, what)
	}
	tw.Flush()
	if skipped := notOnPath(lines); skipped != "" {
		fmt.Fprintf(w, "\nNot on this case's path (by its choices): %s\n", skipped)
	}
	if c.Closed.IsZero() && !hasNext {
		fmt.Fprintf(w, "\nEvery step is done: close the case with keytool case %s --close %s\n", c.ID, strings.Join(register.CloseReasons, "|"))
	}
	return nil
}

// lineStatus says whether a done step met its deadline, and how a step not done stands.
func lineStatus(p *rules.Procedure, l register.Line, on time.Time, open bool) (string, error) {
	switch {
	case l.Submission != "":
		return "received", nil
	case !l.Done.IsZero() && l.Due.IsZero():
		return "done", nil
	case !l.Done.IsZero() && (l.Met() || !l.Tracked()):
		return "met", nil
	case !l.Done.IsZero():
		late, err := register.WorkdaysBetween(l.Due, l.Done, p.Region)
		return fmt.Sprintf("late by %s", workingDays(max(late, 1))), err
	case !open:
		return "", nil
	case l.After != "":
		return "after " + l.After, nil
	case l.Due.IsZero():
		return "", nil
	}
	left, err := register.WorkdaysBetween(on, l.Due, p.Region)
	switch {
	case err != nil:
		return "", err
	case l.Overdue(on):
		return fmt.Sprintf("overdue by %s", workingDays(max(-left, 1))), nil
	case !l.Tracked() && on.After(l.Due):
		return "open until " + l.Due.Format(time.DateOnly) + ", passed", nil
	case !l.Tracked():
		return fmt.Sprintf("open until, %s left", workingDays(left)), nil
	}
	return fmt.Sprintf("%s left", workingDays(left)), nil
}

func notOnPath(lines []register.Line) string {
	var ids []string
	for _, l := range lines {
		if !l.Applies {
			ids = append(ids, l.Step)
		}
	}
	return strings.Join(ids, ", ")
}

func channelWords(channel string) string {
	switch channel {
	case "browser":
		return "encrypted by the form's script"
	case "server":
		return "encrypted by the drop box (sent without JavaScript)"
	}
	return "encrypted where, not recorded (an older submission)"
}

// workingDays is n working days in words (count would make "daies" of it).
func workingDays(n int) string {
	if n == 1 {
		return "1 working day"
	}
	return fmt.Sprintf("%d working days", n)
}
