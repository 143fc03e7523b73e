package metadata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// PDF files are read and written with pdfcpu: a PDF is a graph of objects with a cross-reference
// table, compressed streams, object streams and incremental updates, too much to follow safely
// by hand. What this file adds is which objects hold hidden details.

func init() {
	// pdfcpu would otherwise write its configuration, fonts and certificates into the user's
	// configuration folder on first use: keytool writes nothing outside the files it is given.
	api.DisableConfigDir()
}

// ErrEncrypted is returned by Clean for an encrypted PDF, which it does not change.
var ErrEncrypted = errors.New("the PDF is encrypted (it has a password, or limits what may be done with it), and keytool clean does not change encrypted PDFs")

func pdfConfig() *model.Configuration {
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.Offline = true
	conf.Optimize = false
	conf.Limits.MaxDecodeBytes = 64 << 20
	conf.Limits.MaxImageBytes = 64 << 20
	conf.Limits.MaxObjectCount = 10 * maxPDFObjects
	conf.Limits.MaxXRefEntries = 10 * maxPDFObjects
	return conf
}

// recoverPDF turns a panic inside pdfcpu, on a file made to cause one, into an error.
func recoverPDF(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("pdfcpu could not follow this PDF (%v)", r)
	}
}

// pdfTimeout bounds how long pdfcpu may take over one file, where pdfcpu looks at the clock.
var pdfTimeout = 20 * time.Second

// maxPDFObjects bounds the objects of a PDF handed to pdfcpu. Without a usable table of its
// objects, pdfcpu rebuilds one by scanning the file object by object: 200000 small objects took
// it 14 s and 590 MiB, a million (a 64 MiB attachment) 75 s and 1.3 GiB, on the busy two-core
// development machine. A long report has a few thousand; objects packed into object streams do
// not count.
var maxPDFObjects = 100_000

