package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
	"github.com/safe-complaints/dropbox/internal/spool"
	"github.com/safe-complaints/dropbox/internal/submission"
)

// formSite is what the site build writes beside a form page (docs/forms.md), for one form.
var formSite = fstest.MapFS{
	"de/forms/kok-complaints/form.json": {Data: []byte(`{
  "organisation": "kok", "procedure": "kok-complaints", "lang": "de",
  "fields": [
    {"name": "who", "label": "Wer sind Sie?", "type": "choice", "required": true,
     "options": [{"value": "affected", "label": "Ich bin betroffen"}, {"value": "staff", "label": "Ich arbeite in einer Beratungsstelle"}]},
    {"name": "what-happened", "label": "Was ist passiert?", "type": "textarea", "required": true},
    {"name": "contact-wanted", "label": "Sollen wir Sie kontaktieren?", "type": "choice",
     "options": [{"value": "yes", "label": "Ja"}, {"value": "no", "label": "Nein"}]},
    {"name": "contact", "label": "Wie erreichen wir Sie?", "type": "text", "when": {"field": "contact-wanted", "value": "yes"}},
    {"name": "files", "label": "Dateien", "type": "files"}
  ],
  "messages": {"required": "Bitte füllen Sie alle Pflichtfelder aus.", "too_large": "Zu groß.", "busy": "Beschäftigt.",
               "full": "Voll.", "failed": "Fehler.", "bad_form": "Das Formular passt nicht.",
               "answer_too_long": "Ihre Antwort auf „{label}“ ist zu lang.", "answers_too_long": "Alle Antworten zusammen sind zu lang."}
}`)},
	"de/forms/kok-complaints/receipt.html": {Data: []byte(`<p>Ihre Eingangsnummer: <b>RECEIPT-ID-PLACEHOLDER</b></p>` +
		`<p>Ihr Codename: <bdi id="codename" class="codename" dir="ltr">CODENAME-PLACEHOLDER</bdi></p>`)},
	"de/forms/kok-complaints/error.html": {Data: []byte(`<p class=error>FORM-ERROR-PLACEHOLDER</p>`)},
}

type formPart struct{ name, value, file string }

