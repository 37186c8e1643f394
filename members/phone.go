package members

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidMSISDN is wrapped by every error NormalizeMSISDN returns.
var ErrInvalidMSISDN = errors.New("invalid phone number")

// ErrInvalidServiceCode is wrapped by every error NormalizeServiceCode returns.
var ErrInvalidServiceCode = errors.New("invalid service code")

// maxRawMSISDN bounds the raw input so that junk is rejected before any work;
// a formatted number ("+62 (812) 3456-7890") is far shorter.
const maxRawMSISDN = 40

// NormalizeMSISDN returns the phone number s in E.164 form ("+6281234567890").
//
// Spaces, tabs, dashes, dots and parentheses are ignored. A leading "+" or
// "00" introduces a country code; a single leading "0" is an Indonesian
// national number ("0812…" → "+62812…"); digits starting with "62" are
// Indonesian without the "+"; 9–12 digits starting with "8" are an
// Indonesian mobile number that lost its 0 ("81234567890" → "+6281234567890":
// a spreadsheet drops the 0; a number of Japan, Korea, Vietnam or China
// needs its "+" or "00"). Any other run of 10–15 digits that does not
// start with "0" is taken as international with the "+" left out (Hubtel
// sends "233244000000"). The result is "+" and 8–15 digits; an Indonesian
// number has 9–13 digits after "62", the first of them not "0". Errors wrap
// ErrInvalidMSISDN and never contain the number.
func NormalizeMSISDN(s string) (string, error) {
	if len(s) > maxRawMSISDN {
		return "", msisdnError("too long")
	}
	var b strings.Builder
	plus := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == '+' && b.Len() == 0 && !plus:
			plus = true
		default:
			return "", msisdnError("has a character that is not a digit")
		}
	}
	d := b.String()
	switch {
	case d == "":
		return "", msisdnError("has no digits")
	case plus:
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	case strings.HasPrefix(d, "0"):
		if strings.HasPrefix(d[1:], "62") {
			// "0" + "62…": a national prefix and a country code at once.
			return "", msisdnError("has both the national 0 and country code 62")
		}
		d = "62" + d[1:]
	case strings.HasPrefix(d, "62"):
	case d[0] == '8' && len(d) >= 9 && len(d) <= 12:
		// An Indonesian mobile number whose national 0 was lost (a
		// spreadsheet column read as a number drops it): "81234567890".
		// Read as international it would be a Japanese (+81) number.
		d = "62" + d
	case len(d) < 10 || len(d) > 15:
		return "", msisdnError("needs a +, 0 or 62 prefix")
	}
	if len(d) < 8 {
		return "", msisdnError("has too few digits")
	}
	if len(d) > 15 {
		return "", msisdnError("has too many digits")
	}
	if d[0] == '0' {
		return "", msisdnError("has a country code starting with 0")
	}
	if national, ok := strings.CutPrefix(d, "62"); ok {
		switch {
		case national == "" || national[0] == '0':
			return "", msisdnError("has a 0 after country code 62")
		case len(national) < 9:
			return "", msisdnError("has too few digits for an indonesian number")
		case len(national) > 13:
			return "", msisdnError("has too many digits for an indonesian number")
		}
	}
	return "+" + d, nil
}

func msisdnError(why string) error {
	return fmt.Errorf("%w: %s", ErrInvalidMSISDN, why)
}

// MaskMSISDN hides a phone number for logs: an Indonesian E.164 number keeps
// "+62" and its last 4 digits ("+6281234567890" → "+62*******7890"), another
// "+" number keeps "+" and its last 4 digits; any other input keeps only its
// last 4 characters, and input of 4 characters or fewer is masked whole.
func MaskMSISDN(e164 string) string {
	r := []rune(e164)
	const tail = 4
	if len(r) <= tail {
		return strings.Repeat("*", len(r))
	}
	head := 0
	switch {
	case strings.HasPrefix(e164, "+62") && len(r) > 3+tail:
		head = 3
	case strings.HasPrefix(e164, "+"):
		head = 1
	}
	return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
}

// Service code limits: "*123*45*6#" has 3 segments.
const (
	maxServiceCodeSegments  = 6
	maxServiceCodeSegDigits = 8
)

// NormalizeServiceCode returns the USSD service code s in its one normal form
// "*123*1#". Surrounding white space, the leading "*" and the closing "#" are
// optional ("123*1", "*123*1", Hubtel's "714" → "*714#"). Between them come
// 1–6 segments of 1–8 digits separated by "*". Percent-encoded input is not
// decoded. Errors wrap ErrInvalidServiceCode.
func NormalizeServiceCode(s string) (string, error) {
	c := strings.TrimSpace(s)
	c = strings.TrimPrefix(c, "*")
	c = strings.TrimSuffix(c, "#")
	if c == "" {
		return "", serviceCodeError("is empty")
	}
	segs := strings.Split(c, "*")
	if len(segs) > maxServiceCodeSegments {
		return "", serviceCodeError(fmt.Sprintf("has more than %d segments", maxServiceCodeSegments))
	}
	for _, seg := range segs {
		if seg == "" {
			return "", serviceCodeError("has an empty segment")
		}
		if len(seg) > maxServiceCodeSegDigits {
			return "", serviceCodeError(fmt.Sprintf("has a segment longer than %d digits", maxServiceCodeSegDigits))
		}
		for i := 0; i < len(seg); i++ {
			if seg[i] < '0' || seg[i] > '9' {
				return "", serviceCodeError("has a character that is not a digit, * or #")
			}
		}
	}
	return "*" + c + "#", nil
}

func serviceCodeError(why string) error {
	return fmt.Errorf("%w: %s", ErrInvalidServiceCode, why)
}
