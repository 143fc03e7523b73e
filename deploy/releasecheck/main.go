// Command releasecheck refuses, before anything is built, a release whose drop box would refuse
// to start: scripts/release runs it with the Hugo environment the drop box is built for. It reads
// the configuration through internal/config, exactly as the drop box does, so that "no staff
// keys" means what it means to the server.
//
// With -server (the package's server.toml), it also checks what the package installs: that the
// environment's file, read after server.toml, moves no folder the service writes out of the one
// folder the unit lets it write, nor the address tor sends to; and it prints the staff key files,
// relative to the project folder, one a line, for the package to carry.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/safe-complaints/dropbox/internal/config"
)

func main() {
	environment := flag.String("environment", config.Environment(), "the Hugo environment the drop box is built for")
	server := flag.String("server", "", "the package's server.toml: check the installed layout and print the staff key files")
	state := flag.String("state", "/var/lib/complaints", "with -server: the only folder the service may write (the unit's StateDirectory)")
	flag.Parse()
	if err := run(os.Stdout, "config.toml", *environment, *server, *state); err != nil {
		fmt.Fprintln(os.Stderr, "release: error:", err)
		os.Exit(1)
	}
}

func run(out *os.File, configFile, environment, server, state string) error {
	conf, err := config.Load([]string{configFile}, environment)
	if err != nil {
		return fmt.Errorf("the configuration for the environment %s: %w", environment, err)
	}
	if err := checkKeys(conf, filepath.Dir(configFile), environment); err != nil {
		return err
	}
	if server == "" {
		return nil
	}
	installed, err := config.Load([]string{configFile, server}, environment)
	if err != nil {
		return fmt.Errorf("the configuration the package installs: %w", err)
	}
	if err := checkLayout(installed, server, environment, state); err != nil {
		return err
	}
	keys, err := keyFiles(installed, filepath.Dir(configFile))
	if err != nil {
		return err
	}
	for _, k := range keys {
		fmt.Fprintln(out, k)
	}
	return nil
}

// checkKeys refuses a configuration in which an organisation has no staff key, or lists a key
// file that is not there: the drop box would refuse to start, and its forms could not be used.
func checkKeys(conf *config.Config, project, environment string) error {
	params := filepath.Join("config", environment, "params.toml")
	if len(conf.Organisations) == 0 {
		return fmt.Errorf("config.toml and %s declare no organisation: a drop box built so takes no complaints; declare each as [params.organisations.<id>] in config.toml", params)
	}
	var without, missing []string
	for _, o := range conf.Organisations {
		if len(o.Keys) == 0 {
			without = append(without, o.ID)
		}
		for _, k := range o.Keys {
			if _, err := os.Stat(k); err != nil {
				rel, _ := filepath.Rel(project, k)
				missing = append(missing, fmt.Sprintf("%s (%s's)", rel, o.ID))
			}
		}
	}
	if len(without) > 0 {
		return fmt.Errorf("the environment %s lists no staff keys for %s: a drop box built so refuses to start. List each organisation's staff public keys (keytool keygen makes them on the offline computer) in %s, for example\n  [organisations.%s]\n  keys = [\"keys/ana-weber.pub.asc\"]\nand run again",
			environment, strings.Join(without, ", "), params, without[0])
	}
	if len(missing) > 0 {
		return fmt.Errorf("the environment %s lists staff keys that are not there: %s; copy each .pub.asc file there, or list the right one, and run again", environment, strings.Join(missing, ", "))
	}
	return nil
}

// checkLayout refuses an environment that overrides the package's server.toml: the environment's
// params.toml is read after it, and the unit lets the service write only under state.
func checkLayout(conf *config.Config, server, environment, state string) error {
	var own struct {
		Params struct {
			Dropbox struct {
				Listen string `toml:"listen"`
			} `toml:"dropbox"`
		} `toml:"params"`
	}
	raw, err := os.ReadFile(server)
	if err != nil {
		return err
	}
	if err := toml.Unmarshal(raw, &own); err != nil {
		return fmt.Errorf("%s: %w", server, err)
	}
	params := filepath.Join("config", environment, "params.toml")
	if conf.Dropbox.Listen != own.Params.Dropbox.Listen {
		return fmt.Errorf("%s sets listen = %q over the package's %s (%q), where tor's snippet sends the onion service's visitors; remove listen from its [dropbox] table", params, conf.Dropbox.Listen, server, own.Params.Dropbox.Listen)
	}
	folders := []struct{ what, path string }{{"spool", conf.Dropbox.Spool}, {"answers", conf.Dropbox.Answers}}
	for _, o := range conf.Organisations {
		folders = append(folders, struct{ what, path string }{"the spool of " + o.ID, o.Spool})
	}
	for _, f := range folders {
		if rel, err := filepath.Rel(state, f.path); err != nil || rel == ".." || strings.HasPrefix(rel, "../") || !filepath.IsAbs(f.path) {
			return fmt.Errorf("%s is %s, outside %s, the only folder the service may write: the package's %s puts it there unless config.toml or %s moves it; remove that setting from them", f.what, f.path, state, server, params)
		}
	}
	return nil
}

// keyFiles are the staff key files relative to the project folder, where the package puts them
// under /etc/complaints, as the configuration names them.
func keyFiles(conf *config.Config, project string) ([]string, error) {
	abs, err := filepath.Abs(project)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range conf.Organisations {
		for _, k := range o.Keys {
			k, err := filepath.Abs(k)
			if err != nil {
				return nil, err
			}
			rel, err := filepath.Rel(abs, k)
			if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				return nil, fmt.Errorf("%s's staff key %s lies outside the project folder; put it inside (Hugo reads no file outside it), such as keys/", o.ID, k)
			}
			out = append(out, rel)
		}
	}
	return out, nil
}
