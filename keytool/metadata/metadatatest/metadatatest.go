// Package metadatatest makes the photos and documents the tests of keytool's metadata reader and
// of keytool clean read: pictures drawn here and encoded with Go's own image/jpeg and image/png,
// with EXIF, XMP, IPTC, PNG text chunks and a PDF's document information built here byte by
// byte, so that every planted detail is known and no file of unknown origin is needed.
package metadatatest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// The details planted in the files, each a string found nowhere else, so that a test can search
// a cleaned file's bytes for it.
const (
	Make         = "PlantedMake"
	Model        = "PlantedModel X1"
	Software     = "PlantedSoftware 7.1"
	Artist       = "Planted Artist Anna"
	Copyright    = "Copyright Planted Holder"
	Serial       = "PLANTEDSERIAL0042"
	Owner        = "Planted Owner Olga"
	Taken        = "2026:05:01 12:34:56"
	TimeZone     = "+02:00"
	XMPCreator   = "Planted XMP Creator"
	XMPTool      = "PlantedXMPTool 3"
	XMPCity      = "PlantedCity"
	IPTCByline   = "Planted IPTC Byline"
	IPTCCity     = "PlantedIPTCCity"
	Comment      = "Planted JPEG comment"
	Trailer      = "PLANTED-TRAILER-AFTER-EOI"
	PNGAuthor    = "Planted PNG Author"
	PNGComment   = "Planted compressed PNG comment"
	PDFAuthor    = "Planted PDF Author"
	PDFCreator   = "PlantedWriter 9"
	PDFProducer  = "PlantedProducer 2"
	PDFTitle     = "Planted PDF Title"
	PDFXMPAuthor = "Planted PDF XMP Author"
	PDFComment   = "Planted Comment Author"
)

// Position is the GPS position planted in EXIF (Berlin's television tower), as the reader
// writes it.
const Position = "52.520833 N, 13.409444 E"

// Strings are all the planted strings.
var Strings = []string{Make, Model, Software, Artist, Copyright, Serial, Owner, Taken, XMPCreator, XMPTool, XMPCity,
	IPTCByline, IPTCCity, Comment, Trailer, PNGAuthor, PNGComment, PDFAuthor, PDFCreator, PDFProducer, PDFTitle, PDFXMPAuthor, PDFComment}

// Picture is a small picture with gradients and edges, so that its compressed data is not trivial.
func Picture() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 97, 61))
	for y := range 61 {
		for x := range 97 {
			img.Set(x, y, color.RGBA{uint8(x * 255 / 96), uint8(y * 255 / 60), uint8((x ^ y) * 4), 255})
		}
	}
	return img
}

// tiffWriter builds a little-endian TIFF structure: directories are laid out in order, their
// long values in a data area after each.
type tiffWriter struct {
	buf bytes.Buffer
}

type tiffEntry struct {
	tag, typ uint16
	count    uint32
	value    []byte // the encoded value; placed inline when it fits in four bytes
}

func ascii(tag uint16, s string) tiffEntry {
	return tiffEntry{tag, 2, uint32(len(s) + 1), append([]byte(s), 0)}
}

func short(tag uint16, v uint16) tiffEntry {
	return tiffEntry{tag, 3, 1, binary.LittleEndian.AppendUint16(nil, v)}
}

func long(tag uint16, v uint32) tiffEntry {
	return tiffEntry{tag, 4, 1, binary.LittleEndian.AppendUint32(nil, v)}
}

func rationals(tag uint16, v ...[2]uint32) tiffEntry {
	var b []byte
	for _, r := range v {
		b = binary.LittleEndian.AppendUint32(b, r[0])
		b = binary.LittleEndian.AppendUint32(b, r[1])
	}
	return tiffEntry{tag, 5, uint32(len(v)), b}
}

// ifd writes one directory at the current end and returns its offset; next is the offset of the
// next directory, or 0.
func (w *tiffWriter) ifd(entries []tiffEntry, next uint32) uint32 {
	off := uint32(w.buf.Len())
	data := off + 2 + 12*uint32(len(entries)) + 4
	var dir, area []byte
	dir = binary.LittleEndian.AppendUint16(dir, uint16(len(entries)))
	for _, e := range entries {
		dir = binary.LittleEndian.AppendUint16(dir, e.tag)
		dir = binary.LittleEndian.AppendUint16(dir, e.typ)
		dir = binary.LittleEndian.AppendUint32(dir, e.count)
		if len(e.value) <= 4 {
			dir = append(dir, append(e.value, make([]byte, 4-len(e.value))...)...)
			continue
		}
		dir = binary.LittleEndian.AppendUint32(dir, data+uint32(len(area)))
		area = append(area, e.value...)
		if len(area)%2 == 1 {
			area = append(area, 0)
		}
	}
	dir = binary.LittleEndian.AppendUint32(dir, next)
	w.buf.Write(dir)
	w.buf.Write(area)
	return off
}

