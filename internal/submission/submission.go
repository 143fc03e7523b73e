// Package submission is the plaintext format inside every encrypted submission (docs/format.md):
// a magic line, a one-line JSON header with the procedure, the language, the fields and the
// attachments' metadata, then the attachments' bytes in order, then zero bytes that pad the whole
// to a padded size. The browser writes it, the drop box writes it for forms sent without
// JavaScript, and keytool reads it, streaming.
package submission

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/bits"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Magic is the first line of every version 1 plaintext.
const Magic = "complaint-submission/1\n"

// Limits every reader enforces. Writers stay within them.
const (
	MaxHeader      = 1 << 20 // bytes of the JSON header line, newline included
	MaxFields      = 200
	MaxAttachments = 100
	MaxNameBytes   = 255
	// MinPadded is the smallest padded size: every submission of a few fields is this long.
	MinPadded = 4 << 10
)

// PaddedSize is the size a plaintext of n bytes is padded to (docs/format.md, "Padding of
// submissions"): at least MinPadded; above it, for n in (2^k, 2^(k+1)], n rounded up to a
// multiple of 2^(k-3), so the sizes grow by an eighth (4, 4.5, 5, ... 8, 9, 10 KiB ...) and the
// padding is less than an eighth of n.
func PaddedSize(n int64) int64 {
	if n <= MinPadded {
		return MinPadded
	}
	step := int64(1) << (bits.Len64(uint64(n-1)) - 4)
	return (n + step - 1) / step * step
}

