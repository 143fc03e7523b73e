package policy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// The message structure the drop box stores, and nothing else:
//
//	PKESK (v3 or v6), one for every recipient, in any order
//	SEIPD (v1 after v3 PKESKs, v2 after v6 PKESKs)
//	end of input
//
// The packets are read here with an explicit allow-list loop rather than go-crypto's
// packet.Reader, which skips Marker packets, unknown tags and keys of unknown versions without a
// word: any of those could carry plaintext into the spool.

// OpenPGP packet tags (RFC 9580, section 5).
const (
	tagPKESK  = 1
	tagSKESK  = 3
	tagSEIPD  = 18
	maxPKESK  = 2048 // an RSA-8192 session key is 1,037 bytes; everything else is far smaller
	saltSize  = 32   // SEIPDv2 salt
	tagSize   = 16   // the AEAD tag of every mode we accept
	maxChunk  = 16   // RFC 9580: the chunk size octet must not exceed 16 (4 MiB chunks)
	minSEIPD1 = 1 + 10 + 22
)

var tagNames = map[int]string{
	1: "public-key encrypted session key", 2: "signature", 3: "symmetric-key encrypted session key",
	4: "one-pass signature", 5: "secret key", 6: "public key", 7: "secret subkey",
	8: "compressed data", 9: "symmetrically encrypted data without integrity protection",
	10: "marker", 11: "literal data", 12: "trust", 13: "user ID", 14: "public subkey",
	17: "user attribute", 18: "integrity-protected encrypted data", 19: "modification detection code",
	20: "OCB encrypted data (draft format)", 21: "padding",
}

func tagName(tag int) string {
	if n, ok := tagNames[tag]; ok {
		article := "a"
		if strings.ContainsRune("aeiou", rune(n[0])) {
			article = "an"
		}
		return fmt.Sprintf("%s %s packet (tag %d)", article, n, tag)
	}
	return fmt.Sprintf("an unknown packet (tag %d)", tag)
}

// Error is a message the policy refuses, with a sentence for the sender.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func refuse(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// ErrNotForKeys is ValidateFor's refusal of a message none of whose session keys is for the keys.
var ErrNotForKeys = &Error{Reason: "the message is not encrypted to this key"}

// ErrArmored is returned for ASCII-armored input: armor lets text ride outside the block.
var ErrArmored = &Error{Reason: "the message is ASCII-armored; send the binary OpenPGP message (OpenPGP.js: format 'binary'; gpg: without --armor)"}

// SessionKey is one public-key encrypted session key packet as read from a message.
type SessionKey struct {
	Version     int                       // 3 or 6
	KeyID       uint64                    // v3: the key ID; v6: derived from the fingerprint
	Fingerprint []byte                    // v6 only
	Algorithm   packet.PublicKeyAlgorithm // the recipient key's algorithm
}

// IsFor reports whether the session key names k: by fingerprint (v6) or key ID (v3).
func (sk SessionKey) IsFor(k *packet.PublicKey) bool {
	if sk.Fingerprint != nil {
		return bytes.Equal(sk.Fingerprint, k.Fingerprint)
	}
	return sk.KeyID == k.KeyId
}

// Structure is what can be known about a message without decrypting it.
type Structure struct {
	SessionKeys []SessionKey
	DataVersion int                   // SEIPD version: 1 or 2
	Cipher      packet.CipherFunction // v2 only
	AEAD        packet.AEADMode       // v2 only
	ChunkSize   int                   // v2 only, in bytes
	DataLength  int64                 // bytes of the encrypted data packet's body
	Size        int64                 // bytes of the whole message
}

// Validate reads a whole message and checks that it is exactly what the drop box may store,
// encrypted to exactly the given recipients. It reads the input once, in small pieces, so it can
// check a 25 MiB upload as it streams to disk. Recipients are checked before the encrypted data is
// read, so a message for the wrong keys is refused early.
func Validate(r io.Reader, recipients []*Recipient) (*Structure, error) {
	return parse(r, func(s *Structure) error { return matchRecipients(s, recipients) })
}

// Inspect reads a message's structure without checking its recipients, for keytool inspect.
func Inspect(r io.Reader) (*Structure, error) {
	return parse(r, nil)
}

