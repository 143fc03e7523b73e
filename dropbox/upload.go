package main

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Every upload, ciphertext or a form sent without JavaScript, is read under the same limits: the
// body limit, the body timeout for the whole body, and a minimum rate: each window of 64 KiB must
// arrive within slow_timeout (30 s by default: 2.1 KiB/s, below what even a 2G mobile link
// carries; docs/forms.md). An upload takes one of the max_uploads slots only once its
// first window has arrived, so that senders who trickle or stall hold no slot: each loses its own
// upload and nobody else's.

// window is how much of an upload must arrive within slow_timeout, again and again.
const window = 64 << 10

// upload is the body of an upload that flows: its first window in memory, then the rest.
type upload struct {
	io.Reader
	paced *pacedBody
}

// extend starts a new window now: after waiting for a slot, the sender is not to blame for the
// time it took.
func (u *upload) extend() {
	if u.paced != nil {
		u.paced.extend()
	}
}

// receive starts reading an upload and returns it once it flows: when first (the first window,
// or the whole body if it is shorter) has arrived in time. Errors are ready for the client.
func (s *server) receive(c echo.Context, first []byte) (*upload, error) {
	req, w := c.Request(), c.Response()
	if req.ContentLength > s.cfg.BodyLimit {
		w.Header().Set("Connection", "close")
		return nil, fail(http.StatusRequestEntityTooLarge, tooLarge(s.cfg.BodyLimit))
	}
	rc := http.NewResponseController(w)
	end := time.Now().Add(s.cfg.BodyTimeout.Duration)
	rc.SetWriteDeadline(end.Add(30 * time.Second))
	paced := &pacedBody{r: http.MaxBytesReader(w, req.Body, s.cfg.BodyLimit), rc: rc, end: end, every: s.cfg.SlowTimeout.Duration}
	paced.extend()
	n := 0
	for n < len(first) {
		k, err := paced.Read(first[n:])
		n += k
		if err == io.EOF {
			return &upload{Reader: bytes.NewReader(first[:n])}, nil
		}
		if err != nil {
			return nil, s.uploadError(err)
		}
	}
	return &upload{Reader: io.MultiReader(bytes.NewReader(first[:n]), paced), paced: paced}, nil
}

// pacedBody moves the connection's read deadline forward by every each time a window has come,
// never past end.
type pacedBody struct {
	r        io.Reader
	rc       *http.ResponseController
	end      time.Time
	every    time.Duration
	inWindow int
}

func (p *pacedBody) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.inWindow += n
	if p.inWindow >= window {
		p.extend()
	}
	return n, err
}

func (p *pacedBody) extend() {
	p.inWindow = 0
	deadline := time.Now().Add(p.every)
	if deadline.After(p.end) {
		deadline = p.end
	}
	p.rc.SetReadDeadline(deadline)
}
