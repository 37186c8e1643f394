package ledger

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestAllocate(t *testing.T) {
	jan := Due{InstallmentNo: 1, Due: schedDate(2026, 1, 10), Penalty: 5_000, Fee: 1_000, Interest: 100_000, Principal: 833_333}
	feb := Due{InstallmentNo: 2, Due: schedDate(2026, 2, 10), Fee: 1_000, Interest: 100_000, Principal: 833_333}
	mar := Due{InstallmentNo: 3, Due: schedDate(2026, 3, 10), Interest: 100_000, Principal: 833_333}

	tests := []struct {
		name            string
		payment         int64
		dues            []Due
		wantParts       []Allocation
		wantOverpayment int64
	}{
		{
			name: "oldest first, then penalty fee interest principal", payment: 1_000_000,
			dues: []Due{feb, jan}, // input order is not trusted
			wantParts: []Allocation{
				{InstallmentNo: 1, Penalty: 5_000, Fee: 1_000, Interest: 100_000, Principal: 833_333},
				{InstallmentNo: 2, Fee: 1_000, Interest: 59_667},
			},
		},
		{
			name: "only the penalty", payment: 3_000, dues: []Due{jan},
			wantParts: []Allocation{{InstallmentNo: 1, Penalty: 3_000}},
		},
		{
			name: "penalty and fee, part of interest", payment: 56_000, dues: []Due{jan},
			wantParts: []Allocation{{InstallmentNo: 1, Penalty: 5_000, Fee: 1_000, Interest: 50_000}},
		},
		{
			name: "interest before principal", payment: 106_001, dues: []Due{jan},
			wantParts: []Allocation{{InstallmentNo: 1, Penalty: 5_000, Fee: 1_000, Interest: 100_000, Principal: 1}},
		},
		{
			name: "exact payment of everything", payment: 939_333 + 934_333 + 933_333, dues: []Due{mar, jan, feb},
			wantParts: []Allocation{
				{InstallmentNo: 1, Penalty: 5_000, Fee: 1_000, Interest: 100_000, Principal: 833_333},
				{InstallmentNo: 2, Fee: 1_000, Interest: 100_000, Principal: 833_333},
				{InstallmentNo: 3, Interest: 100_000, Principal: 833_333},
			},
		},
		{
			name: "overpayment returned", payment: 1_000_000, dues: []Due{mar},
			wantParts:       []Allocation{{InstallmentNo: 3, Interest: 100_000, Principal: 833_333}},
			wantOverpayment: 66_667,
		},
		{
			name: "nothing due: all overpayment", payment: 50_000, dues: nil,
			wantOverpayment: 50_000,
		},
		{
			name: "fully paid dues are skipped", payment: 10, dues: []Due{{InstallmentNo: 1, Due: schedDate(2026, 1, 10)}, mar},
			wantParts: []Allocation{{InstallmentNo: 3, Interest: 10}},
		},
		{
			name: "same due date: lower number first", payment: 150_000,
			dues: []Due{
				{InstallmentNo: 8, Due: schedDate(2026, 1, 10), Interest: 100_000},
				{InstallmentNo: 7, Due: schedDate(2026, 1, 10), Interest: 100_000},
			},
			wantParts: []Allocation{{InstallmentNo: 7, Interest: 100_000}, {InstallmentNo: 8, Interest: 50_000}},
		},
		{
			name: "date wins over number", payment: 100_000,
			dues: []Due{
				{InstallmentNo: 1, Due: schedDate(2026, 2, 10), Interest: 100_000},
				{InstallmentNo: 2, Due: schedDate(2026, 1, 10), Interest: 100_000},
			},
			wantParts: []Allocation{{InstallmentNo: 2, Interest: 100_000}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := append([]Due(nil), tt.dues...)
			parts, over, err := Allocate(tt.payment, tt.dues)
			require.NoError(t, err)
			assert.Equal(t, tt.wantParts, parts)
			assert.Equal(t, tt.wantOverpayment, over)
			assert.Equal(t, input, tt.dues, "Allocate must not reorder its input")
			var sum int64
			for _, p := range parts {
				sum += p.Total()
			}
			assert.Equal(t, tt.payment, sum+over)
		})
	}
}

func TestAllocateInvalid(t *testing.T) {
	due := Due{InstallmentNo: 1, Due: schedDate(2026, 1, 10), Interest: 100}
	tests := []struct {
		name    string
		payment int64
		dues    []Due
	}{
		{"zero payment", 0, []Due{due}},
		{"negative payment", -100, []Due{due}},
		{"negative owed", 100, []Due{{InstallmentNo: 1, Due: schedDate(2026, 1, 10), Principal: -1}}},
		{"negative penalty", 100, []Due{{InstallmentNo: 1, Due: schedDate(2026, 1, 10), Penalty: -5}}},
		{"installment twice", 100, []Due{due, due}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, over, err := Allocate(tt.payment, tt.dues)
			require.ErrorIs(t, err, ErrInvalidAllocation)
			assert.Nil(t, parts)
			assert.Zero(t, over)
		})
	}
}

