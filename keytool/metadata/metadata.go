// Package metadata finds, and removes, the hidden details of photos and documents that can name
// or place the person who made them: the location and the device in a photo's EXIF, the author in
// its XMP or IPTC, a PNG's text chunks, a PDF's document information and XMP.
//
// It reads files an attacker may have made, on the staff's offline computer: every length and
// offset is checked against the bytes at hand, nothing is allocated by a length the file declares,
// and a file it cannot follow is an error, never a panic.
package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format is the kind of file, told by its first bytes, never by its name.
type Format string

// The formats this package reads and cleans.
const (
	JPEG Format = "JPEG"
	PNG  Format = "PNG"
	PDF  Format = "PDF"
)

// Ext is the file name extension the format's files usually have.
func (f Format) Ext() string {
	switch f {
	case JPEG:
		return ".jpg"
	case PNG:
		return ".png"
	case PDF:
		return ".pdf"
	}
	return ""
}

// ErrUnknownFormat is returned for a file that is not JPEG, PNG or PDF.
var ErrUnknownFormat = errors.New("not a JPEG, PNG or PDF file")

// Detect tells the format from the file's first bytes; "" for any other file.
func Detect(data []byte) Format {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG
	case bytes.HasPrefix(data, pngSignature):
		return PNG
	case pdfStart(data) >= 0:
		return PDF
	}
	return ""
}

// pdfStart is where "%PDF-" begins in the first KiB (readers allow bytes before it), or -1.
func pdfStart(data []byte) int {
	return bytes.Index(data[:min(len(data), 1024)], []byte("%PDF-"))
}

// What is what a hidden detail tells about the person who made the file.
type What string

// The kinds of hidden detail, as summary.txt and keytool clean name them.
const (
	Location What = "location" // where: GPS coordinates, a city, a time zone
	Device   What = "device"   // with what: make, model, serial numbers
	Person   What = "person"   // who: author, artist, copyright holder, owner
	Time     What = "time"     // when: taken, made, changed
	Software What = "software" // the programs that made or changed it
	Other    What = "other"    // text, identifiers and data that may hold any of these
)

// Finding is one hidden detail found in a file.
type Finding struct {
	What  What
	Label string // what it is, in plain words: "GPS position", "camera model"
	Value string // printable, one line, shortened
	In    string // where in the file: "EXIF", "XMP", "IPTC", "PNG text", "PDF document information"
}

// String is the finding as summary.txt and keytool clean print it.
func (f Finding) String() string {
	return fmt.Sprintf("%-8s  %s: %s  [%s]", f.What, f.Label, f.Value, f.In)
}

// maxFindings bounds what one file can make keytool list: a file made to fill a case summary
// with thousands of lines gets the first ones and a count.
const maxFindings = 60

// Report is what Read found in one file.
type Report struct {
	Format   Format
	Findings []Finding
	Dropped  int // findings beyond maxFindings, not listed
}

// findings collects findings up to maxFindings, skipping exact repeats (EXIF and XMP often say
// the same thing twice).
type findings struct {
	list    []Finding
	seen    map[Finding]bool
	dropped int
}

func (fs *findings) add(what What, label, value, in string) {
	value = Text(value)
	if value == "" {
		return
	}
	f := Finding{What: what, Label: label, Value: value, In: in}
	if fs.seen[f] {
		return
	}
	if fs.seen == nil {
		fs.seen = map[Finding]bool{}
	}
	fs.seen[f] = true
	if len(fs.list) >= maxFindings {
		fs.dropped++
		return
	}
	fs.list = append(fs.list, f)
}

// Read lists the hidden details of a JPEG, PNG or PDF file. It returns ErrUnknownFormat for any
// other file, and an error for one of these formats that it cannot follow to the end.
func Read(data []byte) (Report, error) {
	format := Detect(data)
	var fs findings
	var err error
	switch format {
	case JPEG:
		err = readJPEG(data, "", 0, &fs)
	case PNG:
		err = readPNG(data, &fs)
	case PDF:
		err = readPDF(data, &fs)
	default:
		return Report{}, ErrUnknownFormat
	}
	return Report{Format: format, Findings: fs.list, Dropped: fs.dropped}, err
}

// Cleaned is what Clean made of a file.
type Cleaned struct {
	Format  Format
	Data    []byte   // the copy without its hidden details
	Removed []string // what was taken out, in plain words
	Kept    []string // what was kept on purpose, in plain words
	Limits  []string // what may still be in the copy, in plain words
}

// Clean returns a copy of a JPEG, PNG or PDF file without its hidden details: JPEG and PNG
// losslessly, their compressed pixels byte for byte. It checks its own work: a copy in which Read
// still finds a hidden detail is an error, not a result.
func Clean(data []byte) (Cleaned, error) {
	c := Cleaned{Format: Detect(data)}
	var err error
	switch c.Format {
	case JPEG:
		err = cleanJPEG(data, &c)
	case PNG:
		err = cleanPNG(data, &c)
	case PDF:
		err = cleanPDF(data, &c)
	default:
		return c, ErrUnknownFormat
	}
	if err != nil {
		return c, err
	}
	left, err := Read(c.Data)
	if err != nil {
		return c, fmt.Errorf("the cleaned copy cannot be read back: %w", err)
	}
	for _, f := range left.Findings {
		if c.Format == PDF && KeptByClean(f) {
			continue
		}
		return c, fmt.Errorf("the cleaned copy still holds %s (%s); nothing was written", f.Label, f.In)
	}
	return c, nil
}

// maxText bounds one value as listed: enough for an address or a caption's first sentence.
const maxText = 160

// Text makes a value from a file one printable line: no control or bidirectional characters
// (summary.txt is read in a terminal, and a file's author must not be able to send it escape
// sequences or reorder what it shows), invalid UTF-8 replaced, runs of white space made one
// space, and at most maxText characters.
func Text(s string) string {
	if len(s) > 16*maxText {
		s = s[:16*maxText] // more than is shown, and no more than that is looked at
	}
	var b strings.Builder
	space, n := false, 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\uFEFF':
			continue
		}
		if n == maxText {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// latin1 decodes ISO 8859-1, which PNG's tEXt and zTXt chunks and old IPTC use.
func latin1(b []byte) string {
	b = b[:min(len(b), 16*maxText)]
	if utf8.Valid(b) {
		return string(b) // many writers put UTF-8 there anyway
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
