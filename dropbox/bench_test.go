package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/bench/baseline"
	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/spool"
)

// BenchmarkAccept measures the CPU and allocations of accepting one ciphertext upload against a
// bare handler that does the same disk work (loadgen baseline-server's): what the drop box adds
// per request. Both are served by an http.Server with runServe's timeouts, through 32 loopback
// connections, as in scripts/bench, but with the client in the same process. To profile (on
// tmpfs the fsyncs cost nearly nothing, and what is left is the CPU of each side):
//
//	TMPDIR=/dev/shm go test -run '^$' -bench Accept/.*/16 -cpu 2 -cpuprofile cpu.out -memprofile mem.out ./dropbox

var acceptSizes = []int{16 << 10, 4 << 20, 25 << 20}

func BenchmarkAccept(b *testing.B) {
	benchmarkAccept(b, func(b *testing.B, h http.Handler, msg []byte, dir string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
			IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
		go srv.Serve(ln)
		defer srv.Close()
		url := "http://" + ln.Addr().String() + kokSubmissions
		// 16 goroutines per core: 32 connections on 2 cores, as scripts/bench's most.
		b.SetParallelism(16)
		client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, DisableCompression: true}}
		defer client.CloseIdleConnections()
		benchmarkParallel(b, msg, dir, func(body io.Reader) (int, []byte) {
			resp, err := client.Post(url, "application/octet-stream", body)
			if err != nil {
				b.Fatal(err)
			}
			defer resp.Body.Close()
			answer, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, answer
		})
	})
}

// benchmarkAccept runs send for each size, against the drop box and against the bare handler.
func benchmarkAccept(b *testing.B, send func(b *testing.B, h http.Handler, msg []byte, dir string)) {
	keys, _ := policytest.Staff(b)
	for _, size := range acceptSizes {
		plain := make([]byte, size)
		rand.Read(plain)
		msg := policytest.Encrypt(b, plain, keys...)
		b.Run(fmt.Sprintf("dropbox/%s", humanBytes(int64(size))), func(b *testing.B) {
			cfg := config.Defaults()
			cfg.Spool = filepath.Join(b.TempDir(), "spool")
			cfg.SpoolQuota = 0
			conf, orgs := testOrganisations(b, cfg)
			s := newServer(conf, orgs, os.DirFS(b.TempDir()), slog.New(slog.NewTextHandler(io.Discard, nil)))
			send(b, s, msg, filepath.Join(cfg.Spool, "kok"))
		})
		b.Run(fmt.Sprintf("baseline/%s", humanBytes(int64(size))), func(b *testing.B) {
			dir := b.TempDir()
			h, err := baseline.Handler(dir, 32<<20)
			if err != nil {
				b.Fatal(err)
			}
			send(b, h, msg, dir)
		})
	}
}

// benchmarkParallel posts msg again and again, checks each answer is 201 with an id, and removes
// the stored file from dir again, so that the folder stays small.
func benchmarkParallel(b *testing.B, msg []byte, dir string, post func(io.Reader) (int, []byte)) {
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code, answer := post(bytes.NewReader(msg))
			var created struct{ ID string }
			if err := json.Unmarshal(answer, &created); code != http.StatusCreated || err != nil || created.ID == "" {
				b.Fatalf("status %d: %s", code, answer)
			}
			if err := os.Remove(filepath.Join(dir, created.ID+spool.Ext)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
