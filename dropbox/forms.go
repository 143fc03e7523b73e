package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"regexp"
	"strings"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/labstack/echo/v4"

	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/submission"
)

// A form sent without JavaScript arrives as plaintext: multipart/form-data over the connection.
// It is read into memory only (never multipart's temporary files), turned into the same format-v1
// plaintext the browser would have built, encrypted to the same keys with go-crypto, and stored
// through the same validator and spool as any other submission. Then the plaintext buffers are
// overwritten. The site build writes what the server needs beside each form page (docs/forms.md):
//
//	<lang>/forms/<procedure>/form.json     the fields, their labels, the messages
//	<lang>/forms/<procedure>/receipt.html  the receipt page, with ReceiptPlaceholder for the id
//	<lang>/forms/<procedure>/error.html    the error page, with ErrorPlaceholder for the message

// Placeholders the site's result pages carry, replaced by the server.
const (
	ReceiptPlaceholder = "RECEIPT-ID-PLACEHOLDER"
	ErrorPlaceholder   = "FORM-ERROR-PLACEHOLDER"
)

var (
	langRE      = regexp.MustCompile(`^[a-z]{2,3}$`)
	procedureRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
)

// formDef is a form as the site build describes it, in one language.
type formDef struct {
	Procedure string            `json:"procedure"`
	Lang      string            `json:"lang"`
	Fields    []formField       `json:"fields"`
	Messages  map[string]string `json:"messages"`
}

type formField struct {
	Name     string       `json:"name"`
	Label    string       `json:"label"`
	Type     string       `json:"type"` // text, textarea, choice, files
	Required bool         `json:"required"`
	Options  []formOption `json:"options"`
	When     *formWhen    `json:"when"` // asked only when another field has a value
}

type formOption struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

type formWhen struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// formError is a refusal with a message key of form.json's messages, shown in the form's language.
type formError struct {
	status int
	key    string // required, too_large, busy, full, failed, bad_form
	detail string // English, for the log only: never names a value
}

func (e *formError) Error() string { return e.key + ": " + e.detail }

// maxFieldBytes bounds one text answer; the format's header bounds them all together.
const maxFieldBytes = 256 << 10

func (s *server) submitForm(c echo.Context) error {
	lang, procedure := c.Param("lang"), c.Param("procedure")
	if !langRE.MatchString(lang) || !procedureRE.MatchString(procedure) {
		return echo.ErrNotFound
	}
	dir := path.Join(lang, "forms", procedure)
	def, err := loadForm(s.site, dir)
	if err != nil {
		return echo.ErrNotFound
	}
	select {
	case s.plainForms <- struct{}{}:
		defer func() { <-s.plainForms }()
	default:
		return s.formResult(c, dir, def, "", &formError{http.StatusServiceUnavailable, "busy", "too many forms in memory"})
	}
	var sub *submission.Submission
	var bodies []*chunks
	defer func() { wipe(sub, bodies) }()
	id, err := s.store(c, func(check func(io.Reader) error) (string, error) {
		var err error
		if sub, bodies, err = readForm(c.Request(), def, s.cfg.BodyLimit); err != nil {
			return "", err
		}
		ciphertext := encrypted(sub, bodies, s.recipients)
		defer ciphertext.Close() // before the wipe: the encryption must be done with the buffers
		return s.spool.Store(ciphertext, check)
	})
	var fe *formError
	var he *echo.HTTPError
	switch {
	case err == nil:
		return s.formResult(c, dir, def, id, nil)
	case errors.As(err, &fe):
	case errors.As(err, &he):
		fe = formErrorFor(he)
	default:
		s.log.Error("form", "error", err)
		fe = &formError{http.StatusInternalServerError, "failed", "internal error"}
	}
	return s.formResult(c, dir, def, "", fe)
}

