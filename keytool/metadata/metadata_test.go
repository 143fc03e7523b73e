package metadata

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/keytool/metadata/metadatatest"
)

// has tells whether report lists a finding of that kind whose value contains want.
func has(r Report, what What, want string) bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.What == what && strings.Contains(f.Value, want) })
}

func wantFindings(t *testing.T, r Report, want map[string]What) {
	t.Helper()
	for value, what := range want {
		if !has(r, what, value) {
			t.Errorf("no %s finding %q in:\n%s", what, value, list(r))
		}
	}
}

func list(r Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString("    " + f.String() + "\n")
	}
	return b.String()
}

// exifWant are the details metadatatest.EXIF plants, by kind.
var exifWant = map[string]What{
	metadatatest.Position:  Location,
	"368 m above sea":      Location,
	metadatatest.TimeZone:  Location,
	metadatatest.Make:      Device,
	metadatatest.Model:     Device,
	metadatatest.Serial:    Device,
	metadatatest.Artist:    Person,
	metadatatest.Copyright: Person,
	metadatatest.Owner:     Person,
	"2026-05-01 12:34:56":  Time,
	metadatatest.Software:  Software,
}

var xmpWant = map[string]What{
	metadatatest.XMPCreator: Person,
	metadatatest.XMPTool:    Software,
	metadatatest.XMPCity:    Location,
	"52.520833 N":           Location,
}

func TestReadFindsWhatAPhoneAndAnEditorPlantInAJPEG(t *testing.T) {
	r, err := Read(metadatatest.JPEG(t, 6))
	if err != nil || r.Format != JPEG {
		t.Fatalf("Read: %v, %v", r.Format, err)
	}
	wantFindings(t, r, exifWant)
	wantFindings(t, r, xmpWant)
	wantFindings(t, r, map[string]What{
		metadatatest.IPTCByline: Person,
		metadatatest.IPTCCity:   Location,
		metadatatest.Comment:    Other,
		"25 bytes":              Other, // after the end of the picture
	})
}

func TestReadFindsThePNGTextEXIFAndTime(t *testing.T) {
	r, err := Read(metadatatest.PNG(t, 1))
	if err != nil || r.Format != PNG {
		t.Fatalf("Read: %v, %v", r.Format, err)
	}
	wantFindings(t, r, exifWant)
	wantFindings(t, r, xmpWant)
	wantFindings(t, r, map[string]What{
		metadatatest.PNGAuthor:    Person,
		metadatatest.PNGComment:   Other,
		"2026-05-01 12:34:56 UTC": Time,
	})
}

func TestReadFindsThePDFInformationXMPCommentsAndPictures(t *testing.T) {
	r, err := Read(metadatatest.PDF(metadatatest.JPEG(t, 1)))
	if err != nil || r.Format != PDF {
		t.Fatalf("Read: %v, %v", r.Format, err)
	}
	wantFindings(t, r, exifWant) // in the picture on the page
	wantFindings(t, r, map[string]What{
		metadatatest.PDFAuthor:       Person,
		metadatatest.PDFTitle:        Other,
		metadatatest.PDFCreator:      Software,
		metadatatest.PDFProducer:     Software,
		"2026-05-01 12:34:56 +02:00": Time,
		metadatatest.PDFXMPAuthor:    Person,
		metadatatest.PDFComment:      Person,
	})
}

func TestReadRefusesOtherFormats(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("GIF89a"), []byte("PK\x03\x04 an office document"), []byte("\x00\x00\x00\x18ftypheic")} {
		if _, err := Read(data); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Read(%q) = %v, want ErrUnknownFormat", data, err)
		}
		if _, err := Clean(data); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Clean(%q) = %v, want ErrUnknownFormat", data, err)
		}
	}
}

// noneLeft checks a cleaned copy both ways: the reader finds nothing, and none of the planted
// strings is anywhere in its bytes.
func noneLeft(t *testing.T, cleaned []byte) {
	t.Helper()
	r, err := Read(cleaned)
	if err != nil {
		t.Fatalf("reading the cleaned copy: %v", err)
	}
	for _, f := range r.Findings {
		if r.Format != PDF || !KeptByClean(f) {
			t.Errorf("the cleaned copy still has %s", f)
		}
	}
	for _, s := range metadatatest.Strings {
		if bytes.Contains(cleaned, []byte(s)) {
			t.Errorf("the cleaned copy still holds the bytes of %q", s)
		}
	}
}

