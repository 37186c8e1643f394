package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// The money flows of the member and staff menus, end to end through HTTP on
// both backend pairs, against the demo cooperative: Maria (A-001, no loan),
// Yohanes (A-002, a loan two installments behind, Rp75.000 sukarela) and
// Theresia (A-003, a loan due in a few days, Rp320.000 sukarela) — the last
// two on one family phone — a teller and a collector.

const (
	phoneMaria     = "081234567890"
	phoneFamily    = "081234567891" // 1 Yohanes, 2 Theresia
	phoneTeller    = "081299990000"
	phoneCollector = "081299990001"
	pinMaria       = "246810"
	pinYohanes     = "135790"
	pinTheresia    = "802461"
	pinTeller      = "975310"
	pinCollector   = "864200"
)

var demoPINs = []string{pinMaria, pinYohanes, pinTheresia, pinTeller, pinCollector}

// books reads the demo cooperative's money straight from the ledger.
type books struct {
	t    *testing.T
	env  *testEnv
	coop int64
}

func demoBooks(t *testing.T, env *testEnv) books {
	t.Helper()
	coops, err := env.app.dir.CooperativesForCode(context.Background(), "*123#")
	require.NoError(t, err)
	require.Len(t, coops, 1)
	return books{t: t, env: env, coop: coops[0].ID}
}

func (b books) member(no string) int64 {
	b.t.Helper()
	m, err := b.env.app.dir.MemberByNo(context.Background(), b.coop, no)
	require.NoError(b.t, err)
	return m.ID
}

func (b books) balances(no string) ledger.MemberBalances {
	b.t.Helper()
	bal, err := b.env.app.books.MemberBalances(context.Background(), b.coop, b.member(no))
	require.NoError(b.t, err)
	return bal
}

func (b books) loan(no string) ledger.LoanInfo {
	b.t.Helper()
	loans, err := b.env.app.books.LoanInfo(context.Background(), b.coop, b.member(no))
	require.NoError(b.t, err)
	require.Len(b.t, loans, 1)
	return loans[0]
}

func (b books) account(kind ledger.AccountKind, owner ledger.Owner) int64 {
	b.t.Helper()
	id, err := b.env.app.books.AccountID(context.Background(), b.coop, kind, owner)
	require.NoError(b.t, err)
	bal, err := b.env.app.books.Balance(context.Background(), id)
	require.NoError(b.t, err)
	return bal
}

func (b books) count(query string, args ...any) int {
	b.t.Helper()
	var n int
	db := b.env.app.db
	require.NoError(b.t, db.GetContext(context.Background(), &n, db.Rebind(query), args...))
	return n
}

