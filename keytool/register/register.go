// Package register is the staff's case register on the offline computer: one SQLite file
// beside the case folders that keeps, for every case, the day it arrived, the choices that
// decide its path and the steps of its procedure done so far, so that every deadline stays
// visible (docs/register.md). It keeps ids, procedure slugs, languages, days, option values
// and outcomes, never names, contact details, free text or codename values.
package register

import (
	"bytes"
	"database/sql"
	"embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver: keytool stays one static binary

	"github.com/safe-complaints/dropbox/site/rules"
)

// ApplicationID is PRAGMA application_id of every register ("SCRg"): a file without it is
// another program's database, and keytool never writes to it.
const ApplicationID = 0x53435267

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations are the schema's steps in order; PRAGMA user_version is how many are applied.
var migrations = func() []string {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, name := range names {
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			panic(err)
		}
		out[i] = string(b)
	}
	return out
}()

// The reasons a case is closed for.
const (
	Resolved           = "resolved"             // the procedure came to its end: an outcome, a decision, a settled matter
	EndedByComplainant = "ended-by-complainant" // the person stopped the procedure once it had begun
	Withdrawn          = "withdrawn"            // the person took the complaint back before it was looked into
	NotInScope         = "not-in-scope"         // the procedure does not cover it (about someone else, another service)
)

// CloseReasons lists the reasons a case may be closed for, in the order they are offered.
var CloseReasons = []string{Resolved, EndedByComplainant, Withdrawn, NotInScope}

// The results a step may record.
const (
	Upheld    = "upheld"
	NotUpheld = "not-upheld"
)

// FollowUp is the step a follow-up submission is recorded as in its first complaint's case.
const FollowUp = rules.ReservedStep

// ErrNotFound is returned for a case id the register does not hold.
var ErrNotFound = errors.New("no such case in the register")

// Register is an open register file.
type Register struct {
	db      *sql.DB
	path    string
	checked bool // quick_check passed: the file may be written
}

// Case is one submission in the register: a first complaint, a complaint without a codename,
// or a follow-up (FollowUpOf set).
type Case struct {
	ID           string
	Organisation string
	Procedure    string
	Lang         string
	Channel      string            // browser, server or unknown
	Arrived      time.Time         // the day it arrived, 00:00 UTC
	Choices      map[string]string // form field → option value, for the fields that decide the path
	FollowUpOf   string
	Closed       time.Time // zero while open
	CloseReason  string
	Steps        []Done // in the order they were recorded; filled by Get and OpenCases
}

// Done is a step recorded in a case.
type Done struct {
	Step       string
	Day        time.Time
	Result     string // upheld, not-upheld or empty
	RecordedBy string // decrypt, case or reply
	Submission string // for a follow-up: its id
}

