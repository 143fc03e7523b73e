package metadata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// A JPEG file is a list of marker segments (0xFF, a marker byte, a two-byte length, a payload),
// with the compressed picture after each SOS segment running until the next marker. The hidden
// details live in APPn segments (EXIF and XMP in APP1, IPTC in APP13) and in COM.

const (
	markerSOI   = 0xD8
	markerEOI   = 0xD9
	markerSOS   = 0xDA
	markerAPP0  = 0xE0
	markerAPP1  = 0xE1
	markerAPP2  = 0xE2
	markerCOM   = 0xFE
	markerAPP14 = 0xEE
	markerAPP13 = 0xED
)

var (
	exifHeader  = []byte("Exif\x00\x00")
	xmpHeader   = []byte("http://ns.adobe.com/xap/1.0/\x00")
	xmpExtended = []byte("http://ns.adobe.com/xmp/extension/\x00")
	irbHeader   = []byte("Photoshop 3.0\x00")
	jfifHeader  = []byte("JFIF\x00")
	iccHeader   = []byte("ICC_PROFILE\x00")
	adobeHeader = []byte("Adobe")
)

// jpegPart is one part of a JPEG file: a marker segment, or the compressed data of a scan
// (marker 0).
type jpegPart struct {
	marker  byte
	bytes   []byte // the whole part as it is in the file
	payload []byte // a segment's bytes after its length
}

// walkJPEG calls part for each part of data in order and returns what follows the end marker
// (EOI). A file that stops before EOI ends the walk there, as viewers show such a picture.
func walkJPEG(data []byte, part func(jpegPart) error) (trailing []byte, err error) {
	if !bytes.HasPrefix(data, []byte{0xFF, markerSOI}) {
		return nil, errors.New("not a JPEG file")
	}
	if err := part(jpegPart{marker: markerSOI, bytes: data[:2]}); err != nil {
		return nil, err
	}
	pos := 2
	for pos < len(data) {
		if data[pos] != 0xFF {
			return nil, fmt.Errorf("the JPEG structure breaks at byte %d", pos)
		}
		start := pos
		for pos+1 < len(data) && data[pos+1] == 0xFF { // fill bytes before a marker
			pos++
		}
		if pos+1 >= len(data) {
			return nil, nil
		}
		marker := data[pos+1]
		pos += 2
		switch {
		case marker == markerEOI:
			if err := part(jpegPart{marker: marker, bytes: data[start:pos]}); err != nil {
				return nil, err
			}
			return data[pos:], nil
		case marker == 0 || marker == markerSOI:
			return nil, fmt.Errorf("the JPEG structure breaks at byte %d", start)
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD7: // TEM and RSTn have no length
			if err := part(jpegPart{marker: marker, bytes: data[start:pos]}); err != nil {
				return nil, err
			}
			continue
		}
		if pos+2 > len(data) {
			return nil, nil
		}
		length := int(binary.BigEndian.Uint16(data[pos:]))
		if length < 2 || pos+length > len(data) {
			return nil, fmt.Errorf("a JPEG segment at byte %d is longer than the file", start)
		}
		payload := data[pos+2 : pos+length]
		pos += length
		if err := part(jpegPart{marker: marker, bytes: data[start:pos], payload: payload}); err != nil {
			return nil, err
		}
		if marker == markerSOS {
			end := scanEnd(data, pos)
			if err := part(jpegPart{bytes: data[pos:end]}); err != nil {
				return nil, err
			}
			pos = end
		}
	}
	return nil, nil
}

// scanEnd finds where the compressed data that starts at pos ends: at the next 0xFF that is
// neither a stuffed 0xFF00 nor a restart marker (which belong to the data), or at the end.
func scanEnd(data []byte, pos int) int {
	for {
		i := bytes.IndexByte(data[pos:], 0xFF)
		if i < 0 {
			return len(data)
		}
		pos += i
		next := pos + 1
		for next < len(data) && data[next] == 0xFF {
			next++
		}
		if next >= len(data) {
			return len(data)
		}
		if m := data[next]; m == 0 || m >= 0xD0 && m <= 0xD7 {
			pos = next + 1
			continue
		}
		return pos
	}
}

// maxNested bounds how deep pictures inside pictures are read: a phone's photo may carry a
// second picture after its end (a depth map, a larger preview), which may carry another.
const maxNested = 3

// readJPEG lists the hidden details of a JPEG file; in names the picture it is part of, if any.
func readJPEG(data []byte, in string, depth int, fs *findings) error {
	trailing, err := walkJPEG(data, func(p jpegPart) error {
		readJPEGSegment(p, in, fs)
		return nil
	})
	if err != nil {
		return err
	}
	if len(bytes.Trim(trailing, "\x00")) == 0 {
		return nil
	}
	fs.add(Other, "data after the end of the picture", fmt.Sprintf("%d bytes, such as a second picture or the phone's own data", len(trailing)), in+"JPEG")
	if depth < maxNested && Detect(trailing) == JPEG {
		readJPEG(trailing, in+"second picture: ", depth+1, fs)
	}
	return nil
}