// orientation is what the reader sees of a file's EXIF orientation.
func orientation(t *testing.T, data []byte) uint16 {
	t.Helper()
	var o uint16 = 1
	var ignore findings
	switch Detect(data) {
	case JPEG:
		walkJPEG(data, func(p jpegPart) error {
			if p.marker == markerAPP1 && bytes.HasPrefix(p.payload, exifHeader) {
				o = readEXIF(p.payload[len(exifHeader):], "", &ignore)
			}
			return nil
		})
	case PNG:
		walkPNG(data, func(c pngChunk) error {
			if c.typ == "eXIf" {
				o = readEXIF(c.data, "", &ignore)
			}
			return nil
		})
	}
	return o
}

func TestCleanJPEGKeepsThePictureByteForByte(t *testing.T) {
	for _, o := range []uint16{1, 6} {
		original := metadatatest.JPEG(t, o)
		c, err := Clean(original)
		if err != nil {
			t.Fatal(err)
		}
		noneLeft(t, c.Data)
		metadatatest.SamePixels(t, original, c.Data)
		if !bytes.Equal(metadatatest.ScanData(t, original), metadatatest.ScanData(t, c.Data)) {
			t.Error("the compressed picture (from SOS to EOI) changed")
		}
		if got := orientation(t, c.Data); got != o {
			t.Errorf("orientation %d became %d", o, got)
		}
		if !bytes.Contains(c.Data, metadatatest.ICC) || !bytes.Contains(c.Data, []byte("JFIF\x00")) {
			t.Error("the ICC profile or the JFIF header was removed")
		}
		if !bytes.HasPrefix(c.Data[2:], []byte{0xFF, 0xE0}) {
			t.Error("the JFIF header is no longer right after the start")
		}
		if want := []string{"EXIF (APP1)", "XMP (APP1)", "IPTC and Photoshop data (APP13)", "comment (COM)", "25 bytes after the end of the picture"}; !containsAll(c.Removed, want) {
			t.Errorf("Removed = %q, want each of %q", c.Removed, want)
		}
	}
}

func TestCleanPNGKeepsThePictureByteForByte(t *testing.T) {
	for _, o := range []uint16{1, 8} {
		original := metadatatest.PNG(t, o)
		c, err := Clean(original)
		if err != nil {
			t.Fatal(err)
		}
		noneLeft(t, c.Data)
		metadatatest.SamePixels(t, original, c.Data)
		if !bytes.Equal(idat(t, original), idat(t, c.Data)) {
			t.Error("the compressed picture (IDAT) changed")
		}
		if got := orientation(t, c.Data); got != o {
			t.Errorf("orientation %d became %d", o, got)
		}
		if !bytes.Contains(c.Data, metadatatest.Chunk("sRGB", []byte{0})) {
			t.Error("the sRGB chunk was removed")
		}
	}
}

func idat(t *testing.T, data []byte) []byte {
	var b []byte
	if _, err := walkPNG(data, func(c pngChunk) error {
		if c.typ == "IDAT" {
			b = append(b, c.bytes...)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCleanPDFRemovesTheInformationXMPAndThePicturesDetails(t *testing.T) {
	picture := metadatatest.JPEG(t, 1)
	c, err := Clean(metadatatest.PDF(picture))
	if err != nil {
		t.Fatal(err)
	}
	noneLeft(t, c.Data)
	// The picture on the page is still the same picture, its compressed data byte for byte.
	start := bytes.Index(c.Data, []byte{0xFF, 0xD8, 0xFF})
	end := bytes.Index(c.Data[start:], []byte{0xFF, 0xD9})
	if start < 0 || end < 0 {
		t.Fatal("no JPEG picture in the cleaned PDF")
	}
	inside := c.Data[start : start+end+2]
	metadatatest.SamePixels(t, picture, inside)
	if !bytes.Equal(metadatatest.ScanData(t, picture), metadatatest.ScanData(t, inside)) {
		t.Error("the compressed picture inside the PDF changed")
	}
	if !containsAll(c.Removed, []string{"document information (Author", "1 × XMP packet", "1 × comment author's name", "1 × JPEG picture's EXIF"}) {
		t.Errorf("Removed = %q", c.Removed)
	}
	if bytes.Contains(c.Data, []byte("0123456789ABCDEF0123456789ABCDEF")) {
		t.Error("the copy keeps the original's file identifier")
	}
	// The copy is a PDF pdfcpu reads again, and still a page.
	if r, err := Read(c.Data); err != nil || r.Format != PDF {
		t.Errorf("the cleaned PDF: %v, %v", r.Format, err)
	}
}

// TestCleanPDFLeavesOutEarlierVersions appends an incremental update, as an editor saves a
// changed PDF: a new document information without the author, and an object nothing refers
// to. The old author is still in the file's bytes; the reader says there are earlier versions,
// and the cleaned copy holds neither.
func TestCleanPDFLeavesOutEarlierVersions(t *testing.T) {
	original := string(metadatatest.PDF(nil))
	prev := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(original[strings.LastIndex(original, "startxref\n")+10:]), "%%EOF"))
	update := "7 0 obj\n<< /Title (Minutes) >>\nendobj\n"
	orphan := len(original) + len(update)
	update += "8 0 obj\n(Planted Orphan Text)\nendobj\n"
	update += fmt.Sprintf("xref\n7 2\n%010d 00000 n \n%010d 00000 n \ntrailer\n<< /Size 9 /Root 1 0 R /Info 7 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n",
		len(original), orphan, prev, orphan+len("8 0 obj\n(Planted Orphan Text)\nendobj\n"))
	data := []byte(original + update)
	r, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if !has(r, Other, "the file ends 2 times") || has(r, Person, metadatatest.PDFAuthor) {
		t.Errorf("the reader should name the earlier version, and list what the latest says:\n%s", list(r))
	}
	c, err := Clean(data)
	if err != nil {
		t.Fatal(err)
	}
	noneLeft(t, c.Data)
	if bytes.Contains(c.Data, []byte("Orphan")) {
		t.Error("the cleaned copy holds an object nothing refers to")
	}
}

func containsAll(list, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, w) }) {
			return false
		}
	}
	return true
}

