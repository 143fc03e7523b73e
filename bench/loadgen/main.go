// Command loadgen drives the drop box benchmarks (scripts/bench, docs/benchmarks.md). Everything
// it sends goes to the URL it is given, which the script points at 127.0.0.1 only.
//
//	loadgen baseline-server --listen ADDR --dir DIR
//	loadgen load --url URL --body FILE [--concurrency 32] [--requests N | --duration D] [--warmup N]
//	loadgen rss --url URL --body FILE --pid PID [--concurrency 50] [--pace D]
//	loadgen forms --url URL --pid PID [--size BYTES] [--concurrency 4] [--waves 8]
//	loadgen mksub --size BYTES --out FILE
//	loadgen report [--load FILE] [--rss FILE] [--forms FILE]
//
// Each subcommand but baseline-server and report prints one JSON line on stdout; report reads
// those lines back and prints the medians as Markdown tables.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/safe-complaints/dropbox/bench/baseline"
	"github.com/safe-complaints/dropbox/internal/submission"
)

const mib = 1 << 20

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "baseline-server":
		err = baselineServer(args)
	case "load":
		err = load(args)
	case "rss":
		err = rss(args)
	case "forms":
		err = forms(args)
	case "mksub":
		err = mksub(args)
	case "report":
		err = report(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", os.Args[1]+":", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen baseline-server|load|rss|forms|mksub|report [flags] (see the comment at the top of bench/loadgen/main.go)")
	os.Exit(2)
}

func printJSON(v any) error {
	return json.NewEncoder(os.Stdout).Encode(v)
}

// ---- baseline-server ----------------------------------------------------------------------------

// baselineServer does the drop box's disk work and nothing else: the body into a new file in
// DIR/.incoming, fsync, rename into DIR, fsync DIR, 201. No validation, no Echo, no logging.
func baselineServer(args []string) error {
	fs := flag.NewFlagSet("baseline-server", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	dir := fs.String("dir", "", "folder to store bodies in")
	limit := fs.Int64("limit", 32*mib, "largest body in bytes, as the drop box's default")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("--dir is required")
	}
	handler, err := baseline.Handler(*dir, *limit)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	fmt.Println(ln.Addr().String())
	return srv.Serve(ln)
}

// ---- load -------------------------------------------------------------------------------------

type loadResult struct {
	Label       string  `json:"label,omitempty"`
	Start       string  `json:"start"`
	BodyBytes   int     `json:"body_bytes"`
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"rps"`
	MiBps       float64 `json:"mib_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	// ServerCPUms is the server's CPU time (user and system) per counted request, when --pid is given.
	ServerCPUms float64 `json:"server_cpu_ms_per_req,omitempty"`
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Minute,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only, never through a proxy from the environment
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			DisableCompression:  true,
		},
	}
}

// post sends one body and checks the answer is 201.
func post(ctx context.Context, client *http.Client, url string, body io.Reader, size int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(size)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	return nil
}

