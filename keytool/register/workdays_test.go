package register

import (
	"strings"
	"testing"
	"time"
)

func mustDay(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := ParseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDue(t *testing.T) {
	for _, c := range []struct {
		name   string
		from   string
		count  int
		unit   string
		region string
		want   string
	}{
		// KOK: contact within 3 working days, Germany and Berlin.
		{"KOK contact across Christmas", "2026-12-23", 3, WorkingDays, "DE-BE", "2026-12-29"},       // 24 Dec counts; 25, 26 (and the weekend) do not
		{"KOK contact across New Year", "2026-12-30", 3, WorkingDays, "DE-BE", "2027-01-05"},        // 31 Dec counts, 1 Jan does not
		{"KOK contact across Easter", "2026-04-02", 3, WorkingDays, "DE-BE", "2026-04-09"},          // Good Friday and Easter Monday
		{"KOK contact across Frauentag", "2027-03-05", 3, WorkingDays, "DE-BE", "2027-03-11"},       // 8 March, Berlin only
		{"KOK contact over a weekend", "2026-03-06", 3, WorkingDays, "DE-BE", "2026-03-11"},         // 8 March 2026 is a Sunday
		{"KOK contact arriving on a Saturday", "2026-03-07", 1, WorkingDays, "DE-BE", "2026-03-09"}, // the Monday
		{"Germany has no substitute days", "2027-12-24", 1, WorkingDays, "DE-BE", "2027-12-27"},
		// MK-ACT: England's bank holidays with their substitute days.
		{"England: Frauentag is a working day", "2027-03-05", 3, WorkingDays, "GB-ENG", "2027-03-10"},
		{"England: Christmas and Boxing Day on a weekend move to 27 and 28 Dec", "2027-12-24", 1, WorkingDays, "GB-ENG", "2027-12-29"},
		{"MK-ACT acknowledgement, 5 working days over Christmas", "2027-12-22", 5, WorkingDays, "GB-ENG", "2027-12-31"},
		{"MK-ACT handling, 10 working days, New Year's substitute Monday", "2027-12-22", 10, WorkingDays, "GB-ENG", "2028-01-10"},
		{"MK-ACT acknowledgement across Easter", "2027-03-24", 5, WorkingDays, "GB-ENG", "2027-04-02"},
		{"MK-ACT appeal, 10 working days after the outcome, Spring bank holiday", "2027-05-28", 10, WorkingDays, "GB-ENG", "2027-06-14"},
		{"MK-ACT answer, 15 days after the appeal meeting, across the year end", "2027-12-20", 15, Days, "GB-ENG", "2028-01-04"},
		{"MK-ACT tell us within a month, end of January", "2028-01-31", 1, Months, "GB-ENG", "2028-02-29"},
		// The child contact: Belgium's national holidays; 11 July is counted as a working day.
		{"Flanders: 11 July is a working day", "2028-07-10", 1, WorkingDays, "BE-VLG", "2028-07-11"},
		{"Belgium: 21 July is not", "2026-07-20", 1, WorkingDays, "BE-VLG", "2026-07-22"},
		{"Belgium: 26 December is a working day", "2025-12-24", 2, WorkingDays, "BE-VLG", "2025-12-29"},
		// Calendar days and months.
		{"days over a weekend", "2026-03-06", 2, Days, "DE-BE", "2026-03-08"},
		{"a month, clamped to February", "2027-01-31", 1, Months, "DE-BE", "2027-02-28"},
		{"a month, clamped to April", "2027-03-31", 1, Months, "DE-BE", "2027-04-30"},
		{"months across the year end", "2027-11-30", 2, Months, "DE-BE", "2028-01-30"},
		{"zero working days", "2026-03-07", 0, WorkingDays, "DE-BE", "2026-03-07"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Due(mustDay(t, c.from), c.count, c.unit, c.region)
			if err != nil {
				t.Fatal(err)
			}
			if got.Format(time.DateOnly) != c.want {
				t.Errorf("Due(%s, %d, %s, %s) = %s, want %s", c.from, c.count, c.unit, c.region, got.Format(time.DateOnly), c.want)
			}
		})
	}
}

