package main

import (
	"bytes"
	"testing"

	"github.com/safe-complaints/dropbox/internal/answers"
)

// TestTemplatesEncryptToOneSize: a ready-made answer's size tells nothing of its language or its
// audience (or the days it promises). Every text of every template pads to one bucket, so the
// encrypted answers of all templates have one size.
func TestTemplatesEncryptToOneSize(t *testing.T) {
	sizes := map[int][]string{}
	for _, name := range templateNames {
		days := []int{0}
		if name == daysTemplate {
			days = []int{1, 2, 3, 5, 11, 21, 100, maxDays}
		}
		for _, lang := range siteLanguages {
			for _, audience := range []string{"adults", "children"} {
				for _, n := range days {
					text, err := renderTemplate(name, lang, audience, n)
					if err != nil {
						t.Fatal(err)
					}
					var ct bytes.Buffer
					enc, err := answers.Encrypt(&ct, "9hc6XylVAi6zJZFNkBnHVIArd4bxDkLsD2eDFHS9ztQ")
					if err != nil {
						t.Fatal(err)
					}
					w, err := answers.NewWriter(enc, &answers.Answer{Lang: lang, Day: "2026-11-30", Text: text})
					if err != nil {
						t.Fatal(err)
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					if err := enc.Close(); err != nil {
						t.Fatal(err)
					}
					sizes[ct.Len()] = append(sizes[ct.Len()], name+" "+lang+" "+audience)
				}
			}
		}
	}
	if len(sizes) != 1 {
		for size, which := range sizes {
			t.Errorf("%d bytes: %d answers, the first %s", size, len(which), which[0])
		}
	}
	for size, which := range sizes {
		t.Logf("every ready-made answer (%d) encrypts to %d bytes", len(which), size)
	}
}
