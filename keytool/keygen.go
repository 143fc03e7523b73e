package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/internal/policy"
)

type keygenOptions struct {
	name           string
	out            string
	passphraseFile string
}

func newKeygenCmd() *cobra.Command {
	var opts keygenOptions
	cmd := &cobra.Command{
		Use:   "keygen --name NAME --out DIR",
		Short: "Make a staff key: a public key for the drop box and a protected private key",
		Long: `Make a key for one staff member who reads submissions.

It writes DIR/<name>.pub.asc, the public key to put in the drop box's configuration, and
DIR/<name>.key.asc, the private key, protected by your passphrase (Argon2) and readable only
by you (mode 0600). Keep the private key on the offline computer or its drive, never on the
server. The key is OpenPGP v6 (RFC 9580): Ed25519 with an X25519 encryption subkey, and it
asks senders for AES-256 in GCM mode, which is fast in every browser.`,
		Example: `  keytool keygen --name "Ana Weber" --out /media/staff-keys
  keytool keygen --name "Ana Weber" --out keys --passphrase-file /dev/shm/pass`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeygen(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.name, "name", "", "the staff member's name, as it should appear on the key")
	cmd.Flags().StringVar(&opts.out, "out", "", "the folder to write the two key files to")
	cmd.Flags().StringVar(&opts.passphraseFile, "passphrase-file", "", "read the passphrase from this file's first line instead of asking")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("out")
	return cmd
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slug(name string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if s == "" {
		return "staff"
	}
	return s
}

func runKeygen(cmd *cobra.Command, opts keygenOptions) error {
	base := filepath.Join(opts.out, slug(opts.name))
	pubPath, keyPath := base+".pub.asc", base+".key.asc"
	for _, p := range []string{pubPath, keyPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists already; keygen never overwrites a key (move it away or choose another --name)", p)
		}
	}
	pass, err := getPassphrase(cmd.InOrStdin(), cmd.ErrOrStderr(), opts.passphraseFile, "Passphrase for the new key: ", true)
	if err != nil {
		return err
	}
	if len([]rune(string(pass))) < minPassphrase {
		return fmt.Errorf("the passphrase has fewer than %d characters; use a longer one, e.g. four or five random words", minPassphrase)
	}
	e, err := policy.NewStaffKey(opts.name, pass)
	if err != nil {
		return err
	}
	var pub, priv bytes.Buffer
	if err := writeArmored(&pub, openpgp.PublicKeyType, e.Serialize); err != nil {
		return err
	}
	if err := writeArmored(&priv, openpgp.PrivateKeyType, func(w io.Writer) error {
		return e.SerializePrivateWithoutSigning(w, nil)
	}); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.out, 0o700); err != nil {
		return err
	}
	if err := writeNew(keyPath, priv.Bytes(), 0o600); err != nil {
		return err
	}
	if err := writeNew(pubPath, pub.Bytes(), 0o644); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Made a key for %s\n  fingerprint %X\n", opts.name, e.PrimaryKey.Fingerprint)
	fmt.Fprintf(out, "  public key  %s  (list it in keys of your organisation's [params.organisations.<id>] in config.toml, then run make site and build the drop box again)\n", pubPath)
	fmt.Fprintf(out, "  private key %s  (mode 0600; keep it offline, never on the server)\n", keyPath)
	return nil
}

func writeArmored(w io.Writer, blockType string, serialize func(io.Writer) error) error {
	aw, err := armor.EncodeWithChecksumOption(w, blockType, nil, false)
	if err != nil {
		return err
	}
	if err := serialize(aw); err != nil {
		return err
	}
	return aw.Close()
}

// writeNew writes a file that must not exist yet, synced, with the given mode.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists already; nothing was overwritten", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