func TestDueIgnoresTheTimeOfDay(t *testing.T) {
	late := time.Date(2026, 12, 23, 23, 59, 0, 0, time.UTC)
	got, err := Due(late, 3, WorkingDays, "DE-BE")
	if err != nil || got.Format(time.DateOnly) != "2026-12-29" {
		t.Errorf("Due = %v, %v", got, err)
	}
}

func TestDueRefuses(t *testing.T) {
	if _, err := Due(mustDay(t, "2026-01-05"), 3, WorkingDays, "FR-IDF"); err == nil || !strings.Contains(err.Error(), `"FR-IDF"`) || !strings.Contains(err.Error(), "DE-BE") {
		t.Errorf("an unknown region: %v", err)
	}
	if _, err := Due(mustDay(t, "2026-01-05"), 3, "weeks", "DE-BE"); err == nil {
		t.Error("an unknown unit was accepted")
	}
	if _, err := Due(mustDay(t, "2026-01-05"), -1, Days, "DE-BE"); err == nil {
		t.Error("a negative count was accepted")
	}
}

func TestIsWorkday(t *testing.T) {
	for _, c := range []struct {
		day, region string
		want        bool
	}{
		{"2027-03-08", "DE-BE", false}, // Frauentag
		{"2027-03-08", "GB-ENG", true},
		{"2027-12-27", "GB-ENG", false}, // Christmas Day's substitute
		{"2027-12-28", "GB-ENG", false}, // Boxing Day's substitute
		{"2027-12-27", "DE-BE", true},
		{"2028-01-03", "GB-ENG", false}, // New Year's Day's substitute
		{"2027-05-31", "GB-ENG", false}, // Spring bank holiday
		{"2027-08-30", "GB-ENG", false}, // Summer bank holiday (England, not Scotland's)
		{"2027-08-02", "GB-ENG", true},
		{"2026-10-03", "DE-BE", false}, // a Saturday, and German Unity Day
		{"2027-10-04", "DE-BE", true},
		{"2028-07-11", "BE-VLG", true}, // the Flemish Community's day: see regions
		{"2028-07-21", "BE-VLG", false},
		{"2027-11-11", "BE-VLG", false},
		{"2026-04-03", "BE-VLG", true}, // no Good Friday in Belgium
		{"2026-04-03", "GB-ENG", false},
	} {
		got, err := IsWorkday(mustDay(t, c.day), c.region)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("IsWorkday(%s, %s) = %v, want %v", c.day, c.region, got, c.want)
		}
	}
}

func TestWorkdaysBetween(t *testing.T) {
	for _, c := range []struct {
		a, b, region string
		want         int
	}{
		{"2026-12-23", "2026-12-29", "DE-BE", 3},
		{"2026-12-29", "2026-12-23", "DE-BE", -3},
		{"2026-12-23", "2026-12-23", "DE-BE", 0},
		{"2027-12-24", "2027-12-29", "GB-ENG", 1},
		{"2027-12-22", "2028-01-10", "GB-ENG", 10},
		{"2026-01-01", "2027-01-01", "DE-BE", 254}, // 261 weekdays; 7 holidays on weekdays (3 and 6 Apr, 1, 14 and 25 May, 25 Dec, 1 Jan 2027)
	} {
		got, err := WorkdaysBetween(mustDay(t, c.a), mustDay(t, c.b), c.region)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("WorkdaysBetween(%s, %s, %s) = %d, want %d", c.a, c.b, c.region, got, c.want)
		}
	}
}

// TestWorkdaysBetweenAgreesWithDue checks the counting against the stepping, day by day for
// three years in each region.
func TestWorkdaysBetweenAgreesWithDue(t *testing.T) {
	for _, region := range Regions() {
		start := mustDay(t, "2026-01-01")
		for d := start; d.Year() < 2029; d = d.AddDate(0, 0, 1) {
			for _, n := range []int{1, 3, 10} {
				due, err := Due(d, n, WorkingDays, region)
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := WorkdaysBetween(d, due, region); got != n {
					t.Fatalf("%s: %d working days after %s is %s, but WorkdaysBetween counts %d", region, n, d.Format(time.DateOnly), due.Format(time.DateOnly), got)
				}
			}
		}
	}
}
