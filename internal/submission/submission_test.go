package submission_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safe-complaints/dropbox/internal/submission"
)

var update = flag.Bool("update", false, "rewrite the test vectors in testdata/format")

const vectors = "../../testdata/format"

// allBytes holds every byte value once, so no encoding step can mangle an attachment unnoticed.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// validVectors are written by -update and read back by every test run (and by other
// implementations: see docs/format.md).
func validVectors() map[string]struct {
	sub    submission.Submission
	bodies [][]byte
} {
	photo := allBytes()
	return map[string]struct {
		sub    submission.Submission
		bodies [][]byte
	}{
		"minimal": {sub: submission.Submission{Procedure: "kok-complaints", Lang: "en"}},
		"fields-many-scripts": {sub: submission.Submission{
			Procedure: "mk-act-complaints", Lang: "ar",
			Fields: []submission.Field{
				{Name: "what-happened", Label: "ماذا حدث؟", Value: "سطر أول\nسطر ثانٍ \"مقتبس\""},
				{Name: "outcome", Label: "Was wünschen Sie sich?", Value: "Eine Entschuldigung.\r\nUnd Ruhe. <b>nicht fett</b>"},
				{Name: "contact", Label: "联系方式", Value: ""},
			},
		}},
		"attachments": {sub: submission.Submission{
			Procedure: "child-integrity-contact", Lang: "nl",
			Fields: []submission.Field{{Name: "what-happened", Label: "Wat is er gebeurd?", Value: "Zie foto."}},
			Attachments: []submission.Attachment{
				submission.NewAttachment("empty.txt", "text/plain", nil),
				submission.NewAttachment("../../Foto 1.jpg", "image/jpeg", photo),
			},
		}, bodies: [][]byte{nil, photo}},
	}
}

