package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/spf13/cobra"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/export"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/spool"
	"github.com/safe-complaints/dropbox/internal/submission"
	"github.com/safe-complaints/dropbox/keytool/register"
	"github.com/safe-complaints/dropbox/site/rules"
)

// maxAttachments bounds what one submission may make keytool write: twice the drop box's
// default body limit. A message compressed inside its encryption (GnuPG's default) could
// otherwise expand far beyond what was uploaded; decompression is capped the same way.
const maxAttachments = 64 << 20

var decryptConfig = func() *packet.Config {
	limit := int64(maxAttachments + 2*submission.MaxHeader)
	return &packet.Config{MaxDecompressedMessageSize: &limit}
}()

type decryptOptions struct {
	key            string
	passphraseFile string
	in             string
	out            string
	clean          bool
	config         []string
	environment    string
	register       string
}

func newDecryptCmd() *cobra.Command {
	var opts decryptOptions
	cmd := &cobra.Command{
		Use:   "decrypt --key KEYFILE --in SPOOL --out CASES",
		Short: "Decrypt a copy of the spool into one readable folder per submission",
		Long: `Decrypt every submission in a copy of the drop box's spool.

Each submission becomes CASES/<id>/ with summary.txt (the answers in order, with the
questions the person saw), submission.json (the same, for other tools) and attachments/.
A submission is kept only when it decrypted completely and its integrity check passed.
Submissions decrypted before are skipped, so you can run it again after copying more.
Nothing is written outside CASES. It ends with a table, and fails if anything failed.

SPOOL is your organisation's spool folder (<spool>/<organisation id> on the server), and must
hold the submission files themselves, named <32 hex digits>.pgp as the drop box names them.
A submission encrypted to other keys than yours, another organisation's, is left as it is and
listed as "not yours", with whose it is when --config names the site's configuration. Anything there that looks like a submission but cannot be read as one (a link,
a folder, a renamed copy) is listed with what to do, and the run fails until it is fixed;
other files (notes) are only mentioned.

While a submission is decrypted, its plaintext is written to CASES/.partial-<id>-<random>/
and becomes CASES/<id>/ only after the integrity check at the end. If keytool is stopped
midway (killed, a crash, a pulled drive), that folder stays behind with plaintext that was
never checked. The next run removes every CASES/.partial-* folder first, before it asks for
the passphrase; --clean removes them and does nothing else.

Once the case folders are written, each new case is entered in the case register, an SQLite
file (--register, CASES/register.sqlite unless you say otherwise), which keytool cases and
keytool case read: its id, procedure, language, whether the form's script or the drop box
encrypted it, the day it arrived and the form's choices that decide its path (never names,
contact details or what the person wrote). A follow-up is entered as a step of its first
complaint's case. The day it arrived is the spool file's modification day (UTC), which the
drop box sets: copy the spool with its times (cp -p, rsync -t). Entering twice is harmless,
and if the register could not be written, the case folders are kept all the same: run the same
command again, and it enters what the register lacks.`,
		Example: `  keytool decrypt --key /media/keys/ana-weber.key.asc --in /media/usb/kok --out ~/cases
  keytool decrypt --key ana.key.asc --in /media/usb/kok --out ~/cases --config config.toml
  keytool decrypt --key ana.key.asc --passphrase-file /dev/shm/pass --in spool-copy --out cases
  keytool decrypt --clean --out ~/cases`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDecrypt(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.key, "key", "", "your private key file (the .key.asc made by keytool keygen, or exported from GnuPG)")
	f.StringVar(&opts.passphraseFile, "passphrase-file", "", "read the key's passphrase from this file's first line instead of asking")
	f.StringVar(&opts.in, "in", "", "the copy of the spool folder")
	f.StringVar(&opts.out, "out", "", "the folder for the case folders (made if missing)")
	f.StringSliceVar(&opts.config, "config", nil, "the site's config.toml (and the staff public keys it lists), to name the organisation of each submission your key does not open")
	f.StringVar(&opts.environment, "environment", config.Environment(), "with --config: read config/<environment>/params.toml over it, as the drop box does (default $HUGO_ENVIRONMENT)")
	f.StringVar(&opts.register, "register", "", "the case register to enter new cases in (default CASES/register.sqlite; made if missing)")
	f.BoolVar(&opts.clean, "clean", false, "only remove the unfinished case folders (.partial-*) an interrupted run left in --out")
	cmd.MarkFlagRequired("out")
	return cmd
}

// result is one row of the closing table.
type result struct {
	id, status, detail string
}

func runDecrypt(cmd *cobra.Command, opts decryptOptions) error {
	// First of all, before the key and the passphrase: unchecked plaintext must not stay on the
	// drive because the next run was given a wrong passphrase or stopped at its prompt.
	removed, err := removePartial(opts.out)
	if err != nil {
		return err
	}
	if opts.clean {
		if removed == 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "nothing to remove: no unfinished case folders (.partial-*) in %s\n", opts.out)
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s (.partial-*, plaintext an interrupted run left unchecked) from %s\n", count(removed, "unfinished case folder"), opts.out)
		}
		return nil
	}
	if removed > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "keytool: removed %s (.partial-*) that an interrupted run left in %s; their submissions are decrypted again below\n", count(removed, "unfinished case folder"), opts.out)
	}
	if opts.key == "" || opts.in == "" {
		return errors.New("decrypt needs --key KEYFILE and --in SPOOL (or --clean, to only remove what an interrupted run left in --out)")
	}
	// The spool copy is read before the passphrase is asked for, so a wrong --in fails at once.
	entries, err := spool.List(opts.in)
	if err != nil {
		return fmt.Errorf("reading the spool copy: %w", err)
	}
	notRead, others, err := strays(opts.in)
	if err != nil {
		return fmt.Errorf("reading the spool copy: %w", err)
	}
	var staff *staffKeys
	if len(opts.config) > 0 {
		if staff, err = loadStaffKeys(opts.config, opts.environment); err != nil {
			return err
		}
	}
	// An export's folder gets a signed receipt: the signing key is unlocked with the others.
	sign := hasManifest(opts.in)
	keyring, err := loadPrivateKey(cmd, opts, sign)
	if err != nil {
		return err
	}
	var ours []*packet.PublicKey
	for _, e := range keyring {
		for i := range e.Subkeys {
			ours = append(ours, e.Subkeys[i].PublicKey)
		}
		ours = append(ours, e.PrimaryKey)
	}
	if len(opts.config) > 0 {
		if org := staff.holding(ours); org != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "Your key is a staff key of %s (%s).\n", org.Name, org.ID)
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "keytool: %s is not a staff key of any organisation in %s; the forms do not encrypt to it\n", opts.key, strings.Join(opts.config, ", "))
		}
	}
	if err := os.MkdirAll(opts.out, 0o700); err != nil {
		return err
	}
	if sign && onTheDrive(opts.in, opts.out) {
		fmt.Fprintf(cmd.ErrOrStderr(), "keytool: warning: %s is on the same drive as %s, which goes back to the server: the case folders are plaintext. Keep them on this computer's own disk (--out ~/cases, say), and remove them from the drive.\n", opts.out, opts.in)
	}
	cases, err := readCases(opts.out)
	if err != nil {
		return err
	}
	var results []result
	var followups []decrypted
	unmoved := 0 // follow-ups of earlier runs that could not be moved into their case
	failed, notYours := 0, 0
	for _, e := range entries {
		caseDir := filepath.Join(opts.out, e.ID)
		if _, err := os.Stat(caseDir); err == nil {
			results = append(results, result{e.ID, "skipped", "decrypted before"})
			continue
		}
		if where, ok := cases.filed[e.ID]; ok {
			results = append(results, result{e.ID, "skipped", "decrypted before, filed as " + where})
			continue
		}
		d, err := decryptOne(e, keyring, ours, opts.out)
		var other *errNotYours
		if errors.As(err, &other) {
			other.orgs = staff.of(other.sessionKeys)
			notYours++
			results = append(results, result{e.ID, notYoursStatus, err.Error()})
			continue
		}
		if err != nil {
			failed++
			results = append(results, result{e.ID, "failed", err.Error()})
			continue
		}
		if d.followup != nil && !d.followup.IsFirst() {
			// Filed after every first complaint of this run, which may be the one it belongs to.
			followups = append(followups, d)
			continue
		}
		r := cases.placeCase(opts.out, d)
		if r.status == "failed" {
			failed++
		}
		results = append(results, r)
	}
	// Follow-ups that earlier runs could not file, oldest run first, then this run's.
	for _, r := range cases.adoptOrphans(opts.out) {
		if r.status == "failed" {
			unmoved++
		}
		results = append(results, r)
	}
	for _, d := range followups {
		r := cases.placeFollowup(opts.out, d)
		if r.status == "failed" {
			failed++
		}
		results = append(results, r)
	}
	printResults(cmd.OutOrStdout(), append(results, notRead...), len(entries))
	if len(others) > 0 {
		if len(others) > 10 {
			others = append(others[:10], fmt.Sprintf("and %d more", len(others)-10))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Also in %s, not submissions, left alone: %s\n", opts.in, strings.Join(others, ", "))
	}
	var problems []string
	registerPath := opts.register
	if registerPath == "" {
		registerPath = filepath.Join(opts.out, "register.sqlite")
	}
	if err := enterInRegister(cmd.OutOrStdout(), registerPath, opts.out, entries, cases); err != nil {
		problems = append(problems, fmt.Sprintf("the case register %s was not brought up to date (%v); the case folders are written all the same: once that is fixed, run this keytool decrypt again, which enters what the register lacks", registerPath, err))
	}
	if sign {
		if err := writeReceipt(cmd.OutOrStdout(), opts.in, opts.out, keyring); err != nil {
			problems = append(problems, err.Error())
		}
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "No receipt: %s has no %s, so it is not a folder dropbox spool export wrote; the drop box deletes a submission only against a receipt for an export.\n", opts.in, export.ManifestName)
	}
	if len(notRead) > 0 {
		problems = append(problems, fmt.Sprintf("%s in %s %s like submissions but could not be read as one", count(len(notRead), "entry"), opts.in, plural(len(notRead), "looks", "look")))
	}
	if failed > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d submissions failed and nothing of them was kept", failed, len(entries)))
	}
	if unmoved > 0 {
		problems = append(problems, fmt.Sprintf("%s kept alone by an earlier run could not be moved into %s", count(unmoved, "follow-up"), plural(unmoved, "its case", "their cases")))
	}
	if notYours > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d submissions are not for your key and were left alone (give --in your own organisation's spool folder)", notYours, len(entries)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s; the table above says why and what to do", strings.Join(problems, ", and "))
	}
	return nil
}

