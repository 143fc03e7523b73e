package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/internal/policy"
)

func newInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show a message's structure and recipients, without any secret key",
		Long: `Show the packets of an encrypted submission: which keys it is encrypted to, how its data
is encrypted, and its size. It needs no secret key and decrypts nothing.`,
		Example: `  keytool inspect /media/spool/3f0c5a9e2b7d41c68e1f0a2b3c4d5e6f.pgp`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			s, err := policy.Inspect(f)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d bytes\n", args[0], s.Size)
			for _, sk := range s.SessionKeys {
				if sk.Fingerprint != nil {
					fmt.Fprintf(out, "  session key v%d for key %X (algorithm %d)\n", sk.Version, sk.Fingerprint, sk.Algorithm)
				} else {
					fmt.Fprintf(out, "  session key v%d for key ID %016X (algorithm %d)\n", sk.Version, sk.KeyID, sk.Algorithm)
				}
			}
			if s.DataVersion == 2 {
				fmt.Fprintf(out, "  encrypted data SEIPDv2, %s, chunks of %d bytes, %d bytes\n",
					suiteName([2]uint8{uint8(s.Cipher), uint8(s.AEAD)}), s.ChunkSize, s.DataLength)
			} else {
				fmt.Fprintf(out, "  encrypted data SEIPDv1 (CFB with a SHA-1 check), %d bytes\n", s.DataLength)
			}
			return nil
		},
	}
}
