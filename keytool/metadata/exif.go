package metadata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf16"
)

// EXIF is a TIFF structure: a header, then directories (IFDs) of 12-byte entries whose values
// sit inline or at an offset. Every offset and count below is checked against the bytes at hand
// before it is used, and a directory is read at most once, so a loop of offsets ends.

var errEXIF = errors.New("EXIF that does not follow the TIFF structure")

type tiff struct {
	data  []byte
	order binary.ByteOrder
	seen  map[uint32]bool
}

// ifdEntry is one directory entry, its value the bytes it points to inside data.
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    []byte
}

// maxIFDs bounds the directories read from one EXIF: IFD0, its thumbnail's IFD1, the Exif,
// GPS and interoperability directories, with room to spare.
const maxIFDs = 8

func newTIFF(data []byte) (*tiff, uint32, error) {
	if len(data) < 8 {
		return nil, 0, errEXIF
	}
	t := &tiff{data: data, seen: map[uint32]bool{}}
	switch string(data[:2]) {
	case "II":
		t.order = binary.LittleEndian
	case "MM":
		t.order = binary.BigEndian
	default:
		return nil, 0, errEXIF
	}
	if t.order.Uint16(data[2:]) != 42 {
		return nil, 0, errEXIF
	}
	return t, t.order.Uint32(data[4:]), nil
}

// typeSize is the size of one value of a TIFF type; 0 for a type this reader does not know.
func typeSize(typ uint16) uint64 {
	switch typ {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11: // LONG, SLONG, FLOAT
		return 4
	case 5, 10, 12: // RATIONAL, SRATIONAL, DOUBLE
		return 8
	}
	return 0
}

// ifd reads the directory at off and returns its entries and the offset of the next one (0 for
// none). Entries whose values lie outside data, or of unknown types, are left out.
func (t *tiff) ifd(off uint32) ([]ifdEntry, uint32, error) {
	if t.seen[off] || len(t.seen) >= maxIFDs {
		return nil, 0, errEXIF
	}
	t.seen[off] = true
	size := uint64(len(t.data))
	if uint64(off)+2 > size {
		return nil, 0, errEXIF
	}
	n := uint64(t.order.Uint16(t.data[off:]))
	start := uint64(off) + 2
	if start+12*n > size {
		return nil, 0, errEXIF
	}
	entries := make([]ifdEntry, 0, n) // n entries of 12 bytes each are in data: checked above
	for i := range n {
		p := start + 12*i
		e := ifdEntry{tag: t.order.Uint16(t.data[p:]), typ: t.order.Uint16(t.data[p+2:]), count: t.order.Uint32(t.data[p+4:])}
		length := typeSize(e.typ) * uint64(e.count)
		if length == 0 {
			continue
		}
		at := p + 8
		if length > 4 {
			at = uint64(t.order.Uint32(t.data[p+8:]))
		}
		if at+length > size {
			continue
		}
		e.value = t.data[at : at+length]
		entries = append(entries, e)
	}
	var next uint32
	if end := start + 12*n; end+4 <= size {
		next = t.order.Uint32(t.data[end:])
	}
	return entries, next, nil
}

// text is an ASCII or UTF-8 value up to its first NUL.
func (e ifdEntry) text() string {
	s, _, _ := bytes.Cut(e.value, []byte{0})
	return latin1(s)
}

// uint is the first value of a SHORT or LONG entry.
func (t *tiff) uint(e ifdEntry) (uint32, bool) {
	switch {
	case e.typ == 3 && len(e.value) >= 2:
		return uint32(t.order.Uint16(e.value)), true
	case e.typ == 4 && len(e.value) >= 4:
		return t.order.Uint32(e.value), true
	}
	return 0, false
}

// rationals are the values of a RATIONAL entry; false if one has a zero denominator.
func (t *tiff) rationals(e ifdEntry) ([]float64, bool) {
	if e.typ != 5 {
		return nil, false
	}
	var out []float64
	for i := 0; i+8 <= len(e.value) && len(out) < 4; i += 8 {
		num, den := t.order.Uint32(e.value[i:]), t.order.Uint32(e.value[i+4:])
		if den == 0 {
			return nil, false
		}
		out = append(out, float64(num)/float64(den))
	}
	return out, len(out) > 0
}

