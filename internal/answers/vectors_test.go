package answers_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safe-complaints/dropbox/internal/answers"
)

var update = flag.Bool("update", false, "rewrite the test vectors in testdata/answers")

const vectors = "../../testdata/answers"

// withCheck appends the Damm check digit to 25 digits.
func withCheck(d string) string { return d + string('0'+answers.Damm([]byte(d))) }

// A derivation vector: what every implementation must compute from a codename and an org.
type derivation struct {
	Codename      string           `json:"codename"` // as shown: groups of five
	Org           string           `json:"org"`
	K             string           `json:"k"` // hex, for debugging a second implementation
	Token         string           `json:"token"`
	Lookup        string           `json:"lookup"`
	AnswerPass    string           `json:"answer_pass"`
	Case          string           `json:"case"`
	FirstFollowup answers.Followup `json:"followup_first"`
	LaterFollowup answers.Followup `json:"followup_later"`
}

var derivationInputs = []struct{ digits, org string }{
	{"4821309375118426630172845", "kok"},
	{"4821309375118426630172845", "mk-act"}, // the same codename at another organisation
	{"0000000000000000000000000", "kinderrechtencoalitie"},
}

func derive(t testing.TB, digits, org string) derivation {
	c, err := answers.ParseCodename(withCheck(digits))
	if err != nil {
		t.Fatal(err)
	}
	k, err := answers.Stretch(c, org)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := answers.Derive(c, org)
	if err != nil {
		t.Fatal(err)
	}
	return derivation{
		Codename: c.String(), Org: org, K: hex.EncodeToString(k), Token: keys.TokenText(),
		Lookup: keys.Lookup, AnswerPass: keys.AnswerPass, Case: keys.Case,
		FirstFollowup: keys.FirstComplaint(), LaterFollowup: keys.FollowUp(),
	}
}

// A parsing vector: what a person may type, and what it must read as.
type parse struct {
	Note   string `json:"note"`
	Input  string `json:"input"`
	Digits string `json:"digits,omitempty"` // the codename's ASCII digits, when it is one
	Error  string `json:"error,omitempty"`  // "character", "length" or "check"
	Pos    int    `json:"position,omitempty"`
	Count  int    `json:"count,omitempty"`
}

func toScript(s string, zero rune) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return zero + (r - '0')
		}
		return r
	}, s)
}

func parseInputs() []parse {
	c := withCheck("4821309375118426630172845")
	shown := "48213 09375 11842 66301 72845 " + c[25:]
	swapped := c[:3] + c[4:5] + c[3:4] + c[5:]
	wrong := c[:10] + string('0'+(c[10]-'0'+1)%10) + c[11:]
	return []parse{
		{Note: "as shown", Input: shown, Digits: c},
		{Note: "no separators", Input: c, Digits: c},
		{Note: "hyphens, a tab, a no-break space, a line break", Input: "48213-09375\t11842\u00a066301\n72845‐" + c[25:], Digits: c},
		{Note: "Arabic-Indic digits (U+0660..U+0669)", Input: toScript(shown, '٠'), Digits: c},
		{Note: "Extended Arabic-Indic digits (U+06F0..U+06F9), as a Persian keyboard types them", Input: toScript(shown, '۰'), Digits: c},
		{Note: "fullwidth digits and ideographic spaces, as a Chinese input method types them", Input: strings.ReplaceAll(toScript(shown, '０'), " ", "\u3000"), Digits: c},
		{Note: "Devanagari digits mixed with ASCII", Input: toScript(shown[:15], '०') + shown[15:], Digits: c},
		{Note: "two neighbours swapped", Input: swapped, Error: "check"},
		{Note: "one digit wrong", Input: wrong, Error: "check"},
		{Note: "the letter O for a zero", Input: "48213 O9375 11842 66301 72845 " + c[25:], Error: "character", Pos: 7},
		{Note: "an Arabic letter", Input: "٤٨٢١٣ ب", Error: "character", Pos: 7},
		{Note: "a digit missing", Input: shown[1:], Error: "length", Count: 25},
		{Note: "a digit too many", Input: shown + "1", Error: "length", Count: 27},
		{Note: "nothing", Input: "  ", Error: "length", Count: 0},
	}
}

