package main

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// The plaintext of a form sent without JavaScript lives only in blocks taken from plainMemory:
// never grown or copied by the code here, overwritten when the request ends, however it ends (a
// panic included), and then kept for the next form. Reuse matters for memory: four forms of
// 25 MiB are 100 MiB of blocks; freed after each wave, they would be garbage the collector lets
// grow to twice the live heap before it runs.

// Block sizes double from firstChunk to chunkSize, so that a tiny file holds 4 KiB, not 256 KiB.
const (
	firstChunk = 4 << 10
	chunkSize  = 256 << 10
	classes    = 7 // 4, 8, 16, 32, 64, 128 and 256 KiB
)

// plainMemory keeps wiped blocks for reuse, up to limit bytes of them.
type plainMemory struct {
	mu        sync.Mutex
	free      [classes][][]byte
	kept      int64 // bytes of blocks in free
	allocated int64 // bytes of blocks made and not dropped: in use or kept
	limit     int64
	// grown, when set, is told the bytes allocated whenever that changes (the memory limit
	// follows it: main.go).
	grown func(allocated int64)
}

func newPlainMemory(limit int64) *plainMemory { return &plainMemory{limit: limit} }

func (m *plainMemory) get(class int) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.free[class]); n > 0 {
		b := m.free[class][n-1]
		m.free[class] = m.free[class][:n-1]
		m.kept -= int64(cap(b))
		return b
	}
	m.allocated += firstChunk << class
	if m.grown != nil {
		m.grown(m.allocated)
	}
	return make([]byte, 0, firstChunk<<class)
}

// put takes back a block that has been wiped.
func (m *plainMemory) put(class int, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.kept+int64(cap(b)) > m.limit {
		// The collector takes it; it holds only zeros.
		m.allocated -= int64(cap(b))
		if m.grown != nil {
			m.grown(m.allocated)
		}
		return
	}
	m.kept += int64(cap(b))
	m.free[class] = append(m.free[class], b[:0])
}

// plainSet is the plaintext memory of one request: every block it took, and its budget.
type plainSet struct {
	mem    *plainMemory
	left   int64 // bytes it may still take: many tiny files must not take more than one large one
	blocks []plainBlock
}

type plainBlock struct {
	class int
	b     []byte
}

var errOverBudget = &formError{status: http.StatusRequestEntityTooLarge, key: "too_large", detail: "attachments over the memory budget"}

func (m *plainMemory) request(budget int64) *plainSet { return &plainSet{mem: m, left: budget} }

// block takes a block of the class, charging its capacity to the budget.
func (p *plainSet) block(class int) ([]byte, error) {
	size := int64(firstChunk) << class
	if p.left < size {
		return nil, errOverBudget
	}
	p.left -= size
	b := p.mem.get(class)
	p.blocks = append(p.blocks, plainBlock{class, b})
	return b, nil
}

// release overwrites every block the request took and gives them back. It is safe to call twice.
func (p *plainSet) release() {
	for _, pb := range p.blocks {
		clear(pb.b[:cap(pb.b)])
		p.mem.put(pb.class, pb.b)
	}
	p.blocks = nil
}

// chunks holds one attachment in blocks of a plainSet.
type chunks struct {
	set    *plainSet
	blocks [][]byte
	size   int64
}

func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(c.blocks) == 0 || len(c.blocks[len(c.blocks)-1]) == cap(c.blocks[len(c.blocks)-1]) {
			b, err := c.set.block(min(len(c.blocks), classes-1))
			if err != nil {
				return 0, err
			}
			c.blocks = append(c.blocks, b)
		}
		last := &c.blocks[len(c.blocks)-1]
		k := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:k]...) // within capacity: never reallocates
		p = p[k:]
	}
	c.size += int64(n)
	return n, nil
}

func (c *chunks) reader() io.Reader {
	readers := make([]io.Reader, len(c.blocks))
	for i, b := range c.blocks {
		readers[i] = bytes.NewReader(b)
	}
	return io.MultiReader(readers...)
}
