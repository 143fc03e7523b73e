package submission_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
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

// vector is one of testdata/format's plaintexts, and what it was written from.
type vector struct {
	sub    submission.Submission
	bodies [][]byte
	// unpadded vectors were written before padding, as GnuPG or an older writer would write
	// them: readers must still take them, and -update leaves them as they are.
	unpadded bool
}

// validVectors are written by -update and read back by every test run (and by other
// implementations: see docs/format.md). The padded ones are written as the form's script
// writes (encrypted_by "browser"), so that testdata/format/check.mjs can ask the script for the
// same bytes.
func validVectors() map[string]vector {
	photo := allBytes()
	scan := make([]byte, 5000)
	for i := range scan {
		scan[i] = byte(i * 7)
	}
	return map[string]vector{
		"minimal": {sub: submission.Submission{Procedure: "kok-complaints", Lang: "en"}, unpadded: true},
		"fields-many-scripts": {sub: submission.Submission{
			Procedure: "mk-act-complaints", Lang: "ar",
			Fields: []submission.Field{
				{Name: "what-happened", Label: "ماذا حدث؟", Value: "سطر أول\nسطر ثانٍ \"مقتبس\""},
				{Name: "outcome", Label: "Was wünschen Sie sich?", Value: "Eine Entschuldigung.\r\nUnd Ruhe. <b>nicht fett</b>"},
				{Name: "contact", Label: "联系方式", Value: ""},
			},
		}, unpadded: true},
		"attachments": {sub: submission.Submission{
			Procedure: "child-integrity-contact", Lang: "nl",
			Fields: []submission.Field{{Name: "what-happened", Label: "Wat is er gebeurd?", Value: "Zie foto."}},
			Attachments: []submission.Attachment{
				submission.NewAttachment("empty.txt", "text/plain", nil),
				submission.NewAttachment("../../Foto 1.jpg", "image/jpeg", photo),
			},
		}, bodies: [][]byte{nil, photo}, unpadded: true},
		"padded": {sub: submission.Submission{
			Procedure: "kok-complaints", Lang: "de", EncryptedBy: "browser",
			Fields: []submission.Field{
				{Name: "what-happened", Label: "Was ist passiert?", Value: "Ja.\nNein \"zitiert\" — ماذا حدث؟ 发生了什么"},
				{Name: "contact-wanted", Label: "Möchten Sie, dass wir Sie kontaktieren?", Value: "Nein"},
			},
			Followup: json.RawMessage(`{"case":"0123456789abcdef0123456789abcdef"}`),
		}},
		// Its header and answer fill 4 KiB to the byte: "padding":0, no zero bytes.
		"padded-to-the-byte": {sub: submission.Submission{
			Procedure: "mk-act-complaints", Lang: "en", EncryptedBy: "browser",
			Fields: []submission.Field{{Name: "what-happened", Label: "What happened?", Value: strings.Repeat("She told me to keep quiet. ", 150)[:3901]}},
		}},
		"padded-attachment": {sub: submission.Submission{
			Procedure: "child-integrity-contact", Lang: "nl", EncryptedBy: "browser",
			Fields:      []submission.Field{{Name: "what-happened", Label: "Wat is er gebeurd?", Value: "Zie de scan."}},
			Attachments: []submission.Attachment{submission.NewAttachment("scan.png", "image/png", scan)},
		}, bodies: [][]byte{scan}},
	}
}

