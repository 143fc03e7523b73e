package answers

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// An encrypted answer is exactly (docs/format.md, "The encrypted answer"):
//
//	SKESK v6: AES-256, GCM, S2K iterated and salted with SHA-256 over S2KCount bytes
//	SEIPD v2: AES-256, GCM
//	end of input
const (
	S2KCount      = 65536 // the smallest count RFC 9580 advises: the passphrase is already 256 bits
	s2kCountOctet = 0x60  // S2KCount as RFC 9580 section 3.7.1.3 codes it
	tagSKESK      = 3
	tagSEIPD      = 18
	skeskLength   = 76 // version, count, cipher, mode, S2K length, S2K (11), IV (12), key and tag (48)
	gcmIVSize     = 12
	seipdSalt     = 32
	aeadTag       = 16
	maxChunkOctet = 16 // RFC 9580: chunks of at most 4 MiB

	// MaxCiphertext is the size limit for Validate that fits every answer NewReader accepts
	// (MaxPlaintext, 26 MiB with its padding), with room for the packets' overhead (about 20 KiB
	// at 26 MiB: TestTheLargestAnswerFits).
	MaxCiphertext = 28 << 20
)

func encryptConfig() *packet.Config {
	return &packet.Config{
		DefaultCipher: packet.CipherAES256,
		AEADConfig:    &packet.AEADConfig{DefaultMode: packet.AEADModeGCM},
		S2KConfig:     &s2k.Config{S2KMode: s2k.IteratedSaltedS2K, Hash: crypto.SHA256, S2KCount: S2KCount},
		Time:          func() time.Time { return time.Unix(0, 0) },
	}
}

// Encrypt writes the session key packet to dst at once and returns the writer the answer's
// plaintext goes to (through NewWriter, usually); Close finishes the message. It writes no
// compression, no file name and the date 0. The plaintext reaches go-crypto in pieces of one
// fixed size, so that the packets' framing (go-crypto starts a partial length at each write)
// and with it the ciphertext's size depend on the plaintext's size alone, not on how it was
// written: answers padded to one size encrypt to one size.
func Encrypt(dst io.Writer, answerPass string) (io.WriteCloser, error) {
	if !pass43.MatchString(answerPass) {
		return nil, errors.New("an answer passphrase is 43 characters of unpadded base64url (Keys.AnswerPass)")
	}
	w, err := openpgp.SymmetricallyEncrypt(dst, []byte(answerPass), &openpgp.FileHints{}, encryptConfig())
	if err != nil {
		return nil, err
	}
	return &evenWriter{w: w, buf: make([]byte, 0, 64<<10)}, nil
}

// evenWriter passes its input on in pieces of cap(buf) bytes, and what is left on Close.
type evenWriter struct {
	w   io.WriteCloser
	buf []byte
}

func (e *evenWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), cap(e.buf)-len(e.buf))
		e.buf = append(e.buf, p[:k]...)
		n += k
		p = p[k:]
		if len(e.buf) == cap(e.buf) {
			if _, err := e.w.Write(e.buf); err != nil {
				return n, err
			}
			e.buf = e.buf[:0]
		}
	}
	return n, nil
}

func (e *evenWriter) Close() error {
	if len(e.buf) > 0 {
		if _, err := e.w.Write(e.buf); err != nil {
			return err
		}
		e.buf = e.buf[:0]
	}
	return e.w.Close()
}

// ErrWrongPassphrase is Decrypt's error when the passphrase does not open the answer.
var ErrWrongPassphrase = errors.New("the passphrase does not open this answer")