// readPDFContext reads a PDF with pdfcpu.
func readPDFContext(data []byte, conf *model.Configuration) (*model.Context, error) {
	if bytes.Count(data, []byte("endobj")) > maxPDFObjects {
		return nil, fmt.Errorf("the PDF holds more than %d objects, more than keytool reads", maxPDFObjects)
	}
	c, cancel := context.WithTimeout(context.Background(), pdfTimeout)
	defer cancel()
	ctx, err := pdfcpu.ReadWithContext(c, bytes.NewReader(data[pdfStart(data):]), conf)
	if c.Err() != nil {
		return nil, fmt.Errorf("pdfcpu could not read this PDF within %v", pdfTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("pdfcpu cannot read this PDF: %w", err)
	}
	return ctx, nil
}

const (
	inPDFInfo     = "PDF document information"
	inPDFXMP      = "XMP (PDF)"
	inPDFComment  = "PDF comment"
	inPDFAttached = "PDF attached file"
)

var pdfInfoTags = map[string]tag{
	"Title":        {Other, "title"},
	"Author":       {Person, "author"},
	"Subject":      {Other, "subject"},
	"Keywords":     {Other, "keywords"},
	"Creator":      {Software, "made with"},
	"Producer":     {Software, "producer"},
	"CreationDate": {Time, "made"},
	"ModDate":      {Time, "changed"},
}

// readPDF lists the hidden details of a PDF file: its document information, its XMP packets,
// the pictures inside it that are JPEG files, the authors of its comments and the names of the
// files attached inside it.
func readPDF(data []byte, fs *findings) (err error) {
	defer recoverPDF(&err)
	ctx, err := readPDFContext(data, pdfConfig())
	if err != nil {
		return err
	}
	if ctx.Encrypt != nil {
		fs.add(Other, "encryption", "the PDF is encrypted; keytool read what it could without a password", "PDF")
	}
	// An incremental update appends changed objects and leaves the old ones in the file, where
	// any text editor finds them; pdfcpu reads only the latest. A layout for fast web view also
	// has two ends, so the words cover both.
	if n := bytes.Count(data, []byte("%%EOF")); n > 1 {
		fs.add(Other, "earlier versions", fmt.Sprintf("the file ends %d times: it was changed after it was made (or laid out for fast web view), and what earlier versions said, a name among it, may still be in it; keytool lists what the latest says", n), "PDF")
	}
	if ctx.Info != nil {
		if d, err := ctx.DereferenceDict(*ctx.Info); err == nil {
			for _, key := range slices.Sorted(maps.Keys(d)) {
				s, err := ctx.DereferenceText(d[key])
				if err != nil {
					continue // a name or a number: Trapped, or an entry of the writing program's own
				}
				tg, ok := pdfInfoTags[key]
				if !ok {
					tg = tag{Other, fmt.Sprintf("entry %q", Text(key))}
				}
				if tg.what == Time {
					if t, ok := types.DateTime(s, true); ok {
						s = t.Format("2006-01-02 15:04:05 -07:00")
					}
				}
				fs.add(tg.what, tg.label, s, inPDFInfo)
			}
		}
	}
	for _, nr := range slices.Sorted(maps.Keys(ctx.Table)) {
		e := ctx.Table[nr]
		if e == nil || e.Free || e.Object == nil {
			continue
		}
		switch o := e.Object.(type) {
		case types.StreamDict:
			switch {
			case isXMPStream(o.Dict):
				if err := o.DecodeWithLimit(maxInflatedXMP); err != nil {
					fs.add(Other, "data keytool cannot read", fmt.Sprintf("an XMP packet (%v)", err), inPDFXMP)
					continue
				}
				readXMP(o.Content, inPDFXMP, fs)
			case isJPEGStream(o):
				readJPEG(o.Raw, "a picture inside the PDF: ", 1, fs)
			}
			readPDFDict(ctx, o.Dict, fs)
		case types.Dict:
			readPDFDict(ctx, o, fs)
		}
	}
	return nil
}

func readPDFDict(ctx *model.Context, d types.Dict, fs *findings) {
	if _, ok := d["PieceInfo"]; ok {
		fs.add(Other, "the making program's own data", "PieceInfo, which can hold anything that program keeps", "PDF")
	}
	if isComment(d) {
		if s, err := ctx.DereferenceText(d["T"]); err == nil {
			fs.add(Person, "author of a comment", s, inPDFComment)
		}
	}
	if d.Type() != nil && *d.Type() == "Filespec" {
		for _, key := range []string{"UF", "F"} {
			if s, err := ctx.DereferenceText(d[key]); err == nil {
				fs.add(Other, "file attached inside", s, inPDFAttached)
				break
			}
		}
	}
}

func isXMPStream(d types.Dict) bool {
	return d.Type() != nil && *d.Type() == "Metadata"
}

// isJPEGStream tells a stream that is a JPEG file as it is: a picture compressed with
// DCTDecode and nothing else.
func isJPEGStream(sd types.StreamDict) bool {
	return len(sd.FilterPipeline) == 1 && sd.FilterPipeline[0].Name == "DCTDecode" && Detect(sd.Raw) == JPEG
}

// isComment tells an annotation whose T is the name of the person who wrote it: any but a form
// field's (Widget), whose T is the field's name.
func isComment(d types.Dict) bool {
	if d.Type() != nil && *d.Type() != "Annot" {
		return false
	}
	sub := d.Subtype()
	return sub != nil && *sub != "Widget" && *sub != "Link" && *sub != "Popup" && d["T"] != nil
}

// KeptByClean tells the findings Clean leaves in a PDF on purpose: what pdfcpu writes
// into every PDF (itself as producer, the time of cleaning), and the names of files attached
// inside, which it keeps as they are.
func KeptByClean(f Finding) bool {
	switch {
	case f.In == inPDFAttached:
		return true
	case f.In != inPDFInfo:
		return false
	case f.Label == "producer":
		return f.Value == "pdfcpu "+model.VersionStr
	}
	return f.What == Time
}

// cleanPDF writes the PDF again without its document information, its XMP packets, the
// making program's private data, the authors of its comments and the hidden details of the
// JPEG pictures inside it. pdfcpu writes every object reachable from the document again, so
// what only an earlier version of the file held (an incremental update's leftovers) is gone too.
func cleanPDF(data []byte, c *Cleaned) (err error) {
	defer recoverPDF(&err)
	conf := pdfConfig()
	// Every object written as it is, none inside a compressed object stream: anyone can check
	// the copy with a text viewer (and the tests search its bytes).
	conf.WriteObjectStream, conf.WriteXRefStream = false, false
	ctx, err := readPDFContext(data, conf)
	if err != nil {
		return err
	}
	if err := api.ValidateContext(ctx); err != nil {
		return fmt.Errorf("pdfcpu cannot read this PDF: %w", err)
	}
	if ctx.Encrypt != nil {
		return ErrEncrypted
	}
	if ctx.Info != nil {
		if d, err := ctx.DereferenceDict(*ctx.Info); err == nil && len(d) > 0 {
			keys := slices.Sorted(maps.Keys(d))
			for _, k := range keys {
				delete(d, k)
			}
			c.Removed = append(c.Removed, "the document information ("+strings.Join(keys, ", ")+")")
		}
	}
	var xmp, pieces, comments, pictures, attached int
	for _, nr := range slices.Sorted(maps.Keys(ctx.Table)) {
		e := ctx.Table[nr]
		if e == nil || e.Free || e.Object == nil {
			continue
		}
		var d types.Dict
		switch o := e.Object.(type) {
		case types.StreamDict:
			d = o.Dict
			if isJPEGStream(o) {
				var picture Cleaned
				if err := cleanJPEG(o.Raw, &picture); err != nil {
					return fmt.Errorf("a picture inside the PDF (object %d): %w", nr, err)
				}
				if len(picture.Removed) > 0 {
					o.Raw, o.Content = picture.Data, nil
					n := int64(len(o.Raw))
					o.StreamLength = &n
					o.Update("Length", types.Integer(n))
					e.Object = o
					pictures++
				}
			}
		case types.Dict:
			d = o
		default:
			continue
		}
		if _, ok := d["Metadata"]; ok {
			delete(d, "Metadata")
			xmp++
		}
		if _, ok := d["PieceInfo"]; ok {
			delete(d, "PieceInfo")
			pieces++
		}
		if isComment(d) {
			delete(d, "T")
			comments++
		}
		if d.Type() != nil && *d.Type() == "Filespec" {
			attached++
		}
	}
	for _, r := range []struct {
		n    int
		what string
	}{
		{xmp, "XMP packet"},
		{pieces, "block of the making program's own data (PieceInfo)"},
		{comments, "comment author's name"},
		{pictures, "JPEG picture's EXIF, XMP, IPTC and comments (the picture itself kept byte for byte)"},
	} {
		if r.n > 0 {
			c.Removed = append(c.Removed, fmt.Sprintf("%d × %s", r.n, r.what))
		}
	}
	// A new file identifier: the original's could link the copy to the original and to the
	// computer that made it.
	ctx.ID = nil
	var out bytes.Buffer
	if err := api.WriteContext(ctx, &out); err != nil {
		return fmt.Errorf("pdfcpu cannot write the cleaned PDF: %w", err)
	}
	c.Data = out.Bytes()
	c.Kept = append(c.Kept, "the pages, as they are", "pdfcpu "+model.VersionStr+" as the producer, and the time of cleaning as the time it was made and changed (pdfcpu writes these into every PDF)")
	c.Limits = append(c.Limits,
		"what the pages show: a name, a letterhead, a signature, a face in a photo",
		"pictures inside the PDF in other formats than JPEG (JPEG 2000, for one), and the fonts, with whatever they carry",
	)
	if attached > 0 {
		c.Limits = append(c.Limits, fmt.Sprintf("%d files attached inside the PDF, with whatever hidden details they carry: save them on their own, clean them, and pass them on separately", attached))
	}
	return nil
}
