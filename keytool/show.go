package main

import (
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/internal/policy"
)

func newShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show FILE",
		Short: "Show a key file: fingerprint, version, algorithms, usages, expiry",
		Long: `Show what is in a key file, public or private, made by keytool keygen or exported
from GnuPG, and whether the drop box accepts it as a recipient.`,
		Example: `  keytool show keys/ana-weber.pub.asc
  keytool show old-gnupg-key.asc`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, err := policy.ReadKeyFile(args[0])
			if err != nil {
				return err
			}
			for _, e := range keys {
				showEntity(cmd.OutOrStdout(), e)
			}
			return nil
		},
	}
}

func showEntity(w io.Writer, e *openpgp.Entity) {
	now := time.Now()
	kind := "public key"
	if e.PrivateKey != nil {
		kind = "private key"
		if e.PrivateKey.Encrypted {
			kind += ", protected by a passphrase"
		} else {
			kind += ", NOT protected by a passphrase"
		}
	}
	fmt.Fprintf(w, "%s\n", kind)
	for _, id := range e.Identities {
		fmt.Fprintf(w, "  user       %s\n", id.Name)
	}
	sig, err := e.PrimarySelfSignature(now, nil)
	showKey(w, "primary", e.PrimaryKey, sig, err)
	for i := range e.Subkeys {
		sub := &e.Subkeys[i]
		sig, err := sub.LatestValidBindingSignature(now, nil)
		showKey(w, "subkey", sub.PublicKey, sig, err)
	}
	if r, err := policy.NewRecipient(e); err != nil {
		fmt.Fprintf(w, "  drop box   not accepted as a recipient: %s\n", err)
	} else {
		fmt.Fprintf(w, "  drop box   accepted as a recipient (%d encryption key)\n", len(r.Keys))
	}
}

func showKey(w io.Writer, role string, k *packet.PublicKey, sig *packet.Signature, sigErr error) {
	fmt.Fprintf(w, "  %-10s %X\n", role, k.Fingerprint)
	fmt.Fprintf(w, "             version %d, %s, created %s\n", k.Version, algorithmName(k), k.CreationTime.UTC().Format("2006-01-02"))
	if sigErr != nil || sig == nil {
		fmt.Fprintf(w, "             not valid now: %v\n", sigErr)
		return
	}
	fmt.Fprintf(w, "             usage %s, %s\n", usages(sig), expiry(k, sig))
	if sig.SEIPDv2 && len(sig.PreferredCipherSuites) > 0 {
		fmt.Fprintf(w, "             asks for SEIPDv2, first cipher suite %s\n", suiteName(sig.PreferredCipherSuites[0]))
	}
}

func algorithmName(k *packet.PublicKey) string {
	switch k.PubKeyAlgo {
	case packet.PubKeyAlgoEd25519:
		return "Ed25519"
	case packet.PubKeyAlgoX25519:
		return "X25519"
	case packet.PubKeyAlgoEd448:
		return "Ed448"
	case packet.PubKeyAlgoX448:
		return "X448"
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		bits, _ := k.BitLength()
		return fmt.Sprintf("RSA %d", bits)
	case packet.PubKeyAlgoECDH, packet.PubKeyAlgoEdDSA, packet.PubKeyAlgoECDSA:
		curve, _ := k.Curve()
		names := map[packet.PublicKeyAlgorithm]string{packet.PubKeyAlgoECDH: "ECDH", packet.PubKeyAlgoEdDSA: "EdDSA (legacy)", packet.PubKeyAlgoECDSA: "ECDSA"}
		return fmt.Sprintf("%s %s", names[k.PubKeyAlgo], curve)
	}
	return fmt.Sprintf("algorithm %d", k.PubKeyAlgo)
}

func usages(sig *packet.Signature) string {
	if !sig.FlagsValid {
		return "not stated"
	}
	var u []string
	if sig.FlagCertify {
		u = append(u, "certify")
	}
	if sig.FlagSign {
		u = append(u, "sign")
	}
	if sig.FlagEncryptCommunications || sig.FlagEncryptStorage {
		u = append(u, "encrypt")
	}
	if sig.FlagAuthenticate {
		u = append(u, "authenticate")
	}
	if len(u) == 0 {
		return "none"
	}
	out := u[0]
	for _, s := range u[1:] {
		out += "+" + s
	}
	return out
}

func expiry(k *packet.PublicKey, sig *packet.Signature) string {
	if sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return "does not expire"
	}
	at := k.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
	if at.Before(time.Now()) {
		return "EXPIRED on " + at.UTC().Format("2006-01-02")
	}
	return "expires " + at.UTC().Format("2006-01-02")
}

func suiteName(s [2]uint8) string {
	ciphers := map[uint8]string{7: "AES-128", 8: "AES-192", 9: "AES-256"}
	modes := map[uint8]string{1: "EAX", 2: "OCB", 3: "GCM"}
	return fmt.Sprintf("%s-%s", ciphers[s[0]], modes[s[1]])
}
