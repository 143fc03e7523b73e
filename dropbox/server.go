package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/export"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/spool"
)

// securityHeaders go on every response. The site has no inline script or style and loads nothing
// from another host, so the policy can be this strict.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
	"Referrer-Policy":              "no-referrer",
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy": "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), " +
		"gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=(), serial=(), xr-spatial-tracking=()",
	// Nothing is cached, pages included: a cached page is a trace on a shared device.
	"Cache-Control": "no-store",
}

// securityHeaderValues is securityHeaders as header values, made once.
var securityHeaderValues = func() http.Header {
	h := http.Header{}
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
	return h
}()

type server struct {
	cfg        config.Dropbox
	orgs       map[string]*organisation
	uploads    chan struct{} // one token per upload being read
	plainForms chan struct{} // one token per form without JavaScript held in memory
	plain      *plainMemory  // where those forms' plaintext lives
	site       fs.FS
	log        *slog.Logger
	journal    journal
	waiting    atomic.Int64   // bytes of first windows that uploads without a place may still take
	reading    reading        // bodies being read, for shutdown
	inflight   sync.WaitGroup // requests being handled, for a bounded shutdown
	echo       *echo.Echo
	checks     *mailboxChecks // reading and deleting answers, server-wide
	unexported atomic.Int64   // submissions no export copied within unexported_alert, counted hourly
	// answerPages are the site's answers pages for browsers without JavaScript, parsed at
	// start, by "<lang>/<org>" (answerspage.go).
	answerPages map[string]*answersSite
}

func newServer(conf *config.Config, orgs []*organisation, files fs.FS, log *slog.Logger) *server {
	cfg := conf.Dropbox
	s := &server{cfg: cfg, orgs: map[string]*organisation{}, log: log, site: files,
		uploads: make(chan struct{}, cfg.MaxUploads), plainForms: make(chan struct{}, cfg.MaxPlainForms),
		plain:  newPlainMemory(int64(cfg.MaxPlainForms) * (cfg.BodyLimit + window)),
		checks: newMailboxChecks(cfg.AnswerChecks, cfg.AnswerBurst())}
	for _, o := range orgs {
		s.orgs[o.ID] = o
	}
	s.answerPages, _ = loadAnswerPages(files) // runServe refused to start if one does not load
	s.waiting.Store(waitingBudget(cfg))
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard) // its lines carry exact times; everything goes through the journal
	e.HTTPErrorHandler = s.handleError
	e.Use(s.headersAndCount, s.recoverPanics)
	// Each organisation's submissions arrive on its own path and land in its own spool folder.
	e.POST("/api/v1/orgs/:org/submissions", s.submit)
	e.POST("/api/v1/orgs/:org/forms/:lang/:procedure", s.submitForm)
	// Each organisation's answers, under the mailbox's lookup (answers.go).
	e.POST("/api/v1/orgs/:org/answers", s.readAnswers)
	e.POST("/api/v1/orgs/:org/answers/delete", s.deleteAnswerRoute)
	// The answers page for browsers without JavaScript (answerspage.go).
	e.POST("/api/v1/orgs/:org/answers-page/:lang", s.readPage)
	e.POST("/api/v1/orgs/:org/answers-page/:lang/delete", s.deletePage)
	e.POST("/api/v1/orgs/:org/answers-page/:lang/file", s.filePage)
	e.POST("/api/v1/orgs/:org/answers-page/:lang/more", s.morePage)
	getOrHead := []string{http.MethodGet, http.MethodHead}
	e.Match(getOrHead, "/healthz", s.health)
	e.Match(getOrHead, "/*", s.onionLocation(echo.WrapHandler(siteHandler(files, conf.DefaultLanguage))))
	s.echo = e
	return s
}

// alert notes a condition for the operator, written with the next count (logging.go).
func (s *server) alert(msg string) { s.journal.alert(slog.LevelError, msg) }

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// headersAndCount sets the security headers and counts the answer for the log (logging.go): by
// kind of route and status class, never one line per request.
func (s *server) headersAndCount(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s.inflight.Add(1)
		defer s.inflight.Done()
		h := c.Response().Header()
		for k, v := range securityHeaderValues {
			h[k] = v // canonical keys, shared values that nothing changes: no allocation per request
		}
		if err := next(c); err != nil {
			c.Error(err)
		}
		s.journal.count(c.Path(), c.Response().Status)
		return nil
	}
}

