package ledger

import (
	"math"
	"testing"
)

func TestFormatRupiah(t *testing.T) {
	cases := []struct {
		in   int64
		want string
	}{
		{0, "Rp0"},
		{5, "Rp5"},
		{999, "Rp999"},
		{1000, "Rp1.000"},
		{1250000, "Rp1.250.000"},
		{999999999, "Rp999.999.999"},
		{-5000, "-Rp5.000"},
		{math.MaxInt64, "Rp9.223.372.036.854.775.807"},
		{math.MinInt64, "-Rp9.223.372.036.854.775.808"},
	}
	for _, c := range cases {
		if got := FormatRupiah(c.in); got != c.want {
			t.Errorf("FormatRupiah(%d) = %q; want %q", c.in, got, c.want)
		}
	}
}
