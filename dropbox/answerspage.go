package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/submission"
)

// The answers page for a browser without JavaScript (docs/answers.md, "The answers page"): each
// step is a plain form posted with the codename, which the drop box parses, derives in memory,
// uses for the step (read and decrypt the mailbox, delete an answer, give one attachment, store a
// follow-up) and forgets, answering with the site's result.html filled in. The codename and
// what is derived from it are never stored, logged or put in an error; the byte slices of ours
// that hold them are overwritten when the request ends.
//
// The site build writes beside each answers page (config.toml's answersresult, answersjson):
//
//	<lang>/answers/<org>/result.html   a Go html/template with [[ ]] delimiters, filled in with answersPage
//	<lang>/answers/<org>/answers.json  {"organisation", "lang", "more_label"}

// followUpProcedure is the procedure of a follow-up: reserved, no procedure may have that slug.
const followUpProcedure = "follow-up"

// answersPage is result.html's data, as docs/answers.md lists it.
type answersPage struct {
	Codename string // in groups of five, for the hidden fields; "" when none was accepted
	Error    string // "", char, length, check, busy, failed, too_large, more_failed, more_empty
	ErrPos   int    // char: the position, counting characters from 1
	ErrChar  string // char: the character typed there
	ErrCount int    // length: how many digits were typed
	Read     bool   // a mailbox was read: Answers, or none
	Answers  []pageAnswer
	Broken   int    // answers that could not be opened
	Deleted  bool   // an answer was just deleted
	Sent     string // the receipt id of a follow-up just sent
}

// pageAnswer is one answer as the page shows it.
type pageAnswer struct {
	ID    string
	Day   string // the day it was imported, as the mailbox route gives it: YYYY-MM-DD
	Lang  string
	Text  string
	Files []pageFile
}

// pageFile is one attachment of an answer: N, counted from 1, is what the file route asks for.
type pageFile struct {
	N    int
	Name string
	Size string // "1.2 MB"
}

// answersSite is one answers page of the site: its template and what answers.json says.
type answersSite struct {
	Organisation string `json:"organisation"`
	Lang         string `json:"lang"`
	MoreLabel    string `json:"more_label"`
	result       *template.Template
}

// loadAnswerPages parses every answers page's result.html and reads its answers.json, by
// "<lang>/<org>" of the page's path. Each template is also filled in once with data that takes
// every branch the contract has, so that a name the data does not have fails here, at start,
// rather than for the first person who opens their answers. It returns the pages that passed and
// the first failure.
func loadAnswerPages(site fs.FS) (map[string]*answersSite, error) {
	pages := map[string]*answersSite{}
	names, _ := fs.Glob(site, "*/answers/*/result.html")
	var first error
	for _, name := range names {
		p, err := loadAnswerPage(site, path.Dir(name))
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		pages[strings.TrimSuffix(strings.Replace(path.Dir(name), "/answers/", "/", 1), "/")] = p
	}
	return pages, first
}

const rebuildSite = "fix the page's layout (themes/safe/layouts), build the site again (make site) and then the drop box"

func loadAnswerPage(site fs.FS, dir string) (*answersSite, error) {
	raw, err := fs.ReadFile(site, path.Join(dir, "answers.json"))
	if err != nil {
		return nil, fmt.Errorf("the site's %s has no answers.json beside it: %w; %s", path.Join(dir, "result.html"), err, rebuildSite)
	}
	var p answersSite
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("the site's %s/answers.json: %w; %s", dir, err, rebuildSite)
	}
	page, err := fs.ReadFile(site, path.Join(dir, "result.html"))
	if err != nil {
		return nil, err
	}
	p.result, err = template.New("result.html").Delims("[[", "]]").Parse(string(page))
	if err != nil {
		return nil, fmt.Errorf("the site's %s/result.html is not a Go html/template with [[ ]] delimiters: %w; %s", dir, err, rebuildSite)
	}
	samples := []*answersPage{
		{},
		{Error: "char", ErrPos: 7, ErrChar: "O"},
		{Codename: "00000 00000 00000 00000 00000 0", Read: true, Broken: 1, Deleted: true, Sent: strings.Repeat("0", 32),
			Answers: []pageAnswer{{ID: strings.Repeat("0", 32), Day: "2026-11-30", Lang: "de", Text: "a\nb",
				Files: []pageFile{{N: 1, Name: "brief.pdf", Size: "1.2 MB"}}}}},
	}
	for _, sample := range samples {
		if err := p.result.Execute(io.Discard, sample); err != nil {
			return nil, fmt.Errorf("the site's %s/result.html cannot be filled in with the drop box's data (docs/answers.md lists its names): %w; %s", dir, err, rebuildSite)
		}
	}
	return &p, nil
}