// size is how many bytes a directory of these entries takes, with its data.
func size(entries []tiffEntry) uint32 {
	n := 2 + 12*uint32(len(entries)) + 4
	for _, e := range entries {
		if len(e.value) > 4 {
			n += uint32(len(e.value)+1) &^ 1
		}
	}
	return n
}

// EXIF is a TIFF structure (what follows "Exif\0\0" in a JPEG, and a PNG's eXIf chunk) with the
// camera, the person, the time and a GPS position planted, and the given orientation.
func EXIF(orientation uint16) []byte {
	exif := []tiffEntry{ascii(0x9003, Taken), ascii(0x9011, TimeZone), ascii(0xA430, Owner), ascii(0xA431, Serial)}
	gps := []tiffEntry{
		ascii(0x0001, "N"), rationals(0x0002, [2]uint32{52, 1}, [2]uint32{31, 1}, [2]uint32{1500, 100}),
		ascii(0x0003, "E"), rationals(0x0004, [2]uint32{13, 1}, [2]uint32{24, 1}, [2]uint32{34, 1}),
		{0x0005, 1, 1, []byte{0}}, rationals(0x0006, [2]uint32{368, 1}),
	}
	ifd0 := func(exifAt, gpsAt uint32) []tiffEntry {
		return []tiffEntry{
			ascii(0x010F, Make), ascii(0x0110, Model), short(0x0112, orientation), ascii(0x0131, Software),
			ascii(0x013B, Artist), ascii(0x8298, Copyright), long(0x8769, exifAt), long(0x8825, gpsAt),
		}
	}
	exifAt := 8 + size(ifd0(0, 0))
	gpsAt := exifAt + size(exif)
	var w tiffWriter
	w.buf.WriteString("II*\x00")
	w.buf.Write(binary.LittleEndian.AppendUint32(nil, 8))
	w.ifd(ifd0(exifAt, gpsAt), 0)
	w.ifd(exif, 0)
	w.ifd(gps, 0)
	return w.buf.Bytes()
}

