// Package policy is the project's OpenPGP policy in one place: the profile of staff keys, which
// recipient keys are acceptable, and which messages the drop box may store. The drop box and
// keytool both call it, so the server never accepts what keytool would refuse.
package policy

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// MinRSABits is the smallest RSA modulus accepted for an existing (GnuPG) recipient key.
const MinRSABits = 3072

// KeyConfig is the profile of keys made by keytool keygen: a v6 key (RFC 9580) with an Ed25519
// primary key and an X25519 encryption subkey, advertising SEIPDv2 with AES-256 and GCM first.
//
// GCM comes first on purpose: OpenPGP.js picks the first cipher suite all recipients share, and
// its OCB is 75 to 300 times slower than its GCM (measured: 25 MiB in 7.5 to 33 s against 0.1 s).
// The secret keys are protected with Argon2 (RFC 9106's second recommended profile, 64 MiB).
func KeyConfig() *packet.Config {
	return &packet.Config{
		V6Keys:        true,
		Algorithm:     packet.PubKeyAlgoEd25519,
		DefaultHash:   crypto.SHA512,
		DefaultCipher: packet.CipherAES256,
		AEADConfig:    &packet.AEADConfig{DefaultMode: packet.AEADModeGCM},
		S2KConfig: &s2k.Config{
			S2KMode:      s2k.Argon2S2K,
			Argon2Config: &s2k.Argon2Config{NumberOfPasses: 3, DegreeOfParallelism: 4, Memory: 64 * 1024},
		},
		MinRSABits: MinRSABits,
	}
}

// NewStaffKey makes a key for one staff member with KeyConfig and protects its secret parts with
// the passphrase.
func NewStaffKey(name string, passphrase []byte) (*openpgp.Entity, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("a passphrase is required: a staff key is never stored unprotected")
	}
	cfg := KeyConfig()
	e, err := openpgp.NewEntity(name, "", "", cfg)
	if err != nil {
		return nil, fmt.Errorf("generating the key: %w", err)
	}
	if err := e.EncryptPrivateKeys(passphrase, cfg); err != nil {
		return nil, fmt.Errorf("protecting the key with the passphrase: %w", err)
	}
	return e, nil
}

// Recipient is one staff member's public key, as configured for the drop box.
type Recipient struct {
	Path   string // the file it was read from, for messages
	Entity *openpgp.Entity
	// Keys are the encryption keys (usually one subkey) a message may be encrypted to.
	Keys []*packet.PublicKey
}

// Name is the recipient's primary user ID, or its fingerprint when it has none.
func (r *Recipient) Name() string {
	for _, id := range r.Entity.Identities {
		return id.Name
	}
	return fmt.Sprintf("%X", r.Entity.PrimaryKey.Fingerprint)
}

// Fingerprint is the hex fingerprint of the recipient's primary key.
func (r *Recipient) Fingerprint() string {
	return fmt.Sprintf("%X", r.Entity.PrimaryKey.Fingerprint)
}

// ReadKeyFile reads the keys in an armored or binary OpenPGP key file.
func ReadKeyFile(path string) (openpgp.EntityList, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader = bytes.NewReader(raw)
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: reading the ASCII armor: %w", path, err)
		}
		r = block.Body
	}
	keys, err := openpgp.ReadKeyRing(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not an OpenPGP key: %w", path, err)
	}
	return keys, nil
}