func checkLoopback(rawURL string) error {
	// A guard against pointing the load at anything but this machine.
	rest, ok := strings.CutPrefix(rawURL, "http://")
	if !ok {
		return fmt.Errorf("%s: only http:// URLs on loopback", rawURL)
	}
	host, _, err := net.SplitHostPort(strings.SplitN(rest, "/", 2)[0])
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: only loopback addresses (127.0.0.1) are allowed", rawURL)
	}
	return nil
}

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "where to POST")
	bodyPath := fs.String("body", "", "the body to send")
	conc := fs.Int("concurrency", 32, "connections, each with one request at a time")
	requests := fs.Int("requests", 0, "requests to send (after the warm-up)")
	duration := fs.Duration("duration", 0, "send for this long instead (capped by --requests when both are given)")
	warmup := fs.Int("warmup", 0, "requests sent first and not counted")
	label := fs.String("label", "", "a name copied into the result")
	pid := fs.Int("pid", 0, "the server's process id: report its CPU time per request")
	fs.Parse(args)
	if *url == "" || *bodyPath == "" || (*requests <= 0 && *duration <= 0) || *conc < 1 {
		return errors.New("--url, --body and --requests or --duration are required")
	}
	if err := checkLoopback(*url); err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyPath)
	if err != nil {
		return err
	}
	client := newClient(*conc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	run := func(n int, until time.Time) ([]time.Duration, error) {
		var next atomic.Int64
		var mu sync.Mutex
		var firstErr error
		lat := make([][]time.Duration, *conc)
		var wg sync.WaitGroup
		for w := 0; w < *conc; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for {
					if ctx.Err() != nil {
						return
					}
					if n > 0 && next.Add(1) > int64(n) {
						return
					}
					if !until.IsZero() && time.Now().After(until) {
						return
					}
					start := time.Now()
					if err := post(ctx, client, *url, bytes.NewReader(body), len(body)); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						cancel()
						return
					}
					lat[w] = append(lat[w], time.Since(start))
				}
			}(w)
		}
		wg.Wait()
		return slices.Concat(lat...), firstErr
	}

	if *warmup > 0 {
		if _, err := run(*warmup, time.Time{}); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var until time.Time
	cpuBefore, _ := procCPU(*pid)
	start := time.Now()
	if *duration > 0 {
		until = start.Add(*duration)
	}
	lat, err := run(*requests, until)
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	var cpuPerReq float64
	if *pid > 0 {
		cpuAfter, err := procCPU(*pid)
		if err != nil {
			return err
		}
		cpuPerReq = round(float64(cpuAfter-cpuBefore)/float64(time.Millisecond)/float64(len(lat)), 3)
	}
	if len(lat) == 0 {
		return errors.New("no request completed")
	}
	slices.Sort(lat)
	secs := elapsed.Seconds()
	return printJSON(loadResult{
		Label: *label, Start: start.UTC().Format(time.RFC3339), BodyBytes: len(body), Concurrency: *conc, Requests: len(lat), Seconds: round(secs, 3),
		RPS:   round(float64(len(lat))/secs, 1),
		MiBps: round(float64(len(lat))*float64(len(body))/mib/secs, 1),
		P50ms: ms(percentile(lat, 0.50)), P99ms: ms(percentile(lat, 0.99)), MaxMs: ms(lat[len(lat)-1]),
		ServerCPUms: cpuPerReq,
	})
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

func round(f float64, digits int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', digits, 64), 64)
	return v
}

// ---- rss --------------------------------------------------------------------------------------

type rssResult struct {
	Label         string  `json:"label,omitempty"`
	Uploads       int     `json:"uploads"`
	BodyBytes     int     `json:"body_bytes"`
	PaceSeconds   float64 `json:"pace_s"`
	MaxInFlight   int64   `json:"max_in_flight"`
	Seconds       float64 `json:"seconds"`
	HWMBeforeMiB  float64 `json:"vmhwm_before_mib"`
	HWMMiB        float64 `json:"vmhwm_mib"`
	RSSAfterMiB   float64 `json:"vmrss_after_mib"`
	SampledMaxMiB float64 `json:"vmrss_sampled_max_mib"`
}

// pacedReader hands out its bytes no faster than size/pace, so every upload stays in flight for
// about pace and all of them overlap, as slow uploads over Tor would.
type pacedReader struct {
	r     *bytes.Reader
	size  int
	start time.Time
	pace  time.Duration
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.pace > 0 {
		sent := p.size - p.r.Len()
		due := p.start.Add(time.Duration(float64(p.pace) * float64(sent) / float64(p.size)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if len(b) > 256<<10 {
			b = b[:256<<10]
		}
	}
	return p.r.Read(b)
}

func rss(args []string) error {
	fs := flag.NewFlagSet("rss", flag.ExitOnError)
	url := fs.String("url", "", "where to POST")
	bodyPath := fs.String("body", "", "the body to send")
	conc := fs.Int("concurrency", 50, "uploads at once (one each)")
	pid := fs.Int("pid", 0, "the server's process id, for /proc/PID/status")
	pace := fs.Duration("pace", 0, "spread each upload's body over this long (0: as fast as the server reads)")
	label := fs.String("label", "", "a name copied into the result")
	fs.Parse(args)
	if *url == "" || *bodyPath == "" || *pid <= 0 {
		return errors.New("--url, --body and --pid are required")
	}
	if err := checkLoopback(*url); err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyPath)
	if err != nil {
		return err
	}
	before, err := procStatusKiB(*pid, "VmHWM")
	if err != nil {
		return err
	}
	client := newClient(*conc)
	var inFlight, maxInFlight atomic.Int64
	stopSampling := sampleRSS(*pid) // a cross-check of VmHWM
	start := time.Now()
	errs := make(chan error, *conc)
	var wg sync.WaitGroup
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := inFlight.Add(1)
			for {
				m := maxInFlight.Load()
				if n <= m || maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			defer inFlight.Add(-1)
			r := &pacedReader{r: bytes.NewReader(body), size: len(body), start: time.Now(), pace: *pace}
			if err := post(context.Background(), client, *url, r, len(body)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sampledMax := stopSampling()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	hwm, err := procStatusKiB(*pid, "VmHWM")
	if err != nil {
		return err
	}
	after, _ := procStatusKiB(*pid, "VmRSS")
	kib := func(v int64) float64 { return round(float64(v)/1024, 1) }
	return printJSON(rssResult{
		Label: *label, Uploads: *conc, BodyBytes: len(body), PaceSeconds: pace.Seconds(), MaxInFlight: maxInFlight.Load(),
		Seconds: round(elapsed.Seconds(), 2), HWMBeforeMiB: kib(before), HWMMiB: kib(hwm), RSSAfterMiB: kib(after),
		SampledMaxMiB: kib(sampledMax),
	})
}

// procCPU is a process's user and system CPU time from /proc/PID/stat (in clock ticks of 10 ms,
// USER_HZ on Linux). A pid of 0 gives 0.
func procCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, nil
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count the fields after it.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14 of the whole line
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// procStatusKiB reads one "Name:  N kB" line of /proc/PID/status.
// sampleRSS reads the process's VmRSS every 20 ms until the function it returns is called, which
// returns the largest value read, in KiB.
func sampleRSS(pid int) (stop func() int64) {
	var largest atomic.Int64
	done, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v, err := procStatusKiB(pid, "VmRSS"); err == nil && v > largest.Load() {
					largest.Store(v)
				}
			}
		}
	}()
	return func() int64 {
		close(done)
		<-sampled
		return largest.Load()
	}
}

func procStatusKiB(pid int, name string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", name, pid)
}

// ---- forms ------------------------------------------------------------------------------------

type formsResult struct {
	Label           string      `json:"label,omitempty"`
	FormsPerWave    int         `json:"forms_per_wave"`
	AttachmentBytes int         `json:"attachment_bytes"`
	BodyBytes       int         `json:"body_bytes"`
	RSSBeforeMiB    float64     `json:"vmrss_before_mib"`
	Waves           []formsWave `json:"waves"`
}

type formsWave struct {
	Wave          int     `json:"wave"`
	Seconds       float64 `json:"seconds"`
	HWMMiB        float64 `json:"vmhwm_mib"`             // peak RSS of the process so far, read after the wave
	RSSMiB        float64 `json:"vmrss_mib"`             // RSS after the wave
	SampledMaxMiB float64 `json:"vmrss_sampled_max_mib"` // the largest VmRSS seen every 20 ms during the wave
}

// formBody is a multipart/form-data body as a browser sends the form without JavaScript: the
// answer to the form's question, then one file part.
func formBody(attachment []byte) (body []byte, contentType string, err error) {
	var buf bytes.Buffer
	buf.Grow(len(attachment) + 4096)
	w := multipart.NewWriter(&buf)
	var b [8]byte
	rand.Read(b[:])
	if err := w.SetBoundary("----WebKitFormBoundary" + hex.EncodeToString(b[:])); err != nil {
		return nil, "", err
	}
	// A textarea's line breaks arrive as CRLF, as browsers send them.
	if err := w.WriteField("what-happened", "The employer kept my passport.\r\nI was not paid for three months."); err != nil {
		return nil, "", err
	}
	part, err := w.CreatePart(map[string][]string{
		"Content-Disposition": {`form-data; name="files"; filename="scan.pdf"`},
		"Content-Type":        {"application/pdf"},
	})
	if err != nil {
		return nil, "", err
	}
	part.Write(attachment)
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// receiptID is how the receipt page shows the id: the drop box puts it in place of the placeholder.
var receiptID = regexp.MustCompile(`\b[0-9a-f]{32}\b`)

// postForm sends one form and checks the answer is the receipt: 200 with an id on it.
func postForm(client *http.Client, url string, body []byte, contentType string) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, page)
	}
	if !receiptID.Match(page) {
		return fmt.Errorf("status 200 but no receipt id in the page: %.300s", page)
	}
	return nil
}