func loadPrivateKey(cmd *cobra.Command, opts decryptOptions, sign bool) (openpgp.EntityList, error) {
	keys, err := policy.ReadKeyFile(opts.key)
	if err != nil {
		return nil, err
	}
	for _, e := range keys {
		if e.PrivateKey == nil {
			return nil, fmt.Errorf("%s is a public key; decrypt needs the private key (the .key.asc file made by keytool keygen)", opts.key)
		}
	}
	pass, err := getPassphrase(cmd.InOrStdin(), cmd.ErrOrStderr(), opts.passphraseFile, "Passphrase for "+opts.key+": ", false)
	if err != nil {
		return nil, err
	}
	// Unlock only what decrypts: the encryption subkeys (or a primary key that encrypts, as an
	// old RSA key may). Each unlock runs the key's S2K, Argon2 with 64 MiB for keytool's keys;
	// the signing key only when it signs a receipt.
	var unlock []*packet.PrivateKey
	for _, e := range keys {
		for i := range e.Subkeys {
			if k := e.Subkeys[i].PrivateKey; k != nil && k.Encrypted && (k.PubKeyAlgo.CanEncrypt() || sign && k.PubKeyAlgo.CanSign()) {
				unlock = append(unlock, k)
			}
		}
		if e.PrivateKey.Encrypted && (len(e.Subkeys) == 0 && e.PrivateKey.PubKeyAlgo.CanEncrypt() || sign && e.PrivateKey.PubKeyAlgo.CanSign()) {
			unlock = append(unlock, e.PrivateKey)
		}
	}
	if err := packet.DecryptPrivateKeys(unlock, pass); err != nil {
		return nil, fmt.Errorf("the passphrase does not open %s; check it and try again", opts.key)
	}
	return keys, nil
}

