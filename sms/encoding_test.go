package sms

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"pgregory.net/rapid"

	"github.com/lumbung-id/lumbung/menus"
)

func TestPrepareSegments(t *testing.T) {
	a := strings.Repeat
	cases := []struct {
		name     string
		text     string
		enc      Encoding
		segments int
		parts    []int // lengths of the parts in septets or UTF-16 units, when checked
	}{
		{"empty", "", GSM7, 1, nil},
		{"gsm7 160", a("a", 160), GSM7, 1, nil},
		{"gsm7 161", a("a", 161), GSM7, 2, []int{153, 8}},
		{"gsm7 306", a("a", 306), GSM7, 2, []int{153, 153}},
		{"gsm7 307", a("a", 307), GSM7, 3, []int{153, 153, 1}},
		{"80 euro signs are 160 septets", a("€", 80), GSM7, 1, nil},
		{"extension char makes 161", a("a", 159) + "€", GSM7, 2, []int{153, 8}},
		{"extension char at the border moves whole", a("a", 152) + "€" + a("a", 10), GSM7, 2, []int{152, 12}},
		{"306 septets but an extension char on the border", a("a", 152) + "€" + a("a", 152), GSM7, 3, []int{152, 153, 1}},
		{"extension char fits the end of a part", a("a", 151) + "[" + a("a", 10), GSM7, 2, []int{153, 10}},
		{"ucs2 70", a("Ж", 70), UCS2, 1, nil},
		{"ucs2 71", a("Ж", 71), UCS2, 2, []int{67, 4}},
		{"ucs2 134", a("Ж", 134), UCS2, 2, []int{67, 67}},
		{"ucs2 135", a("Ж", 135), UCS2, 3, []int{67, 67, 1}},
		{"35 emoji are 70 units", a("😀", 35), UCS2, 1, nil},
		{"36 emoji", a("😀", 36), UCS2, 2, []int{66, 6}},
		{"emoji on the border moves whole", a("Ж", 66) + "😀" + a("Ж", 3), UCS2, 2, []int{66, 5}},
		{"one emoji makes the whole message ucs2", a("a", 69) + "😀", UCS2, 2, []int{67, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, enc, segments := Prepare(c.text)
			if out != c.text || enc != c.enc || segments != c.segments {
				t.Fatalf("Prepare = %q, %s, %d; want the text, %s, %d", out, enc, segments, c.enc, c.segments)
			}
			if c.parts == nil {
				return
			}
			parts := split(out, enc)
			got := make([]int, len(parts))
			for i, p := range parts {
				got[i] = unitsIn(p, enc)
			}
			if strings.Join(parts, "") != out || !slices.Equal(got, c.parts) {
				t.Errorf("parts cost %v; want %v", got, c.parts)
			}
		})
	}
}

func TestPrepareSubstitutes(t *testing.T) {
	cases := []struct {
		in, out string
		enc     Encoding
	}{
		{"Saldo Rp1.250.000", "Saldo Rp1.250.000", GSM7},
		{"“Halo” ‘Bu’ „x‚", "\"Halo\" 'Bu' \"x'", GSM7},
		{"Jl. Merdeka – Kupang — NTT…", "Jl. Merdeka - Kupang - NTT...", GSM7},
		{"Rp\u00a01.000\u2009/\u202fbulan\u3000ok", "Rp 1.000 / bulan ok", GSM7},
		{"• satu\n• dua", "- satu\n- dua", GSM7},
		{"Ângela Conceição Fátima Inês Ró Jônatas Úrsula", "Angela Conceicao Fatima Ines Ro Jonatas Ursula", GSM7},
		{"José Müller Peña Ñandú Æsir Øst", "José Müller Peña Ñandu Æsir Øst", GSM7}, // é ü ñ Ñ Æ Ø are GSM-7
		{"Łukasz Dvořák Şahin", "Lukasz Dvorak Sahin", GSM7},
		{"Jose\u0301 e\u0300", "Jose e", GSM7}, // combining accents on plain letters
		{"ze\u200bro\u200d\ufeffwidth\u00ad", "zerowidth", GSM7},
		{"tab\there\r\nform\ffeed", "tab here\r\nform\ffeed", GSM7},
		{"ＳＡＬＤＯ １２３", "SALDO 123", GSM7},
		{"bad \xff byte", "bad ? byte", GSM7},
		{"{harga} [€5] ~x^ \\ |", "{harga} [€5] ~x^ \\ |", GSM7},
		{"Terima kasih 🙏 “Bu”", "Terima kasih 🙏 \"Bu\"", UCS2}, // substituted, then UCS-2 for what is left
		{"Салдо", "Салдо", UCS2},
		{"\u0928\u093f", "\u0928\u093f", UCS2}, // a combining sign on a non-GSM letter stays
	}
	for _, c := range cases {
		out, enc, _ := Prepare(c.in)
		if out != c.out || enc != c.enc {
			t.Errorf("Prepare(%q) = %q, %s; want %q, %s", c.in, out, enc, c.out, c.enc)
		}
	}
}

