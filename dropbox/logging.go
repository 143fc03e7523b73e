package main

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The log is for keeping the service running, and a seized server's log must say no more than its
// spool: that some submissions arrived, on which day. So nothing a request causes is written when
// it happens: the journal collects counts of answers (by kind of route and status class) and the
// alerts the server defines (a full disk, an internal error by kind, a panic by where), and writes
// them once every log_interval (an hour by default), so that neither our time field, cut to the
// minute, nor the system journal's own time stamp can be matched to one request. Start and stop
// are written at once. No line carries a request's address, agent, path, procedure, size, or any
// text derived from it (an error's text can quote the body: Go's multipart parser quotes the
// line it could not read). Uploads and forms sent without JavaScript are counted as one kind.

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

// journal holds what the log will say at the next tick.
type journal struct {
	mu     sync.Mutex
	counts map[string]int
	alerts map[alertKey]int
}

type alertKey struct {
	level slog.Level
	msg   string
}

// routeKind names a route for the log: which page, form or way of sending is not its business.
func routeKind(route string) string {
	switch {
	case strings.HasSuffix(route, "/more"):
		// A follow-up sent without JavaScript is an upload like any other: counted apart, the
		// hour's uploads would tell how many of the day's new spool files are follow-ups.
		return "upload"
	case strings.HasPrefix(route, "/api/v1/orgs/:org/answers"):
		return "answers"
	case strings.HasPrefix(route, "/api/v1/orgs/"):
		return "upload"
	case route == "/healthz":
		return "health"
	}
	return "site"
}

// count notes one answer.
func (j *journal) count(route string, status int) {
	key := routeKind(route) + "_" + string("12345"[min(max(status/100, 1), 5)-1]) + "xx"
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.counts == nil {
		j.counts = map[string]int{}
	}
	j.counts[key]++
}

// add notes n of something the server counts itself, such as expired answers it deleted.
func (j *journal) add(key string, n int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.counts == nil {
		j.counts = map[string]int{}
	}
	j.counts[key] += n
}

// alert notes a condition for the operator: msg must be the server's own words, never a request's.
func (j *journal) alert(level slog.Level, msg string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.alerts == nil {
		j.alerts = map[alertKey]int{}
	}
	j.alerts[alertKey{level, msg}]++
}

// flush writes what was noted since the last flush, if anything was.
func (j *journal) flush(log *slog.Logger) {
	j.mu.Lock()
	counts, alerts := j.counts, j.alerts
	j.counts, j.alerts = nil, nil
	j.mu.Unlock()
	if len(counts) > 0 {
		keys := slices.Sorted(maps.Keys(counts))
		args := make([]any, 0, 2*len(keys))
		for _, k := range keys {
			args = append(args, k, counts[k])
		}
		log.Info("answers since the last count", args...)
	}
	for _, k := range slices.SortedFunc(maps.Keys(alerts), func(a, b alertKey) int { return strings.Compare(a.msg, b.msg) }) {
		log.Log(context.Background(), k.level, k.msg, "times", alerts[k])
	}
}

// every flushes the journal each interval until stop is closed, then once more.
func (j *journal) every(log *slog.Logger, interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			j.flush(log)
		case <-stop:
			j.flush(log)
			return
		}
	}
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
type httpLogWriter struct{ journal *journal }

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
	w.journal.alert(slog.LevelWarn, "http server: "+kind)
	return len(p), nil
}

func serverErrorLog(j *journal) *log.Logger {
	return log.New(httpLogWriter{j}, "", 0)
}

// panicAt names where a panic happened, by function names and lines: no values, so no plaintext.
func panicAt() string { return "panic at " + strings.Join(panicFrames(), " < ") }

func panicFrames() []string {
	pcs := make([]uintptr, 16)
	n := runtime.Callers(4, pcs)
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