// answersPageOf is the organisation and the answers page a request's path names, or a 404.
func (s *server) answersPageOf(c echo.Context) (*organisation, *answersSite, error) {
	org, err := s.organisation(c)
	if err != nil {
		return nil, nil, err
	}
	lang := c.Param("lang")
	if !langRE.MatchString(lang) {
		return nil, nil, echo.ErrNotFound
	}
	p := s.answerPages[lang+"/"+org.ID]
	if p == nil || p.Organisation != org.ID {
		return nil, nil, echo.ErrNotFound // another organisation's page is not on this one's path
	}
	return org, p, nil
}

// showAnswers answers with result.html filled in. The page, which holds the answers' text and
// the codename, is overwritten once it is written out.
func (s *server) showAnswers(c echo.Context, site *answersSite, status int, p *answersPage) error {
	var buf bytes.Buffer
	buf.Grow(16 << 10)
	defer func() { clear(buf.Bytes()[:buf.Cap()]) }()
	if err := site.result.Execute(&buf, p); err != nil {
		s.alert("answers page: the site's result.html could not be filled in")
		return fail(http.StatusInternalServerError, "the page could not be made; nothing was changed; please try again later")
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		if c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "30")
		}
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// pageRequest is what a step without attachments sends: the codename, and an answer's id and a
// file's number where the step needs them.
type pageRequest struct {
	codename string
	id, n    string
}

// readPageRequest reads a small urlencoded body (at most 1 KiB, as the mailbox routes). The body's
// bytes are ours and overwritten; the values are Go strings, let go of with the request.
func readPageRequest(c echo.Context) (*pageRequest, int) {
	req := c.Request()
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, http.StatusUnsupportedMediaType
	}
	body := make([]byte, 0, maxCheckBody+1)
	defer func() { clear(body[:cap(body)]) }()
	r := io.LimitReader(req.Body, maxCheckBody+1)
	for len(body) < cap(body) {
		n, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, http.StatusBadRequest
		}
	}
	if len(body) > maxCheckBody {
		return nil, http.StatusRequestEntityTooLarge
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, http.StatusBadRequest
	}
	return &pageRequest{codename: form.Get("codename"), id: form.Get("id"), n: form.Get("n")}, 0
}

// typedCodename reads the codename a person typed. On an error p says which, and nothing is
// derived: a typo is no guess at the server.
func typedCodename(typed string, p *answersPage) (answers.Codename, bool) {
	c, err := answers.ParseCodename(typed)
	var ce *answers.CharError
	var le *answers.LengthError
	switch {
	case err == nil:
		p.Codename = c.String()
		return c, true
	case errors.As(err, &ce):
		p.Error, p.ErrPos, p.ErrChar = "char", ce.Pos, string(ce.Char)
	case errors.As(err, &le):
		p.Error, p.ErrCount = "length", le.Digits
	default:
		p.Error = "check"
	}
	return c, false
}

// pacedPage takes one of answer_checks, or says busy on the page with a 429 and Retry-After.
func (s *server) pacedPage(c echo.Context, p *answersPage) bool {
	if ok, wait := s.checks.take(); !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		p.Error = "busy"
		return false
	}
	return true
}

