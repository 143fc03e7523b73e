package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/safe-complaints/dropbox/internal/config"
)

// Every upload, ciphertext or a form sent without JavaScript, is read under the same limits: the
// body limit, the body timeout for the whole body, and a minimum rate: each window of 64 KiB must
// arrive within slow_timeout (30 s by default: 2.1 KiB/s, below what even a 2G mobile link
// carries; docs/forms.md). An upload takes one of the max_uploads places only once its first
// window has arrived, so that senders who trickle or stall hold no place: each loses its own
// upload and nobody else's.
//
// Before it holds a place, an upload holds memory only for the bytes that have come (at most
// twice as much): its first window grows in blocks as they arrive, and all such blocks together
// are bounded by the waiting budget. A connection that sends headers and nothing more holds none
// of ours.

const (
	window      = 64 << 10 // how much of an upload must arrive within slow_timeout, again and again
	windowBlock = 4 << 10  // the first block of the first window; the next ones double
)

// waitingBudget is the memory all first windows of uploads without a place may hold together.
func waitingBudget(cfg config.Dropbox) int64 { return int64(max(cfg.MaxUploads, 4)) * 2 * window }

// windowBlocks keeps the blocks of ciphertext uploads' first windows between requests, by size:
// 4, 8, 16 and 32 KiB.
var windowBlocks = func() (pools [4]*sync.Pool) {
	for class := range pools {
		pools[class] = &sync.Pool{New: func() any { b := make([]byte, 0, windowBlock<<class); return &b }}
	}
	return pools
}()

var errCannotPace = errors.New("the connection does not take read deadlines")

// upload is the body of an upload that flows: its first window in memory, then the rest.
type upload struct {
	io.Reader
	s       *server
	paced   *pacedBody
	charged int64         // bytes of the waiting budget its first window holds
	pooled  []pooledBlock // ciphertext blocks to give back to windowBlocks
}

type pooledBlock struct {
	class int
	b     *[]byte
}

// holding says the upload now holds a place: its first window no longer counts against the
// waiting budget, and it gets a new window of time (waiting for the place was not its fault).
func (u *upload) holding() error {
	u.s.waiting.Add(u.charged)
	u.charged = 0
	return u.paced.extend()
}

// done gives back what the upload holds. Handlers defer it.
func (u *upload) done() {
	u.s.waiting.Add(u.charged)
	u.charged = 0
	u.s.forget(u.paced)
	for _, pb := range u.pooled {
		*pb.b = (*pb.b)[:0]
		windowBlocks[pb.class].Put(pb.b)
	}
	u.pooled = nil
}

// receive starts reading an upload and returns it once it flows: when its first window (or the
// whole body, if shorter) has arrived in time. The window is read into blocks of plain, for a
// form sent without JavaScript, or of windowBlocks for ciphertext. Errors are ready for the
// client; the caller must call done on the upload it gets.
func (s *server) receive(c echo.Context, plain *plainSet) (*upload, error) {
	req, w := c.Request(), c.Response()
	if req.ContentLength > s.cfg.BodyLimit {
		w.Header().Set("Connection", "close")
		return nil, fail(http.StatusRequestEntityTooLarge, tooLarge(s.cfg.BodyLimit))
	}
	rc := http.NewResponseController(w)
	end := time.Now().Add(s.cfg.BodyTimeout.Duration)
	if err := rc.SetWriteDeadline(end.Add(30 * time.Second)); err != nil {
		return nil, errCannotPace
	}
	paced := &pacedBody{r: http.MaxBytesReader(w, req.Body, s.cfg.BodyLimit), rc: rc, end: end, every: s.cfg.SlowTimeout.Duration}
	if err := paced.extend(); err != nil {
		return nil, errCannotPace
	}
	u := &upload{s: s, paced: paced}
	s.track(paced)
	block := u.ciphertextBlock
	if plain != nil {
		block = plain.block
	}
	body, err := u.readFirstWindow(block)
	if err != nil {
		u.done()
		return nil, err
	}
	u.Reader = body
	return u, nil
}

