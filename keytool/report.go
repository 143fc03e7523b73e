package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/keytool/register"
	"github.com/safe-complaints/dropbox/keytool/report"
	"github.com/safe-complaints/dropbox/site/rules"
)

// firstReportYear is the earliest year a report may be asked for: earlier is a typo.
const firstReportYear = 2000

// loadReportCases reads from the register the cases that arrived in year, as the report takes
// them: plain facts, no ids and no text.
var loadReportCases = func(registerPath string, year int) ([]report.Case, error) {
	rs, err := loadRules()
	if err != nil {
		return nil, err
	}
	reg, err := openRegister(registerPath)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	cases, err := reg.CasesArrivedIn(year)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", registerPath, err)
	}
	out := make([]report.Case, 0, len(cases))
	for _, c := range cases {
		rc, err := reportCase(rs, c)
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", c.ID, err)
		}
		out = append(out, rc)
	}
	return out, nil
}

// reportCase is what the report counts of a case: its procedure, channel and day, the choice of
// contact where the procedure asks, its outcome, whether it was appealed, and each step with a
// deadline or done: when due, when done, and the working days it took from its clock's start.
// No id, no language, nothing the person wrote.
func reportCase(rs *rules.Rules, c register.Case) (report.Case, error) {
	rc := report.Case{Procedure: c.Procedure, Organisation: c.Organisation, Channel: c.Channel, Arrived: c.Arrived, Outcome: c.CloseReason}
	p, known := rs.Procedure(c.Procedure)
	if !known {
		return rc, nil // counted, under "other", without steps: this keytool does not know them
	}
	if options, asks := p.Choices[contactField]; asks {
		if v, ok := c.Choices[contactField]; ok {
			if _, known := options[v]; known {
				wanted := v == "yes"
				rc.ContactWanted = &wanted
			}
		}
	}
	for _, d := range c.Steps {
		if d.Result != "" && d.Submission == "" {
			rc.Outcome = d.Result // an outcome (upheld, not upheld) says more than how the case closed
		}
		if d.Step == "appeal" && d.Submission == "" {
			rc.Appealed = true
		}
	}
	lines, err := register.Timeline(p, c)
	if err != nil {
		return rc, err
	}
	done := map[string]time.Time{"arrival": c.Arrived}
	for _, l := range lines {
		if l.Submission == "" && !l.Done.IsZero() {
			done[l.Step] = l.Done
		}
	}
	for _, l := range lines {
		s, ok := p.Step(l.Step)
		if l.Submission != "" || !ok || (l.Due.IsZero() && l.Done.IsZero()) {
			continue
		}
		step := report.Step{ID: l.Step, Due: l.Due, Done: l.Done, WorkingDays: -1}
		if s.Deadline != nil {
			step.By = s.Deadline.By
			if start, started := done[s.Deadline.From]; started && !l.Done.IsZero() {
				if step.WorkingDays, err = register.WorkdaysBetween(start, l.Done, p.Region); err != nil {
					return rc, err
				}
			}
		}
		rc.Steps = append(rc.Steps, step)
	}
	return rc, nil
}

// contactField is the form field by which a person asks to be contacted (KOK's form); a
// procedure whose rules name it among their choices asks it.
const contactField = "contact-wanted"

type reportOptions struct {
	year     int
	out      string
	register string
}

func newReportCmd() *cobra.Command {
	var opts reportOptions
	cmd := &cobra.Command{
		Use:   "report --year YEAR --out FOLDER [--register FILE]",
		Short: "Write the yearly anonymised report from the case register",
		Long: `Write the yearly anonymised report the procedures ask for, for the board and the people the
organisation serves, from the complaints in the case register that arrived in YEAR.

FOLDER gets three files: report.html (one page with charts, which opens in any browser and asks
for nothing outside itself), report.csv (the same figures, one a row: section, procedure, key,
value) and summary.txt (a short summary in plain text). FOLDER must be new or empty: a report is
never written over anything.

The report holds no personal data and no free text from any complaint: only counts, shares and
durations. Complaints per procedure and per month, how they were sent, how many wanted contact,
outcomes, appeals, and for each deadline of the staff how many were due, the share met in time
and the median working days taken. A count below 5 (other than 0) is shown as "fewer than 5"
("<5" in the CSV) and has no bar in a chart, a share or median of fewer than 5 cases is not
shown, and a figure from which such a count could be worked out is not shown either, so that
nobody can be recognised.`,
		Example: `  keytool report --year 2026 --out ~/report-2026
  keytool report --year 2026 --register cases/register.sqlite --out report-2026`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.OutOrStdout(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.year, "year", 0, "the year of the report: the complaints that arrived in it")
	f.StringVar(&opts.out, "out", "", "the folder to write the report into: new or empty (made if missing)")
	f.StringVar(&opts.register, "register", defaultRegister, "the case register (CASES/register.sqlite, made by keytool decrypt)")
	cmd.MarkFlagRequired("year")
	cmd.MarkFlagRequired("out")
	return cmd
}

func runReport(out io.Writer, opts reportOptions) error {
	now := today()
	if opts.year < firstReportYear || opts.year > now.Year() {
		return fmt.Errorf("--year %d: give a year from %d to %d", opts.year, firstReportYear, now.Year())
	}
	if err := checkReportFolder(opts.out); err != nil {
		return err
	}
	procs, err := rules.Procedures()
	if err != nil {
		return err
	}
	cases, err := loadReportCases(opts.register, opts.year)
	if err != nil {
		return err
	}
	if err := report.Write(opts.out, opts.year, cases, procs, now); err != nil {
		return err
	}
	fmt.Fprintf(out, "The report for %d is in %s: %s (open it in a browser), %s and %s.\n",
		opts.year, opts.out, report.HTMLFile, report.CSVFile, report.SummaryFile)
	return nil
}

// checkReportFolder refuses a folder that holds anything, before the register is read:
// report.Write would refuse to write over a file too, but a folder with other files in it is
// most likely the wrong one.
func checkReportFolder(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		if info, statErr := os.Stat(dir); statErr == nil && !info.IsDir() {
			return fmt.Errorf("--out %s is a file; give a new or empty folder for the report", dir)
		}
		return err
	case len(entries) > 0:
		return fmt.Errorf("--out %s holds files already, and a report is never written over anything; give a new or empty folder", dir)
	}
	return nil
}