// forms sends waves of forms without JavaScript, each wave --concurrency forms at once, and reads
// the server's memory after each wave.
func forms(args []string) error {
	fs := flag.NewFlagSet("forms", flag.ExitOnError)
	url := fs.String("url", "", "the form's address, /api/v1/orgs/ORG/forms/LANG/PROCEDURE")
	size := fs.Int("size", 25*mib, "bytes of the one attachment of each form")
	conc := fs.Int("concurrency", 4, "forms at once in each wave")
	waves := fs.Int("waves", 8, "waves, one after the other")
	pid := fs.Int("pid", 0, "the server's process id, for /proc/PID/status")
	label := fs.String("label", "", "a name copied into the result")
	fs.Parse(args)
	if *url == "" || *pid <= 0 || *conc < 1 || *waves < 1 || *size < 0 {
		return errors.New("--url and --pid are required")
	}
	if err := checkLoopback(*url); err != nil {
		return err
	}
	attachment := make([]byte, *size)
	rand.Read(attachment)
	body, contentType, err := formBody(attachment)
	if err != nil {
		return err
	}
	before, err := procStatusKiB(*pid, "VmRSS")
	if err != nil {
		return err
	}
	kib := func(v int64) float64 { return round(float64(v)/1024, 1) }
	res := formsResult{Label: *label, FormsPerWave: *conc, AttachmentBytes: *size, BodyBytes: len(body), RSSBeforeMiB: kib(before)}
	client := newClient(*conc)
	for wave := 1; wave <= *waves; wave++ {
		stopSampling := sampleRSS(*pid)
		start := time.Now()
		errs := make(chan error, *conc)
		var wg sync.WaitGroup
		for range *conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := postForm(client, *url, body, contentType); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		sampledMax := stopSampling()
		close(errs)
		if err := <-errs; err != nil {
			return fmt.Errorf("wave %d: %w", wave, err)
		}
		hwm, err := procStatusKiB(*pid, "VmHWM")
		if err != nil {
			return err
		}
		rss, err := procStatusKiB(*pid, "VmRSS")
		if err != nil {
			return err
		}
		res.Waves = append(res.Waves, formsWave{Wave: wave, Seconds: round(elapsed.Seconds(), 2), HWMMiB: kib(hwm), RSSMiB: kib(rss),
			SampledMaxMiB: kib(max(sampledMax, rss))})
	}
	return printJSON(res)
}

