package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeNameMakesOneHarmlessPathElement(t *testing.T) {
	cases := map[string]string{
		"Brief.pdf":                "Brief.pdf",
		"../../etc/passwd":         "_.._etc_passwd",
		`..\..\Windows\system.ini`: `_.._Windows_system.ini`,
		".bashrc":                  "bashrc",
		"...":                      "attachment",
		"":                         "attachment",
		"a\x00b\nc\x1bd":           "abcd",
		"invoice\u202Efdp.exe":     "invoicefdp.exe", // a right-to-left override hides the real extension
		"C:evil":                   "C_evil",
		"  spaced  ":               "spaced",
		"فاتورة.pdf":               "فاتورة.pdf",
		"照片 1.jpg":                 "照片 1.jpg",
	}
	for in, want := range cases {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
	long := safeName(strings.Repeat("ü", 200) + ".jpeg")
	if len(long) > 120 || !strings.HasSuffix(long, ".jpeg") || !utf8.ValidString(long) {
		t.Errorf("a long name became %q (%d bytes)", long, len(long))
	}
}

func TestPrintableKeepsTextAndLineBreaksButNoEscapes(t *testing.T) {
	in := "Zeile 1\n\tZeile 2 \x1b[2J\x1b]0;owned\x07 ende \u202e \u0085"
	if got, want := printable(in), "Zeile 1\n\tZeile 2 [2J]0;owned ende  "; got != want {
		t.Errorf("printable = %q, want %q", got, want)
	}
}
