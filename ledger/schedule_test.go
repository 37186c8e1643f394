package ledger

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func schedDate(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// wantPart is a principal/interest pair of an expected installment.
type wantPart struct{ principal, interest int64 }

func requireParts(t *testing.T, got []Installment, want []wantPart) {
	t.Helper()
	require.Len(t, got, len(want))
	for k, w := range want {
		assert.Equal(t, k+1, got[k].No, "installment %d number", k+1)
		assert.Equal(t, w.principal, got[k].Principal, "installment %d principal", k+1)
		assert.Equal(t, w.interest, got[k].Interest, "installment %d interest", k+1)
	}
}

func sumScheduledPrincipal(ins []Installment) int64 {
	var s int64
	for _, in := range ins {
		s += in.Principal
	}
	return s
}

// The worked example of DOMAIN.md: Rp10.000.000, 1%/month flat, 12 months.
func TestBuildScheduleFlatWorkedExample(t *testing.T) {
	got, err := BuildSchedule(10_000_000, 100, MethodFlat, 12, schedDate(2026, 2, 10))
	require.NoError(t, err)
	require.Len(t, got, 12)
	for k := range 11 {
		assert.Equal(t, int64(833_333), got[k].Principal, "installment %d", k+1)
		assert.Equal(t, int64(100_000), got[k].Interest, "installment %d", k+1)
		assert.Equal(t, int64(933_333), got[k].Total(), "installment %d", k+1)
	}
	assert.Equal(t, int64(833_337), got[11].Principal)
	assert.Equal(t, int64(100_000), got[11].Interest)
	assert.Equal(t, int64(933_337), got[11].Total())
	assert.Equal(t, int64(10_000_000), sumScheduledPrincipal(got))
	assert.Equal(t, schedDate(2026, 2, 10), got[0].Due)
	assert.Equal(t, schedDate(2027, 1, 10), got[11].Due)
}

func TestBuildScheduleMethods(t *testing.T) {
	tests := []struct {
		name      string
		principal int64
		rateBP    int64
		method    Method
		term      int
		want      []wantPart
	}{
		{
			name: "flat 1.5% with remainder", principal: 1_000_000, rateBP: 150, method: MethodFlat, term: 3,
			want: []wantPart{{333_333, 15_000}, {333_333, 15_000}, {333_334, 15_000}},
		},
		{
			name: "flat interest rounds half up", principal: 50, rateBP: 100, method: MethodFlat, term: 2,
			want: []wantPart{{25, 1}, {25, 1}}, // 0.5 → 1
		},
		{
			name: "flat zero rate", principal: 100, rateBP: 0, method: MethodFlat, term: 3,
			want: []wantPart{{33, 0}, {33, 0}, {34, 0}},
		},
		{
			name: "menurun 1%", principal: 1_200_000, rateBP: 100, method: MethodMenurun, term: 12,
			want: []wantPart{
				{100_000, 12_000}, {100_000, 11_000}, {100_000, 10_000}, {100_000, 9_000},
				{100_000, 8_000}, {100_000, 7_000}, {100_000, 6_000}, {100_000, 5_000},
				{100_000, 4_000}, {100_000, 3_000}, {100_000, 2_000}, {100_000, 1_000},
			},
		},
		{
			// 666.667 × 1.5% = 10.000,005 → 10.000; 333.334 × 1.5% = 5.000,01 → 5.000
			name: "menurun 1.5% with remainder", principal: 1_000_000, rateBP: 150, method: MethodMenurun, term: 3,
			want: []wantPart{{333_333, 15_000}, {333_333, 10_000}, {333_334, 5_000}},
		},
		{
			name: "menurun one month", principal: 7_000_000, rateBP: 200, method: MethodMenurun, term: 1,
			want: []wantPart{{7_000_000, 140_000}},
		},
		{
			// A = 10.000.000 × 0,01 / (1 − 1,01^−12) = 888.487,88 → 888.488
			name: "anuitas 1% 12 months", principal: 10_000_000, rateBP: 100, method: MethodAnuitas, term: 12,
			want: []wantPart{
				{788_488, 100_000}, {796_373, 92_115}, {804_337, 84_151}, {812_380, 76_108},
				{820_504, 67_984}, {828_709, 59_779}, {836_996, 51_492}, {845_366, 43_122},
				{853_820, 34_668}, {862_358, 26_130}, {870_981, 17_507}, {879_688, 8_797},
			},
		},
		{
			name: "anuitas 1.5% 6 months", principal: 5_000_000, rateBP: 150, method: MethodAnuitas, term: 6,
			want: []wantPart{
				{802_626, 75_000}, {814_665, 62_961}, {826_885, 50_741},
				{839_289, 38_337}, {851_878, 25_748}, {864_657, 12_970},
			},
		},
		{
			name: "anuitas zero rate is equal parts", principal: 100, rateBP: 0, method: MethodAnuitas, term: 3,
			want: []wantPart{{33, 0}, {33, 0}, {34, 0}},
		},
		{
			name: "anuitas one month", principal: 1_000_000, rateBP: 200, method: MethodAnuitas, term: 1,
			want: []wantPart{{1_000_000, 20_000}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildSchedule(tt.principal, tt.rateBP, tt.method, tt.term, schedDate(2026, 1, 15))
			require.NoError(t, err)
			requireParts(t, got, tt.want)
			assert.Equal(t, tt.principal, sumScheduledPrincipal(got))
		})
	}
}

func TestBuildScheduleAnuitasInstallmentIsFixed(t *testing.T) {
	got, err := BuildSchedule(10_000_000, 100, MethodAnuitas, 12, schedDate(2026, 1, 15))
	require.NoError(t, err)
	for k := range 11 {
		assert.Equal(t, int64(888_488), got[k].Total(), "installment %d", k+1)
	}
}

func TestBuildScheduleDueDates(t *testing.T) {
	wita := time.FixedZone("WITA", 8*60*60)
	tests := []struct {
		name     string
		firstDue time.Time
		want     []time.Time
	}{
		{
			name:     "end of month in a leap year keeps the anchor day",
			firstDue: schedDate(2024, 1, 31),
			want:     []time.Time{schedDate(2024, 1, 31), schedDate(2024, 2, 29), schedDate(2024, 3, 31), schedDate(2024, 4, 30), schedDate(2024, 5, 31)},
		},
		{
			name:     "end of month in a common year",
			firstDue: schedDate(2025, 1, 31),
			want:     []time.Time{schedDate(2025, 1, 31), schedDate(2025, 2, 28), schedDate(2025, 3, 31), schedDate(2025, 4, 30), schedDate(2025, 5, 31)},
		},
		{
			name:     "30th through February",
			firstDue: schedDate(2025, 12, 30),
			want:     []time.Time{schedDate(2025, 12, 30), schedDate(2026, 1, 30), schedDate(2026, 2, 28), schedDate(2026, 3, 30), schedDate(2026, 4, 30)},
		},
		{
			name:     "local date, not the UTC instant",
			firstDue: time.Date(2026, 3, 5, 7, 30, 0, 0, wita), // 2026-03-04 23:30 UTC
			want:     []time.Time{schedDate(2026, 3, 5), schedDate(2026, 4, 5), schedDate(2026, 5, 5), schedDate(2026, 6, 5), schedDate(2026, 7, 5)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildSchedule(1_000_000, 100, MethodMenurun, len(tt.want), tt.firstDue)
			require.NoError(t, err)
			for k, w := range tt.want {
				assert.True(t, w.Equal(got[k].Due), "installment %d due %s; want %s", k+1, got[k].Due, w)
				assert.Equal(t, time.UTC, got[k].Due.Location())
			}
		})
	}
}

func TestBuildScheduleInvalid(t *testing.T) {
	first := schedDate(2026, 1, 15)
	tests := []struct {
		name      string
		principal int64
		rateBP    int64
		method    Method
		term      int
		firstDue  time.Time
	}{
		{"zero principal", 0, 100, MethodFlat, 12, first},
		{"negative principal", -1, 100, MethodFlat, 12, first},
		{"principal above limit", MaxSchedulePrincipal + 1, 100, MethodFlat, 12, first},
		{"negative rate", 1_000_000, -1, MethodMenurun, 12, first},
		{"rate above limit", 1_000_000, MaxScheduleRateBP + 1, MethodMenurun, 12, first},
		{"zero term", 1_000_000, 100, MethodAnuitas, 0, first},
		{"negative term", 1_000_000, 100, MethodAnuitas, -3, first},
		{"term above 360", 1_000_000, 100, MethodAnuitas, 361, first},
		{"unknown method", 1_000_000, 100, Method("efektif"), 12, first},
		{"empty method", 1_000_000, 100, Method(""), 12, first},
		{"uppercase method not parsed", 1_000_000, 100, Method("FLAT"), 12, first},
		{"no first due date", 1_000_000, 100, MethodFlat, 12, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildSchedule(tt.principal, tt.rateBP, tt.method, tt.term, tt.firstDue)
			require.ErrorIs(t, err, ErrInvalidLoanTerms)
			assert.Nil(t, got)
		})
	}
}