// decrypted is a submission decrypted completely, its integrity checked, in a hidden folder
// under CASES that is not yet in its place.
type decrypted struct {
	id       string
	work     string
	sub      *submission.Submission
	followup *answers.Followup // nil without a codename
	badValue error             // why the followup value, present, could not be read
}

// decryptOne decrypts one submission into a hidden folder under out. It returns the folder
// only when everything, the integrity check at the end included, succeeded; the caller moves
// it into place (or removes it).
func decryptOne(e spool.Entry, keyring openpgp.EntityList, ours []*packet.PublicKey, out string) (d decrypted, err error) {
	f, err := os.Open(e.Path)
	if err != nil {
		return d, err
	}
	defer f.Close()
	if _, err := policy.ValidateFor(f, ours); err != nil {
		if errors.Is(err, policy.ErrNotForKeys) {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return d, err
			}
			s, err := policy.Inspect(f)
			if err != nil {
				return d, err
			}
			return d, &errNotYours{sessionKeys: s.SessionKeys}
		}
		return d, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return d, err
	}

	var suffix [6]byte
	rand.Read(suffix[:])
	work := filepath.Join(out, ".partial-"+e.ID+"-"+hex.EncodeToString(suffix[:]))
	if err := os.Mkdir(work, 0o700); err != nil {
		return d, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(work)
		}
	}()

	md, err := openpgp.ReadMessage(f, keyring, nil, decryptConfig)
	if err != nil {
		return d, fmt.Errorf("cannot decrypt: %w", err)
	}
	if !md.IsEncrypted || md.IsSymmetricallyEncrypted {
		return d, errors.New("the message is not encrypted to a public key only")
	}
	r, err := submission.NewReader(md.UnverifiedBody, maxAttachments)
	if err != nil {
		return d, err
	}
	sub := r.Submission()
	names, err := writeAttachments(r, filepath.Join(work, "attachments"))
	if err != nil {
		return d, err
	}
	// Reading to the end is what checks the message's integrity (MDC or the final AEAD tag).
	if _, err := io.Copy(io.Discard, md.UnverifiedBody); err != nil {
		return d, fmt.Errorf("the integrity check failed: %w", err)
	}
	if md.SignatureError != nil {
		return d, fmt.Errorf("the integrity check failed: %w", md.SignatureError)
	}
	d = decrypted{id: e.ID, work: work, sub: sub}
	if len(sub.Followup) > 0 {
		if d.followup, d.badValue = answers.ParseFollowup(sub.Followup); d.badValue != nil {
			d.followup = nil
		}
	}
	if err := writeSummary(work, e.ID, sub, names, d.followup); err != nil {
		return d, err
	}
	return d, nil
}

