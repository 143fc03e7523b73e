// Package config reads the one configuration, config.toml: Hugo reads all of it, and the drop box,
// the site's build check and keytool read the drop box's table [params.dropbox] and the
// organisations [params.organisations.<id>] from it, so the keys the forms encrypt to, the keys
// the server accepts and the folders it stores into are declared once.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is what the drop box and keytool read from the configuration.
type Config struct {
	Dropbox Dropbox
	// Organisations are sorted by ID.
	Organisations []*Organisation
	// DefaultLanguage is Hugo's defaultContentLanguage, for pages outside any language's folder.
	DefaultLanguage string
}

// Dropbox is [params.dropbox], with its defaults.
type Dropbox struct {
	Spool      string `toml:"spool"`       // the folder that holds each organisation's spool folder
	BodyLimit  int64  `toml:"body_limit"`  // bytes
	SpoolQuota int64  `toml:"spool_quota"` // bytes per organisation's folder; 0 for none
	MaxUploads int    `toml:"max_uploads"` // uploads read at once
	// Forms sent without JavaScript are held in memory (up to BodyLimit each) to be encrypted.
	MaxPlainForms int      `toml:"max_plain_forms"`
	Listen        string   `toml:"listen"`       // host:port
	BodyTimeout   Duration `toml:"body_timeout"` // time to receive one upload
	// Each 64 KiB of an upload must arrive within this time, or the upload is cut.
	SlowTimeout Duration `toml:"slow_timeout"`
	// On SIGTERM, how long uploads in flight may take to finish before they are cut.
	ShutdownGrace Duration `toml:"shutdown_grace"`
	// How often the log is written: counts of answers and alerts, never one line per request.
	LogInterval Duration `toml:"log_interval"`
	// The folder that holds each organisation's answers from its staff, <answers>/<id>, apart
	// from every spool folder.
	Answers string `toml:"answers"`
	// Answers imported longer ago than this are deleted, read or not.
	AnswerRetention Duration `toml:"answer_retention"`
	// Mailbox checks (reading or deleting answers) per second, server-wide, with bursts of twice
	// as many: no address is kept, so the limit cannot be per person.
	AnswerChecks int `toml:"answer_checks"`
	// Submissions no export has copied for longer than this are counted in the log and the
	// health answer, never deleted.
	UnexportedAlert Duration `toml:"unexported_alert"`
	// The onion service's address (http://<56 characters>.onion), sent as Onion-Location on
	// every page when the site is also served on a normal domain; empty for none.
	OnionLocation string `toml:"onion_location"`
}

// AnswerBurst is how many mailbox checks may come at once before AnswerChecks paces them.
func (d Dropbox) AnswerBurst() int { return 2 * d.AnswerChecks }

// Organisation is one [params.organisations.<id>] table: an organisation whose procedures the
// site publishes, and whose staff alone read the complaints sent to them.
type Organisation struct {
	ID     string   `toml:"-"`
	Name   string   `toml:"name"`   // how the site names it, in every language
	Region string   `toml:"region"` // ISO 3166-2, such as DE-BE: emergency numbers, public holidays
	Keys   []string `toml:"keys"`   // staff public key files
	Spool  string   `toml:"spool"`  // its spool folder; <spool>/<id> when not set
}

// Country is the ISO 3166-1 part of the region.
func (o *Organisation) Country() string { country, _, _ := strings.Cut(o.Region, "-"); return country }

// Duration reads "20m" and the like from TOML.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Defaults are the drop box's settings where the configuration gives none.
func Defaults() Dropbox {
	return Dropbox{
		Spool:      "spool",
		BodyLimit:  32 << 20,
		SpoolQuota: 10 << 30,
		MaxUploads: 64,
		// 4 × 32 MiB of plaintext at most in memory.
		MaxPlainForms: 4,
		Listen:        "127.0.0.1:8080",
		// 32 MiB over Tor at 32 KiB/s takes 17 minutes.
		BodyTimeout: Duration{20 * time.Minute},
		// 64 KiB in 30 s is 2.1 KiB/s (docs/forms.md).
		SlowTimeout:   Duration{30 * time.Second},
		ShutdownGrace: Duration{30 * time.Second},
		LogInterval:   Duration{time.Hour},
		Answers:       "answers",
		// 90 days: time to read an answer given on the last day of a procedure's longest deadline.
		AnswerRetention: Duration{90 * 24 * time.Hour},
		AnswerChecks:    5,
		// Three days: the shortest first deadline of a procedure here is five working days.
		UnexportedAlert: Duration{72 * time.Hour},
	}
}

// Environment is Hugo's environment, $HUGO_ENVIRONMENT or "production": the site, the drop box
// and keytool must read the configuration for the same one.
func Environment() string {
	if env := os.Getenv("HUGO_ENVIRONMENT"); env != "" {
		return env
	}
	return "production"
}

