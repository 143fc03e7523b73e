// Command keytool is what staff run on their offline computer: make a key, look at keys and
// messages, and decrypt a copy of the drop box's spool into readable case folders.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
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
		Short: "Staff keys and offline decryption of submissions",
		Long: `keytool makes staff keys and decrypts submissions on an offline computer.

Copy the drop box's spool folder to a removable drive, bring it to the offline computer,
and run keytool decrypt there. Plaintext is written only under the --out folder.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(newKeygenCmd(), newShowCmd(), newInspectCmd(), newDecryptCmd())
	return root
}
