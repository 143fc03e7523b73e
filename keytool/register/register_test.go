package register

import (
	"bytes"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	idA = "0123456789abcdef0123456789abcdef"
	idB = "11111111111111111111111111111111"
	idF = "22222222222222222222222222222222"
)

func newRegister(t *testing.T) *Register {
	t.Helper()
	r, created, err := OpenOrCreate(filepath.Join(t.TempDir(), "register.sqlite"))
	if err != nil || !created {
		t.Fatalf("OpenOrCreate: created %v, %v", created, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func kokCase(t *testing.T, id, arrived string) Case {
	return Case{ID: id, Organisation: "kok", Procedure: "kok-complaints", Lang: "de", Channel: "browser",
		Arrived: mustDay(t, arrived), Choices: map[string]string{"contact-wanted": "yes"}}
}

func TestCasesAndSteps(t *testing.T) {
	r := newRegister(t)
	if added, err := r.AddCase(kokCase(t, idA, "2026-12-23")); err != nil || !added {
		t.Fatalf("AddCase: %v, %v", added, err)
	}
	again := kokCase(t, idA, "2027-01-04")
	again.Lang = "en"
	if added, err := r.AddCase(again); err != nil || added {
		t.Fatalf("AddCase a second time: %v, %v; want it left alone", added, err)
	}
	fu := Case{ID: idF, Organisation: "kok", Procedure: "kok-complaints", Lang: "de", Channel: "server", Arrived: mustDay(t, "2026-12-28"), FollowUpOf: idA}
	for i, want := range []bool{true, false} {
		if added, err := r.AddFollowUp(fu); err != nil || added != want {
			t.Fatalf("AddFollowUp #%d: %v, %v", i+1, added, err)
		}
	}
	if _, err := r.AddFollowUp(Case{ID: idB, Procedure: "kok-complaints", Channel: "unknown", Arrived: mustDay(t, "2026-12-28"), FollowUpOf: "33333333333333333333333333333333"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a follow-up of a case not in the register: %v", err)
	}
	if err := r.RecordStep(idA, "contact", mustDay(t, "2026-12-28"), "", "case"); err != nil {
		t.Fatal(err)
	}
	var se *StepError
	if err := r.RecordStep(idA, "contact", mustDay(t, "2026-12-29"), "", "case"); !errors.As(err, &se) || !strings.Contains(err.Error(), "recorded already, done on 2026-12-28") {
		t.Errorf("a step recorded twice: %v", err)
	}
	if err := r.RecordStep(idA, "clarification", mustDay(t, "2026-12-01"), "", "case"); !errors.As(err, &se) {
		t.Errorf("a step before the case arrived: %v", err)
	}
	if err := r.RecordStep(idA, "clarification", mustDay(t, "2027-01-10"), "maybe", "case"); !errors.As(err, &se) {
		t.Errorf("an unknown result: %v", err)
	}
	if err := r.RecordStep(idB, "contact", mustDay(t, "2027-01-10"), "", "case"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a step of a case not in the register: %v", err)
	}
	if err := r.RecordStep(idF, "contact", mustDay(t, "2027-01-10"), "", "case"); !errors.As(err, &se) {
		t.Errorf("a step recorded on a follow-up: %v", err)
	}

	c, err := r.Get(idF) // a follow-up's id finds its case
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != idA || c.Lang != "de" || c.Choices["contact-wanted"] != "yes" || c.Arrived.Format("2006-01-02") != "2026-12-23" {
		t.Errorf("Get = %+v", c)
	}
	if len(c.Steps) != 2 || c.Steps[0].Step != FollowUp || c.Steps[0].Submission != idF || c.Steps[1].Step != "contact" {
		t.Errorf("steps = %+v", c.Steps)
	}
	open, err := r.OpenCases()
	if err != nil || len(open) != 1 || open[0].ID != idA || len(open[0].Steps) != 2 {
		t.Fatalf("OpenCases = %+v, %v", open, err)
	}

	if err := r.CloseCase(idA, mustDay(t, "2027-01-11"), "finished"); !errors.As(err, &se) || !strings.Contains(err.Error(), "resolved, ended-by-complainant, withdrawn, not-in-scope") {
		t.Errorf("an unknown reason: %v", err)
	}
	if err := r.CloseCase(idA, mustDay(t, "2027-01-11"), Resolved); err != nil {
		t.Fatal(err)
	}
	if err := r.CloseCase(idA, mustDay(t, "2027-01-12"), Withdrawn); !errors.As(err, &se) {
		t.Errorf("closed twice: %v", err)
	}
	if err := r.RecordStep(idA, "clarification", mustDay(t, "2027-01-12"), "", "case"); !errors.As(err, &se) || !strings.Contains(err.Error(), "closed on 2027-01-11 (resolved)") {
		t.Errorf("a step after the case was closed: %v", err)
	}
	if open, err := r.OpenCases(); err != nil || len(open) != 0 {
		t.Errorf("OpenCases after closing = %+v, %v", open, err)
	}
}

func TestTheSchemaRefusesWhatItMustNotHold(t *testing.T) {
	r := newRegister(t)
	for _, c := range []Case{
		{ID: "not-an-id", Procedure: "p", Channel: "browser", Arrived: mustDay(t, "2026-01-05")},
		{ID: idA, Procedure: "p", Channel: "e-mail", Arrived: mustDay(t, "2026-01-05")},
		{ID: idA, Procedure: "p", Channel: "browser"},
	} {
		if _, err := r.AddCase(c); err == nil {
			t.Errorf("AddCase(%+v) was accepted", c)
		}
	}
	// Below the API: the table's own checks.
	for _, q := range []string{
		`INSERT INTO cases (id, organisation, procedure, lang, channel, arrived) VALUES ('` + idA + `', 'kok', 'p', 'de', 'browser', 'yesterday')`,
		`INSERT INTO cases (id, organisation, procedure, lang, channel, arrived, choices) VALUES ('` + idA + `', 'kok', 'p', 'de', 'browser', '2026-01-05', '[1]')`,
		`INSERT INTO cases (id, organisation, procedure, lang, channel, arrived, closed) VALUES ('` + idA + `', 'kok', 'p', 'de', 'browser', '2026-01-05', '2026-01-06')`,
		`INSERT INTO steps (case_id, step, day, recorded_by) VALUES ('` + idB + `', 'contact', '2026-01-05', 'case')`,
	} {
		if _, err := r.db.Exec(q); err == nil {
			t.Errorf("accepted: %s", q)
		}
	}
}

func TestTheFileIsARegister(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "register.sqlite")
	r, created, err := OpenOrCreate(path)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	var app, version int
	var mode string
	r.db.QueryRow("PRAGMA application_id").Scan(&app)
	r.db.QueryRow("PRAGMA user_version").Scan(&version)
	r.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if app != ApplicationID || version != len(migrations) || mode != "delete" {
		t.Errorf("application_id %#x, user_version %d, journal_mode %s", app, version, mode)
	}
	r.AddCase(kokCase(t, idA, "2026-12-23"))
	r.Close()
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 1 {
		t.Errorf("the folder holds %v; want the register alone (no journal, no temporary file)", left)
	}
	r, created, err = OpenOrCreate(path)
	if err != nil || created {
		t.Fatal(created, err)
	}
	defer r.Close()
	if c, err := r.Get(idA); err != nil || c.ID != idA {
		t.Errorf("reopened: %+v, %v", c, err)
	}
	if _, err := Open(filepath.Join(dir, "missing.sqlite")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file: %v", err)
	}
}

// foreignDB makes an SQLite database of another program.
func foreignDB(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE cases (id TEXT, name TEXT); INSERT INTO cases VALUES ('x', 'Ana')`); err != nil {
		t.Fatal(err)
	}
}

func TestAForeignOrDamagedFileIsRefusedAndLeftAsItIs(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.sqlite")
	r, _, err := OpenOrCreate(ours)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ { // enough rows for more than one page
		id := strings.Repeat("0", 29) + string("0123456789abcdef"[i/256%16]) + string("0123456789abcdef"[i/16%16]) + string("0123456789abcdef"[i%16])
		if _, err := r.AddCase(kokCase(t, id, "2026-12-23")); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	good, _ := os.ReadFile(ours)

	files := map[string]func(path string){
		"another program's database": func(path string) { foreignDB(t, path) },
		"a text file":                func(path string) { os.WriteFile(path, []byte("Notizen: Fall 12 anrufen\n"), 0o600) },
		"an empty file":              func(path string) { os.WriteFile(path, nil, 0o600) },
		"a short file":               func(path string) { os.WriteFile(path, []byte("SQLite format 3\x00"), 0o600) },
		"a register cut in half":     func(path string) { os.WriteFile(path, good[:len(good)/2], 0o600) },
		"a register with a damaged page": func(path string) {
			bad := bytes.Clone(good)
			for i := 4096; i < 3*4096; i++ { // the second and third pages: the cases table's tree
				bad[i] ^= 0x5a
			}
			os.WriteFile(path, bad, 0o600)
		},
		"a register of a newer keytool": func(path string) {
			newer := bytes.Clone(good)
			newer[63] = byte(len(migrations) + 1) // user_version, big-endian at offset 60
			os.WriteFile(path, newer, 0o600)
		},
	}
	for name, make := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "register.sqlite")
			make(path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Open refuses the file, or (for damage it cannot see from the header) the first change.
			change := func(r *Register, err error) error {
				if err == nil {
					_, err = r.AddCase(kokCase(t, idB, "2026-12-23"))
					r.Close()
				}
				return err
			}
			for _, open := range []func(string) error{
				func(p string) error { return change(Open(p)) },
				func(p string) error { r, _, err := OpenOrCreate(p); return change(r, err) },
			} {
				err := open(path)
				if err == nil {
					t.Fatal("opened")
				}
				if !strings.Contains(err.Error(), "leaves") && !strings.Contains(err.Error(), "leaves it as it is") {
					t.Errorf("the error does not say the file is left alone: %v", err)
				}
				t.Log(err)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("the file changed (%d bytes before, %d after, %v)", len(before), len(after), err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*")); len(left) != 1 {
				t.Errorf("beside it: %v", left)
			}
		})
	}
}
