package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// minPassphrase is the shortest passphrase keygen accepts: the key file may be lost with the
// drive it is on, and then the passphrase is all that protects every submission.
const minPassphrase = 12

// readPassphraseFile reads the first line of a file.
func readPassphraseFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase: %w", err)
	}
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return nil, fmt.Errorf("%s is empty: its first line must be the passphrase", path)
	}
	return line, nil
}

// promptPassphrase asks on the terminal without echo; twice when confirm is set.
func promptPassphrase(in io.Reader, out io.Writer, prompt string, confirm bool) ([]byte, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errors.New("no passphrase: give --passphrase-file FILE, or run keytool on a terminal to type it")
	}
	fmt.Fprint(out, prompt)
	p, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(out)
	if err != nil {
		return nil, err
	}
	if confirm {
		fmt.Fprint(out, "Type it again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			return nil, errors.New("the two passphrases differ; nothing was written")
		}
	}
	return p, nil
}

func getPassphrase(in io.Reader, out io.Writer, file, prompt string, confirm bool) ([]byte, error) {
	if file != "" {
		return readPassphraseFile(file)
	}
	return promptPassphrase(in, out, prompt, confirm)
}
