package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/safe-complaints/dropbox/internal/answers"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/submission"
	"github.com/safe-complaints/dropbox/keytool/register"
)

// TestScripts runs the command-line scripts in testdata/script: keygen, decrypt into the
// register, cases, case with its steps, and close.
func TestScripts(t *testing.T) {
	// Absolute: the scripts run in parallel, and scriptKeytool changes the working folder while
	// testscript opens the next script.
	dir, err := filepath.Abs(filepath.Join("testdata", "script"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: dir,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"keytool":    scriptKeytool,
			"submission": scriptSubmission,
			"mtime":      scriptMtime,
		},
	})
}

// scriptMu serialises keytool in the scripts: it runs in this process, in the script's folder,
// on the script's day ($TODAY).
var scriptMu sync.Mutex

// scriptKeytool runs keytool with args in the script's current folder.
func scriptKeytool(ts *testscript.TestScript, neg bool, args []string) {
	scriptMu.Lock()
	defer scriptMu.Unlock()
	wd, err := os.Getwd()
	ts.Check(err)
	ts.Check(os.Chdir(ts.MkAbs(".")))
	defer os.Chdir(wd)
	saved := today
	defer func() { today = saved }()
	if day := ts.Getenv("TODAY"); day != "" {
		d, err := register.ParseDay(day)
		ts.Check(err)
		today = func() time.Time { return d }
	}
	root := newRootCmd(strings.NewReader(""), ts.Stdout(), ts.Stderr())
	root.SetArgs(args)
	err = root.Execute()
	if err != nil {
		ts.Stderr().Write([]byte("keytool: error: " + err.Error() + "\n"))
	}
	switch {
	case err != nil && !neg:
		ts.Fatalf("keytool %s: %v", strings.Join(args, " "), err)
	case err == nil && neg:
		ts.Fatalf("keytool %s succeeded unexpectedly", strings.Join(args, " "))
	}
}

// scriptSubmission writes a submission encrypted to a public key, as the drop box stores it:
//
//	submission PUBKEY FILE [procedure=SLUG] [lang=LANG] [encrypted_by=browser|server]
//	    [first=CASE | followup=CASE] [FIELD=VALUE ...]
//
// first= and followup= give it the followup value of a first complaint or of a follow-up with
// that case (32 hex digits); every other key is a form field, its value the label or text the
// person sent.
func scriptSubmission(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: submission PUBKEY FILE [key=value ...]")
	}
	sub := &submission.Submission{Procedure: "kok-complaints", Lang: "en"}
	for _, kv := range args[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			ts.Fatalf("%q is not key=value", kv)
		}
		switch k {
		case "procedure":
			sub.Procedure = v
		case "lang":
			sub.Lang = v
		case "encrypted_by":
			sub.EncryptedBy = v
		case "first", "followup":
			fu := answers.Followup{Case: v}
			if k == "first" {
				fu = answers.Followup{Case: v, Lookup: strings.Repeat(v[:2], 32), AnswerPass: strings.Repeat("A", 43), Org: "kok"}
			}
			raw, err := json.Marshal(fu)
			ts.Check(err)
			sub.Followup = raw
		default:
			sub.Fields = append(sub.Fields, submission.Field{Name: k, Label: k, Value: v})
		}
	}
	keys, err := policy.ReadKeyFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var plain, out bytes.Buffer
	ts.Check(submission.Write(&plain, sub, nil))
	w, err := openpgp.Encrypt(&out, keys, nil, nil, nil, policy.EncryptConfig())
	ts.Check(err)
	_, err = w.Write(plain.Bytes())
	ts.Check(err)
	ts.Check(w.Close())
	path := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(path), 0o700))
	ts.Check(os.WriteFile(path, out.Bytes(), 0o600))
}

// scriptMtime sets a file's modification time to 00:00 UTC of a day, as the drop box sets a
// spool file's to the day it arrived: mtime FILE YYYY-MM-DD
func scriptMtime(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mtime FILE YYYY-MM-DD")
	}
	d, err := register.ParseDay(args[1])
	ts.Check(err)
	ts.Check(os.Chtimes(ts.MkAbs(args[0]), d, d))
}