// Load reads the configuration as Hugo does: the files in order, each later one overriding the
// earlier table by table (hugo --config a.toml,b.toml), then, for the environment, the params of
// config/<environment>/params.toml beside the first file when it exists. Relative paths are
// relative to the folder of the first file, the project folder, where Hugo's build reads the same
// key files.
func Load(files []string, environment string) (*Config, error) {
	if len(files) == 0 {
		return nil, errors.New("no configuration file given")
	}
	merged := map[string]any{}
	for _, f := range files {
		m, err := readTOML(f)
		if err != nil {
			return nil, err
		}
		merge(merged, m)
	}
	base := filepath.Dir(files[0])
	if environment != "" {
		overlay := filepath.Join(base, "config", environment, "params.toml")
		m, err := readTOML(overlay)
		switch {
		case err == nil:
			merge(merged, map[string]any{"params": m})
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
	}
	where := strings.Join(files, ", ")
	cfg := &Config{Dropbox: Defaults(), DefaultLanguage: "en"}
	if l, ok := merged["defaultContentLanguage"].(string); ok && l != "" {
		cfg.DefaultLanguage = l
	}
	params, _ := merged["params"].(map[string]any)
	if dropbox, ok := params["dropbox"].(map[string]any); ok {
		if _, old := dropbox["recipients"]; old {
			return nil, fmt.Errorf("%s: [params.dropbox] recipients is no longer read: each organisation lists its own staff keys, as keys in [params.organisations.<id>] (see config.toml)", where)
		}
		if err := decodeStrict(dropbox, &cfg.Dropbox); err != nil {
			return nil, fmt.Errorf("%s: [params.dropbox]: %w", where, err)
		}
	}
	orgs, _ := params["organisations"].(map[string]any)
	for id, table := range orgs {
		t, ok := table.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: params.organisations.%s is not a table; declare it as [params.organisations.%s] with name, region and keys", where, id, id)
		}
		o := &Organisation{ID: id}
		if err := decodeStrict(t, o); err != nil {
			return nil, fmt.Errorf("%s: [params.organisations.%s]: %w", where, id, err)
		}
		cfg.Organisations = append(cfg.Organisations, o)
	}
	slices.SortFunc(cfg.Organisations, func(a, b *Organisation) int { return strings.Compare(a.ID, b.ID) })

	cfg.Dropbox.Spool = relativeTo(base, cfg.Dropbox.Spool)
	if cfg.Dropbox.Answers != "" { // empty is refused by check, not made the project folder
		cfg.Dropbox.Answers = relativeTo(base, cfg.Dropbox.Answers)
	}
	for _, o := range cfg.Organisations {
		for i, k := range o.Keys {
			o.Keys[i] = relativeTo(base, k)
		}
		if o.Spool == "" {
			o.Spool = filepath.Join(cfg.Dropbox.Spool, o.ID)
		} else {
			o.Spool = relativeTo(base, o.Spool)
		}
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return cfg, nil
}

// Organisation returns the organisation with the given id, or nil.
func (c *Config) Organisation(id string) *Organisation {
	for _, o := range c.Organisations {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// IDs lists the organisations' ids, for messages.
func (c *Config) IDs() string {
	var ids []string
	for _, o := range c.Organisations {
		ids = append(ids, o.ID)
	}
	if len(ids) == 0 {
		return "none is declared"
	}
	return strings.Join(ids, ", ")
}

func readTOML(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := toml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// merge lays src over dst: tables merge key by key, anything else is replaced.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if have, ok := dst[k].(map[string]any); ok {
				merge(have, sub)
				continue
			}
		}
		dst[k] = v
	}
}

// decodeStrict decodes a table into v and refuses keys v does not have: a misspelt setting
// is an error, not a default that silently stays.
func decodeStrict(table map[string]any, v any) error {
	raw, err := toml.Marshal(table)
	if err != nil {
		return err
	}
	d := toml.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	err = d.Decode(v)
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var keys []string
		for _, e := range strict.Errors {
			keys = append(keys, strings.Join(e.Key(), "."))
		}
		return fmt.Errorf("unknown setting %s; see config.toml for the settings there are", strings.Join(keys, ", "))
	}
	return err
}

func relativeTo(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	regionPattern = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
	// A v3 onion address: 56 base32 characters.
	onionPattern = regexp.MustCompile(`^https?://[a-z2-7]{56}\.onion$`)
)

