package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/safe-complaints/dropbox/internal/export"
	"github.com/safe-complaints/dropbox/internal/spool"
)

// notReadStatus marks a row of the closing table for an entry of the spool copy that looks like
// a submission but was not read as one.
const notReadStatus = "not read"

var (
	// submissionName is how the drop box names a stored submission (spool.List reads only these).
	submissionName = regexp.MustCompile(`^[0-9a-f]{32}\.pgp$`)
	// anID finds a submission's id in a name a copy or a rename may have made from it:
	// "<ID>.pgp" in capitals, "<id>.pgp.1", "<id> (1).pgp"; exactly 32 hex digits, so that a
	// longer hash (a SHA-256 in a file name) is not taken for one.
	anID = regexp.MustCompile(`(?i)(?:^|[^0-9a-f])([0-9a-f]{32})(?:[^0-9a-f]|$)`)
)

// strays lists what spool.List leaves out of the spool copy dir. Entries that look like
// submissions (a submission's name on a link or a folder, a near-miss name, a folder of
// submissions) come back as rows for the closing table, each with why it was not read and what
// to do. Anything else (notes staff keep there) comes back as a name to mention; the drop box's
// own .incoming folder is left out.
func strays(dir string) (notRead []result, others []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		name, t := e.Name(), e.Type()
		if submissionName.MatchString(name) && t.IsRegular() {
			continue // a submission: spool.List has it
		}
		if name == ".incoming" && t.IsDir() {
			continue // the drop box's uploads in progress, never acknowledged: not submissions
		}
		if name == export.ManifestName || name == export.ReceiptName || name == export.SignatureName || strings.HasPrefix(name, ".tmp-") {
			continue // an export's own files (docs/transfer.md)
		}
		if reason := strayReason(dir, name, t, names); reason != "" {
			notRead = append(notRead, result{shown(name), notReadStatus, reason})
			continue
		}
		if t.IsDir() {
			name += "/"
		}
		others = append(others, shown(name))
	}
	return notRead, others, nil
}

// strayReason says why an entry that looks like a submission was not read, or "" when it does
// not look like one.
func strayReason(dir, name string, t fs.FileMode, names map[string]bool) string {
	if submissionName.MatchString(name) {
		switch {
		case t&fs.ModeSymlink != 0:
			return "a symbolic link, not a file; copy the submission file itself (cp -L follows links), not a link to it, then run again"
		case t.IsDir():
			return "a folder, not a file; a submission is one file: copy " + name + " from the drop box's spool, then run again"
		default:
			return kind(t) + ", not a regular file; copy the submission file itself, then run again"
		}
	}
	if t.IsDir() {
		if n := countSubmissions(filepath.Join(dir, name)); n > 0 {
			return fmt.Sprintf("a folder holding %s; keytool reads only the files directly in --in: run it again with --in %s", count(n, "submission"), shown(filepath.Join(dir, name)))
		}
	}
	var id string
	if m := anID.FindStringSubmatch(name); m != nil {
		id = m[1]
	}
	if id == "" && !strings.Contains(strings.ToLower(name), spool.Ext) {
		return ""
	}
	what := "named like a submission, but a submission's name is 32 lowercase hex digits and .pgp, nothing else"
	if !t.IsRegular() {
		what = kind(t) + " " + what
	}
	switch want := strings.ToLower(id) + spool.Ext; {
	case id == "":
		return what + "; if it is one (keytool inspect shows whether it is an encrypted message), give it such a name, then run again"
	case names[want]:
		return fmt.Sprintf("%s; probably a second copy of %s, which is there too: if cmp shows they are the same, delete this one", what, want)
	case !t.IsRegular():
		return fmt.Sprintf("%s; copy the file %s itself from the drop box's spool, then run again", what, want)
	default:
		return fmt.Sprintf("%s; rename it to %s, then run again", what, want)
	}
}

// countSubmissions counts the submission files directly in dir, as spool.List would read them.
func countSubmissions(dir string) int {
	entries, _ := spool.List(dir)
	return len(entries)
}

func kind(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t.IsDir():
		return "a folder"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// shown is a name as the table prints it: quoted when it holds spaces or characters a terminal
// would not show plainly (a name in the spool copy comes from whoever made the copy).
func shown(name string) string {
	for _, r := range name {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || unicode.Is(unicode.Bidi_Control, r) {
			return strconv.Quote(name)
		}
	}
	return name
}