// LoadRecipient reads a public key file and checks that it may receive submissions: exactly one
// key, public only, valid now, with at least one encryption key the policy accepts.
func LoadRecipient(path string) (*Recipient, error) {
	keys, err := ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	if len(keys) != 1 {
		return nil, fmt.Errorf("%s holds %d keys; give one file per staff member", path, len(keys))
	}
	e := keys[0]
	if e.PrivateKey != nil {
		return nil, fmt.Errorf("%s holds a private key; the drop box needs only the public key (the .pub.asc file, or gpg --export --armor), and the private key must never be on the server", path)
	}
	r, err := NewRecipient(e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.Path = path
	return r, nil
}

// NewRecipient checks a key as LoadRecipient does, for a key already read.
func NewRecipient(e *openpgp.Entity) (*Recipient, error) {
	now := time.Now()
	cfg := KeyConfig()
	if _, err := e.VerifyPrimaryKey(now, cfg); err != nil {
		return nil, fmt.Errorf("the key %X is not valid now (expired, revoked or badly signed): %w", e.PrimaryKey.Fingerprint, err)
	}
	r := &Recipient{Entity: e}
	var refused []string
	for i := range e.Subkeys {
		sub := &e.Subkeys[i]
		sig, err := sub.Verify(now, cfg)
		if err != nil || !sig.FlagsValid || !(sig.FlagEncryptCommunications || sig.FlagEncryptStorage) {
			continue
		}
		if err := CheckEncryptionKey(sub.PublicKey); err != nil {
			refused = append(refused, err.Error())
			continue
		}
		r.Keys = append(r.Keys, sub.PublicKey)
	}
	if len(r.Keys) == 0 {
		if len(refused) > 0 {
			return nil, fmt.Errorf("no encryption key this system accepts: %s", strings.Join(refused, "; "))
		}
		return nil, errors.New("the key has no valid encryption subkey")
	}
	// Senders (OpenPGP.js, go-crypto, GnuPG) encrypt to the newest valid encryption subkey: that
	// one must be acceptable, or every submission to this key would be refused.
	chosen, err := e.EncryptionKeyWithError(now, &packet.Config{MinRSABits: 1024})
	if err != nil {
		return nil, fmt.Errorf("senders find no encryption key in it: %w", err)
	}
	if !slices.ContainsFunc(r.Keys, func(k *packet.PublicKey) bool { return bytes.Equal(k.Fingerprint, chosen.PublicKey.Fingerprint) }) {
		return nil, fmt.Errorf("senders would encrypt to its newest subkey %X, which this system does not accept (%s); revoke that subkey or make a new key with keytool keygen",
			chosen.PublicKey.Fingerprint, CheckEncryptionKey(chosen.PublicKey))
	}
	return r, nil
}

// KeyFingerprints names the primary key and every accepted encryption key: two copies of a key
// that differ in their subkeys (one revoked since, say) do not match.
func (r *Recipient) KeyFingerprints() string {
	parts := []string{r.Fingerprint()}
	for _, k := range r.Keys {
		parts = append(parts, fmt.Sprintf("%X", k.Fingerprint))
	}
	slices.Sort(parts[1:])
	return strings.Join(parts, "/")
}

// CheckEncryptionKey says whether a key may be used to encrypt submissions: X25519 or X448 (v4 or
// v6), ECDH on Curve25519 (v4, as GnuPG makes it), or RSA of at least MinRSABits (v4).
func CheckEncryptionKey(k *packet.PublicKey) error {
	switch k.PubKeyAlgo {
	case packet.PubKeyAlgoX25519, packet.PubKeyAlgoX448:
		return nil
	case packet.PubKeyAlgoECDH:
		curve, err := k.Curve()
		if err != nil {
			return err
		}
		if k.Version == 4 && curve == packet.Curve25519 {
			return nil
		}
		return fmt.Errorf("key %X uses ECDH on %s; only Curve25519 is accepted", k.Fingerprint, curve)
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly:
		bits, err := k.BitLength()
		if err != nil {
			return err
		}
		if bits < MinRSABits {
			return fmt.Errorf("key %X is RSA with %d bits; at least %d are needed (make a new key with keytool keygen)", k.Fingerprint, bits, MinRSABits)
		}
		return nil
	}
	return fmt.Errorf("key %X uses public-key algorithm %d, which this system does not accept", k.Fingerprint, k.PubKeyAlgo)
}

// LoadRecipients loads every configured recipient and refuses the same key twice.
func LoadRecipients(paths []string) ([]*Recipient, error) {
	if len(paths) == 0 {
		return nil, errors.New("no staff keys given: list staff public key files in keys of the organisation in config.toml")
	}
	seen := map[string]string{}
	var out []*Recipient
	for _, p := range paths {
		r, err := LoadRecipient(p)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[r.Fingerprint()]; ok {
			return nil, fmt.Errorf("%s and %s are the same key %s; list each staff key once", prev, p, r.Fingerprint())
		}
		seen[r.Fingerprint()] = p
		out = append(out, r)
	}
	return out, nil
}

// Entities returns the recipients' keys, for encrypting to all of them.
func Entities(rs []*Recipient) []*openpgp.Entity {
	out := make([]*openpgp.Entity, len(rs))
	for i, r := range rs {
		out[i] = r.Entity
	}
	return out
}

// EncryptConfig is the configuration for encrypting a submission on the server (the form sent
// without JavaScript) and in tests: SEIPDv2 with AES-256 and GCM when every recipient
// advertises it, else SEIPDv1 with AES-256; no compression.
func EncryptConfig() *packet.Config {
	return &packet.Config{
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
		AEADConfig:             &packet.AEADConfig{DefaultMode: packet.AEADModeGCM},
		MinRSABits:             MinRSABits,
	}
}
