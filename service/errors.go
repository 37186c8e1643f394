package service

import (
	"errors"
	"fmt"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// Code is the stable name of a refusal: what the admin API returns in
// {"error":{"code"}}, what the counter pages and the menus choose their
// sentence by, and what metrics count. A code never changes meaning.
type Code string

// The error vocabulary (CONTRACT §5.2 names the API's codes and statuses).
const (
	CodeInvalidRequest        Code = "invalid_request"
	CodeUnauthenticated       Code = "unauthenticated"
	CodeForbidden             Code = "forbidden"
	CodeNotFound              Code = "not_found"
	CodeAlreadyExists         Code = "already_exists"
	CodeAlreadyReversed       Code = "already_reversed"
	CodeIdempotencyInProgress Code = "idempotency_in_progress"
	CodeTooLarge              Code = "too_large"
	CodeInsufficientFunds     Code = "insufficient_funds"
	CodeEquityLocked          Code = "equity_locked"
	CodeOverpayment           Code = "overpayment"
	CodeMemberLeft            Code = "member_left"
	CodeIdempotencyKeyReused  Code = "idempotency_key_reused"
	CodeLoanClosed            Code = "loan_closed"
	CodeAboveLimit            Code = "amount_above_limit"
	CodeNotReversible         Code = "not_reversible"
	CodeCodeExpired           Code = "deposit_code_expired"
	CodeCodeUsed              Code = "deposit_code_used"
	CodeRateLimited           Code = "rate_limited"
	CodePINWrong              Code = "pin_wrong"
	CodePINLocked             Code = "pin_locked"
	CodePINNotSet             Code = "pin_not_set"
	CodeInternal              Code = "internal"
)

// refusal is one row of the vocabulary: its code, the HTTP status the API
// answers with, the errors of the lower layers it stands for, and the
// sentence a person is shown (Bahasa Indonesia, English).
type refusal struct {
	code    Code
	status  int
	matches []error
	id, en  string
}

// refusals is the one table of every refusal. Order matters where one
// error wraps several sentinels: the first row that matches wins (a member
// who left is ErrMemberLeft and ErrNotFound: member_left).
var refusals = []refusal{
	{CodeInvalidRequest, 400, []error{ledger.ErrInvalidJournal, ledger.ErrInvalidLoanTerms, members.ErrInvalid, members.ErrInvalidMSISDN, members.ErrAmbiguous, members.ErrPINFormat, members.ErrWeakPIN},
		"Isian tidak lengkap atau tidak sah.", "The request is incomplete or not valid."},
	{CodeUnauthenticated, 401, nil,
		"Silakan masuk terlebih dahulu.", "Please sign in first."},
	{CodeForbidden, 403, nil,
		"Anda tidak berwenang melakukan ini.", "You are not allowed to do this."},
	{CodeMemberLeft, 422, []error{ledger.ErrMemberLeft},
		"Anggota ini sudah keluar dari koperasi.", "This member has left the cooperative."},
	{CodeCodeExpired, 422, []error{ledger.ErrDepositCodeExpired},
		"Kode setor sudah kedaluwarsa.", "The deposit code has expired."},
	{CodeCodeUsed, 409, []error{ledger.ErrDepositCodeUsed},
		"Kode setor ini sudah dikonfirmasi; setorannya sudah tercatat.", "This deposit code was already confirmed; the deposit is recorded."},
	{CodeNotFound, 404, []error{ledger.ErrNotFound, members.ErrNotFound, ledger.ErrDepositCodeNotFound, ledger.ErrCrossCooperative},
		"Data tidak ditemukan.", "Not found."},
	{CodeAlreadyExists, 409, []error{members.ErrDuplicate, ledger.ErrLoanNumberTaken},
		"Data itu sudah ada.", "That already exists."},
	{CodeAlreadyReversed, 409, []error{ledger.ErrAlreadyReversed},
		"Transaksi ini sudah dibatalkan.", "This transaction was already reversed."},
	{CodeIdempotencyInProgress, 409, nil,
		"Permintaan yang sama sedang diproses.", "The same request is still being processed."},
	{CodeTooLarge, 413, nil,
		"Permintaan terlalu besar.", "The request is too large."},
	{CodeInsufficientFunds, 422, []error{ledger.ErrInsufficientFunds},
		"Saldo tidak cukup.", "The balance is not enough."},
	{CodeEquityLocked, 422, []error{ledger.ErrEquityLocked},
		"Simpanan pokok dan wajib tidak dapat ditarik selama masih anggota.", "Pokok and wajib savings cannot be withdrawn while a member."},
	{CodeOverpayment, 422, []error{ledger.ErrOverpayment},
		"Jumlah melebihi yang harus dibayar.", "The amount is more than is owed."},
	{CodeIdempotencyKeyReused, 422, []error{ledger.ErrIdempotencyConflict},
		"Kunci idempotensi sudah dipakai untuk permintaan lain.", "The idempotency key was used for another request."},
	{CodeLoanClosed, 422, []error{ledger.ErrLoanClosed},
		"Pinjaman ini sudah lunas.", "This loan is paid off."},
	{CodeAboveLimit, 422, []error{ledger.ErrAmountTooLarge},
		"Jumlah melebihi batas per transaksi.", "The amount is above the limit per transaction."},
	{CodeNotReversible, 422, []error{ledger.ErrNotReversible},
		"Transaksi jenis ini tidak dapat dibatalkan.", "This kind of transaction cannot be reversed."},
	{CodeRateLimited, 429, nil,
		"Terlalu banyak permintaan. Coba lagi sebentar lagi.", "Too many requests. Please try again shortly."},
	{CodePINWrong, 401, []error{members.ErrWrongPIN},
		"PIN salah.", "Wrong PIN."},
	{CodePINLocked, 403, []error{members.ErrPINLocked},
		"PIN terkunci. Minta kode aktivasi baru ke petugas koperasi.", "The PIN is locked. Ask the cooperative's staff for a new activation code."},
	{CodePINNotSet, 403, []error{members.ErrNoPIN},
		"PIN belum dibuat.", "No PIN has been set yet."},
	{CodeInternal, 500, nil,
		"Maaf, layanan sedang gangguan. Silakan coba lagi nanti.", "Sorry, the service is having a problem. Please try again later."},
}

func rowOf(c Code) refusal {
	for _, r := range refusals {
		if r.code == c {
			return r
		}
	}
	return rowOf(CodeInternal)
}

// Error is a refusal of the service layer: a Code, and for the logs what
// was refused and why. Field names the input at fault (invalid_request);
// Max is the most that would have been accepted (overpayment,
// amount_above_limit), 0 if none applies.
type Error struct {
	Code   Code
	Field  string
	Max    int64
	Detail string // for logs; never shown to a member
	Err    error  // the lower layer's error, if any
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// refuse builds an *Error.
func refuse(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Detail: fmt.Sprintf(format, args...)}
}

// invalid is an invalid_request naming the field at fault.
func invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// CodeOf is the code of err: an *Error's own, else the first row of the
// table whose sentinel err wraps, else internal. nil has no code ("").
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var se *Error
	if errors.As(err, &se) {
		return se.Code
	}
	var limit *ledger.RepayLimitError
	if errors.As(err, &limit) {
		return CodeOverpayment
	}
	for _, r := range refusals {
		for _, m := range r.matches {
			if errors.Is(err, m) {
				return r.code
			}
		}
	}
	return CodeInternal
}

// MaxOf is the most that would have been accepted, for a refusal that has
// one (overpayment, amount_above_limit), else 0.
func MaxOf(err error) int64 {
	var se *Error
	if errors.As(err, &se) && se.Max > 0 {
		return se.Max
	}
	var limit *ledger.RepayLimitError
	if errors.As(err, &limit) {
		return limit.Max
	}
	return 0
}

// Status is the HTTP status the admin API answers a code with.
func Status(c Code) int { return rowOf(c).status }

// Message is the sentence a person is shown for a code, in lang ("id"
// or "en"; anything else is Bahasa Indonesia).
func Message(c Code, lang string) string {
	r := rowOf(c)
	if lang == "en" {
		return r.en
	}
	return r.id
}

// Codes lists every code of the vocabulary, in table order (the API's
// OpenAPI document and the tests enumerate them).
func Codes() []Code {
	out := make([]Code, len(refusals))
	for i, r := range refusals {
		out[i] = r.code
	}
	return out
}
