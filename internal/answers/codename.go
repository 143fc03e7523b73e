package answers

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// A codename is 25 random decimal digits and one Damm check digit.
const (
	RandomDigits   = 25 // 83 bits: 25 × log2(10)
	CodenameDigits = RandomDigits + 1
)

// Codename is a checked codename: 26 ASCII digits whose last is the Damm check digit of the others.
// The zero value is not a codename; make one with NewCodename or ParseCodename.
type Codename struct{ digits string }

// NewCodename draws a codename from crypto/rand, each digit uniform.
func NewCodename() (Codename, error) {
	d := make([]byte, 0, CodenameDigits)
	var buf [32]byte
	for len(d) < RandomDigits {
		if _, err := rand.Read(buf[:]); err != nil {
			return Codename{}, err
		}
		for _, b := range buf {
			// 250 is the largest multiple of 10 that fits a byte: the six values above it are
			// dropped, so that every digit is equally likely.
			if b < 250 && len(d) < RandomDigits {
				d = append(d, '0'+b%10)
			}
		}
	}
	d = append(d, '0'+damm(d))
	return Codename{digits: string(d)}, nil
}

// Digits is the codename as 26 ASCII digits, the form every derivation starts from.
func (c Codename) Digits() string { return c.digits }

// String is the codename as a person sees it: groups of five digits, separated by spaces.
func (c Codename) String() string {
	var b strings.Builder
	for i := 0; i < len(c.digits); i += 5 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.digits[i:min(i+5, len(c.digits))])
	}
	return b.String()
}

// ErrCheckDigit is ParseCodename's error for 26 digits that are not a codename: a digit was
// mistyped or two neighbours were swapped.
var ErrCheckDigit = errors.New("the codename's check digit does not match: a digit is wrong, or two digits are swapped")

// CharError is ParseCodename's error for a character that is neither a digit nor a separator.
type CharError struct {
	Char rune
	Pos  int // counting characters (code points) of the input from 1
}

func (e *CharError) Error() string {
	return fmt.Sprintf("character %d of the codename, %q (U+%04X), is not a digit", e.Pos, e.Char, e.Char)
}

// LengthError is ParseCodename's error for a codename with too few or too many digits.
type LengthError struct{ Digits int }

func (e *LengthError) Error() string {
	return fmt.Sprintf("the codename has %d digits; a codename has %d", e.Digits, CodenameDigits)
}

// ParseCodename reads a codename as a person typed it. Separators (white space and hyphens) are
// dropped anywhere; the decimal digits of every script are read as the digits they are, so a
// codename typed on an Arabic or a Chinese keyboard is the same codename.
func ParseCodename(s string) (Codename, error) {
	d := make([]byte, 0, CodenameDigits)
	n, pos := 0, 0
	for _, r := range s {
		pos++
		if isSeparator(r) {
			continue
		}
		v, ok := digitValue(r)
		if !ok {
			return Codename{}, &CharError{Char: r, Pos: pos}
		}
		n++
		if n <= CodenameDigits {
			d = append(d, '0'+v)
		}
	}
	if n != CodenameDigits {
		return Codename{}, &LengthError{Digits: n}
	}
	if damm(d) != 0 {
		return Codename{}, ErrCheckDigit
	}
	return Codename{digits: string(d)}, nil
}

// hyphens are the dashes a keyboard or a word processor may put between groups.
const hyphens = "-\u2010\u2011\u2012\u2013\u2212\uFE63\uFF0D"

func isSeparator(r rune) bool {
	return unicode.Is(unicode.White_Space, r) || strings.ContainsRune(hyphens, r)
}

// digitValue reads a decimal digit of any script (Unicode general category Nd). Unicode encodes
// every such digit in runs of ten, 0 to 9 in order, some runs right after each other: the value
// is the distance from the start of the run of Nd characters, modulo ten.
func digitValue(r rune) (byte, bool) {
	if !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return byte((r - start) % 10), true
}

// dammTable is the quasigroup of order 10 from H. Michael Damm's thesis (2004), used by every
// Damm implementation: with it a check digit catches every single wrong digit and every swap of
// two neighbouring digits.
var dammTable = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// damm runs ASCII digits through the table: for digits without their check digit the result is
// the check digit; for digits with it, 0.
func damm(digits []byte) byte {
	var interim byte
	for _, c := range digits {
		interim = dammTable[interim][c-'0']
	}
	return interim
}
