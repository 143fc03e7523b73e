package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/safe-complaints/dropbox/keytool/register"
	"io"
	"io/fs"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/submission"
)

type replyOptions struct {
	cases, caseID, out string
	textFile           string
	attach             []string
	lang               string
	template           string
	days               int
	audience           string
	step, register     string           // the step this answer is, recorded in the case register
	now                func() time.Time // the day of the answer: time.Now but in tests
}

var idRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func newReplyCmd() *cobra.Command {
	opts := replyOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "reply --cases CASES --case ID --out OUTBOX [--text FILE] [--attach FILE ...]",
		Short: "Write an encrypted answer to a complaint sent with a codename",
		Long: `Write an answer that the person reads on the site's answers page with their codename.

The complaint must have been sent with a codename: keytool decrypt then put followup.json in its
case folder, which says where the answer goes and the passphrase it is encrypted with. The answer
is written to OUTBOX/<organisation>/<mailbox>/<random id>.pgp; take OUTBOX to the server and
import it there (dropbox replies import OUTBOX). A copy of what was sent, the text and the
attachments, is kept in CASES/<id>/answers/<NN>-<day>/.

The text comes from --text FILE; without it, from $EDITOR; without that, from standard input
when it is not a terminal. It is plain text (no HTML), in any language, at most 256 KiB; the
attachments together at most 25 MiB. The answer's language is the complaint's unless --lang says
otherwise, and its date is today's (UTC), without a time.

Ready-made answers, in all 12 languages of the site, for the usual steps:
  --template received                     we have your message and are working on it
  --template contact-soon --days N        we will get back to you within N working days
  --template outcome-coming               we looked into it; the outcome follows soon
They speak to a child when the complaint came through a procedure whose pages speak to children
(the site's rules, which keytool carries), and to an adult otherwise (--audience changes it). With --text as well, your words follow the
ready-made text.`,
		Example: `  keytool reply --cases ~/cases --case 0123456789abcdef0123456789abcdef --out /media/usb/outbox --template received
  keytool reply --cases ~/cases --case 0123456789abcdef0123456789abcdef --out /media/usb/outbox --template contact-soon --days 3
  keytool reply --cases ~/cases --case 0123456789abcdef0123456789abcdef --out /media/usb/outbox --template received --step formal-acknowledgement
  keytool reply --cases ~/cases --case 0123456789abcdef0123456789abcdef --out /media/usb/outbox --text answer.txt --attach decision.pdf
  keytool reply --cases ~/cases --case 0123456789abcdef0123456789abcdef --out /media/usb/outbox    # opens $EDITOR`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReply(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.cases, "cases", "", "the folder of case folders keytool decrypt wrote")
	f.StringVar(&opts.caseID, "case", "", "the case to answer: its folder name, the first complaint's id (32 hex digits)")
	f.StringVar(&opts.out, "out", "", "the outbox folder on the removable drive that goes to the server (made if missing)")
	f.StringVar(&opts.textFile, "text", "", "read the answer's text from this file (UTF-8)")
	f.StringArrayVar(&opts.attach, "attach", nil, "attach this file (repeat for more)")
	f.StringVar(&opts.lang, "lang", "", "the answer's language (default: the complaint's)")
	f.StringVar(&opts.template, "template", "", "a ready-made answer: "+strings.Join(templateNames, ", "))
	f.IntVar(&opts.days, "days", 0, "with --template contact-soon: within how many working days you will get back to the person")
	f.StringVar(&opts.step, "step", "", "record in the case register that this answer is that step of the procedure (keytool case ID lists them), done today")
	f.StringVar(&opts.register, "register", "", "with --step: the case register (default: CASES/register.sqlite, as keytool decrypt makes it)")
	f.StringVar(&opts.audience, "audience", "", "with --template: speak to adults or children (default: children for a children's procedure)")
	cmd.MarkFlagRequired("cases")
	cmd.MarkFlagRequired("case")
	cmd.MarkFlagRequired("out")
	return cmd
}

