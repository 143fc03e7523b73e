package main

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/safe-complaints/dropbox/internal/policy/policytest"
)

func TestSiteKeysMustMatchTheServers(t *testing.T) {
	keys, other := testKeys(t)
	armored := func(ks ...policytest.Key) []byte {
		var all []byte
		for _, k := range ks {
			b, _ := os.ReadFile(k.PubPath)
			all = append(all, b...)
		}
		return all
	}
	form := &fstest.MapFile{Data: []byte(`{}`)}
	cases := []struct {
		name string
		site fstest.MapFS
		want string // "" for accepted
	}{
		{"no forms, no keys", fstest.MapFS{"index.html": {}}, ""},
		{"same keys, other order", fstest.MapFS{"de/forms/x/form.json": form, "recipients.asc": {Data: armored(keys[1], keys[0])}}, ""},
		{"forms without keys", fstest.MapFS{"de/forms/x/form.json": form}, "no recipients.asc"},
		{"one key missing", fstest.MapFS{"de/forms/x/form.json": form, "recipients.asc": {Data: armored(keys[0])}}, "but the server accepts"},
		{"another key", fstest.MapFS{"de/forms/x/form.json": form, "recipients.asc": {Data: armored(keys[0], other)}}, "but the server accepts"},
		{"built without keys", fstest.MapFS{"de/forms/x/form.json": form, "recipients.asc": {Data: nil}}, "encrypt to no keys"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkSiteKeys(c.site, policytest.Recipients(keys...))
			if c.want == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}
