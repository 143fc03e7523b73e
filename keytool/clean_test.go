package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/submission"
	"github.com/safe-complaints/dropbox/keytool/metadata"
	"github.com/safe-complaints/dropbox/keytool/metadata/metadatatest"
)

// withAttachments is a submission for ana carrying the given files, encrypted as the drop box
// stores it.
func withAttachments(t *testing.T, ana policytest.Key, files map[string][]byte) []byte {
	t.Helper()
	sub := &submission.Submission{
		Procedure: "kok-complaints", Lang: "en",
		Fields: []submission.Field{{Name: "what-happened", Label: "What happened?", Value: "Photos of the flat attached."}},
	}
	var bodies []io.Reader
	for _, name := range []string{"IMG_2041.jpg", "drawing.png", "letter.pdf", "notes.txt"} {
		sub.Attachments = append(sub.Attachments, submission.NewAttachment(name, "", files[name]))
		bodies = append(bodies, bytes.NewReader(files[name]))
	}
	var plain bytes.Buffer
	if err := submission.Write(&plain, sub, bodies); err != nil {
		t.Fatal(err)
	}
	return policytest.Encrypt(t, plain.Bytes(), ana)
}

// noHiddenDetails checks a cleaned copy both ways: the reader finds nothing in it, and none of
// the planted strings is in its bytes.
func noHiddenDetails(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := metadata.Read(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, f := range r.Findings {
		if r.Format != metadata.PDF || !metadata.KeptByClean(f) {
			t.Errorf("%s still has %s", path, f)
		}
	}
	for _, s := range metadatatest.Strings {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("%s still holds the bytes of %q", path, s)
		}
	}
	return data
}

// TestDecryptListsHiddenDetailsAndCleanRemovesThem decrypts a real submission with a photo, a
// drawing, a PDF and a text file, reads what summary.txt says of each, and cleans the photo with
// the command summary.txt gives.
func TestDecryptListsHiddenDetailsAndCleanRemovesThem(t *testing.T) {
	staff, _ := policytest.Staff(t)
	ana := staff[0]
	dir := t.TempDir()
	in, out := filepath.Join(dir, "spool"), filepath.Join(dir, "cases")
	photo := metadatatest.JPEG(t, 6)
	files := map[string][]byte{
		"IMG_2041.jpg": photo,
		"drawing.png":  metadatatest.PNG(t, 1),
		"letter.pdf":   metadatatest.PDF(metadatatest.JPEG(t, 1)),
		"notes.txt":    []byte("Monday: the landlord came.\n"),
	}
	const id = "0123456789abcdef0123456789abcdef"
	writeFiles(t, map[string][]byte{filepath.Join(in, id+".pgp"): withAttachments(t, ana, files)})
	if _, _, err := keytool("decrypt", "--key", ana.KeyPath, "--passphrase-file", ana.PassPath, "--in", in, "--out", out); err != nil {
		t.Fatal(err)
	}
	summary, err := os.ReadFile(filepath.Join(out, id, "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	attachment := func(name string) string { // summary.txt's part on one attachment
		s := string(summary)
		start := strings.Index(s, "\n    "+name+"\n")
		if start < 0 {
			t.Fatalf("summary.txt does not list %s:\n%s", name, s)
		}
		end := strings.Index(s[start+1:], "\n    0")
		if end < 0 {
			return s[start:]
		}
		return s[start : start+1+end]
	}
	for name, want := range map[string][]string{
		"01-IMG_2041.jpg": {
			"Hidden details in this JPEG file, not shown when it is opened:",
			"location  GPS position: 52.520833 N, 13.409444 E  [EXIF]",
			"device    camera model: " + metadatatest.Model + "  [EXIF]",
			"device    camera serial number: " + metadatatest.Serial + "  [EXIF]",
			"person    artist: " + metadatatest.Artist + "  [EXIF]",
			"time      taken: 2026-05-01 12:34:56  [EXIF]",
			"software  software: " + metadatatest.Software + "  [EXIF]",
			"person    by-line (author): " + metadatatest.IPTCByline + "  [IPTC]",
			"person    creator: " + metadatatest.XMPCreator + "  [XMP]",
			"copy without them: keytool clean attachments/01-IMG_2041.jpg (in this case folder)",
		},
		"02-drawing.png": {
			"person    author: " + metadatatest.PNGAuthor + "  [PNG text (tEXt)]",
			"location  GPS position: 52.520833 N, 13.409444 E  [EXIF (PNG eXIf)]",
			"time      changed: 2026-05-01 12:34:56 UTC  [PNG tIME]",
			"keytool clean attachments/02-drawing.png",
		},
		"03-letter.pdf": {
			"person    author: " + metadatatest.PDFAuthor + "  [PDF document information]",
			"software  made with: " + metadatatest.PDFCreator + "  [PDF document information]",
			"person    creator: " + metadatatest.PDFXMPAuthor + "  [XMP (PDF)]",
			"person    author of a comment: " + metadatatest.PDFComment + "  [PDF comment]",
			"location  GPS position: 52.520833 N, 13.409444 E  [a picture inside the PDF: EXIF]",
			"keytool clean attachments/03-letter.pdf",
		},
		"04-notes.txt": {"Hidden details: not read; keytool reads them in JPEG, PNG and PDF files"},
	} {
		part := attachment(name)
		for _, w := range want {
			if !strings.Contains(part, w) {
				t.Errorf("summary.txt on %s does not say %q:\n%s", name, w, part)
			}
		}
	}

	// The command summary.txt gives, run in the case folder.
	caseDir := filepath.Join(out, id)
	wd, _ := os.Getwd()
	if err := os.Chdir(caseDir); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := keytool("clean", "attachments/01-IMG_2041.jpg")
	os.Chdir(wd)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "Wrote attachments/01-IMG_2041.clean.jpg") {
		t.Errorf("keytool clean says:\n%s", stdout)
	}
	cleaned := noHiddenDetails(t, filepath.Join(caseDir, "attachments", "01-IMG_2041.clean.jpg"))
	metadatatest.SamePixels(t, photo, cleaned)
	if !bytes.Equal(metadatatest.ScanData(t, photo), metadatatest.ScanData(t, cleaned)) {
		t.Error("the compressed picture changed")
	}
}