// readFirstWindow reads up to a window. Its first block, of 4 KiB, is taken only once a byte has
// come for it; once bytes flow, blocks grow (4, 8, 16, 32 KiB), so that a window is read in few
// calls while the memory held stays within twice what has arrived. Every block is charged to the
// waiting budget.
func (u *upload) readFirstWindow(block func(class int) ([]byte, error)) (io.Reader, error) {
	var one [1]byte
	// Wait for a byte before taking memory for it: no byte, no block.
	n, err := u.paced.Read(one[:])
	for n == 0 && err == nil {
		n, err = u.paced.Read(one[:])
	}
	if n == 0 {
		if err == io.EOF {
			return bytes.NewReader(nil), nil
		}
		return nil, u.s.uploadError(err)
	}
	var readers []io.Reader
	total := 0
	for i := 0; total < window; i++ {
		class := windowClasses[i]
		size := windowBlock << class
		if u.s.waiting.Add(-int64(size)) < 0 {
			u.s.waiting.Add(int64(size))
			one[0] = 0
			return nil, errWaitingFull
		}
		u.charged += int64(size)
		b, berr := block(class)
		if berr != nil {
			one[0] = 0
			return nil, berr
		}
		b = b[:0:size]
		if i == 0 {
			b = append(b, one[0])
			one[0] = 0
		}
		for len(b) < cap(b) && err == nil {
			var k int
			k, err = u.paced.Read(b[len(b):cap(b)])
			b = b[:len(b)+k]
		}
		total += len(b)
		readers = append(readers, bytes.NewReader(b))
		if err == io.EOF {
			return io.MultiReader(readers...), nil
		}
		if err != nil {
			return nil, u.s.uploadError(err)
		}
	}
	return io.MultiReader(append(readers, u.paced)...), nil
}

// windowClasses are the blocks a first window is read into, 4 << class KiB each: 4, 4, 8, 16
// and 32 KiB make the 64 KiB of a window.
var windowClasses = [...]int{0, 0, 1, 2, 3}

// errWaitingFull means too many uploads are arriving at once for the memory set aside for them.
var errWaitingFull = errors.New("the waiting budget is spent")

// ciphertextBlock is a block for a ciphertext upload's first window.
func (u *upload) ciphertextBlock(class int) ([]byte, error) {
	b := windowBlocks[class].Get().(*[]byte)
	u.pooled = append(u.pooled, pooledBlock{class, b})
	return (*b)[:0], nil
}

// pacedBody moves the connection's read deadline forward by every each time a window has come,
// never past end.
type pacedBody struct {
	r        io.Reader
	rc       *http.ResponseController
	end      time.Time
	every    time.Duration
	inWindow int
	mu       sync.Mutex // guards cut, arrived and the deadline against shutdown's cutReads
	cut      bool
	arrived  bool // read to its end: nothing left to cut
}

func (p *pacedBody) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF {
		p.mu.Lock()
		p.arrived = true
		p.mu.Unlock()
	}
	p.inWindow += n
	if p.inWindow >= window {
		if derr := p.extend(); derr != nil && err == nil {
			err = derr
		}
	}
	return n, err
}

func (p *pacedBody) extend() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inWindow = 0
	deadline := time.Now().Add(p.every)
	if deadline.After(p.end) {
		deadline = p.end
	}
	if p.cut {
		deadline = time.Now()
	}
	return p.rc.SetReadDeadline(deadline)
}

// cutRead ends the body's reading now: at shutdown, uploads still arriving are cut, so they are
// neither stored nor acknowledged, while those that have arrived whole finish and are answered.
func (p *pacedBody) cutRead() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.arrived {
		return // a deadline now would only disturb net/http's watch on the idle connection
	}
	p.cut = true
	p.rc.SetReadDeadline(time.Now())
}

// reading is the set of bodies being read, for shutdown.
type reading struct {
	mu       sync.Mutex
	bodies   map[*pacedBody]struct{}
	stopping bool
}

func (s *server) track(p *pacedBody) {
	s.reading.mu.Lock()
	defer s.reading.mu.Unlock()
	if s.reading.bodies == nil {
		s.reading.bodies = map[*pacedBody]struct{}{}
	}
	s.reading.bodies[p] = struct{}{}
	if s.reading.stopping {
		p.cutRead()
	}
}

func (s *server) forget(p *pacedBody) {
	s.reading.mu.Lock()
	defer s.reading.mu.Unlock()
	delete(s.reading.bodies, p)
}

// cutReads cuts every body still being read, and every one that starts from now on.
func (s *server) cutReads() {
	s.reading.mu.Lock()
	defer s.reading.mu.Unlock()
	s.reading.stopping = true
	for p := range s.reading.bodies {
		p.cutRead()
	}
}