// errPanic is what a handler that panicked answers: an internal error, and nothing was kept.
var errPanic = errors.New("a handler panicked")

// recoverPanics turns a panic into a 500 and a log line that says where, without any value.
// The handlers' own deferred clean-up (the wipe of a form's plaintext) has run by then.
func (s *server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.alert(panicAt())
				err = errPanic
			}
		}()
		return next(c)
	}
}

type apiError struct {
	Error string `json:"error"`
}

func fail(code int, msg string) *echo.HTTPError {
	return echo.NewHTTPError(code, msg)
}

func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, "the drop box could not store the submission; nothing was kept; please try again later"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(code)
		}
	case errors.Is(err, errPanic):
	default:
		// Only the kind: an error's text may quote the request.
		s.alert("internal error: " + errorKind(err))
	}
	c.JSON(code, apiError{Error: msg})
}

func (s *server) health(c echo.Context) error {
	for _, o := range s.orgs {
		if _, err := spool.List(o.spool.Dir()); err != nil {
			s.alert("health: a spool folder is unreadable: " + errorKind(err))
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "spool unavailable"})
		}
	}
	// The count the hourly sweep made, not a new one: anyone may ask, as often as they like.
	return c.JSON(http.StatusOK, struct {
		Status     string `json:"status"`
		Unexported int64  `json:"unexported_too_long"`
	}{"ok", s.unexported.Load()})
}

// onionLocation tells Tor Browser, on every page, that the site is also an onion service
// (onion_location), when the operator serves it on a normal domain too.
func (s *server) onionLocation(next echo.HandlerFunc) echo.HandlerFunc {
	if s.cfg.OnionLocation == "" {
		return next
	}
	return func(c echo.Context) error {
		c.Response().Header().Set("Onion-Location", s.cfg.OnionLocation+c.Request().URL.EscapedPath())
		return next(c)
	}
}

// organisation is the organisation the request's path names, or a 404.
func (s *server) organisation(c echo.Context) (*organisation, error) {
	if o := s.orgs[c.Param("org")]; o != nil {
		return o, nil
	}
	return nil, fail(http.StatusNotFound, "no organisation of this drop box has that name; send to the address its form names")
}

// submit stores one binary OpenPGP message that passes the policy for exactly the staff keys of
// the organisation its path names.
func (s *server) submit(c echo.Context) error {
	org, err := s.organisation(c)
	if err != nil {
		return err
	}
	req := c.Request()
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/octet-stream" {
		return fail(http.StatusUnsupportedMediaType, "send the binary OpenPGP message as application/octet-stream")
	}
	body, err := s.receive(c, nil)
	if errors.Is(err, errWaitingFull) {
		return busy(c)
	}
	if err != nil {
		return s.uploadError(err)
	}
	defer body.done()
	if !take(req.Context(), s.uploads, 0) {
		return busy(c)
	}
	defer func() { <-s.uploads }()
	if err := body.holding(); err != nil {
		return errCannotPace
	}
	reserve := s.cfg.BodyLimit
	if req.ContentLength >= 0 {
		reserve = req.ContentLength
	}
	id, err := org.spool.Store(body, reserve, org.check)
	if err != nil {
		return s.uploadError(err)
	}
	return c.JSON(http.StatusCreated, map[string]string{"id": id})
}

func busy(c echo.Context) error {
	c.Response().Header().Set("Retry-After", "30")
	return fail(http.StatusServiceUnavailable, "the drop box is busy; nothing was kept; please send again in a minute")
}

// take takes a token from slots, waiting at most wait for one, and not once the request is gone.
func take(ctx context.Context, slots chan struct{}, wait time.Duration) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func tooLarge(limit int64) string {
	return "the submission is larger than " + humanBytes(limit) + "; send fewer or smaller attachments"
}