func TestTextMakesOnePrintableLine(t *testing.T) {
	cases := map[string]string{
		"Ana\x1b[2J Weber":         "Ana[2J Weber",
		"line 1\nline 2\t\r\n end": "line 1 line 2 end",
		"evil\u202Egpj.exe":        "evilgpj.exe",
		"\xff\xfebroken":           "\uFFFDbroken",
		"  \x00 ":                  "",
	}
	for in, want := range cases {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Text(strings.Repeat("ü", 10_000)); len([]rune(got)) != maxText+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("a long value became %d characters", len([]rune(got)))
	}
}

// The limits, at the limit: hostile files end in an error or in a finding, at once, and small.

func TestHostileJPEGSegmentsEndInAnError(t *testing.T) {
	good := metadatatest.EncodeJPEG(t, metadatatest.Picture())
	cases := map[string][]byte{
		"a segment longer than the file": append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}, "Exif\x00\x00"...),
		"a length below its own size":    {0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01},
		"no marker where one must be":    {0xFF, 0xD8, 0x12, 0x34},
		"a second start":                 {0xFF, 0xD8, 0xFF, 0xD8},
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Read(data); err == nil {
				t.Error("Read: no error")
			}
			if _, err := Clean(data); err == nil {
				t.Error("Clean: no error")
			}
		})
	}
	// Cut off anywhere, a JPEG never panics: it ends in an error, or in what there was.
	for n := range len(good) {
		Read(good[:n])
		Clean(good[:n])
	}
}

// exifWith is a little-endian TIFF header whose IFD0 is at 8, followed by body.
func exifWith(body []byte) []byte {
	return append([]byte("II*\x00\x08\x00\x00\x00"), body...)
}

