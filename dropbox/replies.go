package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/spool"
)

func newRepliesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replies",
		Short: "Take in the answers staff wrote with keytool reply",
	}
	cmd.AddCommand(newRepliesImportCmd())
	return cmd
}

type importOptions struct {
	config      []string
	environment string
	now         func() time.Time // the day of the import; time.Now but in tests
}

func newRepliesImportCmd() *cobra.Command {
	opts := importOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "import FOLDER",
		Short: "Import an outbox of encrypted answers into the answers folder",
		Long: `Import the outbox keytool reply wrote (FOLDER/<organisation>/<lookup>/<id>.pgp) into the
answers folder of the configuration ([params.dropbox] answers), where each person reads the
answers to their complaint with their codename.

Each file is checked as strictly as a submission: a declared organisation, a lookup of 64 and an
id of 32 lower-case hex digits, a regular file (no link), and exactly the OpenPGP shape of an
encrypted answer, at most 28 MiB. It is written durably, with the day of the import (00:00 UTC)
as its only time. Anything else is refused, and nothing of it is kept. An answer imported before
is skipped, so the import can run again. The outbox is left as it is: delete it once the table
says every file was imported (or skipped), so that an answer the person deleted is not imported
again.`,
		Example: `  dropbox replies import /media/staff/outbox
  dropbox replies import --config /etc/complaints/config.toml /media/staff/outbox`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conf, err := config.Load(opts.config, opts.environment)
			if err != nil {
				return err
			}
			return importOutbox(cmd.OutOrStdout(), conf, args[0], opts.now())
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.config, "config", []string{"config.toml"}, "the site and drop box configuration, as for serve")
	f.StringVar(&opts.environment, "environment", config.Environment(), "read config/<environment>/params.toml over the config, as for serve")
	return cmd
}

// importRow is one line of the closing table.
type importRow struct {
	file    string // relative to the outbox
	result  string
	refused bool
}

// importOutbox imports every answer of the outbox and prints a table, one row per file. The
// answers get the day of now as their time.
func importOutbox(out io.Writer, conf *config.Config, outbox string, now time.Time) error {
	day := dayOf(now)
	info, err := os.Stat(outbox)
	if err != nil {
		return fmt.Errorf("%w; give the outbox folder keytool reply wrote (--out)", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a folder; give the outbox folder keytool reply wrote (--out)", outbox)
	}
	if err := sameOwner(conf.Dropbox.Answers, "the answers folder", "dropbox replies import ...", "read and keep what it imports"); err != nil {
		return err
	}
	var rows []importRow
	refuse := func(file, why string) { rows = append(rows, importRow{file, "refused: " + why, true}) }
	orgs, err := os.ReadDir(outbox)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if o.Type()&fs.ModeSymlink != 0 {
			refuse(o.Name(), linkRefused)
			continue
		}
		if !o.IsDir() {
			refuse(o.Name(), "not an organisation's folder; an outbox holds only <organisation>/<lookup>/<id>.pgp as keytool reply writes it: remove it")
			continue
		}
		org := conf.Organisation(o.Name())
		if org == nil {
			why := fmt.Sprintf("no organisation %q is declared in this configuration (declared: %s); import it with the configuration of the drop box it was written for", o.Name(), conf.IDs())
			n := 0
			filepath.WalkDir(filepath.Join(outbox, o.Name()), func(path string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(outbox, path)
					refuse(rel, why)
					n++
				}
				return nil
			})
			if n == 0 {
				refuse(o.Name()+"/", why)
			}
			continue
		}
		box := conf.AnswersOf(org.ID)
		mailboxes, err := os.ReadDir(filepath.Join(outbox, o.Name()))
		if err != nil {
			refuse(o.Name()+"/", "cannot be read: "+err.Error())
			continue
		}
		for _, mb := range mailboxes {
			rel := filepath.Join(o.Name(), mb.Name())
			switch {
			case mb.Type()&fs.ModeSymlink != 0:
				refuse(rel, linkRefused)
				continue
			case !mb.IsDir():
				refuse(rel, "not a mailbox folder; keytool reply writes <organisation>/<lookup>/<id>.pgp: remove it")
				continue
			case !lookupPattern.MatchString(mb.Name()):
				refuse(rel+"/", "a mailbox folder is named by 64 lower-case hex digits (the lookup keytool reply takes from the case); remove it and run keytool reply again for its case")
				continue
			}
			files, err := os.ReadDir(filepath.Join(outbox, rel))
			if err != nil {
				refuse(rel+"/", "cannot be read: "+err.Error())
				continue
			}
			for _, f := range files {
				frel := filepath.Join(rel, f.Name())
				id, ok := strings.CutSuffix(f.Name(), answerExt)
				switch {
				case !ok || !answerID.MatchString(id):
					refuse(frel, "an answer is named <id>.pgp with an id of 32 lower-case hex digits, as keytool reply names it; remove it or run keytool reply again")
					continue
				case f.Type()&fs.ModeSymlink != 0:
					refuse(frel, linkRefused)
					continue
				case !f.Type().IsRegular():
					refuse(frel, "not a regular file; remove it and run keytool reply again for its case")
					continue
				}
				result, err := importAnswer(filepath.Join(outbox, frel), box, mb.Name(), id, day)
				if err != nil {
					refuse(frel, err.Error())
					continue
				}
				rows = append(rows, importRow{frel, result, false})
			}
		}
	}
	return printImport(out, outbox, rows)
}

