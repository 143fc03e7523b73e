package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/keytool/register"
)

// TestCrashLosesNothing kills a keytool that records cases and steps, with SIGKILL at a random
// moment, again and again: each time the register must open, pass SQLite's integrity check, and
// hold everything keytool had reported as recorded before it was killed.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kills keytool many times")
	}
	path := filepath.Join(t.TempDir(), "register.sqlite")
	reg, _, err := register.OpenOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()
	const rounds = 20
	var recorded []string // "case ID" and "step ID" lines, as the child reported them
	journals := 0
	for round := range rounds {
		child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		child.Env = append(os.Environ(), "KEYTOOL_CRASH_REGISTER="+path, fmt.Sprintf("KEYTOOL_CRASH_ROUND=%d", round))
		out, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		lines, first := make(chan []string), make(chan struct{})
		go func() {
			var got []string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if l := sc.Text(); strings.HasPrefix(l, "case ") || strings.HasPrefix(l, "step ") {
					if got = append(got, l); len(got) == 1 {
						close(first)
					}
				}
			}
			lines <- got
		}()
		// The kill comes at a random moment after the child's first record, not after a fixed
		// time: a loaded machine may take longer than that to start the child at all.
		select {
		case <-first:
		case <-time.After(60 * time.Second):
			t.Fatalf("round %d: the child recorded nothing in a minute", round)
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		child.Process.Signal(syscall.SIGKILL)
		got := <-lines
		child.Wait()
		recorded = append(recorded, got...)
		if _, err := os.Stat(path + "-journal"); err == nil {
			journals++ // killed in the middle of a transaction
		}

		reg, err := register.Open(path)
		if err != nil {
			t.Fatalf("round %d: after the kill, the register does not open: %v", round, err)
		}
		for _, l := range recorded {
			kind, id, _ := strings.Cut(l, " ")
			c, err := reg.Get(id)
			if err != nil {
				t.Fatalf("round %d: %s was recorded before a kill, and is lost: %v", round, l, err)
			}
			if kind == "step" && (len(c.Steps) != 1 || c.Steps[0].Step != "formal-acknowledgement") {
				t.Fatalf("round %d: %s was recorded before a kill; its steps are %+v", round, l, c.Steps)
			}
		}
		reg.Close()
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %s, %v", check, err)
	}
	var orphans int
	db.QueryRow("SELECT count(*) FROM pragma_foreign_key_check").Scan(&orphans)
	if orphans != 0 {
		t.Errorf("%d rows point to nothing", orphans)
	}
	t.Logf("%d kills: %d records reported before them, all kept; %d kills left a journal to roll back", rounds, len(recorded), journals)
	if len(recorded) == 0 {
		t.Error("the child recorded nothing before it was killed: the test tested nothing")
	}
}

// TestCrashChild is the keytool that TestCrashLosesNothing kills: it enters cases and records
// their first step with keytool case, one transaction each, and says so after each.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("KEYTOOL_CRASH_REGISTER")
	if path == "" {
		t.Skip("run by TestCrashLosesNothing")
	}
	var round int
	fmt.Sscan(os.Getenv("KEYTOOL_CRASH_ROUND"), &round)
	arrived, _ := register.ParseDay("2026-01-05")
	for i := range 100000 {
		id := fmt.Sprintf("%016x%016x", round+1, i)
		reg, err := register.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = reg.AddCase(register.Case{ID: id, Organisation: "mk-act", Procedure: "mk-act-complaints", Lang: "en", Channel: "browser", Arrived: arrived})
		reg.Close()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("case", id)
		if _, _, err := keytool("case", id, "--register", path, "--step", "formal-acknowledgement", "--day", "2026-01-06"); err != nil {
			t.Fatal(err)
		}
		fmt.Println("step", id)
	}
}
