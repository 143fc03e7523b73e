package metadata

import (
	"bytes"
	"encoding/binary"
)

// readIRB lists the hidden details of Photoshop's image resources (JPEG's APP13 after
// "Photoshop 3.0\0"): IPTC, XMP, EXIF and a thumbnail may each be one of them. Each resource is
// a signature, a two-byte id, a padded name and a padded, four-byte length.
func readIRB(b []byte, in string, fs *findings) {
	for len(b) >= 12 {
		switch string(b[:4]) {
		case "8BIM", "MeSa", "PHUT", "AgHg", "DCSR":
		default:
			return
		}
		id := binary.BigEndian.Uint16(b[4:])
		p := 6 + int(b[6]) + 1
		p += p % 2
		if p+4 > len(b) {
			return
		}
		size := uint64(binary.BigEndian.Uint32(b[p:]))
		p += 4
		if uint64(p)+size > uint64(len(b)) {
			return
		}
		res := b[p : p+int(size)]
		switch id {
		case 0x0404:
			readIPTC(res, in, fs)
		case 0x0424:
			readXMP(res, "XMP (in Photoshop data)", fs)
		case 0x0422, 0x0423:
			readEXIF(res, "EXIF (in Photoshop data)", fs)
		case 0x0409, 0x040C:
			fs.add(Other, "preview picture", "a small copy of the picture (Photoshop thumbnail)", in)
		}
		p += int(size) + int(size%2)
		b = b[min(p, len(b)):]
	}
}

// iptcTags are the IPTC datasets of record 2 (the application record) that can name or place a
// person.
var iptcTags = map[byte]tag{
	5:   {Other, "title"},
	25:  {Other, "keywords"},
	55:  {Time, "made (date)"},
	60:  {Time, "made (time)"},
	62:  {Time, "digitised (date)"},
	65:  {Software, "software"},
	80:  {Person, "by-line (author)"},
	85:  {Person, "author's position"},
	90:  {Location, "city"},
	92:  {Location, "place"},
	95:  {Location, "state or region"},
	100: {Location, "country code"},
	101: {Location, "country"},
	110: {Person, "credit"},
	115: {Person, "source"},
	116: {Person, "copyright"},
	118: {Person, "contact"},
	120: {Other, "caption"},
	122: {Person, "caption writer"},
}

// readIPTC lists the hidden details of IPTC-IIM datasets: each a 0x1C tag, a record and a
// dataset number, and a length (two bytes, or for long values that many bytes more).
func readIPTC(b []byte, in string, fs *findings) {
	for len(b) >= 5 && b[0] == 0x1C {
		record, dataset := b[1], b[2]
		n := uint64(binary.BigEndian.Uint16(b[3:]))
		head := uint64(5)
		if n&0x8000 != 0 {
			count := n & 0x7FFF
			if count == 0 || count > 4 || 5+count > uint64(len(b)) {
				return
			}
			n = 0
			for _, c := range b[5 : 5+count] {
				n = n<<8 | uint64(c)
			}
			head += count
		}
		if head+n > uint64(len(b)) {
			fs.add(Other, "data keytool cannot read", "IPTC that is longer than its segment", in)
			return
		}
		value := b[head : head+n]
		if tg, ok := iptcTags[dataset]; ok && record == 2 {
			fs.add(tg.what, tg.label, latin1(bytes.TrimRight(value, "\x00")), in)
		}
		b = b[head+n:]
	}
}
