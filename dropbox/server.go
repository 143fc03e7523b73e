package main

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

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

type server struct {
	cfg        Config
	recipients []*policy.Recipient
	spool      *spool.Spool
	uploads    chan struct{} // one token per upload being read
	plainForms chan struct{} // one token per form without JavaScript held in memory
	site       fs.FS
	log        *slog.Logger
}

func newServer(cfg Config, recipients []*policy.Recipient, sp *spool.Spool, files fs.FS, log *slog.Logger) *echo.Echo {
	s := &server{cfg: cfg, recipients: recipients, spool: sp, log: log, site: files,
		uploads: make(chan struct{}, cfg.MaxUploads), plainForms: make(chan struct{}, cfg.MaxPlainForms)}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.headersAndLog)
	e.POST("/api/v1/submissions", s.submit)
	e.POST("/api/v1/forms/:lang/:procedure", s.submitForm)
	e.GET("/healthz", s.health)
	e.GET("/*", echo.WrapHandler(siteHandler(files)))
	return e
}

// headersAndLog sets the security headers and logs one line per request: method, route, status,
// size and time. Never the address, the user agent, the query or anything from the body.
func (s *server) headersAndLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		h := c.Response().Header()
		for k, v := range securityHeaders {
			h.Set(k, v)
		}
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		s.log.Info("request", "method", c.Request().Method, "route", c.Path(),
			"status", c.Response().Status, "bytes", c.Response().Size, "ms", time.Since(start).Milliseconds())
		return nil
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
	if errors.As(err, &he) {
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(code)
		}
	} else {
		// Error texts can name the connection ("read tcp 127.0.0.1:8080->203.0.113.9:4711"):
		// scrub them like net/http's own log.
		s.log.Error("internal error", "error", scrub(err.Error()))
	}
	c.JSON(code, apiError{Error: msg})
}

func (s *server) health(c echo.Context) error {
	if _, err := spool.List(s.spool.Dir()); err != nil {
		s.log.Error("health: spool unreadable", "error", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "spool unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// submit stores one binary OpenPGP message that passes the policy for exactly our recipients.
func (s *server) submit(c echo.Context) error {
	req := c.Request()
	mediaType := strings.TrimSpace(strings.SplitN(req.Header.Get("Content-Type"), ";", 2)[0])
	if mediaType != "application/octet-stream" {
		return fail(http.StatusUnsupportedMediaType, "send the binary OpenPGP message as application/octet-stream")
	}
	id, err := s.store(c, func(check func(io.Reader) error) (string, error) {
		return s.spool.Store(req.Body, check)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"id": id})
}

// store runs one upload under the limits every upload shares: the concurrency cap, the body limit
// and the body timeout. write stores the submission, calling check on the ciphertext it stores.
// It returns the submission's id, or an error ready for the client.
func (s *server) store(c echo.Context, write func(check func(io.Reader) error) (string, error)) (string, error) {
	select {
	case s.uploads <- struct{}{}:
		defer func() { <-s.uploads }()
	default:
		c.Response().Header().Set("Retry-After", "30")
		return "", fail(http.StatusServiceUnavailable, "the drop box is busy; nothing was kept; please send again in a minute")
	}
	req, w := c.Request(), c.Response()
	if req.ContentLength > s.cfg.BodyLimit {
		w.Header().Set("Connection", "close")
		return "", fail(http.StatusRequestEntityTooLarge, tooLarge(s.cfg.BodyLimit))
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout.Duration))
	rc.SetWriteDeadline(time.Now().Add(s.cfg.BodyTimeout.Duration + 30*time.Second))
	req.Body = http.MaxBytesReader(w, req.Body, s.cfg.BodyLimit)

	id, err := write(func(r io.Reader) error {
		_, err := policy.Validate(r, s.recipients)
		return err
	})
	if err != nil {
		return "", s.uploadError(err)
	}
	return id, nil
}

func tooLarge(limit int64) string {
	return "the submission is larger than " + humanBytes(limit) + "; send fewer or smaller attachments"
}

func (s *server) uploadError(err error) error {
	var pe *policy.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return fail(http.StatusRequestEntityTooLarge, tooLarge(mbe.Limit))
	case errors.Is(err, policy.ErrArmored):
		return fail(http.StatusUnsupportedMediaType, err.Error())
	case errors.As(err, &pe):
		s.log.Info("refused a message that breaks the policy")
		return fail(http.StatusUnprocessableEntity, "the message was refused and nothing was kept: "+pe.Reason)
	case errors.Is(err, spool.ErrOverQuota):
		s.log.Error("spool over quota: collect submissions")
		return fail(http.StatusServiceUnavailable, "the drop box is full for now; nothing was kept; please try again later")
	case errors.Is(err, spool.ErrDiskFull):
		s.log.Error("spool disk full", "error", err)
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
// and the site's own 404 page for everything else.
func siteHandler(files fs.FS) http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "" {
			name = "."
		}
		info, err := fs.Stat(files, name)
		if err == nil && info.IsDir() {
			_, err = fs.Stat(files, path.Join(name, "index.html"))
		}
		if err != nil {
			notFound(w, files)
			return
		}
		fileServer.ServeHTTP(w, r)
	})
}

func notFound(w http.ResponseWriter, files fs.FS) {
	page, err := fs.ReadFile(files, "404.html")
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write(page)
}