func runReply(cmd *cobra.Command, opts replyOptions) error {
	if err := checkTemplateFlags(cmd, opts); err != nil {
		return err
	}
	caseDir, fu, sub, err := openCase(opts.cases, opts.caseID)
	if err != nil {
		return err
	}
	// The step is checked before anything is written, and recorded after the answer is.
	var reg *register.Register
	if opts.step != "" {
		if reg, err = registerForStep(opts, sub.Procedure); err != nil {
			return err
		}
		defer reg.Close()
	}
	lang := opts.lang
	if lang == "" {
		lang = sub.Lang
	}
	// Attachments first: they are checked without reading them, so a refusal comes before the editor.
	attachments, err := describeAttachments(opts.attach)
	if err != nil {
		return err
	}
	text, err := answerText(cmd, opts, caseDir, lang, sub)
	if err != nil {
		return err
	}
	a := &answers.Answer{Lang: lang, Day: opts.now().UTC().Format(time.DateOnly), Text: text, Attachments: attachments}
	if err := a.Check(); err != nil {
		return fmt.Errorf("the answer cannot be sent: %w; nothing was written", err)
	}

	copyDir, err := keepCopy(caseDir, a, opts.attach)
	if err != nil {
		return fmt.Errorf("keeping a copy of the answer in %s: %w; nothing was written", caseDir, err)
	}
	path, err := writeAnswer(opts.out, fu, a, copyDir)
	if err != nil {
		os.RemoveAll(copyDir)
		return fmt.Errorf("writing the answer to %s: %w; nothing was written", opts.out, err)
	}
	final, err := placeCopy(caseDir, a.Day, copyDir, filepath.Base(path))
	if err != nil {
		os.Remove(path)
		os.RemoveAll(copyDir)
		return fmt.Errorf("keeping a copy of the answer in %s: %w; nothing was written", caseDir, err)
	}
	// The mailbox's folder name is left out: it is what the server files the answer under.
	fmt.Fprintf(cmd.OutOrStdout(), "Wrote the answer (%s, %s of text, %s) to %s.\nWhat was sent is in %s.\nTake %s to the server and import it there with dropbox replies import.\n",
		lang, count(len(text), "byte"), count(len(attachments), "attachment"), filepath.Join(opts.out, fu.Org, "…", filepath.Base(path)), final, opts.out)
	if reg != nil {
		on := today()
		if err := reg.RecordStep(opts.caseID, opts.step, on, "", "reply"); err != nil {
			return fmt.Errorf("the answer was written, but the case register did not take the step: %w; record it with keytool case %s --step %s --day %s --register %s", err, opts.caseID, opts.step, on.Format(time.DateOnly), reg.Path())
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Recorded in the case register: %s done on %s.\n", opts.step, on.Format(time.DateOnly))
	}
	return nil
}

// registerForStep opens the case register and checks that step is a step of the case's
// procedure, before the answer is written.
func registerForStep(opts replyOptions, procedure string) (*register.Register, error) {
	rs, err := loadRules()
	if err != nil {
		return nil, err
	}
	p, ok := rs.Procedure(procedure)
	if !ok {
		return nil, fmt.Errorf("--step: the procedure %q is not among those keytool was built with; answer without --step", procedure)
	}
	if _, ok := p.Step(opts.step); !ok {
		return nil, fmt.Errorf("--step: %s has no step %q; its steps are %s", p.Slug, opts.step, stepIDs(p))
	}
	path := opts.register
	if path == "" {
		path = filepath.Join(opts.cases, "register.sqlite")
	}
	reg, err := openRegister(path)
	if err != nil {
		return nil, err
	}
	if _, err := reg.Get(opts.caseID); err != nil {
		reg.Close()
		return nil, fmt.Errorf("--step: case %s is not in the register %s: %w", opts.caseID, path, err)
	}
	return reg, nil
}

func checkTemplateFlags(cmd *cobra.Command, opts replyOptions) error {
	daysSet := cmd.Flags().Changed("days")
	switch {
	case opts.template == daysTemplate && !daysSet:
		return fmt.Errorf("--template %s needs --days N: within how many working days you will get back to the person", daysTemplate)
	case opts.template == daysTemplate && (opts.days < 1 || opts.days > maxDays):
		return fmt.Errorf("--days %d: give a number of working days from 1 to %d", opts.days, maxDays)
	case daysSet && opts.template != daysTemplate:
		return fmt.Errorf("--days is only for --template %s; leave it out, or write the number in your own --text", daysTemplate)
	case opts.audience != "" && opts.audience != "adults" && opts.audience != "children":
		return fmt.Errorf("--audience %q: give adults or children", opts.audience)
	}
	if opts.template != "" {
		if _, err := loadTemplate(opts.template); err != nil {
			return err
		}
	}
	return nil
}

// openCase finds the case folder and what its first complaint says about answers.
func openCase(cases, id string) (string, *answers.Followup, *submission.Submission, error) {
	if !idRE.MatchString(id) {
		return "", nil, nil, fmt.Errorf("--case %q: give the case folder's name, 32 lower-case hex digits", id)
	}
	caseDir := filepath.Join(cases, id)
	if _, err := os.Stat(caseDir); err != nil {
		if idx, ierr := readCases(cases); ierr == nil {
			if where, ok := idx.filed[id]; ok {
				return "", nil, nil, fmt.Errorf("%s is a follow-up, filed as %s; answer its case: --case %s", id, filepath.Join(cases, where), strings.SplitN(where, string(filepath.Separator), 2)[0])
			}
		}
		return "", nil, nil, fmt.Errorf("there is no case %s in %s (%w); give --cases the folder keytool decrypt wrote, and --case a folder in it", id, cases, err)
	}
	var sub submission.Submission
	raw, err := os.ReadFile(filepath.Join(caseDir, "submission.json"))
	if err == nil {
		err = json.Unmarshal(raw, &sub)
	}
	if err != nil {
		return "", nil, nil, fmt.Errorf("reading the case's submission.json: %w", err)
	}
	raw, err = os.ReadFile(filepath.Join(caseDir, followupFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil, errors.New("this complaint was sent without a codename; it cannot be answered through the site. If the person left a way to reach them (see summary.txt), use that")
	}
	if err != nil {
		return "", nil, nil, err
	}
	fu, err := answers.ParseFollowup(raw)
	if err != nil {
		return "", nil, nil, fmt.Errorf("%s: %w", filepath.Join(caseDir, followupFile), err)
	}
	if !fu.IsFirst() {
		return "", nil, nil, fmt.Errorf("%s is a follow-up whose first complaint is not among the cases in %s, and only the first complaint says where answers go; decrypt the spool copy that holds it, then answer that case", id, cases)
	}
	return caseDir, fu, &sub, nil
}

// procedureAudience is whom a procedure's pages speak to (adults or children), from the rules the
// site wrote and keytool carries: a ready-made answer speaks to the person as the pages did.
func procedureAudience(slug string) (string, error) {
	r, err := loadRules()
	if err != nil {
		return "", fmt.Errorf("%w; or say whom the answer speaks to with --audience adults or --audience children", err)
	}
	p, ok := r.Procedure(slug)
	if !ok {
		return "", fmt.Errorf("the procedure %q is not among the procedures keytool was built with; say whom the answer speaks to with --audience adults or --audience children", slug)
	}
	return p.Audience, nil
}

// answerText is the ready-made text, if any, followed by the staff's own words.
func answerText(cmd *cobra.Command, opts replyOptions, caseDir, lang string, sub *submission.Submission) (string, error) {
	var parts []string
	if opts.template != "" {
		audience := opts.audience
		if audience == "" {
			var err error
			if audience, err = procedureAudience(sub.Procedure); err != nil {
				return "", err
			}
		}
		t, err := renderTemplate(opts.template, lang, audience, opts.days)
		if err != nil {
			return "", err
		}
		parts = append(parts, t)
	}
	own, err := ownText(cmd, opts, caseDir)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(own) != "" {
		parts = append(parts, own)
	}
	if len(parts) == 0 {
		return "", errors.New("the answer is empty; write it, or give --template; nothing was written")
	}
	text := strings.Join(parts, "\n\n")
	if !utf8.ValidString(text) {
		return "", errors.New("the answer's text is not UTF-8; save it as UTF-8 and try again; nothing was written")
	}
	if len(text) > answers.MaxText {
		return "", fmt.Errorf("the answer's text is %d bytes, and an answer holds at most %d (256 KiB); shorten it, or send the rest as an attachment or a second answer; nothing was written", len(text), answers.MaxText)
	}
	return text, nil
}

// ownText reads the staff's words: --text, else $EDITOR, else standard input when it is not a
// terminal. With --template and none of these, there are none.
func ownText(cmd *cobra.Command, opts replyOptions, caseDir string) (string, error) {
	if opts.textFile != "" {
		f, err := os.Open(opts.textFile)
		if err != nil {
			return "", err
		}
		defer f.Close()
		return readLimited(f)
	}
	if opts.template != "" {
		return "", nil
	}
	if editor := os.Getenv("EDITOR"); editor != "" {
		return editText(cmd, editor, caseDir)
	}
	if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no text: give --text FILE, set $EDITOR, or pipe the answer into keytool reply")
	}
	return readLimited(cmd.InOrStdin())
}

// readLimited reads at most one byte more than an answer's text may hold, so that a long text
// is refused by its size and a huge one is not read whole.
func readLimited(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, answers.MaxText+1))
	return string(b), err
}