// windowsText decodes Windows' XP* tags: UTF-16, little-endian whatever the TIFF's order.
func windowsText(b []byte) string {
	b = b[:min(len(b), 32*maxText)]
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	s, _, _ := strings.Cut(string(utf16.Decode(u)), "\x00")
	return s
}

// userComment decodes EXIF's UserComment: an 8-byte name of its character code, then the text.
func (t *tiff) userComment(b []byte) string {
	if len(b) < 8 {
		return ""
	}
	code, text := string(b[:8]), b[8:]
	if code == "UNICODE\x00" {
		text = text[:min(len(text), 32*maxText)]
		u := make([]uint16, len(text)/2)
		for i := range u {
			u[i] = t.order.Uint16(text[2*i:])
		}
		return string(utf16.Decode(u))
	}
	s, _, _ := bytes.Cut(text, []byte{0})
	return latin1(s)
}

// tag describes one EXIF tag that can name or place a person.
type tag struct {
	what  What
	label string
}

var ifd0Tags = map[uint16]tag{
	0x010D: {Other, "document name"},
	0x010E: {Other, "description"},
	0x010F: {Device, "camera make"},
	0x0110: {Device, "camera model"},
	0x0131: {Software, "software"},
	0x0132: {Time, "changed"},
	0x013B: {Person, "artist"},
	0x013C: {Device, "computer"},
	0x8298: {Person, "copyright"},
	0xC62F: {Device, "camera serial number"},
}

var windowsTags = map[uint16]tag{
	0x9C9B: {Other, "title"},
	0x9C9C: {Other, "comment"},
	0x9C9D: {Person, "author"},
	0x9C9E: {Other, "keywords"},
	0x9C9F: {Other, "subject"},
}

var exifTags = map[uint16]tag{
	0x9003: {Time, "taken"},
	0x9004: {Time, "digitised"},
	0x9010: {Location, "time zone (UTC offset) of the last change"},
	0x9011: {Location, "time zone (UTC offset) where it was taken"},
	0x9012: {Location, "time zone (UTC offset) where it was digitised"},
	0xA420: {Other, "picture id"},
	0xA430: {Person, "camera owner"},
	0xA431: {Device, "camera serial number"},
	0xA433: {Device, "lens make"},
	0xA434: {Device, "lens model"},
	0xA435: {Device, "lens serial number"},
}

// Tags of the EXIF structure itself.
const (
	tagOrientation = 0x0112
	tagExifIFD     = 0x8769
	tagGPSIFD      = 0x8825
	tagThumbnail   = 0x0201
	tagUserComment = 0x9286
	tagMakerNote   = 0x927C
)

// readEXIF lists the hidden details of EXIF data (a TIFF structure, after JPEG's "Exif\0\0") and
// returns the picture's orientation (1, upright, when it has none). What lies outside the
// structure is skipped; a broken structure is itself listed, so that the staff know it is there.
func readEXIF(data []byte, in string, fs *findings) (orientation uint16) {
	orientation = 1
	t, off, err := newTIFF(data)
	if err != nil {
		fs.add(Other, "data keytool cannot read", fmt.Sprintf("%d bytes of EXIF", len(data)), in)
		return orientation
	}
	ifd0, next, err := t.ifd(off)
	if err != nil {
		fs.add(Other, "data keytool cannot read", fmt.Sprintf("%d bytes of EXIF", len(data)), in)
		return orientation
	}
	var exifOff, gpsOff uint32
	for _, e := range ifd0 {
		if tg, ok := ifd0Tags[e.tag]; ok && e.typ == 2 {
			fs.add(tg.what, tg.label, exifTime(e.text()), in)
		}
		if tg, ok := windowsTags[e.tag]; ok && e.typ == 1 {
			fs.add(tg.what, tg.label, windowsText(e.value), in)
		}
		switch e.tag {
		case tagOrientation:
			if v, ok := t.uint(e); ok && v >= 1 && v <= 8 {
				orientation = uint16(v)
			}
		case tagExifIFD:
			exifOff, _ = t.uint(e)
		case tagGPSIFD:
			gpsOff, _ = t.uint(e)
		}
	}
	if exifOff != 0 {
		entries, _, _ := t.ifd(exifOff)
		for _, e := range entries {
			if tg, ok := exifTags[e.tag]; ok && e.typ == 2 {
				fs.add(tg.what, tg.label, exifTime(e.text()), in)
			}
			switch e.tag {
			case tagUserComment:
				fs.add(Other, "comment", t.userComment(e.value), in)
			case tagMakerNote:
				fs.add(Device, "maker's notes", fmt.Sprintf("%d bytes of the camera maker's own data, which can hold a serial number", len(e.value)), in)
			}
		}
	}
	if gpsOff != 0 {
		entries, _, _ := t.ifd(gpsOff)
		t.gps(entries, in, fs)
	}
	if next != 0 {
		if ifd1, _, err := t.ifd(next); err == nil {
			for _, e := range ifd1 {
				if e.tag == tagThumbnail {
					fs.add(Other, "preview picture", "a small copy of the photo, which may show it as it was before it was cropped or edited", in)
				}
			}
		}
	}
	return orientation
}