// Decrypt opens an encrypted answer and returns its plaintext, for NewReader. Reading it to the
// end checks the last authentication tag: a read error means the answer must be thrown away.
// Decrypt trusts the shape to have been checked by Validate when the answer was imported.
func Decrypt(src io.Reader, answerPass string) (io.Reader, error) {
	asked := false
	prompt := func(_ []openpgp.Key, symmetric bool) ([]byte, error) {
		if !symmetric || asked {
			return nil, ErrWrongPassphrase
		}
		asked = true
		return []byte(answerPass), nil
	}
	md, err := openpgp.ReadMessage(src, openpgp.EntityList{}, prompt, &packet.Config{})
	if err != nil {
		if errors.Is(err, ErrWrongPassphrase) {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("the answer cannot be opened: %w", err)
	}
	if !md.IsEncrypted || !md.IsSymmetricallyEncrypted || md.IsSigned {
		return nil, errors.New("the answer is not a passphrase-encrypted message")
	}
	return md.UnverifiedBody, nil // no signature is allowed, so nothing is left unverified
}

// ShapeError is Validate's refusal, with a sentence for whoever imports the answer.
type ShapeError struct{ Reason string }

func (e *ShapeError) Error() string { return e.Reason }

func refuse(format string, args ...any) error {
	return &ShapeError{Reason: fmt.Sprintf(format, args...)}
}

// Validate reads a whole encrypted answer, streaming, and checks its shape without the
// passphrase: one v6 SKESK as Encrypt writes it, one SEIPDv2 with AES-256 and GCM, at most
// maxSize bytes, nothing else. Any other input is a *ShapeError; read errors are passed on.
//
// internal/policy reads packets the same way, but its reader is unexported and speaks of
// submissions; this small reader accepts only what an answer may hold (new-format headers only).
func Validate(r io.Reader, maxSize int64) error {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := br.Peek(1)
	if err == io.EOF {
		return refuse("the answer is empty")
	}
	if err != nil {
		return err
	}
	if first[0]&0x80 == 0 {
		if start, _ := br.Peek(8 << 10); bytes.Contains(start, []byte("-----BEGIN PGP")) {
			return refuse("the answer is ASCII-armored; an answer is the binary OpenPGP message keytool reply writes")
		}
		return refuse("the answer does not start with an OpenPGP packet")
	}
	pr := &packets{r: br, max: maxSize}
	tag, length, partial, err := pr.header()
	if err != nil {
		return err
	}
	if tag != tagSKESK {
		return refuse("the answer starts with %s; it must start with the passphrase's session key (tag 3)", packetName(tag))
	}
	if partial || length == 0 || length > 512 {
		return refuse("the session key packet is %d bytes; an answer's is %d", length, skeskLength)
	}
	body := make([]byte, length)
	if err := pr.full(body); err != nil {
		return err
	}
	if body[0] != 6 {
		return refuse("the session key packet is version %d; an answer's is version 6, which goes with SEIPDv2", body[0])
	}
	if err := checkSKESK(body); err != nil {
		return err
	}
	tag, length, partial, err = pr.header()
	if err == io.EOF {
		return refuse("the answer ends after its session key; the encrypted data is missing")
	}
	if err != nil {
		return err
	}
	if tag != tagSEIPD {
		return refuse("%s follows the session key; only the encrypted data (tag 18) may", packetName(tag))
	}
	if err := pr.data(length, partial); err != nil {
		return err
	}
	if _, _, _, err := pr.header(); err != io.EOF {
		if err == nil {
			return refuse("a packet follows the encrypted data at byte %d; nothing may", pr.last)
		}
		return err
	}
	return nil
}

// checkSKESK checks every byte of the v6 SKESK body that is not random or encrypted, the ones
// that name an algorithm first, so that a refusal says what was chosen wrongly.
func checkSKESK(b []byte) error {
	want := []struct {
		at   int
		v    byte
		what string
	}{
		{2, byte(packet.CipherAES256), "cipher (only AES-256, 9)"},
		{3, byte(packet.AEADModeGCM), "AEAD mode (only GCM, 3)"},
		{5, 3, "S2K type (only iterated and salted, 3: OpenPGP.js needs WebAssembly for Argon2)"},
		{6, 8, "S2K hash (only SHA-256, 8)"},
		{4, 11, "S2K length (an iterated and salted S2K is 11 bytes)"},
		{1, 3 + 11 + gcmIVSize, "count of the fields that follow"},
		{15, s2kCountOctet, fmt.Sprintf("S2K count (only %#x, %d bytes)", s2kCountOctet, S2KCount)},
	}
	for _, w := range want {
		if w.at < len(b) && b[w.at] != w.v {
			return refuse("the session key packet's %s is %d", w.what, b[w.at])
		}
	}
	if len(b) != skeskLength {
		return refuse("the session key packet is %d bytes; an answer's is %d", len(b), skeskLength)
	}
	return nil
}

// packets reads packet headers and bodies, counting bytes against the size limit.
type packets struct {
	r    *bufio.Reader
	n    int64 // bytes read
	max  int64
	last int64 // where the last header started
}

func (p *packets) byte() (byte, error) {
	if p.n >= p.max {
		return 0, refuse("the answer is larger than %d bytes", p.max)
	}
	b, err := p.r.ReadByte()
	if err == nil {
		p.n++
	}
	return b, err
}

func (p *packets) full(b []byte) error {
	if int64(len(b)) > p.max-p.n {
		return refuse("the answer is larger than %d bytes", p.max)
	}
	k, err := io.ReadFull(p.r, b)
	p.n += int64(k)
	return ended(err)
}

func (p *packets) skip(n int64) error {
	if n > p.max-p.n {
		return refuse("the answer is larger than %d bytes", p.max)
	}
	k, err := p.r.Discard(int(n))
	p.n += int64(k)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return ended(err)
}

func ended(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return refuse("the answer is truncated: it ends inside a packet")
	}
	return err
}

