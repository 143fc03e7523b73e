package answers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/safe-complaints/dropbox/internal/submission"
)

// Magic is the first line of every version 1 answer.
const Magic = "complaint-answer/1\n"

// Limits every reader enforces. Writers stay within them.
const (
	MaxHeader          = 64 << 10 // bytes of the JSON header line, newline included
	MaxText            = 256 << 10
	MaxAttachmentBytes = 25 << 20 // all attachments together, as the forms allow
	MaxAttachments     = submission.MaxAttachments
	MaxNameBytes       = submission.MaxNameBytes
	// MaxPlaintext bounds a whole answer, padding included: what Decrypt's reader can yield
	// before NewReader refuses. The largest answer before padding, len(Magic) + MaxHeader +
	// MaxText + MaxAttachmentBytes (about 25.3 MiB), pads to 26 MiB.
	MaxPlaintext = 26 << 20
)

// PaddedSize is the bucket an answer of n bytes is padded to (docs/format.md, "An answer"): the
// smallest of 4, 16, 64 and 256 KiB that holds n, then the next multiple of 1 MiB.
func PaddedSize(n int64) int64 {
	for _, b := range []int64{4 << 10, 16 << 10, 64 << 10, 256 << 10} {
		if n <= b {
			return b
		}
	}
	return (n + 1<<20 - 1) >> 20 << 20
}