// ---- mksub ------------------------------------------------------------------------------------

// mksub writes a format-v1 plaintext (docs/format.md) of a few fields and one attachment of
// random bytes, like a complaint with a scanned document: the attachment --size bytes, the whole
// padded (docs/format.md, "Padding of submissions"), so a little larger.
func mksub(args []string) error {
	fs := flag.NewFlagSet("mksub", flag.ExitOnError)
	size := fs.Int("size", 0, "bytes of the attachment")
	out := fs.String("out", "", "file to write")
	fs.Parse(args)
	if *size < 0 || *out == "" {
		return errors.New("--size (0 or more) and --out are required")
	}
	data := make([]byte, *size)
	rand.Read(data)
	sub := &submission.Submission{
		Procedure: "kok-complaints", Lang: "en",
		Fields: []submission.Field{
			{Name: "who", Label: "Who are you?", Value: "A person affected"},
			{Name: "what-happened", Label: "What happened?", Value: "The employer kept my passport.\nI was not paid for three months."},
			{Name: "contact", Label: "May we contact you?", Value: "No"},
		},
		Attachments: []submission.Attachment{submission.NewAttachment("scan.pdf", "application/pdf", data)},
	}
	attachment := *size
	plain, err := sub.PlaintextSize()
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := submission.Write(w, sub, []io.Reader{bytes.NewReader(data)}); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return printJSON(map[string]any{"file": *out, "bytes": plain, "attachment_bytes": attachment})
}

