package ledger

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Loan schedules (jadwal angsuran): pure arithmetic, no database.
//
// Interest rates are integers in basis points per month: 100 bp = 1% per
// month, 150 bp = 1.5% per month. A rate is therefore always exact; rates
// finer than 0.01% per month cannot be expressed (no cooperative quotes them).
// Every amount is whole rupiah in int64. Intermediate products are computed in
// math/big, so rounding is exact: "round" below means half up (x.5 → x+1).

// ErrInvalidLoanTerms is returned, wrapped with the reason, when a schedule
// cannot be built from the given principal, rate, method, term or date.
var ErrInvalidLoanTerms = errors.New("invalid loan terms")

// Limits of BuildSchedule and RebuildSchedule. They are sanity bounds, far
// beyond any cooperative loan, that also keep every sum inside int64.
const (
	// MaxScheduleTermMonths is the longest term accepted: 30 years.
	MaxScheduleTermMonths = 360
	// MaxSchedulePrincipal is the largest principal accepted: Rp1.000 triliun.
	MaxSchedulePrincipal int64 = 1_000_000_000_000_000
	// MaxScheduleRateBP is the highest monthly rate accepted: 100% per month.
	MaxScheduleRateBP int64 = 10_000
)

// basisPoints is the denominator of a rate: 10000 bp = 100%.
const basisPoints = 10_000

// Method is how a loan's interest is computed.
type Method string

const (
	// MethodFlat charges the original principal × rate every month; the
	// principal is repaid in equal parts.
	MethodFlat Method = "flat"
	// MethodMenurun (declining balance) repays the principal in equal parts and
	// charges the remaining principal × rate, so installments shrink.
	MethodMenurun Method = "menurun"
	// MethodAnuitas (annuity) charges the remaining principal × rate inside a
	// fixed installment P·i / (1 − (1+i)^−n); the interest share falls.
	MethodAnuitas Method = "anuitas"
)

// ParseMethod reads a method name ("flat", "menurun", "anuitas"), ignoring
// case and surrounding spaces.
func ParseMethod(s string) (Method, error) {
	m := Method(strings.ToLower(strings.TrimSpace(s)))
	if !m.Valid() {
		return "", fmt.Errorf("%w: unknown interest method %q (want flat, menurun or anuitas)", ErrInvalidLoanTerms, s)
	}
	return m, nil
}

// Valid reports whether m is one of the known methods.
func (m Method) Valid() bool {
	switch m {
	case MethodFlat, MethodMenurun, MethodAnuitas:
		return true
	}
	return false
}

// Installment is one line of a schedule (angsuran).
type Installment struct {
	No        int       // 1-based
	Due       time.Time // jatuh tempo: a date, at midnight UTC
	Principal int64     // pokok
	Interest  int64     // bunga / jasa
}

// Total is the amount due for the installment: principal plus interest.
func (in Installment) Total() int64 { return in.Principal + in.Interest }

// BuildSchedule returns the installments of a new loan of principal rupiah at
// rateBP basis points per month (100 = 1%), repaid over termMonths months, the
// first on firstDue and then monthly on the same day of the month (clamped to
// the month's last day: Jan 31 → Feb 28/29 → Mar 31).
//
// The principal parts always sum exactly to principal:
//   - flat: principal/n in every installment, the remainder in the last;
//     interest round(principal × rate) every month.
//   - menurun: principal parts as flat; interest round(remaining × rate).
//   - anuitas: installment A = round(P·i / (1 − (1+i)^−n)); interest
//     round(remaining × rate), principal A − interest, and the last
//     installment takes exactly the principal still remaining. A zero rate
//     gives equal parts like menurun.
//
// firstDue's calendar date (in its own location) is used; Due values are
// midnight UTC. Errors wrap ErrInvalidLoanTerms.
func BuildSchedule(principal int64, rateBasisPoints int64, method Method, termMonths int, firstDue time.Time) ([]Installment, error) {
	if err := checkLoanTerms(principal, rateBasisPoints, method, termMonths, firstDue); err != nil {
		return nil, err
	}
	switch method {
	case MethodFlat:
		return flatSchedule(principal, principal, rateBasisPoints, termMonths, firstDue), nil
	case MethodMenurun:
		return menurunSchedule(principal, rateBasisPoints, termMonths, firstDue), nil
	default: // MethodAnuitas, checked above
		return anuitasSchedule(principal, rateBasisPoints, termMonths, firstDue), nil
	}
}

// RebuildSchedule returns the remaining schedule of a running loan imported
// from another system: outstanding principal still owed, repaid over
// remainingMonths months from nextDue. Its principal parts sum exactly to
// outstanding. Flat interest stays originalPrincipal × rate per month;
// menurun and anuitas interest runs on the outstanding principal (anuitas
// recomputes the fixed installment for the remaining term).
//
// Installments are numbered from 1; a caller that keeps the paid ones can
// renumber. Errors wrap ErrInvalidLoanTerms.
func RebuildSchedule(outstanding int64, rateBP int64, method Method, remainingMonths int, nextDue time.Time, originalPrincipal int64) ([]Installment, error) {
	if err := checkLoanTerms(outstanding, rateBP, method, remainingMonths, nextDue); err != nil {
		return nil, fmt.Errorf("rebuild schedule: %w", err)
	}
	if originalPrincipal < outstanding || originalPrincipal > MaxSchedulePrincipal {
		return nil, fmt.Errorf("rebuild schedule: %w: original principal %d must be between the outstanding %d and %d",
			ErrInvalidLoanTerms, originalPrincipal, outstanding, MaxSchedulePrincipal)
	}
	switch method {
	case MethodFlat:
		return flatSchedule(outstanding, originalPrincipal, rateBP, remainingMonths, nextDue), nil
	case MethodMenurun:
		return menurunSchedule(outstanding, rateBP, remainingMonths, nextDue), nil
	default:
		return anuitasSchedule(outstanding, rateBP, remainingMonths, nextDue), nil
	}
}