var (
	slugRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	fieldNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	langRE      = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	sha256RE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Submission is the header: everything but the attachments' bytes.
type Submission struct {
	Procedure   string       `json:"procedure"`
	Lang        string       `json:"lang"`
	Fields      []Field      `json:"fields"`
	Attachments []Attachment `json:"attachments"`
	// EncryptedBy says where the plaintext was encrypted: "browser" (the form's script) or
	// "server" (the drop box, for a form sent without JavaScript); empty in older submissions.
	// The case register counts the two channels by it (docs/register.md).
	EncryptedBy string `json:"encrypted_by,omitempty"`
	// Followup is reserved for pseudonymous follow-up; version 1 writers leave it out and
	// readers keep it as it is.
	Followup json.RawMessage `json:"followup,omitempty"`
}

// Field is one answer, with the label the person saw next to it.
type Field struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// Attachment describes one attached file; its bytes follow the header.
type Attachment struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// NewAttachment describes data for the header.
func NewAttachment(name, mediaType string, data []byte) Attachment {
	sum := sha256.Sum256(data)
	return Attachment{Name: name, Type: mediaType, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

// Check reports the first way s breaks the format, as a sentence.
func (s *Submission) Check() error {
	if !slugRE.MatchString(s.Procedure) {
		return fmt.Errorf("procedure %q is not a procedure name (lower-case letters, digits and hyphens)", s.Procedure)
	}
	if !langRE.MatchString(s.Lang) {
		return fmt.Errorf("lang %q is not a language tag", s.Lang)
	}
	if len(s.Fields) > MaxFields {
		return fmt.Errorf("%d fields; at most %d", len(s.Fields), MaxFields)
	}
	seen := map[string]bool{}
	for i, f := range s.Fields {
		if !fieldNameRE.MatchString(f.Name) {
			return fmt.Errorf("field %d: name %q is not a field name", i+1, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("field %q appears twice", f.Name)
		}
		seen[f.Name] = true
		if !utf8.ValidString(f.Label) || !utf8.ValidString(f.Value) {
			return fmt.Errorf("field %q is not valid UTF-8", f.Name)
		}
	}
	if len(s.Attachments) > MaxAttachments {
		return fmt.Errorf("%d attachments; at most %d", len(s.Attachments), MaxAttachments)
	}
	for i, a := range s.Attachments {
		if a.Name == "" || len(a.Name) > MaxNameBytes || !utf8.ValidString(a.Name) {
			return fmt.Errorf("attachment %d: the name must be 1 to %d bytes of UTF-8", i+1, MaxNameBytes)
		}
		if len(a.Type) > 255 {
			return fmt.Errorf("attachment %d: the media type is too long", i+1)
		}
		if a.Size < 0 {
			return fmt.Errorf("attachment %d: negative size", i+1)
		}
		if !sha256RE.MatchString(a.SHA256) {
			return fmt.Errorf("attachment %d: sha256 must be 64 lower-case hex digits", i+1)
		}
	}
	return nil
}

// TotalSize is the sum of the attachments' sizes, or -1 when it passes max: a header may
// declare any sizes, and a sum that wrapped around must not pass a limit.
func (s *Submission) TotalSize(max int64) int64 {
	var n int64
	for _, a := range s.Attachments {
		if a.Size > max-n {
			return -1
		}
		n += a.Size
	}
	return n
}

// CheckHeader runs Check and also checks that the header, its padding key included, fits its
// line: what a writer must do before it encrypts, so that a submission that readers would refuse
// is never sent.
func (s *Submission) CheckHeader() error {
	_, err := s.PlaintextSize()
	return err
}

// PlaintextSize is the number of bytes Write writes for s, padding included: a padded size.
// Its error is Check's, or ErrHeaderTooLarge.
func (s *Submission) PlaintextSize() (int64, error) {
	if err := s.Check(); err != nil {
		return 0, err
	}
	_, size, err := pad(s)
	return size, err
}

// ErrHeaderTooLarge is returned when the answers together do not fit the header's line.
var ErrHeaderTooLarge = errors.New("the answers are longer than a submission can hold")

// ShortName shortens a file name to MaxNameBytes of UTF-8, keeping its extension.
func ShortName(name string) string {
	if len(name) <= MaxNameBytes {
		return name
	}
	ext := name[strings.LastIndexByte(name, '.')+1:]
	if !strings.Contains(name, ".") || len(ext) > 16 {
		ext = ""
	} else {
		ext = "." + ext
	}
	stem := strings.TrimSuffix(name, ext)
	for len(stem)+len(ext) > MaxNameBytes {
		_, size := utf8.DecodeLastRuneInString(stem)
		stem = stem[:len(stem)-size]
	}
	return stem + ext
}

// Write writes the plaintext: the header, each body in order, then the padding. Each body must
// hold exactly the size its attachment declares. It hands w the plaintext in pieces of exactly
// piece bytes (the last one shorter), whatever the bodies' reads: go-crypto frames each write it
// is given, so the ciphertext's size then depends on the padded size alone.
func Write(w io.Writer, s *Submission, bodies []io.Reader) error {
	if len(bodies) != len(s.Attachments) {
		return fmt.Errorf("%d attachments but %d bodies", len(s.Attachments), len(bodies))
	}
	if err := s.Check(); err != nil {
		return err
	}
	padding, _, err := pad(s)
	if err != nil {
		return err
	}
	header, err := marshalHeader(s, padding)
	if err != nil {
		return err
	}
	defer clear(header)
	parts := []io.Reader{strings.NewReader(Magic), bytes.NewReader(header)}
	for i := range s.Attachments {
		parts = append(parts, &exactBody{r: bodies[i], a: &s.Attachments[i], left: s.Attachments[i].Size})
	}
	parts = append(parts, io.LimitReader(zeros{}, padding))
	src := io.MultiReader(parts...)
	buf := make([]byte, piece)
	defer clear(buf)
	for {
		n, err := io.ReadFull(src, buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return nil
		default:
			return err
		}
	}
}

// piece is the size of the writes Write makes.
const piece = 32 << 10

// zeros reads as an endless run of zero bytes: the padding, made as it is written, never held.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// exactBody reads an attachment's body and fails unless it holds exactly the declared size.
type exactBody struct {
	r    io.Reader
	a    *Attachment
	left int64
}

func (b *exactBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		var one [1]byte
		if n, _ := io.ReadFull(b.r, one[:]); n > 0 {
			return 0, fmt.Errorf("attachment %q: declared %d bytes, got more", b.a.Name, b.a.Size)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err == io.EOF && b.left > 0 {
		return n, fmt.Errorf("attachment %q: declared %d bytes, got %d", b.a.Name, b.a.Size, b.a.Size-b.left)
	}
	if err == io.EOF {
		err = nil // the check for more bytes comes on the next read
	}
	return n, err
}

// header is the line as writers write it: the submission's keys, then "padding".
type header struct {
	Submission
	Padding int64 `json:"padding"`
}

// marshalHeader is the header line, line feed included, with its padding key.
func marshalHeader(s *Submission, padding int64) ([]byte, error) {
	h := header{Submission: *s, Padding: padding}
	if h.Fields == nil {
		h.Fields = []Field{}
	}
	if h.Attachments == nil {
		h.Attachments = []Attachment{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // Encode ends the line; the encoding escapes every newline inside
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&h); err != nil {
		return nil, err
	}
	if buf.Len() > MaxHeader {
		return nil, fmt.Errorf("%w: the header is %d bytes; at most %d", ErrHeaderTooLarge, buf.Len(), MaxHeader)
	}
	return buf.Bytes(), nil
}

// pad is the padding that makes the plaintext of s a padded size, and that size. The padding's
// own digits are part of the header: it measures the plaintext with "padding":0, takes the
// smallest padded size that holds the rest and the digits of what is left, and the next size
// when no count fits (the rest is then 10^m + m bytes short of it, as 11 or 102: padding 10 or
// 100 would need one digit more, 9 or 99 leaves a byte unfilled).
func pad(s *Submission) (padding, size int64, err error) {
	header, err := marshalHeader(s, 0)
	if err != nil {
		return 0, 0, err
	}
	clear(header)
	attachments := s.TotalSize(math.MaxInt64 / 2)
	if attachments < 0 {
		return 0, 0, fmt.Errorf("the attachments declare more than %d bytes", int64(math.MaxInt64/2))
	}
	rest := int64(len(Magic)+len(header)-1) + attachments // all but the padding's digits
	for size = PaddedSize(rest + 1); ; size = PaddedSize(size + 1) {
		for digits := int64(1); digits <= 19; digits++ {
			padding = size - rest - digits
			if padding >= 0 && int64(len(strconv.FormatInt(padding, 10))) == digits {
				if int64(len(header))-1+digits > MaxHeader {
					return 0, 0, fmt.Errorf("%w: the header is %d bytes with its padding; at most %d", ErrHeaderTooLarge, int64(len(header))-1+digits, MaxHeader)
				}
				return padding, size, nil
			}
		}
	}
}

// Reader reads a plaintext as it streams: the header first, then each attachment in turn.
type Reader struct {
	r       *bufio.Reader
	sub     *Submission
	padding int64 // zero bytes after the last attachment
	next    int
	current *attachmentReader
}

// ErrTooLarge is returned when the attachments declare more than the reader accepts.
var ErrTooLarge = errors.New("the attachments are larger than this reader accepts")

// NewReader reads the magic line and the header. maxAttachments bounds the sum of the declared
// sizes, padding included, so a reader can refuse a submission before writing any of it.
func NewReader(r io.Reader, maxAttachments int64) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != Magic {
		return nil, errors.New("not a version 1 submission: the first line is not " + fmt.Sprintf("%q", Magic))
	}
	line, err := readLine(br, MaxHeader)
	if err != nil {
		return nil, err
	}
	// A missing "padding" is 0: GnuPG's messages and those of writers before padding.
	var h header
	if err := json.Unmarshal(line, &h); err != nil { // one JSON value and nothing else on the line
		return nil, fmt.Errorf("the header is not valid JSON: %w", err)
	}
	s := h.Submission
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("the header: %w", err)
	}
	if h.Padding < 0 {
		return nil, fmt.Errorf("the header: padding %d; it must be 0 or more", h.Padding)
	}
	if s.Fields == nil {
		s.Fields = []Field{}
	}
	if s.Attachments == nil {
		s.Attachments = []Attachment{}
	}
	if total := s.TotalSize(maxAttachments); total < 0 || h.Padding > maxAttachments-total {
		return nil, fmt.Errorf("%w: more than %d bytes declared, padding included", ErrTooLarge, maxAttachments)
	}
	return &Reader{r: br, sub: &s, padding: h.Padding}, nil
}

func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max {
			return nil, fmt.Errorf("the header is longer than %d bytes", max)
		}
		if err == nil {
			return line, nil
		}
		if err != bufio.ErrBufferFull {
			return nil, errors.New("the submission ends inside its header")
		}
	}
}

// Submission is the header that was read.
func (r *Reader) Submission() *Submission { return r.sub }

// Next returns the next attachment and a reader for exactly its bytes. Reading that reader to its
// end checks the SHA-256; a mismatch is an error from Read. After the last attachment Next
// returns io.EOF, having checked the padding (exactly as many zero bytes as the header says) and
// that nothing follows it.
func (r *Reader) Next() (*Attachment, io.Reader, error) {
	if r.current != nil {
		if _, err := io.Copy(io.Discard, r.current); err != nil {
			return nil, nil, err
		}
	}
	if r.next == len(r.sub.Attachments) {
		if err := r.readPadding(); err != nil {
			return nil, nil, err
		}
		return nil, nil, io.EOF
	}
	a := &r.sub.Attachments[r.next]
	r.next++
	r.current = &attachmentReader{r: r.r, a: a, left: a.Size, h: sha256.New()}
	return a, r.current, nil
}

// readPadding reads the padding to its end, then the end of the plaintext.
func (r *Reader) readPadding() error {
	n, err := io.Copy(zeroCheck{}, io.LimitReader(r.r, r.padding))
	switch {
	case errors.Is(err, errNotZero):
		return fmt.Errorf("the padding holds a byte other than zero, %d bytes after its start", n)
	case err != nil:
		return err
	case n < r.padding:
		return fmt.Errorf("the submission ends %d bytes before the end of its padding", r.padding-n)
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		if err == nil && r.padding == 0 {
			return errors.New("bytes follow the last attachment")
		}
		if err == nil {
			return errors.New("bytes follow the padding; the header's padding must reach the end")
		}
		return err
	}
	return nil
}

// zeroCheck takes zero bytes only: a write stops at the first other byte.
type zeroCheck struct{}

var errNotZero = errors.New("a byte other than zero")

func (zeroCheck) Write(p []byte) (int, error) {
	for i, b := range p {
		if b != 0 {
			return i, errNotZero
		}
	}
	return len(p), nil
}

type attachmentReader struct {
	r       io.Reader
	a       *Attachment
	left    int64
	h       hash.Hash
	checked bool
	bad     error
}

func (ar *attachmentReader) Read(p []byte) (int, error) {
	if ar.left == 0 {
		return 0, ar.finish()
	}
	if int64(len(p)) > ar.left {
		p = p[:ar.left]
	}
	n, err := ar.r.Read(p)
	ar.h.Write(p[:n])
	ar.left -= int64(n)
	if ar.left == 0 {
		if err := ar.finish(); err != io.EOF {
			return n, err
		}
		return n, nil
	}
	if err == io.EOF {
		return n, fmt.Errorf("attachment %q: the submission ends %d bytes early", ar.a.Name, ar.left)
	}
	return n, err
}

// finish checks the hash once every byte was read, the empty attachment's included.
func (ar *attachmentReader) finish() error {
	if !ar.checked {
		ar.checked = true
		if got := hex.EncodeToString(ar.h.Sum(nil)); got != ar.a.SHA256 {
			ar.bad = fmt.Errorf("attachment %q: its SHA-256 is %s, the header says %s", ar.a.Name, got, ar.a.SHA256)
		}
	}
	if ar.bad != nil {
		return ar.bad
	}
	return io.EOF
}
