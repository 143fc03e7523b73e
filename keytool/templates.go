package main

import (
	"embed"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// The ready-made answers, one file per answer, one table per site language in each.
//
//go:embed templates/*.toml
var templateFiles embed.FS

// siteLanguages are the languages of the site, in the order config.toml lists them.
var siteLanguages = []string{"de", "en", "nl", "sv", "zh", "ar", "fr", "es", "ro", "bg", "ru", "uk"}

// templateNames are the ready-made answers; daysTemplate is the one that needs --days.
var templateNames = []string{"received", "contact-soon", "outcome-coming"}

const daysTemplate = "contact-soon"

// maxDays bounds --days: a promise of more than a working year is a typo.
const maxDays = 260

// pluralCategories are CLDR's; a template's text has "other" and what its language needs.
var pluralCategories = []string{"zero", "one", "two", "few", "many", "other"}

// templateText is one ready-made answer: language → audience (adults, children) → plural
// category → text.
type templateText map[string]map[string]map[string]string

func loadTemplate(name string) (templateText, error) {
	if !slices.Contains(templateNames, name) {
		return nil, fmt.Errorf("there is no ready-made answer %q; choose one of %s", name, strings.Join(templateNames, ", "))
	}
	raw, err := templateFiles.ReadFile("templates/" + name + ".toml")
	if err != nil {
		return nil, err
	}
	var t templateText
	dec := toml.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("templates/%s.toml: %w", name, err)
	}
	for lang, audiences := range t {
		if !slices.Contains(siteLanguages, lang) {
			return nil, fmt.Errorf("templates/%s.toml: %q is not a site language", name, lang)
		}
		if _, ok := audiences["adults"]; !ok {
			return nil, fmt.Errorf("templates/%s.toml: [%s.adults] is missing", name, lang)
		}
		for audience, forms := range audiences {
			if audience != "adults" && audience != "children" {
				return nil, fmt.Errorf("templates/%s.toml: [%s.%s] is neither adults nor children", name, lang, audience)
			}
			if strings.TrimSpace(forms["other"]) == "" {
				return nil, fmt.Errorf("templates/%s.toml: [%s.%s] has no other", name, lang, audience)
			}
			for category := range forms {
				if !slices.Contains(pluralCategories, category) {
					return nil, fmt.Errorf("templates/%s.toml: [%s.%s] %s is not a plural category", name, lang, audience, category)
				}
			}
		}
	}
	return t, nil
}

// renderTemplate is a ready-made answer's text in lang for audience, with days filled in
// (0 for an answer without a number).
func renderTemplate(name, lang, audience string, days int) (string, error) {
	t, err := loadTemplate(name)
	if err != nil {
		return "", err
	}
	audiences, ok := t[lang]
	if !ok {
		return "", fmt.Errorf("the ready-made answer %s has no text in %q; it has %s; give --lang one of them, or write the answer yourself with --text", name, lang, strings.Join(siteLanguages, " "))
	}
	forms, ok := audiences[audience]
	if !ok {
		forms = audiences["adults"] // the language speaks to children and adults alike
	}
	text, ok := forms[pluralCategory(lang, days)]
	if !ok {
		text = forms["other"]
	}
	return strings.ReplaceAll(text, "{days}", strconv.Itoa(days)), nil
}

// pluralCategory is CLDR's plural rule for a whole number n in the site's languages.
func pluralCategory(lang string, n int) string {
	n10, n100 := n%10, n%100
	switch lang {
	case "zh":
		return "other"
	case "fr":
		if n == 0 || n == 1 {
			return "one"
		}
	case "ru", "uk":
		switch {
		case n10 == 1 && n100 != 11:
			return "one"
		case n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14):
			return "few"
		}
		return "many"
	case "ro":
		switch {
		case n == 1:
			return "one"
		case n == 0 || (n100 >= 1 && n100 <= 19):
			return "few"
		}
	case "ar":
		switch {
		case n == 0:
			return "zero"
		case n == 1:
			return "one"
		case n == 2:
			return "two"
		case n100 >= 3 && n100 <= 10:
			return "few"
		case n100 >= 11:
			return "many"
		}
	default:
		if n == 1 {
			return "one"
		}
	}
	return "other"
}
