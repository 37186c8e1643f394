package sms

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseCommand(t *testing.T) {
	cases := []struct {
		text  string
		verb  Verb
		words []string
	}{
		{"SALDO", VerbBalance, nil},
		{"saldo", VerbBalance, nil},
		{"Saldo.", VerbBalance, nil},
		{"saldo,", VerbBalance, nil},
		{"#SALDO#", VerbBalance, nil},
		{"  \tSaldo \n", VerbBalance, nil},
		{"BAL", VerbBalance, nil},
		{"balance!", VerbBalance, nil},
		{"ＳＡＬＤＯ", VerbBalance, nil}, // full-width letters
		{"sal\u200bdo", VerbBalance, nil},
		{"MUTASI", VerbStatement, nil},
		{"mini", VerbStatement, nil},
		{"Pinjaman?", VerbLoan, nil},
		{"LOAN", VerbLoan, nil},
		{"BANTUAN", VerbHelp, nil},
		{"help", VerbHelp, nil},
		{"", VerbHelp, nil},
		{"   \n\t", VerbHelp, nil},
		{"?", VerbHelp, nil},
		{"halo bu", VerbHelp, []string{"bu"}},
		{"saldoku", VerbHelp, nil},
		{"1 SALDO", VerbHelp, []string{"SALDO"}},
		{"SALDO 123456", VerbBalance, []string{"123456"}},
		{"SALDO A-001 123456", VerbBalance, []string{"A-001", "123456"}},
		{"saldo   a-001,\n\n123456.", VerbBalance, []string{"a-001", "123456"}},
		{"\u3000saldo\u3000１２３４５６\u00a0", VerbBalance, []string{"123456"}},
		{"SALDO#123456", VerbBalance, []string{"123456"}},
		{"saldo123456", VerbBalance, []string{"123456"}},
		{"Mutasi:A-001", VerbStatement, []string{"A-001"}},
		{"Cek Saldo", VerbBalance, nil},
		{"info pinjaman 123456", VerbLoan, []string{"123456"}},
		{"cek", VerbHelp, nil},
		{"SALDO - 123456", VerbBalance, []string{"123456"}},
		{"saldo 1 2 3 4 5 6 7", VerbBalance, []string{"1", "2", "3", "4", "5"}},
		{"saldo " + strings.Repeat("x", 40), VerbBalance, []string{strings.Repeat("x", 32)}},
		{"saldo " + strings.Repeat("é", 20), VerbBalance, []string{strings.Repeat("é", 16)}},
		{"saldo " + strings.Repeat("x", 31) + "-yz", VerbBalance, []string{strings.Repeat("x", 31)}},
		{"saldo\xff123456", VerbBalance, []string{"123456"}},
		{"SALDO\r\n123456\r\n", VerbBalance, []string{"123456"}},
	}
	for _, c := range cases {
		got := ParseCommand(c.text)
		if got.Verb != c.verb || !slices.Equal(got.Words, c.words) {
			t.Errorf("ParseCommand(%q) = %s %q; want %s %q", c.text, got.Verb, got.Words, c.verb, c.words)
		}
	}
}

func TestLooksLikePIN(t *testing.T) {
	for w, want := range map[string]bool{
		"123456": true, "000000": true, "12345": false, "1234567": false, "12345a": false, "": false,
		"１２３４５６": false, "١٢٣٤٥٦": false, " 12345": false,
	} {
		if got := LooksLikePIN(w); got != want {
			t.Errorf("LooksLikePIN(%q) = %v; want %v", w, got, want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "SALDO", "saldo A-001 123456", "Saldo.", "ＳＡＬＤＯ\u3000１２３", "cek saldo#123456",
		"saldo 1 2 3 4 5 6 7", "saldo " + strings.Repeat("é", 40), "\xff\xfe", "mini\u200b\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd := ParseCommand(text)
		switch cmd.Verb {
		case VerbBalance, VerbStatement, VerbLoan, VerbHelp:
		default:
			t.Fatalf("ParseCommand(%q) has verb %q", text, cmd.Verb)
		}
		if len(cmd.Words) > MaxWords {
			t.Fatalf("ParseCommand(%q) has %d words", text, len(cmd.Words))
		}
		for _, w := range cmd.Words {
			if w == "" || len(w) > MaxWordBytes || !utf8.ValidString(w) || strings.IndexFunc(w, unicode.IsSpace) >= 0 {
				t.Fatalf("ParseCommand(%q) has word %q", text, w)
			}
			if first, _ := utf8.DecodeRuneInString(w); isPunct(first) {
				t.Fatalf("ParseCommand(%q) has word %q starting with punctuation", text, w)
			}
			if last, _ := utf8.DecodeLastRuneInString(w); isPunct(last) {
				t.Fatalf("ParseCommand(%q) has word %q ending with punctuation", text, w)
			}
		}
		// What was understood reads back the same.
		again := ParseCommand(strings.Join(append([]string{string(cmd.Verb)}, cmd.Words...), " "))
		if again.Verb != cmd.Verb || !slices.Equal(again.Words, cmd.Words) {
			t.Fatalf("ParseCommand(%q) = %v, but its words read back as %v", text, cmd, again)
		}
	})
}
