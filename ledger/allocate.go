package ledger

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"
)

// Repayment allocation, late fees (denda) and loan quality buckets
// (kolektibilitas): pure arithmetic, no database.

// ErrInvalidAllocation is returned, wrapped with the reason, when a payment
// cannot be allocated: a payment that is not positive, a negative amount owed
// or the same installment listed twice.
var ErrInvalidAllocation = errors.New("invalid allocation")

// Due is what is still owed on one installment, per component.
type Due struct {
	InstallmentNo int
	Due           time.Time // jatuh tempo
	Penalty       int64     // denda
	Fee           int64     // biaya
	Interest      int64     // bunga / jasa
	Principal     int64     // pokok
}

// Total is everything still owed on the installment.
func (d Due) Total() int64 { return d.Penalty + d.Fee + d.Interest + d.Principal }

// Allocation is the part of a payment that goes to one installment, per
// component.
type Allocation struct {
	InstallmentNo int
	Penalty       int64
	Fee           int64
	Interest      int64
	Principal     int64
}

// Total is the amount allocated to the installment.
func (a Allocation) Total() int64 { return a.Penalty + a.Fee + a.Interest + a.Principal }

// Allocate splits payment over the dues in the "mifos-standard" order: the
// oldest installment first (by Due date, then InstallmentNo, whatever the
// input order), and within an installment denda → fee → bunga → pokok. No
// component gets more than is owed on it. parts lists, in that order, only the
// installments that receive something. What is left once every due is paid is
// returned as overpayment, never dropped: the caller either refuses it or
// applies it to future principal with ApplyOverpayment. Always
// Σ parts + overpayment = payment.
func Allocate(payment int64, dues []Due) (parts []Allocation, overpayment int64, err error) {
	if payment <= 0 {
		return nil, 0, fmt.Errorf("%w: payment %d must be positive", ErrInvalidAllocation, payment)
	}
	seen := make(map[int]bool, len(dues))
	for _, d := range dues {
		if d.Penalty < 0 || d.Fee < 0 || d.Interest < 0 || d.Principal < 0 {
			return nil, 0, fmt.Errorf("%w: installment %d owes a negative amount", ErrInvalidAllocation, d.InstallmentNo)
		}
		if seen[d.InstallmentNo] {
			return nil, 0, fmt.Errorf("%w: installment %d listed twice", ErrInvalidAllocation, d.InstallmentNo)
		}
		seen[d.InstallmentNo] = true
	}

	sorted := slices.Clone(dues)
	slices.SortFunc(sorted, func(a, b Due) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return cmp.Compare(a.InstallmentNo, b.InstallmentNo)
	})

	left := payment
	for _, d := range sorted {
		if left == 0 {
			break
		}
		a := Allocation{InstallmentNo: d.InstallmentNo}
		a.Penalty, left = takeUpTo(left, d.Penalty)
		a.Fee, left = takeUpTo(left, d.Fee)
		a.Interest, left = takeUpTo(left, d.Interest)
		a.Principal, left = takeUpTo(left, d.Principal)
		if a != (Allocation{InstallmentNo: d.InstallmentNo}) {
			parts = append(parts, a)
		}
	}
	return parts, left, nil
}

// ApplyOverpayment reduces the principal of future installments with an
// overpayment, the nearest (by Due date, then No) first, never below zero.
// principalReductions lists, nearest first, the installments reduced (only
// Principal is set); rest is what remains once all future principal is
// covered (the overpayment itself when it is not positive). Always
// Σ reductions + rest = overpayment. Interest of the reduced installments is
// not recomputed here: for menurun and anuitas the caller rebuilds the
// schedule from the new outstanding principal.
func ApplyOverpayment(overpayment int64, future []Installment) (principalReductions []Allocation, rest int64) {
	if overpayment <= 0 {
		return nil, overpayment
	}
	sorted := slices.Clone(future)
	slices.SortFunc(sorted, func(a, b Installment) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return cmp.Compare(a.No, b.No)
	})
	rest = overpayment
	for _, in := range sorted {
		if rest == 0 {
			break
		}
		var cut int64
		cut, rest = takeUpTo(rest, max(in.Principal, 0))
		if cut > 0 {
			principalReductions = append(principalReductions, Allocation{InstallmentNo: in.No, Principal: cut})
		}
	}
	return principalReductions, rest
}

// takeUpTo pays min(left, owed) and returns it with what is left.
func takeUpTo(left, owed int64) (paid, rest int64) {
	paid = min(left, owed)
	return paid, left - paid
}

// LateFee is the denda on an overdue amount: pctBasisPointsPerMonth (100 = 1%
// of the overdue amount per month) pro-rated by days late over a 30-day month,
// overdue × bp/10000 × days/30, rounded down. It is 0 when nothing is overdue,
// the rate is not positive or daysLate ≤ 0, and saturates at math.MaxInt64.
func LateFee(overdue int64, pctBasisPointsPerMonth int64, daysLate int) int64 {
	if overdue <= 0 || pctBasisPointsPerMonth <= 0 || daysLate <= 0 {
		return 0
	}
	fee := new(big.Int).Mul(big.NewInt(overdue), big.NewInt(pctBasisPointsPerMonth))
	fee.Mul(fee, big.NewInt(int64(daysLate)))
	fee.Quo(fee, big.NewInt(basisPoints*30))
	if !fee.IsInt64() {
		return math.MaxInt64
	}
	return fee.Int64()
}

// Kolektibilitas is a loan's quality bucket, 1 (lancar) to 5 (macet), set by
// how many days its oldest unpaid installment is late.
type Kolektibilitas int

const (
	KolLancar       Kolektibilitas = 1 // current: not late
	KolDPK          Kolektibilitas = 2 // dalam perhatian khusus: 1–90 days late
	KolKurangLancar Kolektibilitas = 3 // 91–120 days late
	KolDiragukan    Kolektibilitas = 4 // 121–180 days late
	KolMacet        Kolektibilitas = 5 // more than 180 days late
)

// BucketFor is the kolektibilitas of a loan daysLate days late (≤ 0: lancar).
func BucketFor(daysLate int) Kolektibilitas {
	switch {
	case daysLate <= 0:
		return KolLancar
	case daysLate <= 90:
		return KolDPK
	case daysLate <= 120:
		return KolKurangLancar
	case daysLate <= 180:
		return KolDiragukan
	default:
		return KolMacet
	}
}

// String is the Indonesian name of the bucket.
func (k Kolektibilitas) String() string {
	switch k {
	case KolLancar:
		return "Lancar"
	case KolDPK:
		return "Dalam Perhatian Khusus"
	case KolKurangLancar:
		return "Kurang Lancar"
	case KolDiragukan:
		return "Diragukan"
	case KolMacet:
		return "Macet"
	}
	return fmt.Sprintf("Kolektibilitas(%d)", int(k))
}