func printImport(out io.Writer, outbox string, rows []importRow) error {
	if len(rows) == 0 {
		return fmt.Errorf("%s holds no answers; give the outbox folder keytool reply wrote (--out), with <organisation>/<lookup>/<id>.pgp in it", outbox)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tRESULT")
	counts := map[string]int{}
	refused := 0
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r.file, r.result)
		if r.refused {
			refused++
		} else {
			counts[r.result]++
		}
	}
	tw.Flush()
	deleted := ""
	if n := counts[resultDeleted]; n > 0 {
		deleted = fmt.Sprintf(", %d deleted on the server since", n)
	}
	fmt.Fprintf(out, "%d imported, %d imported before%s, %d refused\n", counts[resultImported], counts[resultAlready], deleted, refused)
	if refused > 0 {
		return fmt.Errorf("%d of %d files were refused and nothing of them was kept; the table says why. Fix what it says and import again: what was imported stays and is skipped", refused, len(rows))
	}
	fmt.Fprintln(out, "Every answer is in place: the outbox may be deleted.")
	return nil
}

// linkRefused is the refusal of a link anywhere in the outbox: it could point anywhere.
const linkRefused = "a link; copy the outbox as plain files (cp -r, or rsync without --links) and import again"

const (
	resultImported = "imported"
	resultAlready  = "imported before: skipped"
	resultDeleted  = "deleted on the server since it was imported (by the person, or after answer_retention): skipped"
)