func TestBuildScheduleLimits(t *testing.T) {
	for _, m := range []Method{MethodFlat, MethodMenurun, MethodAnuitas} {
		t.Run(string(m), func(t *testing.T) {
			for _, c := range []struct {
				principal, rateBP int64
				term              int
			}{
				{1, 0, 1},
				{1, 500, 360},
				{MaxSchedulePrincipal, MaxScheduleRateBP, MaxScheduleTermMonths},
				{MaxSchedulePrincipal, MaxScheduleRateBP, 1},
				{MaxSchedulePrincipal, 1, MaxScheduleTermMonths},
			} {
				got, err := BuildSchedule(c.principal, c.rateBP, m, c.term, schedDate(2026, 1, 31))
				require.NoError(t, err)
				require.Len(t, got, c.term)
				assert.Equal(t, c.principal, sumScheduledPrincipal(got))
				var total int64
				for _, in := range got {
					require.GreaterOrEqual(t, in.Principal, int64(0))
					require.GreaterOrEqual(t, in.Interest, int64(0))
					total += in.Interest
					require.GreaterOrEqual(t, total, int64(0), "interest sum overflowed")
				}
			}
		})
	}
}

func TestRebuildSchedule(t *testing.T) {
	next := schedDate(2026, 4, 25)
	t.Run("flat interest stays on the original principal", func(t *testing.T) {
		// The worked-example loan after 4 paid installments: 10.000.000 − 4 × 833.333.
		got, err := RebuildSchedule(6_666_668, 100, MethodFlat, 8, next, 10_000_000)
		require.NoError(t, err)
		requireParts(t, got, []wantPart{
			{833_333, 100_000}, {833_333, 100_000}, {833_333, 100_000}, {833_333, 100_000},
			{833_333, 100_000}, {833_333, 100_000}, {833_333, 100_000}, {833_337, 100_000},
		})
		assert.Equal(t, next, got[0].Due)
	})
	t.Run("menurun interest on the outstanding", func(t *testing.T) {
		got, err := RebuildSchedule(400_000, 100, MethodMenurun, 4, next, 1_200_000)
		require.NoError(t, err)
		requireParts(t, got, []wantPart{{100_000, 4_000}, {100_000, 3_000}, {100_000, 2_000}, {100_000, 1_000}})
	})
	t.Run("anuitas recomputed on the outstanding", func(t *testing.T) {
		got, err := RebuildSchedule(10_000_000, 100, MethodAnuitas, 12, next, 20_000_000)
		require.NoError(t, err)
		want, err := BuildSchedule(10_000_000, 100, MethodAnuitas, 12, next)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})
	t.Run("invalid", func(t *testing.T) {
		for _, c := range []struct {
			name                  string
			outstanding, original int64
			months                int
		}{
			{"zero outstanding", 0, 1_000_000, 3},
			{"outstanding above original", 1_000_001, 1_000_000, 3},
			{"no remaining months", 500_000, 1_000_000, 0},
		} {
			_, err := RebuildSchedule(c.outstanding, 100, MethodFlat, c.months, next, c.original)
			assert.ErrorIs(t, err, ErrInvalidLoanTerms, c.name)
		}
	})
}

