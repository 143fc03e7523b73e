package answers_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safe-complaints/dropbox/internal/answers"
)

// readAll reads an answer to its end, as a reader that keeps it must, and returns the first error.
func readAll(raw []byte) error {
	r, err := answers.NewReader(bytes.NewReader(raw))
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

func TestReaderRefusesBrokenAnswers(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(vectors, "attachments.answer"))
	if err != nil {
		t.Fatal(err)
	}
	const content = 475 // the attachments answer's bytes before its padding
	if len(good) != 4096 || bytes.ContainsFunc(good[content:], func(r rune) bool { return r != 0 }) {
		t.Fatalf("attachments.answer is %d bytes, want 4096 with zeros from byte %d", len(good), content)
	}
	head := func(h string) []byte { return []byte(answers.Magic + h + "\n") }
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"another magic", []byte("complaint-submission/1\n{}\n"), "first line"},
		{"no header end", []byte(answers.Magic + `{"lang":"de"`), "ends inside its header"},
		{"a header too long", []byte(answers.Magic + strings.Repeat(" ", answers.MaxHeader+1)), "longer than"},
		{"not JSON", head("hello"), "not valid JSON"},
		{"something after the JSON", head(`{"lang":"de","day":"2026-11-30","text":0} {}`), "not valid JSON"},
		{"a key in another case", head(`{"lang":"de","DAY":"2026-11-30","day":"2026-11-30","text":0}`), "unknown key"},
		{"an unknown key", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[{"name":"a","type":"","size":0,"sha256":""}]}`), "unknown key"},
		{"no language", head(`{"day":"2026-11-30","text":0}`), "lang"},
		{"a time, not a day", head(`{"lang":"de","day":"2026-11-30T10:00","text":0}`), "day"},
		{"no such day", head(`{"lang":"de","day":"2026-02-30","text":0}`), "day"},
		{"text too long", head(`{"lang":"de","day":"2026-11-30","text":262145}`), "the text is 262145 bytes"},
		{"text shorter than said", head(`{"lang":"de","day":"2026-11-30","text":5,"size":4096}`), "ends inside its text"},
		{"text not UTF-8", append(head(`{"lang":"de","day":"2026-11-30","text":1,"size":4096}`), 0xff), "UTF-8"},
		{"sizes that wrap around", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[{"name":"a","type":"","size":9223372036854775807},{"name":"b","type":"","size":9223372036854775807}]}`), "more than"},
		{"too large together", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[{"name":"a","type":"","size":26214401}]}`), "more than"},
		{"a negative size", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[{"name":"a","type":"","size":-1}]}`), "more than"},
		{"a name that climbs", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[{"name":"a/../x","type":"","size":0}]}`), "folder separator"},
		{"a hidden name", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[{"name":".bashrc","type":"","size":0}]}`), "dot"},
		{"a bidirectional override", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[{"name":"fdp.\u202eexe","type":"","size":0}]}`), "bidirectional"},
		{"a control character in the type", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[{"name":"a","type":"text/\n","size":0}]}`), "media type"},
		{"no size", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[]}`), `no "size"`},
		{"a size less than the answer", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[],"size":10}`), "less than the 88 bytes"},
		{"a size between buckets", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[],"size":5000}`), "not a padded size"},
		{"a size beyond the largest", head(`{"lang":"de","day":"2026-11-30","text":0,"attachments":[],"size":28311552}`), "not a padded size"},
		{"an attachment cut short", good[:content-1], "ends 1 bytes early"},
		{"the padding cut short", good[:len(good)-1], "ends 1 bytes before the end of its padding"},
		{"no padding", good[:content], "ends 3621 bytes before the end of its padding"},
		{"a padding byte not zero", append(append([]byte(nil), good[:len(good)-1]...), 1), "a byte other than zero, 1 bytes before its end"},
		{"a byte after the padding", append(append([]byte(nil), good...), 0), "bytes follow the padding"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := readAll(c.raw)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestWriterKeepsToTheDeclaredSizes(t *testing.T) {
	a := &answers.Answer{Lang: "de", Day: "2026-11-30", Text: "x",
		Attachments: []answers.Attachment{{Name: "a", Size: 2}, {Name: "b", Size: 0}, {Name: "c", Size: 1}}}
	var buf bytes.Buffer
	w, err := answers.NewWriter(&buf, a)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("ab"))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), `"c"`) {
		t.Errorf("Close with attachment c missing = %v", err)
	}
	if _, err := w.Write([]byte("cd")); err == nil {
		t.Error("a byte beyond the last attachment was written")
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close once every byte is written = %v", err)
	}
	if err := readAll(buf.Bytes()); err != nil {
		t.Errorf("the writer's answer does not read back: %v", err)
	}
	if _, err := answers.NewWriter(io.Discard, &answers.Answer{Lang: "de", Day: "30.11.2026"}); err == nil {
		t.Error("a day in another form was written")
	}
}

func TestCleanNameMakesANameReadersAccept(t *testing.T) {
	for _, name := range []string{"../../etc/passwd", ".hidden", "a\u202egnp.exe", "", "C:\\x\ty", strings.Repeat("ü", 300) + ".pdf", "\xff"} {
		clean := answers.CleanName(name)
		a := &answers.Answer{Lang: "en", Day: "2026-11-30", Attachments: []answers.Attachment{{Name: clean}}}
		if err := a.Check(); err != nil {
			t.Errorf("CleanName(%q) = %q, refused: %v", name, clean, err)
		}
	}
	if got := answers.CleanName("Beslissing 1.pdf"); got != "Beslissing 1.pdf" {
		t.Errorf("a plain name changed: %q", got)
	}
}

func FuzzReader(f *testing.F) {
	for _, name := range []string{"minimal", "text-many-scripts", "attachments"} {
		raw, err := os.ReadFile(filepath.Join(vectors, name+".answer"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if readAll(raw) != nil {
			return
		}
		// What a reader accepts, a writer writes again, and it reads back the same.
		r, _ := answers.NewReader(bytes.NewReader(raw))
		var again bytes.Buffer
		w, err := answers.NewWriter(&again, r.Answer())
		if err != nil {
			t.Fatalf("NewWriter refuses what NewReader accepted: %v", err)
		}
		bodies := allBodies(r)
		w.Write(bodies)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := answers.NewReader(bytes.NewReader(again.Bytes()))
		if err != nil {
			t.Fatalf("the rewritten answer is refused: %v", err)
		}
		a, b := r.Answer(), back.Answer()
		if a.Lang != b.Lang || a.Day != b.Day || a.Text != b.Text || len(a.Attachments) != len(b.Attachments) ||
			!bytes.Equal(allBodies(back), bodies) {
			t.Fatalf("%q reads back as %q", raw, again.Bytes())
		}
	})
}

// allBodies is every attachment's bytes, one after the other.
func allBodies(r *answers.Reader) []byte {
	var bodies []byte
	for {
		_, body, err := r.Next()
		if err != nil {
			return bodies
		}
		b, _ := io.ReadAll(body)
		bodies = append(bodies, b...)
	}
}

func BenchmarkDerive(b *testing.B) {
	c, err := answers.ParseCodename("48213 09375 11842 66301 72845 2")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := answers.Derive(c, "kok"); err != nil {
			b.Fatal(err)
		}
	}
}
