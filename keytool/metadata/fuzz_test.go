package metadata

import (
	"bytes"
	"testing"

	"github.com/safe-complaints/dropbox/keytool/metadata/metadatatest"
)

// seeds are files of each kind with every planted detail, for the fuzzers to change.
func seeds(f *testing.F) {
	picture := metadatatest.JPEG(f, 6)
	f.Add(picture)
	f.Add(metadatatest.PNG(f, 3))
	f.Add(metadatatest.PDF(nil))
	f.Add(append([]byte{0xFF, 0xD8}, metadatatest.Segment(0xE1, append([]byte("Exif\x00\x00"), metadatatest.EXIF(1)...))...))
	f.Add(append([]byte{0xFF, 0xD8}, metadatatest.Segment(0xED, metadatatest.IPTC())...))
}

// FuzzRead: whatever the bytes, Read returns, without a panic, and lists a bounded number of
// one-line, printable findings.
func FuzzRead(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _ := Read(data)
		if len(r.Findings) > maxFindings {
			t.Fatalf("%d findings", len(r.Findings))
		}
		for _, x := range r.Findings {
			if x.Value != Text(x.Value) {
				t.Fatalf("a value that is not one printable line: %q", x.Value)
			}
		}
	})
}

// FuzzClean: whatever the bytes, Clean returns without a panic, and what it returns as cleaned
// has no hidden detail left, and a JPEG or PNG keeps its compressed picture.
func FuzzClean(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Clean(data)
		if err != nil {
			return
		}
		r, err := Read(c.Data)
		if err != nil {
			t.Fatalf("the cleaned copy cannot be read: %v", err)
		}
		for _, x := range r.Findings {
			if c.Format != PDF || !KeptByClean(x) {
				t.Fatalf("the cleaned copy still has %s", x)
			}
		}
		if c.Format == PNG && !bytes.Equal(idat(t, data), idat(t, c.Data)) {
			t.Fatal("the PNG's compressed picture changed")
		}
	})
}
