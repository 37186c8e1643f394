package menus

import (
	"strings"
	"testing"
)

func TestScreenCost(t *testing.T) {
	cases := []struct {
		text          string
		length, limit int
	}{
		{"Saldo Rp1.250.000", 17, 160},
		{"a\nb", 3, 160},
		{"harga {x}", 11, 160}, // { and } cost two septets each
		{"€5", 3, 160},         // € is in the extension table
		{"“kutip”", 7, 70},     // curly quotes force UCS-2
		{"ok 😀", 5, 70},        // an emoji is a surrogate pair
		{strings.Repeat("a", 160), 160, 160},
	}
	for _, c := range cases {
		n, limit := ScreenCost(c.text)
		if n != c.length || limit != c.limit {
			t.Errorf("ScreenCost(%q) = %d, %d; want %d, %d", c.text, n, limit, c.length, c.limit)
		}
	}
	if FitsScreen(strings.Repeat("a", 161)) || !FitsScreen(strings.Repeat("a", 160)) || FitsScreen(strings.Repeat("“", 71)) {
		t.Error("FitsScreen disagrees with the limits")
	}
}

func FuzzScreenCost(f *testing.F) {
	f.Add("Saldo Rp1.250.000")
	f.Add("“kutip” {}")
	f.Fuzz(func(t *testing.T, s string) {
		n, limit := ScreenCost(s)
		if limit != ScreenLimitGSM7 && limit != ScreenLimitUCS2 {
			t.Fatalf("limit %d", limit)
		}
		if n < 0 || (limit == ScreenLimitGSM7 && n < len([]rune(s))) {
			t.Fatalf("length %d for %q", n, s)
		}
	})
}