func TestCleanWritesACopyWithoutHiddenDetails(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, copy string
		data       []byte
		says       []string
	}{
		{"IMG_2041.JPG", "IMG_2041.clean.JPG", metadatatest.JPEG(t, 6), []string{
			"IMG_2041.JPG (JPEG)\nHidden details found, none of them in the copy:\n",
			"    location  GPS position: 52.520833 N, 13.409444 E  [EXIF]\n",
			"Removed:\n    EXIF (APP1), ",
			"    comment (COM), ",
			"    25 bytes after the end of the picture\n",
			"Kept:\n    the JFIF header (APP0)\n    the colour profile (ICC, APP2)\n    the orientation (shown turned 90° clockwise), in a new EXIF that holds nothing else\n    the compressed picture, byte for byte\n",
		}},
		{"drawing.png", "drawing.clean.png", metadatatest.PNG(t, 1), []string{
			"    person    author: " + metadatatest.PNGAuthor + "  [PNG text (tEXt)]\n",
			"    text \"Author\" (tEXt), ",
			"    the time it was last changed (tIME), ",
			"Kept:\n    the colour information (sRGB)\n    the compressed picture, byte for byte\n",
		}},
		{"letter.pdf", "letter.clean.pdf", metadatatest.PDF(metadatatest.JPEG(t, 1)), []string{
			"    person    author: " + metadatatest.PDFAuthor + "  [PDF document information]\n",
			"Removed:\n    the document information (Author, CreationDate, Creator, ModDate, Producer, Title)\n    1 × XMP packet\n    1 × comment author's name\n",
			"Not changed, look for yourself:\n    what the pages show",
		}},
		{"scan.jpg", "scan.clean.png", metadatatest.PNG(t, 1), []string{"scan.jpg (PNG)\n"}}, // a PNG named .jpg
		{"plain.jpg", "plain.clean.jpg", metadatatest.EncodeJPEG(t, metadatatest.Picture()), []string{"Hidden details found: none that keytool knows\n"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			writeFiles(t, map[string][]byte{path: c.data})
			stdout, _, err := keytool("clean", path)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range append(c.says, "Wrote "+filepath.Join(dir, c.copy)+" (") {
				if !strings.Contains(stdout, s) {
					t.Errorf("keytool clean does not say %q:\n%s", s, stdout)
				}
			}
			noHiddenDetails(t, filepath.Join(dir, c.copy))
			if fi, err := os.Stat(filepath.Join(dir, c.copy)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("the copy: %v, %v; want mode 0600", fi.Mode(), err)
			}
			if c.data[0] != '%' {
				copied, _ := os.ReadFile(filepath.Join(dir, c.copy))
				metadatatest.SamePixels(t, c.data, copied)
			}
		})
	}
}

