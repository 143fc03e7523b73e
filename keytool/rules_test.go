package main

import (
	"os"
	"path/filepath"

	"github.com/safe-complaints/dropbox/site/rules"
)

// Every test of keytool reads the procedures' rules from a copy of procedures.json
// (register/testdata), so that the tests need no built site and give the same results with any.
func init() {
	raw, err := os.ReadFile(filepath.Join("register", "testdata", "procedures.json"))
	if err != nil {
		panic(err)
	}
	rs, err := rules.Parse(raw)
	if err != nil {
		panic(err)
	}
	loadRules = func() (*rules.Rules, error) { return rs, nil }
}
