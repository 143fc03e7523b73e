package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
)

// mailboxKeys is what a codename gives a mailbox, drawn at random: deriving from a real codename
// takes the stretching's time and tests nothing here.
type mailboxKeys struct {
	token, lookup, pass string
}

func newMailbox(t testing.TB) mailboxKeys {
	t.Helper()
	raw := make([]byte, 16+32)
	rand.Read(raw)
	token := hex.EncodeToString(raw[:16])
	lookup, err := answers.LookupFor(token)
	if err != nil {
		t.Fatal(err)
	}
	return mailboxKeys{token: token, lookup: lookup, pass: base64.RawURLEncoding.EncodeToString(raw[16:])}
}

func randomID() string {
	raw := make([]byte, 16)
	rand.Read(raw)
	return hex.EncodeToString(raw)
}

// encryptAnswer makes an answer as keytool reply does: the plaintext format through Writer,
// encrypted with the mailbox's passphrase.
func encryptAnswer(t testing.TB, pass, text string, attachment []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := answers.Encrypt(&out, pass)
	if err != nil {
		t.Fatal(err)
	}
	a := &answers.Answer{Lang: "de", Day: "2026-11-30", Text: text}
	if attachment != nil {
		a.Attachments = []answers.Attachment{{Name: "brief.pdf", Type: "application/pdf", Size: int64(len(attachment))}}
	}
	aw, err := answers.NewWriter(w, a)
	if err != nil {
		t.Fatal(err)
	}
	aw.Write(attachment)
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// writeOutbox puts files into an outbox as keytool reply lays it out: path → content.
func writeOutbox(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// importConfig declares the three organisations with their spool folders in root/spool and
// their answers in root/answers.
func importConfig(root string) *config.Config {
	conf := &config.Config{Dropbox: config.Defaults()}
	conf.Dropbox.Spool = filepath.Join(root, "spool")
	conf.Dropbox.Answers = filepath.Join(root, "answers")
	for _, id := range []string{"kinderrechtencoalitie", "kok", "mk-act"} {
		conf.Organisations = append(conf.Organisations, &config.Organisation{ID: id, Spool: filepath.Join(conf.Dropbox.Spool, id)})
	}
	return conf
}

// treeUnder lists every file and folder under dir, by path, for "nothing was kept".
func treeUnder(dir string) []string {
	var names []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && path != dir {
			names = append(names, strings.TrimPrefix(path, dir+"/"))
		}
		return nil
	})
	return names
}

var importDay = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func TestImportTakesAnOutboxDurablyWithTheDayAsItsTime(t *testing.T) {
	root := t.TempDir()
	conf := importConfig(root)
	a, b := newMailbox(t), newMailbox(t)
	id1, id2, id3 := randomID(), randomID(), randomID()
	files := map[string][]byte{
		"kok/" + a.lookup + "/" + id1 + ".pgp":    encryptAnswer(t, a.pass, "Wir haben Ihre Beschwerde erhalten.", nil),
		"kok/" + a.lookup + "/" + id2 + ".pgp":    encryptAnswer(t, a.pass, "Das Ergebnis folgt.", []byte("%PDF-1.7 ...")),
		"mk-act/" + b.lookup + "/" + id3 + ".pgp": encryptAnswer(t, b.pass, "We received your complaint.", nil),
	}
	outbox := writeOutbox(t, files)
	var out bytes.Buffer
	if err := importOutbox(&out, conf, outbox, importDay.Add(13*time.Hour+7*time.Minute)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	if !strings.Contains(out.String(), "3 imported, 0 imported before, 0 refused") {
		t.Errorf("the table:\n%s", out.String())
	}
	for name, data := range files {
		org, rest, _ := strings.Cut(name, "/")
		p := filepath.Join(conf.AnswersOf(org), rest)
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: not the outbox's bytes (%v)", name, err)
		}
		info, _ := os.Stat(p)
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, info.Mode().Perm())
		}
	}
	// Every time in the answers folder, folders included, is the day at 00:00 UTC; folders 0700.
	filepath.WalkDir(conf.Dropbox.Answers, func(path string, d fs.DirEntry, err error) error {
		info, _ := d.Info()
		if !info.ModTime().Equal(importDay.Add(0)) && !info.ModTime().Equal(dayOf(time.Now())) {
			t.Errorf("%s has the time %s, not the day of the import", path, info.ModTime().UTC())
		}
		if d.IsDir() && info.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", path, info.Mode().Perm())
		}
		return nil
	})
	if info, _ := os.Stat(filepath.Join(conf.AnswersOf("kok"), a.lookup, id1+".pgp")); !info.ModTime().Equal(importDay) {
		t.Errorf("an answer's time is %s, want %s", info.ModTime().UTC(), importDay)
	}
	// The outbox is left as it was.
	if got := len(treeUnder(outbox)); got != 2+2+3 {
		t.Errorf("the outbox changed: %v", treeUnder(outbox))
	}

	// Again: each is skipped, nothing changes, and it succeeds.
	out.Reset()
	if err := importOutbox(&out, conf, outbox, importDay.Add(48*time.Hour)); err != nil {
		t.Fatalf("a second import: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "0 imported, 3 imported before, 0 refused") {
		t.Errorf("a second import:\n%s", out.String())
	}
	if info, _ := os.Stat(filepath.Join(conf.AnswersOf("kok"), a.lookup, id1+".pgp")); !info.ModTime().Equal(importDay) {
		t.Errorf("a skipped answer's time changed to %s", info.ModTime().UTC())
	}
}

