package answers

import (
	"crypto/hkdf"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// The derivations of docs/format.md, "From the codename". Changing any of these is a new version.
const (
	Iterations  = 600_000 // PBKDF2-HMAC-SHA256, OWASP's figure for it (2023)
	saltPrefix  = "complaint-answers/1:"
	infoMailbox = "complaint-answers/1 mailbox"
	infoAnswer  = "complaint-answers/1 answer-key"
	infoCase    = "complaint-answers/1 case"
	TokenSize   = 16
)

// orgPattern is internal/config's rule for an organisation's id; an id that passes it cannot be
// confused with another inside the salt.
var orgPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Keys is everything derived from one codename at one organisation.
type Keys struct {
	Org        string
	Token      []byte // proves the right to read and delete the answers; sent, never stored
	Lookup     string // what the server files answers under: hex SHA-256 of Token
	AnswerPass string // the passphrase answers are encrypted with: 32 bytes, unpadded base64url
	Case       string // ties follow-ups to the first complaint, for the staff: 16 bytes, hex
}

// Derive stretches the codename once (the slow part: Iterations of PBKDF2) and derives the keys.
func Derive(c Codename, org string) (*Keys, error) {
	k, err := stretch(c, org)
	if err != nil {
		return nil, err
	}
	// K opens everything; the raw passphrase and case bytes live on only as their text. Go
	// strings cannot be wiped, so the no-JS path's copies end with the request (docs/threat-model.md).
	defer clear(k)
	token, err := hkdf.Key(sha256.New, k, nil, infoMailbox, TokenSize)
	if err != nil {
		return nil, err
	}
	pass, err := hkdf.Key(sha256.New, k, nil, infoAnswer, 32)
	if err != nil {
		return nil, err
	}
	caseID, err := hkdf.Key(sha256.New, k, nil, infoCase, 16)
	if err != nil {
		return nil, err
	}
	keys := &Keys{
		Org:        org,
		Token:      token,
		Lookup:     lookup(token),
		AnswerPass: base64.RawURLEncoding.EncodeToString(pass),
		Case:       hex.EncodeToString(caseID),
	}
	clear(pass)
	clear(caseID)
	return keys, nil
}

// stretch is K: the only slow step, and the one an attacker with the lookup must repeat per guess.
func stretch(c Codename, org string) ([]byte, error) {
	if len(c.digits) != CodenameDigits {
		return nil, errors.New("not a codename: make one with NewCodename or ParseCodename")
	}
	if !orgPattern.MatchString(org) {
		return nil, fmt.Errorf("%q is not an organisation id (lower-case letters, digits and single hyphens)", org)
	}
	return pbkdf2.Key(sha256.New, c.digits, []byte(saltPrefix+org), Iterations, 32)
}

func lookup(token []byte) string {
	sum := sha256.Sum256(token)
	return hex.EncodeToString(sum[:])
}

// TokenText is the token as it travels in a request body: 32 lower-case hex digits.
func (k *Keys) TokenText() string { return hex.EncodeToString(k.Token) }

// LookupFor is what the server does with a token it is sent: it checks its form and hashes it.
// It is fast on purpose; the stretching happened on the person's device.
func LookupFor(tokenText string) (string, error) {
	if !hex32.MatchString(tokenText) {
		return "", errors.New("a token is 32 lower-case hex digits")
	}
	token, _ := hex.DecodeString(tokenText)
	return lookup(token), nil
}

var (
	hex32  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex64  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	pass43 = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// Followup is the value of the submission's reserved followup key (docs/format.md). A first
// complaint carries all four members; a follow-up carries only Case, so that nothing in it says
// where answers go.
type Followup struct {
	Lookup     string `json:"lookup,omitempty"`
	AnswerPass string `json:"answer_pass,omitempty"`
	Case       string `json:"case"`
	Org        string `json:"org,omitempty"`
}

// FirstComplaint is the followup value of the complaint that gives the codename its case.
func (k *Keys) FirstComplaint() Followup {
	return Followup{Lookup: k.Lookup, AnswerPass: k.AnswerPass, Case: k.Case, Org: k.Org}
}

// FollowUp is the followup value of everything sent later with the same codename.
func (k *Keys) FollowUp() Followup { return Followup{Case: k.Case} }

// IsFirst reports whether f is a first complaint's value (it says where answers go).
func (f *Followup) IsFirst() bool { return f.Lookup != "" }

// ParseFollowup reads a submission's followup value and checks that it has one of the two shapes.
func ParseFollowup(raw []byte) (*Followup, error) {
	var f Followup
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("followup is not a JSON object with string members: %w", err)
	}
	if !hex32.MatchString(f.Case) {
		return nil, errors.New("followup: case must be 32 lower-case hex digits")
	}
	if f.Lookup == "" && f.AnswerPass == "" && f.Org == "" {
		return &f, nil
	}
	switch {
	case !hex64.MatchString(f.Lookup):
		return nil, errors.New("followup: lookup must be 64 lower-case hex digits")
	case !pass43.MatchString(f.AnswerPass):
		return nil, errors.New("followup: answer_pass must be 43 characters of unpadded base64url")
	case !orgPattern.MatchString(f.Org):
		return nil, errors.New("followup: org must be an organisation id")
	}
	return &f, nil
}
