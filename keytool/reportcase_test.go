package main

import (
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/keytool/register"
)

// What the report counts of a case, from the register: an outcome step's result over the close
// reason, the appeal, the contact choice where the procedure asks it, and each deadline's working
// days from its own clock's start (the outcome, for the appeal's acknowledgement).
func TestReportCaseCountsWhatTheRegisterHolds(t *testing.T) {
	rs, err := loadRules()
	if err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time { d, _ := register.ParseDay(s); return d }
	mk := register.Case{ID: "e", Procedure: "mk-act-complaints", Organisation: "mk-act", Channel: "server", Arrived: day("2026-12-21"),
		CloseReason: "resolved", Steps: []register.Done{
			{Step: "formal-acknowledgement", Day: day("2026-12-23")},
			{Step: "formal-outcome", Day: day("2027-01-04"), Result: "not-upheld"},
			{Step: "appeal", Day: day("2027-01-06")},
			{Step: "appeal-acknowledgement", Day: day("2027-01-15")},
			{Step: "follow-up", Day: day("2026-12-24"), Submission: "f"},
		}}
	rc, err := reportCase(rs, mk)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Outcome != "not-upheld" || !rc.Appealed || rc.ContactWanted != nil || rc.Channel != "server" {
		t.Errorf("the case: %+v", rc)
	}
	steps := map[string]int{}
	for _, s := range rc.Steps {
		steps[s.ID] = s.WorkingDays
		if s.ID == "follow-up" {
			t.Error("a follow-up is counted as a step of the procedure")
		}
	}
	// 21 Dec 2026 (Mon) to 23 Dec: 2 working days. The appeal (6 Jan 2027) to its acknowledgement
	// (15 Jan): 7 working days in England.
	if steps["formal-acknowledgement"] != 2 || steps["appeal-acknowledgement"] != 7 || steps["formal-handling"] != -1 {
		t.Errorf("working days taken: %v", steps)
	}

	kok := register.Case{ID: "a", Procedure: "kok-complaints", Channel: "browser", Arrived: day("2026-12-23"), Choices: map[string]string{"contact-wanted": "no"}}
	if rc, _ := reportCase(rs, kok); rc.ContactWanted == nil || *rc.ContactWanted || rc.Outcome != "" {
		t.Errorf("KOK without contact: %+v", rc)
	}
	unknown := register.Case{ID: "u", Procedure: "retired-procedure", Arrived: day("2026-12-23")}
	if rc, err := reportCase(rs, unknown); err != nil || len(rc.Steps) != 0 {
		t.Errorf("an unknown procedure: %+v %v", rc, err)
	}
}
