// Package report writes the yearly anonymised report the procedures ask for (issue 12): an HTML
// page with charts, a CSV of the same figures and a short text summary. It takes plain facts
// about each case, not the register's rows, and gives only counts, shares and medians: a count
// from 1 to 4 is "fewer than 5", and a share or median from fewer than 5 cases is not shown, so
// that nobody can be recognised.
package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/safe-complaints/dropbox/site/rules"
)

// Case is what the report knows of one complaint: no id, no text, no answer.
type Case struct {
	Procedure    string    // the procedure's slug, as in the rules
	Organisation string    // not shown: the rules say whose procedure it is
	Channel      string    // browser, server or unknown
	Arrived      time.Time // the day it arrived
	// ContactWanted is the person's choice where the procedure asks; nil where it does not.
	ContactWanted *bool
	// Outcome is "" while the case is open, or upheld, not-upheld, ended-by-complainant,
	// withdrawn, not-in-scope or resolved.
	Outcome  string
	Appealed bool
	Steps    []Step
}

// Step is one step of a case that has a deadline or was done.
type Step struct {
	ID        string
	Due, Done time.Time // the zero time when there is none
	By        string    // staff or person; the rules decide which deadlines are reported
	// WorkingDays is the number of the region's working days from the start of the clock to
	// Done; -1 when the step is not done.
	WorkingDays int
}

// The files Write makes.
const (
	HTMLFile    = "report.html"
	CSVFile     = "report.csv"
	SummaryFile = "summary.txt"
)

// Write writes the report for the complaints that arrived in year into dir (made if missing),
// and never overwrites a file there. procs are the procedures' rules; now is the day the report
// is made, which also decides which deadlines have passed.
func Write(dir string, year int, cases []Case, procs *rules.Rules, now time.Time) error {
	if procs == nil {
		return errors.New("report: no procedures' rules")
	}
	if year < 1 || year > now.Year() {
		return fmt.Errorf("report: the year %d has not begun on %s", year, now.Format(time.DateOnly))
	}
	f := compute(year, cases, procs, now)
	f.suppress()

	html, err := f.html()
	if err != nil {
		return err
	}
	files := []struct {
		name string
		body []byte
	}{
		{HTMLFile, html},
		{CSVFile, f.csv()},
		{SummaryFile, f.summary()},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var written []string
	for _, file := range files {
		path := filepath.Join(dir, file.name)
		if err := writeNew(path, file.body); err != nil {
			for _, w := range written {
				os.Remove(w)
			}
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s is already there; a report is never written over another: choose an empty folder", path)
			}
			return err
		}
		written = append(written, path)
	}
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, body []byte) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := out.Write(body); err != nil {
		out.Close()
		os.Remove(path)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}