// formErrorFor maps the shared upload errors onto the form's messages.
func formErrorFor(he *echo.HTTPError) *formError {
	switch he.Code {
	case http.StatusRequestEntityTooLarge:
		return &formError{he.Code, "too_large", "body limit"}
	case http.StatusServiceUnavailable:
		return &formError{he.Code, "busy", "busy or over quota"}
	case http.StatusInsufficientStorage:
		return &formError{he.Code, "full", "disk full"}
	case http.StatusBadRequest:
		return &formError{he.Code, "failed", "upload incomplete"}
	}
	return &formError{http.StatusInternalServerError, "failed", fmt.Sprint(he.Message)}
}

func loadForm(site fs.FS, dir string) (*formDef, error) {
	raw, err := fs.ReadFile(site, path.Join(dir, "form.json"))
	if err != nil {
		return nil, err
	}
	var def formDef
	if err := json.Unmarshal(raw, &def); err != nil {
		return nil, fmt.Errorf("%s/form.json: %w", dir, err)
	}
	return &def, nil
}

// formResult answers with the site's receipt or error page for this form.
func (s *server) formResult(c echo.Context, dir string, def *formDef, id string, fe *formError) error {
	name, status, placeholder, value := "receipt.html", http.StatusOK, ReceiptPlaceholder, id
	if fe != nil {
		s.log.Info("form refused", "procedure", def.Procedure, "reason", fe.key)
		msg := def.Messages[fe.key]
		if msg == "" {
			msg = def.Messages["failed"]
		}
		name, status, placeholder, value = "error.html", fe.status, ErrorPlaceholder, html.EscapeString(msg)
	}
	page, err := fs.ReadFile(s.site, path.Join(dir, name))
	if err != nil {
		return c.JSON(status, apiError{Error: "the site lacks " + name + " for this form; rebuild it with make site"})
	}
	return c.HTMLBlob(status, bytes.ReplaceAll(page, []byte(placeholder), []byte(value)))
}

// readForm reads a multipart form into a submission, in memory, checking it against the form.
// The memory it holds for attachments, counted by capacity, stays within limit (the body limit):
// many tiny files must not make it allocate more than one large one.
func readForm(r *http.Request, def *formDef, limit int64) (*submission.Submission, []*chunks, error) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, &formError{http.StatusUnsupportedMediaType, "bad_form", "not multipart/form-data"}
	}
	byName := map[string]*formField{}
	for i := range def.Fields {
		byName[def.Fields[i].Name] = &def.Fields[i]
	}
	values := map[string]string{}
	sub := &submission.Submission{Procedure: def.Procedure, Lang: def.Lang}
	var bodies []*chunks
	held := &budget{left: limit}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sub, bodies, err
		}
		f := byName[part.FormName()]
		if f == nil {
			part.Close() // not a question of this form (a button, say): not kept
			continue
		}
		if f.Type == "files" {
			if part.FileName() == "" {
				part.Close()
				continue
			}
			if len(sub.Attachments) == submission.MaxAttachments {
				return sub, bodies, &formError{http.StatusRequestEntityTooLarge, "too_large", "too many attachments"}
			}
			body := &chunks{budget: held}
			bodies = append(bodies, body) // before the copy, so a failed read is wiped too
			h := sha256.New()
			if _, err := io.Copy(io.MultiWriter(body, h), part); err != nil {
				return sub, bodies, err
			}
			sub.Attachments = append(sub.Attachments, submission.Attachment{
				Name: submission.ShortName(part.FileName()), Type: part.Header.Get("Content-Type"),
				Size: body.size, SHA256: hex.EncodeToString(h.Sum(nil)),
			})
			continue
		}
		value, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return sub, bodies, err
		}
		if len(value) > maxFieldBytes {
			return sub, bodies, &formError{http.StatusRequestEntityTooLarge, "too_large", "one answer over the limit"}
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
				return sub, bodies, &formError{http.StatusBadRequest, "bad_form", "unknown option"}
			}
			value = label
		}
		if f.Required && value == "" {
			return sub, bodies, &formError{http.StatusBadRequest, "required", "a required field is empty"}
		}
		sub.Fields = append(sub.Fields, submission.Field{Name: f.Name, Label: f.Label, Value: value})
	}
	if err := sub.CheckHeader(); errors.Is(err, submission.ErrHeaderTooLarge) {
		return sub, bodies, &formError{http.StatusRequestEntityTooLarge, "too_large", "answers too long"}
	} else if err != nil {
		return sub, bodies, &formError{http.StatusBadRequest, "bad_form", err.Error()}
	}
	return sub, bodies, nil
}