func checkLoanTerms(principal, rateBP int64, method Method, months int, firstDue time.Time) error {
	switch {
	case principal <= 0:
		return fmt.Errorf("%w: principal %d must be positive", ErrInvalidLoanTerms, principal)
	case principal > MaxSchedulePrincipal:
		return fmt.Errorf("%w: principal %d above the limit %d", ErrInvalidLoanTerms, principal, MaxSchedulePrincipal)
	case rateBP < 0:
		return fmt.Errorf("%w: rate %d bp must not be negative", ErrInvalidLoanTerms, rateBP)
	case rateBP > MaxScheduleRateBP:
		return fmt.Errorf("%w: rate %d bp per month above the limit %d", ErrInvalidLoanTerms, rateBP, MaxScheduleRateBP)
	case !method.Valid():
		return fmt.Errorf("%w: unknown interest method %q", ErrInvalidLoanTerms, string(method))
	case months < 1 || months > MaxScheduleTermMonths:
		return fmt.Errorf("%w: term %d months must be 1 to %d", ErrInvalidLoanTerms, months, MaxScheduleTermMonths)
	case firstDue.IsZero():
		return fmt.Errorf("%w: first due date missing", ErrInvalidLoanTerms)
	}
	return nil
}

// flatSchedule repays principal in equal parts and charges interestBase × rate
// every month (interestBase is the original principal).
func flatSchedule(principal, interestBase, rateBP int64, n int, firstDue time.Time) []Installment {
	out := equalPrincipalParts(principal, n, firstDue)
	interest := scheduleRoundRate(interestBase, rateBP)
	for k := range out {
		out[k].Interest = interest
	}
	return out
}

func menurunSchedule(principal, rateBP int64, n int, firstDue time.Time) []Installment {
	out := equalPrincipalParts(principal, n, firstDue)
	remaining := principal
	for k := range out {
		out[k].Interest = scheduleRoundRate(remaining, rateBP)
		remaining -= out[k].Principal
	}
	return out
}

func anuitasSchedule(principal, rateBP int64, n int, firstDue time.Time) []Installment {
	if rateBP == 0 {
		return equalPrincipalParts(principal, n, firstDue)
	}
	payment := annuityPayment(principal, rateBP, n)
	out := make([]Installment, n)
	remaining := principal
	for k := range out {
		interest := scheduleRoundRate(remaining, rateBP)
		// payment ≥ round(principal × rate) ≥ interest, because the remaining
		// principal never grows; so the principal part is never negative.
		part := min(max(payment-interest, 0), remaining)
		if k == n-1 {
			part = remaining
		}
		out[k] = Installment{No: k + 1, Due: monthlyDue(firstDue, k), Principal: part, Interest: interest}
		remaining -= part
	}
	return out
}

// equalPrincipalParts returns n installments without interest whose principal
// is principal/n, the remainder added to the last one.
func equalPrincipalParts(principal int64, n int, firstDue time.Time) []Installment {
	out := make([]Installment, n)
	part := principal / int64(n)
	for k := range out {
		out[k] = Installment{No: k + 1, Due: monthlyDue(firstDue, k), Principal: part}
	}
	out[n-1].Principal += principal - part*int64(n)
	return out
}

// annuityPayment is round(P·i / (1 − (1+i)^−n)) with i = rateBP/10000, exactly:
// P·r·(B+r)^n / (B·((B+r)^n − B^n)) where B = 10000 and r = rateBP > 0.
func annuityPayment(principal, rateBP int64, n int) int64 {
	b := big.NewInt(basisPoints)
	exp := big.NewInt(int64(n))
	growth := new(big.Int).Exp(big.NewInt(basisPoints+rateBP), exp, nil) // (B+r)^n
	base := new(big.Int).Exp(b, exp, nil)                                // B^n

	num := new(big.Int).Mul(big.NewInt(principal), big.NewInt(rateBP))
	num.Mul(num, growth)
	den := new(big.Int).Sub(growth, base)
	den.Mul(den, b)
	return roundHalfUpQuo(num, den)
}

// scheduleRoundRate is round(amount × rateBP / 10000) for amount, rateBP ≥ 0.
func scheduleRoundRate(amount, rateBP int64) int64 {
	num := new(big.Int).Mul(big.NewInt(amount), big.NewInt(rateBP))
	return roundHalfUpQuo(num, big.NewInt(basisPoints))
}

// roundHalfUpQuo is num/den rounded half up, for num ≥ 0 and den > 0; the
// callers' limits keep the result inside int64.
func roundHalfUpQuo(num, den *big.Int) int64 {
	q := new(big.Int).Lsh(num, 1) // (2·num + den) / (2·den)
	q.Add(q, den)
	return q.Quo(q, new(big.Int).Lsh(den, 1)).Int64()
}

// monthlyDue is the due date k months after first, keeping first's day of the
// month and clamping it to the length of each month.
func monthlyDue(first time.Time, k int) time.Time {
	y, m, d := first.Date()
	month := time.Date(y, m+time.Month(k), 1, 0, 0, 0, 0, time.UTC)
	lastDay := month.AddDate(0, 1, -1).Day()
	return time.Date(month.Year(), month.Month(), min(d, lastDay), 0, 0, 0, 0, time.UTC)
}
