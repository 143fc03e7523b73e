package site

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The build refuses a configuration the drop box would refuse at start, and a procedure that
// names an organisation the configuration does not declare, each with a message that says so.
func TestTheBuildRefusesABadOrganisationConfiguration(t *testing.T) {
	real, err := os.ReadFile("../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	shared := filepath.Join(dir, "shared.toml")
	os.WriteFile(shared, []byte("[params.organisations.kok]\nspool = \"one\"\n[params.organisations.mk-act]\nspool = \"one\"\n"), 0o644)
	// Production: the demo's params.toml would declare the left-out organisation again (its keys).
	t.Setenv("HUGO_ENVIRONMENT", "production")
	out, err := exec.Command("go", "run", "./configcheck", "--config", "../config.toml,"+shared).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "organisations kok and mk-act share the spool folder") {
		t.Errorf("two organisations with one spool folder: %v\n%s", err, out)
	}

	// config.toml without the child contact's organisation, whose procedure names it.
	without := regexp.MustCompile(`(?s)\[params\.organisations\.kinderrechtencoalitie\].*?(\n\[|$)`).ReplaceAllString(string(real), "$1")
	if without == string(real) {
		t.Fatal("config.toml declares no kinderrechtencoalitie to leave out")
	}
	config := filepath.Join(dir, "config.toml")
	os.WriteFile(config, []byte(without), 0o644)
	out, err = exec.Command("go", "tool", "hugo", "--source", "..", "--config", config, "--destination", filepath.Join(dir, "public")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `organisation "kinderrechtencoalitie" is not declared; declare it in config.toml as [params.organisations.kinderrechtencoalitie]`) {
		t.Errorf("a procedure of an undeclared organisation: %v\n%s", err, out)
	}
}
