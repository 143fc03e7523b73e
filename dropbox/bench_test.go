package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/spool"
)

// The CPU and allocations of accepting one ciphertext upload, in process, against a bare handler
// that does the same disk work (loadgen baseline-server's): what the drop box adds per request,
// without the network or the load generator. docs/benchmarks.md uses it to profile:
//
//	TMPDIR=/dev/shm go test -run '^$' -bench Accept -benchmem -cpuprofile cpu.out ./dropbox
//
// (on tmpfs the fsyncs cost nothing and the CPU of each handler is what is left).

var acceptSizes = []int{16 << 10, 4 << 20, 25 << 20}

func BenchmarkAccept(b *testing.B) {
	keys, _ := policytest.Staff(b)
	for _, size := range acceptSizes {
		plain := make([]byte, size)
		rand.Read(plain)
		msg := policytest.Encrypt(b, plain, keys...)
		b.Run(fmt.Sprintf("dropbox/%s", humanBytes(int64(size))), func(b *testing.B) {
			cfg := defaults()
			cfg.Spool = filepath.Join(b.TempDir(), "spool")
			sp, err := spool.Open(cfg.Spool, 0)
			if err != nil {
				b.Fatal(err)
			}
			s := newServer(cfg, policytest.Recipients(keys...), sp, os.DirFS(b.TempDir()), slog.New(slog.NewTextHandler(io.Discard, nil)))
			benchmarkHandler(b, s, msg, cfg.Spool)
		})
		b.Run(fmt.Sprintf("baseline/%s", humanBytes(int64(size))), func(b *testing.B) {
			dir := b.TempDir()
			incoming := filepath.Join(dir, ".incoming")
			if err := os.Mkdir(incoming, 0o700); err != nil {
				b.Fatal(err)
			}
			benchmarkHandler(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, err := storeBare(http.MaxBytesReader(w, r.Body, 32<<20), dir, incoming)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusCreated)
				fmt.Fprintf(w, "{\"id\":%q}\n", id)
			}), msg, dir)
		})
	}
}

// benchmarkHandler posts msg to h again and again, and removes each stored file from dir again,
// so that the folder stays small.
func benchmarkHandler(b *testing.B, h http.Handler, msg []byte, dir string) {
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/submissions", bytes.NewReader(msg))
			req.Header.Set("Content-Type", "application/octet-stream")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var answer struct{ ID string }
			if err := json.Unmarshal(rec.Body.Bytes(), &answer); rec.Code != http.StatusCreated || err != nil || answer.ID == "" {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if err := os.Remove(filepath.Join(dir, answer.ID+spool.Ext)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var bareBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// storeBare is loadgen baseline-server's disk work: the body into a new file in 64 KiB pieces,
// fsync, rename, fsync of the folder.
func storeBare(body io.Reader, dir, incoming string) (string, error) {
	tmp, err := os.CreateTemp(incoming, "*")
	if err != nil {
		return "", err
	}
	defer tmp.Close()
	// Neither side's shortcut: the body as net/http gives it has no WriteTo, and *os.File's
	// ReadFrom would copy in 32 KiB pieces.
	buf := bareBuffers.Get().(*[]byte)
	defer bareBuffers.Put(buf)
	if _, err := io.CopyBuffer(struct{ io.Writer }{tmp}, struct{ io.Reader }{body}, *buf); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	var raw [16]byte
	rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	if err := os.Rename(tmp.Name(), filepath.Join(dir, id+spool.Ext)); err != nil {
		return "", err
	}
	return id, syncFolder(dir)
}

func syncFolder(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