// exifTime writes EXIF's "2026:05:01 12:34:56" as "2026-05-01 12:34:56"; other text is left.
func exifTime(s string) string {
	if len(s) >= 10 && s[4] == ':' && s[7] == ':' && strings.Trim(s[:4]+s[5:7]+s[8:10], "0123456789") == "" {
		return s[:4] + "-" + s[5:7] + "-" + s[8:]
	}
	return s
}

// gps lists the position, altitude, direction and time of an EXIF GPS directory.
func (t *tiff) gps(entries []ifdEntry, in string, fs *findings) {
	byTag := map[uint16]ifdEntry{}
	for _, e := range entries {
		byTag[e.tag] = e
	}
	ref := func(tag uint16) string { return strings.TrimSpace(byTag[tag].text()) }
	lat, latOK := t.degrees(byTag[0x0002])
	lon, lonOK := t.degrees(byTag[0x0004])
	if latOK && lonOK {
		fs.add(Location, "GPS position", position(lat, ref(0x0001), lon, ref(0x0003)), in)
	}
	if alt, ok := t.rationals(byTag[0x0006]); ok {
		below := len(byTag[0x0005].value) > 0 && byTag[0x0005].value[0] == 1
		s := fmt.Sprintf("%.0f m above sea level", alt[0])
		if below {
			s = fmt.Sprintf("%.0f m below sea level", alt[0])
		}
		fs.add(Location, "GPS altitude", s, in)
	}
	if dir, ok := t.rationals(byTag[0x0011]); ok {
		fs.add(Location, "direction the camera faced", fmt.Sprintf("%.0f°", dir[0]), in)
	}
	if hms, ok := t.rationals(byTag[0x0007]); ok && len(hms) == 3 {
		fs.add(Time, "GPS time", strings.TrimSpace(fmt.Sprintf("%s %02.0f:%02.0f:%02.0f UTC", exifTime(byTag[0x001D].text()), hms[0], hms[1], hms[2])), in)
	}
}

// degrees reads a GPS latitude or longitude: degrees, minutes and seconds as three rationals.
func (t *tiff) degrees(e ifdEntry) (float64, bool) {
	v, ok := t.rationals(e)
	if !ok || len(v) > 3 {
		return 0, false
	}
	d := 0.0
	for i, x := range v {
		d += x / math.Pow(60, float64(i))
	}
	return d, !math.IsInf(d, 0) && d <= 180
}

// position writes a place as decimal degrees with their hemispheres, as maps take it.
func position(lat float64, latRef string, lon float64, lonRef string) string {
	if latRef != "S" {
		latRef = "N"
	}
	if lonRef != "W" {
		lonRef = "E"
	}
	return fmt.Sprintf("%.6f %s, %.6f %s", lat, latRef, lon, lonRef)
}

// orientationTIFF is a TIFF structure holding only an orientation: what keytool clean writes in
// place of a photo's EXIF, so that a photo taken sideways still opens upright. It is built
// here from the number alone, and holds none of the original's bytes.
func orientationTIFF(orientation uint16) []byte {
	b := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // big-endian, IFD0 at offset 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, // Orientation, SHORT, 1 value
		0, 0, 0, 0} // no next IFD
	binary.BigEndian.PutUint16(b[18:], orientation)
	return b
}

// orientationWords says what an orientation asks a viewer to do.
func orientationWords(o uint16) string {
	return [...]string{"", "upright", "mirrored", "turned 180°", "mirrored upside down", "mirrored and turned 90° anticlockwise", "turned 90° clockwise", "mirrored and turned 90° clockwise", "turned 90° anticlockwise"}[o]
}
