package answers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
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
	// MaxPlaintext bounds a whole answer: what Decrypt's reader can yield before NewReader refuses.
	MaxPlaintext = len(Magic) + MaxHeader + MaxText + MaxAttachmentBytes
)

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
// the attachments' bytes in order, Close checks that each got exactly its size.
type Writer struct {
	w    io.Writer
	atts []Attachment
	next int   // the attachment being written
	left int64 // bytes still due for it
}

// NewWriter checks a and writes the magic line, the header and the text.
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
	aw := &Writer{w: w, atts: a.Attachments}
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

// Close reports an attachment that got fewer bytes than its size. It does not close the
// underlying writer.
func (aw *Writer) Close() error {
	aw.advance()
	if aw.left > 0 {
		a := aw.atts[aw.next]
		return fmt.Errorf("attachment %q: declared %d bytes, got %d", a.Name, a.Size, a.Size-aw.left)
	}
	return nil
}

// Reader reads an answer as it streams: the header and the text first, then each attachment.
type Reader struct {
	r       *bufio.Reader
	answer  *Answer
	next    int
	current *io.LimitedReader
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
	return &Reader{r: br, answer: a}, nil
}

// exactKeys refuses keys other than the format's, in any case: Go's decoder matches keys without
// regard to case, a browser's does not, and both must read the same answer.
func exactKeys(line []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		return err
	}
	for k := range top {
		if k != "lang" && k != "day" && k != "text" && k != "attachments" {
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
// is an error. After the last attachment Next returns io.EOF, having checked that nothing follows.
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
		if _, err := r.r.ReadByte(); err != io.EOF {
			if err == nil {
				return nil, nil, errors.New("bytes follow the last attachment")
			}
			return nil, nil, err
		}
		return nil, nil, io.EOF
	}
	a := &r.answer.Attachments[r.next]
	r.next++
	r.current = &io.LimitedReader{R: r.r, N: a.Size}
	return a, &earlyEnd{r.current, a.Name}, nil
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
