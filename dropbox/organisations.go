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

// keyOwner is whose a key is: an organisation and one of its staff keys (a primary fingerprint).
type keyOwner struct{ org, staff string }

// openOrganisations loads every organisation's staff keys and opens its spool folder. Each needs
// at least one key, and no key may be two organisations' (config.Load refuses the same file;
// this refuses the same key in two files).
func openOrganisations(cfg *config.Config) ([]*organisation, error) {
	var orgs []*organisation
	owner := map[string]keyOwner{} // by fingerprint
	for _, o := range cfg.Organisations {
		if len(o.Keys) == 0 {
			return nil, fmt.Errorf("organisation %s (%s) has no staff keys: list their public key files in keys of [params.organisations.%s] in config.toml, then run `make site` and build the drop box again", o.ID, o.Name, o.ID)
		}
		recipients, err := policy.LoadRecipients(o.Keys)
		if err != nil {
			return nil, fmt.Errorf("organisation %s: %w", o.ID, err)
		}
		for _, r := range recipients {
			// The primary key and every encryption key it carries: a message is accepted by the
			// encryption key it names, and a key file can bind someone else's public encryption
			// subkey (encryption subkeys carry no back-signature). So an encryption key of one
			// organisation's staff inside another's key file would let the first read the second's.
			fprs := []string{r.Fingerprint()}
			for _, k := range r.Keys {
				fprs = append(fprs, fmt.Sprintf("%X", k.Fingerprint))
			}
			for _, fpr := range fprs {
				prev, ok := owner[fpr]
				switch {
				case ok && prev.org != o.ID:
					return nil, fmt.Errorf("the key %s (in %s) is a staff key of both %s and %s; each organisation's staff keys must be its own, or one organisation reads the other's complaints", fpr, r.Path, prev.org, o.ID)
				case ok && prev.staff != r.Fingerprint():
					return nil, fmt.Errorf("the encryption key %s is in two staff keys of %s (%s and %s); give each staff member a key of their own (keytool keygen)", fpr, o.ID, prev.staff, r.Fingerprint())
				}
				owner[fpr] = keyOwner{org: o.ID, staff: r.Fingerprint()}
			}
		}
		sp, err := spool.Open(o.Spool, cfg.Dropbox.SpoolQuota)
		if err != nil {
			return nil, fmt.Errorf("organisation %s: %w", o.ID, err)
		}
		orgs = append(orgs, &organisation{Organisation: o, recipients: recipients, spool: sp, answers: cfg.AnswersOf(o.ID)})
	}
	return orgs, nil
}