func TestHostileEXIFIsSkippedNotFollowed(t *testing.T) {
	entry := func(tag, typ uint16, count, value uint32) []byte {
		b := binary.LittleEndian.AppendUint16(nil, tag)
		b = binary.LittleEndian.AppendUint16(b, typ)
		b = binary.LittleEndian.AppendUint32(b, count)
		return binary.LittleEndian.AppendUint32(b, value)
	}
	ifd := func(next uint32, entries ...[]byte) []byte {
		b := binary.LittleEndian.AppendUint16(nil, uint16(len(entries)))
		for _, e := range entries {
			b = append(b, e...)
		}
		return binary.LittleEndian.AppendUint32(b, next)
	}
	cases := map[string][]byte{
		// IFD0's next IFD is IFD0 again; the Exif IFD is IFD0 too.
		"a loop of directories": exifWith(ifd(8, entry(0x8769, 4, 1, 8))),
		// 4 billion RATIONALs at an offset: nothing may be allocated or read for it.
		"a count of four billion":         exifWith(ifd(0, entry(0x8825, 4, 1, 8+2+12+4), entry(0x0002, 5, 0xFFFFFFFF, 0))),
		"a directory past the end":        exifWith(ifd(0, entry(0x8769, 4, 1, 0xFFFFFFF0))),
		"65535 entries in 20 bytes":       append([]byte("II*\x00\x08\x00\x00\x00\xFF\xFF"), make([]byte, 10)...),
		"a value past the end":            exifWith(ifd(0, entry(0x010F, 2, 200, 0xFFFFFF00))),
		"an odd byte order":               []byte("XX*\x00\x08\x00\x00\x00"),
		"a zero GPS denominator":          exifWith(ifd(0, entry(0x8825, 4, 1, 8+2+12+4), entry(0x0002, 5, 1, 0))),
		"UTF-16 of an odd length":         exifWith(ifd(0, entry(0x9C9D, 1, 3, 0x00410041))),
		"a comment shorter than its code": exifWith(ifd(0, entry(0x8769, 4, 1, 8+2+12+4), entry(0x9286, 7, 3, 0))),
	}
	for name, tiff := range cases {
		t.Run(name, func(t *testing.T) {
			jpegFile := append([]byte{0xFF, 0xD8}, metadatatest.Segment(0xE1, append([]byte("Exif\x00\x00"), tiff...))...)
			jpegFile = append(jpegFile, 0xFF, 0xD9)
			start := time.Now()
			if _, err := Read(jpegFile); err != nil {
				t.Errorf("Read: %v (a broken EXIF is listed, not an error)", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			if _, err := Clean(jpegFile); err != nil {
				t.Errorf("Clean: %v", err)
			}
		})
	}
}

func TestACompressedPNGTextIsReadOnlyToItsLimit(t *testing.T) {
	// 256 MiB of text compressed into a chunk of about 256 KiB.
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 256 {
		zw.Write(zeros)
	}
	zw.Close()
	data := metadatatest.PNG(t, 1)
	bomb := append(append([]byte{}, data[:33]...), metadatatest.Chunk("zTXt", append([]byte("Comment\x00\x00"), z.Bytes()...))...)
	bomb = append(bomb, data[33:]...)
	var before, after runtimeMem
	before.read()
	if _, err := Read(bomb); err != nil {
		t.Fatal(err)
	}
	after.read()
	if grew := after.total - before.total; grew > 16<<20 {
		t.Errorf("reading a 256 KiB chunk allocated %d MiB", grew>>20)
	}
	c, err := Clean(bomb)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(c.Data, z.Bytes()[:64]) {
		t.Error("the compressed text is still in the cleaned copy")
	}
}

func TestTheFindingsOfOneFileAreBounded(t *testing.T) {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8})
	for i := range 1000 {
		b.Write(metadatatest.Segment(0xFE, fmt.Appendf(nil, "comment %d", i)))
	}
	b.Write([]byte{0xFF, 0xD9})
	r, err := Read(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != maxFindings || r.Dropped != 1000-maxFindings {
		t.Errorf("%d findings listed, %d dropped; want %d and %d", len(r.Findings), r.Dropped, maxFindings, 1000-maxFindings)
	}
}

// runtimeMem is how much the tests have allocated so far, in all.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}

// TestAPDFOfTooManyObjectsIsRefused: pdfcpu rebuilds a PDF without a usable table of its
// objects by scanning it object by object, which a file made of a million small objects turns
// into minutes and a GiB of memory. More than maxPDFObjects (lowered here, to test at the limit)
// are refused before pdfcpu sees them.
func TestAPDFOfTooManyObjectsIsRefused(t *testing.T) {
	saved := maxPDFObjects
	maxPDFObjects = 1000
	defer func() { maxPDFObjects = saved }()
	pdf := func(objects int) []byte {
		var b bytes.Buffer
		b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
		for i := 3; i <= objects; i++ {
			fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Annot /Subtype /Text /T (x%d) >>\nendobj\n", i, i)
		}
		b.WriteString("trailer\n<< /Root 1 0 R >>\n%%EOF\n") // no xref: pdfcpu scans
		return b.Bytes()
	}
	if r, err := Read(pdf(1000)); err != nil || !has(r, Person, "x3") {
		t.Errorf("1000 objects: %v\n%s", err, list(r))
	}
	for name, run := range map[string]func([]byte) error{
		"Read":  func(d []byte) error { _, err := Read(d); return err },
		"Clean": func(d []byte) error { _, err := Clean(d); return err },
	} {
		if err := run(pdf(1001)); err == nil || !strings.Contains(err.Error(), "the PDF holds more than 1000 objects") {
			t.Errorf("%s of 1001 objects: %v", name, err)
		}
	}
}
