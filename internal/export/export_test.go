package export

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/safe-complaints/dropbox/internal/spool"
)

func TestParseReceiptRefusesWhatBreaksARule(t *testing.T) {
	id, hash := strings.Repeat("a", 32), strings.Repeat("b", 64)
	ok := `{"format":"complaints-receipt/1","organisation":"kok","submissions":[{"id":"` + id + `","sha256":"` + hash + `"}]}`
	if _, err := ParseReceipt([]byte(ok)); err != nil {
		t.Fatalf("a good receipt: %v", err)
	}
	for _, c := range []struct{ name, raw, want string }{
		{"another format", strings.Replace(ok, "receipt/1", "receipt/2", 1), "format"},
		{"a manifest", strings.Replace(ok, "complaints-receipt/1", ManifestFormat, 1), "format"},
		{"no organisation", strings.Replace(ok, `"kok"`, `""`, 1), "organisation"},
		{"an id too short", strings.Replace(ok, id, id[1:], 1), "not a submission's id"},
		{"an id in capitals", strings.Replace(ok, id, strings.ToUpper(id), 1), "not a submission's id"},
		{"a hash too short", strings.Replace(ok, hash, hash[1:], 1), "not a SHA-256"},
		{"an id twice", strings.Replace(ok, "}]}", `},{"id":"`+id+`","sha256":"`+hash+`"}]}`, 1), "named twice"},
		{"an unknown key", strings.Replace(ok, `"format"`, `"delete_all":true,"format"`, 1), "unknown field"},
		{"something after it", ok + "{}", "follows"},
		{"cut short", ok[:len(ok)-3], "not valid"},
	} {
		if _, err := ParseReceipt([]byte(c.raw)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// Waiting counts what no export copied and arrived before the cutoff's day, nothing else.
func TestWaitingCountsOnlyOldSubmissionsNoExportCopied(t *testing.T) {
	dir := t.TempDir()
	day := spool.Today()
	files := map[string]time.Time{
		strings.Repeat("1", 32): day.AddDate(0, 0, -5), // old, exported below
		strings.Repeat("2", 32): day.AddDate(0, 0, -5), // old, never exported
		strings.Repeat("3", 32): day.AddDate(0, 0, -4), // old, never exported
		strings.Repeat("4", 32): day,                   // new
	}
	for id, when := range files {
		p := filepath.Join(dir, id+spool.Ext)
		os.WriteFile(p, []byte("x"), 0o600)
		os.Chtimes(p, when, when)
	}
	cutoff := day.AddDate(0, 0, -3)
	if n, err := Waiting(dir, cutoff); err != nil || n != 3 {
		t.Fatalf("before any export: %d, %v; want 3", n, err)
	}
	drive := t.TempDir()
	entries, _ := spool.List(dir)
	m, err := Write(drive, "kok", entries[:1])
	if err != nil {
		t.Fatal(err)
	}
	if err := MarkExported(dir, m); err != nil {
		t.Fatal(err)
	}
	if n, err := Waiting(dir, cutoff); err != nil || n != 2 {
		t.Fatalf("after exporting one: %d, %v; want 2", n, err)
	}
	if n, _ := Waiting(dir, day.AddDate(0, 0, 1)); n != 3 {
		t.Fatalf("with tomorrow as cutoff: %d; want 3 (the new one too)", n)
	}
}
