package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/keytool/metadata"
)

// maxCleanSize bounds the file keytool clean reads into memory: four times what one submission
// may carry, so any attachment fits.
const maxCleanSize = 4 * maxAttachments

type cleanOptions struct {
	out string
}

func newCleanCmd() *cobra.Command {
	var opts cleanOptions
	cmd := &cobra.Command{
		Use:   "clean FILE [--out FILE]",
		Short: "Write a copy of a photo or PDF without the hidden details that can name its sender",
		Long: `Write a copy of a JPEG, PNG or PDF file without its hidden details: the place a photo was
taken (GPS), the camera or phone and its serial number, the names of authors and owners, times,
and the programs that made or changed it. Use it before you pass an attachment on, to the body
complained about or anyone else: the details can name or place the person who sent it.

JPEG and PNG lose only their metadata; the picture is kept byte for byte, never encoded again.
The colour profile is kept, and so is the orientation (in a new EXIF holding nothing else), so
that a photo taken sideways still opens upright. A PDF is written again by pdfcpu, without its
document information, its XMP, its comments' authors and the hidden details of the JPEG pictures
inside it; what its pages show is not changed. keytool tells a file's kind by its content, not its
name, and refuses any other kind of file.

The copy is written next to FILE as NAME.clean.EXT unless --out names it, and never over an
existing file. A name can tell something too (IMG_20260501_123456.jpg is a time): give the copy
a neutral one with --out. keytool clean prints what it found, what it removed and what it kept. Look at the
copy before you pass it on: a name or a face in the picture itself is not a hidden detail.`,
		Example: `  keytool clean cases/<id>/attachments/01-photo.jpg
  keytool clean cases/<id>/attachments/02-letter.pdf --out /media/usb/for-the-employer/letter.pdf`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runClean(cmd.OutOrStdout(), args[0], opts)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "the file to write the copy to (default: NAME.clean.EXT next to FILE); never overwritten")
	return cmd
}

func runClean(w io.Writer, file string, opts cleanOptions) error {
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file", file)
	}
	if info.Size() > maxCleanSize {
		return fmt.Errorf("%s is %d MiB; keytool clean reads files of up to %d MiB", file, info.Size()>>20, maxCleanSize>>20)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	found, err := metadata.Read(data)
	if errors.Is(err, metadata.ErrUnknownFormat) {
		return fmt.Errorf("%s is not a JPEG, PNG or PDF file (keytool tells by the content, not the name), and keytool clean changes only those: save it as one of them (a photo as JPEG, a document as PDF), clean that copy, and look at it before you pass it on", file)
	}
	c, err := metadata.Clean(data)
	if errors.Is(err, metadata.ErrEncrypted) {
		return fmt.Errorf("%s: %v; nothing was written: ask the sender for an unprotected copy, or pass on a printout", file, err)
	}
	if err != nil {
		return fmt.Errorf("%s: %v; nothing was written: keytool clean changes only what it can follow to the end. A screenshot of it, cleaned, is another way", file, err)
	}
	out := opts.out
	if out == "" {
		out = cleanName(file, c.Format)
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s exists, and keytool clean never writes over a file: remove it, or name another with --out; nothing was written", out)
	}
	if err := writeNew(out, c.Data, 0o600); err != nil {
		return err
	}

	fmt.Fprintf(w, "%s (%s)\n", file, c.Format)
	if len(found.Findings) == 0 {
		fmt.Fprintln(w, "Hidden details found: none that keytool knows")
	} else {
		fmt.Fprintln(w, "Hidden details found, none of them in the copy:")
		printFindings(w, "    ", found)
	}
	for _, part := range []struct {
		title string
		lines []string
	}{{"Removed", c.Removed}, {"Kept", c.Kept}, {"Not changed, look for yourself", c.Limits}} {
		if len(part.lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s:\n", part.title)
		for _, l := range part.lines {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	fmt.Fprintf(w, "Wrote %s (%d bytes). Look at it before you pass it on.\n", out, len(c.Data))
	return nil
}

// cleanName is NAME.clean.EXT next to file, with the extension of the format found when the
// file's own does not fit it (a PNG sent as photo.jpg becomes photo.clean.png).
func cleanName(file string, format metadata.Format) string {
	ext := filepath.Ext(file)
	fits := map[metadata.Format][]string{
		metadata.JPEG: {".jpg", ".jpeg", ".jpe", ".jfif"},
		metadata.PNG:  {".png"},
		metadata.PDF:  {".pdf"},
	}
	if slices.Contains(fits[format], strings.ToLower(ext)) {
		return strings.TrimSuffix(file, ext) + ".clean" + ext
	}
	return strings.TrimSuffix(file, ext) + ".clean" + format.Ext()
}

func printFindings(w io.Writer, indent string, r metadata.Report) {
	for _, f := range r.Findings {
		fmt.Fprintf(w, "%s%s\n", indent, f)
	}
	if r.Dropped > 0 {
		fmt.Fprintf(w, "%sand %d more\n", indent, r.Dropped)
	}
}

// hiddenDetails is what summary.txt says about one attachment's hidden details: what keytool
// found in it, and the keytool clean command that makes a copy without them. rel is the
// attachment's path from the case folder.
func hiddenDetails(path, rel string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("        Hidden details: not read (%v)\n", err)
	}
	r, err := metadata.Read(data)
	var b strings.Builder
	switch {
	case errors.Is(err, metadata.ErrUnknownFormat):
		return "        Hidden details: not read; keytool reads them in JPEG, PNG and PDF files, and other kinds\n" +
			"        (office documents, HEIC photos, videos) can carry the author's name or the place too\n"
	case err != nil:
		fmt.Fprintf(&b, "        Hidden details: keytool could not read all of this %s file (%v); it may hold more\n", r.Format, metadata.Text(err.Error()))
		if len(r.Findings) == 0 {
			return b.String()
		}
	case len(r.Findings) == 0:
		return fmt.Sprintf("        Hidden details: none found (%s)\n", r.Format)
	default:
		fmt.Fprintf(&b, "        Hidden details in this %s file, not shown when it is opened:\n", r.Format)
	}
	printFindings(&b, "            ", r)
	fmt.Fprintf(&b, "        They can name or place the person who sent it. Before you pass the file on, make a\n"+
		"        copy without them: keytool clean %s (in this case folder)\n", shellQuote(rel))
	return b.String()
}

// shellQuote quotes a path for a shell command line when it needs it.
func shellQuote(s string) string {
	if strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
