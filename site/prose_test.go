package site

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// dataKeys hold data rather than prose: an address, a count, an id. Numbers may stand there.
var dataKeys = map[string]bool{"value": true, "count": true, "weight": true, "name": true, "id": true,
	"procedure": true, "organisation": true, "original": true, "field": true, "kind": true, "unit": true,
	"organisations": true, "followup_steps": true, "next": true, "address": true, "email": true, "phone": true,
	"url": true}

// numbersInProse lists the prose of a front matter (every string not under a data key) that holds
// a digit, in any script, as "key path: text".
func numbersInProse(node *yaml.Node, path string, out *[]string) {
	switch node.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, n := range node.Content {
			p := path
			if node.Kind == yaml.SequenceNode {
				p = path + "[" + strconv.Itoa(i) + "]"
			}
			numbersInProse(n, p, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			key := node.Content[i].Value
			if dataKeys[key] {
				continue
			}
			numbersInProse(node.Content[i+1], strings.TrimPrefix(path+"."+key, "."), out)
		}
	case yaml.ScalarNode:
		if node.Tag == "!!str" && strings.IndexFunc(node.Value, unicode.IsDigit) >= 0 {
			*out = append(*out, path+": "+node.Value)
		}
	}
}

// A deadline is written once, as data (stages[].steps[].deadline), and the theme writes it out: a
// number in a procedure's or a form's prose is how "3 Werktage" and "3 Arbeitstage" came to stand
// on one page. So no prose of a procedure or a form, in any language, holds a digit.
func TestNoNumberInTheProseOfProceduresAndForms(t *testing.T) {
	files, _ := filepath.Glob("../content/procedures/*/index.*.md")
	forms, _ := filepath.Glob("../content/forms/*/index.*.md")
	files = append(files, forms...)
	if len(files) < 24 {
		t.Fatalf("found %d content files; run the test from the site folder", len(files))
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		head, _, ok := strings.Cut(strings.TrimPrefix(string(raw), "---\n"), "\n---")
		if !ok {
			t.Errorf("%s: no YAML front matter", file)
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(head), &doc); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		var found []string
		numbersInProse(&doc, "", &found)
		for _, f := range found {
			t.Errorf("%s: a number in prose (a deadline belongs in deadline:, an amount in the theme): %s", strings.TrimPrefix(file, "../"), f)
		}
	}
}

func TestNumbersInProseAreFound(t *testing.T) {
	var doc yaml.Node
	yaml.Unmarshal([]byte("followup: \"innerhalb von ٣ Tagen\"\nchannels:\n  - value: \"P.O. Box 790\"\n    note: \"Bis 25 MB\"\nstages:\n  - steps:\n      - deadline:\n          count: 3\n"), &doc)
	var found []string
	numbersInProse(&doc, "", &found)
	if len(found) != 2 || !strings.HasPrefix(found[0], "followup:") || !strings.HasPrefix(found[1], "channels[0].note:") {
		t.Errorf("found %q, want the follow-up (Arabic-Indic digit) and the note, not the address or the count", found)
	}
}
