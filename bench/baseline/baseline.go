// Package baseline is what the drop box's throughput is measured against: a bare net/http handler
// that does the same disk work for each POST (the body into a new file in DIR/.incoming, fsync,
// rename into DIR, fsync of DIR, 201 with an id) and nothing else: no validation, no Echo, no log.
// loadgen baseline-server serves it (scripts/bench) and dropbox's BenchmarkAccept runs it in
// process, so both compare against the one same handler.
package baseline

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// Handler stores every POST body of at most limit bytes in dir.
func Handler(dir string, limit int64) (http.Handler, error) {
	incoming := filepath.Join(dir, ".incoming")
	if err := os.MkdirAll(incoming, 0o700); err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		id, err := store(http.MaxBytesReader(w, r.Body, limit), dir, incoming)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "{\"id\":%q}\n", id)
	}), nil
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func store(body io.Reader, dir, incoming string) (id string, err error) {
	var raw [16]byte
	rand.Read(raw[:])
	id = hex.EncodeToString(raw[:])
	tmp, err := os.CreateTemp(incoming, "*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Write in the drop box's pieces: its validator reads the body through a 64 KiB buffer and the
	// spool writes what each read returns. (io.Copy to an *os.File would write 32 KiB at a time:
	// twice the write calls, a handicap the drop box does not have.) The buffer is kept between
	// requests, as the drop box keeps its own, so that neither pays for zeroing 64 KiB each time.
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	if _, err = io.CopyBuffer(writerOnly{tmp}, body, *buf); err != nil {
		return "", err
	}
	if err = tmp.Sync(); err != nil {
		return "", err
	}
	if err = tmp.Close(); err != nil {
		return "", err
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, id+".pgp")); err != nil {
		return "", err
	}
	d, err := os.Open(dir)
	if err != nil {
		return "", err
	}
	defer d.Close()
	return id, d.Sync()
}

// writerOnly hides *os.File's ReadFrom, so io.CopyBuffer uses the buffer it is given.
type writerOnly struct{ io.Writer }
