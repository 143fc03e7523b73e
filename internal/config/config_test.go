package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, text string) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const twoOrganisations = `
baseURL = "/"
defaultContentLanguage = "de"
[params.dropbox]
spool = "var/spool"
body_limit = 2097152
body_timeout = "5m"
[params.organisations.kok]
name = "KOK"
region = "DE-BE"
keys = ["keys/a.pub.asc", "/abs/b.pub.asc"]
[params.organisations.mk-act]
name = "MK-ACT"
region = "GB-ENG"
keys = ["keys/c.pub.asc"]
spool = "/srv/mk-act"
`

func TestTheConfigIsReadAsHugoReadsIt(t *testing.T) {
	dir := t.TempDir()
	main := write(t, filepath.Join(dir, "config.toml"), twoOrganisations)
	write(t, filepath.Join(dir, "config", "demo", "params.toml"), "[dropbox]\nspool = \"demo/spool\"\n[organisations.kok]\nkeys = [\"demo/kok.pub.asc\"]\n")

	cfg, err := Load([]string{main}, "production")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultLanguage != "de" || cfg.Dropbox.BodyLimit != 2<<20 || cfg.Dropbox.BodyTimeout.Minutes() != 5 || cfg.Dropbox.MaxUploads != 64 {
		t.Errorf("settings and defaults: %+v", cfg.Dropbox)
	}
	if len(cfg.Organisations) != 2 || cfg.Organisations[0].ID != "kok" || cfg.Organisations[1].ID != "mk-act" {
		t.Fatalf("organisations, sorted by id: %+v", cfg.Organisations)
	}
	kok, mk := cfg.Organisation("kok"), cfg.Organisation("mk-act")
	if kok.Keys[0] != filepath.Join(dir, "keys/a.pub.asc") || kok.Keys[1] != "/abs/b.pub.asc" {
		t.Errorf("key paths are relative to the project folder: %v", kok.Keys)
	}
	if kok.Spool != filepath.Join(dir, "var/spool/kok") || mk.Spool != "/srv/mk-act" {
		t.Errorf("spool folders: kok %s, mk-act %s", kok.Spool, mk.Spool)
	}
	if kok.Country() != "DE" || mk.Country() != "GB" || kok.Name != "KOK" {
		t.Errorf("kok %+v, mk-act %+v", kok, mk)
	}

	// The environment's params.toml lays its tables over the config, key by key.
	demo, err := Load([]string{main}, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if k := demo.Organisation("kok"); k.Name != "KOK" || len(k.Keys) != 1 || k.Keys[0] != filepath.Join(dir, "demo/kok.pub.asc") || k.Spool != filepath.Join(dir, "demo/spool/kok") {
		t.Errorf("the demo overlay: %+v", k)
	}
	if demo.Dropbox.BodyLimit != 2<<20 {
		t.Errorf("the overlay dropped body_limit: %d", demo.Dropbox.BodyLimit)
	}

	// More files override the first, as hugo --config a,b does.
	extra := write(t, filepath.Join(t.TempDir(), "extra.toml"), "[params.organisations.mk-act]\nkeys = [\"keys/d.pub.asc\"]\n")
	both, err := Load([]string{main, extra}, "")
	if err != nil {
		t.Fatal(err)
	}
	if k := both.Organisation("mk-act"); len(k.Keys) != 1 || k.Keys[0] != filepath.Join(dir, "keys/d.pub.asc") || k.Region != "GB-ENG" {
		t.Errorf("a second file over the first: %+v", k)
	}

	// --spool moves the folders that follow it, not one an organisation named itself.
	if err := cfg.SetSpool("/elsewhere"); err != nil {
		t.Fatal(err)
	}
	if kok.Spool != "/elsewhere/kok" || mk.Spool != "/srv/mk-act" {
		t.Errorf("after SetSpool: kok %s, mk-act %s", kok.Spool, mk.Spool)
	}
}

func TestOneOrganisationIsAsShortAsBefore(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load([]string{write(t, filepath.Join(dir, "config.toml"), `
[params.organisations.office]
name = "Complaints office"
region = "DE"
keys = ["keys/ana.pub.asc"]
`)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.Organisation("office"); o == nil || o.Spool != filepath.Join(dir, "spool", "office") {
		t.Errorf("one organisation: %+v", cfg.Organisations)
	}
}

func TestConfigurationsTheDropBoxMustRefuse(t *testing.T) {
	org := func(id, extra string) string {
		return "[params.organisations." + id + "]\nname = \"N\"\nregion = \"DE\"\n" + extra + "\n"
	}
	cases := []struct {
		name, config, want string
	}{
		{"two organisations, one spool folder", org("a", `spool = "s"`) + org("b", `spool = "s"`), "organisations a and b share the spool folder"},
		{"one spool folder inside another's", org("a", `spool = "s"`) + org("b", `spool = "s/b"`), "share the spool folder"},
		{"one named as another's default", `[params.dropbox]` + "\nspool = \"s\"\n" + org("a", "") + org("b", `spool = "s/a"`), "share the spool folder"},
		{"one key for two organisations", org("a", `keys = ["k.asc"]`) + org("b", `keys = ["./k.asc"]`), "is a staff key of both a and b"},
		{"a key listed twice", org("a", `keys = ["k.asc", "k.asc"]`), "lists"},
		{"an id in capitals", org("KOK", ""), "lower-case letters"},
		{"no name", "[params.organisations.a]\nregion = \"DE\"\n", "has no name"},
		{"a region that is no code", org("a", "") + "[params.organisations.b]\nname = \"B\"\nregion = \"Germany\"\n", `region is "Germany"`},
		{"a misspelt setting", org("a", `key = ["k.asc"]`), "unknown setting key"},
		{"a misspelt drop box setting", "[params.dropbox]\nmax_upload = 3\n", "unknown setting max_upload"},
		{"the old recipients list", "[params.dropbox]\nrecipients = [\"k.asc\"]\n", "recipients is no longer read"},
		{"a tiny body limit", "[params.dropbox]\nbody_limit = 10\n", "body_limit"},
		{"an organisation that is no table", "[params]\norganisations = { a = 3 }\n", "is not a table"},
		{"answers in the spool", "[params.dropbox]\nspool = \"s\"\nanswers = \"s\"\n" + org("a", ""), "the answers folder of a"},
		{"a spool among the answers", "[params.dropbox]\nanswers = \"var\"\n" + org("a", `spool = "var/a/spool"`), "overlap"},
		{"answers inside another's spool", "[params.dropbox]\nanswers = \"s/b/answers\"\n" + org("a", "") + org("b", `spool = "s/b"`), "the answers folder of a"},
		{"no answers folder", "[params.dropbox]\nanswers = \"\"\n", "answers is empty"},
		{"a retention under a day", "[params.dropbox]\nanswer_retention = \"23h59m59s\"\n", "answer_retention is 23h59m59s; at least a day"},
		{"no mailbox checks", "[params.dropbox]\nanswer_checks = 0\n", "answer_checks is 0"},
		{"an alert under a day", "[params.dropbox]\nunexported_alert = \"12h\"\n", "unexported_alert is 12h0m0s; at least a day"},
		{"an onion address with a path", "[params.dropbox]\nonion_location = \"http://" + strings.Repeat("a", 56) + ".onion/en/\"\n", "with no path"},
		{"an onion address of v2", "[params.dropbox]\nonion_location = \"http://abcdefghijklmnop.onion\"\n", "the onion service's address alone"},
		{"a normal domain as onion address", "[params.dropbox]\nonion_location = \"https://example.org\"\n", "onion_location"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := write(t, filepath.Join(t.TempDir(), "config.toml"), c.config)
			_, err := Load([]string{path}, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestAnswerSettings(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load([]string{write(t, filepath.Join(dir, "config.toml"), "[params.organisations.a]\nname = \"A\"\nregion = \"DE\"\n")}, "")
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Dropbox
	if cfg.AnswersOf("a") != filepath.Join(dir, "answers", "a") || d.AnswerRetention.Hours() != 2160 || d.AnswerChecks != 5 || d.AnswerBurst() != 10 {
		t.Errorf("defaults: answers of a in %s, retention %s, %d checks a second, bursts of %d", cfg.AnswersOf("a"), d.AnswerRetention, d.AnswerChecks, d.AnswerBurst())
	}
	// At the limits: a day, one check a second, and answers beside the spool (not in it).
	cfg, err = Load([]string{write(t, filepath.Join(dir, "edge.toml"), "[params.dropbox]\nspool = \"var/spool\"\nanswers = \"var/answers\"\nanswer_retention = \"24h\"\nanswer_checks = 1\n[params.organisations.a]\nname = \"A\"\nregion = \"DE\"\n")}, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.Dropbox; cfg.AnswersOf("a") != filepath.Join(dir, "var", "answers", "a") || d.AnswerRetention.Hours() != 24 || d.AnswerBurst() != 2 {
		t.Errorf("at the limits: %s, %+v", cfg.AnswersOf("a"), d)
	}
	// --spool into the answers is refused as the configuration would be.
	if err := cfg.SetSpool(filepath.Join(dir, "var", "answers")); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("SetSpool into the answers folder: %v", err)
	}
}

func TestTheRepositoryConfigLoads(t *testing.T) {
	for _, env := range []string{"production", "demo"} {
		cfg, err := Load([]string{"../../config.toml"}, env)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Dropbox.BodyLimit < 25<<20 {
			t.Errorf("body_limit %d is below the 25 MiB of attachments the site promises", cfg.Dropbox.BodyLimit)
		}
		if len(cfg.Organisations) != 3 {
			t.Errorf("%s: %d organisations, want the three whose procedures the site publishes", env, len(cfg.Organisations))
		}
		for _, o := range cfg.Organisations {
			if env == "demo" && len(o.Keys) != 1 {
				t.Errorf("the demo gives %s %d keys, want its one demo key", o.ID, len(o.Keys))
			}
		}
	}
}