// removePartial deletes what an interrupted run (killed, a crash, a pulled drive) left
// half-written, plaintext whose integrity was never checked, and says how many folders it
// removed. A missing out has none.
func removePartial(out string) (int, error) {
	leftovers, err := filepath.Glob(filepath.Join(out, ".partial-*"))
	if err != nil {
		return 0, err
	}
	for _, dir := range leftovers {
		if err := os.RemoveAll(dir); err != nil {
			return 0, fmt.Errorf("removing %s, left unchecked by an interrupted run: %w; remove it by hand (rm -r)", dir, err)
		}
	}
	return len(leftovers), nil
}

// writeAttachments streams each attachment to its own file under safe, numbered names.
func writeAttachments(r *submission.Reader, dir string) ([]string, error) {
	var names []string
	for i := 0; ; i++ {
		a, body, err := r.Next()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		if i == 0 {
			if err := os.Mkdir(dir, 0o700); err != nil {
				return nil, err
			}
		}
		name := fmt.Sprintf("%02d-%s", i+1, safeName(a.Name))
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(f, body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
}

// safeName keeps a sender's file name readable but makes it one harmless path element: no
// folders, no control characters, no leading dot, not too long.
func safeName(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\' || r == ':':
			return '_'
		case unicode.IsControl(r) || r == unicode.ReplacementChar || unicode.Is(unicode.Bidi_Control, r):
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if len(name) > 120 {
		ext := filepath.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		stem := strings.TrimSuffix(name, ext)
		for len(stem)+len(ext) > 120 {
			_, size := utf8.DecodeLastRuneInString(stem)
			stem = stem[:len(stem)-size]
		}
		name = stem + ext
	}
	if name == "" {
		return "attachment"
	}
	return name
}

// printable drops control characters, keeping line breaks and tabs: summary.txt is read with cat
// and less, and a sender must not be able to send escape sequences to a staff member's terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, s)
}

func writeSummary(dir, id string, sub *submission.Submission, names []string, fu *answers.Followup) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Submission %s\n", id)
	fmt.Fprintf(&b, "Procedure:  %s\nLanguage:   %s\nDecrypted:  %s\n", sub.Procedure, sub.Lang, time.Now().Format("2006-01-02 15:04"))
	switch {
	case fu != nil && fu.IsFirst():
		fmt.Fprintf(&b, "Codename:   yes; answer it with keytool reply --case %s (the person reads answers on the site)\n", id)
	case fu != nil:
		b.WriteString("Follow-up:  sent later with the codename of a first complaint\n")
	}
	for _, f := range sub.Fields {
		fmt.Fprintf(&b, "\n%s  [%s]\n", printable(f.Label), f.Name)
		if f.Value == "" {
			b.WriteString("    (no answer)\n")
			continue
		}
		for _, line := range strings.Split(printable(strings.ReplaceAll(f.Value, "\r\n", "\n")), "\n") {
			fmt.Fprintf(&b, "    %s\n", line)
		}
	}
	if len(sub.Attachments) > 0 {
		b.WriteString("\nAttachments (in attachments/)\n")
		for i, a := range sub.Attachments {
			fmt.Fprintf(&b, "    %s\n        sent as %q, %s, %d bytes, SHA-256 %s\n", names[i], a.Name, printable(a.Type), a.Size, a.SHA256)
			b.WriteString(hiddenDetails(filepath.Join(dir, "attachments", names[i]), filepath.ToSlash(filepath.Join("attachments", names[i]))))
		}
	}
	if err := writeFile(filepath.Join(dir, "summary.txt"), []byte(b.String())); err != nil {
		return err
	}
	js, err := json.MarshalIndent(sub, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "submission.json"), append(js, '\n'))
}