// XMP is an XMP packet with a creator, the making program, a city and a GPS latitude.
func XMP(creator string) []byte {
	return []byte(`<?xpacket begin="` + "\uFEFF" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmp:CreatorTool="` + XMPTool + `" photoshop:City="` + XMPCity + `" exif:GPSLatitude="52,31.25N">
   <dc:creator><rdf:Seq><rdf:li>` + creator + `</rdf:li></rdf:Seq></dc:creator>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`)
}

// IPTC is the payload of a JPEG's APP13 segment: Photoshop's resources with an IPTC by-line
// and city.
func IPTC() []byte {
	var iptc []byte
	for _, d := range []struct {
		dataset byte
		value   string
	}{{80, IPTCByline}, {90, IPTCCity}} {
		iptc = append(iptc, 0x1C, 2, d.dataset)
		iptc = binary.BigEndian.AppendUint16(iptc, uint16(len(d.value)))
		iptc = append(iptc, d.value...)
	}
	b := []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00")
	b = binary.BigEndian.AppendUint32(b, uint32(len(iptc)))
	b = append(b, iptc...)
	if len(iptc)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// Segment is a JPEG marker segment with its payload.
func Segment(marker byte, payload []byte) []byte {
	b := []byte{0xFF, marker}
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)+2))
	return append(b, payload...)
}

// ICC is a JPEG APP2 segment's payload that names itself an ICC profile, as keytool clean keeps.
var ICC = []byte("ICC_PROFILE\x00\x01\x01not a real profile, kept for its colours")

// EncodeJPEG is the picture as Go's image/jpeg writes it: no APPn segments at all.
func EncodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// JPEG is Picture as a JPEG file with everything planted: a JFIF header, EXIF (with the
// orientation), XMP, IPTC, an ICC profile, a comment, and bytes after its end.
func JPEG(t testing.TB, orientation uint16) []byte {
	t.Helper()
	plain := EncodeJPEG(t, Picture())
	var b bytes.Buffer
	b.Write(plain[:2])
	b.Write(Segment(0xE0, []byte("JFIF\x00\x01\x02\x00\x00\x48\x00\x48\x00\x00")))
	b.Write(Segment(0xE1, append([]byte("Exif\x00\x00"), EXIF(orientation)...)))
	b.Write(Segment(0xE1, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), XMP(XMPCreator)...)))
	b.Write(Segment(0xE2, ICC))
	b.Write(Segment(0xED, IPTC()))
	b.Write(Segment(0xFE, []byte(Comment)))
	b.Write(plain[2:])
	b.WriteString(Trailer)
	return b.Bytes()
}

// ScanData is what a JPEG holds from its first SOS segment to its end: the compressed picture,
// which keytool clean must leave byte for byte.
func ScanData(t testing.TB, jpegFile []byte) []byte {
	t.Helper()
	pos := 2
	for pos+4 <= len(jpegFile) {
		if jpegFile[pos] != 0xFF {
			t.Fatalf("no marker at %d", pos)
		}
		if jpegFile[pos+1] == 0xDA {
			end := bytes.LastIndex(jpegFile, []byte{0xFF, 0xD9})
			return jpegFile[pos : end+2]
		}
		pos += 2 + int(binary.BigEndian.Uint16(jpegFile[pos+2:]))
	}
	t.Fatal("no SOS segment")
	return nil
}

// SamePixels decodes two JPEG or PNG files and compares them pixel by pixel.
func SamePixels(t testing.TB, original, cleaned []byte) {
	t.Helper()
	a, _, err := image.Decode(bytes.NewReader(original))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := image.Decode(bytes.NewReader(cleaned))
	if err != nil {
		t.Fatalf("the cleaned copy does not decode: %v", err)
	}
	if a.Bounds() != b.Bounds() {
		t.Fatalf("the picture was %v, the cleaned copy is %v", a.Bounds(), b.Bounds())
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				t.Fatalf("pixel %d,%d was %v and is %v in the cleaned copy", x, y, a.At(x, y), b.At(x, y))
			}
		}
	}
}

// Chunk is a PNG chunk with its length and CRC.
func Chunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// PNG is Picture as a PNG file with everything planted: tEXt Author, a compressed zTXt comment,
// XMP in iTXt, eXIf (with the orientation) and tIME, an sRGB chunk that is kept, and bytes
// after its end.
func PNG(t testing.TB, orientation uint16) []byte {
	t.Helper()
	var plain bytes.Buffer
	if err := png.Encode(&plain, Picture()); err != nil {
		t.Fatal(err)
	}
	p := plain.Bytes()
	ihdrEnd := 8 + 12 + int(binary.BigEndian.Uint32(p[8:]))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(PNGComment))
	zw.Close()
	var b bytes.Buffer
	b.Write(p[:ihdrEnd])
	b.Write(Chunk("sRGB", []byte{0}))
	b.Write(Chunk("tEXt", []byte("Author\x00"+PNGAuthor)))
	b.Write(Chunk("zTXt", append([]byte("Comment\x00\x00"), z.Bytes()...)))
	b.Write(Chunk("iTXt", append([]byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"), XMP(XMPCreator)...)))
	b.Write(Chunk("eXIf", EXIF(orientation)))
	b.Write(Chunk("tIME", []byte{0x07, 0xEA, 5, 1, 12, 34, 56}))
	b.Write(p[ihdrEnd:])
	b.WriteString(Trailer)
	return b.Bytes()
}

// PDF is a one-page PDF 1.7 written by hand: document information (author, title, the making
// programs, dates), an XMP packet, a comment with its author's name, and, when picture is not
// nil, that JPEG file drawn on the page as it is (DCTDecode).
func PDF(picture []byte) []byte {
	var objects []string
	add := func(s string) int {
		objects = append(objects, s)
		return len(objects)
	}
	catalog := add("") // filled in below, once the numbers are known
	pages := add("")
	xmp := XMP(PDFXMPAuthor)
	metadata := add(fmt.Sprintf("<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream", len(xmp), xmp))
	content := "q 97 0 0 61 20 20 cm /Im1 Do Q"
	resources := "<< >>"
	if picture != nil {
		image := add(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width 97 /Height 61 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream", len(picture), picture))
		resources = fmt.Sprintf("<< /XObject << /Im1 %d 0 R >> >>", image)
	} else {
		content = "BT /F1 12 Tf 20 100 Td (A complaint) Tj ET"
		resources = "<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
	}
	stream := add(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	comment := add(fmt.Sprintf("<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /T (%s) /Contents (see here) >>", PDFComment))
	page := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 200 120] /Resources %s /Contents %d 0 R /Annots [%d 0 R] >>", pages, resources, stream, comment))
	objects[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R /Metadata %d 0 R >>", pages, metadata)
	objects[pages-1] = fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", page)
	info := add(fmt.Sprintf("<< /Title (%s) /Author (%s) /Creator (%s) /Producer (%s) /CreationDate (D:20260501123456+02'00') /ModDate (D:20260502090000+02'00') >>",
		PDFTitle, PDFAuthor, PDFCreator, PDFProducer))

	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n") // without a picture, all text: keytool's scripts hold one
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>] >>\nstartxref\n%d\n%%%%EOF\n",
		len(objects)+1, catalog, info, xref)
	return b.Bytes()
}
