package menus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// atAction puts a session on the PIN screen before action act, the flow's
// choices made, as the screens before would have left it.
func atAction(act ScreenID, lang string) *Session {
	s := worstSession(act, lang, "Maria Goreti Bria", "sukarela", "", 2)
	s.Screen, s.Next = scrPINConfirm, act
	return s
}

// TestMoneyRefusals checks that every refusal of the ledger becomes its own
// friendly END screen, chosen with errors.Is/As, with nothing but that
// screen shown, and that anything unexpected is the polite internal error
// with the detail in the log only.
func TestMoneyRefusals(t *testing.T) {
	ctx := context.Background()
	loanNo := "001/PJ..II/202" // longLoanNo as screens show it
	cases := []struct {
		act  ScreenID
		err  error
		want string
	}{
		{actRepay, ledger.ErrInsufficientFunds, "Saldo sukarela tidak cukup untuk membayar Rp999.999.999. Saldo sukarela Rp999.999.999. Tidak ada yang dipotong."},
		{actRepay, &ledger.RepayLimitError{LoanNo: "PJ-1", Amount: 999_999_999, Max: 1_853_334}, "Jumlah melebihi yang harus dibayar untuk pinjaman " + loanNo + ". Maksimal Rp1.853.334. Tidak ada yang dicatat."},
		{actRepay, ledger.ErrLoanClosed, "Pinjaman " + loanNo + " sudah lunas. Tidak ada yang dicatat."},
		{actStaffRepay, &ledger.RepayLimitError{Max: 5_000}, "Jumlah melebihi yang harus dibayar untuk pinjaman " + loanNo + ". Maksimal Rp5.000. Tidak ada yang dicatat."},
		{actStaffRepay, ledger.ErrLoanClosed, "Pinjaman " + loanNo + " sudah lunas. Tidak ada yang dicatat."},
		{actDepositCode, ledger.ErrAmountTooLarge, "Jumlah melebihi batas Rp999.999.999 per transaksi USSD. Tidak ada yang dicatat."},
		{actStaffCode, ledger.ErrDepositCodeUsed, "Kode setor ini sudah dikonfirmasi; setorannya sudah tercatat. Lihat Kas Saya Hari Ini."},
		{actStaffCode, ledger.ErrDepositCodeExpired, "Kode setor sudah kedaluwarsa. Tidak ada yang dicatat."},
		{actStaffCode, ledger.ErrDepositCodeNotFound, "Kode setor tidak ditemukan. Tidak ada yang dicatat."},
		{actStaffDeposit, errors.New("database on fire 246810"), T("id", "error.internal")},
		{actStaffRepay, ledger.ErrInsufficientFunds, T("id", "error.internal")}, // staff cash cannot run short: unexpected
		{actRepay, ledger.ErrIdempotencyConflict, T("id", "error.internal")},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %v", c.act, c.err), func(t *testing.T) {
			var logs bytes.Buffer
			books := &worstBooks{err: c.err}
			e := NewEngine(worstDirectory{}, books, slog.New(slog.NewTextHandler(&logs, nil)))
			s := atAction(c.act, "id")
			res := e.Input(ctx, s, "975310")
			assert.True(t, res.Reply.End)
			assert.Equal(t, c.want, res.Reply.Text)
			assert.Nil(t, s.Vars, "an ended session keeps no choices")
			if c.want == T("id", "error.internal") {
				assert.Equal(t, OutcomeError, res.Outcome)
				assert.Contains(t, logs.String(), "ussd hop failed")
			} else {
				assert.Empty(t, logs.String())
			}
			assert.NotContains(t, logs.String(), "975310", "the PIN is never logged")
		})
	}
}