// An answer vector: NAME.answer holds the bytes, NAME.json what a reader must find in them.
type answerVector struct {
	answer answers.Answer
	bodies [][]byte
}

type answerJSON struct {
	Lang        string               `json:"lang"`
	Day         string               `json:"day"`
	Text        string               `json:"text"`
	Attachments []answers.Attachment `json:"attachments"`
	Bodies      []string             `json:"bodies_hex"`
	Size        int                  `json:"size"` // the whole answer's bytes, padding included
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func answerVectors() map[string]answerVector {
	return map[string]answerVector{
		"minimal": {answer: answers.Answer{Lang: "de", Day: "2026-11-30",
			Text: "Wir haben Ihre Beschwerde erhalten. Wir melden uns innerhalb von 3 Werktagen."}},
		"text-many-scripts": {answer: answers.Answer{Lang: "ar", Day: "2026-02-28",
			Text: "تلقينا شكواك.\r\nسنتواصل معك.\n\n我们收到了你的投诉。 \"<b>nicht fett</b>\" 🙂\u2028end"}},
		"attachments": {answer: answers.Answer{Lang: "nl", Day: "2027-01-01", Text: "Zie de bijlagen.",
			Attachments: []answers.Attachment{
				{Name: "leeg.txt", Type: "text/plain", Size: 0},
				{Name: "Beslissing 1.pdf", Type: "application/pdf", Size: 256},
			}}, bodies: [][]byte{nil, allBytes()}},
	}
}

func writeAnswer(t testing.TB, w io.Writer, v answerVector) {
	aw, err := answers.NewWriter(w, &v.answer)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range v.bodies {
		if _, err := aw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
}

// The ciphertext vector: the "attachments" answer, encrypted with the first derivation's answer_pass.
type cipherVector struct {
	AnswerPass string `json:"answer_pass"`
	Ciphertext string `json:"ciphertext"`
	Plaintext  string `json:"plaintext"`
}

func writeJSON(t *testing.T, name string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vectors, name), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, name string, v any) {
	b, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateVectors rewrites the vectors with -update. The ciphertext is random (salt, IV), so it
// changes on every update; everything else is fixed.
func TestUpdateVectors(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/answers")
	}
	var ds []derivation
	for _, in := range derivationInputs {
		ds = append(ds, derive(t, in.digits, in.org))
	}
	writeJSON(t, "derivations.json", ds)
	writeJSON(t, "codenames.json", parseInputs())
	for name, v := range answerVectors() {
		var buf bytes.Buffer
		writeAnswer(t, &buf, v)
		if err := os.WriteFile(filepath.Join(vectors, name+".answer"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		j := answerJSON{Lang: v.answer.Lang, Day: v.answer.Day, Text: v.answer.Text, Attachments: v.answer.Attachments, Bodies: []string{}, Size: buf.Len()}
		if j.Attachments == nil {
			j.Attachments = []answers.Attachment{}
		}
		for _, b := range v.bodies {
			j.Bodies = append(j.Bodies, hex.EncodeToString(b))
		}
		writeJSON(t, name+".json", j)
	}
	plain, err := os.ReadFile(filepath.Join(vectors, "attachments.answer"))
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, err := answers.Encrypt(&ct, ds[0].AnswerPass)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vectors, "attachments.pgp"), ct.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, "ciphertext.json", cipherVector{AnswerPass: ds[0].AnswerPass, Ciphertext: "attachments.pgp", Plaintext: "attachments.answer"})
}

func TestDerivationVectors(t *testing.T) {
	var want []derivation
	readJSON(t, "derivations.json", &want)
	if len(want) != len(derivationInputs) {
		t.Fatalf("%d vectors, want %d", len(want), len(derivationInputs))
	}
	for _, w := range want {
		c, err := answers.ParseCodename(w.Codename)
		if err != nil {
			t.Fatal(err)
		}
		got := derive(t, c.Digits()[:answers.RandomDigits], w.Org)
		if got != w {
			t.Errorf("%s at %s:\n got %+v\nwant %+v", w.Codename, w.Org, got, w)
		}
		lookup, err := answers.LookupFor(w.Token)
		if err != nil || lookup != w.Lookup {
			t.Errorf("LookupFor(%s) = %s, %v; want %s", w.Token, lookup, err, w.Lookup)
		}
	}
	// The same codename means nothing at another organisation.
	if want[0].Codename != want[1].Codename || want[0].Org == want[1].Org {
		t.Fatal("the first two vectors must share a codename and differ in org")
	}
	a, b := want[0], want[1]
	if a.K == b.K || a.Token == b.Token || a.Lookup == b.Lookup || a.AnswerPass == b.AnswerPass || a.Case == b.Case {
		t.Errorf("two organisations share a derived value:\n%+v\n%+v", a, b)
	}
}

func TestParseVectors(t *testing.T) {
	var cases []parse
	readJSON(t, "codenames.json", &cases)
	for _, c := range cases {
		got, err := answers.ParseCodename(c.Input)
		var ce *answers.CharError
		var le *answers.LengthError
		switch {
		case c.Digits != "":
			if err != nil || got.Digits() != c.Digits {
				t.Errorf("%s: %q = %q, %v; want %s", c.Note, c.Input, got.Digits(), err, c.Digits)
			}
		case c.Error == "check" && !errors.Is(err, answers.ErrCheckDigit),
			c.Error == "character" && (!errors.As(err, &ce) || ce.Pos != c.Pos),
			c.Error == "length" && (!errors.As(err, &le) || le.Digits != c.Count):
			t.Errorf("%s: %q = %v, want a %s error", c.Note, c.Input, err, c.Error)
		}
	}
}

// TestOtherScriptsGiveTheSameKey types the first vector's codename in Arabic-Indic digits.
func TestOtherScriptsGiveTheSameKey(t *testing.T) {
	var want []derivation
	readJSON(t, "derivations.json", &want)
	c, err := answers.ParseCodename(toScript(want[0].Codename, '٠'))
	if err != nil {
		t.Fatal(err)
	}
	k, err := answers.Stretch(c, want[0].Org)
	if err != nil || hex.EncodeToString(k) != want[0].K {
		t.Errorf("K from Arabic-Indic digits = %x, %v; want %s", k, err, want[0].K)
	}
}

func TestAnswerVectors(t *testing.T) {
	for name, v := range answerVectors() {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(vectors, name+".answer"))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			writeAnswer(t, &buf, v)
			if !bytes.Equal(buf.Bytes(), raw) {
				t.Errorf("the writer no longer writes %s.answer byte for byte", name)
			}
			var want answerJSON
			readJSON(t, name+".json", &want)
			if len(raw) != want.Size || int64(len(raw)) != answers.PaddedSize(int64(len(raw))) {
				t.Errorf("%s.answer is %d bytes; its size is %d, a padded size", name, len(raw), want.Size)
			}
			r, err := answers.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			a := r.Answer()
			if a.Lang != want.Lang || a.Day != want.Day || a.Text != want.Text || len(a.Attachments) != len(want.Attachments) {
				t.Fatalf("read %+v, want %+v", a, want)
			}
			for i := 0; ; i++ {
				at, body, err := r.Next()
				if err == io.EOF {
					if i != len(want.Attachments) {
						t.Fatalf("%d attachments, want %d", i, len(want.Attachments))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(body)
				if err != nil || *at != want.Attachments[i] || hex.EncodeToString(b) != want.Bodies[i] {
					t.Errorf("attachment %d = %+v %x %v", i, at, b, err)
				}
			}
		})
	}
}

func TestCiphertextVector(t *testing.T) {
	var v cipherVector
	readJSON(t, "ciphertext.json", &v)
	ct, err := os.ReadFile(filepath.Join(vectors, v.Ciphertext))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(vectors, v.Plaintext))
	if err != nil {
		t.Fatal(err)
	}
	if err := answers.Validate(bytes.NewReader(ct), answers.MaxCiphertext); err != nil {
		t.Fatalf("Validate refuses the vector: %v", err)
	}
	p, err := answers.Decrypt(bytes.NewReader(ct), v.AnswerPass)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(p)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("decrypted %d bytes (%v), want %s byte for byte", len(got), err, v.Plaintext)
	}
}