// Open opens an existing register. It refuses a file that is not a register (another
// program's database, any other file) without writing to it; an error for a missing file wraps
// fs.ErrNotExist. A damaged register is refused before its first change: SQLite's quick_check
// reads every page, 0.4 s for 100,000 cases, too slow for keytool cases, which only reads (and
// says so when it meets damage).
func Open(path string) (*Register, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if strings.Contains(abs, "?") {
		return nil, fmt.Errorf("%s: a register's path cannot hold a question mark; choose another name", path)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	r, err := open(abs)
	if err != nil {
		return nil, err
	}
	r.path = path
	if err := r.check(); err != nil {
		r.db.Close()
		return nil, err
	}
	if err := r.migrate(); err != nil {
		r.db.Close()
		return nil, fmt.Errorf("%s: updating the register's tables: %w; nothing was changed", path, err)
	}
	return r, nil
}

// OpenOrCreate opens the register at path, or makes a new one there when there is no file, and
// says whether it made it. A new register is written under another name and renamed into place
// once complete, so a crash never leaves half a register behind.
func OpenOrCreate(path string) (r *Register, created bool, err error) {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		r, err := Open(path)
		return r, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(dir, ".register-new-*.sqlite")
	if err != nil {
		return nil, false, err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath) // gone after the rename; left behind only if something failed
	abs, err := filepath.Abs(tmpPath)
	if err != nil {
		return nil, false, err
	}
	if strings.Contains(abs, "?") {
		return nil, false, fmt.Errorf("%s: a register's path cannot hold a question mark; choose another name", path)
	}
	n, err := open(abs)
	if err != nil {
		return nil, false, err
	}
	n.path = path
	err = n.migrate()
	if cerr := n.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("making the register %s: %w", path, err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("%s appeared while keytool was making a register there; run the command again", path)
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return nil, false, err
	}
	syncDir(dir)
	r, err = Open(path)
	return r, err == nil, err
}

// syncDir makes a rename durable where the system allows it; a drive pulled right after it
// then still has the new name.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// open connects to the file at abs. Every transaction begins IMMEDIATE, taking the write lock
// at once, so two keytools never interleave; a second waits up to 5 s for the first.
//
// The journal is SQLite's rollback journal (DELETE), not WAL: the register is often on a USB
// drive, copied and carried. Between commands it is then one file, complete on its own; with WAL
// the last changes may still sit in register.sqlite-wal, lost by whoever copies only the
// register. A drive pulled in the middle of a change leaves register.sqlite-journal beside it,
// and the next open rolls the unfinished change back. synchronous=FULL flushes the journal and
// the file at each commit, so what a command reported as recorded survives a pulled drive.
func open(abs string) (*Register, error) {
	db, err := sql.Open("sqlite", abs+"?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(DELETE)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &Register{db: db}, nil
}

// checkHeader reads the file's first 100 bytes, SQLite's header, before SQLite opens it: a file
// that is not a register is refused without SQLite ever touching it.
func checkHeader(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("there is no register at %s: %w", path, err)
		}
		return err
	}
	leave := "keytool leaves it as it is; give --register the register.sqlite that keytool decrypt made, or a name that does not exist yet for a new register"
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file, so not a case register; %s", path, leave)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		if fi.Size() == 0 {
			return fmt.Errorf("%s is empty, not a case register; %s", path, leave)
		}
		return fmt.Errorf("%s is not a case register (not an SQLite database); %s", path, leave)
	}
	if !bytes.Equal(h[:16], []byte("SQLite format 3\x00")) {
		return fmt.Errorf("%s is not a case register (not an SQLite database); %s", path, leave)
	}
	if id := binary.BigEndian.Uint32(h[68:72]); id != ApplicationID {
		return fmt.Errorf("%s is an SQLite database of another program (application_id %#x), not a case register; %s", path, id, leave)
	}
	return nil
}

// check refuses a register made by a newer keytool and, when it needs migrations, a damaged
// one; neither is written to.
func (r *Register) check() error {
	var version int
	if err := r.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return r.damaged(err)
	}
	if version > len(migrations) {
		return fmt.Errorf("%s was made by a newer keytool (register version %d, this keytool knows up to %d); use that keytool, this one leaves the register as it is", r.path, version, len(migrations))
	}
	if version < len(migrations) {
		return r.quickCheck()
	}
	// Reading cannot harm a damaged file, and SQLite reports the damage it meets; the whole file
	// is checked before the first change (quickCheck), which takes 0.4 s for 100,000 cases.
	var n int
	if err := r.db.QueryRow("SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		return r.damaged(err)
	}
	return nil
}

// quickCheck runs SQLite's quick_check, once per open register: before the first change, so
// that keytool never writes to a damaged file.
func (r *Register) quickCheck() error {
	if r.checked {
		return nil
	}
	rows, err := r.db.Query("PRAGMA quick_check")
	if err != nil {
		return r.damaged(err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return r.damaged(err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return r.damaged(err)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], "…")
		}
		return r.damaged(errors.New(strings.Join(problems, "; ")))
	}
	r.checked = true
	return nil
}

func (r *Register) damaged(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("the register %s is damaged (%v); keytool leaves it as it is: copy it somewhere safe and use your last backup of it", r.path, err)
}