// TestMoneyStepKeys checks what the money steps hand the ledger: the
// caller's cooperative, the member or staff id of the caller, an
// idempotency key from (provider, session, step) that a re-run of the same
// hop repeats, and the caller as actor.
func TestMoneyStepKeys(t *testing.T) {
	ctx := context.Background()
	books := &worstBooks{}
	e := NewEngine(worstDirectory{}, books, nil)
	run := func(act ScreenID) Result {
		s := atAction(act, "en")
		before := *s
		before.Vars = map[string]string{}
		for k, v := range s.Vars {
			before.Vars[k] = v
		}
		res := e.Input(ctx, s, "975310")
		again := e.Input(ctx, &before, "975310") // the hop run again from the state before it
		assert.Equal(t, res.Reply, again.Reply, "a re-run answers the same")
		return res
	}

	res := run(actRepay)
	assert.Equal(t, "Payment of Rp999.999.999 successful. Loan outstanding Rp999.999.999. Ref 9999999999 The loan is paid off.", res.Reply.Text)
	require.Len(t, books.repays, 2)
	assert.Equal(t, books.repays[0], books.repays[1])
	assert.Equal(t, ledger.Repayment{CooperativeID: 1, LoanID: 1, Amount: 999_999_999, FromSukarela: true, MemberID: 7,
		Key: "ussd:test:worst:n:repay", Actor: "member:7"}, books.repays[0])

	run(actStaffRepay)
	assert.Equal(t, ledger.Repayment{CooperativeID: 1, LoanID: 1, Amount: 999_999_999, StaffID: 7,
		Key: "ussd:test:worst:n:cash_repay", Actor: "staff:7"}, books.repays[2])

	res = run(actStaffDeposit)
	assert.Contains(t, res.Reply.Text, "Deposit of Rp999.999.999 Voluntary for Maria Goreti (KSP-SS/20..000001234) recorded. Ref 9999999999")
	assert.Equal(t, ledger.CashDeposit{CooperativeID: 1, StaffID: 7, MemberID: 7, Account: ledger.Sukarela, Amount: 999_999_999,
		Key: "ussd:test:worst:n:cash_deposit", Actor: "staff:7"}, books.deposits[0])

	res = run(actDepositCode)
	assert.Equal(t, "Your deposit code: 999999\nPay Rp999.999.999 (Voluntary) in cash to a teller or collector before 31/12/2026 23:59. The code is also sent by SMS.", res.Reply.Text)
	assert.Equal(t, ledger.DepositCodeRequest{CooperativeID: 1, MemberID: 7, Account: ledger.Sukarela, Amount: 999_999_999,
		Key: "ussd:test:worst:n:deposit_code"}, books.codes[0])

	run(actStaffCode)
	assert.Equal(t, []string{"999999", "999999"}, books.confirms)

	t.Run("a session without a key moves no money", func(t *testing.T) {
		books := &worstBooks{}
		e := NewEngine(worstDirectory{}, books, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
		for _, act := range []ScreenID{actRepay, actStaffRepay, actStaffDeposit, actDepositCode} {
			s := atAction(act, "id")
			s.Key = ""
			res := e.Input(ctx, s, "975310")
			assert.Equal(t, OutcomeError, res.Outcome, act)
		}
		assert.Empty(t, books.repays)
		assert.Empty(t, books.deposits)
		assert.Empty(t, books.codes)
	})
	t.Run("a member cannot reach a staff action, nor staff a member's", func(t *testing.T) {
		books := &worstBooks{}
		e := NewEngine(worstDirectory{}, books, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
		s := atAction(actStaffDeposit, "id")
		s.Who.Holder.Kind = members.KindMember
		assert.Equal(t, OutcomeError, e.Input(ctx, s, "975310").Outcome)
		s = atAction(actRepay, "id")
		s.Who.Holder.Kind = members.KindStaff
		assert.Equal(t, OutcomeError, e.Input(ctx, s, "975310").Outcome)
		assert.Empty(t, books.repays)
		assert.Empty(t, books.deposits)
	})
	t.Run("a deposit code reissued between look-up and confirmation", func(t *testing.T) {
		books := &worstBooks{receiptOf: func(string) ledger.Receipt {
			return ledger.Receipt{JournalID: 42, Amount: 10_000, Account: ledger.Wajib}
		}}
		e := NewEngine(worstDirectory{}, books, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
		res := e.Input(ctx, atAction(actStaffCode, "id"), "975310")
		assert.Equal(t, "Setoran kode 999999: Rp10.000 Wajib untuk anggota pemilik kode tercatat. Ref 42", res.Reply.Text,
			"the screen says what was posted, not what was shown before")
	})
}

// TestStaffLookups: what staff type is checked within their cooperative
// and explained when it does not fit.
func TestStaffLookups(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		dirErr, booksErr error
		screen           ScreenID
		in, want         string
	}{
		{members.ErrNotFound, nil, scrStaffDepNo, "A-9", "Nomor anggota tidak ditemukan."},
		{members.ErrAmbiguous, nil, scrStaffRepNo, "2", "Beberapa anggota cocok. Ketik nomor lengkap."},
		{nil, nil, scrStaffCode, "12345", "Kode setor 6 angka."},
		{nil, ledger.ErrDepositCodeExpired, scrStaffCode, "123456", "Kode setor sudah kedaluwarsa."},
		{nil, ledger.ErrDepositCodeUsed, scrStaffCode, "123456", "Kode setor sudah dipakai."},
		{nil, ledger.ErrDepositCodeNotFound, scrStaffCode, "123456", "Kode setor tidak ditemukan."},
	} {
		e := NewEngine(worstDirectory{err: c.dirErr}, &worstBooks{err: c.booksErr}, nil)
		s := worstSession(c.screen, "id", "Yosef", "", "", 1)
		s.Screen = c.screen
		res := e.Input(ctx, s, c.in)
		assert.Equal(t, OutcomeInvalid, res.Outcome, c.want)
		assert.True(t, strings.HasPrefix(res.Reply.Text, c.want+"\n"), res.Reply.Text)
	}
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int64{
		"50000": 50_000, "50.000": 50_000, "1.250.000": 1_250_000, "999.999.999": 999_999_999, "1": 1, "050000": 50_000,
		"9999999999999": 9_999_999_999_999,
	} {
		got, ok := parseAmount(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0", "000", "-5", "+5", "5,000", "50,000", "5.00", "5.0000", ".500", "500.", "1..000",
		"0.500", "1234.567", "Rp5000", "5 000", "12a", "99999999999999", "١٢٣"} {
		_, ok := parseAmount(in)
		assert.False(t, ok, in)
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"50000", "1.250.000", "5,00", "0", "99999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, ok := parseAmount(in)
		if !ok {
			return
		}
		if n <= 0 || n > 9_999_999_999_999 {
			t.Fatalf("%q parsed as %d", in, n)
		}
		if strings.ReplaceAll(in, ".", "") != fmt.Sprint(n) && strings.TrimLeft(strings.ReplaceAll(in, ".", ""), "0") != fmt.Sprint(n) {
			t.Fatalf("%q parsed as %d", in, n)
		}
	})
}

func TestPlain(t *testing.T) {
	assert.Equal(t, "Yohanés Bère N'Dao \"Bapak\" Müller-Lüdenscheidt", plain("Yohanés Bère N’Dao “Bapak” Müller-Lüdenscheidt"),
		"é and è: é is GSM-7, è too; the quotes become plain")
	assert.Equal(t, "Ana ? Bo", plain("Ana 😀 Bo"))
	assert.Equal(t, "a b", plain("a\nb"), "a name cannot break a screen's lines")
	_, limit := ScreenCost(plain("Ñoño ’ ç ✓ 中"))
	assert.Equal(t, ScreenLimitGSM7, limit)
}

// TestPINStandsForMoneyOnlyAMoment: a PIN given in the session lets a
// money step go ahead with 1 Ya only within PINFreshFor; after a pause, or
// on Freeflow (no hop numbers: a forged hop looks like the member's), the
// PIN itself is the go-ahead.
func TestPINStandsForMoneyOnlyAMoment(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	books := &worstBooks{}
	e := NewEngine(worstDirectory{}, books, nil)
	e.SetClock(func() time.Time { return now })
	at := func(provider string, ago time.Duration) *Session {
		s := atAction(actRepay, "id")
		s.Provider, s.Authed, s.AuthedAt = provider, true, now.Add(-ago).Unix()
		return s
	}
	assert.Equal(t, scrConfirm, e.confirm(at("africastalking", 10*time.Second), actRepay))
	assert.Equal(t, scrPINConfirm, e.confirm(at("africastalking", PINFreshFor+time.Second), actRepay))
	assert.Equal(t, scrPINConfirm, e.confirm(at("freeflow", time.Second), actRepay))
	legacy := at("hubtel", 0)
	legacy.AuthedAt = 0 // a session stored before AuthedAt existed
	assert.Equal(t, scrPINConfirm, e.confirm(legacy, actRepay))

	// 1 Ya on a confirmation left standing past the window asks the PIN.
	s := at("africastalking", PINFreshFor+time.Second)
	s.Screen, s.Next = scrConfirm, actRepay
	res := e.Input(ctx, s, "1")
	assert.False(t, res.Reply.End)
	assert.Equal(t, scrPIN, res.Screen, res.Reply.Text)
	assert.Empty(t, books.repays, "nothing posted on a stale PIN")
	res = e.Input(ctx, s, "975310")
	assert.Len(t, books.repays, 1, "the PIN again, then the repayment")
	assert.True(t, res.Reply.End)
}

// TestPlainShortcutIsPlain: the ASCII shortcut answers what the rune-by-rune
// spelling answers, for any text and for every ASCII byte.
func TestPlainShortcutIsPlain(t *testing.T) {
	for c := range 0x80 {
		s := "a" + string(rune(c)) + "b"
		require.Equal(t, spellPlain(s), plain(s), "byte %#x", c)
	}
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.String(), rapid.StringMatching(`[ -~\t\n]{0,30}`), rapid.Map(rapid.SliceOf(rapid.Byte()), func(b []byte) string { return string(b) })).Draw(t, "s")
		require.Equal(t, spellPlain(s), plain(s))
	})
}