// countingReader counts the bytes read, for Size and for error positions.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// discard skips up to n bytes, fewer only with an error.
func (c *countingReader) discard(n int64) (int64, error) {
	var done int64
	for done < n {
		k, err := c.r.Discard(int(min(n-done, 1<<30)))
		done += int64(k)
		c.n += int64(k)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// readers keeps parse's 64 KiB buffers between messages: one per upload would be garbage the
// collector must clear and zero again, per request.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

func parse(in io.Reader, beforeData func(*Structure) error) (*Structure, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(in)
	defer func() { br.Reset(nil); readers.Put(br) }()
	cr := &countingReader{r: br}
	first, err := cr.r.Peek(1)
	if err == io.EOF {
		return nil, refuse("the message is empty")
	}
	if err != nil {
		return nil, err
	}
	if first[0]&0x80 == 0 {
		// Not a packet. Say so plainly when it is armor, perhaps with text around it.
		if start, _ := cr.r.Peek(8 << 10); bytes.Contains(start, []byte("-----BEGIN PGP")) {
			return nil, ErrArmored
		}
		return nil, refuse("the message does not start with an OpenPGP packet")
	}

	s := &Structure{}
	for {
		h, err := readHeader(cr)
		if err == io.EOF {
			if s.DataVersion == 0 {
				return nil, refuse("the message ends before the encrypted data packet")
			}
			s.Size = cr.n
			return s, nil
		}
		if err != nil {
			return nil, err
		}
		if s.DataVersion != 0 {
			return nil, refuse("%s follows the encrypted data at byte %d; nothing may come after it", tagName(h.tag), h.offset)
		}
		switch h.tag {
		case tagPKESK:
			if h.partial {
				return nil, refuse("the session key packet at byte %d uses a partial length; only the encrypted data may", h.offset)
			}
			if h.length > maxPKESK {
				return nil, refuse("the session key packet at byte %d is %d bytes; no accepted key needs more than %d", h.offset, h.length, maxPKESK)
			}
			body := make([]byte, h.length)
			if _, err := io.ReadFull(cr, body); err != nil {
				return nil, truncated(err)
			}
			sk, err := parseSessionKey(body)
			if err != nil {
				return nil, refuse("the session key packet at byte %d: %s", h.offset, err)
			}
			s.SessionKeys = append(s.SessionKeys, sk)
		case tagSEIPD:
			if len(s.SessionKeys) == 0 {
				return nil, refuse("the encrypted data at byte %d has no public-key encrypted session key before it", h.offset)
			}
			if beforeData != nil {
				if err := beforeData(s); err != nil {
					return nil, err
				}
			}
			if err := readData(cr, h, s); err != nil {
				return nil, err
			}
		case tagSKESK:
			return nil, refuse("the message can be opened with a password (%s at byte %d); only the staff keys may open it", tagName(h.tag), h.offset)
		default:
			return nil, refuse("%s at byte %d is not allowed; a submission holds only session keys for the staff and one integrity-protected encrypted data packet", tagName(h.tag), h.offset)
		}
	}
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return refuse("the message is truncated: it ends inside a packet")
	}
	return err
}

type header struct {
	tag     int
	length  int64 // of the body, or of the first part when partial
	partial bool
	offset  int64 // where the packet starts
}

// readHeader reads a packet header in the new or the old format. io.EOF means a clean end.
func readHeader(cr *countingReader) (header, error) {
	h := header{offset: cr.n}
	b, err := cr.ReadByte()
	if err != nil {
		return h, err // io.EOF at a packet boundary is the clean end
	}
	if b&0x80 == 0 {
		return h, refuse("byte %d is not the start of an OpenPGP packet", h.offset)
	}
	if b&0x40 != 0 { // new format
		h.tag = int(b & 0x3f)
		h.length, h.partial, err = readNewLength(cr)
		if err != nil {
			return h, truncated(err)
		}
		return h, nil
	}
	h.tag = int(b>>2) & 0x0f
	var n int
	switch b & 3 {
	case 0:
		n = 1
	case 1:
		n = 2
	case 2:
		n = 4
	default:
		return h, refuse("%s at byte %d has an indeterminate length, which is not accepted", tagName(h.tag), h.offset)
	}
	var buf [4]byte
	if _, err := io.ReadFull(cr, buf[4-n:]); err != nil {
		return h, truncated(err)
	}
	h.length = int64(binary.BigEndian.Uint32(buf[:]))
	return h, nil
}

func readNewLength(cr *countingReader) (length int64, partial bool, err error) {
	o1, err := cr.ReadByte()
	if err != nil {
		return 0, false, err
	}
	switch {
	case o1 < 192:
		return int64(o1), false, nil
	case o1 < 224:
		o2, err := cr.ReadByte()
		if err != nil {
			return 0, false, err
		}
		return (int64(o1)-192)<<8 + int64(o2) + 192, false, nil
	case o1 < 255:
		return 1 << (o1 & 0x1f), true, nil
	}
	var buf [4]byte
	if _, err := io.ReadFull(cr, buf[:]); err != nil {
		return 0, false, err
	}
	return int64(binary.BigEndian.Uint32(buf[:])), false, nil
}

// parseSessionKey checks one PKESK body field by field, so no byte in it is unaccounted for.
func parseSessionKey(b []byte) (SessionKey, error) {
	var sk SessionKey
	if len(b) < 1 {
		return sk, errors.New("it is empty")
	}
	sk.Version = int(b[0])
	rest := b[1:]
	switch sk.Version {
	case 3:
		if len(rest) < 9 {
			return sk, errors.New("it is too short")
		}
		sk.KeyID = binary.BigEndian.Uint64(rest[:8])
		if sk.KeyID == 0 {
			return sk, errors.New("it names no recipient (an anonymous recipient); every session key must name a staff key")
		}
		rest = rest[8:]
	case 6:
		if len(rest) < 2 {
			return sk, errors.New("it is too short")
		}
		n := int(rest[0])
		if n == 0 {
			return sk, errors.New("it names no recipient (an anonymous recipient); every session key must name a staff key")
		}
		if len(rest) < 1+n+1 {
			return sk, errors.New("it is too short")
		}
		keyVersion, fpr := rest[1], rest[2:1+n]
		switch {
		case keyVersion == 6 && len(fpr) == 32:
			sk.KeyID = binary.BigEndian.Uint64(fpr[:8])
		case keyVersion == 4 && len(fpr) == 20:
			sk.KeyID = binary.BigEndian.Uint64(fpr[12:20])
		default:
			return sk, fmt.Errorf("it names a version %d key with a %d-byte fingerprint", keyVersion, len(fpr))
		}
		sk.Fingerprint = append([]byte(nil), fpr...)
		rest = rest[1+n:]
	default:
		return sk, fmt.Errorf("version %d is not accepted (only 3 and 6)", sk.Version)
	}
	sk.Algorithm = packet.PublicKeyAlgorithm(rest[0])
	fields := rest[1:]
	var err error
	switch sk.Algorithm {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly:
		fields, err = skipMPI(fields)
	case packet.PubKeyAlgoECDH:
		if fields, err = skipMPI(fields); err == nil {
			fields, err = skipSized(fields, 64)
		}
	case packet.PubKeyAlgoX25519:
		fields, err = skipFixedThenSized(fields, 32)
	case packet.PubKeyAlgoX448:
		fields, err = skipFixedThenSized(fields, 56)
	default:
		return sk, fmt.Errorf("public-key algorithm %d is not accepted", sk.Algorithm)
	}
	if err != nil {
		return sk, err
	}
	if len(fields) != 0 {
		return sk, fmt.Errorf("%d bytes follow the encrypted session key", len(fields))
	}
	return sk, nil
}

func skipMPI(b []byte) ([]byte, error) {
	if len(b) < 2 {
		return nil, errors.New("it ends inside a number")
	}
	bits := int(binary.BigEndian.Uint16(b))
	n := (bits + 7) / 8
	if bits == 0 || len(b) < 2+n {
		return nil, errors.New("it ends inside a number")
	}
	return b[2+n:], nil
}

func skipSized(b []byte, max int) ([]byte, error) {
	if len(b) < 1 || int(b[0]) > max || len(b) < 1+int(b[0]) || b[0] == 0 {
		return nil, errors.New("the encrypted session key has a wrong size")
	}
	return b[1+int(b[0]):], nil
}

func skipFixedThenSized(b []byte, fixed int) ([]byte, error) {
	if len(b) < fixed {
		return nil, errors.New("it ends inside the ephemeral key")
	}
	return skipSized(b[fixed:], 64)
}

// readData consumes the encrypted data packet, checking its header fields and that it ends
// exactly where its lengths say.
func readData(cr *countingReader, h header, s *Structure) error {
	body := &bodyReader{cr: cr, remaining: h.length, partial: h.partial}
	version, err := body.readByte()
	if err != nil {
		return truncated(err)
	}
	s.DataVersion = int(version)
	var min int64
	switch version {
	case 1:
		for _, sk := range s.SessionKeys {
			if sk.Version != 3 {
				return refuse("a version %d session key cannot open version 1 encrypted data (RFC 9580 pairs v3 with SEIPDv1)", sk.Version)
			}
		}
		min = minSEIPD1
	case 2:
		for _, sk := range s.SessionKeys {
			if sk.Version != 6 {
				return refuse("a version %d session key cannot open version 2 encrypted data (RFC 9580 pairs v6 with SEIPDv2)", sk.Version)
			}
		}
		var hdr [3]byte
		for i := range hdr {
			if hdr[i], err = body.readByte(); err != nil {
				return truncated(err)
			}
		}
		s.Cipher, s.AEAD = packet.CipherFunction(hdr[0]), packet.AEADMode(hdr[1])
		switch s.Cipher {
		case packet.CipherAES128, packet.CipherAES192, packet.CipherAES256:
		default:
			return refuse("the encrypted data uses cipher %d; only AES is accepted", s.Cipher)
		}
		switch s.AEAD {
		case packet.AEADModeEAX, packet.AEADModeOCB, packet.AEADModeGCM:
		default:
			return refuse("the encrypted data uses AEAD mode %d, which is unknown", s.AEAD)
		}
		if hdr[2] > maxChunk {
			return refuse("the encrypted data's chunk size octet is %d; at most %d is allowed", hdr[2], maxChunk)
		}
		s.ChunkSize = 1 << (hdr[2] + 6)
		min = 4 + saltSize + tagSize
	default:
		return refuse("the encrypted data is version %d; only versions 1 and 2 are accepted", version)
	}
	n, err := body.skip()
	if err != nil {
		return truncated(err)
	}
	s.DataLength = n + body.consumedHeader
	if s.DataLength < min {
		return refuse("the encrypted data is %d bytes, too short to hold anything", s.DataLength)
	}
	return nil
}

// bodyReader reads one packet body across partial-length parts.
type bodyReader struct {
	cr             *countingReader
	remaining      int64
	partial        bool // more parts follow the current one
	consumedHeader int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	for b.remaining == 0 {
		if !b.partial {
			return 0, io.EOF
		}
		var err error
		b.remaining, b.partial, err = readNewLength(b.cr)
		if err != nil {
			return 0, truncated(err)
		}
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.cr.Read(p)
	b.remaining -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// skip consumes the rest of the body and returns how many bytes that was. The encrypted bytes
// are never looked at, so they are passed over in the buffer rather than copied out of it; the
// reads underneath (and the spool's copy of them) are the same as Read's.
func (b *bodyReader) skip() (int64, error) {
	var n int64
	for {
		for b.remaining == 0 {
			if !b.partial {
				return n, nil
			}
			var err error
			b.remaining, b.partial, err = readNewLength(b.cr)
			if err != nil {
				return n, truncated(err)
			}
		}
		k, err := b.cr.discard(b.remaining)
		n += k
		b.remaining -= k
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return n, err
		}
	}
}

func (b *bodyReader) readByte() (byte, error) {
	var one [1]byte
	if _, err := io.ReadFull(b, one[:]); err != nil {
		return 0, err
	}
	b.consumedHeader++
	return one[0], nil
}

// matchRecipients checks that the session keys name every recipient exactly once and nobody else.
func matchRecipients(s *Structure, recipients []*Recipient) error {
	matched := make([]bool, len(recipients))
	for _, sk := range s.SessionKeys {
		i, key := findRecipient(sk, recipients)
		if i < 0 {
			return refuse("the message is encrypted to key %016X, which is not a staff key of this drop box; encrypt to exactly the published keys", sk.KeyID)
		}
		if key.PubKeyAlgo != sk.Algorithm {
			return refuse("the session key for %s uses algorithm %d, but that key is algorithm %d", recipients[i].Name(), sk.Algorithm, key.PubKeyAlgo)
		}
		if matched[i] {
			return refuse("the message holds two session keys for %s; encrypt to each staff key once", recipients[i].Name())
		}
		matched[i] = true
	}
	for i, ok := range matched {
		if !ok {
			return refuse("the message is not encrypted to %s (%s); encrypt to every published staff key", recipients[i].Name(), recipients[i].Fingerprint())
		}
	}
	return nil
}

func findRecipient(sk SessionKey, recipients []*Recipient) (int, *packet.PublicKey) {
	for i, r := range recipients {
		for _, k := range r.Keys {
			if sk.IsFor(k) {
				return i, k
			}
		}
	}
	return -1, nil
}

// ValidateFor reads a whole message as Validate does, but checks only that one of its session
// keys is for one of the given keys: keytool knows its own key, not the other staff's.
func ValidateFor(r io.Reader, keys []*packet.PublicKey) (*Structure, error) {
	return parse(r, func(s *Structure) error {
		for _, sk := range s.SessionKeys {
			for _, k := range keys {
				if sk.IsFor(k) {
					return nil
				}
			}
		}
		return ErrNotForKeys
	})
}
