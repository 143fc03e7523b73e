package main

import (
	"log"
	"log/slog"
	"regexp"
	"strings"
)

// addressRE matches IPv4 and IPv6 addresses, with or without a port.
var addressRE = regexp.MustCompile(`\[?[0-9a-fA-F:]*:[0-9a-fA-F:.]+\]?(:\d+)?|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b`)

// scrubbedWriter receives net/http's own error log, whose lines name the client's address
// ("http: panic serving 203.0.113.9:4711"), and passes them on without it.
type scrubbedWriter struct{ log *slog.Logger }

func (w scrubbedWriter) Write(p []byte) (int, error) {
	w.log.Warn("http server", "message", scrub(string(p)))
	return len(p), nil
}

// scrub removes addresses from a message before it is logged.
func scrub(msg string) string {
	return strings.TrimSpace(addressRE.ReplaceAllString(msg, "[address]"))
}

func serverErrorLog(l *slog.Logger) *log.Logger {
	return log.New(scrubbedWriter{l}, "", 0)
}