func TestParseMethod(t *testing.T) {
	tests := []struct {
		in      string
		want    Method
		wantErr bool
	}{
		{"flat", MethodFlat, false},
		{"menurun", MethodMenurun, false},
		{"anuitas", MethodAnuitas, false},
		{" Anuitas\n", MethodAnuitas, false},
		{"FLAT", MethodFlat, false},
		{"", "", true},
		{"efektif", "", true},
		{"flat rate", "", true},
		{"annuity", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMethod(tt.in)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidLoanTerms)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzParseMethod(f *testing.F) {
	for _, s := range []string{"flat", "menurun", "anuitas", " MENURUN ", "", "efektif", "flat\x00", "ａｎｕｉｔａｓ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMethod(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidLoanTerms) || m != "" {
				t.Fatalf("ParseMethod(%q) = %q, %v; want \"\" and ErrInvalidLoanTerms", s, m, err)
			}
			return
		}
		if !m.Valid() {
			t.Fatalf("ParseMethod(%q) = %q, an invalid method", s, m)
		}
		if !strings.EqualFold(strings.TrimSpace(s), string(m)) {
			t.Fatalf("ParseMethod(%q) = %q; not the same name", s, m)
		}
		if again, err := ParseMethod(string(m)); err != nil || again != m {
			t.Fatalf("ParseMethod(%q) = %q, %v; want %q", m, again, err, m)
		}
	})
}

func TestScheduleProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		principal := rapid.Int64Range(1, 10_000_000_000).Draw(t, "principal")
		rateBP := rapid.Int64Range(0, 500).Draw(t, "rateBP")
		term := rapid.IntRange(1, 120).Draw(t, "term")
		method := rapid.SampledFrom([]Method{MethodFlat, MethodMenurun, MethodAnuitas}).Draw(t, "method")
		firstDue := schedDate(rapid.IntRange(2000, 2100).Draw(t, "year"),
			time.Month(rapid.IntRange(1, 12).Draw(t, "month")), rapid.IntRange(1, 31).Draw(t, "day"))

		got, err := BuildSchedule(principal, rateBP, method, term, firstDue)
		if err != nil {
			t.Fatalf("BuildSchedule: %v", err)
		}
		checkSchedule(t, got, principal, term, firstDue)

		switch method {
		case MethodFlat:
			for _, in := range got {
				if in.Interest != got[0].Interest {
					t.Fatalf("flat interest varies: %d and %d", got[0].Interest, in.Interest)
				}
			}
		case MethodMenurun:
			for k := 1; k < len(got); k++ {
				if got[k].Interest > got[k-1].Interest {
					t.Fatalf("menurun interest grew at installment %d", k+1)
				}
			}
		case MethodAnuitas:
			if rateBP > 0 && principal >= 1_000_000 {
				i := float64(rateBP) / basisPoints
				want := float64(principal) * i / (1 - math.Pow(1+i, -float64(term)))
				if math.Abs(float64(got[0].Total())-want) > 1 {
					t.Fatalf("anuitas installment %d; want about %.2f", got[0].Total(), want)
				}
			}
		}
	})
}

func TestRebuildScheduleProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		original := rapid.Int64Range(1, 10_000_000_000).Draw(t, "original")
		outstanding := rapid.Int64Range(1, original).Draw(t, "outstanding")
		rateBP := rapid.Int64Range(0, 500).Draw(t, "rateBP")
		months := rapid.IntRange(1, 120).Draw(t, "months")
		method := rapid.SampledFrom([]Method{MethodFlat, MethodMenurun, MethodAnuitas}).Draw(t, "method")
		next := schedDate(2026, time.Month(rapid.IntRange(1, 12).Draw(t, "month")), rapid.IntRange(1, 31).Draw(t, "day"))

		got, err := RebuildSchedule(outstanding, rateBP, method, months, next, original)
		if err != nil {
			t.Fatalf("RebuildSchedule: %v", err)
		}
		checkSchedule(t, got, outstanding, months, next)
		if method == MethodFlat {
			want := scheduleRoundRate(original, rateBP)
			for _, in := range got {
				if in.Interest != want {
					t.Fatalf("flat interest %d; want %d on the original principal", in.Interest, want)
				}
			}
		}
	})
}

// checkSchedule checks what every schedule must be: n installments numbered
// 1..n, parts ≥ 0, principal parts summing exactly to principal, due dates
// strictly increasing, monthly, on the anchor day clamped to the month.
func checkSchedule(t *rapid.T, got []Installment, principal int64, n int, firstDue time.Time) {
	if len(got) != n {
		t.Fatalf("got %d installments; want %d", len(got), n)
	}
	var sum int64
	for k, in := range got {
		if in.No != k+1 {
			t.Fatalf("installment %d numbered %d", k+1, in.No)
		}
		if in.Principal < 0 || in.Interest < 0 {
			t.Fatalf("installment %d has a negative part: %+v", k+1, in)
		}
		sum += in.Principal
		if k > 0 && !in.Due.After(got[k-1].Due) {
			t.Fatalf("installment %d due %s, not after %s", k+1, in.Due, got[k-1].Due)
		}
		month := time.Date(firstDue.Year(), firstDue.Month()+time.Month(k), 1, 0, 0, 0, 0, time.UTC)
		if in.Due.Year() != month.Year() || in.Due.Month() != month.Month() {
			t.Fatalf("installment %d due %s; want in %s", k+1, in.Due, month.Format("2006-01"))
		}
		if in.Due.Day() != firstDue.Day() && in.Due.AddDate(0, 0, 1).Day() != 1 {
			t.Fatalf("installment %d due %s: neither day %d nor the month's last day", k+1, in.Due, firstDue.Day())
		}
	}
	if sum != principal {
		t.Fatalf("principal parts sum to %d; want %d", sum, principal)
	}
}