// pageStep is what the steps without attachments share: the page, the body, the codename
// parsed, the pace, an upload's place (taken before the mailbox is opened, for a wrong codename
// as for a right one: answers.go, readAnswers), the derivation. When it returns keys, the caller
// holds the place and must call done.
func (s *server) pageStep(c echo.Context) (org *organisation, site *answersSite, r *pageRequest, p *answersPage, keys *answers.Keys, done func(), err error) {
	org, site, err = s.answersPageOf(c)
	if err != nil {
		return
	}
	p = &answersPage{}
	r, status := readPageRequest(c)
	if r == nil {
		p.Error = "failed"
		err = s.showAnswers(c, site, status, p)
		return
	}
	codename, ok := typedCodename(r.codename, p)
	if !ok {
		err = s.showAnswers(c, site, http.StatusBadRequest, p)
		return
	}
	if !s.pacedPage(c, p) {
		err = s.showAnswers(c, site, http.StatusTooManyRequests, p)
		return
	}
	if !take(c.Request().Context(), s.uploads, 0) {
		p.Error = "busy"
		err = s.showAnswers(c, site, http.StatusServiceUnavailable, p)
		return
	}
	keys, err = answers.Derive(codename, org.ID)
	if err != nil {
		<-s.uploads
		keys = nil
		s.alert("answers page: a codename's values could not be derived")
		p.Error = "failed"
		err = s.showAnswers(c, site, http.StatusInternalServerError, p)
		return
	}
	// As long as a large upload may take: the page and a file go the same slow ways.
	http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(s.cfg.BodyTimeout.Duration))
	done = func() {
		clear(keys.Token)
		<-s.uploads
	}
	return
}

// readPage reads and decrypts the mailbox: POST .../answers-page/<lang> with codename.
func (s *server) readPage(c echo.Context) error {
	org, site, _, p, keys, done, err := s.pageStep(c)
	if keys == nil {
		return err
	}
	defer done()
	return s.listed(c, site, org, keys, p, http.StatusOK)
}

// deletePage deletes one answer and lists the rest: POST .../delete with codename and id. An id
// that is not there deletes nothing, as for the mailbox route: .Deleted is false.
func (s *server) deletePage(c echo.Context) error {
	org, site, r, p, keys, done, err := s.pageStep(c)
	if keys == nil {
		return err
	}
	defer done()
	if !answerID.MatchString(r.id) {
		p.Error = "failed"
		return s.showAnswers(c, site, http.StatusBadRequest, p)
	}
	p.Deleted, err = deleteAnswer(org.answers, keys.Lookup, r.id)
	if err != nil {
		s.alert("answers: an answer could not be deleted: " + errorKind(err))
		p.Error = "failed"
		return s.showAnswers(c, site, http.StatusInternalServerError, p)
	}
	return s.listed(c, site, org, keys, p, http.StatusOK)
}

// filePage gives one attachment of one answer: POST .../file with codename, id and n (from 1).
// It is streamed as it is decrypted, with its length: each of SEIPDv2's chunks is authenticated
// before its bytes are given out, and a file cut short by an error is cut short on the wire too,
// so the browser does not keep it as whole. An answer or a file that is not there (a wrong
// codename, an answer deleted meanwhile, one that cannot be opened) gets a 404 and the page
// listing the mailbox, with .Error "failed".
func (s *server) filePage(c echo.Context) error {
	org, site, r, p, keys, done, err := s.pageStep(c)
	if keys == nil {
		return err
	}
	defer done()
	n, nerr := strconv.Atoi(r.n)
	if !answerID.MatchString(r.id) || nerr != nil || n < 1 || n > answers.MaxAttachments {
		p.Error = "failed"
		return s.showAnswers(c, site, http.StatusBadRequest, p)
	}
	f, err := openNoLink(filepath.Join(org.answers, keys.Lookup, r.id+answerExt))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.alert("answers: an answer is unreadable: " + errorKind(err))
	}
	if err == nil {
		defer f.Close()
		att, body := attachment(f, keys.AnswerPass, n)
		if att != nil {
			h := c.Response().Header()
			h.Set(echo.HeaderContentType, "application/octet-stream") // never the type the answer names
			h.Set(echo.HeaderContentDisposition, contentDisposition(att.Name))
			h.Set(echo.HeaderContentLength, strconv.FormatInt(att.Size, 10))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Cache-Control", "no-store")
			c.Response().WriteHeader(http.StatusOK)
			if _, err := io.Copy(c.Response(), body); err != nil {
				s.alert("answers page: a file was cut short: " + errorKind(err))
			}
			return nil
		}
	}
	p.Error = "failed"
	return s.listed(c, site, org, keys, p, http.StatusNotFound)
}

