package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/submission"
)

var (
	testKeysOnce sync.Once
	testKeys     *answers.Keys
)

// codenameKeys derives the keys of one codename at kok, once for all tests: the stretching
// takes a while.
func codenameKeys(t *testing.T) *answers.Keys {
	t.Helper()
	testKeysOnce.Do(func() {
		c, err := answers.ParseCodename("48213 09375 11842 66301 72845 2")
		if err != nil {
			c, err = answers.NewCodename()
		}
		if err == nil {
			testKeys, err = answers.Derive(c, "kok")
		}
		if err != nil {
			panic(err)
		}
	})
	return testKeys
}

// sent is a submission as the person sent it: its text and its attachments' bytes.
type sent struct {
	value       string
	attachments map[string][]byte // name → bytes
	names       []string
}

// codenameMessage is an encrypted submission for ana with the given followup value.
func codenameMessage(t *testing.T, ana policytest.Key, fu answers.Followup, value string, sizes ...int) ([]byte, sent) {
	t.Helper()
	raw, err := json.Marshal(fu)
	if err != nil {
		t.Fatal(err)
	}
	sub := &submission.Submission{
		Procedure: "kok-complaints", Lang: "de", Followup: raw,
		Fields: []submission.Field{{Name: "what-happened", Label: "Was ist passiert?", Value: value}},
	}
	s := sent{value: value, attachments: map[string][]byte{}}
	var bodies []io.Reader
	for i, n := range sizes {
		data := make([]byte, n)
		rand.Read(data)
		name := fmt.Sprintf("foto-%d.jpg", i+1)
		sub.Attachments = append(sub.Attachments, submission.NewAttachment(name, "image/jpeg", data))
		bodies = append(bodies, bytes.NewReader(data))
		s.attachments[name] = data
		s.names = append(s.names, name)
	}
	var plain bytes.Buffer
	if err := submission.Write(&plain, sub, bodies); err != nil {
		t.Fatal(err)
	}
	return policytest.Encrypt(t, plain.Bytes(), ana), s
}

// checkFiled checks that dir holds what was sent, byte for byte.
func checkFiled(t *testing.T, dir string, s sent) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "submission.json"))
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	var sub submission.Submission
	if err := json.Unmarshal(raw, &sub); err != nil || len(sub.Fields) != 1 || sub.Fields[0].Value != s.value {
		t.Errorf("%s/submission.json does not hold what was sent (%v): %s", dir, err, raw)
	}
	if _, err := os.Stat(filepath.Join(dir, "summary.txt")); err != nil {
		t.Errorf("%s has no summary.txt: %v", dir, err)
	}
	for i, name := range s.names {
		got, err := os.ReadFile(filepath.Join(dir, "attachments", fmt.Sprintf("%02d-%s", i+1, name)))
		if err != nil || !bytes.Equal(got, s.attachments[name]) {
			t.Errorf("%s: attachment %s is not what was sent (%v)", dir, name, err)
		}
	}
}

func decryptRun(t *testing.T, ana policytest.Key, in, out string) string {
	t.Helper()
	stdout, stderr, err := keytool("decrypt", "--key", ana.KeyPath, "--passphrase-file", ana.PassPath, "--in", in, "--out", out)
	if err != nil {
		t.Fatalf("decrypt: %v\n%s%s", err, stdout, stderr)
	}
	return stdout
}