func (s *server) uploadError(err error) error {
	var pe *policy.Error
	var mbe *http.MaxBytesError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, errWaitingFull):
		return fail(http.StatusServiceUnavailable, "the drop box is busy; nothing was kept; please send again in a minute")
	case errors.As(err, &mbe):
		return fail(http.StatusRequestEntityTooLarge, tooLarge(mbe.Limit))
	case errors.Is(err, policy.ErrArmored):
		return fail(http.StatusUnsupportedMediaType, err.Error())
	case errors.As(err, &pe):
		return fail(http.StatusUnprocessableEntity, "the message was refused and nothing was kept: "+pe.Reason)
	case errors.Is(err, spool.ErrQuotaReserved):
		s.alert("spool quota taken by uploads in progress: refused some; if it lasts, raise spool_quota or collect submissions")
		return fail(http.StatusServiceUnavailable, "the drop box is full for now; nothing was kept; please try again later")
	case errors.Is(err, spool.ErrOverQuota):
		s.alert("spool over quota: staff must collect submissions")
		return fail(http.StatusServiceUnavailable, "the drop box is full for now; nothing was kept; please try again later")
	case errors.Is(err, spool.ErrDiskFull):
		s.alert("spool disk full")
		return fail(http.StatusInsufficientStorage, "the drop box has no room left; nothing was kept; please try again later")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, http.ErrBodyReadAfterClose), isTimeout(err),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed), isNetError(err):
		return fail(http.StatusBadRequest, "the upload did not arrive whole; nothing was kept; please send again")
	}
	return err
}

// isNetError reports a failure of the client's connection, which is no fault of the server.
func isNetError(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// siteHandler serves the built site: files and folders with an index.html, never a listing,
// and the site's own 404 page, in the language of the path, for everything else.
func siteHandler(files fs.FS, defaultLang string) http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "" {
			name = "."
		}
		info, err := fs.Stat(files, name)
		if hidden(name) || filledIn(name) {
			err = fs.ErrNotExist // a dotfile is never part of the built site, even in a --site folder
		}
		if err == nil && info.IsDir() {
			_, err = fs.Stat(files, path.Join(name, "index.html"))
		}
		if err != nil {
			notFound(w, files, name, defaultLang)
			return
		}
		fileServer.ServeHTTP(w, r)
	})
}

// filledIn reports whether name is a page the drop box fills in (a form's receipt and error page,
// an answers page's result): served as it is, it would show its placeholders or template syntax,
// and a form on it would post without the page's script.
func filledIn(name string) bool {
	dir, file := path.Split(name)
	switch file {
	case "receipt.html", "error.html":
		return strings.Contains(dir, "/forms/")
	case "result.html":
		return strings.Contains(dir, "/answers/")
	}
	return false
}

// hidden reports whether any element of the path starts with a dot.
func hidden(name string) bool {
	for _, el := range strings.Split(name, "/") {
		if strings.HasPrefix(el, ".") && el != "." {
			return true
		}
	}
	return false
}

// notFound answers with the 404 page of the language the path starts with, or of the default
// language: every page, this one too, has the quick exit.
func notFound(w http.ResponseWriter, files fs.FS, name, defaultLang string) {
	lang, _, _ := strings.Cut(name, "/")
	var page []byte
	err := fs.ErrNotExist
	for _, candidate := range []string{lang + "/404.html", defaultLang + "/404.html", "404.html"} {
		if langRE.MatchString(strings.TrimSuffix(candidate, "/404.html")) || candidate == "404.html" {
			if page, err = fs.ReadFile(files, candidate); err == nil {
				break
			}
		}
	}
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write(page)
}

// countUnexported counts the submissions that no export has copied and that arrived longer than
// unexported_alert ago, for the health answer and, when there are any, the log: a count for all
// organisations together, nothing more.
func (s *server) countUnexported(now time.Time) {
	cutoff := now.Add(-s.cfg.UnexportedAlert.Duration)
	total := 0
	for _, o := range s.orgs {
		n, err := export.Waiting(o.spool.Dir(), cutoff)
		if err != nil {
			s.alert("spool: could not count the submissions waiting for an export: " + errorKind(err))
		}
		total += n
	}
	s.unexported.Store(int64(total))
	if total > 0 {
		s.journal.alert(slog.LevelWarn, fmt.Sprintf("%d submissions have waited longer than %s for dropbox spool export; export them, and let the staff decrypt them", total, s.cfg.UnexportedAlert.Duration))
	}
}
