// Package policytest makes what the tests of the policy, the drop box and keytool share: real
// staff keys on disk, real encrypted messages, and a catalogue of hostile messages.
package policytest

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/policy"
)

var (
	sharedOnce     sync.Once
	sharedStaff    []Key
	sharedOutsider Key
	sharedOthers   map[string][]Key
)

// Staff returns two staff keys and one outsider key, made once per test binary in a folder
// that lives as long as the process; a package's TestMain removes it with Cleanup.
func Staff(t testing.TB) ([]Key, Key) {
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "policytest-keys-")
		if err != nil {
			t.Fatal(err)
		}
		sharedDir = dir
		sharedStaff = []Key{NewKey(t, dir, "ana"), NewKey(t, dir, "ben")}
		sharedOutsider = NewKey(t, dir, "mallory")
		sharedOthers = map[string][]Key{
			"mk-act":                {NewKey(t, dir, "carla")},
			"kinderrechtencoalitie": {NewKey(t, dir, "dirk")},
		}
	})
	return sharedStaff, sharedOutsider
}

// Organisations returns the staff keys of the site's three organisations, made once as Staff
// makes its keys: Staff's two for kok, one other each for mk-act and kinderrechtencoalitie.
func Organisations(t testing.TB) map[string][]Key {
	staff, _ := Staff(t)
	return map[string][]Key{"kok": staff, "mk-act": sharedOthers["mk-act"], "kinderrechtencoalitie": sharedOthers["kinderrechtencoalitie"]}
}

// sharedDir holds the keys Staff made, if it made them.
var sharedDir string

// Cleanup removes the keys Staff made. Call it from TestMain after m.Run.
func Cleanup() {
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
}

// Main runs a package's tests and then removes the keys Staff made: func TestMain(m *testing.M)
// { policytest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// Passphrase protects every test key.
const Passphrase = "test passphrase, never used for real"

// Key is a staff key written to disk as keytool keygen writes it.
type Key struct {
	Public    *openpgp.Entity // parsed from the .pub.asc file
	PubPath   string
	KeyPath   string
	PassPath  string
	Recipient *policy.Recipient
}

