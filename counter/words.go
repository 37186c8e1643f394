package counter

import (
	"errors"
	"strings"
)

// MaxAmount is the largest amount a counter form takes (Rp1 triliun):
// anything above is a typing mistake, and it keeps sums far from overflow.
const MaxAmount = 1_000_000_000_000

var errAmount = errors.New("not an amount of whole rupiah")

// ParseAmount reads an amount as a teller types it: "1250000",
// "1.250.000", "Rp 1.250.000", "1 250 000", "1,250,000". Only whole rupiah
// between 1 and MaxAmount; dots, commas and spaces only between groups of
// three digits (so "1.250,50" or "12.50" are refused, not misread).
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return 0, errAmount
	}
	if len(s) >= 2 && (s[0] == 'R' || s[0] == 'r') && (s[1] == 'p' || s[1] == 'P') {
		s = strings.TrimSpace(s[2:])
	}
	s = strings.TrimSuffix(s, ",-")
	if s == "" {
		return 0, errAmount
	}
	var n int64
	group := -1 // digits since the last separator; -1 before any separator
	var sep byte
	lead := 0 // digits before the first separator
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0')
			if n > MaxAmount {
				return 0, errAmount
			}
			if group >= 0 {
				group++
				if group > 3 {
					return 0, errAmount
				}
			} else {
				lead++
			}
		case c == '.' || c == ',' || c == ' ':
			if sep != 0 && c != sep {
				return 0, errAmount
			}
			if group == -1 && (lead == 0 || lead > 3) || group >= 0 && group != 3 {
				return 0, errAmount
			}
			sep = c
			group = 0
		default:
			return 0, errAmount
		}
	}
	if group >= 0 && group != 3 {
		return 0, errAmount
	}
	if n <= 0 {
		return 0, errAmount
	}
	return n, nil
}

var (
	idOnes = []string{"", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas"}
	enOnes = []string{"", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
		"thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	enTens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
)

// Words is an amount of rupiah in words, as a receipt or a cheque spells
// it: "satu juta dua ratus lima puluh ribu rupiah" ("id"), "one million
// two hundred fifty thousand rupiah" ("en").
func Words(lang string, amount int64) string {
	neg := amount < 0
	if neg {
		amount = -amount
	}
	var w string
	if lang == "en" {
		w = enWords(amount)
		if amount == 0 {
			w = "zero"
		}
		if neg {
			w = "minus " + w
		}
	} else {
		w = idWords(amount)
		if amount == 0 {
			w = "nol"
		}
		if neg {
			w = "minus " + w
		}
	}
	return strings.TrimSpace(w) + " rupiah"
}

func idWords(n int64) string {
	switch {
	case n < 0:
		return ""
	case n < 12:
		return idOnes[n]
	case n < 20:
		return idOnes[n-10] + " belas"
	case n < 100:
		return join(idOnes[n/10]+" puluh", idWords(n%10))
	case n < 200:
		return join("seratus", idWords(n-100))
	case n < 1000:
		return join(idOnes[n/100]+" ratus", idWords(n%100))
	case n < 2000:
		return join("seribu", idWords(n-1000))
	case n < 1_000_000:
		return join(idWords(n/1000)+" ribu", idWords(n%1000))
	case n < 1_000_000_000:
		return join(idWords(n/1_000_000)+" juta", idWords(n%1_000_000))
	case n < 1_000_000_000_000:
		return join(idWords(n/1_000_000_000)+" miliar", idWords(n%1_000_000_000))
	default:
		return join(idWords(n/1_000_000_000_000)+" triliun", idWords(n%1_000_000_000_000))
	}
}

func enWords(n int64) string {
	switch {
	case n < 20:
		return enOnes[n]
	case n < 100:
		if n%10 == 0 {
			return enTens[n/10]
		}
		return enTens[n/10] + "-" + enOnes[n%10]
	case n < 1000:
		return join(enOnes[n/100]+" hundred", enWords(n%100))
	case n < 1_000_000:
		return join(enWords(n/1000)+" thousand", enWords(n%1000))
	case n < 1_000_000_000:
		return join(enWords(n/1_000_000)+" million", enWords(n%1_000_000))
	case n < 1_000_000_000_000:
		return join(enWords(n/1_000_000_000)+" billion", enWords(n%1_000_000_000))
	default:
		return join(enWords(n/1_000_000_000_000)+" trillion", enWords(n%1_000_000_000_000))
	}
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + " " + b
}
