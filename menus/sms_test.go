package menus

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// smsBooks answers the three reads SMS needs with the values given; the
// rest is worstBooks.
type smsBooks struct {
	*worstBooks
	bal   ledger.MemberBalances
	lines []ledger.StatementLine
	loans []ledger.LoanInfo
}

func (b *smsBooks) MemberBalances(context.Context, int64, int64) (ledger.MemberBalances, error) {
	return b.bal, nil
}

func (b *smsBooks) Statement(_ context.Context, _, _ int64, n int) ([]ledger.StatementLine, error) {
	return b.lines[:min(n, len(b.lines))], nil
}

func (b *smsBooks) LoanInfo(context.Context, int64, int64) ([]ledger.LoanInfo, error) {
	return b.loans, nil
}

func maria(lang string) members.Identity {
	return members.Identity{Cooperative: members.Cooperative{ID: 1, Name: "KSP Demo"}, Holder: members.Holder{Kind: members.KindMember, ID: 7, CooperativeID: 1},
		Name: "Maria Goreti Bria", MemberNo: "A-001", Language: lang, HasPIN: true}
}

func demoBooks() *smsBooks {
	at := time.Date(2026, 5, 15, 2, 0, 0, 0, time.UTC) // 10:00 WITA
	return &smsBooks{
		worstBooks: &worstBooks{},
		bal:        ledger.MemberBalances{Pokok: 100_000, Wajib: 250_000, Sukarela: 1_250_000, LoanOutstanding: 4_000_000},
		lines: []ledger.StatementLine{
			{At: at, Kind: "deposit", Account: ledger.Sukarela, Amount: 50_000},
			{At: at.Add(-24 * time.Hour), Kind: "repayment", Account: ledger.LoanPrincipal, Amount: -925_000},
			{At: time.Date(2026, 5, 13, 17, 0, 0, 0, time.UTC), Kind: "transfer", Account: ledger.Sukarela, Amount: -20_000, Memo: "Iuran “arisan” RT 05"},
		},
		loans: []ledger.LoanInfo{
			{LoanID: 1, LoanNo: "PJ-0001", Outstanding: 4_000_000, NextDue: time.Date(2026, 6, 5, 0, 0, 0, 0, time.UTC), NextAmount: 110_000, Status: ledger.LoanActive},
			{LoanID: 2, LoanNo: "PJ-0002", Outstanding: 1_000_000, NextDue: time.Date(2026, 6, 5, 0, 0, 0, 0, time.UTC), NextAmount: 110_000, Arrears: 223_666, DaysLate: 40, Status: ledger.LoanActive},
			{LoanID: 3, LoanNo: "PJ-0003", Status: ledger.LoanClosed},
		},
	}
}

func TestSMSAnswers(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(worstDirectory{}, demoBooks(), nil)
	want := map[string][3]string{
		"id": {
			"Saldo Maria G.: Pokok Rp100.000, Wajib Rp250.000, Sukarela Rp1.250.000, Pinjaman Rp4.000.000.\nKSP Demo",
			"Mutasi Maria G.\n15/05 Setor Sukarela +Rp50.000\n14/05 Angsuran Pinjaman -Rp925.000\n14/05 Iuran \"arisan\" RT 05 -Rp20.000\nKSP Demo",
			"Pinjaman Maria G.\nPJ-0001 sisa Rp4.000.000. Angsuran Rp110.000 tgl 05/06/2026.\nPJ-0002 sisa Rp1.000.000. Angsuran Rp110.000 tgl 05/06/2026. Tunggakan Rp223.666 (40 hari).\nKSP Demo",
		},
		"en": {
			"Balance Maria G.: Share Rp100.000, Mandatory Rp250.000, Voluntary Rp1.250.000, Loan Rp4.000.000.\nKSP Demo",
			"Statement Maria G.\n15/05 Deposit Voluntary +Rp50.000\n14/05 Repayment Loan -Rp925.000\n14/05 Iuran \"arisan\" RT 05 -Rp20.000\nKSP Demo",
			"Loans Maria G.\nPJ-0001 outstanding Rp4.000.000. Installment Rp110.000 due 05/06/2026.\nPJ-0002 outstanding Rp1.000.000. Installment Rp110.000 due 05/06/2026. Overdue Rp223.666 (40 days).\nKSP Demo",
		},
	}
	for lang, w := range want {
		t.Run(lang, func(t *testing.T) {
			who := maria(lang)
			got, err := e.SMSBalance(ctx, who)
			require.NoError(t, err)
			assert.Equal(t, w[0], got)
			got, err = e.SMSStatement(ctx, who)
			require.NoError(t, err)
			assert.Equal(t, w[1], got)
			got, err = e.SMSLoans(ctx, who)
			require.NoError(t, err)
			assert.Equal(t, w[2], got)
		})
	}
}

