package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/policy"
)

// staffKeys are the organisations of the configuration with their staff's public keys, so that
// keytool can say whose a submission is that the key in hand does not open. A key file this
// computer does not have is left out: its submissions are then named by key ID only.
type staffKeys struct {
	orgs []*config.Organisation
	keys [][]*packet.PublicKey // per organisation: its staff's encryption keys
}

func loadStaffKeys(files []string, environment string) (*staffKeys, error) {
	cfg, err := config.Load(files, environment)
	if err != nil {
		return nil, err
	}
	s := &staffKeys{orgs: cfg.Organisations}
	for _, o := range cfg.Organisations {
		var keys []*packet.PublicKey
		for _, path := range o.Keys {
			r, err := policy.LoadRecipient(path)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("organisation %s: %w", o.ID, err)
			}
			keys = append(keys, r.Keys...)
		}
		s.keys = append(s.keys, keys)
	}
	return s, nil
}

// of names the organisations whose staff keys the session keys are for.
func (s *staffKeys) of(sessionKeys []policy.SessionKey) []*config.Organisation {
	if s == nil {
		return nil
	}
	var out []*config.Organisation
	for i, o := range s.orgs {
	next:
		for _, sk := range sessionKeys {
			for _, k := range s.keys[i] {
				if sk.IsFor(k) {
					out = append(out, o)
					break next
				}
			}
		}
	}
	return out
}

// holding names the organisation one of whose staff keys is among keys, or nil.
func (s *staffKeys) holding(keys []*packet.PublicKey) *config.Organisation {
	if s == nil {
		return nil
	}
	for i, o := range s.orgs {
		for _, mine := range keys {
			for _, k := range s.keys[i] {
				if string(mine.Fingerprint) == string(k.Fingerprint) {
					return o
				}
			}
		}
	}
	return nil
}

// notYoursStatus marks a row of the closing table for a submission the key does not open.
const notYoursStatus = "not yours"

// errNotYours is a submission encrypted to other keys than the one in hand: another
// organisation's, or another set of staff keys. It is left in the spool copy as it is.
type errNotYours struct {
	sessionKeys []policy.SessionKey
	orgs        []*config.Organisation
}

func (e *errNotYours) Error() string {
	const left = "left as it is, not decrypted"
	if len(e.orgs) > 0 {
		var names []string
		for _, o := range e.orgs {
			names = append(names, fmt.Sprintf("%s (%s)", o.Name, o.ID))
		}
		return fmt.Sprintf("not for your key: it is for the staff of %s; %s. Bring only your own organisation's spool folder to this computer", strings.Join(names, " and "), left)
	}
	var ids []string
	for _, sk := range e.sessionKeys {
		ids = append(ids, fmt.Sprintf("%016X", sk.KeyID))
	}
	return fmt.Sprintf("not for your key: encrypted to %s %s, none of them yours; %s. It is another organisation's submission or for a key you do not have (--config config.toml names the organisation)",
		plural(len(ids), "key", "keys"), strings.Join(ids, ", "), left)
}
