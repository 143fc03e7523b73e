package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/keytool/register"
)

func TestCasesColoursOverdueOnATerminalAndSaysItAlways(t *testing.T) {
	days := -2
	rows := []*caseRow{{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Procedure: "kok-complaints", Arrived: "2026-12-23", NextStep: "contact", Due: "2026-12-29", DaysLeft: &days, Overdue: true}}
	var plain, tty bytes.Buffer
	printCases(&plain, rows, false)
	printCases(&tty, rows, true)
	if !strings.Contains(plain.String(), "-2 overdue\n") || strings.Contains(plain.String(), "\x1b") {
		t.Errorf("piped:\n%q", plain.String())
	}
	if !strings.Contains(tty.String(), "\x1b[1;31m-2 overdue\x1b[0m\n") {
		t.Errorf("on a terminal:\n%q", tty.String())
	}
}

// bigRegister makes a register of n open cases, a third of each procedure, with a step done in
// half of them, in one transaction (keytool's own would take one each), over years years from
// 2024 on.
func bigRegister(b *testing.B, n, years int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "register.sqlite")
	reg, _, err := register.OpenOrCreate(path)
	if err != nil {
		b.Fatal(err)
	}
	reg.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	procs := []struct{ slug, org, choices, step string }{
		{"kok-complaints", "kok", `{"contact-wanted":"yes"}`, "contact"},
		{"mk-act-complaints", "mk-act", `{}`, "formal-acknowledgement"},
		{"child-integrity-contact", "kinderrechtencoalitie", `{}`, "first-contact"},
	}
	for i := range n {
		p := procs[i%3]
		id := fmt.Sprintf("%032x", i)
		arrived := fmt.Sprintf("%04d-%02d-%02d", 2024+i%years, 1+i%12, 1+i%28)
		if _, err := tx.Exec(`INSERT INTO cases (id, organisation, procedure, lang, channel, arrived, choices) VALUES (?, ?, ?, 'de', 'browser', ?, ?)`, id, p.org, p.slug, arrived, p.choices); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := tx.Exec(`INSERT INTO steps (case_id, step, day, recorded_by) VALUES (?, ?, ?, 'case')`, id, p.step, arrived); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkCases100k is keytool cases on a register of 100,000 open cases (issue 12: under 1 s).
func BenchmarkCases100k(b *testing.B) {
	path := bigRegister(b, 100_000, 3)
	b.ResetTimer()
	for b.Loop() {
		root := newRootCmd(strings.NewReader(""), io.Discard, io.Discard)
		root.SetArgs([]string{"cases", "--register", path})
		if err := root.Execute(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCase100k is keytool case ID on the same register: opening it (with SQLite's
// quick_check) dominates.
func BenchmarkCase100k(b *testing.B) {
	path := bigRegister(b, 100_000, 3)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := keytool("case", fmt.Sprintf("%032x", 4242), "--register", path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReport100k is keytool report for a year of 100,000 cases (issue 12: under 1 s):
// reading them from the register, their timelines and working days, and writing the report.
func BenchmarkReport100k(b *testing.B) {
	path := bigRegister(b, 100_000, 1)
	saved := today
	defer func() { today = saved }()
	today = func() time.Time { return time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC) }
	b.ResetTimer()
	for b.Loop() {
		out := filepath.Join(b.TempDir(), "report")
		root := newRootCmd(strings.NewReader(""), io.Discard, io.Discard)
		root.SetArgs([]string{"report", "--year", "2024", "--out", out, "--register", path})
		if err := root.Execute(); err != nil {
			b.Fatal(err)
		}
	}
}