// genSMSText draws messages mixing plain GSM-7, extension characters,
// look-alikes, combining marks, emoji, other scripts and arbitrary runes.
func genSMSText() *rapid.Generator[string] {
	lk := []rune("“”‘’„‚…–—•·×\u00a0\u2009\u3000\u200b\ufeff\u00ad\u0301\u0300áçÔŁœ\tＳ１")
	return rapid.StringOf(rapid.OneOf(
		rapid.RuneFrom([]rune("abcXYZ019 .,:\n@£$_ÄöñüàÉ")),
		rapid.RuneFrom([]rune("€[]{}\\^~|\f")),
		rapid.RuneFrom(lk),
		rapid.RuneFrom([]rune("😀🙏👍🏽"), unicode.Cyrillic, unicode.Devanagari, unicode.Han),
		rapid.Rune(),
	))
}

func TestPrepareProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text := genSMSText().Draw(t, "text")
		if rapid.Bool().Draw(t, "long") {
			text = strings.Repeat(text, rapid.IntRange(2, 12).Draw(t, "repeat"))
		}
		checkPrepared(t, text)
	})
}

func FuzzPrepare(f *testing.F) {
	for _, s := range []string{"", "Saldo Rp1.250.000", "“Halo” 😀", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		strings.Repeat("Ж", 66) + "😀", "e\u0301\u200b\xff", "ＳＡＬＤＯ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) { checkPrepared(t, text) })
}

// checkPrepared asserts what Prepare promises for any text.
func checkPrepared(t interface {
	Helper()
	Fatalf(string, ...any)
}, text string) {
	t.Helper()
	out, enc, segments := Prepare(text)
	if !utf8.ValidString(out) {
		t.Fatalf("Prepare(%q) is not UTF-8: %q", text, out)
	}
	gsm := true
	for _, r := range out {
		gsm = gsm && menus.GSM7Septets(r) > 0
	}
	if (enc == GSM7) != gsm {
		t.Fatalf("Prepare(%q) = %q as %s, but GSM-7 only is %v", text, out, enc, gsm)
	}
	if again, enc2, seg2 := Prepare(out); again != out || enc2 != enc || seg2 != segments {
		t.Fatalf("Prepare is not idempotent: %q → %q → %q", text, out, again)
	}
	single, part := gsm7Single, gsm7Part
	if enc == UCS2 {
		single, part = ucs2Single, ucs2Part
	}
	parts := split(out, enc)
	if len(parts) != segments || segments < 1 || strings.Join(parts, "") != out {
		t.Fatalf("%d segments but parts %q of %q", segments, parts, out)
	}
	total := unitsIn(out, enc)
	if (segments == 1) != (total <= single) {
		t.Fatalf("%d segments for a text costing %d", segments, total)
	}
	if segments > 1 {
		for i, p := range parts {
			if c := unitsIn(p, enc); c > part || c == 0 {
				t.Fatalf("part %d of %q costs %d (limit %d)", i, out, c, part)
			}
		}
		if segments > (total+part-2)/(part-1) { // a border wastes at most one unit

			t.Fatalf("%d segments for %d units: far more than needed", segments, total)
		}
	}
}

// unitsIn is what s costs in enc: septets or UTF-16 units.
func unitsIn(s string, enc Encoding) int {
	n := 0
	for _, r := range s {
		if enc == GSM7 {
			n += menus.GSM7Septets(r)
		} else {
			n += utf16Units(r)
		}
	}
	return n
}
