package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/policy"
)

// checkSiteKeys refuses to serve forms that encrypt to other keys than the server accepts for
// their organisation. The site names each form's organisation in its form.json and publishes each
// organisation's staff keys, those its forms encrypt to, in keys/<id>.asc (docs/forms.md): every
// form's organisation must be one the server runs, and every organisation's published keys must
// be exactly the keys the server accepts for it. A site without forms needs no keys.
func checkSiteKeys(site fs.FS, orgs []*organisation) error {
	byID := map[string]*organisation{}
	var ids []string
	for _, o := range orgs {
		byID[o.ID] = o
		ids = append(ids, o.ID)
	}
	declared := strings.Join(ids, ", ")
	if declared == "" {
		declared = "none"
	}
	const rebuild = "build the site and run the server from the same configuration (make site, with the same config.toml and HUGO_ENVIRONMENT), then build the server again"

	forms, _ := fs.Glob(site, "*/forms/*/form.json")
	withForms := map[string]bool{}
	for _, name := range forms {
		raw, err := fs.ReadFile(site, name)
		if err != nil {
			return err
		}
		var def struct {
			Organisation string `json:"organisation"`
		}
		if err := json.Unmarshal(raw, &def); err != nil {
			return fmt.Errorf("the site's %s: %w; %s", name, err, rebuild)
		}
		if def.Organisation == "" {
			return fmt.Errorf("the site's %s names no organisation: it was built before organisations were declared; %s", name, rebuild)
		}
		if byID[def.Organisation] == nil {
			return fmt.Errorf("the site's form %s is for organisation %q, which this configuration does not declare (it declares %s); declare it as [params.organisations.%s], or %s",
				path.Dir(name), def.Organisation, declared, def.Organisation, rebuild)
		}
		withForms[def.Organisation] = true
	}

	published, _ := fs.Glob(site, "keys/*.asc")
	for _, name := range published {
		id := strings.TrimSuffix(path.Base(name), ".asc")
		if byID[id] == nil {
			return fmt.Errorf("the site carries staff keys for organisation %q (%s), which this configuration does not declare (it declares %s); %s", id, name, declared, rebuild)
		}
	}
	for _, o := range orgs {
		name := "keys/" + o.ID + ".asc"
		raw, err := fs.ReadFile(site, name)
		if errors.Is(err, fs.ErrNotExist) {
			if !withForms[o.ID] {
				continue
			}
			return fmt.Errorf("organisation %s (%s): the site's forms for it carry no staff keys (no %s): it was built without them; %s", o.ID, o.Name, name, rebuild)
		}
		if err != nil {
			return err
		}
		built, err := siteFingerprints(raw)
		if err != nil {
			return fmt.Errorf("the site's %s: %w", name, err)
		}
		var serving []string
		for _, r := range o.recipients {
			serving = append(serving, r.KeyFingerprints())
		}
		slices.Sort(serving)
		if !slices.Equal(built, serving) {
			return fmt.Errorf("organisation %s (%s): the site's forms encrypt to %s, but the server accepts %s for it; %s",
				o.ID, o.Name, describe(built), describe(serving), rebuild)
		}
	}
	return nil
}

func siteFingerprints(raw []byte) ([]string, error) {
	var out []string
	for _, block := range splitArmor(raw) {
		b, err := armor.Decode(bytes.NewReader(block))
		if err != nil {
			return nil, err
		}
		keys, err := openpgp.ReadKeyRing(b.Body)
		if err != nil {
			return nil, err
		}
		for _, e := range keys {
			r, err := policy.NewRecipient(e)
			if err != nil {
				return nil, err
			}
			out = append(out, r.KeyFingerprints())
		}
	}
	slices.Sort(out)
	return out, nil
}

// splitArmor cuts concatenated armored blocks apart.
func splitArmor(raw []byte) [][]byte {
	const begin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	var blocks [][]byte
	for _, part := range strings.Split(string(raw), begin)[1:] {
		blocks = append(blocks, []byte(begin+part))
	}
	return blocks
}

func describe(fprs []string) string {
	if len(fprs) == 0 {
		return "no keys"
	}
	return strings.Join(fprs, ", ")
}