var (
	langRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$`) // as a submission's lang
	dayRE  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	typeRE = regexp.MustCompile(`^[ -~]{0,255}$`) // media types are ASCII (RFC 6838)
)

// Answer is one answer from the staff: everything but the attachments' bytes.
type Answer struct {
	Lang        string
	Day         string // the day it was written, YYYY-MM-DD: no finer time
	Text        string
	Attachments []Attachment
}

// Attachment describes one attached file; its bytes follow the text.
type Attachment struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

// header is the JSON line: the text is given by its length, its bytes follow the line.
type header struct {
	Lang        string       `json:"lang"`
	Day         string       `json:"day"`
	Text        int64        `json:"text"`
	Attachments []Attachment `json:"attachments"`
	Size        *int64       `json:"size"` // the whole answer's bytes, padding included: a bucket
}

// Check reports the first way a breaks the format, as a sentence.
func (a *Answer) Check() error {
	h := header{Lang: a.Lang, Day: a.Day, Text: int64(len(a.Text)), Attachments: a.Attachments}
	if err := h.check(); err != nil {
		return err
	}
	if !utf8.ValidString(a.Text) {
		return errors.New("the text is not valid UTF-8")
	}
	return nil
}

func (h *header) check() error {
	if !langRE.MatchString(h.Lang) {
		return fmt.Errorf("lang %q is not a language tag", h.Lang)
	}
	if _, err := time.Parse(time.DateOnly, h.Day); err != nil || !dayRE.MatchString(h.Day) {
		return fmt.Errorf("day %q is not a date written YYYY-MM-DD", h.Day)
	}
	if h.Text < 0 || h.Text > MaxText {
		return fmt.Errorf("the text is %d bytes; at most %d", h.Text, MaxText)
	}
	if len(h.Attachments) > MaxAttachments {
		return fmt.Errorf("%d attachments; at most %d", len(h.Attachments), MaxAttachments)
	}
	var total int64
	for i, at := range h.Attachments {
		if err := checkName(at.Name); err != nil {
			return fmt.Errorf("attachment %d: %w", i+1, err)
		}
		if !typeRE.MatchString(at.Type) {
			return fmt.Errorf("attachment %d: the media type is not at most 255 printable ASCII characters", i+1)
		}
		if at.Size < 0 || at.Size > MaxAttachmentBytes-total { // no sum that wraps around
			return fmt.Errorf("attachment %d: the attachments are more than %d bytes together", i+1, MaxAttachmentBytes)
		}
		total += at.Size
	}
	return nil
}

// checkName refuses what would be unsafe as a file name offered for download: the rule of
// docs/format.md, "An answer". Writers pass a name through CleanName first.
func checkName(name string) error {
	switch {
	case name == "" || len(name) > MaxNameBytes || !utf8.ValidString(name):
		return fmt.Errorf("the name must be 1 to %d bytes of UTF-8", MaxNameBytes)
	case name[0] == '.':
		return fmt.Errorf("the name %q starts with a dot", name)
	case strings.IndexFunc(name, unsafeInName) >= 0:
		return fmt.Errorf("the name %q holds a folder separator, a control or a bidirectional formatting character", name)
	}
	return nil
}

func unsafeInName(r rune) bool {
	return r == '/' || r == '\\' || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Bidi_Control, r)
}

// CleanName makes a name checkName accepts from a file's base name: unsafe characters become
// "_", a leading dot "_", a long name is shortened keeping its extension.
func CleanName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unsafeInName(r) || r == utf8.RuneError {
			return '_'
		}
		return r
	}, name)
	if name == "" || name[0] == '.' {
		name = "_" + name
	}
	return submission.ShortName(name)
}

// Writer writes an answer as it streams: NewWriter writes the header and the text, Write takes
// the attachments' bytes in order, Close checks that each got exactly its size and writes the
// padding, up to the header's size.
type Writer struct {
	w       io.Writer
	atts    []Attachment
	next    int   // the attachment being written
	left    int64 // bytes still due for it
	padding int64 // zero bytes Close writes after the last attachment
}

// NewWriter checks a and writes the magic line, the header (with the padded size) and the text.
func NewWriter(w io.Writer, a *Answer) (*Writer, error) {
	if err := a.Check(); err != nil {
		return nil, err
	}
	h := header{Lang: a.Lang, Day: a.Day, Text: int64(len(a.Text)), Attachments: a.Attachments}
	if h.Attachments == nil {
		h.Attachments = []Attachment{}
	}
	var buf bytes.Buffer
	buf.WriteString(Magic)
	enc := json.NewEncoder(&buf) // Encode ends the line; JSON escapes every newline inside
	enc.SetEscapeHTML(false)
	h.Size = new(int64)
	if err := enc.Encode(&h); err != nil { // with size 0, one digit, to measure the rest
		return nil, err
	}
	content := int64(buf.Len()-1) + h.Text // all but the size's digits
	for _, at := range h.Attachments {
		content += at.Size
	}
	// The size's digits count in the size: take the smallest bucket that holds them too.
	size := PaddedSize(content + 1)
	for content+int64(len(strconv.FormatInt(size, 10))) > size {
		size = PaddedSize(size + 1)
	}
	h.Size = &size
	buf.Reset()
	buf.WriteString(Magic)
	if err := enc.Encode(&h); err != nil {
		return nil, err
	}
	if buf.Len()-len(Magic) > MaxHeader {
		return nil, fmt.Errorf("the header is %d bytes; at most %d", buf.Len()-len(Magic), MaxHeader)
	}
	buf.WriteString(a.Text)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return nil, err
	}
	aw := &Writer{w: w, atts: a.Attachments, padding: size - content - int64(len(strconv.FormatInt(size, 10)))}
	if len(aw.atts) > 0 {
		aw.left = aw.atts[0].Size
	}
	return aw, nil
}

// advance moves past finished attachments, empty ones included.
func (aw *Writer) advance() {
	for aw.left == 0 && aw.next < len(aw.atts)-1 {
		aw.next++
		aw.left = aw.atts[aw.next].Size
	}
}

// Write writes attachment bytes: the first attachment's, then the next one's, with nothing
// between them. It refuses bytes beyond the last attachment.
func (aw *Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		aw.advance()
		if aw.left == 0 {
			return n, errors.New("more bytes than the attachments declare")
		}
		k := int(min(int64(len(p)), aw.left))
		m, err := aw.w.Write(p[:k])
		n += m
		aw.left -= int64(m)
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// Close reports an attachment that got fewer bytes than its size, or else writes the padding.
// It does not close the underlying writer.
func (aw *Writer) Close() error {
	aw.advance()
	if aw.left > 0 {
		a := aw.atts[aw.next]
		return fmt.Errorf("attachment %q: declared %d bytes, got %d", a.Name, a.Size, a.Size-aw.left)
	}
	for aw.padding > 0 {
		n, err := aw.w.Write(zeros[:min(aw.padding, int64(len(zeros)))])
		aw.padding -= int64(n)
		if err != nil {
			return err
		}
	}
	return nil
}

var zeros [32 << 10]byte

// Reader reads an answer as it streams: the header and the text first, then each attachment.
type Reader struct {
	r       *bufio.Reader
	answer  *Answer
	next    int
	current *io.LimitedReader
	padding int64 // zero bytes after the last attachment
}

// NewReader reads the magic line, the header and the text, and checks them.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != Magic {
		return nil, fmt.Errorf("not a version 1 answer: the first line is not %q", Magic)
	}
	line, err := br.ReadSlice('\n') // the buffer is the header's limit
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("the header is longer than %d bytes", MaxHeader)
	}
	if err != nil {
		return nil, errors.New("the answer ends inside its header")
	}
	var h header
	if err := json.Unmarshal(line, &h); err != nil { // one JSON value and nothing else on the line
		return nil, fmt.Errorf("the header is not valid JSON: %w", err)
	}
	if err := exactKeys(line); err != nil {
		return nil, fmt.Errorf("the header: %w", err)
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("the header: %w", err)
	}
	content := int64(len(Magic)+len(line)) + h.Text // h.check bounds every term
	for _, at := range h.Attachments {
		content += at.Size
	}
	switch {
	case h.Size == nil:
		return nil, errors.New(`the header has no "size": the whole answer's bytes, padding included`)
	case *h.Size < content:
		return nil, fmt.Errorf("the header: size %d is less than the %d bytes the answer holds before its padding", *h.Size, content)
	case *h.Size > MaxPlaintext || *h.Size != PaddedSize(*h.Size):
		return nil, fmt.Errorf("the header: size %d is not a padded size (4, 16, 64 or 256 KiB, or a multiple of 1 MiB up to %d)", *h.Size, MaxPlaintext)
	}
	text := make([]byte, h.Text)
	if _, err := io.ReadFull(br, text); err != nil {
		return nil, fmt.Errorf("the answer ends inside its text, which the header says is %d bytes", h.Text)
	}
	if !utf8.Valid(text) {
		return nil, errors.New("the text is not valid UTF-8")
	}
	if h.Attachments == nil {
		h.Attachments = []Attachment{}
	}
	a := &Answer{Lang: h.Lang, Day: h.Day, Text: string(text), Attachments: h.Attachments}
	return &Reader{r: br, answer: a, padding: *h.Size - content}, nil
}

