package sms

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lumbung-id/lumbung/members"
)

// Verb is what a member asks for by SMS.
type Verb string

// The four commands (CONTRACT §4).
const (
	VerbBalance   Verb = "saldo"
	VerbStatement Verb = "mutasi"
	VerbLoan      Verb = "pinjaman"
	VerbHelp      Verb = "bantuan"
)

// verbs maps every keyword, in lower case, to its command.
var verbs = map[string]Verb{
	"saldo": VerbBalance, "bal": VerbBalance, "balance": VerbBalance,
	"mutasi": VerbStatement, "mini": VerbStatement,
	"pinjaman": VerbLoan, "loan": VerbLoan,
	"bantuan": VerbHelp, "help": VerbHelp,
}

// fillers may come before a keyword, the way the USSD menu words it
// ("Cek Saldo", "Info Pinjaman").
var fillers = map[string]bool{"cek": true, "check": true, "info": true}

// Bounds on what a command carries beyond its keyword.
const (
	MaxWords     = 5
	MaxWordBytes = 32
)

// Command is an SMS as the processor understands it.
type Command struct {
	Verb Verb
	// Words follow the keyword, as typed but without surrounding
	// punctuation: a member number and/or a PIN. At most MaxWords, each at
	// most MaxWordBytes of valid UTF-8.
	Words []string
}

// ParseCommand reads an SMS. Case does not matter; spaces of any kind,
// tabs and new lines separate words; punctuation around a word is ignored
// ("Saldo." "saldo," "#SALDO"), and so is a PIN or number glued to the
// keyword ("SALDO#123456", "saldo123456"). Anything that is not a command,
// the empty message included, asks for help.
func ParseCommand(text string) Command {
	fields := strings.FieldsFunc(normalize(text), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	})
	cmd := Command{Verb: VerbHelp}
	for len(fields) > 0 {
		head := strings.TrimFunc(fields[0], isPunct)
		fields = fields[1:]
		if head == "" {
			continue // a lone "#" or "-" before the keyword
		}
		end := strings.IndexFunc(head, func(r rune) bool { return !unicode.IsLetter(r) })
		if end < 0 {
			end = len(head)
		}
		kw := strings.ToLower(head[:end])
		if fillers[kw] && end == len(head) && len(fields) > 0 {
			continue
		}
		if v, ok := verbs[kw]; ok {
			cmd.Verb = v
			if rest := head[end:]; rest != "" {
				fields = append([]string{rest}, fields...)
			}
		}
		break
	}
	for _, f := range fields {
		if len(cmd.Words) == MaxWords {
			break
		}
		w := strings.TrimFunc(f, isPunct)
		if w == "" {
			continue
		}
		if len(w) > MaxWordBytes { // cut at a character boundary
			for len(w) > MaxWordBytes {
				_, size := utf8.DecodeLastRuneInString(w)
				w = w[:len(w)-size]
			}
			w = strings.TrimRightFunc(w, isPunct)
		}
		cmd.Words = append(cmd.Words, w)
	}
	return cmd
}

// LooksLikePIN reports whether w has the shape of a PIN: exactly six ASCII
// digits (members decides what a PIN is).
func LooksLikePIN(w string) bool { return members.ValidatePINShape(w) }

// normalize makes text valid UTF-8, drops zero-width and other format
// characters, and folds full-width ASCII (from some phones' input methods)
// to ASCII.
func normalize(text string) string {
	text = strings.ToValidUTF8(text, " ")
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '！' && r <= '～':
			return r - 0xFEE0
		case unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, text)
}

// isPunct is what is trimmed around a word: anything but letters and
// digits.
func isPunct(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