// NewKey makes a staff key with the production profile and writes it under dir.
func NewKey(t testing.TB, dir, name string) Key {
	t.Helper()
	e, err := policy.NewStaffKey(name, []byte(Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	var pub, priv bytes.Buffer
	armorTo(t, &pub, openpgp.PublicKeyType, e.Serialize)
	armorTo(t, &priv, openpgp.PrivateKeyType, func(w io.Writer) error { return e.SerializePrivateWithoutSigning(w, nil) })
	return writeKey(t, dir, name, pub.Bytes(), priv.Bytes())
}

func armorTo(t testing.TB, w io.Writer, blockType string, serialize func(io.Writer) error) {
	t.Helper()
	aw, err := armor.EncodeWithChecksumOption(w, blockType, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := serialize(aw); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeKey stores an armored public and private key pair and loads it as a recipient.
func writeKey(t testing.TB, dir, name string, pub, priv []byte) Key {
	t.Helper()
	k := Key{
		PubPath:  filepath.Join(dir, name+".pub.asc"),
		KeyPath:  filepath.Join(dir, name+".key.asc"),
		PassPath: filepath.Join(dir, name+".pass"),
	}
	for path, data := range map[string][]byte{k.PubPath: pub, k.KeyPath: priv, k.PassPath: []byte(Passphrase + "\n")} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := policy.LoadRecipient(k.PubPath)
	if err != nil {
		t.Fatal(err)
	}
	k.Recipient, k.Public = r, r.Entity
	return k
}

// Recipients returns the policy recipients of keys.
func Recipients(keys ...Key) []*policy.Recipient {
	out := make([]*policy.Recipient, len(keys))
	for i, k := range keys {
		out[i] = k.Recipient
	}
	return out
}

// Encrypt encrypts plaintext to keys with go-crypto, binary, as the drop box does for forms sent
// without JavaScript.
func Encrypt(t testing.TB, plaintext []byte, keys ...Key) []byte {
	return encrypt(t, plaintext, keys, nil)
}

func encrypt(t testing.TB, plaintext []byte, keys, hidden []Key) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := openpgp.Encrypt(&out, entities(keys), entities(hidden), nil, nil, policy.EncryptConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func entities(keys []Key) []*openpgp.Entity {
	var out []*openpgp.Entity
	for _, k := range keys {
		out = append(out, k.Public)
	}
	return out
}

// Packet frames body as one new-format packet with a definite length.
func Packet(tag int, body []byte) []byte {
	out := []byte{0xc0 | byte(tag)}
	switch n := len(body); {
	case n < 192:
		out = append(out, byte(n))
	case n < 8384:
		n -= 192
		out = append(out, byte(n>>8)+192, byte(n))
	default:
		out = append(out, 0xff)
		out = binary.BigEndian.AppendUint32(out, uint32(n))
	}
	return append(out, body...)
}

// Split cuts a message made by Encrypt into its session key packets and its data packet.
func Split(t testing.TB, msg []byte) (sessionKeys [][]byte, data []byte) {
	t.Helper()
	for len(msg) > 0 {
		tag := int(msg[0] & 0x3f)
		if msg[0]&0xc0 != 0xc0 {
			t.Fatalf("Split expects new-format packets, got %#x", msg[0])
		}
		if tag == 18 {
			return sessionKeys, msg
		}
		hlen, blen := 2, int(msg[1])
		switch {
		case msg[1] >= 192 && msg[1] < 224:
			hlen, blen = 3, (int(msg[1])-192)<<8+int(msg[2])+192
		case msg[1] == 255:
			hlen, blen = 6, int(binary.BigEndian.Uint32(msg[2:6]))
		}
		sessionKeys = append(sessionKeys, msg[:hlen+blen])
		msg = msg[hlen+blen:]
	}
	t.Fatal("Split: no data packet")
	return nil, nil
}

// Case is one message the drop box must refuse.
type Case struct {
	Name string
	Body []byte
	Want string // a part of the reason the policy must give
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Hostile returns messages that break the policy for recipients staff, each in its own way.
// other is a valid key that is not a staff key.
func Hostile(t testing.TB, staff []Key, other Key) []Case {
	t.Helper()
	plain := []byte("complaint-submission/1\n{}\n")
	good := Encrypt(t, plain, staff...)
	pkesks, data := Split(t, good)
	allPKESK := join(pkesks...)
	literal := Packet(11, join([]byte{'b', 0, 0, 0, 0, 0}, plain))

	sym := symmetric(t, plain)
	symSKESK, _ := splitFirst(sym)

	// A v6 session key packet with the recipient left out (anonymous), built from a real one.
	first := body(pkesks[0])
	anonymous := Packet(1, join([]byte{6, 0}, first[2+int(first[1]):]))

	smuggled := Packet(1, join(body(pkesks[0]), []byte("plaintext riding along")))
	v5PKESK := Packet(1, join([]byte{5}, body(pkesks[0])[1:]))
	seipdV3 := bytes.Clone(data)
	seipdV3[dataBodyStart(data)] = 3
	bigChunk := bytes.Clone(data)
	bigChunk[dataBodyStart(data)+3] = 17

	cases := []Case{
		{"empty body", nil, "empty"},
		{"literal data only", literal, "literal data packet"},
		{"compressed data", Packet(8, join([]byte{0}, literal)), "compressed data packet"},
		{"symmetric-only", sym, "password"},
		{"public-key plus symmetric", join(allPKESK, symSKESK, data), "password"},
		{"missing recipient", Encrypt(t, plain, staff[1:]...), "not encrypted to ana"},
		{"extra recipient", Encrypt(t, plain, append(append([]Key{}, staff...), other)...), "not a staff key"},
		{"duplicate recipient", join(allPKESK, pkesks[0], data), "two session keys"},
		{"anonymous recipient (go-crypto hidden)", encrypt(t, plain, staff[1:], staff[:1]), "anonymous"},
		{"anonymous recipient (crafted)", join(anonymous, join(pkesks[1:]...), data), "anonymous"},
		{"marker packet", join(Packet(10, []byte("PGP")), good), "marker packet"},
		{"padding packet before", join(Packet(21, bytes.Repeat([]byte{0}, 32)), good), "padding packet"},
		{"padding packet after", join(good, Packet(21, bytes.Repeat([]byte{0}, 32))), "follows the encrypted data"},
		{"unknown packet tag", join(Packet(60, []byte("experimental")), good), "unknown packet (tag 60)"},
		{"public key packet of unknown version", join(Packet(6, []byte{7, 1, 2, 3}), good), "public key packet"},
		{"unknown session key version", join(v5PKESK, join(pkesks[1:]...), data), "version 5"},
		{"unknown encrypted data version", join(allPKESK, seipdV3), "version 3"},
		{"chunk size too large", join(allPKESK, bigChunk), "chunk size"},
		{"bytes smuggled inside a session key packet", join(smuggled, join(pkesks[1:]...), data), "follow the encrypted session key"},
		{"trailing bytes", join(good, []byte("thanks")), "is not the start of an OpenPGP packet"},
		{"truncated", good[:len(good)-10], "truncated"},
		{"only session keys", allPKESK, "ends before the encrypted data"},
		{"two encrypted data packets", join(good, data), "follows the encrypted data"},
		{"unprotected encrypted data (tag 9)", join(allPKESK, Packet(9, bytes.Repeat([]byte{0x42}, 64))), "without integrity protection"},
		{"OCB draft encrypted data (tag 20)", join(allPKESK, Packet(20, bytes.Repeat([]byte{0x42}, 64))), "tag 20"},
		{"armor", Armor(t, good), "ASCII-armored"},
		{"armor with text around it", join([]byte("Dear staff, my name is\n\n"), Armor(t, good), []byte("\nSee you!\n")), "ASCII-armored"},
		{"text", []byte("just a plain complaint in the clear"), "does not start with an OpenPGP packet"},
	}
	return cases
}

func symmetric(t testing.TB, plain []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := openpgp.SymmetricallyEncrypt(&out, []byte("pw"), nil, &packet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	return out.Bytes()
}

// splitFirst returns the first packet (definite new-format length below 192) and the rest.
func splitFirst(msg []byte) ([]byte, []byte) {
	n := 2 + int(msg[1])
	return msg[:n], msg[n:]
}

func body(p []byte) []byte {
	switch {
	case p[1] < 192:
		return p[2:]
	case p[1] < 224:
		return p[3:]
	}
	return p[6:]
}

// dataBodyStart is the offset of the first body byte of a data packet with a partial or
// definite new-format length.
func dataBodyStart(p []byte) int {
	switch {
	case p[1] < 192 || (p[1] >= 224 && p[1] < 255):
		return 2
	case p[1] < 224:
		return 3
	}
	return 6
}

// Armor wraps msg in ASCII armor.
func Armor(t testing.TB, msg []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	armorTo(t, &out, "PGP MESSAGE", func(w io.Writer) error { _, err := w.Write(msg); return err })
	return out.Bytes()
}