func postForm(t *testing.T, url string, parts []formPart, fileData []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, p := range parts {
		if p.file != "" {
			fw, _ := w.CreateFormFile(p.name, p.file)
			fw.Write(fileData)
			continue
		}
		w.WriteField(p.name, p.value)
	}
	w.Close()
	resp, err := http.Post(url, w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

// decryptStored opens the one stored submission with a staff key, as keytool would.
func decryptStored(t *testing.T, spoolDir string, k policytest.Key) (*submission.Submission, [][]byte) {
	t.Helper()
	entries, err := spool.List(spoolDir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("spool: %v, %d entries; want 1", err, len(entries))
	}
	return openStored(t, entries[0].Path, k)
}

func TestFormWithoutJavaScriptIsEncryptedOnArrival(t *testing.T) {
	keys, _ := testKeys(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where multipart would spill files to disk: it must stay empty
	s := startServerWithSite(t, formSite, nil)
	photo := make([]byte, 3<<20)
	rand.Read(photo)
	code, page := postForm(t, s.url+formURL, []formPart{
		{name: "who", value: "affected"},
		{name: "what-happened", value: "Zeile 1\r\nZeile 2"},
		{name: "contact-wanted", value: "no"},
		{name: "contact", value: "leak@example.org"}, // sent, but not asked once contact is declined
		{name: "submit", value: "Senden"},
		{name: "files", file: "Brief.jpg"},
	}, photo)
	if code != http.StatusOK || !strings.Contains(page, "Ihre Eingangsnummer") {
		t.Fatalf("status %d, page %q", code, page)
	}
	id := receiptID(t, page)
	if _, err := os.Stat(filepath.Join(s.spool, id+".pgp")); err != nil {
		t.Fatalf("the receipt names %q, which is not in the spool: %v", id, err)
	}
	raw, _ := os.ReadFile(filepath.Join(s.spool, id+".pgp"))
	if bytes.Contains(raw, []byte("Zeile")) || bytes.Contains(raw, photo[:64]) {
		t.Fatal("plaintext in the stored file")
	}
	for _, k := range keys {
		sub, bodies := decryptStored(t, s.spool, k)
		want := []submission.Field{
			{Name: "who", Label: "Wer sind Sie?", Value: "Ich bin betroffen"},
			{Name: "what-happened", Label: "Was ist passiert?", Value: "Zeile 1\nZeile 2"},
			{Name: "contact-wanted", Label: "Sollen wir Sie kontaktieren?", Value: "Nein"},
		}
		if len(sub.Fields) != len(want) {
			t.Fatalf("fields %+v, want %+v", sub.Fields, want)
		}
		for i := range want {
			if sub.Fields[i] != want[i] {
				t.Errorf("field %d = %+v, want %+v", i, sub.Fields[i], want[i])
			}
		}
		sum := sha256.Sum256(photo)
		if len(sub.Attachments) != 1 || sub.Attachments[0].Name != "Brief.jpg" || sub.Attachments[0].SHA256 != hex.EncodeToString(sum[:]) || !bytes.Equal(bodies[0], photo) {
			t.Errorf("attachment %+v does not match what was sent", sub.Attachments)
		}
		if sub.Procedure != "kok-complaints" || sub.Lang != "de" {
			t.Errorf("procedure %q lang %q", sub.Procedure, sub.Lang)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("plaintext reached the disk: %d files in TMPDIR", len(left))
	}
}

func TestAnAbandonedEncryptionEndsAndLeavesNoGoroutine(t *testing.T) {
	keys, _ := testKeys(t)
	body := &chunks{set: newPlainMemory(0).request(8 << 20)}
	body.Write(make([]byte, 4<<20))
	sub := &submission.Submission{Procedure: "kok-complaints", Lang: "de",
		Attachments: []submission.Attachment{{Name: "a", Size: body.size, SHA256: strings.Repeat("0", 64)}}}
	before := runtime.NumGoroutine()
	e := encrypted(sub, []*chunks{body}, policytest.Recipients(keys...))
	io.CopyN(io.Discard, e, 1000) // the spool stops reading, as on a full disk
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return: the encrypting goroutine is stuck")
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}

func TestFormAsksForContactOnlyWhenWanted(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServerWithSite(t, formSite, nil)
	code, _ := postForm(t, s.url+formURL, []formPart{
		{name: "who", value: "staff"}, {name: "what-happened", value: "x"},
		{name: "contact-wanted", value: "yes"}, {name: "contact", value: "Signal +49 123"},
	}, nil)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	sub, bodies := decryptStored(t, s.spool, keys[0])
	last := sub.Fields[len(sub.Fields)-1]
	if last.Name != "contact" || last.Value != "Signal +49 123" || len(bodies) != 0 {
		t.Errorf("fields %+v, %d attachments", sub.Fields, len(bodies))
	}
}

func TestFormRefusalsAreShownInTheFormsLanguage(t *testing.T) {
	s := startServerWithSite(t, formSite, func(c *config.Dropbox) { c.BodyLimit = 1 << 20 })
	cases := []struct {
		name   string
		parts  []formPart
		file   []byte
		status int
		want   string
	}{
		{"required missing", []formPart{{name: "who", value: "affected"}}, nil, 400, "Bitte füllen Sie alle Pflichtfelder aus."},
		{"unknown option", []formPart{{name: "who", value: "boss"}, {name: "what-happened", value: "x"}}, nil, 400, "Das Formular passt nicht."},
		{"too large", []formPart{{name: "who", value: "affected"}, {name: "what-happened", value: "x"}, {name: "files", file: "big.bin"}}, make([]byte, 2<<20), 413, "Zu groß."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, page := postForm(t, s.url+formURL, c.parts, c.file)
			if code != c.status || !strings.Contains(page, c.want) {
				t.Errorf("status %d page %q; want %d with %q", code, page, c.status, c.want)
			}
			if files := s.stored(t); len(files) != 0 {
				t.Errorf("spool holds %v after a refusal", files)
			}
		})
	}
	// Many tiny files: refused while reading, before they cost memory.
	var many []formPart
	many = append(many, formPart{name: "who", value: "affected"}, formPart{name: "what-happened", value: "x"})
	for i := 0; i < 2000; i++ {
		many = append(many, formPart{name: "files", file: "a"})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	code, page := postForm(t, s.url+formURL, many, []byte("x"))
	runtime.ReadMemStats(&after)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, "Zu groß.") {
		t.Errorf("2,000 tiny files: %d %q, want 413 with the too-large message", code, page)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("2,000 tiny files allocated %d MiB", grew>>20)
	}
	for _, target := range []string{"/api/v1/orgs/kok/forms/de/no-such-form", "/api/v1/orgs/kok/forms/..%2f..%2fetc/passwd", "/api/v1/orgs/kok/forms/xx/kok-complaints",
		"/api/v1/orgs/mk-act/forms/de/kok-complaints", "/api/v1/orgs/no-such-org/forms/de/kok-complaints"} {
		code, _ := postForm(t, s.url+target, []formPart{{name: "who", value: "affected"}}, nil)
		if code != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", target, code)
		}
	}
}

func TestAnswersAreTrimmedAsTheFormsScriptTrims(t *testing.T) {
	for in, want := range map[string]string{
		" \t\u00a0\ufeffHallo\u3000\u2028": "Hallo",             // what JavaScript's trim() removes
		"\u0085Hallo\u0085":                "\u0085Hallo\u0085", // and what it keeps
		"\r\n Zeile 1\r\nZeile 2 \r\n":     "Zeile 1\nZeile 2",
		"\u200bzero width stays\u200b":     "\u200bzero width stays\u200b",
	} {
		if got := answer(map[string]string{"q": in}, "q"); got != want {
			t.Errorf("answer(%q) = %q, want %q", in, got, want)
		}
	}
}

// codenameOn reads the codename from formSite's receipt page.
func codenameOn(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`<bdi id="codename" class="codename" dir="ltr">([^<]*)</bdi>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no codename on the receipt %q", page)
	}
	return m[1]
}

// A form sent without JavaScript gets its codename from the drop box: on the receipt in groups of
// five, in the submission's followup value (inside the encryption) as a first complaint, and
// nowhere else: not in the spool's files, not in the log.
func TestAFormWithoutJavaScriptGivesACodenameOnItsReceipt(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServerWithSite(t, formSite, nil)
	code, page := postForm(t, s.url+formURL, []formPart{
		{name: "who", value: "affected"}, {name: "what-happened", value: "Etwas ist passiert"},
	}, nil)
	if code != http.StatusOK {
		t.Fatalf("status %d, page %q", code, page)
	}
	typed := codenameOn(t, page)
	if !regexp.MustCompile(`^[0-9]{5}( [0-9]{5}){4} [0-9]$`).MatchString(typed) || strings.Contains(page, CodenamePlaceholder) {
		t.Fatalf("the receipt's codename %q is not 26 digits in groups of five", typed)
	}
	codename, err := answers.ParseCodename(typed) // the check digit too
	if err != nil {
		t.Fatalf("the receipt's codename does not parse: %v", err)
	}
	want, err := answers.Derive(codename, "kok")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		sub, _ := decryptStored(t, s.spool, k)
		got, err := answers.ParseFollowup(sub.Followup)
		if err != nil {
			t.Fatalf("the stored submission's followup %q: %v", sub.Followup, err)
		}
		if *got != want.FirstComplaint() {
			t.Errorf("followup %+v, want the codename's first complaint %+v", *got, want.FirstComplaint())
		}
	}
	raw, _ := os.ReadFile(filepath.Join(s.spool, receiptID(t, page)+spool.Ext))
	logs := s.log()
	for _, secret := range []string{codename.Digits(), typed, want.TokenText(), want.Lookup, want.AnswerPass, want.Case} {
		if bytes.Contains(raw, []byte(secret)) || strings.Contains(logs, secret) {
			t.Errorf("%q is in the spool's file or the log", secret)
		}
	}

	// Each form its own codename; a refused form none (and no derivation).
	_, again := postForm(t, s.url+formURL, []formPart{{name: "who", value: "affected"}, {name: "what-happened", value: "Noch eine"}}, nil)
	if codenameOn(t, again) == typed {
		t.Error("two forms got the same codename")
	}
	code, refused := postForm(t, s.url+formURL, []formPart{{name: "who", value: "affected"}}, nil)
	if code != http.StatusBadRequest || regexp.MustCompile(`[0-9]{5} [0-9]{5}`).MatchString(refused) {
		t.Errorf("a refused form: %d %q", code, refused)
	}
}

// A site whose form pages lack a placeholder is refused at start, with what to do.
func TestFormPagesMustCarryTheirPlaceholders(t *testing.T) {
	good := fstest.MapFS{
		"de/forms/kok-complaints/form.json":    {Data: []byte(`{"organisation":"kok"}`)},
		"de/forms/kok-complaints/receipt.html": {Data: []byte(ReceiptPlaceholder + " " + CodenamePlaceholder)},
		"de/forms/kok-complaints/error.html":   {Data: []byte(ErrorPlaceholder)},
	}
	if err := checkFormPages(good); err != nil {
		t.Fatalf("a complete site was refused: %v", err)
	}
	for name, page := range map[string]string{
		"receipt.html without the codename": ReceiptPlaceholder,
		"receipt.html without the id":       CodenamePlaceholder,
		"error.html without the message":    "",
	} {
		site := fstest.MapFS{}
		for k, v := range good {
			site[k] = v
		}
		file := "de/forms/kok-complaints/" + strings.Fields(name)[0]
		site[file] = &fstest.MapFile{Data: []byte(page)}
		err := checkFormPages(site)
		if err == nil || !strings.Contains(err.Error(), "make site") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// plaintextOf decrypts a stored submission with a staff key and returns the whole plaintext,
// padding included, as keytool's decryption yields it before its reader takes it apart.
func plaintextOf(t *testing.T, file string, k policytest.Key) []byte {
	t.Helper()
	staff, err := policy.ReadKeyFile(k.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	ciphertext, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	unlock := func(keys []openpgp.Key, symmetric bool) ([]byte, error) {
		for _, k := range keys {
			if err := k.PrivateKey.Decrypt([]byte(policytest.Passphrase)); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	md, err := openpgp.ReadMessage(bytes.NewReader(ciphertext), staff, unlock, &packet.Config{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return plain
}

// Forms sent without JavaScript are padded inside the encryption (docs/format.md, "Padding of
// submissions"): three short answers of different lengths and scripts give plaintexts of 4 KiB
// and stored files of one size; a photo of 1 MiB and 40 files of 27,000 bytes both pad to the
// next eighth, 1.125 MiB, and are stored as files of one size too (however differently their
// bytes reach the encryption); each reads back whole.
func TestFormsWithoutJavaScriptArePadded(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServerWithSite(t, formSite, nil)
	photo := make([]byte, 1<<20)
	rand.Read(photo)
	stored := map[int]map[int64]bool{} // by plaintext size: the stored files' sizes
	for _, c := range []struct {
		text  string
		files int
		data  []byte
		plain int
	}{
		{"Ja", 0, nil, 4 << 10},
		{strings.Repeat("Er hat mir den Pass weggenommen und gesagt, ich darf nicht gehen. ", 20), 0, nil, 4 << 10},
		{strings.Repeat("أخذ جواز سفري. ", 60), 0, nil, 4 << 10},
		{"Foto", 1, photo, 1<<20 + 128<<10},
		{"Vierzig Seiten", 40, photo[:27000], 1<<20 + 128<<10},
	} {
		parts := []formPart{{name: "who", value: "affected"}, {name: "what-happened", value: c.text}}
		for i := range c.files {
			parts = append(parts, formPart{name: "files", file: fmt.Sprintf("Seite %d.jpg", i+1)})
		}
		code, page := postForm(t, s.url+formURL, parts, c.data)
		if code != http.StatusOK {
			t.Fatalf("status %d, page %q", code, page)
		}
		file := filepath.Join(s.spool, receiptID(t, page)+spool.Ext)
		plain := plaintextOf(t, file, keys[0])
		if len(plain) != c.plain || int64(len(plain)) != submission.PaddedSize(int64(len(plain))) {
			t.Errorf("a form of %d bytes of text and %d files: plaintext %d bytes, want %d", len(c.text), c.files, len(plain), c.plain)
		}
		openStored(t, file, keys[0]) // reads it to its end, the padding checked, as keytool does
		info, _ := os.Stat(file)
		if stored[c.plain] == nil {
			stored[c.plain] = map[int64]bool{}
		}
		stored[c.plain][info.Size()] = true
	}
	for plain, sizes := range stored {
		t.Logf("padded to %d bytes: stored as %v bytes", plain, sizes)
		if len(sizes) != 1 {
			t.Errorf("forms padded to %d bytes stored as files of %v bytes: their sizes tell them apart", plain, sizes)
		}
	}
}

// A follow-up written without JavaScript on the answers page is padded as a form is.
func TestAFollowUpWithoutJavaScriptIsPadded(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServerWithSite(t, answersSiteFS, manyChecks)
	codename, _ := aCodename(t)
	code, page := s.postMore(t, morePart{name: "codename", value: codename.String()}, morePart{name: "more", value: "Noch etwas."})
	sh := readShown(t, page)
	if code != http.StatusOK || sh.sent == "" {
		t.Fatalf("status %d, %+v", code, sh)
	}
	file := filepath.Join(s.spool, sh.sent+spool.Ext)
	if plain := plaintextOf(t, file, keys[0]); len(plain) != 4<<10 {
		t.Errorf("a short follow-up: plaintext %d bytes, want 4 KiB", len(plain))
	}
	openStored(t, file, keys[0])
}

// The largest form without JavaScript the format allows: 25 MiB of files and a header of exactly
// 1 MiB with its codename's followup value, which pads to 28 MiB, is stored within the spool's
// reservation for it (a reservation short of the padding would cut it); one byte more of answers
// is refused with the form's message, and nothing of it kept.
func TestTheLargestFormWithoutJavaScriptIsStoredPadded(t *testing.T) {
	keys, _ := testKeys(t)
	s := startServerWithSite(t, formSite, nil)
	scan := make([]byte, 25<<20)
	rand.Read(scan)
	// The submission the drop box will make of the form, to measure its header: the answers as
	// it reads them, a followup value of the same length as the codename's.
	_, k := aCodename(t)
	followup, _ := json.Marshal(k.FirstComplaint())
	quotes := strings.Repeat(`"`, maxFieldBytes) // JSON writes each as two bytes
	mirror := submission.Submission{Procedure: "kok-complaints", Lang: "de", EncryptedBy: "server", Followup: followup,
		Fields: []submission.Field{
			{Name: "who", Label: "Wer sind Sie?", Value: "Ich bin betroffen"},
			{Name: "what-happened", Label: "Was ist passiert?", Value: quotes},
			{Name: "contact-wanted", Label: "Sollen wir Sie kontaktieren?", Value: "Ja"},
			{Name: "contact", Label: "Wie erreichen wir Sie?", Value: ""},
		},
		Attachments: []submission.Attachment{submission.NewAttachment("scan.pdf", "application/octet-stream", scan)},
	}
	headerLine := func() int {
		var head headWriter
		if err := submission.Write(&head, &mirror, []io.Reader{bytes.NewReader(scan)}); err != nil {
			t.Fatal(err)
		}
		return bytes.IndexByte(head.Bytes()[len(submission.Magic):], '\n') + 1
	}
	room := submission.MaxHeader - headerLine() - 1 // at 28 MiB the padding's count has one digit more
	mirror.Fields[3].Value = quotes[:room/2] + strings.Repeat("x", room%2)
	if n := headerLine(); n != submission.MaxHeader {
		t.Fatalf("the header is %d bytes, not the %d of the limit: the test misses it", n, submission.MaxHeader)
	}
	send := func(contact string) (int, string) {
		return postForm(t, s.url+formURL, []formPart{
			{name: "who", value: "affected"}, {name: "what-happened", value: quotes},
			{name: "contact-wanted", value: "yes"}, {name: "contact", value: contact},
			{name: "files", file: "scan.pdf"},
		}, scan)
	}
	code, page := send(mirror.Fields[3].Value)
	if code != http.StatusOK {
		t.Fatalf("the largest form: status %d, page %q", code, page)
	}
	file := filepath.Join(s.spool, receiptID(t, page)+spool.Ext)
	plain := plaintextOf(t, file, keys[0])
	if len(plain) != 28<<20 {
		t.Errorf("the largest form: plaintext %d bytes, want 28 MiB", len(plain))
	}
	if _, bodies := openStored(t, file, keys[0]); len(bodies) != 1 || !bytes.Equal(bodies[0], scan) {
		t.Error("the largest form's scan is not what was sent")
	}
	info, _ := os.Stat(file)
	t.Logf("the largest form: plaintext %d bytes, stored %d bytes", len(plain), info.Size())

	code, page = send(mirror.Fields[3].Value + "x")
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(page, "Alle Antworten zusammen sind zu lang.") {
		t.Errorf("a byte more: status %d, page %q", code, page)
	}
	if n := len(s.stored(t)); n != 1 {
		t.Errorf("%d files in the spool, want 1", n)
	}
}

// headWriter keeps the first 2 MiB written to it: the magic line and the header.
type headWriter struct{ bytes.Buffer }

func (h *headWriter) Write(p []byte) (int, error) {
	if room := 2<<20 - h.Len(); room > 0 {
		h.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// The padding is made as go-crypto takes it, never held: encrypting a form of 18 MiB with about
// 2 MiB of padding allocates no more than one of 18 MiB with almost none, and neither touches the
// request's plaintext memory beyond the blocks its attachment holds.
func TestThePaddingIsNeverHeldInMemory(t *testing.T) {
	keys, _ := testKeys(t)
	allocated := func(size int) (uint64, int64) {
		mem := newPlainMemory(0).request(32 << 20)
		body := &chunks{set: mem}
		body.Write(make([]byte, size))
		left := mem.left
		sub := &submission.Submission{Procedure: "kok-complaints", Lang: "de",
			Attachments: []submission.Attachment{submission.NewAttachment("a", "", make([]byte, size))}}
		plain, err := sub.PlaintextSize()
		if err != nil || plain != 18<<20 {
			t.Fatalf("an attachment of %d bytes: plaintext %d bytes (%v), want 18 MiB", size, plain, err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := encrypted(sub, []*chunks{body}, policytest.Recipients(keys...))
		n, err := io.Copy(io.Discard, e)
		e.Close()
		runtime.ReadMemStats(&after)
		if err != nil || n < plain {
			t.Fatalf("encrypted %d bytes: %v", n, err)
		}
		if mem.left != left {
			t.Errorf("the encryption took %d bytes of the request's plaintext memory", left-mem.left)
		}
		return after.TotalAlloc - before.TotalAlloc, plain - int64(size)
	}
	padded, padding := allocated(16<<20 + 1)
	full, little := allocated(18<<20 - 300)
	t.Logf("encryption allocated %d KiB with %d bytes of padding and header, %d KiB with %d", padded>>10, padding, full>>10, little)
	if padded > full+256<<10 {
		t.Errorf("with %d bytes of padding the encryption allocated %d KiB, with %d only %d KiB: the padding is held in memory", padding, padded>>10, little, full>>10)
	}
}
