package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/policy"
)

// checkSiteKeys refuses to serve forms that encrypt to other keys than the server accepts: the
// site embeds the staff keys it was built with in recipients.asc (docs/forms.md), and a browser
// would encrypt to those. A site without forms needs no keys.
func checkSiteKeys(site fs.FS, recipients []*policy.Recipient) error {
	forms, _ := fs.Glob(site, "*/forms/*/form.json")
	raw, err := fs.ReadFile(site, "recipients.asc")
	if errors.Is(err, fs.ErrNotExist) {
		if len(forms) == 0 {
			return nil
		}
		return errors.New("the site has forms but no recipients.asc: rebuild it with `make site`")
	}
	if err != nil {
		return err
	}
	built, err := siteFingerprints(raw)
	if err != nil {
		return fmt.Errorf("the site's recipients.asc: %w", err)
	}
	var serving []string
	for _, r := range recipients {
		serving = append(serving, r.KeyFingerprints())
	}
	slices.Sort(serving)
	if !slices.Equal(built, serving) {
		return fmt.Errorf("the site's forms encrypt to %s, but the server accepts %s; build the site and run the server with the same recipients (make site, with the same config.toml and HUGO_ENVIRONMENT), then build the server again",
			describe(built), describe(serving))
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
