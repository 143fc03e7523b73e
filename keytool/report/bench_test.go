package report

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// benchCases are n cases spread over the year, the procedures, channels and outcomes, each kok
// and mk-act case with its deadlines by staff.
func benchCases(n int) []Case {
	slugs := []string{"kok-complaints", "mk-act-complaints", "child-integrity-contact"}
	start := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	cases := make([]Case, n)
	for i := range cases {
		arrived := start.AddDate(0, 0, i%365)
		c := Case{
			Procedure: slugs[i%len(slugs)], Channel: channels[i%len(channels)], Arrived: arrived,
			Outcome: outcomes[i%(len(outcomes)-1)], Appealed: i%7 == 0,
		}
		if c.Outcome == "open" {
			c.Outcome = ""
		}
		done := func(id string, due, took int) Step {
			return Step{ID: id, Due: arrived.AddDate(0, 0, due), Done: arrived.AddDate(0, 0, took), By: "staff", WorkingDays: took}
		}
		switch c.Procedure {
		case "kok-complaints":
			wanted := i%2 == 0
			c.ContactWanted = &wanted
			if wanted {
				c.Steps = []Step{done("contact", 3, i%5)}
			}
		case "mk-act-complaints":
			c.Steps = []Step{done("formal-acknowledgement", 7, i%8), done("formal-handling", 14, i%16)}
			if c.Appealed {
				c.Steps = append(c.Steps, done("appeal-acknowledgement", 20, 18+i%4), done("appeal-answer", 40, 35+i%10))
			}
		}
		cases[i] = c
	}
	return cases
}

func BenchmarkWrite100000(b *testing.B) {
	cases := benchCases(100_000)
	r := procedures(b)
	now := time.Date(2027, time.January, 15, 0, 0, 0, 0, time.UTC)
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if err := Write(filepath.Join(dir, fmt.Sprint(i)), 2026, cases, r, now); err != nil {
			b.Fatal(err)
		}
	}
}