func TestApplyOverpayment(t *testing.T) {
	future := []Installment{
		{No: 5, Due: schedDate(2026, 5, 10), Principal: 833_333, Interest: 100_000},
		{No: 4, Due: schedDate(2026, 4, 10), Principal: 833_333, Interest: 100_000},
		{No: 6, Due: schedDate(2026, 6, 10), Principal: 833_337, Interest: 100_000},
	}
	tests := []struct {
		name           string
		overpayment    int64
		wantReductions []Allocation
		wantRest       int64
	}{
		{"nearest first", 1_000_000, []Allocation{{InstallmentNo: 4, Principal: 833_333}, {InstallmentNo: 5, Principal: 166_667}}, 0},
		{"part of the next", 10, []Allocation{{InstallmentNo: 4, Principal: 10}}, 0},
		{"all future principal and more", 3_000_000, []Allocation{
			{InstallmentNo: 4, Principal: 833_333}, {InstallmentNo: 5, Principal: 833_333}, {InstallmentNo: 6, Principal: 833_337},
		}, 500_000 - 3},
		{"zero", 0, nil, 0},
		{"negative is handed back", -5, nil, -5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rest := ApplyOverpayment(tt.overpayment, future)
			assert.Equal(t, tt.wantReductions, got)
			assert.Equal(t, tt.wantRest, rest)
		})
	}
	t.Run("no future installments", func(t *testing.T) {
		got, rest := ApplyOverpayment(700, nil)
		assert.Empty(t, got)
		assert.Equal(t, int64(700), rest)
	})
}

func TestAllocateProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 12).Draw(t, "installments")
		nos := rapid.Permutation([]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}).Draw(t, "numbers")
		dues := make([]Due, n)
		var owed int64
		for k := range dues {
			amount := rapid.Int64Range(0, 10_000_000)
			dues[k] = Due{
				InstallmentNo: nos[k],
				Due:           schedDate(2026, 1, 1).AddDate(0, 0, rapid.IntRange(0, 400).Draw(t, "day")),
				Penalty:       amount.Draw(t, "penalty"),
				Fee:           amount.Draw(t, "fee"),
				Interest:      amount.Draw(t, "interest"),
				Principal:     amount.Draw(t, "principal"),
			}
			owed += dues[k].Total()
		}
		payment := rapid.Int64Range(1, owed+owed/5+1).Draw(t, "payment")

		parts, over, err := Allocate(payment, dues)
		if err != nil {
			t.Fatalf("Allocate: %v", err)
		}
		if over < 0 {
			t.Fatalf("negative overpayment %d", over)
		}
		paid := make(map[int]Allocation)
		sum := over
		for _, p := range parts {
			if _, twice := paid[p.InstallmentNo]; twice {
				t.Fatalf("installment %d allocated twice", p.InstallmentNo)
			}
			if p.Total() == 0 {
				t.Fatalf("empty allocation for installment %d", p.InstallmentNo)
			}
			paid[p.InstallmentNo] = p
			sum += p.Total()
		}
		if sum != payment {
			t.Fatalf("parts + overpayment = %d; want the payment %d", sum, payment)
		}

		// Lay out every component in the required order: oldest due first,
		// then penalty, fee, interest, principal. The payment must fill them
		// as a waterfall: full, full, …, one partial, nothing after it.
		sorted := append([]Due(nil), dues...)
		sortDuesForTest(sorted)
		var owedSeq, paidSeq []int64
		for _, d := range sorted {
			p := paid[d.InstallmentNo]
			owedSeq = append(owedSeq, d.Penalty, d.Fee, d.Interest, d.Principal)
			paidSeq = append(paidSeq, p.Penalty, p.Fee, p.Interest, p.Principal)
		}
		unpaidSeen := false
		for k := range owedSeq {
			if paidSeq[k] < 0 || paidSeq[k] > owedSeq[k] {
				t.Fatalf("component %d paid %d of %d owed", k, paidSeq[k], owedSeq[k])
			}
			if owedSeq[k]-paidSeq[k] < 0 {
				t.Fatalf("component %d outstanding negative", k)
			}
			if unpaidSeen && paidSeq[k] > 0 {
				t.Fatalf("component %d got %d while an earlier one is unpaid", k, paidSeq[k])
			}
			if paidSeq[k] < owedSeq[k] {
				unpaidSeen = true
			}
		}
		if over > 0 && unpaidSeen {
			t.Fatalf("overpayment %d while something is still owed", over)
		}
		if payment >= owed && over != payment-owed {
			t.Fatalf("overpayment %d; want %d", over, payment-owed)
		}
	})
}

func sortDuesForTest(dues []Due) {
	// Insertion sort, deliberately independent of the implementation's sort.
	for i := 1; i < len(dues); i++ {
		for j := i; j > 0; j-- {
			a, b := dues[j-1], dues[j]
			if a.Due.After(b.Due) || (a.Due.Equal(b.Due) && a.InstallmentNo > b.InstallmentNo) {
				dues[j-1], dues[j] = b, a
			}
		}
	}
}

func TestApplyOverpaymentProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 24).Draw(t, "installments")
		future := make([]Installment, n)
		var principal int64
		for k := range future {
			future[k] = Installment{
				No:        k + 1,
				Due:       schedDate(2026, 1, 10).AddDate(0, k, 0),
				Principal: rapid.Int64Range(0, 10_000_000).Draw(t, "principal"),
				Interest:  rapid.Int64Range(0, 1_000_000).Draw(t, "interest"),
			}
			principal += future[k].Principal
		}
		shuffled := rapid.Permutation(future).Draw(t, "order")
		over := rapid.Int64Range(-10, principal+1_000).Draw(t, "overpayment")

		cuts, rest := ApplyOverpayment(over, shuffled)
		byNo := make(map[int]int64)
		sum := rest
		for _, c := range cuts {
			if c.Penalty != 0 || c.Fee != 0 || c.Interest != 0 {
				t.Fatalf("reduction touches more than principal: %+v", c)
			}
			if c.Principal <= 0 {
				t.Fatalf("non-positive reduction %+v", c)
			}
			byNo[c.InstallmentNo] += c.Principal
			sum += c.Principal
		}
		if sum != over {
			t.Fatalf("reductions + rest = %d; want %d", sum, over)
		}
		if over <= 0 && (len(cuts) > 0 || rest != over) {
			t.Fatalf("overpayment %d gave %v, %d", over, cuts, rest)
		}
		short := false
		for _, in := range future { // future is in due order
			cut := byNo[in.No]
			if in.Principal-cut < 0 {
				t.Fatalf("installment %d principal %d reduced by %d", in.No, in.Principal, cut)
			}
			if short && cut > 0 {
				t.Fatalf("installment %d reduced while an earlier one keeps principal", in.No)
			}
			if cut < in.Principal {
				short = true
			}
		}
		if rest > 0 && short {
			t.Fatalf("rest %d while future principal remains", rest)
		}
	})
}

func TestLateFee(t *testing.T) {
	tests := []struct {
		name     string
		overdue  int64
		bp       int64
		daysLate int
		want     int64
	}{
		{"a full month at 2%", 1_000_000, 200, 30, 20_000},
		{"half a month", 1_000_000, 200, 15, 10_000},
		{"one day rounds down", 1_000_000, 200, 1, 666}, // 666,67
		{"two months", 933_333, 100, 60, 18_666},        // 18.666,66
		{"tiny amount rounds to zero", 100, 100, 1, 0},
		{"on time", 1_000_000, 200, 0, 0},
		{"early", 1_000_000, 200, -3, 0},
		{"nothing overdue", 0, 200, 10, 0},
		{"negative overdue", -5_000, 200, 10, 0},
		{"no late fee policy", 1_000_000, 0, 10, 0},
		{"a year", 1_000_000, 300, 365, 365_000},
		{"saturates", math.MaxInt64, 10_000, math.MaxInt32, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, LateFee(tt.overdue, tt.bp, tt.daysLate))
		})
	}
}

func TestBucketFor(t *testing.T) {
	tests := []struct {
		daysLate int
		want     Kolektibilitas
		name     string
	}{
		{-1, KolLancar, "Lancar"},
		{0, KolLancar, "Lancar"},
		{1, KolDPK, "Dalam Perhatian Khusus"},
		{90, KolDPK, "Dalam Perhatian Khusus"},
		{91, KolKurangLancar, "Kurang Lancar"},
		{120, KolKurangLancar, "Kurang Lancar"},
		{121, KolDiragukan, "Diragukan"},
		{180, KolDiragukan, "Diragukan"},
		{181, KolMacet, "Macet"},
		{10_000, KolMacet, "Macet"},
	}
	for _, tt := range tests {
		got := BucketFor(tt.daysLate)
		assert.Equal(t, tt.want, got, "BucketFor(%d)", tt.daysLate)
		assert.Equal(t, tt.name, got.String(), "BucketFor(%d).String()", tt.daysLate)
	}
	for k, want := range []Kolektibilitas{KolLancar, KolDPK, KolKurangLancar, KolDiragukan, KolMacet} {
		assert.Equal(t, Kolektibilitas(k+1), want)
	}
	assert.Equal(t, "Kolektibilitas(0)", Kolektibilitas(0).String())
	assert.Equal(t, "Kolektibilitas(6)", Kolektibilitas(6).String())
}

func TestBucketForProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.IntRange(-10, 1_000).Draw(t, "a")
		b := rapid.IntRange(a, 1_000).Draw(t, "b")
		if BucketFor(a) > BucketFor(b) {
			t.Fatalf("BucketFor(%d) = %d > BucketFor(%d) = %d", a, BucketFor(a), b, BucketFor(b))
		}
		if k := BucketFor(a); k < KolLancar || k > KolMacet {
			t.Fatalf("BucketFor(%d) = %d out of 1..5", a, k)
		}
	})
}