// migrate applies the migrations the file has not had yet, each in its own transaction
// together with the user_version that records it.
func (r *Register) migrate() error {
	var version int
	if err := r.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	for v := version; v < len(migrations); v++ {
		err := r.tx(func(tx *sql.Tx) error {
			if v == 0 {
				if _, err := tx.Exec(fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(migrations[v]); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
			_, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Path is the file the register was opened from.
func (r *Register) Path() string { return r.path }

// Close closes the register file.
func (r *Register) Close() error { return r.db.Close() }

// beforeCommit, when set (by tests), runs inside every transaction just before its commit.
var beforeCommit func()

// tx runs fn in one transaction (BEGIN IMMEDIATE, by the connection's _txlock).
func (r *Register) tx(fn func(*sql.Tx) error) error {
	if err := r.quickCheck(); err != nil {
		return err
	}
	tx, err := r.db.Begin()
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if beforeCommit != nil {
		beforeCommit()
	}
	return tx.Commit()
}

const dayLayout = time.DateOnly

func day(t time.Time) string { return Day(t).Format(dayLayout) }

// ParseDay reads a day written YYYY-MM-DD.
func ParseDay(s string) (time.Time, error) {
	t, err := time.Parse(dayLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a day written YYYY-MM-DD", s)
	}
	return t, nil
}

func (c *Case) check() error {
	switch {
	case !isID(c.ID):
		return fmt.Errorf("%q is not a case id (32 lower-case hex digits)", c.ID)
	case c.Procedure == "":
		return fmt.Errorf("case %s has no procedure", c.ID)
	case c.Arrived.IsZero():
		return fmt.Errorf("case %s has no day of arrival", c.ID)
	}
	switch c.Channel {
	case "browser", "server", "unknown":
	default:
		return fmt.Errorf("case %s: the channel %q is not browser, server or unknown", c.ID, c.Channel)
	}
	return nil
}

func isID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// AddCase enters a first complaint, or a complaint without a codename, and says whether it
// was new: a case already in the register is left as it is.
func (r *Register) AddCase(c Case) (added bool, err error) {
	if err := c.check(); err != nil {
		return false, err
	}
	choices, err := json.Marshal(orEmpty(c.Choices))
	if err != nil {
		return false, err
	}
	err = r.tx(func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO cases (id, organisation, procedure, lang, channel, arrived, choices)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			c.ID, c.Organisation, c.Procedure, c.Lang, c.Channel, day(c.Arrived), string(choices))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		added = n == 1
		return err
	})
	return added, err
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// AddFollowUp enters a follow-up (c.FollowUpOf names its first complaint, which must be in the
// register) and records it as a step follow-up of that case on the day it arrived, in one
// transaction. It says whether it was new: one already in the register is left as it is.
func (r *Register) AddFollowUp(c Case) (added bool, err error) {
	if err := c.check(); err != nil {
		return false, err
	}
	err = r.tx(func(tx *sql.Tx) error {
		var first string
		var followupOf sql.NullString
		err := tx.QueryRow(`SELECT id, followup_of FROM cases WHERE id = ?`, c.FollowUpOf).Scan(&first, &followupOf)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("follow-up %s: its first complaint %s is not in the register: %w", c.ID, c.FollowUpOf, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if followupOf.Valid { // a follow-up of a follow-up belongs to the same case
			first = followupOf.String
		}
		res, err := tx.Exec(`INSERT INTO cases (id, organisation, procedure, lang, channel, arrived, followup_of)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			c.ID, c.Organisation, c.Procedure, c.Lang, c.Channel, day(c.Arrived), first)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		added = true
		_, err = tx.Exec(`INSERT INTO steps (case_id, step, day, recorded_by, submission) VALUES (?, ?, ?, 'decrypt', ?)`,
			first, FollowUp, day(c.Arrived), c.ID)
		return err
	})
	return added, err
}

// StepError is a step that cannot be recorded, with why.
type StepError struct{ msg string }

func (e *StepError) Error() string { return e.msg }

// RecordStep records that a step of the case's procedure was done on day, with its result
// (upheld, not-upheld, or empty), by a command (case or reply). A step is recorded once; a
// closed case takes no more steps.
func (r *Register) RecordStep(caseID, step string, on time.Time, result, by string) error {
	switch result {
	case "", Upheld, NotUpheld:
	default:
		return &StepError{fmt.Sprintf("the result %q is not %s or %s", result, Upheld, NotUpheld)}
	}
	return r.tx(func(tx *sql.Tx) error {
		if err := openOn(tx, caseID, on, "record the step in that case"); err != nil {
			return err
		}
		var prev string
		err := tx.QueryRow(`SELECT day FROM steps WHERE case_id = ? AND step = ? AND submission IS NULL`, caseID, step).Scan(&prev)
		if err == nil {
			return &StepError{fmt.Sprintf("the step %s of case %s was recorded already, done on %s", step, caseID, prev)}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.Exec(`INSERT INTO steps (case_id, step, day, result, recorded_by) VALUES (?, ?, ?, ?, ?)`,
			caseID, step, day(on), sql.NullString{String: result, Valid: result != ""}, by)
		return err
	})
}

// CloseCase closes a case on day for one of CloseReasons.
func (r *Register) CloseCase(caseID string, on time.Time, reason string) error {
	ok := false
	for _, known := range CloseReasons {
		ok = ok || reason == known
	}
	if !ok {
		return &StepError{fmt.Sprintf("%q is not a reason to close a case; use one of %s", reason, strings.Join(CloseReasons, ", "))}
	}
	return r.tx(func(tx *sql.Tx) error {
		if err := openOn(tx, caseID, on, "close that case"); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE cases SET closed = ?, close_reason = ? WHERE id = ?`, day(on), reason, caseID)
		return err
	})
}

// openOn checks that a change on day on may be made to a case: a first complaint (a follow-up's
// changes go to its case: instead says what to do there), still open, and arrived by on.
func openOn(tx *sql.Tx, caseID string, on time.Time, instead string) error {
	c, err := getCase(tx, caseID)
	if err != nil {
		return err
	}
	if c.FollowUpOf != "" {
		return &StepError{fmt.Sprintf("%s is a follow-up of case %s: %s", caseID, c.FollowUpOf, instead)}
	}
	if !c.Closed.IsZero() {
		return &StepError{fmt.Sprintf("case %s was closed on %s (%s); it takes no more steps", caseID, day(c.Closed), c.CloseReason)}
	}
	if Day(on).Before(c.Arrived) {
		return &StepError{fmt.Sprintf("%s is before the case arrived (%s)", day(on), day(c.Arrived))}
	}
	return nil
}

type querier interface {
	QueryRow(query string, args ...any) *sql.Row
	Query(query string, args ...any) (*sql.Rows, error)
}

const caseColumns = `id, organisation, procedure, lang, channel, arrived, choices, followup_of, closed, close_reason`

func scanCase(scan func(...any) error) (Case, error) {
	var c Case
	var arrived, choices string
	var followupOf, closed, reason sql.NullString
	if err := scan(&c.ID, &c.Organisation, &c.Procedure, &c.Lang, &c.Channel, &arrived, &choices, &followupOf, &closed, &reason); err != nil {
		return c, err
	}
	var err error
	if c.Arrived, err = ParseDay(arrived); err != nil {
		return c, err
	}
	if choices != "{}" { // most cases; json.Unmarshal for each would cost 0.1 s for 100,000
		if err := json.Unmarshal([]byte(choices), &c.Choices); err != nil {
			return c, err
		}
	}
	c.FollowUpOf, c.CloseReason = followupOf.String, reason.String
	if closed.Valid {
		if c.Closed, err = ParseDay(closed.String); err != nil {
			return c, err
		}
	}
	return c, nil
}

func getCase(q querier, id string) (Case, error) {
	c, err := scanCase(q.QueryRow(`SELECT `+caseColumns+` FROM cases WHERE id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("case %s: %w", id, ErrNotFound)
	}
	return c, err
}

func scanDone(scan func(...any) error) (caseID string, d Done, err error) {
	var on string
	var result, submission sql.NullString
	if err := scan(&caseID, &d.Step, &on, &result, &d.RecordedBy, &submission); err != nil {
		return "", d, err
	}
	d.Result, d.Submission = result.String, submission.String
	d.Day, err = ParseDay(on)
	return caseID, d, err
}

// Get returns a case with its steps. For a follow-up's id it returns its first complaint's case.
func (r *Register) Get(id string) (Case, error) {
	c, err := getCase(r.db, id)
	if err != nil {
		return c, err
	}
	if c.FollowUpOf != "" {
		if c, err = getCase(r.db, c.FollowUpOf); err != nil {
			return c, err
		}
	}
	rows, err := r.db.Query(`SELECT case_id, step, day, result, recorded_by, submission FROM steps WHERE case_id = ? ORDER BY seq`, c.ID)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		_, d, err := scanDone(rows.Scan)
		if err != nil {
			return c, err
		}
		c.Steps = append(c.Steps, d)
	}
	return c, rows.Err()
}

// OpenCases returns every case not closed (follow-ups are in their first complaint's case),
// with its steps, in no particular order, without their language and channel.
func (r *Register) OpenCases() ([]Case, error) {
	var n int
	if err := r.db.QueryRow(`SELECT count(*) FROM cases WHERE closed IS NULL AND followup_of IS NULL`).Scan(&n); err != nil {
		return nil, err
	}
	// Only the columns the list needs, each table read in its own order: the list of 100,000
	// cases must take less than a second.
	rows, err := r.db.Query(`SELECT id, organisation, procedure, arrived, choices FROM cases
		WHERE closed IS NULL AND followup_of IS NULL`)
	if err != nil {
		return nil, err
	}
	parsed := choiceCache{} // a few combinations of choices, shared, read only
	return r.casesWithSteps(rows, n, func(scan func(...any) error) (c Case, err error) {
		var arrived, choices string
		if err := scan(&c.ID, &c.Organisation, &c.Procedure, &arrived, &choices); err != nil {
			return c, err
		}
		if c.Arrived, err = ParseDay(arrived); err != nil {
			return c, err
		}
		c.Choices, err = parsed.choices(choices)
		return c, err
	})
}

// CasesArrivedIn returns every first complaint that arrived in year (follow-ups are steps of
// theirs), open or closed, with its steps: what the yearly report counts.
func (r *Register) CasesArrivedIn(year int) ([]Case, error) {
	from, to := fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-01-01", year+1)
	const where = ` FROM cases WHERE followup_of IS NULL AND arrived >= ? AND arrived < ?`
	var n int
	if err := r.db.QueryRow(`SELECT count(*)`+where, from, to).Scan(&n); err != nil {
		return nil, r.damaged(err)
	}
	rows, err := r.db.Query(`SELECT `+caseColumns+where, from, to)
	if err != nil {
		return nil, err
	}
	return r.casesWithSteps(rows, n, scanCase)
}

// casesWithSteps reads the n cases rows holds, each with scan, then their steps. n is counted
// before, so the list is sized once: growing a list of 100,000 cases took a third of the
// report's time.
func (r *Register) casesWithSteps(rows *sql.Rows, n int, scan func(func(...any) error) (Case, error)) ([]Case, error) {
	defer rows.Close()
	cases := make([]Case, 0, n)
	index := make(map[string]int, n)
	for rows.Next() {
		c, err := scan(rows.Scan)
		if err != nil {
			return nil, r.damaged(err)
		}
		index[c.ID] = len(cases)
		cases = append(cases, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return cases, r.withSteps(cases, index)
}

// withSteps fills in the steps of cases (index: id → place in cases), in the order they were
// recorded, reading the steps table once rather than once per case.
func (r *Register) withSteps(cases []Case, index map[string]int) error {
	steps, err := r.db.Query(`SELECT case_id, step, day, result, recorded_by, submission FROM steps ORDER BY seq`)
	if err != nil {
		return err
	}
	defer steps.Close()
	for steps.Next() {
		id, d, err := scanDone(steps.Scan)
		if err != nil {
			return err
		}
		if i, ok := index[id]; ok {
			cases[i].Steps = append(cases[i].Steps, d)
		}
	}
	return steps.Err()
}

// choiceCache decodes each distinct choices value once.
type choiceCache map[string]map[string]string

func (cc choiceCache) choices(raw string) (map[string]string, error) {
	if m, ok := cc[raw]; ok || raw == "{}" {
		return m, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, err
	}
	cc[raw] = m
	return m, nil
}

// IDs returns the id of every submission in the register.
func (r *Register) IDs() (map[string]bool, error) {
	rows, err := r.db.Query(`SELECT id FROM cases`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}
