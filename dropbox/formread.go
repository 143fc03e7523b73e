package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"unicode"

	"github.com/safe-complaints/dropbox/internal/submission"
)

// maxFieldBytes bounds one text answer; the format's header bounds them all together. The form's
// inputs carry maxlength so that a browser keeps within it even without JavaScript.
const maxFieldBytes = 256 << 10

// readForm reads a multipart form into a submission, in memory, checking it against the form.
// Attachments are held in blocks of mem, whose budget bounds them by capacity: many tiny files
// must not make it allocate more than one large one. Every error it returns is one the server
// defines (a formError, or a failure of the connection): never a parser's text, which can quote
// the body.
func readForm(r io.Reader, boundary string, def *formDef, mem *plainSet) (*submission.Submission, []*chunks, error) {
	byName := map[string]*formField{}
	for i := range def.Fields {
		byName[def.Fields[i].Name] = &def.Fields[i]
	}
	values := map[string]string{}
	sub := &submission.Submission{Procedure: def.Procedure, Lang: def.Lang, EncryptedBy: "server"}
	var bodies []*chunks
	tail, err := mem.block(0)
	if err != nil {
		return sub, bodies, err
	}
	body := &tailReader{r: r, tail: tail[: 0 : len(boundary)+8]}
	mr := multipart.NewReader(body, boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			// Go's reader also ends without error at a body cut right after a boundary line:
			// only a body that ends with the closing boundary is the whole form.
			if _, err := io.Copy(io.Discard, body); err != nil {
				return sub, bodies, readError(err)
			}
			if !body.endsWith("--" + boundary + "--") {
				return sub, bodies, &formError{status: http.StatusBadRequest, key: "bad_form", detail: "the body ends before the closing boundary"}
			}
			break
		}
		if err != nil {
			return sub, bodies, readError(err)
		}
		f := byName[part.FormName()]
		if f == nil {
			if err := discard(part); err != nil { // not a question of this form (a button, say)
				return sub, bodies, err
			}
			continue
		}
		if f.Type == "files" {
			if part.FileName() == "" {
				if err := discard(part); err != nil {
					return sub, bodies, err
				}
				continue
			}
			if len(sub.Attachments) == submission.MaxAttachments {
				return sub, bodies, &formError{status: http.StatusRequestEntityTooLarge, key: "too_large", detail: "too many attachments"}
			}
			body := &chunks{set: mem}
			bodies = append(bodies, body)
			h := sha256.New()
			if _, err := io.Copy(io.MultiWriter(body, h), part); err != nil {
				return sub, bodies, readError(err)
			}
			sub.Attachments = append(sub.Attachments, submission.Attachment{
				Name: submission.ShortName(fileName(part.FileName())), Type: part.Header.Get("Content-Type"),
				Size: body.size, SHA256: hex.EncodeToString(h.Sum(nil)),
			})
			continue
		}
		value, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return sub, bodies, readError(err)
		}
		if len(value) > maxFieldBytes {
			return sub, bodies, &formError{status: http.StatusRequestEntityTooLarge, key: "answer_too_long", label: f.Label}
		}
		values[f.Name] = string(value)
	}
	for _, f := range def.Fields {
		if f.Type == "files" {
			continue
		}
		if f.When != nil && answer(values, f.When.Field) != f.When.Value {
			continue // not asked, so not kept, even if the browser sent something
		}
		value := answer(values, f.Name)
		if f.Type == "choice" && value != "" {
			label, ok := optionLabel(f, value)
			if !ok {
				return sub, bodies, &formError{status: http.StatusBadRequest, key: "bad_form", detail: "unknown option"}
			}
			value = label
		}
		if f.Required && value == "" {
			return sub, bodies, &formError{status: http.StatusBadRequest, key: "required", detail: "a required field is empty"}
		}
		sub.Fields = append(sub.Fields, submission.Field{Name: f.Name, Label: f.Label, Value: value})
	}
	if err := sub.CheckHeader(); errors.Is(err, submission.ErrHeaderTooLarge) {
		return sub, bodies, &formError{status: http.StatusRequestEntityTooLarge, key: "answers_too_long"}
	} else if err != nil {
		return sub, bodies, &formError{status: http.StatusBadRequest, key: "bad_form", detail: "the submission does not pass its format's checks"}
	}
	return sub, bodies, nil
}

// tailReader remembers the last bytes it read, in tail (a block of the request's plaintext memory).
type tailReader struct {
	r    io.Reader
	tail []byte // len 0 to cap: the last cap(tail) bytes read
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	got := p[:n]
	if len(got) >= cap(t.tail) {
		t.tail = append(t.tail[:0], got[len(got)-cap(t.tail):]...)
	} else {
		keep := min(len(t.tail), cap(t.tail)-len(got))
		copy(t.tail, t.tail[len(t.tail)-keep:])
		t.tail = append(t.tail[:keep], got...)
	}
	return n, err
}

// endsWith reports whether what was read ends with s and at most a line break.
func (t *tailReader) endsWith(s string) bool {
	return strings.HasSuffix(strings.TrimRight(string(t.tail), "\r\n"), s)
}

// discard reads a part nobody keeps to its end.
func discard(part *multipart.Part) error {
	if _, err := io.Copy(io.Discard, part); err != nil {
		return readError(err)
	}
	return nil
}

// readError keeps what the server can name (the body limit, a slow or lost connection, the
// memory budget) and turns everything else, the parser's complaints about the body's syntax,
// into a bad form, dropping their text.
func readError(err error) error {
	var fe *formError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &fe), errors.As(err, &mbe), errors.Is(err, io.ErrUnexpectedEOF), isTimeout(err), isNetError(err),
		errors.Is(err, http.ErrBodyReadAfterClose):
		return err
	}
	return &formError{status: http.StatusBadRequest, key: "bad_form", detail: "the body is not a well-formed multipart form"}
}

// fileName undoes the escapes browsers write into a multipart file name (WHATWG HTML: `"` as %22,
// CR as %0D, LF as %0A), so that the name is the one the device gave, as the form's script sends it.
var fileNameEscapes = strings.NewReplacer("%22", `"`, "%0D", "\r", "%0A", "\n")

func fileName(name string) string { return fileNameEscapes.Replace(name) }

// answer is a field's value as the form's script reads it: browsers send a textarea's line
// breaks as CRLF, the script sees LF; both trim the outer white space as JavaScript's trim() does.
// One form, one plaintext, whichever way it came (docs/format.md).
func answer(values map[string]string, name string) string {
	return strings.TrimFunc(strings.ReplaceAll(values[name], "\r\n", "\n"), jsSpace)
}

// jsSpace is white space as ECMAScript's String.prototype.trim sees it: WhiteSpace (tab, VT, FF,
// ZWNBSP U+FEFF, and every Zs space) and LineTerminator (LF, CR, U+2028, U+2029). Go's
// unicode.IsSpace differs in two: it takes U+0085, and leaves U+FEFF.
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', '\u2028', '\u2029', '\ufeff':
		return true
	}
	return unicode.Is(unicode.Zs, r)
}

func optionLabel(f formField, value string) (string, bool) {
	for _, o := range f.Options {
		if o.Value == value {
			return o.Label, true
		}
	}
	return "", false
}