// answer is a field's value as the form's script reads it: browsers send a textarea's line
// breaks as CRLF, the script sees LF; both trim. One form, one plaintext, whichever way it came.
func answer(values map[string]string, name string) string {
	return strings.TrimSpace(strings.ReplaceAll(values[name], "\r\n", "\n"))
}

func optionLabel(f formField, value string) (string, bool) {
	for _, o := range f.Options {
		if o.Value == value {
			return o.Label, true
		}
	}
	return "", false
}

// encryption is the ciphertext of a submission as it is being made.
type encryption struct {
	*io.PipeReader
	done chan struct{}
}

// Close stops the encryption if the reader gave up early (a full disk, say) and waits for it to
// end, so that nothing reads the plaintext buffers any more and no goroutine is left blocked.
func (e *encryption) Close() error {
	e.PipeReader.CloseWithError(errors.New("the ciphertext was not read to the end"))
	<-e.done
	return nil
}

// encrypted streams the encryption of the submission to the recipients.
func encrypted(sub *submission.Submission, bodies []*chunks, recipients []*policy.Recipient) *encryption {
	pr, pw := io.Pipe()
	e := &encryption{PipeReader: pr, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		w, err := openpgp.Encrypt(pw, policy.Entities(recipients), nil, nil, nil, policy.EncryptConfig()) // nil hints: no file name, time 0
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		readers := make([]io.Reader, len(bodies))
		for i, b := range bodies {
			readers[i] = b.reader()
		}
		if err := submission.Write(w, sub, readers); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(w.Close())
	}()
	return e
}

// wipe overwrites the plaintext this request held. The garbage collector may have copies; this
// shortens how long the bytes we control stay in memory.
func wipe(sub *submission.Submission, bodies []*chunks) {
	for _, b := range bodies {
		b.wipe()
	}
	if sub != nil {
		for i := range sub.Fields {
			sub.Fields[i].Value = ""
		}
	}
}

// chunks holds an attachment in blocks that are never copied: unlike a growing buffer, it leaves
// no copies of the plaintext in memory it no longer controls, so wipe can overwrite all of it.
// Blocks double from 4 KiB to 256 KiB, so a tiny file holds 4 KiB, not 256 KiB, and every
// block's capacity is charged to the request's budget.
type chunks struct {
	blocks [][]byte
	size   int64
	budget *budget
}

// budget is what one request may still allocate for attachments.
type budget struct{ left int64 }

var errOverBudget = &formError{http.StatusRequestEntityTooLarge, "too_large", "attachments over the memory budget"}

const (
	firstChunk = 4 << 10
	chunkSize  = 256 << 10
)

func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.blocks) == 0 || len(c.blocks[len(c.blocks)-1]) == cap(c.blocks[len(c.blocks)-1]) {
			size := min(firstChunk<<len(c.blocks), chunkSize)
			if c.budget.left < int64(size) {
				return 0, errOverBudget
			}
			c.budget.left -= int64(size)
			c.blocks = append(c.blocks, make([]byte, 0, size))
		}
		last := &c.blocks[len(c.blocks)-1]
		k := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	c.size += int64(n)
	return n, nil
}

func (c *chunks) reader() io.Reader {
	readers := make([]io.Reader, len(c.blocks))
	for i, b := range c.blocks {
		readers[i] = bytes.NewReader(b)
	}
	return io.MultiReader(readers...)
}

func (c *chunks) wipe() {
	for _, b := range c.blocks {
		clear(b[:cap(b)])
	}
}