// header reads a new-format packet header (RFC 9580 section 4.2.1). io.EOF is a clean end.
func (p *packets) header() (tag int, length int64, partial bool, err error) {
	p.last = p.n
	b, err := p.r.ReadByte() // the end of input is not over any limit
	if err != nil {
		return 0, 0, false, err
	}
	p.n++
	if b&0xc0 != 0xc0 {
		if b&0x80 != 0 {
			return 0, 0, false, refuse("the packet at byte %d has a legacy header; answers use the OpenPGP (new) format only", p.last)
		}
		return 0, 0, false, refuse("byte %d is not the start of an OpenPGP packet", p.last)
	}
	length, partial, err = p.length()
	return int(b & 0x3f), length, partial, err
}

func (p *packets) length() (int64, bool, error) {
	o1, err := p.byte()
	if err != nil {
		return 0, false, ended(err)
	}
	switch {
	case o1 < 192:
		return int64(o1), false, nil
	case o1 < 224:
		o2, err := p.byte()
		return (int64(o1)-192)<<8 + int64(o2) + 192, false, ended(err)
	case o1 < 255:
		return 1 << (o1 & 0x1f), true, nil
	}
	var four [4]byte
	err = p.full(four[:])
	return int64(binary.BigEndian.Uint32(four[:])), false, err
}

// data checks the SEIPDv2 header fields and reads to the end of the packet across its parts.
func (p *packets) data(length int64, partial bool) error {
	var hdr [4 + seipdSalt]byte
	got := 0
	var total int64
	for {
		k := int(min(length, int64(len(hdr)-got)))
		if err := p.full(hdr[got : got+k]); err != nil {
			return err
		}
		got += k
		if err := p.skip(length - int64(k)); err != nil {
			return err
		}
		total += length
		if !partial {
			break
		}
		var err error
		if length, partial, err = p.length(); err != nil {
			return err
		}
	}
	if got < 4 {
		return refuse("the encrypted data is %d bytes, too short to hold anything", total)
	}
	switch {
	case hdr[0] != 2:
		return refuse("the encrypted data is version %d; an answer's is version 2 (AEAD)", hdr[0])
	case hdr[1] != byte(packet.CipherAES256):
		return refuse("the encrypted data's cipher is %d; only AES-256 (9)", hdr[1])
	case hdr[2] != byte(packet.AEADModeGCM):
		return refuse("the encrypted data's AEAD mode is %d; only GCM (3)", hdr[2])
	case hdr[3] > maxChunkOctet:
		return refuse("the encrypted data's chunk size octet is %d; at most %d", hdr[3], maxChunkOctet)
	case total < int64(len(hdr))+aeadTag:
		return refuse("the encrypted data is %d bytes, too short to hold anything", total)
	}
	return nil
}

var packetNames = map[int]string{
	1: "a public-key encrypted session key (tag 1): answers are opened with a passphrase, not a key",
	2: "a signature (tag 2)", 4: "a one-pass signature (tag 4)",
	8: "compressed data (tag 8) outside the encryption", 9: "encrypted data without integrity protection (tag 9)",
	10: "a marker packet (tag 10)", 11: "literal data (tag 11) outside the encryption",
	3: "a second session key (tag 3)", 18: "the encrypted data (tag 18)", 21: "a padding packet (tag 21)",
}

func packetName(tag int) string {
	if n, ok := packetNames[tag]; ok {
		return n
	}
	return fmt.Sprintf("a packet with tag %d", tag)
}