// editText opens a draft in the case folder, which is on the offline computer's disk already,
// and removes it when the editor is done.
func editText(cmd *cobra.Command, editor, caseDir string) (string, error) {
	draft, err := os.CreateTemp(caseDir, ".answer-draft-*.txt")
	if err != nil {
		return "", err
	}
	draft.Close()
	defer os.Remove(draft.Name())
	// $EDITOR may hold arguments ("code --wait"), as shells and git allow.
	ed := exec.Command("/bin/sh", "-c", editor+` "$1"`, "sh", draft.Name())
	ed.Stdin, ed.Stdout, ed.Stderr = os.Stdin, os.Stdout, cmd.ErrOrStderr()
	if err := ed.Run(); err != nil {
		return "", fmt.Errorf("the editor ($EDITOR=%s) failed: %w; nothing was written", editor, err)
	}
	f, err := os.Open(draft.Name())
	if err != nil {
		return "", err
	}
	defer f.Close()
	return readLimited(f)
}

// describeAttachments checks the files to attach, by their size, without reading them.
func describeAttachments(paths []string) ([]answers.Attachment, error) {
	if len(paths) > answers.MaxAttachments {
		return nil, fmt.Errorf("%d attachments; an answer holds at most %d: put them in an archive, or send a second answer; nothing was written", len(paths), answers.MaxAttachments)
	}
	var list []answers.Attachment
	var total int64
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("attachment %w; nothing was written", err)
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("attachment %s is not a file; nothing was written", p)
		}
		total += info.Size()
		mediaType := mime.TypeByExtension(strings.ToLower(filepath.Ext(p)))
		if mediaType == "" {
			mediaType = "application/octet-stream"
		}
		list = append(list, answers.Attachment{Name: answers.CleanName(filepath.Base(p)), Type: mediaType, Size: info.Size()})
	}
	if total > answers.MaxAttachmentBytes {
		return nil, fmt.Errorf("the attachments are %d bytes together, and an answer holds at most %d (25 MiB); send the rest in a second answer; nothing was written", total, answers.MaxAttachmentBytes)
	}
	return list, nil
}

