package answers_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/safe-complaints/dropbox/internal/answers"
)

func TestDammKnownValue(t *testing.T) {
	// The example of Damm's thesis and of every implementation: 572 gets the check digit 4.
	if got := answers.Damm([]byte("572")); got != 4 {
		t.Fatalf("check digit of 572 = %d, want 4", got)
	}
	if got := answers.Damm([]byte("5724")); got != 0 {
		t.Fatalf("5724 does not check: %d", got)
	}
}

// TestCheckDigitCatchesEveryTypoAndSwap changes, in a sample of codenames, every digit to every
// other digit and swaps every pair of different neighbours: each must be refused.
func TestCheckDigitCatchesEveryTypoAndSwap(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026))
	tried := 0
	for range 2000 {
		d := make([]byte, answers.RandomDigits)
		for i := range d {
			d[i] = '0' + byte(rng.IntN(10))
		}
		d = append(d, '0'+answers.Damm(d))
		if _, err := answers.ParseCodename(string(d)); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		for i := range d {
			for v := byte('0'); v <= '9'; v++ {
				if v == d[i] {
					continue
				}
				bad := append([]byte(nil), d...)
				bad[i] = v
				if _, err := answers.ParseCodename(string(bad)); !errors.Is(err, answers.ErrCheckDigit) {
					t.Fatalf("%s (digit %d of %s changed) = %v, want ErrCheckDigit", bad, i+1, d, err)
				}
				tried++
			}
			if i+1 < len(d) && d[i] != d[i+1] {
				bad := append([]byte(nil), d...)
				bad[i], bad[i+1] = bad[i+1], bad[i]
				if _, err := answers.ParseCodename(string(bad)); !errors.Is(err, answers.ErrCheckDigit) {
					t.Fatalf("%s (digits %d and %d of %s swapped) = %v, want ErrCheckDigit", bad, i+1, i+2, d, err)
				}
				tried++
			}
		}
	}
	t.Logf("%d mistakes caught", tried)
}

func TestNewCodename(t *testing.T) {
	seen := map[string]bool{}
	var counts [10]int
	for range 2000 {
		c, err := answers.NewCodename()
		if err != nil {
			t.Fatal(err)
		}
		back, err := answers.ParseCodename(c.String())
		if err != nil || back != c {
			t.Fatalf("%s does not read back: %v", c, err)
		}
		if seen[c.Digits()] {
			t.Fatalf("%s twice", c)
		}
		seen[c.Digits()] = true
		for _, d := range c.Digits()[:answers.RandomDigits] {
			counts[d-'0']++
		}
	}
	// 50,000 digits: each value should appear 5,000 times. Six standard deviations (about 400)
	// is far beyond chance, and well within a modulo bias of 6/256 (about 1,200).
	for v, n := range counts {
		if n < 4600 || n > 5400 {
			t.Errorf("digit %d drawn %d times of 50000", v, n)
		}
	}
	c, _ := answers.NewCodename()
	if s := c.String(); len(s) != 31 || strings.Count(s, " ") != 5 {
		t.Errorf("String() = %q, want six groups", s)
	}
}

// The vectors in testdata/answers/codenames.json hold the rest of the parsing rules.
func TestParseErrorsSayWhat(t *testing.T) {
	_, err := answers.ParseCodename("48213 O9375")
	var ce *answers.CharError
	if !errors.As(err, &ce) || ce.Pos != 7 || ce.Char != 'O' {
		t.Fatalf("err = %v, want character 7 'O'", err)
	}
	if !strings.Contains(err.Error(), "character 7") || !strings.Contains(err.Error(), "U+004F") {
		t.Errorf("message %q names neither position nor character", err)
	}
}