func writeFile(path string, data []byte) error {
	return os.WriteFile(path, data, fs.FileMode(0o600))
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func printResults(w io.Writer, results []result, total int) {
	counts := map[string]int{}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBMISSION\tRESULT\tDETAIL")
	for _, r := range results {
		counts[r.status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.id, r.status, r.detail)
	}
	tw.Flush()
	fmt.Fprintf(w, "%s: %d decrypted, %d skipped, %d failed", count(total, "submission"), counts["decrypted"], counts["skipped"], counts["failed"])
	if n := counts[notYoursStatus]; n > 0 {
		fmt.Fprintf(w, ", %d not yours", n)
	}
	fmt.Fprintln(w)
	if n := counts[notReadStatus]; n > 0 {
		fmt.Fprintf(w, "%s %s like submissions but %s not read\n", count(n, "entry"), plural(n, "looks", "look"), plural(n, "was", "were"))
	}
}

// enterInRegister enters in the register every submission of the spool copy that has its case
// folder in out and is not in the register yet: first the cases, then the follow-ups filed in
// their threads. It reads what it enters from the folders, not from this run's decryption, so a
// run after a failed one enters what that one left out. A follow-up kept alone (its first
// complaint not here) waits until a run files it in its case.
func enterInRegister(w io.Writer, path, out string, entries []spool.Entry, cases *caseIndex) error {
	rs, err := loadRules()
	if err != nil {
		return err
	}
	reg, created, err := register.OpenOrCreate(path)
	if err != nil {
		return err
	}
	defer reg.Close()
	have, err := reg.IDs()
	if err != nil {
		return err
	}
	var newCases, newFollowups, waiting, unfiled int
	var failed []string
	for _, followups := range []bool{false, true} {
		for _, e := range entries {
			if have[e.ID] {
				continue
			}
			where, first := e.ID, ""
			if filed, ok := cases.filed[e.ID]; ok {
				where, first = filed, strings.SplitN(filepath.ToSlash(filed), "/", 2)[0]
			} else if _, err := os.Stat(filepath.Join(out, e.ID, orphanFile)); err == nil {
				if followups {
					waiting++
				}
				continue
			}
			if followups != (first != "") {
				continue
			}
			c, err := registerEntry(rs, e, filepath.Join(out, where))
			if errors.Is(err, fs.ErrNotExist) {
				continue // not decrypted: failed, or not ours
			}
			added := false
			if err == nil && first == "" {
				if added, err = reg.AddCase(c); added {
					newCases++
				}
			} else if err == nil {
				c.FollowUpOf = first
				if added, err = reg.AddFollowUp(c); added {
					newFollowups++
				}
			}
			if errors.Is(err, register.ErrNotFound) {
				unfiled++ // its first complaint's case came from another spool copy, before the register
				continue
			}
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", e.ID, err))
			}
		}
	}
	made := ""
	if created {
		made = " (made now)"
	}
	fmt.Fprintf(w, "Case register %s%s: %s and %s entered", path, made, count(newCases, "new case"), count(newFollowups, "follow-up"))
	if waiting > 0 {
		fmt.Fprintf(w, "; %s kept alone wait%s for %s first complaint", count(waiting, "follow-up"), plural(waiting, "s", ""), plural(waiting, "its", "their"))
	}
	if unfiled > 0 {
		fmt.Fprintf(w, "; %s not entered: %s first complaint is not in the register (decrypt its spool copy again with --register to enter it)", count(unfiled, "follow-up"), plural(unfiled, "its", "their"))
	}
	fmt.Fprintln(w, ".")
	if len(failed) > 0 {
		return fmt.Errorf("%s not entered: %s", count(len(failed), "submission"), strings.Join(failed, "; "))
	}
	return nil
}

