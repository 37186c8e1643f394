package members

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

func TestNormalizeMSISDN(t *testing.T) {
	tests := []struct {
		label string
		in    string
		want  string // "" means an error is expected
	}{
		// Indonesian forms from CONTRACT.md §2.4 and the brief.
		{"national 0", "081234567890", "+6281234567890"},
		{"62 without plus", "6281234567890", "+6281234567890"},
		{"e164", "+6281234567890", "+6281234567890"},
		{"00 prefix with spaces and dashes", "0062 812-3456-7890", "+6281234567890"},
		{"plus with parentheses", "+62 (812) 3456 7890", "+6281234567890"},
		{"dots", "0812.3456.7890", "+6281234567890"},
		{"surrounding white space", " \t081234567890 ", "+6281234567890"},
		{"form-decoded unencoded plus", " 6281234567890", "+6281234567890"},
		{"parenthesised country code", "(+62) 812 3456 7890", "+6281234567890"},
		{"shortest indonesian", "+62812345678", "+62812345678"},
		{"longest indonesian", "+628123456789012", "+628123456789012"},
		{"jakarta landline", "021 5551234", "+62215551234"},
		{"mobile that lost its 0 (spreadsheet)", "81234567890", "+6281234567890"},
		{"shortest mobile without its 0", "812345678", "+62812345678"},
		{"longest mobile without its 0", "812345678901", "+62812345678901"},
		{"japan needs its plus", "+81312345678", "+81312345678"},
		{"japan with 00", "0081312345678", "+81312345678"},
		// Other countries (provider sandboxes, Hubtel).
		{"hubtel ghana without plus", "233244000000", "+233244000000"},
		{"kenya sandbox", "+254000000001", "+254000000001"},
		{"uganda without plus", "256772000001", "+256772000001"},
		{"00 international", "00254711223344", "+254711223344"},
		{"shortest e164", "+12345678", "+12345678"},
		{"longest e164", "+123456789012345", "+123456789012345"},
		// Errors.
		{"empty", "", ""},
		{"only separators", " -.() ", ""},
		{"only plus", "+", ""},
		{"letters", "0812abc4567", ""},
		{"letter o for zero", "O81234567890", ""},
		{"two plus signs", "++6281234567890", ""},
		{"plus in the middle", "0812+34567890", ""},
		{"slash", "0812/34567890", ""},
		{"unicode digit", "０81234567890", ""},
		{"zero after 62", "+620812345678", ""},
		{"zero after 62 without plus", "620812345678", ""},
		{"national 0 then 62", "06208123456789", ""},
		{"national 0 then 62 then 8", "062812345678", ""},
		{"00 then 0", "000812345678", ""},
		{"bare 00", "00", ""},
		{"plus then 0", "+0812345678", ""},
		{"indonesian too short", "+6281234567", ""},
		{"indonesian too long", "+6281234567890123", ""},
		{"national too short", "08123456", ""},
		{"e164 too short", "+1234567", ""},
		{"e164 too long", "+1234567890123456", ""},
		{"no prefix too short", "123456789", ""},
		{"mobile without its 0, too short", "81234567", ""},
		{"no prefix too long", "1234567890123456", ""},
		{"raw input too long", strings.Repeat(" ", 40) + "081234567890", ""},
		{"pin-like", "1234", ""},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			got, err := NormalizeMSISDN(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("NormalizeMSISDN(%q) = %q; want an error", tc.in, got)
				}
				checkSafeError(t, err, ErrInvalidMSISDN, tc.in)
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeMSISDN(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
			}
		})
	}
}

// checkSafeError checks the house rules for an error about outside input:
// wraps the sentinel, one lowercase line, and does not echo the input.
func checkSafeError(t *testing.T, err, sentinel error, in string) {
	t.Helper()
	msg := err.Error()
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q does not wrap %q", msg, sentinel)
	}
	if msg != strings.ToLower(msg) || strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error %q is not one lowercase line", msg)
	}
	if digits := strings.TrimSpace(in); len(digits) >= 5 && strings.Contains(msg, digits) {
		t.Errorf("error %q echoes the input", msg)
	}
}

