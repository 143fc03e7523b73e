// Command keytool is what staff run on their offline computer: make a key, look at keys and
// messages, decrypt a copy of the drop box's spool into readable case folders, write
// encrypted answers to complaints sent with a codename, and keep the case register's deadlines.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/internal/buildinfo"
)

func main() {
	if err := newRootCmd(os.Stdin, os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "keytool: error:", err)
		os.Exit(1)
	}
}

func newRootCmd(in io.Reader, out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "keytool",
		Short: "Staff keys, offline decryption of submissions, and answers",
		Long: `keytool makes staff keys, decrypts submissions and writes answers on an offline computer.

Copy the drop box's spool folder to a removable drive, bring it to the offline computer,
and run keytool decrypt there. Plaintext is written only under the --out folder. keytool reply
writes an encrypted answer into an outbox folder, which goes back to the server.`,
		// keytool --version: which commit and Go built it, to match it to a release (README).
		Version:       buildinfo.Version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(newKeygenCmd(), newShowCmd(), newInspectCmd(), newDecryptCmd(), newReplyCmd(), newCasesCmd(), newCaseCmd(), newReportCmd(), newCleanCmd())
	return root
}
