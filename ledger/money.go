package ledger

import (
	"strconv"
)

// FormatRupiah renders whole rupiah the Indonesian way: Rp1.250.000,
// -Rp5.000 for a negative amount.
func FormatRupiah(amount int64) string {
	neg := amount < 0
	u := uint64(amount)
	if neg {
		u = uint64(-amount) // two's complement also covers math.MinInt64
	}
	digits := strconv.FormatUint(u, 10)
	out := make([]byte, 0, len(digits)+len(digits)/3+3)
	if neg {
		out = append(out, '-')
	}
	out = append(out, 'R', 'p')
	for i, d := range []byte(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			out = append(out, '.')
		}
		out = append(out, d)
	}
	return string(out)
}
