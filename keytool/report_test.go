package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/keytool/report"
)

func reportRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(strings.NewReader(""), &out, &errOut)
	root.SetArgs(append([]string{"report"}, args...))
	err := root.Execute()
	return out.String() + errOut.String(), err
}

// withReportCases makes keytool report read cases from a stand-in for the register, and counts
// how often it was asked.
func withReportCases(t *testing.T, cases []report.Case) (register *string, calls *int) {
	t.Helper()
	saved := loadReportCases
	t.Cleanup(func() { loadReportCases = saved })
	register, calls = new(string), new(int)
	loadReportCases = func(path string, year int) ([]report.Case, error) {
		*register, *calls = path, *calls+1
		var out []report.Case
		for _, c := range cases {
			if c.Arrived.Year() == year {
				out = append(out, c)
			}
		}
		return out, nil
	}
	return register, calls
}

func TestReportWritesTheThreeFiles(t *testing.T) {
	year := time.Now().Year()
	var cases []report.Case
	for i := range 7 {
		cases = append(cases, report.Case{Procedure: "mk-act-complaints", Channel: "browser",
			Arrived: time.Date(year, time.January, 5+i, 0, 0, 0, 0, time.UTC), Outcome: "upheld"})
	}
	register, _ := withReportCases(t, cases)
	dir := filepath.Join(t.TempDir(), "report")
	out, err := reportRun(t, "--year", fmt.Sprint(year), "--out", dir, "--register", "cases/register.sqlite")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if *register != "cases/register.sqlite" {
		t.Errorf("read the register %q", *register)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{report.CSVFile, report.HTMLFile, report.SummaryFile}) {
		t.Errorf("the folder holds %v", names)
	}
	summary, _ := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	if !strings.Contains(string(summary), "Complaints: 7 (") {
		t.Errorf("summary.txt:\n%s", summary)
	}
	if !strings.Contains(out, "report.html") {
		t.Errorf("output: %q", out)
	}
}

func TestReportRefuses(t *testing.T) {
	now := time.Now().Year()
	file := filepath.Join(t.TempDir(), "a-file")
	full := t.TempDir()
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "notes.txt"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no year", []string{"--out", filepath.Join(t.TempDir(), "r")}, `"year" not set`},
		{"no folder", []string{"--year", fmt.Sprint(now)}, `"out" not set`},
		{"a year before 2000", []string{"--year", "1999", "--out", filepath.Join(t.TempDir(), "r")}, fmt.Sprintf("give a year from 2000 to %d", now)},
		{"a year to come", []string{"--year", fmt.Sprint(now + 1), "--out", filepath.Join(t.TempDir(), "r")}, "give a year from 2000"},
		{"a folder with files", []string{"--year", fmt.Sprint(now), "--out", full}, "never written over anything"},
		{"a file", []string{"--year", fmt.Sprint(now), "--out", file}, "is a file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, calls := withReportCases(t, nil)
			out, err := reportRun(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one that says %q\n%s", err, tc.want, out)
			}
			if *calls != 0 {
				t.Error("the register was read")
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(full, "notes.txt")); string(b) != "kept" {
		t.Errorf("notes.txt: %q", b)
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		t.Errorf("the full folder holds %d files", len(entries))
	}
}

// An empty folder is as good as a new one.
func TestReportIntoAnEmptyFolder(t *testing.T) {
	withReportCases(t, nil)
	dir := t.TempDir()
	if out, err := reportRun(t, "--year", fmt.Sprint(time.Now().Year()), "--out", dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, report.HTMLFile)); err != nil {
		t.Error(err)
	}
}

func TestReportWithoutTheRegister(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	_, err := reportRun(t, "--year", fmt.Sprint(time.Now().Year()), "--out", dir)
	if err == nil || !strings.Contains(err.Error(), "there is no case register at register.sqlite; keytool decrypt --out CASES makes") {
		t.Errorf("error %v", err)
	}
	if _, statErr := os.Stat(dir); statErr == nil {
		t.Error("the folder was made")
	}
}