func TestSMSAnswersEmpty(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(worstDirectory{}, &smsBooks{worstBooks: &worstBooks{}}, nil)
	who := maria("id")
	who.Cooperative.Name = ""
	got, err := e.SMSStatement(ctx, who)
	require.NoError(t, err)
	assert.Equal(t, "Mutasi Maria G.\nBelum ada transaksi.", got)
	got, err = e.SMSLoans(ctx, who)
	require.NoError(t, err)
	assert.Equal(t, "Pinjaman Maria G.\nAnda tidak punya pinjaman aktif.", got)

	staff := who
	staff.Holder.Kind = members.KindStaff
	_, err = e.SMSBalance(ctx, staff)
	assert.Error(t, err, "staff have no savings to show")
}

// TestSMSAnswersWorst keeps the longest answers within two GSM-7 parts:
// loans that do not fit are counted instead of shown.
func TestSMSAnswersWorst(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(worstDirectory{}, &worstBooks{}, nil)
	for _, lang := range []string{"id", "en"} {
		for _, name := range []string{longMemberName, oddMemberName} {
			who := members.Identity{Cooperative: members.Cooperative{ID: 1, Name: longCoop}, Holder: members.Holder{Kind: members.KindMember, ID: 7},
				Name: name, MemberNo: longMemberNo, Language: lang}
			for what, answer := range map[string]func(context.Context, members.Identity) (string, error){
				"balance": e.SMSBalance, "statement": e.SMSStatement, "loans": e.SMSLoans,
			} {
				got, err := answer(ctx, who)
				require.NoError(t, err)
				n, limit := ScreenCost(got)
				assert.Equal(t, ScreenLimitGSM7, limit, "%s %s is not GSM-7: %q", what, lang, got)
				assert.LessOrEqual(t, n, smsBudget, "%s %s:\n%s", what, lang, got)
				sign := got[strings.LastIndexByte(got, '\n')+1:]
				assert.True(t, len(sign) > 12 && strings.HasPrefix(longCoop, sign), "%s %s is signed: %q", what, lang, sign)
				if what == "loans" {
					assert.Contains(t, got, "+4 ", "the loans left off are counted")
				}
			}
		}
	}
}

