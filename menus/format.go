package menus

import (
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
)

// plainRunes replaces characters outside GSM-7 that names and memos are
// likely to hold with their nearest GSM-7 spelling.
var plainRunes = map[rune]string{
	'á': "a", 'â': "a", 'ã': "a", 'ā': "a", 'Á': "A", 'Â': "A", 'Ã': "A", 'À': "A",
	'ê': "e", 'ë': "e", 'ē': "e", 'Ê': "E", 'Ë': "E", 'È': "E",
	'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'Í': "I", 'Î': "I", 'Ï': "I", 'Ì': "I",
	'ó': "o", 'ô': "o", 'õ': "o", 'ō': "o", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ò': "O",
	'ú': "u", 'û': "u", 'ū': "u", 'Ú': "U", 'Û': "U", 'Ù': "U",
	'ç': "c", 'ý': "y", 'ÿ': "y", 'Ý': "Y",
	'‘': "'", '’': "'", '‚': "'", '‛': "'", '´': "'", '`': "'",
	'“': "\"", '”': "\"", '„': "\"",
	'–': "-", '—': "-", '‐': "-", '…': "...",
	'\u00a0': " ", '\t': " ", '\n': " ", '\r': " ", '\f': " ",
	'′': "'", '‹': "'", '›': "'", '″': "\"", '«': "\"", '»': "\"",
	'‑': "-", '‒': "-", '―': "-", '−': "-", '⁃': "-",
	'•': "-", '◦': "-", '‣': "-", '∙': "-", '·': ".", '×': "x",
	'ă': "a", 'ą': "a", 'Ă': "A", 'Ą': "A", 'Ā': "A", 'ć': "c", 'č': "c", 'Ć': "C", 'Č': "C", 'ď': "d", 'đ': "d", 'Đ': "D", 'ð': "d",
	'ę': "e", 'ě': "e", 'ė': "e", 'Ę': "E", 'Ě': "E", 'Ē': "E", 'ğ': "g", 'ı': "i", 'į': "i", 'İ': "I", 'Ī': "I", 'ł': "l", 'Ł': "L",
	'ń': "n", 'ň': "n", 'Ń': "N", 'ő': "o", 'Ő': "O", 'Ō': "O", 'œ': "oe", 'Œ': "OE", 'ř': "r", 'Ř': "R",
	'ś': "s", 'š': "s", 'ş': "s", 'Ś': "S", 'Š': "S", 'Ş': "S", 'ţ': "t", 'ť': "t", 'Ţ': "T", 'Ť': "T",
	'ů': "u", 'ű': "u", 'ų': "u", 'Ů': "U", 'Ű': "U", 'Ū': "U", 'ź': "z", 'ż': "z", 'ž': "z", 'Ź': "Z", 'Ż': "Z", 'Ž': "Z",
	'ŷ': "y",
}

// plain returns s spelled in GSM-7 only: the characters above become their
// plain form and anything else outside the alphabet a "?". Texts from the
// database (names, loan numbers, memos) pass through it before they reach
// a screen; the catalogue is GSM-7 already (a test checks it).
func plain(s string) string {
	if plainASCII(s) {
		return s // the common case: nothing to change, nothing to allocate
	}
	return spellPlain(s)
}

// spellPlain is plain, rune by rune.
func spellPlain(s string) string {
	var b strings.Builder
	for _, r := range s {
		if p, ok := plainRunes[r]; ok {
			b.WriteString(p)
			continue
		}
		if _, ok := gsm7Cost[r]; ok {
			b.WriteRune(r)
			continue
		}
		b.WriteByte('?')
	}
	return b.String()
}

// asciiKept[c] says that plain keeps the ASCII byte c as it is.
var asciiKept = func() (kept [0x80]bool) {
	for c := range rune(0x80) {
		_, replaced := plainRunes[c]
		_, gsm := gsm7Cost[c]
		kept[c] = gsm && !replaced
	}
	return kept
}()

// plainASCII reports whether plain(s) is s: every byte ASCII and kept.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || !asciiKept[c] {
			return false
		}
	}
	return true
}

// ident shows an identifier (a loan or member number) in at most n
// characters. Cutting one short would show another loan's or member's
// number, so a long one keeps both ends, which is where numbers differ:
// "001/PJM/KSP/III/2024" becomes "001/PJM..II/2024".
func ident(s string, n int) string {
	r := []rune(plain(strings.TrimSpace(s)))
	if len(r) <= n {
		return string(r)
	}
	head := (n - 2) / 2
	return string(r[:head]) + ".." + string(r[len(r)-(n-2-head):])
}

// maxAmountDigits bounds a typed amount far below int64's range.
const maxAmountDigits = 13

// parseAmount reads an amount typed on a keypad, in whole rupiah: digits
// only ("50000"), or grouped by dots in threes ("50.000", "1.250.000").
// Anything else ("50,000", "5.00", "Rp5000", "-5", "0") is not an amount:
// a mistyped amount must be typed again, never guessed at.
func parseAmount(in string) (int64, bool) {
	groups := strings.Split(in, ".")
	digits := ""
	for i, g := range groups {
		if g == "" || !isDigits(g, len(g)) || (i > 0 && len(g) != 3) || (len(groups) > 1 && i == 0 && (len(g) > 3 || g[0] == '0')) {
			return 0, false
		}
		digits += g
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" || len(digits) > maxAmountDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		n = n*10 + int64(digits[i]-'0')
	}
	return n, true
}

// rupiah is an amount as members read it: Rp1.250.000.
func rupiah(amount int64) string { return ledger.FormatRupiah(amount) }

// signedRupiah shows the direction of a movement: +Rp50.000, -Rp25.000.
func signedRupiah(amount int64) string {
	if amount > 0 {
		return "+" + ledger.FormatRupiah(amount)
	}
	return ledger.FormatRupiah(amount)
}

// date is a calendar date as DD/MM/YYYY. Due dates are civil dates (midnight
// UTC) and print as they are; instants are first moved into the
// cooperative's time zone by the caller.
func date(t time.Time) string { return t.Format("02/01/2006") }

// dateTime is an instant in loc as DD/MM/YYYY HH:MM.
func dateTime(t time.Time, loc *time.Location) string { return t.In(loc).Format("02/01/2006 15:04") }

// accountName is a member account's name on screens: "Simpanan Sukarela".
func accountName(lang string, k ledger.AccountKind) string {
	return T(lang, "account."+string(k))
}

// accountShort is its short name in lists: "Sukarela".
func accountShort(lang string, k ledger.AccountKind) string {
	return T(lang, "account.short."+string(k))
}