func (c *Config) check() error {
	d := c.Dropbox
	switch {
	case d.BodyLimit < 1<<20:
		return fmt.Errorf("body_limit is %d bytes; at least 1 MiB (1048576) is needed", d.BodyLimit)
	case d.MaxUploads < 1:
		return fmt.Errorf("max_uploads is %d; at least 1", d.MaxUploads)
	case d.MaxPlainForms < 1:
		return fmt.Errorf("max_plain_forms is %d; at least 1", d.MaxPlainForms)
	case d.BodyTimeout.Duration < time.Second:
		return fmt.Errorf("body_timeout is %s; give a duration such as \"20m\"", d.BodyTimeout.Duration)
	case d.SlowTimeout.Duration < time.Second:
		return fmt.Errorf("slow_timeout is %s; give a duration such as \"30s\"", d.SlowTimeout.Duration)
	case d.LogInterval.Duration < time.Minute:
		return fmt.Errorf("log_interval is %s; at least a minute, such as \"1h\"", d.LogInterval.Duration)
	case d.ShutdownGrace.Duration < 0:
		return fmt.Errorf("shutdown_grace is %s; give a duration such as \"30s\"", d.ShutdownGrace.Duration)
	case d.Spool == "":
		return fmt.Errorf("spool is empty; name a folder")
	case d.Answers == "":
		return fmt.Errorf("answers is empty; name a folder, such as \"answers\"")
	case d.AnswerRetention.Duration < 24*time.Hour:
		return fmt.Errorf("answer_retention is %s; at least a day, such as \"2160h\" (90 days): answers are kept by the day", d.AnswerRetention.Duration)
	case d.AnswerChecks < 1:
		return fmt.Errorf("answer_checks is %d; at least 1 mailbox check per second", d.AnswerChecks)
	case d.UnexportedAlert.Duration < 24*time.Hour:
		return fmt.Errorf("unexported_alert is %s; at least a day, such as \"72h\": submissions are kept by the day", d.UnexportedAlert.Duration)
	case d.OnionLocation != "" && !onionPattern.MatchString(d.OnionLocation):
		return fmt.Errorf("onion_location is %q; give the onion service's address alone, such as \"http://%s.onion\" (from /var/lib/tor/complaints/hostname), with no path", d.OnionLocation, strings.Repeat("a", 56))
	}
	keyOwner := map[string]string{}
	for _, o := range c.Organisations {
		switch {
		case !idPattern.MatchString(o.ID):
			return fmt.Errorf("[params.organisations.%s]: an organisation's id is lower-case letters, digits and single hyphens, such as \"mk-act\"", o.ID)
		case strings.TrimSpace(o.Name) == "":
			return fmt.Errorf("[params.organisations.%s] has no name; give the name the site shows, such as name = \"KOK\"", o.ID)
		case !regionPattern.MatchString(o.Region):
			return fmt.Errorf("[params.organisations.%s] region is %q; give an ISO 3166-2 code such as \"DE-BE\" or \"GB-ENG\", or a country such as \"DE\"", o.ID, o.Region)
		}
		for _, k := range o.Keys {
			key := filepath.Clean(k)
			if prev, ok := keyOwner[key]; ok {
				if prev == o.ID {
					return fmt.Errorf("[params.organisations.%s] lists %s twice; list each staff key once", o.ID, k)
				}
				return fmt.Errorf("%s is a staff key of both %s and %s; each organisation's staff keys must be its own, or one organisation reads the other's complaints", k, prev, o.ID)
			}
			keyOwner[key] = o.ID
		}
	}
	for i, a := range c.Organisations {
		for _, b := range c.Organisations[i+1:] {
			if within(a.Spool, b.Spool) || within(b.Spool, a.Spool) {
				return fmt.Errorf("organisations %s and %s share the spool folder %s; each needs its own (leave spool out of both to get <spool>/<id>)", a.ID, b.ID, sharedPart(a.Spool, b.Spool))
			}
		}
	}
	// Answers are deleted when old: a spool folder among them would lose complaints, and an
	// answer among complaints would sit beside the complaint it may answer.
	for _, a := range c.Organisations {
		answers := c.AnswersOf(a.ID)
		for _, b := range c.Organisations {
			if within(answers, b.Spool) || within(b.Spool, answers) {
				return fmt.Errorf("the answers folder of %s, %s, and the spool folder of %s, %s, overlap; answers need a folder of their own apart from every spool folder (set answers in [params.dropbox], such as \"answers\")", a.ID, answers, b.ID, b.Spool)
			}
		}
	}
	return nil
}

// AnswersOf is the folder of the organisation's answers: <answers>/<id>.
func (c *Config) AnswersOf(id string) string { return filepath.Join(c.Dropbox.Answers, id) }

// within says whether path is dir or inside it.
func within(path, dir string) bool {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return filepath.Clean(p)
	}
	rel, err := filepath.Rel(abs(dir), abs(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func sharedPart(a, b string) string {
	if within(a, b) {
		return b
	}
	return a
}

// SetSpool moves the folder of the organisations' spool folders, as --spool does: those that
// name no folder of their own follow it.
func (c *Config) SetSpool(dir string) error {
	old := c.Dropbox.Spool
	c.Dropbox.Spool = dir
	for _, o := range c.Organisations {
		if o.Spool == filepath.Join(old, o.ID) {
			o.Spool = filepath.Join(dir, o.ID)
		}
	}
	return c.check()
}
