package policy_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/safe-complaints/dropbox/internal/policy"
	"github.com/safe-complaints/dropbox/internal/policy/policytest"
)

// testKeys returns the shared staff keys and an outsider's key.
var testKeys = policytest.Staff

func TestValidateAcceptsMessagesForExactlyTheStaff(t *testing.T) {
	staff, _ := testKeys(t)
	plain := bytes.Repeat([]byte("a complaint "), 50000)
	msg := policytest.Encrypt(t, plain, staff...)
	s, err := policy.Validate(bytes.NewReader(msg), policytest.Recipients(staff...))
	if err != nil {
		t.Fatalf("a message for both staff keys was refused: %v", err)
	}
	if len(s.SessionKeys) != 2 || s.DataVersion != 2 || s.AEAD != packet.AEADModeGCM || s.Cipher != packet.CipherAES256 {
		t.Errorf("structure = %+v, want 2 v6 session keys and SEIPDv2 AES-256-GCM", s)
	}
	if s.Size != int64(len(msg)) {
		t.Errorf("Size = %d, want %d", s.Size, len(msg))
	}
	// The order of the session keys does not matter.
	reversed := policytest.Encrypt(t, plain, staff[1], staff[0])
	if _, err := policy.Validate(bytes.NewReader(reversed), policytest.Recipients(staff...)); err != nil {
		t.Errorf("recipients in the other order were refused: %v", err)
	}
}

func TestValidateRefusesHostileMessages(t *testing.T) {
	staff, outsider := testKeys(t)
	cases := policytest.Hostile(t, staff, outsider)
	if len(cases) < 20 {
		t.Fatalf("only %d hostile cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			_, err := policy.Validate(bytes.NewReader(c.Body), policytest.Recipients(staff...))
			var pe *policy.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Validate = %v, want a *policy.Error", err)
			}
			if !strings.Contains(pe.Reason, c.Want) {
				t.Errorf("refused for %q, want a reason containing %q", pe.Reason, c.Want)
			}
			t.Logf("refused: %s", pe.Reason)
		})
	}
}

func TestValidateRefusesArmorWithAClearError(t *testing.T) {
	staff, outsider := testKeys(t)
	for _, c := range policytest.Hostile(t, staff, outsider) {
		if c.Name != "armor with text around it" {
			continue
		}
		_, err := policy.Validate(bytes.NewReader(c.Body), policytest.Recipients(staff...))
		if !errors.Is(err, policy.ErrArmored) {
			t.Fatalf("Validate = %v, want ErrArmored", err)
		}
		return
	}
	t.Fatal("no armor case")
}

func TestValidateForChecksOnlyTheGivenKey(t *testing.T) {
	staff, outsider := testKeys(t)
	msg := policytest.Encrypt(t, []byte("x"), staff...)
	if _, err := policy.ValidateFor(bytes.NewReader(msg), staff[1].Recipient.Keys); err != nil {
		t.Errorf("ValidateFor(ben) = %v, want nil", err)
	}
	if _, err := policy.ValidateFor(bytes.NewReader(msg), outsider.Recipient.Keys); err == nil {
		t.Error("ValidateFor(outsider) accepted a message not encrypted to it")
	}
}

func FuzzValidate(f *testing.F) {
	staff, outsider := testKeys(f)
	recipients := policytest.Recipients(staff...)
	f.Add(policytest.Encrypt(f, []byte("complaint-submission/1\n{}\n"), staff...))
	for _, c := range policytest.Hostile(f, staff, outsider) {
		f.Add(c.Body)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		s, err := policy.Validate(bytes.NewReader(msg), recipients)
		if err != nil {
			var pe *policy.Error
			if !errors.As(err, &pe) {
				t.Fatalf("a bytes.Reader failed with a non-policy error: %v", err)
			}
			return
		}
		if s.Size != int64(len(msg)) {
			t.Fatalf("accepted %d bytes but Size = %d", len(msg), s.Size)
		}
		if len(s.SessionKeys) != len(recipients) {
			t.Fatalf("accepted %d session keys for %d recipients", len(s.SessionKeys), len(recipients))
		}
	})
}
