package main

import (
	"errors"
	"io"
	"log"
	"log/slog"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The log is for keeping the service running, and a seized server's log must say no more than its
// spool: that some submissions arrived, on which day. So it holds only what the server itself
// defines: counts of answers by kind of route and status class, once a minute; errors by kind;
// start and stop. Times are cut to the minute. No line carries a request's address, agent, path,
// procedure, size, exact time, or any text derived from the request (an error's text can quote the
// body: Go's multipart parser quotes the line it could not read).

// newLogger writes JSON lines with times no finer than the minute.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.String(slog.TimeKey, a.Value.Time().UTC().Format("2006-01-02T15:04Z"))
			}
			return a
		},
	}))
}

// tally counts answers between two log lines, so that no line stands for one request.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
}

// routeKind names a route for the log: which page or form it was is not the log's business.
func routeKind(route string) string {
	switch {
	case route == "/api/v1/submissions":
		return "submission"
	case strings.HasPrefix(route, "/api/v1/forms/"):
		return "form"
	case route == "/healthz":
		return "health"
	}
	return "site"
}

func (t *tally) add(route string, status int) {
	key := routeKind(route) + "_" + string("12345"[min(max(status/100, 1), 5)-1]) + "xx"
	t.mu.Lock()
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	t.counts[key]++
	t.mu.Unlock()
}

// flush logs the counts since the last flush, if there were any.
func (t *tally) flush(log *slog.Logger) {
	t.mu.Lock()
	counts := t.counts
	t.counts = nil
	t.mu.Unlock()
	if len(counts) == 0 {
		return
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, counts[k])
	}
	log.Info("answers in the last minute", args...)
}

// every flushes the tally each minute until stop is closed, then once more.
func (t *tally) every(log *slog.Logger, stop <-chan struct{}) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			t.flush(log)
		case <-stop:
			t.flush(log)
			return
		}
	}
}

// alerts are conditions the operator must act on. Each is logged when it starts and then at most
// once a minute while it lasts, with how many times it happened meanwhile: not once per request.
type alerts struct {
	mu   sync.Mutex
	last map[string]time.Time
	seen map[string]int
}

func (a *alerts) raise(log *slog.Logger, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil {
		a.last, a.seen = map[string]time.Time{}, map[string]int{}
	}
	a.seen[msg]++
	if time.Since(a.last[msg]) < time.Minute {
		return
	}
	log.Error(msg, "times", a.seen[msg])
	a.last[msg], a.seen[msg] = time.Now(), 0
}

// errorKind names an error by what the server knows of it, never by its text: a system call's
// error number (a fixed vocabulary, "no space left on device"), or the kind of thing that failed.
func errorKind(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return "none"
	case errors.As(err, &errno):
		return errno.Error()
	case isTimeout(err):
		return "timeout"
	case isNetError(err):
		return "connection"
	}
	return "unclassified"
}

// httpLogWriter receives net/http's own error log. Its lines can name the client's address ("http:
// panic serving 203.0.113.9:4711") or quote a request, so only the kind of line is passed on.
type httpLogWriter struct{ log *slog.Logger }

// httpLogKinds are the beginnings of net/http's error lines that an operator may need to see.
var httpLogKinds = []string{
	"http: panic serving", "http: TLS handshake error", "http: Accept error",
	"http: superfluous response.WriteHeader", "http: response.WriteHeader on hijacked connection",
}

func (w httpLogWriter) Write(p []byte) (int, error) {
	kind := "other (text withheld)"
	for _, k := range httpLogKinds {
		if strings.HasPrefix(string(p), k) {
			kind = strings.TrimPrefix(k, "http: ")
			break
		}
	}
	w.log.Warn("http server", "kind", kind)
	return len(p), nil
}

func serverErrorLog(l *slog.Logger) *log.Logger {
	return log.New(httpLogWriter{l}, "", 0)
}

// panicFrames is where a panic happened, as function names and lines: no values, so no plaintext.
func panicFrames() []string {
	pcs := make([]uintptr, 16)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var out []string
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			out = append(out, f.Function+":"+strconv.Itoa(f.Line))
		}
		if !more || len(out) == 8 {
			return out
		}
	}
}