func TestMaskMSISDN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+6281234567890", "+62*******7890"},
		{"+62812345678", "+62*****5678"},
		{"+233244000000", "+********0000"},
		{"+12345678", "+****5678"},
		{"081234567890", "********7890"},
		{"+621234", "+**1234"},
		{"12345", "*2345"},
		{"1234", "****"},
		{"12", "**"},
		{"", ""},
		{"ab€d€fg", "***d€fg"},
	}
	for _, tc := range tests {
		if got := MaskMSISDN(tc.in); got != tc.want {
			t.Errorf("MaskMSISDN(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeServiceCode(t *testing.T) {
	tests := []struct {
		label string
		in    string
		want  string // "" means an error is expected
	}{
		{"normal form", "*123*1#", "*123*1#"},
		{"no hash", "*123*1", "*123*1#"},
		{"no star no hash", "123*1", "*123*1#"},
		{"no star", "123*1#", "*123*1#"},
		{"surrounding spaces", " *123*1# ", "*123*1#"},
		{"hubtel bare code", "714", "*714#"},
		{"africastalking sandbox", "*384*70421#", "*384*70421#"},
		{"leading zero kept", "*0123#", "*0123#"},
		{"six segments", "*1*2*3*4*5*6#", "*1*2*3*4*5*6#"},
		{"eight digit segment", "*12345678#", "*12345678#"},
		// Errors.
		{"empty", "", ""},
		{"spaces", "   ", ""},
		{"star hash", "*#", ""},
		{"hash", "#", ""},
		{"star", "*", ""},
		{"double leading star", "**123#", ""},
		{"double hash", "*123##", ""},
		{"empty middle segment", "*123**1#", ""},
		{"trailing star", "*123*#", ""},
		{"percent-encoded", "%2A123%23", ""},
		{"letters", "*12a#", ""},
		{"inner space", "*123 *1#", ""},
		{"hash in the middle", "*123#1#", ""},
		{"seven segments", "*1*2*3*4*5*6*7#", ""},
		{"nine digit segment", "*123456789#", ""},
		{"unicode digit", "*１２３#", ""},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			got, err := NormalizeServiceCode(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("NormalizeServiceCode(%q) = %q; want an error", tc.in, got)
				}
				checkSafeError(t, err, ErrInvalidServiceCode, tc.in)
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeServiceCode(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzNormalizeMSISDN(f *testing.F) {
	for _, s := range []string{
		"081234567890", "6281234567890", "+6281234567890", "0062 812-3456-7890",
		"+62 (812) 3456 7890", "233244000000", "+620812345678", "06208123456789",
		"", "+", "00", "1234", "0812abc4567",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeMSISDN(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidMSISDN) {
				t.Fatalf("error %q does not wrap ErrInvalidMSISDN", err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || msg != strings.ToLower(msg) {
				t.Fatalf("error %q is not one lowercase line", msg)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("NormalizeMSISDN(%q) = %q; not E.164", s, got)
		}
		if n, ok := strings.CutPrefix(got, "+62"); ok && (len(n) < 9 || len(n) > 13 || n[0] == '0') {
			t.Fatalf("NormalizeMSISDN(%q) = %q; not a valid indonesian number", s, got)
		}
		again, err := NormalizeMSISDN(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeMSISDN(%q) = %q, %v; want %q, nil (idempotent)", got, again, err, got)
		}
	})
}

var normalServiceCode = regexp.MustCompile(`^\*[0-9]+(\*[0-9]+)*#$`)

func FuzzNormalizeServiceCode(f *testing.F) {
	for _, s := range []string{
		"*123*1#", "*123*1", "123*1", "123*1#", " *123*1# ", "714", "%2A123%23",
		"**", "*#", "*1*2*3*4*5*6*7#", "*123456789#",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeServiceCode(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidServiceCode) {
				t.Fatalf("error %q does not wrap ErrInvalidServiceCode", err)
			}
			return
		}
		if !normalServiceCode.MatchString(got) {
			t.Fatalf("NormalizeServiceCode(%q) = %q; not in normal form", s, got)
		}
		again, err := NormalizeServiceCode(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeServiceCode(%q) = %q, %v; want %q, nil (idempotent)", got, again, err, got)
		}
	})
}
