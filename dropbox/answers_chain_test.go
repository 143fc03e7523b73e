package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
}