// exactKeys refuses keys other than the format's, in any case: Go's decoder matches keys without
// regard to case, a browser's does not, and both must read the same answer.
func exactKeys(line []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		return err
	}
	for k := range top {
		if k != "lang" && k != "day" && k != "text" && k != "attachments" && k != "size" {
			return fmt.Errorf("unknown key %q", k)
		}
	}
	var atts []map[string]json.RawMessage
	if err := json.Unmarshal(top["attachments"], &atts); top["attachments"] != nil && err != nil {
		return err
	}
	for i, a := range atts {
		for k := range a {
			if k != "name" && k != "type" && k != "size" {
				return fmt.Errorf("attachment %d: unknown key %q", i+1, k)
			}
		}
	}
	return nil
}

// Answer is what was read before the attachments.
func (r *Reader) Answer() *Answer { return r.answer }

// Next returns the next attachment and a reader for exactly its bytes; a reader that ends early
// is an error. After the last attachment Next returns io.EOF, having checked that the padding
// follows, exactly as many zero bytes as the header's size leaves, and nothing after it.
func (r *Reader) Next() (*Attachment, io.Reader, error) {
	if r.current != nil {
		if _, err := io.Copy(io.Discard, r.current); err != nil {
			return nil, nil, err
		}
		if r.current.N > 0 {
			return nil, nil, fmt.Errorf("attachment %q: the answer ends %d bytes early", r.answer.Attachments[r.next-1].Name, r.current.N)
		}
	}
	if r.next == len(r.answer.Attachments) {
		if err := r.checkPadding(); err != nil {
			return nil, nil, err
		}
		return nil, nil, io.EOF
	}
	a := &r.answer.Attachments[r.next]
	r.next++
	r.current = &io.LimitedReader{R: r.r, N: a.Size}
	return a, &earlyEnd{r.current, a.Name}, nil
}

// checkPadding reads the padding: zero bytes, exactly as many as the header's size leaves, then
// the end of the answer.
func (r *Reader) checkPadding() error {
	for r.padding > 0 {
		b, err := r.r.Peek(int(min(r.padding, 32<<10)))
		if len(b) == 0 && err != nil {
			if err == io.EOF {
				return fmt.Errorf("the answer ends %d bytes before the end of its padding", r.padding)
			}
			return err
		}
		for i, c := range b {
			if c != 0 {
				return fmt.Errorf("the padding holds a byte other than zero, %d bytes before its end", r.padding-int64(i))
			}
		}
		r.r.Discard(len(b))
		r.padding -= int64(len(b))
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		if err == nil {
			return errors.New("bytes follow the padding; the header's size is the whole answer")
		}
		return err
	}
	return nil
}

// earlyEnd turns the end of the answer inside an attachment into an error, so that a reader
// that copies an attachment to disk learns it is incomplete.
type earlyEnd struct {
	lr   *io.LimitedReader
	name string
}

func (e *earlyEnd) Read(p []byte) (int, error) {
	n, err := e.lr.Read(p)
	if err == io.EOF && e.lr.N > 0 {
		return n, fmt.Errorf("attachment %q: the answer ends %d bytes early", e.name, e.lr.N)
	}
	return n, err
}
