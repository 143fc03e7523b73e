package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/spool"
)

// Answers from staff wait in <answers>/<org>/<lookup>/<id>.pgp (docs/answers.md): the lookup is
// the SHA-256 of the token only the codename gives, so the server files answers under a name it
// cannot link to the complaint, and every time on that disk (files and folders) is a day, 00:00
// UTC. The person reads and deletes them with the token, in a POST body; a token that finds
// nothing gets the same answer, after the same work, as one whose mailbox is empty.

var (
	lookupPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	answerID      = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

const (
	answerExt = ".pgp"
	// incomingPrefix names an answer being imported; nothing reads it, the sweeper clears it.
	incomingPrefix = ".incoming-"
	// maxCheckBody is the most a request to the mailbox may send: a token and an id.
	maxCheckBody = 1 << 10
)

// dayOf is the day t falls on, as the time 00:00 UTC: the only time an answer keeps.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// openNoLink opens a regular file, without recording the time of the read, and refuses a link or
// anything else.
func openNoLink(path string) (*os.File, error) {
	f, err := openNoAtime(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = errNotRegular
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

var errNotRegular = errors.New("not a regular file")

// openNoAtime opens without recording the time of the read (oNoAtime), or, when the kernel
// refuses that because the file is not the drop box's own, as an ordinary open.
func openNoAtime(path string, flags int) (*os.File, error) {
	f, err := os.OpenFile(path, flags|oNoAtime, 0)
	if errors.Is(err, syscall.EPERM) {
		return os.OpenFile(path, flags, 0)
	}
	return f, err
}

// readDirNoAtime lists a folder without recording the time of the listing, as openNoLink reads.
func readDirNoAtime(dir string) ([]os.DirEntry, error) {
	d, err := openNoAtime(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	slices.SortFunc(entries, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

// storedAnswer is one answer in a mailbox, open for reading.
type storedAnswer struct {
	id   string
	day  string
	file *os.File
}

// mailbox opens the answers in <box>/<lookup>, newest day first and by id within a day. A
// mailbox that does not exist is empty.
func mailbox(box, lookup string) ([]storedAnswer, error) {
	entries, err := readDirNoAtime(filepath.Join(box, lookup))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []storedAnswer
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), answerExt)
		if !ok || !answerID.MatchString(id) || !e.Type().IsRegular() {
			continue
		}
		f, err := openNoLink(filepath.Join(box, lookup, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			closeAll(list)
			return nil, err
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			closeAll(list)
			return nil, err
		}
		list = append(list, storedAnswer{id: id, day: info.ModTime().UTC().Format(time.DateOnly), file: f})
	}
	slices.SortFunc(list, func(a, b storedAnswer) int {
		if c := strings.Compare(b.day, a.day); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return list, nil
}

func closeAll(list []storedAnswer) {
	for _, a := range list {
		a.file.Close()
	}
}

// goneDir is where a box remembers the answers it deleted, so that importing the same outbox
// again brings back neither what a person deleted nor what expired: one empty file per answer,
// named by the SHA-256 of its id and never by its mailbox, its time 1970-01-01 so that it keeps
// no day. They are never deleted: each is a name and nothing else.
const goneDir = ".gone"

// goneMark is the file that says the answer id was deleted from box.
func goneMark(box, id string) string {
	h := sha256.Sum256([]byte(id))
	return filepath.Join(box, goneDir, hex.EncodeToString(h[:]))
}

// markGone records, durably, that the answer id of box is deleted; it is called before the
// answer is, so that a crash between the two leaves an answer that will not come back once gone.
func markGone(box, id string) error {
	dir := filepath.Join(box, goneDir)
	made := false
	if err := os.Mkdir(dir, 0o700); err == nil {
		made = true
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	mark := goneMark(box, id)
	f, err := os.OpenFile(mark, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chtimes(mark, time.Unix(0, 0), time.Unix(0, 0)); err != nil {
		return err
	}
	if err := spool.SyncDir(dir); err != nil {
		return err
	}
	today := dayOf(time.Now())
	os.Chtimes(dir, today, today)
	if made {
		if err := spool.SyncDir(box); err != nil {
			return err
		}
		os.Chtimes(box, today, today)
	}
	return nil
}

// wasDeleted tells whether the answer id was deleted from box, by its person or by the sweep.
func wasDeleted(box, id string) bool {
	_, err := os.Lstat(goneMark(box, id))
	return err == nil
}

// deleteAnswer removes one answer from <box>/<lookup>, and the folder once it is empty, and
// remembers it in goneDir. The folders that changed get the day as their time again.
func deleteAnswer(box, lookup, id string) (bool, error) {
	dir := filepath.Join(box, lookup)
	path := filepath.Join(dir, id+answerExt)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err := markGone(box, id); err != nil {
		return false, err
	}
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	today := dayOf(time.Now())
	if os.Remove(dir) == nil {
		spool.SyncDir(box)
		os.Chtimes(box, today, today)
	} else {
		spool.SyncDir(dir)
		os.Chtimes(dir, today, today)
	}
	return true, nil
}

// checkRequest is what a mailbox check sends: the token, and for a deletion the answer's id.
type checkRequest struct {
	Token string `json:"token"`
	ID    string `json:"id"`
}

// readCheck reads a small JSON or form body.
func readCheck(c echo.Context) (*checkRequest, error) {
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, maxCheckBody)
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if mt != "application/json" && mt != "application/x-www-form-urlencoded" {
		return nil, fail(http.StatusUnsupportedMediaType, `send {"token": "..."} as application/json or as a form (application/x-www-form-urlencoded)`)
	}
	var cr checkRequest
	body, err := io.ReadAll(req.Body)
	if err == nil && mt == "application/json" {
		d := json.NewDecoder(bytes.NewReader(body))
		d.DisallowUnknownFields()
		if err = d.Decode(&cr); err == nil && d.More() {
			err = errors.New("more than one value")
		}
	} else if err == nil {
		var form url.Values
		if form, err = url.ParseQuery(string(body)); err == nil {
			cr.Token, cr.ID = form.Get("token"), form.Get("id")
		}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, fail(http.StatusRequestEntityTooLarge, "the request is larger than 1 KiB; send only the token, and for a deletion the answer's id")
	case err != nil:
		return nil, fail(http.StatusBadRequest, `the request could not be read; send {"token": "<32 hex digits>"} and, to delete, "id"`)
	}
	return &cr, nil
}

// checkToken is the mailbox a request names, or a 400 for a token that is not one.
func checkToken(token string) (string, error) {
	lookup, err := answers.LookupFor(token)
	if err != nil {
		return "", fail(http.StatusBadRequest, "the token is 32 lower-case hex digits, derived from the codename on the device; check the codename and try again")
	}
	return lookup, nil
}

// mailboxChecks paces reading and deleting answers, server-wide: a token bucket.
type mailboxChecks struct {
	mu     sync.Mutex
	rate   float64 // tokens a second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newMailboxChecks(rate, burst int) *mailboxChecks {
	return &mailboxChecks{rate: float64(rate), burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// take takes a check, or says how long until one is free.
func (m *mailboxChecks) take() (bool, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !m.last.IsZero() {
		m.tokens = min(m.burst, m.tokens+now.Sub(m.last).Seconds()*m.rate)
	}
	m.last = now
	if m.tokens >= 1 {
		m.tokens--
		return true, 0
	}
	return false, time.Duration((1 - m.tokens) / m.rate * float64(time.Second))
}

// paced answers a 429 when checks come faster than answer_checks allows.
func (s *server) paced(c echo.Context) error {
	if ok, wait := s.checks.take(); !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return fail(http.StatusTooManyRequests, "too many answers are being looked for just now; nothing was done; please try again in a few seconds")
	}
	return nil
}

// mailboxRequest is what both routes do first: the organisation, the pace, the body, the
// token hashed to the mailbox's lookup.
func (s *server) mailboxRequest(c echo.Context) (*organisation, string, *checkRequest, error) {
	org, err := s.organisation(c)
	if err != nil {
		return nil, "", nil, err
	}
	if err := s.paced(c); err != nil {
		return nil, "", nil, err
	}
	cr, err := readCheck(c)
	if err != nil {
		return nil, "", nil, err
	}
	lookup, err := checkToken(cr.Token)
	if err != nil {
		return nil, "", nil, err
	}
	return org, lookup, cr, nil
}

// readAnswers answers {"answers": [{"id", "day", "data"}]}, newest first, the data the
// encrypted answer in base64. It streams: an answer may be as large as the form's attachments.
func (s *server) readAnswers(c echo.Context) error {
	org, lookup, _, err := s.mailboxRequest(c)
	if err != nil {
		return err
	}
	// An answer goes out as slowly as an upload comes in, so a read holds an upload's place: the
	// places bound what slow readers can hold. Taken before the mailbox is opened, for a wrong
	// token as for a right one, so that a busy answer says nothing about the mailbox.
	if !take(c.Request().Context(), s.uploads, 0) {
		return busy(c)
	}
	defer func() { <-s.uploads }()
	list, err := mailbox(org.answers, lookup)
	if err != nil {
		s.alert("answers: a mailbox is unreadable: " + errorKind(err))
		return fail(http.StatusInternalServerError, "the answers could not be read just now; please try again later")
	}
	defer closeAll(list)
	// As long as a large upload may take: the answer goes the same slow ways.
	http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(s.cfg.BodyTimeout.Duration))
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, `{"answers":[`)
	for i, a := range list {
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, `{"id":"`+a.id+`","day":"`+a.day+`","data":"`)
		enc := base64.NewEncoder(base64.StdEncoding, w)
		if _, err := io.Copy(enc, a.file); err != nil {
			s.alert("answers: an answer could not be read while sent: " + errorKind(err))
			return nil // the body is cut short: the browser sees JSON that does not parse
		}
		enc.Close()
		io.WriteString(w, `"}`)
	}
	io.WriteString(w, "]}\n")
	return nil
}

// deleteAnswerRoute deletes one answer of the token's mailbox: {"deleted": true} if it was there.
func (s *server) deleteAnswerRoute(c echo.Context) error {
	org, lookup, cr, err := s.mailboxRequest(c)
	if err != nil {
		return err
	}
	if !answerID.MatchString(cr.ID) {
		return fail(http.StatusBadRequest, "the id is the 32 lower-case hex digits the list of answers gives")
	}
	deleted, err := deleteAnswer(org.answers, lookup, cr.ID)
	if err != nil {
		s.alert("answers: an answer could not be deleted: " + errorKind(err))
		return fail(http.StatusInternalServerError, "the answer could not be deleted just now; please try again later")
	}
	return c.JSON(http.StatusOK, map[string]bool{"deleted": deleted})
}

// sweepAnswers deletes the answers of every mailbox in box imported before cutoff, imports a
// crash left behind, and the folders that are left empty. It returns how many answers it deleted.
func sweepAnswers(box string, cutoff time.Time) (int, error) {
	mailboxes, err := os.ReadDir(box)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	deleted := 0
	var firstErr error
	note := func(err error) {
		if err != nil && !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
			firstErr = err
		}
	}
	changed := false
	for _, mb := range mailboxes {
		if !mb.IsDir() || !lookupPattern.MatchString(mb.Name()) {
			continue
		}
		dir := filepath.Join(box, mb.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			note(err)
			continue
		}
		left := len(files)
		for _, f := range files {
			info, err := f.Info()
			if err != nil {
				note(err)
				continue
			}
			id, isAnswer := strings.CutSuffix(f.Name(), answerExt)
			isAnswer = isAnswer && answerID.MatchString(id)
			incoming := strings.HasPrefix(f.Name(), incomingPrefix)
			old := info.ModTime().Before(cutoff)
			// An import in progress has a real time until it is renamed; one a crash left
			// is cleared after a day.
			stale := incoming && time.Since(info.ModTime()) > 24*time.Hour
			if (isAnswer && old) || stale {
				if isAnswer {
					if err := markGone(box, id); err != nil {
						note(err)
						continue
					}
				}
				if err := os.Remove(filepath.Join(dir, f.Name())); err != nil {
					note(err)
					continue
				}
				left--
				if isAnswer {
					deleted++
				}
			}
		}
		if left == 0 && os.Remove(dir) == nil {
			changed = true
		} else if left < len(files) {
			today := dayOf(time.Now())
			os.Chtimes(dir, today, today)
		}
	}
	if changed {
		today := dayOf(time.Now())
		os.Chtimes(box, today, today)
	}
	return deleted, firstErr
}

// sweepEvery sweeps each organisation's answers, and counts the submissions waiting too long for
// an export, now and every interval until stop is closed.
func (s *server) sweepEvery(interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		s.sweep(time.Now())
		s.countUnexported(time.Now())
		select {
		case <-tick.C:
		case <-stop:
			return
		}
	}
}

// sweep deletes the answers older than answer_retention and counts them in the journal.
func (s *server) sweep(now time.Time) {
	cutoff := now.Add(-s.cfg.AnswerRetention.Duration)
	total := 0
	for _, o := range s.orgs {
		n, err := sweepAnswers(o.answers, cutoff)
		total += n
		if err != nil {
			s.alert("answers: the retention sweep could not delete everything: " + errorKind(err))
		}
	}
	if total > 0 {
		s.journal.add("expired_answers_deleted", total)
	}
}
