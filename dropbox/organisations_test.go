package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/safe-complaints/dropbox/internal/config"
	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
)

// sessionKeysAre says whether a stored message's session keys are for exactly keys, each once.
func sessionKeysAre(t *testing.T, file string, keys []policytest.Key) bool {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := policy.Inspect(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.SessionKeys) != len(keys) {
		return false
	}
	for _, k := range keys {
		if !slices.ContainsFunc(st.SessionKeys, func(sk policy.SessionKey) bool { return sk.IsFor(k.Recipient.Keys[0]) }) {
			return false
		}
	}
	return true
}

func TestEachOrganisationTakesOnlyMessagesToExactlyItsOwnKeys(t *testing.T) {
	s := startServer(t, nil)
	orgs := policytest.Organisations(t)
	plain := []byte("a submission")

	// Each organisation's own message, on its own path, lands in its own folder.
	for id, keys := range orgs {
		code, out, _ := s.postTo(t, "/api/v1/orgs/"+id+"/submissions", "application/octet-stream", policytest.Encrypt(t, plain, keys...))
		if code != http.StatusCreated {
			t.Fatalf("%s's own message: %d %v", id, code, out)
		}
		file := filepath.Join(s.root, id, out["id"]+".pgp")
		if _, err := os.Stat(file); err != nil {
			t.Fatalf("%s's message is not in its folder: %v", id, err)
		}
		if !sessionKeysAre(t, file, keys) {
			t.Errorf("%s's stored message is not for exactly its keys", id)
		}
	}
	before := s.allStored(t)
	if len(before) != 3 {
		t.Fatalf("stored %v, want one file in each organisation's folder", before)
	}

	refused := []struct {
		name, org string
		keys      []policytest.Key
	}{
		{"KOK's message on the child contact's path", "kinderrechtencoalitie", orgs["kok"]},
		{"the child contact's message on KOK's path", "kok", orgs["kinderrechtencoalitie"]},
		{"a message to KOK and MK-ACT, on KOK's path", "kok", append(slices.Clone(orgs["kok"]), orgs["mk-act"]...)},
		{"a message to KOK and MK-ACT, on MK-ACT's path", "mk-act", append(slices.Clone(orgs["mk-act"]), orgs["kok"]...)},
		{"a message to one of KOK's two staff only", "kok", orgs["kok"][:1]},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			code, out, _ := s.postTo(t, "/api/v1/orgs/"+c.org+"/submissions", "application/octet-stream", policytest.Encrypt(t, plain, c.keys...))
			if code != http.StatusUnprocessableEntity || !strings.Contains(out["error"], "nothing was kept") {
				t.Errorf("%d %v, want 422 saying nothing was kept", code, out)
			}
			if after := s.allStored(t); !slices.Equal(after, before) {
				t.Errorf("the spool changed: %v, was %v", after, before)
			}
		})
	}
	code, out, _ := s.postTo(t, "/api/v1/orgs/acme/submissions", "application/octet-stream", policytest.Encrypt(t, plain, orgs["kok"]...))
	if code != http.StatusNotFound || strings.Contains(out["error"], "acme") {
		t.Errorf("an undeclared organisation: %d %v, want 404 that does not repeat the path", code, out)
	}
	if after := s.allStored(t); !slices.Equal(after, before) {
		t.Errorf("the spool changed: %v", after)
	}
}

// Without JavaScript the server encrypts: to the keys of the organisation whose form it is, and
// only on that organisation's path.
func TestAFormWithoutJavaScriptIsEncryptedToItsOrganisationOnly(t *testing.T) {
	site := fstest.MapFS{}
	for name, f := range formSite {
		site[name] = f
		other := strings.Replace(name, "kok-complaints", "mk-act-complaints", 1)
		data := bytes.Replace(f.Data, []byte(`"organisation": "kok", "procedure": "kok-complaints"`), []byte(`"organisation": "mk-act", "procedure": "mk-act-complaints"`), 1)
		site[other] = &fstest.MapFile{Data: data}
	}
	s := startServerWithSite(t, site, nil)
	orgs := policytest.Organisations(t)
	parts := []formPart{{name: "who", value: "affected"}, {name: "what-happened", value: "x"}}

	for _, target := range []string{"/api/v1/orgs/kok/forms/de/mk-act-complaints", "/api/v1/orgs/mk-act/forms/de/kok-complaints", "/api/v1/orgs/acme/forms/de/kok-complaints"} {
		if code, _ := postForm(t, s.url+target, parts, nil); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", target, code)
		}
	}
	if stored := s.allStored(t); len(stored) != 0 {
		t.Fatalf("forms on another organisation's path left %v", stored)
	}
	for _, id := range []string{"kok", "mk-act"} {
		code, page := postForm(t, s.url+"/api/v1/orgs/"+id+"/forms/de/"+id+"-complaints", parts, []byte("a file"))
		if code != http.StatusOK {
			t.Fatalf("%s's form: %d %q", id, code, page)
		}
		file := filepath.Join(s.root, id, receiptID(t, page)+".pgp")
		if !sessionKeysAre(t, file, orgs[id]) {
			t.Errorf("%s's form is not encrypted to exactly its keys", id)
		}
		sub, _ := openStored(t, file, orgs[id][0])
		if sub.Procedure != id+"-complaints" {
			t.Errorf("%s's form decrypted to procedure %q", id, sub.Procedure)
		}
	}
	if stored := s.allStored(t); len(stored) != 2 || !strings.HasPrefix(stored[0], "kok/") || !strings.HasPrefix(stored[1], "mk-act/") {
		t.Errorf("stored %v, want one in kok/ and one in mk-act/", stored)
	}
}

