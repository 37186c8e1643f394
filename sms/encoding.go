package sms

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lumbung-id/lumbung/menus"
)

// What one message carries (3GPP TS 23.038/23.040): a single message, and
// each part of a concatenated one once the 6-byte header takes its room.
const (
	gsm7Single = 160 // septets
	gsm7Part   = 153
	ucs2Single = 70 // UTF-16 units
	ucs2Part   = 67
)

// Prepare readies text for the air. Characters outside GSM-7 that have a
// GSM-7 look-alike (curly quotes, dashes, the ellipsis, unicode spaces,
// bullets, accented letters) are replaced by it, zero-width and control
// characters are dropped; only when characters without a look-alike remain
// (an emoji, another script) is the message sent as UCS-2, and then with
// the replacements made too. segments is how many parts the network sends:
// GSM-7 is 160 septets in one message, else 153 a part, a two-septet
// extension character (€ [ ] { } \ ^ ~ | form feed) never split across
// two; UCS-2 is 70 units, else 67 a part, a surrogate pair never split.
func Prepare(text string) (out string, enc Encoding, segments int) {
	out = substitute(text)
	enc = GSM7
	for _, r := range out {
		if menus.GSM7Septets(r) == 0 {
			enc = UCS2
			break
		}
	}
	return out, enc, len(split(out, enc))
}

// substitute makes the replacements Prepare describes. Every replacement is
// GSM-7, so substituting twice changes nothing more.
func substitute(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	prevGSM := false // the last character written is GSM-7
	for _, r := range s {
		if menus.GSM7Septets(r) > 0 {
			b.WriteRune(r)
			prevGSM = true
			continue
		}
		p, ok := menus.GSM7Lookalike(r)
		switch {
		case ok:
		case r == utf8.RuneError: // a byte that is not UTF-8
			p = "?"
		case r >= '！' && r <= '～' && menus.GSM7Septets(r-0xFEE0) > 0: // full-width ASCII
			p = string(r - 0xFEE0)
		case unicode.IsSpace(r):
			p = " "
		case unicode.Is(unicode.Cf, r) || unicode.IsControl(r): // zero-width, BOM, soft hyphen, controls
			continue
		case unicode.Is(unicode.Mn, r) && prevGSM: // a combining accent on a plain letter: e + ◌́
			continue
		default:
			b.WriteRune(r)
			prevGSM = false
			continue
		}
		b.WriteString(p)
		prevGSM = true
	}
	return b.String()
}

// split cuts text into the parts the network sends it in (one part when it
// fits a single message). A character is never split across two parts.
func split(text string, enc Encoding) []string {
	single, part, cost := gsm7Single, gsm7Part, menus.GSM7Septets
	if enc == UCS2 {
		single, part, cost = ucs2Single, ucs2Part, utf16Units
	}
	total := 0
	for _, r := range text {
		total += cost(r)
	}
	if total <= single {
		return []string{text}
	}
	var parts []string
	start, n := 0, 0
	for i, r := range text {
		c := cost(r)
		if n+c > part {
			parts = append(parts, text[start:i])
			start, n = i, 0
		}
		n += c
	}
	return append(parts, text[start:])
}

// utf16Units is what r costs in UCS-2 (UTF-16): two outside the BMP.
func utf16Units(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}