// attachment opens attachment n (from 1) of an encrypted answer, or nil when the answer does not
// open or has no such file.
func attachment(f io.Reader, pass string, n int) (*answers.Attachment, io.Reader) {
	plain, err := answers.Decrypt(f, pass)
	if err != nil {
		return nil, nil
	}
	r, err := answers.NewReader(plain)
	if err != nil || n > len(r.Answer().Attachments) {
		return nil, nil
	}
	for {
		att, body, err := r.Next()
		if err != nil {
			return nil, nil
		}
		if n--; n == 0 {
			return att, body
		}
	}
}

// contentDisposition offers a file for download under its name: RFC 6266's filename* in UTF-8
// (RFC 8187), and an ASCII filename for browsers that do not read it.
func contentDisposition(name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			ext.WriteByte(b)
		} else {
			fmt.Fprintf(&ext, "%%%02X", b)
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar is RFC 8187's attr-char: what a filename* value may hold unescaped.
func isAttrChar(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}

// listed reads the mailbox into the page and shows it. The caller holds an upload's place.
func (s *server) listed(c echo.Context, site *answersSite, org *organisation, keys *answers.Keys, p *answersPage, status int) error {
	if err := s.readMailbox(org, keys, p); err != nil {
		p.Error = "failed"
		return s.showAnswers(c, site, http.StatusInternalServerError, p)
	}
	return s.showAnswers(c, site, status, p)
}

// readMailbox decrypts every answer of the codename's mailbox in memory, newest first as the
// mailbox route lists them, and puts their text and files' names into the page. Each answer is
// read to its end, through its attachments (dropped) and padding, so that every tag is checked:
// one that does not open or parse is counted in Broken and not shown. A mailbox that does not
// exist reads as an empty one.
func (s *server) readMailbox(org *organisation, keys *answers.Keys, p *answersPage) error {
	list, err := mailbox(org.answers, keys.Lookup)
	if err != nil {
		s.alert("answers: a mailbox is unreadable: " + errorKind(err))
		return err
	}
	defer closeAll(list)
	p.Read = true
	for _, a := range list {
		answer, err := openAnswer(a.file, keys.AnswerPass)
		if err != nil {
			p.Broken++
			continue
		}
		pa := pageAnswer{ID: a.id, Day: a.day, Lang: answer.Lang, Text: answer.Text}
		for i, at := range answer.Attachments {
			pa.Files = append(pa.Files, pageFile{N: i + 1, Name: at.Name, Size: decimalSize(at.Size)})
		}
		p.Answers = append(p.Answers, pa)
	}
	return nil
}

// openAnswer decrypts and reads one answer to its end, keeping all but its files' bytes.
func openAnswer(f io.Reader, pass string) (*answers.Answer, error) {
	plain, err := answers.Decrypt(f, pass)
	if err != nil {
		return nil, err
	}
	r, err := answers.NewReader(plain)
	if err != nil {
		return nil, err
	}
	for {
		_, body, err := r.Next()
		if err == io.EOF {
			return r.Answer(), nil
		}
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, err
		}
	}
}