// tableRow is a row of decrypt's closing table.
func tableRow(t *testing.T, stdout, id, status, detail string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)^` + id + `\s+` + regexp.QuoteMeta(status) + `\s+.*` + regexp.QuoteMeta(detail)).MatchString(stdout) {
		t.Errorf("the table has no row %s %s ...%s...:\n%s", id, status, detail, stdout)
	}
}

func TestDecryptFilesFollowupsIntoTheFirstComplaintsCase(t *testing.T) {
	staff, _ := policytest.Staff(t)
	ana := staff[0]
	keys := codenameKeys(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "spool"), filepath.Join(dir, "cases")
	// The follow-up's id sorts before the first complaint's: the first complaint must still
	// be filed first, in the same run.
	const (
		first  = "ffffffffffffffffffffffffffffffff"
		second = "00000000000000000000000000000001"
		third  = "00000000000000000000000000000000"
		plain  = "77777777777777777777777777777777"
	)
	firstMsg, firstSent := codenameMessage(t, ana, keys.FirstComplaint(), "Man hat mir den Pass weggenommen.", 1000)
	secondMsg, secondSent := codenameMessage(t, ana, keys.FollowUp(), "Noch etwas: hier das Foto.", 0, 3000)
	thirdMsg, thirdSent := codenameMessage(t, ana, keys.FollowUp(), "Und ein drittes Mal.", 500)
	writeFiles(t, map[string][]byte{
		filepath.Join(in, first+".pgp"):  firstMsg,
		filepath.Join(in, second+".pgp"): secondMsg,
		filepath.Join(in, plain+".pgp"):  message(t, ana, 10),
	})

	stdout := decryptRun(t, ana, in, out)
	tableRow(t, stdout, first, "decrypted", "with a codename: keytool reply --case "+first)
	tableRow(t, stdout, second, "decrypted", "a follow-up, filed as "+filepath.Join(first, "followups", "01-"+second))

	// The next run finds the third in a later copy of the spool.
	writeFiles(t, map[string][]byte{filepath.Join(in, third+".pgp"): thirdMsg})
	stdout = decryptRun(t, ana, in, out)
	tableRow(t, stdout, third, "decrypted", "a follow-up, filed as "+filepath.Join(first, "followups", "02-"+third))
	tableRow(t, stdout, second, "skipped", "filed as "+filepath.Join(first, "followups", "01-"+second))
	if !strings.Contains(stdout, "4 submissions: 1 decrypted, 3 skipped, 0 failed") {
		t.Errorf("the second run's counts are wrong:\n%s", stdout)
	}

	caseDir := filepath.Join(out, first)
	checkFiled(t, caseDir, firstSent)
	checkFiled(t, filepath.Join(caseDir, "followups", "01-"+second), secondSent)
	checkFiled(t, filepath.Join(caseDir, "followups", "02-"+third), thirdSent)
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != plain+" "+first+" register.sqlite" {
		t.Errorf("the cases folder holds %v; want only the first complaint's case, the one without a codename and the case register", names)
	}

	// followup.json: exactly what keytool reply needs, readable by staff only.
	info, err := os.Stat(filepath.Join(caseDir, followupFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("followup.json has mode %v; want 0600", info.Mode().Perm())
	}
	raw, _ := os.ReadFile(filepath.Join(caseDir, followupFile))
	fu, err := answers.ParseFollowup(raw)
	if err != nil || *fu != keys.FirstComplaint() {
		t.Errorf("followup.json holds %s (%v); want the first complaint's values", raw, err)
	}
	if _, err := os.Stat(filepath.Join(out, plain, followupFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a submission without a codename got a followup.json (%v)", err)
	}

	thread, _ := os.ReadFile(filepath.Join(caseDir, threadFile))
	if !regexp.MustCompile(`(?s)` + first + `.*01-` + second + `.*02-` + third).Match(thread) {
		t.Errorf("thread.txt does not list the follow-ups in order:\n%s", thread)
	}
	summary, _ := os.ReadFile(filepath.Join(caseDir, "followups", "01-"+second, "summary.txt"))
	if !strings.Contains(string(summary), "Follow-up:  sent later with the codename of a first complaint") {
		t.Errorf("the follow-up's summary does not say it is one:\n%s", summary)
	}

	// A third run changes nothing.
	before := snapshot(t, out)
	stdout = decryptRun(t, ana, in, out)
	if !strings.Contains(stdout, "4 submissions: 0 decrypted, 4 skipped, 0 failed") {
		t.Errorf("the third run did something:\n%s", stdout)
	}
	if after := snapshot(t, out); after != before {
		t.Errorf("the third run changed the cases:\nbefore %s\nafter  %s", before, after)
	}
}

func TestDecryptKeepsAFollowupWithoutItsCaseAndMovesItLater(t *testing.T) {
	staff, _ := policytest.Staff(t)
	ana := staff[0]
	keys := codenameKeys(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "spool"), filepath.Join(dir, "cases")
	const (
		first  = "11111111111111111111111111111111"
		orphan = "22222222222222222222222222222222"
	)
	orphanMsg, orphanSent := codenameMessage(t, ana, keys.FollowUp(), "Ich schreibe noch einmal.", 2048)
	writeFiles(t, map[string][]byte{filepath.Join(in, orphan+".pgp"): orphanMsg})

	stdout := decryptRun(t, ana, in, out)
	tableRow(t, stdout, orphan, "decrypted", "a follow-up of a case not found here, kept in "+orphan+"/")
	kept := filepath.Join(out, orphan)
	checkFiled(t, kept, orphanSent)
	if note, err := os.ReadFile(filepath.Join(kept, orphanFile)); err != nil || !strings.Contains(string(note), "That first complaint is not among the case folders here") {
		t.Errorf("the kept follow-up is not marked (%v): %s", err, note)
	}

	// The first complaint arrives in a later copy; the follow-up is still in the spool copy.
	firstMsg, _ := codenameMessage(t, ana, keys.FirstComplaint(), "Der erste Brief.")
	writeFiles(t, map[string][]byte{filepath.Join(in, first+".pgp"): firstMsg})
	stdout = decryptRun(t, ana, in, out)
	where := filepath.Join(first, "followups", "01-"+orphan)
	tableRow(t, stdout, orphan, "moved", "now filed as "+where)
	if _, err := os.Stat(kept); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the follow-up is still in a folder of its own (%v)", err)
	}
	checkFiled(t, filepath.Join(out, where), orphanSent)
	for _, name := range []string{orphanFile, followupFile} {
		if _, err := os.Stat(filepath.Join(out, where, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the moved follow-up still has %s (%v)", name, err)
		}
	}
	if thread, _ := os.ReadFile(filepath.Join(out, first, threadFile)); !strings.Contains(string(thread), "01-"+orphan) {
		t.Errorf("thread.txt does not list the moved follow-up:\n%s", thread)
	}

	stdout = decryptRun(t, ana, in, out)
	tableRow(t, stdout, orphan, "skipped", "decrypted before, filed as "+where)
	if strings.Contains(stdout, "moved") {
		t.Errorf("the rerun moved something again:\n%s", stdout)
	}
}

// snapshot lists every file under dir with its size and mode.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		var sum [32]byte
		if d.Type().IsRegular() {
			data, _ := os.ReadFile(path)
			sum = sha256.Sum256(data)
		}
		fmt.Fprintf(&b, "%s %v %x;", strings.TrimPrefix(path, dir), info.Mode(), sum)
		return nil
	})
	return b.String()
}
