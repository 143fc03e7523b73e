package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the drop box's table, [params.dropbox] of config.toml, with its defaults.
type Config struct {
	Recipients []string `toml:"recipients"`  // staff public key files
	Spool      string   `toml:"spool"`       // folder of accepted submissions
	BodyLimit  int64    `toml:"body_limit"`  // bytes
	SpoolQuota int64    `toml:"spool_quota"` // bytes; 0 for none
	MaxUploads int      `toml:"max_uploads"` // uploads read at once
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

	// DefaultLanguage is Hugo's defaultContentLanguage, for pages outside any language's folder.
	DefaultLanguage string `toml:"-"`
}

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

func defaults() Config {
	return Config{
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
		SlowTimeout:     Duration{30 * time.Second},
		ShutdownGrace:   Duration{30 * time.Second},
		LogInterval:     Duration{time.Hour},
		DefaultLanguage: "en",
	}
}

// loadConfig reads [params.dropbox] from the Hugo configuration at path, then, as Hugo does for
// the same environment, the [dropbox] table of config/<environment>/params.toml beside it when
// that file exists. Paths are relative to the folder of path, the project folder, where Hugo's
// build reads the same key files.
func loadConfig(path, environment string) (Config, error) {
	cfg := defaults()
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	var file struct {
		DefaultContentLanguage string `toml:"defaultContentLanguage"`
		Params                 struct {
			Dropbox *Config `toml:"dropbox"`
		} `toml:"params"`
	}
	file.Params.Dropbox = &cfg
	if err := toml.Unmarshal(raw, &file); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	if file.DefaultContentLanguage != "" {
		cfg.DefaultLanguage = file.DefaultContentLanguage
	}
	base := filepath.Dir(path)
	if environment != "" {
		overlay := filepath.Join(base, "config", environment, "params.toml")
		raw, err := os.ReadFile(overlay)
		switch {
		case err == nil:
			var params struct {
				Dropbox *Config `toml:"dropbox"`
			}
			params.Dropbox = &cfg
			if err := toml.Unmarshal(raw, &params); err != nil {
				return cfg, fmt.Errorf("%s: %w", overlay, err)
			}
		case !os.IsNotExist(err):
			return cfg, err
		}
	}
	for i, r := range cfg.Recipients {
		cfg.Recipients[i] = relativeTo(base, r)
	}
	cfg.Spool = relativeTo(base, cfg.Spool)
	return cfg, cfg.check()
}

func relativeTo(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

func (c Config) check() error {
	switch {
	case c.BodyLimit < 1<<20:
		return fmt.Errorf("body_limit is %d bytes; at least 1 MiB (1048576) is needed", c.BodyLimit)
	case c.MaxUploads < 1:
		return fmt.Errorf("max_uploads is %d; at least 1", c.MaxUploads)
	case c.MaxPlainForms < 1:
		return fmt.Errorf("max_plain_forms is %d; at least 1", c.MaxPlainForms)
	case c.BodyTimeout.Duration < time.Second:
		return fmt.Errorf("body_timeout is %s; give a duration such as \"20m\"", c.BodyTimeout.Duration)
	case c.SlowTimeout.Duration < time.Second:
		return fmt.Errorf("slow_timeout is %s; give a duration such as \"30s\"", c.SlowTimeout.Duration)
	case c.LogInterval.Duration < time.Minute:
		return fmt.Errorf("log_interval is %s; at least a minute, such as \"1h\"", c.LogInterval.Duration)
	case c.ShutdownGrace.Duration < 0:
		return fmt.Errorf("shutdown_grace is %s; give a duration such as \"30s\"", c.ShutdownGrace.Duration)
	case c.Spool == "":
		return fmt.Errorf("spool is empty; name a folder")
	}
	return nil
}