// exactSize encrypts filler until the answer is exactly size bytes: Validate judges the shape,
// not the plaintext, so this is the largest input the import must take.
func exactSize(t *testing.T, pass string, size int) []byte {
	t.Helper()
	n := size - 1024
	for range 8 {
		var out bytes.Buffer
		w, err := answers.Encrypt(&out, pass)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(make([]byte, n))
		w.Close()
		if out.Len() == size {
			return out.Bytes()
		}
		n += size - out.Len()
	}
	t.Fatalf("no plaintext gives an answer of exactly %d bytes", size)
	return nil
}

func TestImportAtTheSizeLimit(t *testing.T) {
	root := t.TempDir()
	conf := importConfig(root)
	a := newMailbox(t)
	largest := exactSize(t, a.pass, answers.MaxCiphertext)
	ok, over := randomID(), randomID()
	outbox := writeOutbox(t, map[string][]byte{
		"kok/" + a.lookup + "/" + ok + ".pgp": largest,
	})
	var out bytes.Buffer
	if err := importOutbox(&out, conf, outbox, importDay); err != nil {
		t.Fatalf("an answer of exactly MaxCiphertext bytes: %v\n%s", err, out.String())
	}
	outbox = writeOutbox(t, map[string][]byte{
		"kok/" + a.lookup + "/" + over + ".pgp": exactSize(t, a.pass, answers.MaxCiphertext+1),
	})
	out.Reset()
	err := importOutbox(&out, conf, outbox, importDay)
	if err == nil || !strings.Contains(out.String(), "larger than") {
		t.Fatalf("one byte over: %v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	if _, err := os.Lstat(filepath.Join(conf.AnswersOf("kok"), a.lookup, over+".pgp")); err == nil {
		t.Error("the oversized answer was kept")
	}
	if got := treeUnder(conf.AnswersOf("kok")); len(got) != 2 {
		t.Errorf("the answers folder holds %v, want the one answer at the limit and its folder", got)
	}
}

func TestImportRefusesHostileFilesAndKeepsNothing(t *testing.T) {
	a := newMailbox(t)
	good := encryptAnswer(t, a.pass, "Antwort", nil)
	staff, _ := testKeys(t)
	skesk, data := policytest.Split(t, good)
	box := "kok/" + a.lookup + "/"
	cases := []struct {
		name  string
		files map[string][]byte
		link  string // a path in the outbox made a link to a valid answer's file, folder or organisation folder outside it
		want  string
	}{
		{"empty", map[string][]byte{box + randomID() + ".pgp": nil}, "", "the answer is empty"},
		{"plain text", map[string][]byte{box + randomID() + ".pgp": []byte("Liebe Frau ...")}, "", "does not start with an OpenPGP packet"},
		{"armored", map[string][]byte{box + randomID() + ".pgp": policytest.Armor(t, good)}, "", "ASCII-armored"},
		{"to a public key", map[string][]byte{box + randomID() + ".pgp": policytest.Encrypt(t, []byte("x"), staff[0])}, "", "public-key"},
		{"truncated", map[string][]byte{box + randomID() + ".pgp": good[:len(good)-1]}, "", "truncated"},
		{"a trailing byte", map[string][]byte{box + randomID() + ".pgp": append(bytes.Clone(good), 0)}, "", "byte"},
		{"no data", map[string][]byte{box + randomID() + ".pgp": skesk[0]}, "", "encrypted data is missing"},
		{"two data packets", map[string][]byte{box + randomID() + ".pgp": append(bytes.Clone(good), data...)}, "", "follows the encrypted data"},
		{"an undeclared organisation", map[string][]byte{"other/" + a.lookup + "/" + randomID() + ".pgp": good}, "", `no organisation "other" is declared`},
		{"a short lookup", map[string][]byte{"kok/" + a.lookup[:63] + "/" + randomID() + ".pgp": good}, "", "64 lower-case hex digits"},
		{"a lookup in capitals", map[string][]byte{"kok/" + strings.ToUpper(a.lookup) + "/" + randomID() + ".pgp": good}, "", "64 lower-case hex digits"},
		{"a file at the top", map[string][]byte{randomID() + ".pgp": good}, "", "not an organisation's folder"},
		{"an id in capitals", map[string][]byte{box + strings.ToUpper(randomID()) + ".pgp": good}, "", "32 lower-case hex digits"},
		{"a long id", map[string][]byte{box + randomID() + "0.pgp": good}, "", "32 lower-case hex digits"},
		{"another extension", map[string][]byte{box + randomID() + ".asc": good}, "", "named <id>.pgp"},
		{"a file beside the mailboxes", map[string][]byte{"kok/notes.txt": good}, "", "not a mailbox folder"},
		{"a link", nil, box + randomID() + ".pgp", "a link"},
		{"a linked mailbox folder", nil, box, "a link"},
		{"a linked organisation folder", nil, "kok", "a link"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf := importConfig(t.TempDir())
			outbox := writeOutbox(t, c.files)
			if c.link != "" {
				// Outside the outbox, a valid answer in the outbox's layout.
				elsewhere := writeOutbox(t, map[string][]byte{box + randomID() + ".pgp": good})
				target := filepath.Join(elsewhere, box)
				if strings.HasSuffix(c.link, ".pgp") {
					target = filepath.Join(target, treeUnder(target)[0])
				}
				if c.link == "kok" {
					target = filepath.Join(elsewhere, "kok")
				}
				link := filepath.Join(outbox, strings.TrimSuffix(c.link, "/"))
				os.MkdirAll(filepath.Dir(link), 0o700)
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			err := importOutbox(&out, conf, outbox, importDay)
			if err == nil {
				t.Fatalf("imported:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "refused: ") || !strings.Contains(out.String(), c.want) {
				t.Errorf("the table does not say %q:\n%s", c.want, out.String())
			}
			if !strings.Contains(err.Error(), "refused and nothing of them was kept") {
				t.Errorf("error %v", err)
			}
			if got := treeUnder(conf.Dropbox.Answers); len(got) != 0 {
				t.Errorf("kept %v", got)
			}
			t.Logf("%s", strings.TrimSpace(out.String()))
		})
	}
}

func TestImportKeepsWhatIsGoodBesideWhatItRefuses(t *testing.T) {
	conf := importConfig(t.TempDir())
	a := newMailbox(t)
	id := randomID()
	outbox := writeOutbox(t, map[string][]byte{
		"kok/" + a.lookup + "/" + id + ".pgp":         encryptAnswer(t, a.pass, "Antwort", nil),
		"kok/" + a.lookup + "/" + randomID() + ".pgp": []byte("not an answer"),
	})
	var out bytes.Buffer
	if err := importOutbox(&out, conf, outbox, importDay); err == nil || !strings.Contains(out.String(), "1 imported, 0 imported before, 1 refused") {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := treeUnder(conf.AnswersOf("kok")); len(got) != 2 || got[1] != a.lookup+"/"+id+".pgp" {
		t.Errorf("the answers folder holds %v, want only the good answer", got)
	}
}

func TestImportRefusesADifferentAnswerUnderAnIDTaken(t *testing.T) {
	conf := importConfig(t.TempDir())
	a := newMailbox(t)
	name := "kok/" + a.lookup + "/" + randomID() + ".pgp"
	first := encryptAnswer(t, a.pass, "erste", nil)
	var out bytes.Buffer
	if err := importOutbox(&out, conf, writeOutbox(t, map[string][]byte{name: first}), importDay); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := importOutbox(&out, conf, writeOutbox(t, map[string][]byte{name: encryptAnswer(t, a.pass, "zweite", nil)}), importDay)
	if err == nil || !strings.Contains(out.String(), "a different answer with this id") {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got, _ := os.ReadFile(filepath.Join(conf.Dropbox.Answers, name)); !bytes.Equal(got, first) {
		t.Error("the first answer was replaced")
	}
}

func TestImportCommandSaysWhatIsWrongWithItsFolder(t *testing.T) {
	conf := importConfig(t.TempDir())
	var out bytes.Buffer
	for folder, want := range map[string]string{
		t.TempDir():                        "holds no answers",
		filepath.Join(t.TempDir(), "none"): "give the outbox folder",
	} {
		if err := importOutbox(&out, conf, folder, importDay); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", folder, err, want)
		}
	}
}

// The real binary: import an outbox with the configuration files serve reads, then read the
// answer from the real server; a hostile outbox makes the command fail.
func TestImportCommandAndServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin, _ := binaries(t)
	root := t.TempDir()
	extra := filepath.Join(root, "answers.toml")
	os.WriteFile(extra, []byte("[params.dropbox]\nanswers = \""+filepath.Join(root, "answers")+"\"\n"), 0o644)
	configs := "../config.toml," + orgConfig(t, policytest.Organisations(t)["kok"][0].PubPath) + "," + extra

	a := newMailbox(t)
	id := randomID()
	outbox := writeOutbox(t, map[string][]byte{"kok/" + a.lookup + "/" + id + ".pgp": encryptAnswer(t, a.pass, "Wir haben Ihre Beschwerde erhalten.", nil)})
	out, err := exec.Command(bin, "replies", "import", "--config", configs, outbox).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 imported, 0 imported before, 0 refused") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if info, err := os.Stat(filepath.Join(root, "answers", "kok", a.lookup, id+".pgp")); err != nil || !info.ModTime().Equal(dayOf(time.Now())) {
		t.Fatalf("the imported answer: %v", err)
	}

	hostile := writeOutbox(t, map[string][]byte{"kok/" + a.lookup + "/" + randomID() + ".pgp": []byte("not an answer")})
	out, err = exec.Command(bin, "replies", "import", "--config", configs, hostile).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "dropbox: error: 1 of 1 files were refused") || !strings.Contains(string(out), "does not start with an OpenPGP packet") {
		t.Fatalf("a hostile outbox: %v\n%s", err, out)
	}

	d := startDropboxWithConfig(t, "../config.toml,"+extra, filepath.Join(root, "spool"), policytest.Organisations(t)["kok"][0].PubPath)
	resp, err := http.Post(d.url+"/api/v1/orgs/kok/answers", "application/json", strings.NewReader(tokenBody(a.token)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list answerList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 || len(list.Answers) != 1 || list.Answers[0].ID != id {
		t.Fatalf("the served answers: %d %v %+v", resp.StatusCode, err, list)
	}
}

// An import as another user than the one that owns the answers folder would make folders the
// drop box cannot read; it is refused before anything is read, with what to run instead.
func TestImportRefusesToRunAsAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the answers folder another owner")
	}
	root := t.TempDir()
	conf := importConfig(root)
	os.MkdirAll(conf.Dropbox.Answers, 0o700)
	if err := os.Chown(conf.Dropbox.Answers, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	a := newMailbox(t)
	outbox := writeOutbox(t, map[string][]byte{"kok/" + a.lookup + "/" + randomID() + ".pgp": encryptAnswer(t, a.pass, "Antwort", nil)})
	var out bytes.Buffer
	err := importOutbox(&out, conf, outbox, importDay)
	if err == nil || !strings.Contains(err.Error(), "belongs to the user with id 65534") || !strings.Contains(err.Error(), "sudo -u") {
		t.Fatalf("error %v, want one naming the owner and what to run", err)
	}
	if got := treeUnder(conf.Dropbox.Answers); len(got) != 0 {
		t.Errorf("the refused import left %v", got)
	}
	os.Chown(conf.Dropbox.Answers, 0, 0)
	if err := importOutbox(&out, conf, outbox, importDay); err != nil {
		t.Errorf("as the owner: %v", err)
	}
}