func TestRenderSMS(t *testing.T) {
	cases := []struct {
		tmpl   string
		params map[string]string
		id, en string
	}{
		{ledger.TmplDepositReceipt, map[string]string{"amount": "50000", "account": "sukarela", "balance": "1250000", "ref": "812", "coop": "KSP Demo"},
			"Setoran Simpanan Sukarela Rp50.000 diterima. Saldo Sukarela kini Rp1.250.000. Ref 812.\nKSP Demo",
			"Deposit to Voluntary savings of Rp50.000 received. Voluntary balance now Rp1.250.000. Ref 812.\nKSP Demo"},
		{ledger.TmplRepaymentReceipt, map[string]string{"amount": "110000", "loan": "PJ-0001", "outstanding": "3890000", "ref": "813", "name": "Maria Goreti Bria"},
			"Maria G.: Pembayaran Rp110.000 untuk pinjaman PJ-0001 diterima. Sisa pinjaman Rp3.890.000. Ref 813.",
			"Maria G.: Payment of Rp110.000 on loan PJ-0001 received. Loan outstanding Rp3.890.000. Ref 813."},
		{ledger.TmplRepaymentReceipt, map[string]string{"amount": "110000", "loan": "001/PJM/KSP/III/2024", "outstanding": "0", "ref": "814"},
			"Pembayaran Rp110.000 untuk pinjaman 001/PJ..I/2024 diterima. Sisa pinjaman Rp0. Ref 814. Pinjaman lunas.",
			"Payment of Rp110.000 on loan 001/PJ..I/2024 received. Loan outstanding Rp0. Ref 814. The loan is paid off."},
		{ledger.TmplDepositCode, map[string]string{"code": "042917", "amount": "200000", "account": "wajib", "expires": "2026-05-18T10:00:00+08:00"},
			"Kode setor Anda 042917: bayar tunai Rp200.000 untuk Simpanan Wajib ke teller atau kolektor sebelum 18/05/2026 10:00.",
			"Your deposit code 042917: pay Rp200.000 in cash for Mandatory savings to a teller or collector before 18/05/2026 10:00."},
		{ledger.TmplReversal, map[string]string{"amount": "50000", "ref": "812", "reason": "Salah input…"},
			"Koreksi: transaksi Rp50.000 Ref 812 dibatalkan. Alasan: Salah input.",
			"Correction: the transaction of Rp50.000, Ref 812, was reversed. Reason: Salah input."},
		{ledger.TmplReversal, map[string]string{"amount": "50000", "ref": "812", "reason": ""},
			"Koreksi: transaksi Rp50.000 Ref 812 dibatalkan.",
			"Correction: the transaction of Rp50.000, Ref 812, was reversed."},
		{ledger.TmplDisbursement, map[string]string{"loan": "PJ-0009", "amount": "5000000", "installment": "491667", "due": "2027-01-07", "ref": "820"},
			"Pinjaman PJ-0009 sebesar Rp5.000.000 telah dicairkan. Angsuran pertama Rp491.667 jatuh tempo 07/01/2027. Ref 820.",
			"Loan PJ-0009 of Rp5.000.000 has been paid out. First installment Rp491.667 due on 07/01/2027. Ref 820."},
		{ledger.TmplPINChanged, nil,
			"PIN Anda berhasil diganti. Jika bukan Anda yang menggantinya, segera hubungi kantor koperasi.",
			"Your PIN has been changed. If you did not change it, contact the cooperative's office at once."},
		{ledger.TmplPINLocked, map[string]string{"coop": "KSP Demo"},
			"PIN Anda terblokir karena salah beberapa kali. Hubungi kantor koperasi untuk kode aktivasi baru.\nKSP Demo",
			"Your PIN is locked after several wrong tries. Contact the cooperative's office for a new activation code.\nKSP Demo"},
		{ledger.TmplPINLocked, map[string]string{"coop": "KSP Demo", "until": "2026-05-15T10:15:00+08:00"},
			"PIN Anda terkunci karena salah 3 kali. Coba lagi setelah 15/05/2026 10:15. Bukan Anda? Hubungi kantor koperasi.\nKSP Demo",
			"Your PIN is locked after 3 wrong tries. Try again after 15/05/2026 10:15. Not you? Contact the cooperative's office.\nKSP Demo"},
		{ledger.TmplPINLocked, map[string]string{"until": ""},
			"PIN Anda terblokir karena salah beberapa kali. Hubungi kantor koperasi untuk kode aktivasi baru.",
			"Your PIN is locked after several wrong tries. Contact the cooperative's office for a new activation code."},
		{TmplReminderDue, map[string]string{"loan": "PJ-0001", "amount": "110000", "due": "2026-06-05"},
			"Pengingat: angsuran pinjaman PJ-0001 sebesar Rp110.000 jatuh tempo 05/06/2026.",
			"Reminder: loan PJ-0001 has an installment of Rp110.000 due on 05/06/2026."},
		{TmplReminderOverdue, map[string]string{"loan": "PJ-0002", "amount": "223666", "due": "2026-04-05"},
			"Pinjaman PJ-0002: tunggakan Rp223.666 sejak 05/04/2026. Mohon segera dibayar.",
			"Loan PJ-0002: Rp223.666 overdue since 05/04/2026. Please pay as soon as you can."},
		{TmplReply, map[string]string{"text": "Saldo Maria G.: …", "coop": "ignored"}, "Saldo Maria G.: …", "Saldo Maria G.: …"},
	}
	for _, c := range cases {
		for lang, want := range map[string]string{"id": c.id, "en": c.en} {
			got, err := RenderSMS(lang, c.tmpl, c.params)
			require.NoError(t, err, "%s %s", c.tmpl, lang)
			assert.Equal(t, want, got, "%s %s", c.tmpl, lang)
		}
	}
}