// registerEntry is what the register keeps of the submission in dir: ids, procedure, language,
// channel, day of arrival and the form's choices that decide its path, nothing the person wrote.
func registerEntry(rs *rules.Rules, e spool.Entry, dir string) (register.Case, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "submission.json"))
	if err != nil {
		return register.Case{}, err
	}
	var sub submission.Submission
	if err := json.Unmarshal(raw, &sub); err != nil {
		return register.Case{}, fmt.Errorf("%s: %w", filepath.Join(dir, "submission.json"), err)
	}
	fi, err := os.Stat(e.Path)
	if err != nil {
		return register.Case{}, err
	}
	c := register.Case{ID: e.ID, Procedure: sub.Procedure, Lang: sub.Lang, Channel: "unknown", Arrived: register.Day(fi.ModTime().UTC())}
	if sub.EncryptedBy == "browser" || sub.EncryptedBy == "server" {
		c.Channel = sub.EncryptedBy
	}
	p, ok := rs.Procedure(sub.Procedure)
	if !ok {
		return c, nil // kept with its slug; keytool case says the procedure is unknown to it
	}
	c.Organisation = p.Organisation
	for _, s := range p.Steps {
		if s.If == nil {
			continue
		}
		for _, f := range sub.Fields {
			if f.Name != s.If.Field {
				continue
			}
			if v, ok := p.Choice(f.Name, f.Value); ok {
				if c.Choices == nil {
					c.Choices = map[string]string{}
				}
				c.Choices[f.Name] = v
			}
		}
	}
	return c, nil
}