func TestVectorsDecode(t *testing.T) {
	for name, v := range validVectors() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(vectors, name+".submission")
			if *update {
				var buf bytes.Buffer
				readers := make([]io.Reader, len(v.bodies))
				for i, b := range v.bodies {
					readers[i] = bytes.NewReader(b)
				}
				if err := submission.Write(&buf, &v.sub, readers); err != nil {
					t.Fatal(err)
				}
				os.WriteFile(path, buf.Bytes(), 0o644)
				decoded, err := submission.NewReader(bytes.NewReader(buf.Bytes()), 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := json.MarshalIndent(decoded.Submission(), "", "  ")
				os.WriteFile(filepath.Join(vectors, name+".json"), append(want, '\n'), 0o644)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update once to write the vectors)", err)
			}
			r, err := submission.NewReader(bytes.NewReader(raw), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			var want submission.Submission
			wantJSON, err := os.ReadFile(filepath.Join(vectors, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(wantJSON, &want); err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(r.Submission())
			wantNorm, _ := json.Marshal(&want)
			if !bytes.Equal(got, wantNorm) {
				t.Errorf("header\n got %s\nwant %s", got, wantNorm)
			}
			for i := 0; ; i++ {
				a, body, err := r.Next()
				if err == io.EOF {
					if i != len(v.bodies) {
						t.Errorf("read %d attachments, want %d", i, len(v.bodies))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(body)
				if err != nil {
					t.Fatalf("attachment %q: %v", a.Name, err)
				}
				if !bytes.Equal(data, v.bodies[i]) {
					t.Errorf("attachment %q differs", a.Name)
				}
			}
		})
	}
}

func TestInvalidPlaintexts(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(vectors, "attachments.submission"))
	if err != nil {
		t.Fatal(err)
	}
	header := func(s string) []byte { return []byte(submission.Magic + s + "\n") }
	cases := []struct {
		name, want string
		plain      []byte
		limit      int64
	}{
		{"bad magic", "not a version 1 submission", []byte("complaint-submission/2\n{}\n"), 1 << 20},
		{"header not JSON", "not valid JSON", header("{procedure"), 1 << 20},
		{"header never ends", "ends inside its header", []byte(submission.Magic + `{"procedure":"x"`), 1 << 20},
		{"header too long", "longer than", header(`{"procedure":"` + strings.Repeat("x", submission.MaxHeader) + `"}`), 1 << 20},
		{"bad procedure", "procedure", header(`{"procedure":"../etc","lang":"en"}`), 1 << 20},
		{"bad lang", "lang", header(`{"procedure":"kok-complaints","lang":"<script>"}`), 1 << 20},
		{"duplicate field", "twice", header(`{"procedure":"kok-complaints","lang":"en","fields":[{"name":"a","label":"A","value":""},{"name":"a","label":"A","value":""}]}`), 1 << 20},
		{"negative size", "negative", header(`{"procedure":"kok-complaints","lang":"en","attachments":[{"name":"a","type":"","size":-1,"sha256":"` + strings.Repeat("0", 64) + `"}]}`), 1 << 20},
		{"too large for the reader", "larger than this reader accepts", good, 10},
		{"truncated attachment", "ends", good[:len(good)-5], 1 << 20},
		{"trailing bytes", "follow the last attachment", append(bytes.Clone(good), 'x'), 1 << 20},
		{"changed attachment", "SHA-256", append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^1), 1 << 20},
		{"empty attachment with a wrong hash", "SHA-256", header(`{"procedure":"kok-complaints","lang":"en","attachments":[{"name":"a","type":"","size":0,"sha256":"` + strings.Repeat("0", 64) + `"}]}`), 1 << 20},
		{"sizes that wrap around", "larger than this reader accepts", header(`{"procedure":"kok-complaints","lang":"en","attachments":[` + strings.Repeat(`{"name":"a","type":"","size":4611686018427387904,"sha256":"`+strings.Repeat("0", 64)+`"},`, 3) + `{"name":"a","type":"","size":4611686018427387904,"sha256":"` + strings.Repeat("0", 64) + `"}]}`), 1 << 30},
		{"text after the header object", "not valid JSON", header(`{"procedure":"kok-complaints","lang":"en"} and more`), 1 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := readAll(c.plain, c.limit)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func readAll(plain []byte, limit int64) error {
	r, err := submission.NewReader(bytes.NewReader(plain), limit)
	if err != nil {
		return err
	}
	for {
		_, body, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return err
		}
	}
}

func TestShortNameKeepsTheExtension(t *testing.T) {
	long := strings.Repeat("照", 200) + ".jpeg"
	got := submission.ShortName(long)
	if len(got) > submission.MaxNameBytes || !strings.HasSuffix(got, ".jpeg") || !strings.HasPrefix(got, "照照") {
		t.Errorf("ShortName = %q (%d bytes)", got, len(got))
	}
	if submission.ShortName("a.pdf") != "a.pdf" {
		t.Error("a short name was changed")
	}
}

func TestCheckHeaderRefusesAnswersTooLongForTheLine(t *testing.T) {
	s := &submission.Submission{Procedure: "kok-complaints", Lang: "en",
		Fields: []submission.Field{{Name: "a", Label: "A", Value: strings.Repeat("\n", submission.MaxHeader/2)}}}
	if err := s.CheckHeader(); !errors.Is(err, submission.ErrHeaderTooLarge) {
		t.Errorf("CheckHeader = %v, want ErrHeaderTooLarge", err)
	}
}

func TestWriteRefusesABodyOfTheWrongSize(t *testing.T) {
	s := &submission.Submission{Procedure: "kok-complaints", Lang: "en",
		Attachments: []submission.Attachment{submission.NewAttachment("a", "text/plain", []byte("abc"))}}
	err := submission.Write(io.Discard, s, []io.Reader{strings.NewReader("abcd")})
	if err == nil {
		t.Fatal("Write accepted 4 bytes for a 3-byte attachment")
	}
}