func TestRenderSMSRefuses(t *testing.T) {
	good := map[string]map[string]string{
		ledger.TmplDepositReceipt:   {"amount": "50000", "account": "sukarela", "balance": "1250000", "ref": "812"},
		ledger.TmplRepaymentReceipt: {"amount": "110000", "loan": "PJ-1", "outstanding": "0", "ref": "813"},
		ledger.TmplDepositCode:      {"code": "042917", "amount": "200000", "account": "wajib", "expires": "2026-05-18T10:00:00+08:00"},
		ledger.TmplReversal:         {"amount": "50000", "ref": "812", "reason": "x"},
		ledger.TmplDisbursement:     {"loan": "PJ-1", "amount": "1", "installment": "1", "due": "2027-01-07", "ref": "9"},
		TmplReminderDue:             {"loan": "PJ-1", "amount": "1", "due": "2026-06-05"},
		TmplReminderOverdue:         {"loan": "PJ-1", "amount": "1", "due": "2026-06-05"},
		TmplReply:                   {"text": "ok"},
	}
	require.Len(t, SMSTemplateParams, len(SMSTemplates))
	for _, tmpl := range SMSTemplates {
		for _, key := range SMSTemplateParams[tmpl] {
			p := clone(good[tmpl])
			delete(p, key)
			_, err := RenderSMS("id", tmpl, p)
			assert.ErrorIs(t, err, ErrSMSTemplate, "%s without %s", tmpl, key)
		}
		if tmpl != ledger.TmplPINChanged && tmpl != ledger.TmplPINLocked {
			_, err := RenderSMS("id", tmpl, good[tmpl])
			assert.NoError(t, err, tmpl)
		}
	}
	bad := []struct {
		tmpl, key, value string
	}{
		{ledger.TmplDepositReceipt, "amount", "50.000"},
		{ledger.TmplDepositReceipt, "amount", "-5"},
		{ledger.TmplDepositReceipt, "amount", "99999999999999999999"},
		{ledger.TmplDepositReceipt, "account", "loan_principal"},
		{ledger.TmplDepositReceipt, "account", "tabungan"},
		{ledger.TmplDepositReceipt, "ref", "R-1"},
		{ledger.TmplRepaymentReceipt, "outstanding", "Rp0"},
		{ledger.TmplRepaymentReceipt, "loan", "  "},
		{ledger.TmplDepositCode, "code", "04291a"},
		{ledger.TmplDepositCode, "expires", "18/05/2026 10:00"},
		{TmplReminderDue, "due", "05/06/2026"},
		{TmplReminderOverdue, "due", "2026-02-30"},
		{TmplReply, "text", " "},
		{ledger.TmplPINLocked, "until", "10:15"},
		{ledger.TmplPINLocked, "until", "2026-05-15 10:15"},
	}
	for _, b := range bad {
		p := clone(good[b.tmpl])
		p[b.key] = b.value
		got, err := RenderSMS("en", b.tmpl, p)
		assert.ErrorIs(t, err, ErrSMSTemplate, "%s with %s=%q gave %q", b.tmpl, b.key, b.value, got)
		assert.Empty(t, got)
	}
	_, err := RenderSMS("id", "receipt.withdrawal", good[ledger.TmplDepositReceipt])
	assert.True(t, errors.Is(err, ErrSMSTemplate), "unknown template: %v", err)
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestSignSMS(t *testing.T) {
	assert.Equal(t, "Halo", SignSMS("Halo", ""))
	assert.Equal(t, "Halo\nKSP Kopdit Pintu Air", SignSMS("Halo", "  KSP Kopdit Pintu Air "))
	assert.Equal(t, "Halo\nKSP \"Maju\"", SignSMS("Halo", "KSP “Maju”"), "the name is spelled in GSM-7")

	text := strings.Repeat("a", 120)
	got := SignSMS(text, longCoop)
	assert.LessOrEqual(t, len(got), 160, "a one-part text stays one part")
	assert.Equal(t, text+"\nKoperasi Simpan Pinjam Serba Usaha", got)

	text = strings.Repeat("a", 155) // no room for enough of the name
	assert.Equal(t, text+"\n"+longCoop, SignSMS(text, longCoop))
	text = strings.Repeat("a", 200) // two parts anyway
	assert.Equal(t, text+"\n"+longCoop, SignSMS(text, longCoop))
}

func TestSMSNotices(t *testing.T) {
	keys := []string{SMSHelp, SMSHelpPIN, SMSUnregistered, SMSFamily, SMSFamilyPIN, SMSPINRequired, SMSWrongPIN, SMSPINLocked, SMSNoPIN, SMSFailure}
	for _, key := range keys {
		_, ok := catalogue[key]
		assert.True(t, ok, "%s is in the catalogue", key)
	}
	assert.Equal(t, "Perintah SMS: SALDO (saldo), MUTASI (5 transaksi terakhir), PINJAMAN (info pinjaman), BANTUAN (daftar ini).", SMSText("id", SMSHelp))
	assert.Equal(t, "Nomor ini dipakai beberapa anggota. Tambahkan nomor anggota Anda, mis. SALDO A-001", SMSText("id", SMSFamily, "A-001"))
	assert.Equal(t, "Wrong PIN. Tries left: 2", SMSText("en", SMSWrongPIN, 2))
	for _, tmpl := range SMSTemplates {
		_, ok := SMSTemplateParams[tmpl]
		assert.True(t, ok, "%s declares its params", tmpl)
	}
}

// TestGSM7Helpers checks that every look-alike is GSM-7 and that the
// alphabet's costs are what the standard says.
func TestGSM7Helpers(t *testing.T) {
	for r, p := range plainRunes {
		for _, q := range p {
			assert.NotZero(t, GSM7Septets(q), "look-alike of %q is %q", r, p)
		}
		got, ok := GSM7Lookalike(r)
		assert.True(t, ok)
		assert.Equal(t, p, got)
		if r != '\n' && r != '\r' && r != '\f' { // GSM-7, flattened for one-line names
			assert.Zero(t, GSM7Septets(r), "%q is GSM-7 already", r)
		}
	}
	assert.Equal(t, "Lukasz Dvorak Sahin Omega", plain("Łukasz Dvořák Şahin Ōmega"))
	assert.Equal(t, "Zoe", ShortName("Zoë"), "a short name is spelled in GSM-7 too")
	assert.True(t, FitsScreen(ShortName("Zoë")+strings.Repeat("x", 150)), "and keeps the screen GSM-7")
	assert.Equal(t, 1, GSM7Septets('a'))
	assert.Equal(t, 1, GSM7Septets('\n'))
	assert.Equal(t, 2, GSM7Septets('€'))
	assert.Equal(t, 0, GSM7Septets('“'))
}
