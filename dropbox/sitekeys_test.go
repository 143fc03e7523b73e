package main

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
)

func TestSiteKeysMustMatchTheServersForEachOrganisation(t *testing.T) {
	staff, other := testKeys(t)
	orgKeys := policytest.Organisations(t)
	armored := func(ks ...policytest.Key) *fstest.MapFile {
		var all []byte
		for _, k := range ks {
			b, _ := os.ReadFile(k.PubPath)
			all = append(all, b...)
		}
		return &fstest.MapFile{Data: all}
	}
	form := func(org string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(`{"organisation": "` + org + `", "procedure": "x", "lang": "de"}`)}
	}
	// A site as it is built for the three organisations of the test server.
	good := func() fstest.MapFS {
		return fstest.MapFS{
			"de/forms/kok-complaints/form.json":          form("kok"),
			"en/forms/mk-act-complaints/form.json":       form("mk-act"),
			"nl/forms/child-integrity-contact/form.json": form("kinderrechtencoalitie"),
			"keys/kok.asc":                   armored(staff[1], staff[0]),
			"keys/mk-act.asc":                armored(orgKeys["mk-act"]...),
			"keys/kinderrechtencoalitie.asc": armored(orgKeys["kinderrechtencoalitie"]...),
		}
	}
	with := func(change func(fstest.MapFS)) fstest.MapFS { site := good(); change(site); return site }
	cases := []struct {
		name string
		site fstest.MapFS
		want string // "" for accepted
	}{
		{"no forms, no keys", fstest.MapFS{"index.html": {}}, ""},
		{"each organisation's keys, in any order", good(), ""},
		{"forms without keys", with(func(s fstest.MapFS) { delete(s, "keys/kok.asc") }), "organisation kok (KOK): the site's forms for it carry no staff keys"},
		{"one key missing", with(func(s fstest.MapFS) { s["keys/kok.asc"] = armored(staff[0]) }), "organisation kok (KOK): the site's forms encrypt to"},
		{"an outsider's key", with(func(s fstest.MapFS) { s["keys/kok.asc"] = armored(staff[0], other) }), "but the server accepts"},
		{"another organisation's keys", with(func(s fstest.MapFS) { s["keys/mk-act.asc"] = armored(staff...) }), "organisation mk-act (MK-ACT)"},
		{"keys of two organisations", with(func(s fstest.MapFS) { s["keys/mk-act.asc"] = armored(append(orgKeys["mk-act"], staff[0])...) }), "organisation mk-act"},
		{"built without keys", with(func(s fstest.MapFS) { s["keys/kok.asc"] = &fstest.MapFile{} }), "encrypt to no keys"},
		{"a form of an undeclared organisation", with(func(s fstest.MapFS) { s["de/forms/other/form.json"] = form("acme") }), `for organisation "acme", which this configuration does not declare`},
		{"keys of an undeclared organisation", with(func(s fstest.MapFS) { s["keys/acme.asc"] = armored(other) }), `staff keys for organisation "acme"`},
		{"a form from before organisations", with(func(s fstest.MapFS) {
			s["de/forms/old/form.json"] = &fstest.MapFile{Data: []byte(`{"procedure": "old"}`)}
		}), "names no organisation"},
	}
	cfg := config.Defaults()
	cfg.Spool = t.TempDir()
	_, orgs := testOrganisations(t, cfg)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkSiteKeys(c.site, orgs)
			if c.want == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			if err != nil && !strings.Contains(err.Error(), "make site") {
				t.Errorf("the error %q does not say what to run", err)
			}
		})
	}
}