// importAnswer writes one answer into <box>/<lookup>/<id>.pgp if it has the shape of an
// encrypted answer: through a temporary file in the same folder, synced, its time set to the day,
// renamed, the folder synced. A refusal leaves nothing behind, not even a folder it made.
func importAnswer(src, box, lookup, id string, day time.Time) (result string, err error) {
	f, err := openNoLink(src)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return "", errors.New(linkRefused)
	case errors.Is(err, errNotRegular):
		return "", errors.New("not a regular file; remove it and run keytool reply again for its case")
	case err != nil:
		return "", fmt.Errorf("cannot be read (%w); check the outbox's copy and import again", err)
	}
	defer f.Close()

	dir := filepath.Join(box, lookup)
	final := filepath.Join(dir, id+answerExt)
	if wasDeleted(box, id) {
		return resultDeleted, nil
	}
	if _, err := os.Lstat(final); err == nil {
		same, err := sameContent(f, final)
		switch {
		case err != nil:
			return "", fmt.Errorf("an answer with this id is in the answers folder but cannot be compared (%w); check the answers folder", err)
		case !same:
			return "", errors.New("a different answer with this id was imported before; run keytool reply again for its case, which draws a new id")
		}
		return resultAlready, nil
	}

	made, err := makeFolders(filepath.Dir(box), box, dir)
	if err != nil {
		return "", fmt.Errorf("the answers folder cannot be made (%w); check [params.dropbox] answers and its permissions", err)
	}
	kept := false
	defer func() {
		if !kept {
			for i := len(made) - 1; i >= 0; i-- {
				os.Remove(made[i]) // only if empty: an answer imported meanwhile stays
			}
		}
	}()
	tmp, err := os.CreateTemp(dir, incomingPrefix+"*")
	if err != nil {
		return "", fmt.Errorf("cannot be written to the answers folder (%w); check its disk and permissions, and import again", err)
	}
	defer func() {
		if !kept {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	err = answers.Validate(io.TeeReader(f, tmp), answers.MaxCiphertext)
	var se *answers.ShapeError
	switch {
	case errors.As(err, &se):
		return "", fmt.Errorf("not an encrypted answer as keytool reply writes it: %s; run keytool reply again for its case", se.Reason)
	case err != nil:
		return "", fmt.Errorf("cannot be read or written (%w); import again", err)
	}
	// Validate reads to the end of a valid answer; the copy must hold every byte of it.
	if _, err := io.Copy(tmp, f); err != nil {
		return "", fmt.Errorf("cannot be written to the answers folder (%w); import again", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("cannot be written to the answers folder (%w); import again", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("cannot be written to the answers folder (%w); import again", err)
	}
	if err := os.Chtimes(tmp.Name(), day, day); err != nil {
		return "", fmt.Errorf("its time cannot be set to the day (%w); import again", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("cannot be written to the answers folder (%w); import again", err)
	}
	if err := spool.SyncDir(dir); err != nil {
		os.Remove(final) // its name may not survive a crash: it was not imported
		return "", fmt.Errorf("the answers folder cannot be synced (%w); import again", err)
	}
	kept = true
	// The folders' times changed with the new name: they too say only the day.
	for _, d := range []string{dir, box, filepath.Dir(box)} {
		spool.SyncDir(d)
		os.Chtimes(d, day, day)
	}
	return resultImported, nil
}

// makeFolders makes each folder that is missing, mode 0700, and returns those it made.
func makeFolders(dirs ...string) ([]string, error) {
	var made []string
	for _, d := range dirs {
		err := os.Mkdir(d, 0o700)
		switch {
		case err == nil:
			made = append(made, d)
			spool.SyncDir(filepath.Dir(d))
		case errors.Is(err, fs.ErrExist):
			if info, err := os.Lstat(d); err != nil || !info.IsDir() {
				return made, fmt.Errorf("%s is not a folder", d)
			}
		default:
			return made, err
		}
	}
	return made, nil
}

// sameContent compares f, from its start, with the file at path.
func sameContent(f *os.File, path string) (bool, error) {
	g, err := openNoLink(path)
	if err != nil {
		return false, err
	}
	defer g.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	gi, err := g.Stat()
	if err != nil || fi.Size() != gi.Size() {
		return false, err
	}
	a, b := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(f, a)
		nb, eb := io.ReadFull(g, b)
		if na != nb || !bytes.Equal(a[:na], b[:nb]) {
			return false, nil
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			return true, nil
		}
		if ea != nil {
			return false, ea
		}
		if eb != nil {
			return false, eb
		}
	}
}

// sameOwner refuses to run as another user than the one that owns dir, the drop box's: files
// and folders made 0600 or 0700 by another user could not be read by the drop box, and those
// it made could not be changed by another. A missing dir is made by whoever runs first.
func sameOwner(dir, what, command, why string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == os.Geteuid() {
		return nil
	}
	return fmt.Errorf("%s %s belongs to the user with id %d, and this runs as id %d; run it as the drop box's own user (for example: sudo -u <that user> %s), so that the drop box can %s", what, dir, st.Uid, os.Geteuid(), command, why)
}