// keepCopy writes the text and the attachments to a hidden folder in the case's answers
// folder: the answer is then encrypted from that copy, so the copy is what was sent.
func keepCopy(caseDir string, a *answers.Answer, paths []string) (dir string, err error) {
	parent := filepath.Join(caseDir, "answers")
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	dir, err = os.MkdirTemp(parent, ".partial-")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := writeFile(filepath.Join(dir, "text.txt"), []byte(a.Text)); err != nil {
		return "", err
	}
	for i, at := range a.Attachments {
		if i == 0 {
			if err := os.Mkdir(filepath.Join(dir, "attachments"), 0o700); err != nil {
				return "", err
			}
		}
		if err := copyExactly(paths[i], filepath.Join(dir, copyName(i, at)), at.Size); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func copyName(i int, at answers.Attachment) string {
	return filepath.Join("attachments", fmt.Sprintf("%02d-%s", i+1, at.Name))
}

// copyExactly copies a file that must still have the size it had when it was checked.
func copyExactly(src, dst string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(in, size+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = fmt.Errorf("%s changed while it was read (%d bytes, then %d); try again", src, size, n)
	}
	return err
}

// writeAnswer encrypts the answer from the copy in dir to OUTBOX/<org>/<lookup>/<id>.pgp and
// checks its shape as the drop box will. It returns the file's path.
func writeAnswer(outbox string, fu *answers.Followup, a *answers.Answer, dir string) (path string, err error) {
	var raw [16]byte
	rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	mailbox := filepath.Join(outbox, fu.Org, fu.Lookup)
	for _, d := range []string{outbox, filepath.Join(outbox, fu.Org), mailbox} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	// Written under a name the import does not take, and renamed when it is complete.
	tmp := filepath.Join(mailbox, ".writing-"+id)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600) // read back by Validate
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	enc, err := answers.Encrypt(f, fu.AnswerPass)
	if err != nil {
		return "", err
	}
	w, err := answers.NewWriter(enc, a)
	if err != nil {
		return "", err
	}
	for i, at := range a.Attachments {
		in, err := os.Open(filepath.Join(dir, copyName(i, at)))
		if err != nil {
			return "", err
		}
		_, err = io.Copy(w, in)
		in.Close()
		if err != nil {
			return "", err
		}
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	if err := answers.Validate(f, answers.MaxCiphertext); err != nil {
		return "", fmt.Errorf("the encrypted answer has not the shape the drop box accepts (%w); this is a bug in keytool", err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	path = filepath.Join(mailbox, id+".pgp")
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return path, nil
}

// placeCopy gives the copy its place, CASES/<id>/answers/<NN>-<day>, numbered in the order the
// answers were written, with a note of the answer's file.
func placeCopy(caseDir, day, dir, file string) (string, error) {
	note := fmt.Sprintf("Answer %s, written on %s, encrypted for the person's codename.\n", strings.TrimSuffix(file, ".pgp"), day)
	if err := writeFile(filepath.Join(dir, "sent.txt"), []byte(note)); err != nil {
		return "", err
	}
	parent := filepath.Join(caseDir, "answers")
	entries, err := os.ReadDir(parent)
	if err != nil {
		return "", err
	}
	n := 1
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	final := filepath.Join(parent, fmt.Sprintf("%02d-%s", n, day))
	if _, err := os.Lstat(final); err == nil {
		return "", fmt.Errorf("%s is there already; rename it and try again", final)
	}
	if err := os.Rename(dir, final); err != nil {
		return "", err
	}
	return final, nil
}