func TestCleanNeverOverwritesAndRefusesWhatItCannotClean(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(dir, "photo.jpg")
	writeFiles(t, map[string][]byte{
		photo:                                 metadatatest.JPEG(t, 1),
		filepath.Join(dir, "photo.clean.jpg"): []byte("staff notes"),
		filepath.Join(dir, "contract.docx"):   []byte("PK\x03\x04 an office document"),
		filepath.Join(dir, "locked.pdf"):      encryptedPDF(t),
		filepath.Join(dir, "broken.jpg"):      []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x'},
	})
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"an existing copy", []string{photo}, "photo.clean.jpg exists, and keytool clean never writes over a file: remove it, or name another with --out; nothing was written"},
		{"--out the original", []string{photo, "--out", photo}, "photo.jpg exists, and keytool clean never writes over a file"},
		{"an office document", []string{filepath.Join(dir, "contract.docx")}, "contract.docx is not a JPEG, PNG or PDF file (keytool tells by the content, not the name), and keytool clean changes only those: save it as one of them"},
		{"an encrypted PDF", []string{filepath.Join(dir, "locked.pdf")}, "the PDF is encrypted (it has a password, or limits what may be done with it), and keytool clean does not change encrypted PDFs; nothing was written: ask the sender for an unprotected copy, or pass on a printout"},
		{"a broken JPEG", []string{filepath.Join(dir, "broken.jpg")}, "broken.jpg: a JPEG segment at byte 2 is longer than the file; nothing was written"},
		{"a folder", []string{dir}, "is not a file"},
		{"no file", []string{filepath.Join(dir, "missing.jpg")}, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, _ := os.ReadDir(dir)
			_, _, err := keytool(append([]string{"clean"}, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v; want one saying %q", err, c.want)
			}
			if after, _ := os.ReadDir(dir); len(after) != len(before) {
				t.Errorf("a refused clean wrote a file: %d entries, then %d", len(before), len(after))
			}
		})
	}
	if notes, _ := os.ReadFile(filepath.Join(dir, "photo.clean.jpg")); string(notes) != "staff notes" {
		t.Error("the existing file was changed")
	}

	// --out names the copy; the original stays as it was.
	original, _ := os.ReadFile(photo)
	copyPath := filepath.Join(dir, "for-the-employer.jpg")
	if _, _, err := keytool("clean", photo, "--out", copyPath); err != nil {
		t.Fatal(err)
	}
	noHiddenDetails(t, copyPath)
	if now, _ := os.ReadFile(photo); !bytes.Equal(now, original) {
		t.Error("keytool clean changed the original")
	}
}

// encryptedPDF is a PDF with an owner password only (it opens without one, but limits what may
// be done with it), as pdfcpu encrypts it.
func encryptedPDF(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	conf := model.NewAESConfiguration("", "owner secret", 256)
	if err := api.Encrypt(bytes.NewReader(metadatatest.PDF(nil)), &out, conf); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