// ---- report -----------------------------------------------------------------------------------

// readLines decodes one JSON value per line.
func readLines[T any](path string) ([]T, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func medianOf[T any](vs []T, f func(T) float64) float64 {
	xs := make([]float64, len(vs))
	for i, v := range vs {
		xs[i] = f(v)
	}
	slices.Sort(xs)
	return median(xs)
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// goalRatio is the goal: the drop box accepts at least this share of the baseline's
// requests per second, at every size and concurrency.
const goalRatio = 0.95

// goalMiB is the goal for the peak RSS of the drop box under full-size forms sent
// without JavaScript, and under 50 uploads of 25 MiB.
const goalMiB = 150

// report prints the tables of docs/benchmarks.md from the JSON lines the other subcommands wrote.
// Load labels are "SYSTEM/SIZE" with SYSTEM dropbox or baseline; runs are told apart by their
// order, the n-th dropbox run of a size and concurrency paired with the n-th baseline run.
func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	loadPath := fs.String("load", "", "JSON lines of load")
	rssPath := fs.String("rss", "", "JSON lines of rss")
	formsPath := fs.String("forms", "", "JSON lines of forms")
	fs.Parse(args)

	loads, err := readLines[loadResult](*loadPath)
	if err != nil {
		return err
	}
	if len(loads) > 0 {
		type key struct {
			size string
			conc int
		}
		var keys []key
		by := map[key]map[string][]loadResult{}
		for _, r := range loads {
			sys, size, _ := strings.Cut(r.Label, "/")
			k := key{size, r.Concurrency}
			if by[k] == nil {
				keys = append(keys, k)
				by[k] = map[string][]loadResult{}
			}
			by[k][sys] = append(by[k][sys], r)
		}
		rps := func(r loadResult) float64 { return r.RPS }
		fmt.Printf("Accepting submissions: POST on loopback; the median of each metric over the runs; ratio: the drop box's median requests/s over the baseline's (goal ≥ %.2f)\n", goalRatio)
		fmt.Println()
		fmt.Println("| body | connections | runs × requests | dropbox requests/s | baseline requests/s | **ratio** | ratios of single runs | dropbox p50 / p99 ms | baseline p50 / p99 ms | server CPU ms/request, dropbox / baseline |")
		fmt.Println("| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |")
		var missed []string
		for _, k := range keys {
			d, b := by[k]["dropbox"], by[k]["baseline"]
			if len(d) == 0 || len(b) == 0 {
				continue
			}
			q := medianOf(d, rps) / medianOf(b, rps)
			if q < goalRatio {
				missed = append(missed, fmt.Sprintf("%s at %d", k.size, k.conc))
			}
			var singles []float64
			for i := range min(len(d), len(b)) {
				singles = append(singles, d[i].RPS/b[i].RPS)
			}
			slices.Sort(singles)
			fmt.Printf("| %s (%d bytes) | %d | %d × %d | %.1f | %.1f | **%.2f**, %s | %.2f–%.2f | %.1f / %.1f | %.1f / %.1f | %.2f / %.2f |\n",
				k.size, d[0].BodyBytes, k.conc, len(d), d[0].Requests, medianOf(d, rps), medianOf(b, rps), q, met(q >= goalRatio),
				singles[0], singles[len(singles)-1],
				medianOf(d, func(r loadResult) float64 { return r.P50ms }), medianOf(d, func(r loadResult) float64 { return r.P99ms }),
				medianOf(b, func(r loadResult) float64 { return r.P50ms }), medianOf(b, func(r loadResult) float64 { return r.P99ms }),
				medianOf(d, func(r loadResult) float64 { return r.ServerCPUms }), medianOf(b, func(r loadResult) float64 { return r.ServerCPUms }))
		}
		fmt.Println()
		if len(missed) == 0 {
			fmt.Printf("Goal ≥ %.2f at every size and concurrency: met.\n", goalRatio)
		} else {
			fmt.Printf("Goal ≥ %.2f at every size and concurrency: **missed** at %s.\n", goalRatio, strings.Join(missed, ", "))
		}
		fmt.Println()
	}

	rsss, err := readLines[rssResult](*rssPath)
	if err != nil {
		return err
	}
	if len(rsss) > 0 {
		fmt.Println("Server memory: 50 uploads of the 25 MiB submission at once; peak RSS is VmHWM of the server process, read after the last answer")
		fmt.Println()
		fmt.Printf("| server, upload pace | uploads | most in flight | seconds | RSS before MiB | peak RSS MiB (goal < %d for dropbox) | largest VmRSS sampled every 20 ms |\n", goalMiB)
		fmt.Println("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
		for _, r := range rsss {
			goal := ""
			if strings.HasPrefix(r.Label, "dropbox") {
				goal = ", " + met(r.HWMMiB < goalMiB)
			}
			fmt.Printf("| %s | %d | %d | %.1f | %.1f | %.1f%s | %.1f |\n", r.Label, r.Uploads, r.MaxInFlight, r.Seconds, r.HWMBeforeMiB, r.HWMMiB, goal, r.SampledMaxMiB)
		}
		fmt.Println()
	}

	formRuns, err := readLines[formsResult](*formsPath)
	if err != nil {
		return err
	}
	if len(formRuns) > 0 {
		first := formRuns[0]
		fmt.Printf("Forms sent without JavaScript: waves of %d forms at once, each with one attachment of %d bytes (a body of %d bytes); VmHWM (peak so far) and VmRSS of the drop box after the wave, MiB; s: the wave's duration\n",
			first.FormsPerWave, first.AttachmentBytes, first.BodyBytes)
		fmt.Println()
		head, rule := "| wave |", "| ---: |"
		for _, r := range formRuns {
			head += fmt.Sprintf(" %s: peak | RSS after | s |", r.Label)
			rule += " ---: | ---: | ---: |"
		}
		fmt.Println(head)
		fmt.Println(rule)
		for i := range first.Waves {
			if i >= 8 && (i+1)%4 != 0 && i != len(first.Waves)-1 {
				continue // waves 1 to 8, then every fourth: enough to see where the peak settles
			}
			row := fmt.Sprintf("| %d |", i+1)
			for _, r := range formRuns {
				if i < len(r.Waves) {
					w := r.Waves[i]
					row += fmt.Sprintf(" %.1f | %.1f | %.1f |", w.HWMMiB, w.RSSMiB, w.Seconds)
				} else {
					row += " | | |"
				}
			}
			fmt.Println(row)
		}
		fmt.Println()
		for _, r := range formRuns {
			peak := r.Waves[len(r.Waves)-1].HWMMiB
			sampled := 0.0
			for _, w := range r.Waves {
				sampled = max(sampled, w.SampledMaxMiB)
			}
			fmt.Printf("- %s: RSS before %.1f MiB; peak %.1f MiB after %d waves (goal < %d: %s); the largest VmRSS sampled every 20 ms was %.1f MiB\n",
				r.Label, r.RSSBeforeMiB, peak, len(r.Waves), goalMiB, met(peak < goalMiB), sampled)
		}
		fmt.Println()
	}
	return nil
}
