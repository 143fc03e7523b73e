package metadata

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// xmpTags are the XMP properties that can name or place a person, by their local name: XMP
// writes a property as an attribute or as an element, often in its own namespace's version, so
// the name is what is compared.
var xmpTags = map[string]tag{
	"creator":            {Person, "creator"},
	"rights":             {Person, "rights"},
	"Artist":             {Person, "artist"},
	"Author":             {Person, "author"},
	"Copyright":          {Person, "copyright"},
	"OwnerName":          {Person, "camera owner"},
	"CameraOwnerName":    {Person, "camera owner"},
	"AuthorsPosition":    {Person, "author's position"},
	"CaptionWriter":      {Person, "caption writer"},
	"Credit":             {Person, "credit"},
	"CiAdrExtadr":        {Person, "creator's address"},
	"CiAdrCity":          {Person, "creator's city"},
	"CiAdrRegion":        {Person, "creator's region"},
	"CiAdrPcode":         {Person, "creator's postal code"},
	"CiAdrCtry":          {Person, "creator's country"},
	"CiEmailWork":        {Person, "creator's e-mail"},
	"CiTelWork":          {Person, "creator's telephone"},
	"CiUrlWork":          {Person, "creator's web address"},
	"CreatorTool":        {Software, "software"},
	"Producer":           {Software, "producer"},
	"softwareAgent":      {Software, "software (edit history)"},
	"CreateDate":         {Time, "made"},
	"ModifyDate":         {Time, "changed"},
	"MetadataDate":       {Time, "details changed"},
	"DateTimeOriginal":   {Time, "taken"},
	"DateCreated":        {Time, "made"},
	"when":               {Time, "edited (edit history)"},
	"GPSLatitude":        {Location, "GPS latitude"},
	"GPSLongitude":       {Location, "GPS longitude"},
	"GPSAltitude":        {Location, "GPS altitude (metres, as a fraction)"},
	"City":               {Location, "city"},
	"State":              {Location, "state or region"},
	"ProvinceState":      {Location, "state or region"},
	"Country":            {Location, "country"},
	"CountryName":        {Location, "country"},
	"CountryCode":        {Location, "country code"},
	"Location":           {Location, "place"},
	"Sublocation":        {Location, "place"},
	"WorldRegion":        {Location, "world region"},
	"Make":               {Device, "camera make"},
	"Model":              {Device, "camera model"},
	"SerialNumber":       {Device, "camera serial number"},
	"BodySerialNumber":   {Device, "camera serial number"},
	"LensSerialNumber":   {Device, "lens serial number"},
	"Lens":               {Device, "lens"},
	"LensModel":          {Device, "lens model"},
	"title":              {Other, "title"},
	"description":        {Other, "description"},
	"subject":            {Other, "keywords"},
	"Keywords":           {Other, "keywords"},
	"Headline":           {Other, "headline"},
	"DocumentID":         {Other, "document id"},
	"OriginalDocumentID": {Other, "id of the original document"},
}

// maxXMPTokens bounds the work one XMP packet can cause; a real one has a few hundred.
const maxXMPTokens = 100_000

// maxXMPDepth bounds how deep the elements a reader keeps track of may nest.
const maxXMPDepth = 64

// readXMP lists the hidden details of an XMP packet. Go's XML decoder expands no entities it is
// not given and fetches nothing, so a packet cannot grow or reach out; it is read as a stream of
// tokens, and one it cannot parse is listed for what it is.
func readXMP(data []byte, in string, fs *findings) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	var stack []string
	for range maxXMPTokens {
		tok, err := d.RawToken()
		if err == io.EOF {
			return
		}
		if err != nil {
			fs.add(Other, "data keytool cannot read", fmt.Sprintf("%d bytes of XMP (%v)", len(data), err), in)
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			for _, a := range t.Attr {
				if tg, ok := xmpTags[a.Name.Local]; ok {
					fs.add(tg.what, tg.label, xmpValue(a.Name.Local, a.Value), in)
				}
			}
			if len(stack) == maxXMPDepth {
				fs.add(Other, "data keytool cannot read", fmt.Sprintf("XMP nested more than %d deep", maxXMPDepth), in)
				return
			}
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			// A value is an element's text, or an rdf:li's in a list (rdf:Seq, rdf:Bag, rdf:Alt)
			// inside the element: look up to two levels above it.
			text := strings.TrimSpace(string(t[:min(len(t), 16*maxText)]))
			if text == "" {
				continue
			}
			for i := len(stack) - 1; i >= 0 && i >= len(stack)-3; i-- {
				if tg, ok := xmpTags[stack[i]]; ok {
					fs.add(tg.what, tg.label, xmpValue(stack[i], text), in)
					break
				}
			}
		}
	}
	fs.add(Other, "data keytool cannot read", fmt.Sprintf("XMP with more than %d parts", maxXMPTokens), in)
}

// xmpValue writes an XMP GPS coordinate ("52,31.2N") as decimal degrees, as EXIF's are.
func xmpValue(name, v string) string {
	if name != "GPSLatitude" && name != "GPSLongitude" || len(v) < 2 {
		return v
	}
	hemisphere := v[len(v)-1:]
	if !strings.Contains("NSEW", hemisphere) {
		return v
	}
	parts := strings.Split(v[:len(v)-1], ",")
	if len(parts) > 3 {
		return v
	}
	deg := 0.0
	scale := 1.0
	for _, p := range parts {
		x, err := strconv.ParseFloat(p, 64)
		if err != nil || x < 0 {
			return v
		}
		deg += x / scale
		scale *= 60
	}
	return fmt.Sprintf("%.6f %s", deg, hemisphere)
}