// decimalSize is a size as the page shows it, in decimal units: "512 B", "34 kB", "1.2 MB".
func decimalSize(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, unit := float64(n)/1000, "kB"
	for _, u := range []string{"MB", "GB"} {
		if v < 999.5 { // shown as at most "999"
			break
		}
		v, unit = v/1000, u
	}
	if v < 9.95 {
		return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " " + unit
}

// morePage stores a follow-up and lists the answers: POST .../more, multipart with codename, more
// and files. It is read as a form sent without JavaScript is (forms.go: the plaintext memory, a
// max_plain_forms place and an upload place, the body limit, the same limits per field), its
// attachments at most 25 MiB together as the forms', and stored as a submission of the procedure
// "follow-up" with the codename's case. Text or at least one file is needed: an empty follow-up
// is refused with a 400 and .Error "more_empty".
func (s *server) morePage(c echo.Context) (err error) {
	org, site, err := s.answersPageOf(c)
	if err != nil {
		return err
	}
	p := &answersPage{}
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.alert(panicAt())
			p.Error, p.Read, p.Answers = "more_failed", false, nil
			err = s.showAnswers(c, site, http.StatusInternalServerError, p)
		}
	}()
	def := &formDef{Organisation: org.ID, Procedure: followUpProcedure, Lang: c.Param("lang"), Fields: []formField{
		{Name: "codename", Type: "text"},
		{Name: "more", Label: site.MoreLabel, Type: "textarea"},
		{Name: "files", Type: "files"},
	}}
	mem := s.plain.request(s.cfg.BodyLimit + window)
	var sub *submission.Submission
	defer func() { wipeSubmission(sub); mem.release() }()
	var keys *answers.Keys
	defer func() {
		if keys != nil {
			clear(keys.Token)
		}
	}()
	id, err := s.receiveForm(c, org, def, mem, &sub, func(sub *submission.Submission) error {
		var err error
		keys, err = s.followUp(c, org, sub, p)
		return err
	})
	if err != nil {
		fe := s.formErrorFor(err)
		if p.Error == "" {
			p.Error = moreErrors[fe.key]
			if p.Error == "" {
				p.Error = "more_failed"
			}
		}
		return s.showAnswers(c, site, fe.status, p)
	}
	p.Sent = id
	return s.showAnswers(c, site, http.StatusOK, p)
}

// moreErrors are the page's words for a form's refusals; any other is more_failed (a text too
// long among them: too_large speaks of files).
var moreErrors = map[string]string{
	"busy": "busy", "too_large": "too_large",
}

// followUp turns a follow-up form just read into the submission to encrypt, inside the form's
// places: the codename out of its fields, checked, paced and derived; the followup value with
// the case only. It reads the mailbox into the page meanwhile, while the upload place is held.
// Its refusals are formErrors whose key is the page's .Error.
func (s *server) followUp(c echo.Context, org *organisation, sub *submission.Submission, p *answersPage) (*answers.Keys, error) {
	typed := sub.Fields[0].Value
	sub.Fields[0].Value = ""
	sub.Fields = sub.Fields[1:] // the codename is no answer: it never goes into the submission
	codename, ok := typedCodename(typed, p)
	if !ok {
		return nil, &formError{status: http.StatusBadRequest, key: p.Error, detail: "the codename does not parse"}
	}
	if sub.Fields[0].Value == "" && len(sub.Attachments) == 0 {
		p.Error = "more_empty"
		return nil, &formError{status: http.StatusBadRequest, key: p.Error, detail: "neither text nor a file"}
	}
	if sub.TotalSize(answers.MaxAttachmentBytes) < 0 {
		p.Error = "too_large"
		return nil, &formError{status: http.StatusRequestEntityTooLarge, key: p.Error, detail: "attachments over 25 MiB"}
	}
	if !s.pacedPage(c, p) {
		return nil, &formError{status: http.StatusTooManyRequests, key: p.Error, detail: "over answer_checks"}
	}
	keys, err := answers.Derive(codename, org.ID)
	if err != nil {
		s.alert("answers page: a codename's values could not be derived")
		return nil, &formError{status: http.StatusInternalServerError, key: "more_failed"}
	}
	if sub.Followup, err = json.Marshal(keys.FollowUp()); err != nil {
		return keys, &formError{status: http.StatusInternalServerError, key: "more_failed"}
	}
	if err := sub.CheckHeader(); err != nil {
		return keys, &formError{status: http.StatusRequestEntityTooLarge, key: "too_large", detail: "the header does not fit"}
	}
	if err := s.readMailbox(org, keys, p); err != nil {
		p.Read, p.Answers, p.Broken = false, nil, 0 // the follow-up is still sent
	}
	return keys, nil
}
