package metadata

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"time"
)

// A PNG file is its signature and then chunks: a four-byte length, a four-letter type, the data
// and a CRC. The hidden details live in the text chunks (tEXt, zTXt, iTXt, XMP among them), the
// eXIf chunk and tIME.

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngChunk is one chunk of a PNG file.
type pngChunk struct {
	typ   string
	bytes []byte // the whole chunk as it is in the file, length and CRC included
	data  []byte
}

// walkPNG calls chunk for each chunk of data in order and returns what follows IEND. A file
// that stops without IEND ends the walk there.
func walkPNG(data []byte, chunk func(pngChunk) error) (trailing []byte, err error) {
	if !bytes.HasPrefix(data, pngSignature) {
		return nil, errors.New("not a PNG file")
	}
	pos := len(pngSignature)
	for pos < len(data) {
		if pos+12 > len(data) {
			return nil, fmt.Errorf("a PNG chunk at byte %d is cut off", pos)
		}
		n := uint64(binary.BigEndian.Uint32(data[pos:]))
		typ := data[pos+4 : pos+8]
		for _, c := range typ {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return nil, fmt.Errorf("the PNG structure breaks at byte %d", pos)
			}
		}
		end := uint64(pos) + 12 + n
		if end > uint64(len(data)) {
			return nil, fmt.Errorf("a PNG chunk at byte %d is longer than the file", pos)
		}
		c := pngChunk{typ: string(typ), bytes: data[pos:end], data: data[pos+8 : end-4]}
		if err := chunk(c); err != nil {
			return nil, err
		}
		pos = int(end)
		if c.typ == "IEND" {
			return data[pos:], nil
		}
	}
	return nil, nil
}

// pngTextTags are the keywords PNG defines for its text chunks, and what they tell.
var pngTextTags = map[string]tag{
	"Author":        {Person, "author"},
	"Copyright":     {Person, "copyright"},
	"Creation Time": {Time, "made"},
	"Software":      {Software, "software"},
	"Source":        {Device, "device"},
}

// maxInflated bounds what a compressed text chunk may expand to; past it, the rest is not read.
const (
	maxInflated    = 64 << 10
	maxInflatedXMP = 1 << 20
)