func readJPEGSegment(p jpegPart, in string, fs *findings) {
	b := p.payload
	switch {
	case p.marker == markerAPP1 && bytes.HasPrefix(b, exifHeader):
		readEXIF(b[len(exifHeader):], in+"EXIF", fs)
	case p.marker == markerAPP1 && bytes.HasPrefix(b, xmpHeader):
		readXMP(b[len(xmpHeader):], in+"XMP", fs)
	case p.marker == markerAPP1 && bytes.HasPrefix(b, xmpExtended):
		fs.add(Other, "more XMP", fmt.Sprintf("%d bytes of a larger XMP, which keytool does not read", len(b)), in+"XMP")
	case p.marker == markerAPP13 && bytes.HasPrefix(b, irbHeader):
		readIRB(b[len(irbHeader):], in+"IPTC", fs)
	case p.marker == markerCOM:
		fs.add(Other, "comment", latin1(b), in+"JPEG comment")
	case p.marker == markerAPP0 && bytes.HasPrefix(b, []byte("JFXX\x00")):
		fs.add(Other, "preview picture", "a small copy of the picture (JFIF extension)", in+"JPEG")
	case keptJPEG(p):
	case p.marker >= markerAPP0 && p.marker <= 0xEF:
		fs.add(Other, fmt.Sprintf("application data (APP%d)", p.marker-markerAPP0), fmt.Sprintf("%q, %d bytes", appName(b), len(b)), in+"JPEG")
	}
}

// keptJPEG tells the segments keytool clean keeps: all but APPn and COM, and of these the ones
// that decoding or colour needs (JFIF, the ICC colour profile, Adobe's colour transform).
func keptJPEG(p jpegPart) bool {
	switch p.marker {
	case markerAPP0:
		return bytes.HasPrefix(p.payload, jfifHeader)
	case markerAPP2:
		return bytes.HasPrefix(p.payload, iccHeader)
	case markerAPP14:
		return bytes.HasPrefix(p.payload, adobeHeader)
	case markerCOM:
		return false
	}
	return p.marker < markerAPP0 || p.marker > 0xEF
}

// appName is the identifier an APPn segment starts with, as far as it is printable.
func appName(b []byte) string {
	for i, c := range b[:min(len(b), 32)] {
		if c < 0x20 || c > 0x7E {
			return string(b[:i])
		}
	}
	return string(b[:min(len(b), 32)])
}

// describeJPEG names a segment that keytool clean removes, in plain words.
func describeJPEG(p jpegPart) string {
	b := p.payload
	var what string
	switch {
	case p.marker == markerAPP1 && bytes.HasPrefix(b, exifHeader):
		what = "EXIF (APP1)"
	case p.marker == markerAPP1 && (bytes.HasPrefix(b, xmpHeader) || bytes.HasPrefix(b, xmpExtended)):
		what = "XMP (APP1)"
	case p.marker == markerAPP13:
		what = "IPTC and Photoshop data (APP13)"
	case p.marker == markerCOM:
		what = "comment (COM)"
	default:
		what = fmt.Sprintf("application data %q (APP%d)", appName(b), p.marker-markerAPP0)
	}
	return fmt.Sprintf("%s, %d bytes", what, len(p.bytes))
}

// cleanJPEG copies the segments the picture needs, byte for byte, and leaves out the others and
// whatever follows the end of the picture. An orientation other than upright is kept, in a new
// EXIF holding nothing else.
func cleanJPEG(data []byte, c *Cleaned) error {
	var orientation uint16 = 1
	var ignore findings
	if _, err := walkJPEG(data, func(p jpegPart) error {
		if p.marker == markerAPP1 && bytes.HasPrefix(p.payload, exifHeader) && orientation == 1 {
			orientation = readEXIF(p.payload[len(exifHeader):], "", &ignore)
		}
		return nil
	}); err != nil {
		return err
	}
	var out bytes.Buffer
	out.Grow(len(data))
	var kept []string
	trailing, err := walkJPEG(data, func(p jpegPart) error {
		if !keptJPEG(p) {
			c.Removed = append(c.Removed, describeJPEG(p))
			return nil
		}
		out.Write(p.bytes)
		switch p.marker {
		case markerAPP0:
			kept = append(kept, "the JFIF header (APP0)")
		case markerAPP2:
			kept = append(kept, "the colour profile (ICC, APP2)")
		case markerAPP14:
			kept = append(kept, "Adobe's colour information (APP14)")
		}
		// The orientation goes after SOI and a JFIF header right behind it, where viewers look.
		if orientation != 1 && (p.marker == markerSOI || p.marker == markerAPP0 && out.Len() == 2+len(p.bytes)) {
			if p.marker == markerSOI && jfifNext(data) {
				return nil
			}
			seg := append(append([]byte{}, exifHeader...), orientationTIFF(orientation)...)
			out.Write([]byte{0xFF, markerAPP1, 0, byte(len(seg) + 2)})
			out.Write(seg)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.finishPicture(out.Bytes(), trailing, kept, orientation, "EXIF")
	return nil
}

// finishPicture records what cleaning a JPEG or PNG left out after the picture's end and what it
// kept: the parts named, each once, the orientation in a new EXIF of its own, and the picture.
func (c *Cleaned) finishPicture(data, trailing []byte, kept []string, orientation uint16, exif string) {
	if len(trailing) > 0 {
		c.Removed = append(c.Removed, fmt.Sprintf("%d bytes after the end of the picture", len(trailing)))
	}
	for i, k := range kept {
		if !slices.Contains(kept[:i], k) {
			c.Kept = append(c.Kept, k)
		}
	}
	if orientation != 1 {
		c.Kept = append(c.Kept, "the orientation (shown "+orientationWords(orientation)+"), in a new "+exif+" that holds nothing else")
	}
	c.Kept = append(c.Kept, "the compressed picture, byte for byte")
	c.Data = data
}

// jfifNext tells whether a JFIF APP0 segment follows the start of the file.
func jfifNext(data []byte) bool {
	return len(data) >= 6+len(jfifHeader) && data[2] == 0xFF && data[3] == markerAPP0 && bytes.HasPrefix(data[6:], jfifHeader)
}
