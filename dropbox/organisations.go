package main

import (
	"fmt"
	"io"

	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/spool"
)

// organisation is one organisation as the server runs it: the staff keys its submissions must
// be encrypted to, exactly, and the spool folder they land in.
type organisation struct {
	*config.Organisation
	recipients []*policy.Recipient
	spool      *spool.Spool
	answers    string // the folder of its mailboxes, <answers>/<id>
}

// check is the policy every message stored for the organisation passes: structure, algorithms,
// and exactly its staff keys, so a message to another organisation's keys, or to a mix, is refused.
func (o *organisation) check(r io.Reader) error {
	_, err := policy.Validate(r, o.recipients)
	return err
}

// openOrganisations loads every organisation's staff keys and opens its spool folder. Each needs
// at least one key, and no key may be two organisations' (config.Load refuses the same file;
// this refuses the same key in two files).
func openOrganisations(cfg *config.Config) ([]*organisation, error) {
	var orgs []*organisation
	owner := map[string]string{}
	for _, o := range cfg.Organisations {
		if len(o.Keys) == 0 {
			return nil, fmt.Errorf("organisation %s (%s) has no staff keys: list their public key files in keys of [params.organisations.%s] in config.toml, then run `make site` and build the drop box again", o.ID, o.Name, o.ID)
		}
		recipients, err := policy.LoadRecipients(o.Keys)
		if err != nil {
			return nil, fmt.Errorf("organisation %s: %w", o.ID, err)
		}
		for _, r := range recipients {
			if prev, ok := owner[r.Fingerprint()]; ok {
				return nil, fmt.Errorf("the key %s (%s) is a staff key of both %s and %s; each organisation's staff keys must be its own, or one organisation reads the other's complaints", r.Fingerprint(), r.Name(), prev, o.ID)
			}
			owner[r.Fingerprint()] = o.ID
		}
		sp, err := spool.Open(o.Spool, cfg.Dropbox.SpoolQuota)
		if err != nil {
			return nil, fmt.Errorf("organisation %s: %w", o.ID, err)
		}
		orgs = append(orgs, &organisation{Organisation: o, recipients: recipients, spool: sp, answers: cfg.AnswersOf(o.ID)})
	}
	return orgs, nil
}