// posted counts what money steps leave behind: journals, SMS and deposit codes.
func (b books) posted() [3]int {
	return [3]int{
		b.count(`SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, b.coop),
		b.count(`SELECT COUNT(*) FROM outbox WHERE cooperative_id = ?`, b.coop),
		b.count(`SELECT COUNT(*) FROM deposit_codes WHERE cooperative_id = ?`, b.coop),
	}
}

func (b books) sms(template, phone string) int {
	return b.count(`SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND template = ? AND phone = ?`, b.coop, template, phone)
}

func (b books) reconciles() {
	b.t.Helper()
	rep, err := b.env.app.books.Reconcile(context.Background(), "")
	require.NoError(b.t, err)
	assert.True(b.t, rep.OK, "the books reconcile: %v", rep.Problems)
}

// hopTwice sends the last input of a journey, then the telco sends the
// same hop again: the same reply, and nothing more happens.
func hopTwice(t *testing.T, b books, p *ussdtest.Phone, input string) ussdtest.Screen {
	t.Helper()
	ctx := context.Background()
	s, err := p.Send(ctx, input)
	require.NoError(t, err)
	after := b.posted()
	again, err := p.Retry(ctx)
	require.NoError(t, err)
	assert.Equal(t, s, again, "a retried hop gets the identical reply")
	assert.Equal(t, after, b.posted(), "and posts nothing")
	return s
}

var depositCodeOnScreen = regexp.MustCompile(`Kode setor Anda: (\d{6})\n`)

func TestDepositCodeConfirmedByStaff(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		b := demoBooks(t, env)
		before := b.balances("A-001")
		member := env.phone(phoneMaria)
		journey(t, member, "2", "2", "150.000", "1")
		s := hopTwice(t, b, member, pinMaria)
		require.True(t, s.End)
		m := depositCodeOnScreen.FindStringSubmatch(s.Text)
		require.NotNil(t, m, s.Text)
		code := m[1]
		assert.Regexp(t, `^Kode setor Anda: \d{6}\nBayar tunai Rp150\.000 \(Sukarela\) ke teller atau kolektor sebelum \d\d/\d\d/\d{4} \d\d:\d\d\. Kode juga dikirim lewat SMS\.$`, s.Text)
		assert.Equal(t, before, b.balances("A-001"), "no money moves for a deposit code")
		assert.Equal(t, 1, b.sms(ledger.TmplDepositCode, "+62"+phoneMaria[1:]), "the code is sent by SMS")

		teller := env.phone(phoneTeller)
		screens := journey(t, teller, "3", pinTeller, code)
		assert.Equal(t, "Kode "+code+": Maria Goreti Bria (A-001)\nSukarela Rp150.000. Terima?\n1 Ya\n2 Batal\n0 Kembali\n00 Menu utama", last(screens).Text)
		s = hopTwice(t, b, teller, "1")
		assert.Regexp(t, `^Setoran kode `+code+`: Rp150\.000 Sukarela untuk Maria Goreti Bria \(A-001\) tercatat\. Ref \d+$`, s.Text)
		after := b.balances("A-001")
		assert.Equal(t, before.Sukarela+150_000, after.Sukarela, "the deposit is posted exactly once")
		assert.Equal(t, 1, b.sms(ledger.TmplDepositReceipt, "+62"+phoneMaria[1:]), "one receipt")

		// The same code again: refused, nothing posted.
		posted := b.posted()
		again := journey(t, env.phone(phoneTeller), "3", pinTeller, code)
		assert.Equal(t, "Kode setor sudah dipakai.\nKode setor (6 angka):\n0 Kembali", last(again).Text)
		assert.Equal(t, posted, b.posted())
		assert.Equal(t, after, b.balances("A-001"))

		s = last(journey(t, env.phone(phoneTeller), "4", pinTeller))
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Kas Saya Hari Ini\n1 penerimaan\nTotal Rp150.000"}, s)
		b.reconciles()
		assertNoSecretsLogged(t, env, append(demoPINs, code)...)
	})
}

func TestMemberRepaysFromSukarela(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		b := demoBooks(t, env)
		loan := b.loan("A-003")
		due, dueOn, err := env.app.books.NextInstallment(ctx, b.coop, loan.LoanID)
		require.NoError(t, err)
		interest := loan.Principal * 150 / 10_000 // flat 1.5% a month
		before, income := b.balances("A-003"), b.account(ledger.InterestIncome, ledger.Owner{})

		p := env.phone(phoneFamily)
		screens := journey(t, p, "2", "3")
		assert.Equal(t, fmt.Sprintf("PJ-0001 angsuran %s tgl %s\nSukarela Rp320.000\n1 Bayar angsuran %s\n2 Jumlah lain\n0 Kembali",
			ledger.FormatRupiah(due), dueOn.Format("02/01/2006"), ledger.FormatRupiah(due)), last(screens).Text)
		s, err := p.Send(ctx, "1")
		require.NoError(t, err)
		assert.Equal(t, "Bayar "+ledger.FormatRupiah(due)+" dari Simpanan Sukarela untuk pinjaman PJ-0001?\nMasukkan PIN:\n0 Kembali\n00 Menu utama", s.Text)
		s = hopTwice(t, b, p, pinTheresia)
		left := loan.Outstanding - (due - interest)
		assert.Regexp(t, `^Pembayaran `+regexp.QuoteMeta(ledger.FormatRupiah(due))+` berhasil\. Sisa pinjaman `+
			regexp.QuoteMeta(ledger.FormatRupiah(left))+`\. Ref \d+$`, s.Text)
		assert.True(t, s.End)

		after := b.balances("A-003")
		assert.Equal(t, before.Sukarela-due, after.Sukarela, "sukarela down by the payment, once")
		assert.Equal(t, left, b.loan("A-003").Outstanding, "the loan down by the principal part")
		assert.Equal(t, income+interest, b.account(ledger.InterestIncome, ledger.Owner{}), "interest income up by the interest part")
		assert.Equal(t, 1, b.sms(ledger.TmplRepaymentReceipt, "+62"+phoneFamily[1:]), "one SMS receipt")
		b.reconciles()
		assertNoSecretsLogged(t, env, demoPINs...)
	})
}

func TestNotEnoughSukarelaPostsNothing(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		b := demoBooks(t, env)
		before, loan, posted := b.balances("A-002"), b.loan("A-002"), b.posted()
		require.Positive(t, loan.Arrears, "the demo loan is behind")
		p := env.phone(phoneFamily)
		screens := journey(t, p, "1", "3", "1")
		assert.Regexp(t, `^PJ-0002 tunggakan Rp[\d.]+\nSukarela Rp75\.000\n1 Bayar angsuran Rp[\d.]+\n2 Jumlah lain\n0 Kembali$`, screens[2].Text)
		s := hopTwice(t, b, p, pinYohanes)
		assert.True(t, s.End)
		assert.Regexp(t, `^Saldo sukarela tidak cukup untuk membayar Rp[\d.]+\. Saldo sukarela Rp75\.000\. Tidak ada yang dipotong\.$`, s.Text)
		assert.Equal(t, posted, b.posted(), "nothing posted, no SMS")
		assert.Equal(t, before, b.balances("A-002"))
		assert.Equal(t, loan, b.loan("A-002"))

		// More than the loan owes is refused the same way.
		s = last(journey(t, env.phone(phoneFamily), "2", "3", "2", "5000000", pinTheresia))
		assert.Regexp(t, `^Jumlah melebihi yang harus dibayar untuk pinjaman PJ-0001\. Maksimal Rp[\d.]+\. Tidak ada yang dicatat\.$`, s.Text)
		assert.Equal(t, posted, b.posted())
		b.reconciles()
	})
}

func TestStaffTakeCash(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		b := demoBooks(t, env)
		collector := ledger.Owner{StaffID: staffID(t, env, b, phoneCollector)}
		cash := b.account(ledger.CollectorCash, collector)
		before := b.balances("A-002")

		// 1 Terima Setoran: the collector types a shortened member number.
		p := env.phone(phoneCollector)
		screens := journey(t, p, "1", pinCollector, "a002")
		assert.Equal(t, "Yohanes Bere (A-002)\n1 Wajib\n2 Sukarela\n0 Kembali\n00 Menu utama", last(screens).Text)
		screens = append(screens, must(p.Send(context.Background(), "2")), must(p.Send(context.Background(), "40.000")))
		assert.Equal(t, "Terima Rp40.000 Sukarela dari Yohanes Bere (A-002)?\n1 Ya\n2 Batal\n0 Kembali\n00 Menu utama", last(screens).Text)
		s := hopTwice(t, b, p, "1")
		assert.Regexp(t, `^Setoran Rp40\.000 Sukarela untuk Yohanes Bere \(A-002\) tercatat\. Ref \d+$`, s.Text)
		assert.Equal(t, before.Sukarela+40_000, b.balances("A-002").Sukarela, "once")
		assert.Equal(t, cash+40_000, b.account(ledger.CollectorCash, collector), "into the collector's cash")
		assert.Equal(t, 1, b.sms(ledger.TmplDepositReceipt, "+62"+phoneFamily[1:]), "the member's SMS receipt")

		// 2 Terima Angsuran: the installment due is the hint.
		loan := b.loan("A-002")
		p = env.phone(phoneCollector)
		screens = journey(t, p, "2", pinCollector, "A-002")
		assert.Regexp(t, `^Yohanes Bere \(A-002\)\nPJ-0002 tunggakan Rp[\d.]+\nJumlah diterima \(Rp\):\n0 Kembali\n00 Menu utama$`, last(screens).Text)
		screens = append(screens, must(p.Send(context.Background(), "100000")))
		assert.Equal(t, "Terima Rp100.000 untuk PJ-0002 dari Yohanes Bere (A-002)?\n1 Ya\n2 Batal\n0 Kembali\n00 Menu utama", last(screens).Text)
		s = hopTwice(t, b, p, "1")
		after := b.loan("A-002")
		assert.Less(t, after.Outstanding, loan.Outstanding, "the loan owes less")
		assert.Equal(t, fmt.Sprintf("Angsuran Rp100.000 pinjaman PJ-0002 tercatat. Sisa pinjaman %s. Ref ", ledger.FormatRupiah(after.Outstanding)),
			regexp.MustCompile(`\d+$`).ReplaceAllString(s.Text, ""))
		assert.Equal(t, cash+140_000, b.account(ledger.CollectorCash, collector))
		assert.Equal(t, before.Sukarela+40_000, b.balances("A-002").Sukarela, "cash repayments leave sukarela alone")
		assert.Equal(t, 1, b.sms(ledger.TmplRepaymentReceipt, "+62"+phoneFamily[1:]))

		// 4 Kas Saya Hari Ini: both, for the collector only.
		s = last(journey(t, env.phone(phoneCollector), "4", pinCollector))
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Kas Saya Hari Ini\n2 penerimaan\nTotal Rp140.000"}, s)
		s = last(journey(t, env.phone(phoneTeller), "4", pinTeller))
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Kas Saya Hari Ini\n0 penerimaan\nTotal Rp0"}, s)

		// Another cooperative's member number is not found.
		other, err := env.app.dir.CreateCooperative(context.Background(), "LAIN", "Kopdit Lain", []string{"*777#"})
		require.NoError(t, err)
		_, err = env.app.dir.AddMember(context.Background(), other.ID, members.NewMember{No: "X-1", Name: "Orang Lain", Phone: "081300000001"})
		require.NoError(t, err)
		s = last(journey(t, env.phone(phoneTeller), "1", pinTeller, "X-1"))
		assert.Equal(t, "Nomor anggota tidak ditemukan.\nNomor anggota:\n0 Kembali", s.Text)
		b.reconciles()
		assertNoSecretsLogged(t, env, demoPINs...)
	})
}

func staffID(t *testing.T, env *testEnv, b books, phone string) int64 {
	t.Helper()
	var id int64
	db := env.app.db
	require.NoError(t, db.GetContext(context.Background(), &id, db.Rebind(`SELECT id FROM staff WHERE cooperative_id = ? AND phone = ?`),
		b.coop, "+62"+phone[1:]))
	return id
}

func must(s ussdtest.Screen, err error) ussdtest.Screen {
	if err != nil {
		panic(err)
	}
	return s
}

// losingStore loses the write of one chosen hop after the hop ran: the
// reply never reaches the member (they see the polite error) and the
// session stays as it was before the hop, so the telco's retry runs the
// hop again. The idempotency keys make that second run post nothing new.
type losingStore struct {
	ussd.SessionStore
	lose atomic.Bool
}

func (s *losingStore) Update(ctx context.Context, key string, ttl time.Duration, fn func([]byte) ([]byte, error)) error {
	return s.SessionStore.Update(ctx, key, ttl, func(old []byte) ([]byte, error) {
		out, err := fn(old)
		if err == nil && s.lose.CompareAndSwap(true, false) {
			return nil, errors.New("session store lost the write")
		}
		return out, err
	})
}

func TestMoneyHopRunAgainAfterALostReply(t *testing.T) {
	pairs := map[string]func(t *testing.T) (*ledger.DB, ussd.SessionStore){
		"postgres+redis": func(t *testing.T) (*ledger.DB, ussd.SessionStore) {
			rc, prefix := ussdtest.Redis(t)
			return ledgertest.Postgres(t), ussd.NewRedisStore(rc, prefix, 10*time.Second)
		},
		"sqlite+memory": func(t *testing.T) (*ledger.DB, ussd.SessionStore) {
			return ledgertest.SQLite(t), ussd.NewMemoryStore(10 * time.Second)
		},
	}
	for name, open := range pairs {
		t.Run(name, func(t *testing.T) {
			db, sessions := open(t)
			store := &losingStore{SessionStore: sessions}
			env := startApp(t, nil, db, store, ussd.NewMemoryRateLimiter())
			b := demoBooks(t, env)
			ctx := context.Background()
			// A code Maria announced, for the teller to confirm.
			m := depositCodeOnScreen.FindStringSubmatch(last(journey(t, env.phone(phoneMaria), "2", "2", "30000", "1", pinMaria)).Text)
			require.NotNil(t, m)
			code := m[1]
			for _, c := range []struct {
				name   string
				phone  string
				inputs []string
				want   string
			}{
				{"member deposit code", phoneMaria, []string{"2", "1", "25000", "1", pinMaria}, "Kode setor Anda: "},
				{"member repayment", phoneFamily, []string{"2", "3", "2", "50000", pinTheresia}, "Pembayaran Rp50.000 berhasil."},
				{"staff cash deposit", phoneTeller, []string{"1", pinTeller, "A-001", "1", "75000", "1"}, "Setoran Rp75.000 Wajib untuk"},
				{"staff cash repayment", phoneTeller, []string{"2", pinTeller, "A-002", "60000", "1"}, "Angsuran Rp60.000 pinjaman PJ-0002 tercatat."},
				// ConfirmDepositCode has its own key (the code): run again, it
				// finds the code used and says the deposit is on the books.
				{"staff confirms a deposit code", phoneTeller, []string{"3", pinTeller, "$CODE", "1"}, "Kode setor ini sudah dikonfirmasi; setorannya sudah tercatat."},
			} {
				t.Run(c.name, func(t *testing.T) {
					p := env.phone(c.phone)
					for i, in := range c.inputs {
						if in == "$CODE" {
							c.inputs[i] = code
						}
					}
					journey(t, p, c.inputs[:len(c.inputs)-1]...)
					before := b.posted()
					store.lose.Store(true)
					lost, err := p.Send(ctx, c.inputs[len(c.inputs)-1])
					require.NoError(t, err)
					assert.Equal(t, "Maaf, layanan sedang gangguan. Silakan coba lagi nanti.", lost.Text, "the reply was lost")
					once := b.posted()
					assert.NotEqual(t, before, once, "the hop did post")

					again, err := p.Retry(ctx) // the same hop, run again from the state before it
					require.NoError(t, err)
					assert.True(t, again.End)
					assert.Contains(t, again.Text, c.want)
					assert.Equal(t, once, b.posted(), "the second run posts nothing new")
					third, err := p.Retry(ctx)
					require.NoError(t, err)
					assert.Equal(t, again, third, "and a further retry is answered from the session")
				})
			}
			b.reconciles()
		})
	}
}

// 64 sessions at once, members and staff, money and balances: every reply
// is its own session's, and every posting lands exactly once.
func TestConcurrentMoneySessions(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		b := demoBooks(t, env)
		maria, theresia := b.balances("A-001"), b.balances("A-003")
		posted := b.posted()

		// A member who is new today: the activation code must not reach the log either.
		m, err := env.app.dir.AddMember(ctx, b.coop, members.NewMember{No: "A-004", Name: "Agustina Lede", Phone: "081234567892"})
		require.NoError(t, err)
		activation, _, err := env.app.dir.IssueActivationCode(ctx, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: b.coop}, 0)
		require.NoError(t, err)
		s := last(journey(t, env.phone("081234567892"), activation, "481357", "481357"))
		assert.Equal(t, "PIN berhasil dibuat. Tekan *123# lagi untuk masuk.", s.Text)

		type call struct {
			phone  string
			inputs []string
			want   *regexp.Regexp
		}
		var wajib, sukarela int64
		calls := make([]call, 64)
		for i := range calls {
			switch i % 4 {
			case 0: // Maria announces a deposit of her own amount
				amount := int64(10_000 + i)
				calls[i] = call{phoneMaria, []string{"2", "2", fmt.Sprint(amount), "1", pinMaria},
					regexp.MustCompile(`^Kode setor Anda: \d{6}\nBayar tunai ` + regexp.QuoteMeta(ledger.FormatRupiah(amount)) + ` \(Sukarela\)`)}
			case 1: // the teller takes wajib for Maria
				amount := int64(20_000 + i)
				wajib += amount
				calls[i] = call{phoneTeller, []string{"1", pinTeller, "A-001", "1", fmt.Sprint(amount), "1"},
					regexp.MustCompile(`^Setoran ` + regexp.QuoteMeta(ledger.FormatRupiah(amount)) + ` Wajib untuk Maria Goreti Bria \(A-001\) tercatat\. Ref \d+$`)}
			case 2: // the collector takes sukarela for Theresia
				amount := int64(30_000 + i)
				sukarela += amount
				calls[i] = call{phoneCollector, []string{"1", pinCollector, "A-003", "2", fmt.Sprint(amount), "1"},
					regexp.MustCompile(`^Setoran ` + regexp.QuoteMeta(ledger.FormatRupiah(amount)) + ` Sukarela untuk Theresia Bere \(A-003\) tercatat\. Ref \d+$`)}
			case 3: // Yohanes or Theresia looks at their balance
				who, pin, name := "1", pinYohanes, "Yohanes B.\nPokok Rp500.000\nWajib Rp600.000"
				if i%8 == 7 {
					who, pin, name = "2", pinTheresia, "Theresia B.\nPokok Rp500.000\nWajib Rp900.000"
				}
				calls[i] = call{phoneFamily, []string{who, "1", pin}, regexp.MustCompile(`^Saldo ` + regexp.QuoteMeta(name) + `\nSukarela Rp[\d.]+\nPinjaman Rp[\d.]+$`)}
			}
		}
		var wg sync.WaitGroup
		for i, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := env.phone(c.phone)
				s, err := p.Dial(ctx)
				for _, in := range c.inputs {
					if err != nil {
						break
					}
					s, err = p.Send(ctx, in)
				}
				if assert.NoError(t, err, "session %d", i) {
					assert.True(t, s.End, "session %d", i)
					assert.Regexp(t, c.want, s.Text, "session %d got another's reply or none", i)
				}
			}()
		}
		wg.Wait()

		assert.Equal(t, maria.Wajib+wajib, b.balances("A-001").Wajib)
		assert.Equal(t, maria.Sukarela, b.balances("A-001").Sukarela, "deposit codes move no money")
		assert.Equal(t, theresia.Sukarela+sukarela, b.balances("A-003").Sukarela)
		now := b.posted()
		assert.Equal(t, posted[0]+32, now[0], "one journal per cash deposit")
		assert.Equal(t, posted[2]+16, now[2], "one deposit code per announcement")
		assert.Equal(t, 16, b.count(`SELECT COUNT(DISTINCT code) FROM deposit_codes WHERE cooperative_id = ? AND status = 'pending'`, b.coop))
		b.reconciles()
		assertNoSecretsLogged(t, env, append(demoPINs, activation, "481357")...)
		logs := env.logs.String()
		assert.NotContains(t, logs, "*"+pinMaria, "no AT text path")
		assert.False(t, strings.Contains(logs, "text="), "no raw AT text field")
	})
}
