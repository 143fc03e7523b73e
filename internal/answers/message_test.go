package answers_test

import (
	"bytes"
	"crypto"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
)

const pass = "9hc6XylVAi6zJZFNkBnHVIArd4bxDkLsD2eDFHS9ztQ"

func encrypt(t testing.TB, plain []byte) []byte {
	var out bytes.Buffer
	w, err := answers.Encrypt(&out, pass)
	return finish(t, &out, w, err, plain)
}

// finish writes plain to the encrypting writer w and returns the message.
func finish(t testing.TB, out *bytes.Buffer, w io.WriteCloser, err error, plain []byte) []byte {
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// encryptWith encrypts with go-crypto's own configuration, changed by edit: the shapes Encrypt
// must never write.
func encryptWith(t testing.TB, plain []byte, edit func(*packet.Config, *openpgp.EncryptParams)) []byte {
	cfg := &packet.Config{
		DefaultCipher: packet.CipherAES256,
		AEADConfig:    &packet.AEADConfig{DefaultMode: packet.AEADModeGCM},
		S2KConfig:     &s2k.Config{S2KMode: s2k.IteratedSaltedS2K, Hash: crypto.SHA256, S2KCount: answers.S2KCount},
	}
	params := &openpgp.EncryptParams{Config: cfg}
	edit(cfg, params)
	var out bytes.Buffer
	w, err := openpgp.SymmetricallyEncryptWithParams([]byte(pass), &out, params)
	return finish(t, &out, w, err, plain)
}

func literal(t testing.TB, plain []byte) []byte {
	var out bytes.Buffer
	w, err := packet.SerializeLiteral(nopCloser{&out}, true, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	return out.Bytes()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestValidateAcceptsWhatEncryptWrites(t *testing.T) {
	for _, n := range []int{0, 1, 600 << 10} {
		msg := encrypt(t, bytes.Repeat([]byte("x"), n))
		if err := answers.Validate(bytes.NewReader(msg), answers.MaxCiphertext); err != nil {
			t.Errorf("%d bytes: %v", n, err)
		}
		if err := answers.Validate(bytes.NewReader(msg), int64(len(msg))); err != nil {
			t.Errorf("%d bytes at a limit of exactly its size: %v", n, err)
		}
	}
}

func TestValidateRefusesHostileShapes(t *testing.T) {
	plain := []byte("complaint-answer/1\n")
	good := encrypt(t, plain)
	skesk, data := policytest.Split(t, good)
	staff, _ := policytest.Staff(t)
	public := policytest.Encrypt(t, plain, staff[0])
	v1 := encryptWith(t, plain, func(c *packet.Config, _ *openpgp.EncryptParams) { c.AEADConfig = nil })
	v4SKESK, v1Data := policytest.Split(t, v1)
	legacy := append([]byte{0x80 | 3<<2, skeskLen(skesk[0])}, skesk[0][2:]...)
	cases := []struct {
		name string
		msg  []byte
		max  int64
		want string
	}{
		{"empty", nil, 0, "empty"},
		{"plain text", []byte("hello"), 0, "does not start with an OpenPGP packet"},
		{"armor", policytest.Armor(t, good), 0, "ASCII-armored"},
		{"a public-key message", public, 0, "public-key encrypted session key"},
		{"a public-key session key before ours", cat(policytest.Packet(1, []byte{6}), good), 0, "public-key"},
		{"a v4 SKESK with SEIPDv1", v1, 0, "version 4"},
		{"SEIPDv1 after a v6 SKESK", cat(skesk[0], v1Data), 0, "version 1"},
		{"a v4 SKESK before SEIPDv2", cat(v4SKESK[0], data), 0, "version 4"},
		{"two session keys", encryptWith(t, plain, func(_ *packet.Config, p *openpgp.EncryptParams) { p.Passwords = [][]byte{[]byte("other")} }), 0, "second session key"},
		{"literal data alone", literal(t, plain), 0, "literal data (tag 11) outside"},
		{"literal data after the session key", cat(skesk[0], literal(t, plain)), 0, "literal data (tag 11) outside"},
		{"compressed data alone", policytest.Packet(8, []byte{0, 'x'}), 0, "compressed data (tag 8) outside"},
		{"a marker first", cat(policytest.Packet(10, []byte("PGP")), good), 0, "marker"},
		{"a padding packet after", cat(good, policytest.Packet(21, make([]byte, 32))), 0, "follows the encrypted data"},
		{"a literal packet after", cat(good, literal(t, plain)), 0, "follows the encrypted data"},
		{"a trailing byte", cat(good, []byte{0}), 0, "byte"},
		{"no data", skesk[0], 0, "encrypted data is missing"},
		{"truncated", good[:len(good)-1], 0, "truncated"},
		{"oversize", good, int64(len(good) - 1), "larger than"},
		{"AES-128", encryptWith(t, plain, func(c *packet.Config, _ *openpgp.EncryptParams) { c.DefaultCipher = packet.CipherAES128 }), 0, "cipher (only AES-256, 9) is 7"},
		{"OCB", encryptWith(t, plain, func(c *packet.Config, _ *openpgp.EncryptParams) { c.AEADConfig.DefaultMode = packet.AEADModeOCB }), 0, "AEAD mode (only GCM, 3) is 2"},
		{"EAX", encryptWith(t, plain, func(c *packet.Config, _ *openpgp.EncryptParams) { c.AEADConfig.DefaultMode = packet.AEADModeEAX }), 0, "AEAD mode (only GCM, 3) is 1"},
		{"Argon2", encryptWith(t, plain, func(c *packet.Config, _ *openpgp.EncryptParams) { c.S2KConfig.S2KMode = s2k.Argon2S2K }), 0, "S2K type"},
		{"a high S2K count", encryptWith(t, plain, func(c *packet.Config, _ *openpgp.EncryptParams) { c.S2KConfig.S2KCount = 65011712 }), 0, "S2K count"},
		{"S2K with SHA-512", encryptWith(t, plain, func(c *packet.Config, _ *openpgp.EncryptParams) { c.S2KConfig.Hash = crypto.SHA512 }), 0, "S2K hash"},
		{"SEIPDv2 with AES-128", cat(skesk[0], setByte(data, 3, byte(packet.CipherAES128))), 0, "cipher is 7"},
		{"SEIPDv2 with OCB", cat(skesk[0], setByte(data, 4, byte(packet.AEADModeOCB))), 0, "AEAD mode is 2"},
		{"SEIPDv2 with a chunk octet of 17", cat(skesk[0], setByte(data, 5, 17)), 0, "chunk size"},
		{"a legacy packet header", cat(legacy, data), 0, "legacy header"},
		{"the data packet too short", cat(skesk[0], policytest.Packet(18, []byte{2, 9, 3, 12})), 0, "too short"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			max := c.max
			if max == 0 {
				max = answers.MaxCiphertext
			}
			err := answers.Validate(bytes.NewReader(c.msg), max)
			var se *answers.ShapeError
			if !errors.As(err, &se) {
				t.Fatalf("Validate = %v, want a *ShapeError", err)
			}
			if !strings.Contains(se.Reason, c.want) {
				t.Errorf("refused for %q, want a reason containing %q", se.Reason, c.want)
			}
			t.Logf("refused: %s", se.Reason)
		})
	}
}

// skeskLen is the one-octet body length of a new-format packet with a one-octet length.
func skeskLen(p []byte) byte { return p[1] }

// setByte changes one byte of a data packet: at 3, 4, 5 are the cipher, mode and chunk octets
// after a two-byte partial-length header and the version.
func setByte(p []byte, at int, v byte) []byte {
	q := append([]byte(nil), p...)
	q[at] = v
	return q
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	plain := bytes.Repeat([]byte("Antwort "), 100000)
	got, err := answers.Decrypt(bytes.NewReader(encrypt(t, plain)), pass)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(got); err != nil || !bytes.Equal(b, plain) {
		t.Fatalf("round trip: %d bytes, %v", len(b), err)
	}
}

func TestAWrongPassphraseFailsCleanly(t *testing.T) {
	msg := encrypt(t, []byte("secret"))
	other := strings.Repeat("A", 43)
	r, err := answers.Decrypt(bytes.NewReader(msg), other)
	if !errors.Is(err, answers.ErrWrongPassphrase) || r != nil {
		t.Fatalf("Decrypt with another passphrase = %v, %v; want ErrWrongPassphrase", r, err)
	}
}

func TestATamperedAnswerFailsWhenRead(t *testing.T) {
	msg := encrypt(t, bytes.Repeat([]byte("x"), 1000))
	msg[len(msg)-20] ^= 1
	r, err := answers.Decrypt(bytes.NewReader(msg), pass)
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if err == nil {
		t.Fatal("a changed byte went unnoticed")
	}
}

func TestDecryptRefusesAPublicKeyMessage(t *testing.T) {
	staff, _ := policytest.Staff(t)
	if _, err := answers.Decrypt(bytes.NewReader(policytest.Encrypt(t, []byte("x"), staff[0])), pass); err == nil {
		t.Fatal("a message to a staff key was opened with a passphrase")
	}
}

func TestEncryptRefusesAnythingButAnAnswerPassphrase(t *testing.T) {
	if _, err := answers.Encrypt(io.Discard, "hunter2"); err == nil {
		t.Fatal("a short passphrase was accepted")
	}
}

// TestBrowserChecksTheVectors runs testdata/answers/check.mjs as the browser would: WebCrypto
// for the derivations, OpenPGP.js's lightweight build for the ciphertext, no JIT, no WebAssembly.
func TestBrowserChecksTheVectors(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	cmd := exec.Command(node, "--conditions=browser", "--jitless", "testdata/answers/check.mjs")
	cmd.Dir = "../.."
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.mjs: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte(`"webassembly":false`)) {
		t.Errorf("WebAssembly was there under --jitless, so the check proves nothing about it: %s", out)
	}
	t.Logf("check.mjs: %s", out)
}

func FuzzValidate(f *testing.F) {
	ct, err := os.ReadFile(filepath.Join(vectors, "attachments.pgp"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Add(ct[:80])
	f.Add([]byte{0xc3, 0x4c, 6})
	f.Fuzz(func(t *testing.T, msg []byte) {
		err := answers.Validate(bytes.NewReader(msg), 1<<20)
		var se *answers.ShapeError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("Validate returned %v, not a *ShapeError, from memory", err)
		}
		if err == nil && (len(msg) < 2+76+2+4+32+16 || msg[0] != 0xc3) {
			t.Fatalf("accepted %x", msg)
		}
	})
}