// readPNG lists the hidden details of a PNG file.
func readPNG(data []byte, fs *findings) error {
	trailing, err := walkPNG(data, func(c pngChunk) error {
		switch c.typ {
		case "tEXt", "zTXt", "iTXt":
			readPNGText(c, fs)
		case "eXIf":
			readEXIF(c.data, "EXIF (PNG eXIf)", fs)
		case "tIME":
			if len(c.data) == 7 {
				d := c.data
				t := time.Date(int(binary.BigEndian.Uint16(d)), time.Month(d[2]), int(d[3]), int(d[4]), int(d[5]), int(d[6]), 0, time.UTC)
				fs.add(Time, "changed", t.Format("2006-01-02 15:04:05 UTC"), "PNG tIME")
			}
		default:
			if !keptPNG(c.typ) {
				fs.add(Other, "other data", fmt.Sprintf("a %q chunk, %d bytes", c.typ, len(c.data)), "PNG")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(bytes.Trim(trailing, "\x00")) > 0 {
		fs.add(Other, "data after the end of the picture", fmt.Sprintf("%d bytes", len(trailing)), "PNG")
	}
	return nil
}

// readPNGText lists a text chunk: a keyword, a zero byte, and the text, which zTXt compresses
// and iTXt may compress, after a language tag and a translated keyword.
func readPNGText(c pngChunk, fs *findings) {
	key, rest, ok := bytes.Cut(c.data, []byte{0})
	if !ok {
		return
	}
	keyword := latin1(key)
	in := "PNG text (" + c.typ + ")"
	var text []byte
	limit := int64(maxInflated)
	if keyword == "XML:com.adobe.xmp" {
		limit = maxInflatedXMP
	}
	switch c.typ {
	case "tEXt":
		text = rest
	case "zTXt":
		if len(rest) < 1 {
			return
		}
		text = inflate(rest[1:], limit)
	case "iTXt":
		if len(rest) < 2 {
			return
		}
		compressed := rest[0] == 1
		parts := bytes.SplitN(rest[2:], []byte{0}, 3) // language tag, translated keyword, text
		if len(parts) != 3 {
			return
		}
		text = parts[2]
		if compressed {
			text = inflate(text, limit)
		}
	}
	switch {
	case keyword == "XML:com.adobe.xmp":
		readXMP(text, "XMP (PNG iTXt)", fs)
	case strings.HasPrefix(keyword, "Raw profile type "):
		readRawProfile(strings.TrimPrefix(keyword, "Raw profile type "), text, in, fs)
	default:
		tg, ok := pngTextTags[keyword]
		if !ok {
			tg = tag{Other, "text " + fmt.Sprintf("%q", Text(keyword))}
		}
		fs.add(tg.what, tg.label, latin1(text), in)
	}
}

// readRawProfile reads what ImageMagick keeps in a text chunk: a profile (EXIF, XMP, IPTC) as
// hexadecimal digits after a line with its name and one with its length.
func readRawProfile(kind string, text []byte, in string, fs *findings) {
	lines := bytes.SplitN(bytes.TrimLeft(text, "\n"), []byte("\n"), 3)
	if len(lines) != 3 {
		return
	}
	digits := bytes.Map(func(r rune) rune {
		if strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return r
		}
		return -1
	}, lines[2])
	raw := make([]byte, len(digits)/2)
	if _, err := hex.Decode(raw, digits[:len(raw)*2]); err != nil {
		return
	}
	switch kind {
	case "exif", "APP1":
		readEXIF(bytes.TrimPrefix(raw, exifHeader), "EXIF (PNG text)", fs)
	case "xmp":
		readXMP(raw, "XMP (PNG text)", fs)
	case "iptc", "8bim":
		readIRB(raw, "IPTC (PNG text)", fs)
	default:
		fs.add(Other, "profile", fmt.Sprintf("%q, %d bytes", Text(kind), len(raw)), in)
	}
}

// inflate decompresses zlib data, at most limit bytes of it: what a compressed chunk holds
// beyond that is not read, so a small chunk cannot make keytool fill memory.
func inflate(b []byte, limit int64) []byte {
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	defer r.Close()
	out, _ := io.ReadAll(io.LimitReader(r, limit))
	return out
}

// keptPNG tells the chunks keytool clean keeps: the critical ones, which decoding needs (any
// whose type starts with a capital letter), and the ancillary ones about colour, transparency,
// pixel size and animation. Text, eXIf, tIME and anything else are left out.
func keptPNG(typ string) bool {
	if typ[0] >= 'A' && typ[0] <= 'Z' {
		return true
	}
	switch typ {
	case "tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "cICP", "mDCv", "cLLi", "pHYs", "bKGD", "acTL", "fcTL", "fdAT":
		return true
	}
	return false
}

// cleanPNG copies the chunks the picture needs, byte for byte, and leaves out the others and
// whatever follows IEND. An orientation other than upright is kept, in a new eXIf chunk holding
// nothing else.
func cleanPNG(data []byte, c *Cleaned) error {
	var orientation uint16 = 1
	var ignore findings
	if _, err := walkPNG(data, func(ch pngChunk) error {
		if ch.typ == "eXIf" && orientation == 1 {
			orientation = readEXIF(ch.data, "", &ignore)
		}
		return nil
	}); err != nil {
		return err
	}
	var out bytes.Buffer
	out.Grow(len(data))
	out.Write(pngSignature)
	var kept []string
	trailing, err := walkPNG(data, func(ch pngChunk) error {
		if !keptPNG(ch.typ) {
			c.Removed = append(c.Removed, fmt.Sprintf("%s, %d bytes", describePNG(ch), len(ch.bytes)))
			return nil
		}
		out.Write(ch.bytes)
		if slices.Contains(colourChunks, ch.typ) {
			kept = append(kept, "the colour information ("+ch.typ+")")
		}
		if ch.typ == "IHDR" && orientation != 1 {
			writePNGChunk(&out, "eXIf", orientationTIFF(orientation))
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.finishPicture(out.Bytes(), trailing, kept, orientation, "eXIf chunk")
	return nil
}

// colourChunks are the kept chunks keytool clean names, as what makes the colours right.
var colourChunks = []string{"iCCP", "sRGB", "gAMA", "cHRM", "cICP"}

func describePNG(ch pngChunk) string {
	switch ch.typ {
	case "tEXt", "zTXt", "iTXt":
		key, _, _ := bytes.Cut(ch.data, []byte{0})
		return fmt.Sprintf("text %q (%s)", Text(latin1(key)), ch.typ)
	case "eXIf":
		return "EXIF (eXIf)"
	case "tIME":
		return "the time it was last changed (tIME)"
	}
	return fmt.Sprintf("other data (%s)", ch.typ)
}

func writePNGChunk(w *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}
