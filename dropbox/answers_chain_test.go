package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/submission"
)

// submissionWithFollowup is a submission carrying a followup value, as the form will send it.
func submissionWithFollowup(t *testing.T, fu answers.Followup, text string, attachment []byte) []byte {
	t.Helper()
	raw, err := json.Marshal(fu)
	if err != nil {
		t.Fatal(err)
	}
	sub := &submission.Submission{
		Procedure: "kok-complaints", Lang: "de", Followup: raw,
		Fields:      []submission.Field{{Name: "what-happened", Label: "Was ist passiert?", Value: text}},
		Attachments: []submission.Attachment{submission.NewAttachment("beleg.bin", "application/octet-stream", attachment)},
	}
	var buf bytes.Buffer
	if err := submission.Write(&buf, sub, []io.Reader{bytes.NewReader(attachment)}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The backend of answers end to end, with the real binaries and nothing in between that a
// person or staff would not do: a complaint and a follow-up carrying a codename's values reach the
// drop box; keytool decrypt files the follow-up into the complaint's case; keytool reply writes
// a ready-made answer in German to the outbox; dropbox replies import takes it; the mailbox route,
// asked with the token derived from the codename, gives it back, and the answer passphrase derived
// from the same codename opens it. (The pages that do the person's part come with the answers
// page.)
func TestAnAnswerTravelsFromKeytoolToThePersonsCodename(t *testing.T) {
	bin, _ := binaries(t)
	dir := t.TempDir()
	ana := keygen(t, dir, "ana")
	extra := filepath.Join(dir, "answers.toml")
	os.WriteFile(extra, []byte("[params.dropbox]\nanswers = \""+filepath.Join(dir, "answers")+"\"\n"), 0o644)
	d := startDropboxWithConfig(t, "../config.toml,"+extra, filepath.Join(dir, "spool"), ana.pub)

	codename, err := answers.NewCodename()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := answers.Derive(codename, "kok")
	if err != nil {
		t.Fatal(err)
	}
	photo := bytes.Repeat([]byte{0xA5}, 300<<10)
	first := d.submit(t, encryptTo(t, submissionWithFollowup(t, keys.FirstComplaint(), "Die erste Beschwerde", photo), ana.pub))
	later := d.submit(t, encryptTo(t, submissionWithFollowup(t, keys.FollowUp(), "Noch etwas dazu", []byte("nachtrag")), ana.pub))

	cases := filepath.Join(dir, "cases")
	out, err := runKeytool(t, "decrypt", "--key", ana.key, "--passphrase-file", ana.pass, "--in", d.spool, "--out", cases)
	if err != nil {
		t.Fatalf("decrypt: %v\n%s", err, out)
	}
	filed, _ := filepath.Glob(filepath.Join(cases, first, "followups", "*-"+later))
	if len(filed) != 1 {
		t.Fatalf("the follow-up %s is not filed in the case %s:\n%s", later, first, out)
	}
	if got, _ := filepath.Glob(filepath.Join(filed[0], "attachments", "*beleg.bin")); len(got) != 1 {
		t.Errorf("the follow-up's attachment is not in its folder: %v", got)
	} else if data, _ := os.ReadFile(got[0]); string(data) != "nachtrag" {
		t.Errorf("the follow-up's attachment: %q", data)
	}

	outbox := filepath.Join(dir, "outbox")
	out, err = runKeytool(t, "reply", "--cases", cases, "--case", first, "--out", outbox, "--template", "contact-soon", "--days", "3")
	if err != nil {
		t.Fatalf("reply: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "replies", "import", "--config", "../config.toml,"+extra, outbox).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}

	ask := func(token string) answerList {
		t.Helper()
		resp, err := http.Post(d.url+"/api/v1/orgs/kok/answers", "application/json", strings.NewReader(tokenBody(token)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list answerList
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("the mailbox: %d %v", resp.StatusCode, err)
		}
		return list
	}
	list := ask(keys.TokenText())
	if len(list.Answers) != 1 {
		t.Fatalf("%d answers for the codename, want 1", len(list.Answers))
	}
	plain, err := answers.Decrypt(bytes.NewReader(list.Answers[0].Data), keys.AnswerPass)
	if err != nil {
		t.Fatal(err)
	}
	r, err := answers.NewReader(plain)
	if err != nil {
		t.Fatal(err)
	}
	if a := r.Answer(); a.Lang != "de" || !strings.Contains(a.Text, "3") || !strings.Contains(a.Text, "Werktag") {
		t.Errorf("the answer the person reads: %+v", a)
	}

	// Another codename, and the same codename at another organisation, find nothing.
	other, _ := answers.NewCodename()
	otherKeys, _ := answers.Derive(other, "kok")
	atMK, _ := answers.Derive(codename, "mk-act")
	for _, token := range []string{otherKeys.TokenText(), atMK.TokenText()} {
		if got := ask(token); len(got.Answers) != 0 {
			t.Errorf("a token of another codename or organisation found %d answers", len(got.Answers))
		}
	}

	// Then the server is seized: its spool, its answers and its whole journal. Nothing in them
	// may tie the complaint, its follow-up and its answer together (docs/threat-model.md,
	// section 5).
	journal := d.stop(t)
	seized := seize(t, filepath.Join(dir, "spool"), filepath.Join(dir, "answers"))
	secrets := map[string]string{
		"the codename": codename.Digits(), "the codename in groups": codename.String(),
		"the token": keys.TokenText(), "the answer passphrase": keys.AnswerPass, "the case": keys.Case,
		"the complaint's id": first, "the follow-up's id": later, "the answer's id": list.Answers[0].ID,
	}
	for what, v := range secrets {
		if strings.Contains(journal, v) {
			t.Errorf("the journal holds %s", what)
		}
		for name, data := range seized.files {
			if bytes.Contains(data, []byte(v)) {
				t.Errorf("%s holds %s", name, what)
			}
		}
	}
	if strings.Contains(journal, keys.Lookup) {
		t.Error("the journal names the mailbox")
	}
	// Each id names exactly one file, and the mailbox exactly one folder, which holds only the answer.
	named := func(v string) (n int) {
		for _, p := range seized.paths {
			if strings.Contains(filepath.Base(p), v) {
				n++
			}
		}
		return n
	}
	for what, v := range map[string]string{"the complaint's id": first, "the follow-up's id": later, "the answer's id": list.Answers[0].ID, "the mailbox": keys.Lookup} {
		if n := named(v); n != 1 {
			t.Errorf("%s is in %d names of the seized server, want 1", what, n)
		}
	}
	for _, secret := range []string{codename.Digits(), keys.TokenText(), keys.AnswerPass, keys.Case} {
		if n := named(secret); n != 0 {
			t.Errorf("a name on the seized server holds a value only the person or the staff have")
		}
	}
	// No stretch of 16 bytes is common to two stored files: each is its own encryption, with
	// its own session key, salt and nonce. What two submissions to one organisation must share,
	// the fingerprint of the staff key they are encrypted to (it tells the server which
	// organisation they are for, as the threat model allows), is taken out first.
	seized.forget(recipientIDs(t, ana.pub)...)
	if a, b, ok := seized.shared(16); ok {
		t.Errorf("%s and %s share 16 bytes", a, b)
	}
	// Every time on the disk is a day: files and folders (modification times), answers also
	// their access times, which reading them (O_NOATIME) does not change.
	for _, p := range seized.paths {
		if p == "spool" || p == "answers" {
			continue // the roots: their times are when the organisations' folders were made
		}
		if !seized.mtime[p].Equal(seized.mtime[p].Truncate(24 * time.Hour)) {
			t.Errorf("%s: modification time %s is finer than the day", p, seized.mtime[p].Format(time.RFC3339Nano))
		}
		if strings.HasPrefix(p, "answers") && !seized.atime[p].Equal(seized.atime[p].Truncate(24*time.Hour)) {
			t.Errorf("%s: access time %s is finer than the day", p, seized.atime[p].Format(time.RFC3339Nano))
		}
	}
}

// seizedServer is what someone who takes the server's disk finds under its spool and answers.
type seizedServer struct {
	paths        []string // relative to the parent of the roots: spool/..., answers/...
	files        map[string][]byte
	mtime, atime map[string]time.Time
}

func seize(t *testing.T, roots ...string) *seizedServer {
	t.Helper()
	s := &seizedServer{files: map[string][]byte{}, mtime: map[string]time.Time{}, atime: map[string]time.Time{}}
	for _, root := range roots {
		base := filepath.Dir(root)
		err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(base, p)
			var st syscall.Stat_t
			if err := syscall.Lstat(p, &st); err != nil {
				return err
			}
			s.paths = append(s.paths, rel)
			s.mtime[rel] = time.Unix(st.Mtim.Unix()).UTC()
			s.atime[rel] = time.Unix(st.Atim.Unix()).UTC()
			if e.Type().IsRegular() {
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				s.files[rel] = data
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// forget overwrites each of the values wherever it is in a file with bytes of that file's own.
func (s *seizedServer) forget(values ...[]byte) {
	for name, data := range s.files {
		for _, v := range values {
			for i := bytes.Index(data, v); i >= 0; i = bytes.Index(data, v) {
				rand.Read(data[i : i+len(v)])
			}
		}
		s.files[name] = data
	}
}

// recipientIDs are the fingerprints and key IDs of every key and subkey in an armored key file,
// as a public-key session key packet names its recipient.
func recipientIDs(t *testing.T, file string) [][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ring, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		t.Fatal(err)
	}
	var ids [][]byte
	for _, e := range ring {
		keys := []*packet.PublicKey{e.PrimaryKey}
		for _, sub := range e.Subkeys {
			keys = append(keys, sub.PublicKey)
		}
		for _, k := range keys {
			id := binary.BigEndian.AppendUint64(nil, k.KeyId)
			ids = append(ids, k.Fingerprint, id)
		}
	}
	return ids
}

// shared finds two files with n bytes in common, at any place in each.
func (s *seizedServer) shared(n int) (string, string, bool) {
	owner := map[string]string{}
	for name, data := range s.files {
		seen := map[string]bool{}
		for i := 0; i+n <= len(data); i++ {
			w := string(data[i : i+n])
			if seen[w] {
				continue
			}
			seen[w] = true
			if other, ok := owner[w]; ok && other != name {
				return other, name, true
			}
			owner[w] = name
		}
	}
	return "", "", false
}