func TestVectorsDecode(t *testing.T) {
	for name, v := range validVectors() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(vectors, name+".submission")
			if *update && !v.unpadded {
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
			if padded := int64(len(raw)) == submission.PaddedSize(int64(len(raw))); padded == v.unpadded {
				t.Errorf("%d bytes; padded %v, want %v", len(raw), padded, !v.unpadded)
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
	// The padding must be zeros, exactly as many as the header says, and the plaintext must end
	// with it: each case changes the padded vector in one way.
	padded, err := os.ReadFile(filepath.Join(vectors, "padded-attachment.submission"))
	if err != nil {
		t.Fatal(err)
	}
	declared := func(padding string) []byte {
		return bytes.Replace(padded, []byte(`"padding":`), []byte(`"padding":`+padding+`,"was":`), 1)
	}
	nonZero, lastNonZero := bytes.Clone(padded), bytes.Clone(padded)
	nonZero[len(padded)-100], lastNonZero[len(padded)-1] = 1, 0x80
	afterAttachment := len(padded) - 287 // the vector's padding is 287 bytes
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
		{"a padding byte other than zero", "the padding holds a byte other than zero, 187 bytes after its start", nonZero, 1 << 20},
		{"the last padding byte other than zero", "the padding holds a byte other than zero", lastNonZero, 1 << 20},
		{"padding cut short", "ends 1 bytes before the end of its padding", padded[:len(padded)-1], 1 << 20},
		{"padding cut off", "ends 287 bytes before the end of its padding", padded[:afterAttachment], 1 << 20},
		{"a byte after the padding", "bytes follow the padding", append(bytes.Clone(padded), 0), 1 << 20},
		{"negative padding", "padding -1", declared("-1"), 1 << 20},
		{"padding not a whole number", "not valid JSON", declared("1.5"), 1 << 20},
		{"padding over the reader's limit", "larger than this reader accepts", padded, 5000 + 286},
	}
	if err := readAll(padded, 5000+287); err != nil {
		t.Errorf("the padded vector at a limit of its attachment and its padding: %v", err)
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

func TestPaddedSize(t *testing.T) {
	for _, c := range []struct{ n, want int64 }{
		{0, 4096}, {1, 4096}, {4096, 4096}, {4097, 4608}, {4608, 4608}, {4609, 5120}, {8192, 8192},
		{8193, 9216}, {1 << 20, 1 << 20}, {1<<20 + 1, 1<<20 + 128<<10}, {10 << 20, 10 << 20},
		{10<<20 + 1, 11 << 20}, {16<<20 + 1, 18 << 20}, {25<<20 + 700, 26 << 20},
		// The largest plaintext the form allows: 25 MiB of attachments and the longest header.
		{int64(len(submission.Magic)+submission.MaxHeader) + 25<<20, 28 << 20},
	} {
		if got := submission.PaddedSize(c.n); got != c.want {
			t.Errorf("PaddedSize(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	// padded-sizes.json: lengths around the ends of padded sizes, for check.mjs to ask the form's
	// script about.
	var sizes [][2]int64
	for _, end := range []int64{4096, 4608, 8192, 9216, 1 << 20, 25<<20 + 1<<21, 28 << 20, 1 << 30} {
		for _, n := range []int64{end - 1, end, end + 1} {
			sizes = append(sizes, [2]int64{n, submission.PaddedSize(n)})
		}
	}
	want, _ := json.Marshal(sizes)
	path := filepath.Join(vectors, "padded-sizes.json")
	if *update {
		os.WriteFile(path, append(want, '\n'), 0o644)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(bytes.TrimSpace(got), want) {
		t.Errorf("%s is not PaddedSize's (%v): run go test ./internal/submission -update", path, err)
	}
	// Every padded size is its own, and no size is padded by an eighth or more.
	for n := int64(1); n < 1<<20; n += 97 {
		p := submission.PaddedSize(n)
		if submission.PaddedSize(p) != p || p < n || (n > submission.MinPadded && 8*(p-n) >= n) {
			t.Fatalf("PaddedSize(%d) = %d", n, p)
		}
	}
}

// pieces records the size of every write.
type pieces struct {
	bytes.Buffer
	sizes []int
}

func (p *pieces) Write(b []byte) (int, error) {
	p.sizes = append(p.sizes, len(b))
	return p.Buffer.Write(b)
}

// TestWritePadsToAPaddedSize writes a submission of every length up to the ends of the first
// padded sizes (4 KiB, 4.5 KiB), and around the end of 1 MiB: each is a padded size, and the
// smallest that holds it with its padding's digits (some lengths, 10^m + m bytes short of a size,
// must take the next one: the test fails unless it met them); PlaintextSize says it, it reads
// back, and it went out in pieces of 32 KiB, whatever the attachment's reads.
func TestWritePadsToAPaddedSize(t *testing.T) {
	base := submission.Submission{Procedure: "kok-complaints", Lang: "en", Fields: []submission.Field{{Name: "a", Label: "A"}}}
	var attachments []int64
	for n := int64(3000); n <= 4700; n++ {
		attachments = append(attachments, n)
	}
	for _, short := range []int64{0, 11, 102, 1003} {
		for n := int64(1<<20 - 220); n <= 1<<20-180; n++ {
			attachments = append(attachments, n-short)
		}
	}
	next := 0 // lengths that took the next padded size
	for _, n := range attachments {
		sub := base
		attachment := make([]byte, n)
		sub.Attachments = []submission.Attachment{submission.NewAttachment("a", "", attachment)}
		var buf pieces
		if err := submission.Write(&buf, &sub, []io.Reader{iotest.HalfReader(bytes.NewReader(attachment))}); err != nil {
			t.Fatal(err)
		}
		got := int64(buf.Len())
		if got != submission.PaddedSize(got) {
			t.Fatalf("an attachment of %d bytes: %d bytes, not a padded size", n, got)
		}
		line := buf.Bytes()[len(submission.Magic):]
		var h struct{ Padding int64 }
		if err := json.Unmarshal(line[:bytes.IndexByte(line, '\n')], &h); err != nil {
			t.Fatal(err)
		}
		digits := int64(len(strconv.FormatInt(h.Padding, 10)))
		if rest := got - h.Padding - digits; submission.PaddedSize(rest+digits) != got {
			next++
			if smaller := submission.PaddedSize(rest + 1); smaller >= got || fits(smaller-rest) {
				t.Fatalf("an attachment of %d bytes: %d bytes, but %d would hold it", n, got, smaller)
			}
		}
		if want, err := sub.PlaintextSize(); want != got || err != nil {
			t.Fatalf("an attachment of %d bytes: %d bytes, PlaintextSize %d, %v", n, got, want, err)
		}
		if err := readAll(buf.Bytes(), 1<<30); err != nil {
			t.Fatalf("an attachment of %d bytes: %v", n, err)
		}
		for i, size := range buf.sizes {
			if size != 32<<10 && i != len(buf.sizes)-1 {
				t.Fatalf("an attachment of %d bytes: write %d of %d is %d bytes", n, i+1, len(buf.sizes), size)
			}
		}
	}
	if next == 0 {
		t.Error("no length took the next padded size: the test missed the lengths it is for")
	}
	t.Logf("%d lengths, %d took the next padded size", len(attachments), next)
}

// fits reports whether some count of padding bytes, written in decimal, fills exactly left bytes.
func fits(left int64) bool {
	for p := max(0, left-20); p <= left; p++ {
		if p+int64(len(strconv.FormatInt(p, 10))) == left {
			return true
		}
	}
	return false
}

// TestCheckHeaderCountsThePaddingKey: a header that fits its line with "padding":0 but not with
// the padding it needs is refused by CheckHeader, PlaintextSize and Write; one with room for it
// is taken.
func TestCheckHeaderCountsThePaddingKey(t *testing.T) {
	s := &submission.Submission{Procedure: "kok-complaints", Lang: "en", Fields: []submission.Field{{Name: "a", Label: "A"}}}
	var buf bytes.Buffer
	if err := submission.Write(&buf, s, nil); err != nil {
		t.Fatal(err)
	}
	line := bytes.IndexByte(buf.Bytes()[len(submission.Magic):], '\n') + 1
	withZero := line - 4 + 1 // the padding of a short submission has 4 digits; "padding":0 has one
	s.Fields[0].Value = strings.Repeat("x", submission.MaxHeader-withZero)
	if err := s.CheckHeader(); !errors.Is(err, submission.ErrHeaderTooLarge) {
		t.Errorf("CheckHeader = %v, want ErrHeaderTooLarge", err)
	}
	if _, err := s.PlaintextSize(); !errors.Is(err, submission.ErrHeaderTooLarge) {
		t.Errorf("PlaintextSize = %v, want ErrHeaderTooLarge", err)
	}
	if err := submission.Write(io.Discard, s, nil); !errors.Is(err, submission.ErrHeaderTooLarge) {
		t.Errorf("Write = %v, want ErrHeaderTooLarge", err)
	}
	s.Fields[0].Value = s.Fields[0].Value[:len(s.Fields[0].Value)-8]
	if err := s.CheckHeader(); err != nil {
		t.Errorf("a header with room for its padding's digits: %v", err)
	}
}

func readAll(plain []byte, limit int64) error {
	return readAllFrom(bytes.NewReader(plain), limit)
}

// readAllFrom reads a plaintext to its end as keytool does, every attachment and the padding.
func readAllFrom(plain io.Reader, limit int64) error {
	r, err := submission.NewReader(plain, limit)
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

// TestTheFormsScriptWritesTheFormat runs testdata/format/check.mjs with the site's own module,
// as the browser runs it (no JIT, no WebAssembly), then takes the largest submission it
// encrypted as the drop box and keytool would: the drop box's policy for the staff key, then
// decrypted and read to its end, every byte of its padding checked.
func TestTheFormsScriptWritesTheFormat(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	staff := policytest.NewKey(t, dir, "staff")
	largest := filepath.Join(dir, "largest.pgp")
	check := exec.Command(node, "--conditions=browser", "--jitless", "testdata/format/check.mjs", staff.PubPath, largest)
	check.Dir = "../.."
	var complaints bytes.Buffer
	check.Stderr = &complaints
	said, failed := check.Output()
	t.Logf("check.mjs: %s%s", said, complaints.Bytes())
	var result struct{ WebAssembly *bool }
	if failed != nil || json.Unmarshal(said, &result) != nil || result.WebAssembly == nil {
		t.Fatalf("check.mjs failed (%v), or said no result", failed)
	}
	if *result.WebAssembly {
		t.Error("WebAssembly was there under --jitless, so the check proves nothing about it")
	}

	f, err := os.Open(largest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := policy.Validate(f, []*policy.Recipient{staff.Recipient}); err != nil {
		t.Fatalf("the drop box's policy refuses the largest submission: %v", err)
	}
	keys, err := policy.ReadKeyFile(staff.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys[0].DecryptPrivateKeys([]byte(policytest.Passphrase)); err != nil {
		t.Fatal(err)
	}
	f.Seek(0, io.SeekStart)
	md, err := openpgp.ReadMessage(f, keys, nil, &packet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingReader{r: md.UnverifiedBody}
	if err := readAllFrom(counted, 64<<20); err != nil {
		t.Fatal(err)
	}
	if counted.n != 28<<20 {
		t.Errorf("the largest submission is %d bytes, want 28 MiB", counted.n)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestPaddingOverhead measures what padding costs for realistic submissions (the table in
// docs/benchmarks.md, "Padding of submissions"): a short form, a 1 MiB photo, 10 and 25 MiB of
// files, and the largest the form allows. Above 4 KiB each is padded by less than an eighth.
func TestPaddingOverhead(t *testing.T) {
	photos := func(sizes ...int64) []submission.Attachment {
		var out []submission.Attachment
		for i, size := range sizes {
			out = append(out, submission.Attachment{Name: fmt.Sprintf("IMG_%04d.jpg", i+1), Type: "image/jpeg", Size: size, SHA256: strings.Repeat("0", 64)})
		}
		return out
	}
	form := func(what string, attachments []submission.Attachment) *submission.Submission {
		return &submission.Submission{Procedure: "kok-complaints", Lang: "de", EncryptedBy: "browser",
			Fields: []submission.Field{
				{Name: "who", Label: "Wer sind Sie?", Value: "Ich bin betroffen"},
				{Name: "what-happened", Label: "Was ist passiert?", Value: what},
				{Name: "contact-wanted", Label: "Sollen wir Sie kontaktieren?", Value: "Nein"},
			},
			Attachments: append([]submission.Attachment{}, attachments...),
			Followup:    json.RawMessage(`{"lookup":"` + strings.Repeat("a", 64) + `","answer_pass":"` + strings.Repeat("b", 43) + `","case":"` + strings.Repeat("c", 32) + `","org":"kok"}`),
		}
	}
	// Unpadded, as writers wrote it before padding: no padding key, no zeros.
	unpadded := func(sub *submission.Submission) int64 {
		var header bytes.Buffer
		enc := json.NewEncoder(&header)
		enc.SetEscapeHTML(false)
		enc.Encode(sub)
		return int64(len(submission.Magic)+header.Len()) + sub.TotalSize(1<<40)
	}
	text := strings.Repeat("Mein Chef hat meinen Pass behalten. ", 8)
	largest := form("", photos(25<<20))
	// A header line of exactly 1 MiB once it holds its padding count, of 7 digits at 28 MiB.
	room := int64(len(submission.Magic)+submission.MaxHeader-len(`,"padding":1234567`)) + 25<<20 - unpadded(largest)
	largest.Fields[1].Value = strings.Repeat("x", int(room))
	t.Log("| submission | plaintext, unpadded | padded | overhead |")
	for _, c := range []struct {
		name string
		sub  *submission.Submission
	}{
		{"a short form", form(text, nil)},
		{"a 1 MiB photo", form(text, photos(1<<20))},
		{"10 MiB of files", form(text, photos(4<<20, 6<<20))},
		{"25 MiB of files", form(text, photos(5<<20, 20<<20))},
		{"the largest: 25 MiB and a header of 1 MiB", largest},
	} {
		padded, err := c.sub.PlaintextSize()
		if err != nil {
			t.Fatal(err)
		}
		plain := unpadded(c.sub)
		overhead := float64(padded-plain) / float64(plain)
		t.Logf("| %s | %d | %d | %.1f %% |", c.name, plain, padded, 100*overhead)
		if plain > submission.MinPadded && overhead >= 0.125 {
			t.Errorf("%s: padded by %.1f %%", c.name, 100*overhead)
		}
	}
	if padded, _ := largest.PlaintextSize(); padded != 28<<20 {
		t.Errorf("the largest submission pads to %d bytes, not 28 MiB: the test missed the limit", padded)
	}
}
