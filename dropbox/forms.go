package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/labstack/echo/v4"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/submission"
)

// A form sent without JavaScript arrives as plaintext: multipart/form-data over the connection.
// It is read into memory only (never multipart's temporary files), turned into the same format-v1
// plaintext the browser would have built (padded as the browser pads it: the zero bytes are made
// as the encryption takes them, never held), encrypted to the same keys with go-crypto, and stored
// through the same validator and spool as any other submission. Then the plaintext buffers are
// overwritten. The site build writes what the server needs beside each form page (docs/forms.md):
//
//	<lang>/forms/<procedure>/form.json     the fields, their labels, the messages
//	<lang>/forms/<procedure>/receipt.html  the receipt page, with ReceiptPlaceholder for the id
//	                                       and CodenamePlaceholder for the codename
//	<lang>/forms/<procedure>/error.html    the error page, with ErrorPlaceholder for the message
//
// Such a form also gets its codename from the server (docs/answers.md, "The codename on the
// receipt"): drawn and derived here, inside the form's place, put into the submission before it
// is encrypted, and shown on the receipt only; never stored, never logged.

// Placeholders the site's result pages carry, replaced by the server.
const (
	ReceiptPlaceholder  = "RECEIPT-ID-PLACEHOLDER"
	CodenamePlaceholder = "CODENAME-PLACEHOLDER"
	ErrorPlaceholder    = "FORM-ERROR-PLACEHOLDER"
)

var (
	langRE      = regexp.MustCompile(`^[a-z]{2,3}$`)
	procedureRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
)

// formDef is a form as the site build describes it, in one language.
type formDef struct {
	Organisation string            `json:"organisation"` // its procedure's organisation's id
	Procedure    string            `json:"procedure"`
	Lang         string            `json:"lang"`
	Fields       []formField       `json:"fields"`
	Messages     map[string]string `json:"messages"`
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
	key    string // required, too_large, answer_too_long, answers_too_long, busy, full, failed, bad_form
	label  string // for answer_too_long: the question's label, from form.json
	detail string // English, for tests: never logged, never names a value
}

func (e *formError) Error() string { return e.key + ": " + e.detail }

func (s *server) submitForm(c echo.Context) (err error) {
	org, err := s.organisation(c)
	if err != nil {
		return err
	}
	lang, procedure := c.Param("lang"), c.Param("procedure")
	if !langRE.MatchString(lang) || !procedureRE.MatchString(procedure) {
		return echo.ErrNotFound
	}
	dir := path.Join(lang, "forms", procedure)
	def, err := loadForm(s.site, dir)
	if err != nil || def.Organisation != org.ID {
		return echo.ErrNotFound // a form of another organisation is not on this one's path
	}
	// Deferred first, so it runs last: whatever happens below, a panic included, the plaintext
	// is wiped before the person sees a page, and the page is the form's own error page.
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.alert(panicAt())
			err = s.formResult(c, dir, def, "", "", &formError{status: http.StatusInternalServerError, key: "failed"})
		}
	}()
	mem := s.plain.request(s.cfg.BodyLimit + window)
	var sub *submission.Submission
	defer func() { wipeSubmission(sub); mem.release() }()
	var codename answers.Codename
	id, err := s.receiveForm(c, org, def, mem, &sub, func(sub *submission.Submission) (err error) {
		codename, err = firstComplaint(sub, org.ID)
		return err
	})
	if err != nil {
		return s.formResult(c, dir, def, "", "", s.formErrorFor(err))
	}
	return s.formResult(c, dir, def, id, codename.String(), nil)
}

// wipeSubmission drops what a submission read from a form holds: the answers (Go strings, which
// can only be let go) and the followup value (bytes of ours, overwritten).
func wipeSubmission(sub *submission.Submission) {
	if sub == nil {
		return
	}
	for i := range sub.Fields {
		sub.Fields[i].Value = ""
	}
	clear(sub.Followup)
}

// firstComplaint draws the codename a form sent without JavaScript gives with its receipt, and
// puts its first complaint's followup value into the submission: one derivation, about 0.1 s of
// one core, inside the form's place. The codename goes to the receipt only; the error never
// names it.
func firstComplaint(sub *submission.Submission, org string) (answers.Codename, error) {
	codename, err := answers.NewCodename()
	if err != nil {
		return answers.Codename{}, fmt.Errorf("no codename could be drawn: %w", err)
	}
	keys, err := answers.Derive(codename, org)
	if err != nil {
		return answers.Codename{}, errors.New("the codename's values could not be derived")
	}
	defer clear(keys.Token)
	sub.Followup, err = json.Marshal(keys.FirstComplaint())
	if err != nil {
		return answers.Codename{}, errors.New("the followup value could not be written")
	}
	return codename, nil
}