// The same key in two files, one listed for each of two organisations, is refused at start: one
// organisation would read the other's complaints. (config.Load refuses the same file twice.)
func TestAKeyOfTwoOrganisationsIsRefusedEvenInTwoFiles(t *testing.T) {
	staff, _ := testKeys(t)
	copied := filepath.Join(t.TempDir(), "copy.pub.asc")
	data, _ := os.ReadFile(staff[0].PubPath)
	os.WriteFile(copied, data, 0o644)
	spool := t.TempDir()
	conf := &config.Config{Dropbox: config.Defaults(), Organisations: []*config.Organisation{
		{ID: "kok", Name: "KOK", Region: "DE", Keys: []string{staff[0].PubPath}, Spool: filepath.Join(spool, "kok")},
		{ID: "mk-act", Name: "MK-ACT", Region: "GB", Keys: []string{copied}, Spool: filepath.Join(spool, "mk-act")},
	}}
	_, err := openOrganisations(conf)
	if err == nil || !strings.Contains(err.Error(), "is a staff key of both kok and mk-act") {
		t.Errorf("error %v, want one naming both organisations", err)
	}
}

// A key file can bind someone else's public encryption subkey: encryption subkeys carry no
// back-signature. A key of mk-act's that carries an encryption subkey of kok's staff would let kok
// read what is sent to mk-act, so it is refused at start like the same key listed twice.
func TestAKeyThatCarriesAnotherOrganisationsEncryptionKeyIsRefused(t *testing.T) {
	staff, _ := testKeys(t)
	eve, err := openpgp.NewEntity("Eve", "", "", policy.KeyConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Eve's own encryption subkey replaced by kok's, bound by a fresh signature of Eve's.
	sub := &eve.Subkeys[0]
	sig := *sub.Bindings[0].Packet
	sub.PublicKey, sub.PrivateKey = staff[0].Recipient.Keys[0], nil
	if err := sig.SignKey(sub.PublicKey, eve.PrivateKey, policy.KeyConfig()); err != nil {
		t.Fatal(err)
	}
	sub.Bindings = []*packet.VerifiableSignature{packet.NewVerifiableSig(&sig)}
	var armored bytes.Buffer
	w, _ := armor.Encode(&armored, openpgp.PublicKeyType, nil)
	if err := eve.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	file := filepath.Join(t.TempDir(), "eve.pub.asc")
	os.WriteFile(file, armored.Bytes(), 0o644)
	if r, err := policy.LoadRecipient(file); err != nil || !bytes.Equal(r.Keys[0].Fingerprint, staff[0].Recipient.Keys[0].Fingerprint) {
		t.Fatalf("the crafted key does not carry kok's encryption key as a valid subkey (%v): the test proves nothing", err)
	}
	spool := t.TempDir()
	conf := &config.Config{Dropbox: config.Defaults(), Organisations: []*config.Organisation{
		{ID: "kok", Name: "KOK", Region: "DE", Keys: []string{staff[0].PubPath}, Spool: filepath.Join(spool, "kok")},
		{ID: "mk-act", Name: "MK-ACT", Region: "GB", Keys: []string{file}, Spool: filepath.Join(spool, "mk-act")},
	}}
	_, err = openOrganisations(conf)
	if err == nil || !strings.Contains(err.Error(), "is a staff key of both kok and mk-act") {
		t.Errorf("error %v, want one naming both organisations", err)
	}
}