// receiveForm reads, encrypts and stores one form. The plaintext it reads lives in mem, and *sub
// is set as soon as there is one, for the caller to wipe. prepare completes the submission once
// it has been read, inside the form's places and before it is encrypted (the codename's
// followup value); its error refuses the form.
func (s *server) receiveForm(c echo.Context, org *organisation, def *formDef, mem *plainSet, sub **submission.Submission, prepare func(*submission.Submission) error) (string, error) {
	req := c.Request()
	mediaType, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" || len(params["boundary"]) > maxBoundary {
		return "", &formError{status: http.StatusUnsupportedMediaType, key: "bad_form", detail: "not multipart/form-data with a boundary of at most 70 characters"}
	}
	body, err := s.receive(c, mem)
	if err != nil {
		return "", err
	}
	defer body.done()
	// The form's place first, waiting a little for one; then an upload place, without waiting,
	// so that a form waiting for its place holds nothing that uploads need.
	if !take(req.Context(), s.plainForms, plainFormWait) {
		return "", &formError{status: http.StatusServiceUnavailable, key: "busy"}
	}
	defer func() { <-s.plainForms }()
	if !take(req.Context(), s.uploads, 0) {
		return "", &formError{status: http.StatusServiceUnavailable, key: "busy"}
	}
	defer func() { <-s.uploads }()
	if err := body.holding(); err != nil {
		return "", errCannotPace
	}
	var bodies []*chunks
	*sub, bodies, err = readForm(body, params["boundary"], def, mem)
	if err != nil {
		return "", err
	}
	afterFormRead(mem)
	if err := prepare(*sub); err != nil {
		return "", err
	}
	// Measured again now that prepare added the followup value: the header, its padding key
	// included, must still fit its line.
	plain, err := (*sub).PlaintextSize()
	if errors.Is(err, submission.ErrHeaderTooLarge) {
		return "", &formError{status: http.StatusRequestEntityTooLarge, key: "answers_too_long"}
	} else if err != nil {
		return "", &formError{status: http.StatusBadRequest, key: "bad_form", detail: "the submission does not pass its format's checks"}
	}
	ciphertext := encrypted(*sub, bodies, org.recipients)
	defer ciphertext.Close() // before the wipe: the encryption must be done with the buffers
	return org.spool.Store(ciphertext, ciphertextBound(plain), org.check)
}

// maxBoundary is RFC 2046's longest multipart boundary.
const maxBoundary = 70

// afterFormRead is a hook for tests (a panic between reading and storing); it does nothing.
var afterFormRead = func(*plainSet) {}

// plainFormWait is how long a form waits for one of the max_plain_forms slots before it is
// refused: a burst of forms queues for a moment rather than failing at once. (A variable for tests.)
var plainFormWait = 10 * time.Second

// ciphertextBound is the most bytes the encryption of a plaintext of plain bytes (padding
// included) can take, which the spool reserves against its quota: the plaintext, OpenPGP's
// framing and tags (well under 1/64 of it), the session key packets.
func ciphertextBound(plain int64) int64 {
	return plain + plain/64 + 64<<10
}

// formErrorFor maps any error on the way to the form's own messages. Its detail is never logged.
func (s *server) formErrorFor(err error) *formError {
	var fe *formError
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, errWaitingFull) {
		return &formError{status: http.StatusServiceUnavailable, key: "busy"}
	}
	var he *echo.HTTPError
	if !errors.As(err, &he) {
		he, _ = s.uploadError(err).(*echo.HTTPError)
	}
	if he == nil {
		s.alert("internal error: " + errorKind(err))
		return &formError{status: http.StatusInternalServerError, key: "failed"}
	}
	switch he.Code {
	case http.StatusRequestEntityTooLarge:
		return &formError{status: he.Code, key: "too_large"}
	case http.StatusServiceUnavailable:
		return &formError{status: he.Code, key: "busy"}
	case http.StatusInsufficientStorage:
		return &formError{status: he.Code, key: "full"}
	case http.StatusBadRequest:
		return &formError{status: he.Code, key: "failed"}
	}
	return &formError{status: http.StatusInternalServerError, key: "failed"}
}

// checkFormPages refuses a site whose form result pages lack a placeholder: without
// CodenamePlaceholder a person sending without JavaScript would get a codename inside the
// complaint but never see it, and the staff would answer into a mailbox nobody can open.
func checkFormPages(site fs.FS) error {
	forms, _ := fs.Glob(site, "*/forms/*/form.json")
	for _, name := range forms {
		dir := path.Dir(name)
		for _, want := range []struct{ page, placeholder string }{
			{"receipt.html", ReceiptPlaceholder}, {"receipt.html", CodenamePlaceholder}, {"error.html", ErrorPlaceholder},
		} {
			page, err := fs.ReadFile(site, path.Join(dir, want.page))
			if err != nil || !bytes.Contains(page, []byte(want.placeholder)) {
				return fmt.Errorf("the site's form %s: its %s lacks %s, which the drop box fills in; the site was built with another theme version: build the site (make site) and the server again", dir, want.page, want.placeholder)
			}
		}
	}
	return nil
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

// formResult answers with the site's receipt page for this form, with the receipt's id and the
// codename, or its error page.
func (s *server) formResult(c echo.Context, dir string, def *formDef, id, codename string, fe *formError) error {
	name, status, placeholder, value := "receipt.html", http.StatusOK, ReceiptPlaceholder, id
	if fe != nil {
		msg := def.Messages[fe.key]
		if msg == "" {
			msg = def.Messages["failed"]
		}
		// The label is the form's own (form.json), never the person's words.
		msg = strings.ReplaceAll(html.EscapeString(msg), "{label}", html.EscapeString(fe.label))
		name, status, placeholder, value = "error.html", fe.status, ErrorPlaceholder, msg
	}
	page, err := fs.ReadFile(s.site, path.Join(dir, name))
	if err != nil {
		return c.JSON(status, apiError{Error: "the site lacks " + name + " for this form; rebuild it with make site"})
	}
	page = bytes.ReplaceAll(page, []byte(placeholder), []byte(value))
	if fe == nil {
		page = bytes.ReplaceAll(page, []byte(CodenamePlaceholder), []byte(codename))
	}
	defer clear(page) // the codename: written out, then overwritten
	return c.HTMLBlob(status, page)
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
		defer func() {
			// A panic here would end the whole process, every upload in flight with it.
			if r := recover(); r != nil {
				pw.CloseWithError(errPanic)
			}
		}()
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
