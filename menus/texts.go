package menus

import "fmt"

// catalogue holds every text a member or staff member sees, in Bahasa
// Indonesia and English. Keys are stable; wording may be polished.
var catalogue = Catalogue{
	"error.internal":      {"Maaf, layanan sedang gangguan. Silakan coba lagi nanti.", "Sorry, the service is having a problem. Please try again later."},
	"error.unknown_code":  {"Maaf, kode layanan ini belum terdaftar. Silakan hubungi kantor koperasi Anda.", "Sorry, this service code is not registered. Please contact your cooperative's office."},
	"error.unknown_phone": {"Nomor Anda belum terdaftar di %s. Silakan hubungi kantor koperasi.", "Your number is not registered with %s. Please contact the cooperative's office."},
	"error.expired":       {"Sesi Anda sudah berakhir. Silakan tekan kode layanan lagi.", "Your session has ended. Please dial the service code again."},
	"error.too_many":      {"Terlalu banyak pilihan salah. Silakan tekan kode layanan lagi.", "Too many invalid choices. Please dial the service code again."},
	"error.busy":          {"Permintaan Anda sedang diproses. Silakan coba lagi sebentar lagi.", "Your request is being processed. Please try again in a moment."},
	"error.rate_limited":  {"Terlalu banyak permintaan. Silakan coba lagi beberapa menit lagi.", "Too many requests. Please try again in a few minutes."},
	"invalid":             {"Pilihan salah.", "Invalid choice."},
	"nav.back":            {"0 Kembali", "0 Back"},
	"nav.home":            {"00 Menu utama", "00 Main menu"},
	"nav.more":            {"98 Lanjut", "98 More"},

	"choose.coop":   {"Pilih koperasi:", "Choose cooperative:"},
	"choose.member": {"Pilih anggota:", "Choose member:"},
	"choose.role":   {"1 Menu Anggota\n2 Menu Petugas", "1 Member menu\n2 Staff menu"},

	"main.1": {"1 Cek Saldo", "1 Check Balance"},
	"main.2": {"2 Setor Simpanan", "2 Deposit Savings"},
	"main.3": {"3 Bayar Angsuran", "3 Repay Loan"},
	"main.4": {"4 Mutasi", "4 Statement"},
	"main.5": {"5 Info Pinjaman", "5 Loan Info"},
	"main.6": {"6 Ganti PIN", "6 Change PIN"},
	"main.7": {"7 Bahasa/Language", "7 Bahasa/Language"},

	"pin.ask":        {"Masukkan PIN (6 angka):", "Enter your PIN (6 digits):"},
	"pin.ask_short":  {"Masukkan PIN:", "Enter your PIN:"},
	"pin.shape":      {"PIN harus 6 angka.", "The PIN must be 6 digits."},
	"pin.wrong":      {"PIN salah. Sisa percobaan: %d", "Wrong PIN. Tries left: %d"},
	"pin.locked":     {"PIN Anda terblokir. Hubungi kantor koperasi untuk kode aktivasi baru.", "Your PIN is locked. Contact the cooperative's office for a new activation code."},
	"pin.lock_until": {"PIN terkunci sampai %s karena salah 3 kali. Silakan coba lagi nanti.", "PIN locked until %s after 3 wrong tries. Please try again later."},
	"pin.none":       {"Anda belum punya PIN. Minta kode aktivasi di kantor koperasi.", "You have no PIN yet. Ask the cooperative's office for an activation code."},
	"activate.ask":   {"Selamat datang di %s. Masukkan kode aktivasi:", "Welcome to %s. Enter your activation code:"},
	"activate.shape": {"Kode aktivasi 6 angka.", "The activation code has 6 digits."},
	"activate.wrong": {"Kode aktivasi salah. Sisa percobaan: %d", "Wrong activation code. Tries left: %d"},
	"activate.dead":  {"Kode aktivasi tidak berlaku. Minta kode baru di kantor koperasi.", "This activation code is no longer valid. Ask the cooperative's office for a new one."},
	"activate.none":  {"Anda belum punya PIN. Minta kode aktivasi di kantor koperasi.", "You have no PIN yet. Ask the cooperative's office for an activation code."},
	"pin.old":        {"Masukkan PIN lama:", "Enter your current PIN:"},
	"pin.new":        {"Buat PIN baru (6 angka):", "Create a new PIN (6 digits):"},
	"pin.repeat":     {"Ulangi PIN:", "Repeat the PIN:"},
	"pin.weak":       {"PIN terlalu mudah ditebak. Pilih yang lain.", "That PIN is too easy to guess. Choose another."},
	"pin.mismatch":   {"PIN tidak sama. Silakan ulangi.", "The PINs differ. Please start again."},
	"pin.created":    {"PIN berhasil dibuat. Tekan %s lagi untuk masuk.", "Your PIN is set. Dial %s again to sign in."},
	"pin.changed":    {"PIN berhasil diganti.", "Your PIN has been changed."},
	"pin.timeout":    {"Waktu habis. Silakan mulai lagi.", "Time ran out. Please start again."},
	"balance.head":   {"Saldo %s", "Balance %s"},
	"balance.body":   {"Pokok %s\nWajib %s\nSukarela %s\nPinjaman %s", "Share %s\nMandatory %s\nVoluntary %s\nLoan %s"},

	"lang.ask":  {"Pilih bahasa:\n1 Bahasa Indonesia\n2 English", "Choose language:\n1 Bahasa Indonesia\n2 English"},
	"lang.done": {"Bahasa diubah ke Bahasa Indonesia.", "Language changed to English."},

	"staff.head": {"Petugas %s", "Staff %s"},

	"account.pokok":                {"Simpanan Pokok", "Share capital"},
	"account.wajib":                {"Simpanan Wajib", "Mandatory savings"},
	"account.sukarela":             {"Simpanan Sukarela", "Voluntary savings"},
	"account.short.pokok":          {"Pokok", "Share"},
	"account.short.wajib":          {"Wajib", "Mandatory"},
	"account.short.sukarela":       {"Sukarela", "Voluntary"},
	"account.short.loan_principal": {"Pinjaman", "Loan"},

	"confirm.yesno":    {"1 Ya\n2 Batal", "1 Yes\n2 Cancel"},
	"cancelled":        {"Dibatalkan. Tidak ada transaksi.", "Cancelled. Nothing was done."},
	"nothing_posted":   {"Tidak ada yang dicatat.", "Nothing was recorded."},
	"amount.shape":     {"Ketik angka saja, mis. 50000.", "Digits only, for example 50000."},
	"amount.max":       {"Maks. %s per transaksi.", "Max. %s per transaction."},
	"amount.too_large": {"Jumlah melebihi batas %s per transaksi USSD. Tidak ada yang dicatat.", "The amount is above the USSD limit of %s per transaction. Nothing was recorded."},

	"deposit.account": {"Setor Simpanan\n1 Simpanan Wajib\n2 Simpanan Sukarela", "Deposit Savings\n1 Mandatory savings\n2 Voluntary savings"},
	"deposit.amount":  {"Jumlah setoran (Rp):", "Amount to deposit (Rp):"},
	"deposit.summary": {"Buat kode setor %s %s?", "Create a deposit code for %s %s?"},
	"deposit.code": {"Kode setor Anda: %s\nBayar tunai %s (%s) ke teller atau kolektor sebelum %s. Kode juga dikirim lewat SMS.",
		"Your deposit code: %s\nPay %s (%s) in cash to a teller or collector before %s. The code is also sent by SMS."},

	"loan.none":           {"Anda tidak punya pinjaman aktif.", "You have no active loan."},
	"loan.choose":         {"Pilih pinjaman:", "Choose a loan:"},
	"loan.item":           {"%d %s sisa %s", "%d %s outstanding %s"},
	"repay.offer":         {"%s angsuran %s tgl %s\nSukarela %s\n1 Bayar angsuran %s\n2 Jumlah lain", "%s next %s due %s\nVoluntary %s\n1 Pay installment %s\n2 Other amount"},
	"repay.offer_overdue": {"%s tunggakan %s\nSukarela %s\n1 Bayar angsuran %s\n2 Jumlah lain", "%s overdue %s\nVoluntary %s\n1 Pay installment %s\n2 Other amount"},
	"repay.offer_none":    {"%s: belum ada angsuran jatuh tempo\nSukarela %s\n2 Jumlah lain", "%s: no installment due\nVoluntary %s\n2 Other amount"},
	"repay.amount":        {"Jumlah pembayaran (Rp):", "Amount to pay (Rp):"},
	"repay.summary":       {"Bayar %s dari Simpanan Sukarela untuk pinjaman %s?", "Pay %s from voluntary savings towards loan %s?"},
	"repay.done":          {"Pembayaran %s berhasil. Sisa pinjaman %s. Ref %d", "Payment of %s successful. Loan outstanding %s. Ref %d"},
	"repay.closed":        {"Pinjaman lunas.", "The loan is paid off."},
	"repay.no_funds":      {"Saldo sukarela tidak cukup untuk membayar %s. Saldo sukarela %s. Tidak ada yang dipotong.", "Not enough voluntary savings to pay %s. Voluntary savings %s. Nothing was taken."},
	"repay.too_much":      {"Jumlah melebihi yang harus dibayar untuk pinjaman %s. Maksimal %s. Tidak ada yang dicatat.", "The amount is more than loan %s owes. At most %s. Nothing was recorded."},
	"repay.loan_closed":   {"Pinjaman %s sudah lunas. Tidak ada yang dicatat.", "Loan %s is already paid off. Nothing was recorded."},

	"statement.head":         {"Mutasi %s", "Statement %s"},
	"statement.none":         {"Belum ada transaksi.", "No transactions yet."},
	"statement.deposit":      {"Setor", "Deposit"},
	"statement.opening":      {"Saldo awal", "Opening"},
	"statement.repayment":    {"Angsuran", "Repayment"},
	"statement.disbursement": {"Pencairan", "Disbursed"},
	"statement.reversal":     {"Koreksi", "Correction"},

	"loaninfo.head":    {"Info Pinjaman", "Loan Info"},
	"loaninfo.loan":    {"%s sisa %s", "%s outstanding %s"},
	"loaninfo.next":    {"Angsuran %s tgl %s", "Installment %s due %s"},
	"loaninfo.no_next": {"Tidak ada angsuran berikutnya", "No further installment"},
	"loaninfo.arrears": {"Tunggakan %s (%d hari)", "Overdue %s (%d days)"},

	"staff.menu":             {"1 Terima Setoran\n2 Terima Angsuran\n3 Konfirmasi Kode Setor\n4 Kas Saya Hari Ini", "1 Receive Deposit\n2 Receive Repayment\n3 Confirm Deposit Code\n4 My Cash Today"},
	"staff.member_no":        {"Nomor anggota:", "Member number:"},
	"staff.member_unknown":   {"Nomor anggota tidak ditemukan.", "No member has that number."},
	"staff.member_ambiguous": {"Beberapa anggota cocok. Ketik nomor lengkap.", "Several members match. Type the full number."},
	"staff.member_left":      {"Anggota ini sudah keluar.", "This member has left."},
	"staff.amount":           {"Jumlah diterima (Rp):", "Amount received (Rp):"},
	"staff.dep_account":      {"1 Wajib\n2 Sukarela", "1 Mandatory\n2 Voluntary"},
	"staff.dep_summary":      {"Terima %s %s dari %s?", "Receive %s %s from %s?"},
	"staff.dep_done":         {"Setoran %s %s untuk %s tercatat. Ref %d", "Deposit of %s %s for %s recorded. Ref %d"},
	"staff.no_loan":          {"%s tidak punya pinjaman aktif.", "%s has no active loan."},
	"staff.rep_loan":         {"Pinjaman %s", "Loan %s"},
	"staff.rep_hint":         {"%s angsuran %s", "%s installment %s"},
	"staff.rep_hint_overdue": {"%s tunggakan %s", "%s overdue %s"},
	"staff.rep_summary":      {"Terima %s untuk %s dari %s?", "Receive %s for %s from %s?"},
	"staff.rep_done":         {"Angsuran %s pinjaman %s tercatat. Sisa pinjaman %s. Ref %d", "Repayment of %s on loan %s recorded. Outstanding %s. Ref %d"},
	"staff.code":             {"Kode setor (6 angka):", "Deposit code (6 digits):"},
	"code.shape":             {"Kode setor 6 angka.", "The deposit code has 6 digits."},
	"code.unknown":           {"Kode setor tidak ditemukan.", "No such deposit code."},
	"code.expired":           {"Kode setor sudah kedaluwarsa.", "This deposit code has expired."},
	"code.used":              {"Kode setor sudah dipakai.", "This deposit code was already used."},
	"code.confirmed":         {"Kode setor ini sudah dikonfirmasi; setorannya sudah tercatat. Lihat Kas Saya Hari Ini.", "This deposit code is already confirmed; its deposit is recorded. See My Cash Today."},
	"staff.code_summary":     {"Kode %s: %s\n%s %s. Terima?", "Code %s: %s\n%s %s. Accept?"},
	"staff.code_member":      {"anggota pemilik kode", "the code's member"},
	"staff.code_done":        {"Setoran kode %s: %s %s untuk %s tercatat. Ref %d", "Deposit code %s: %s %s for %s recorded. Ref %d"},
	"staff.cash":             {"Kas Saya Hari Ini\n%d penerimaan\nTotal %s", "My Cash Today\n%d receipts\nTotal %s"},

	// SMS answers (menus/sms.go). Commands are written in capitals, as
	// members type them; <PIN> stands for their own PIN.
	"sms.balance":              {"Saldo %s: %s.", "Balance %s: %s."},
	"sms.loans_head":           {"Pinjaman %s", "Loans %s"},
	"sms.loans_more":           {"+%d pinjaman lain: lihat Info Pinjaman di menu USSD.", "+%d more loans: see Loan Info in the USSD menu."},
	"sms.help":                 {"Perintah SMS: SALDO (saldo), MUTASI (5 transaksi terakhir), PINJAMAN (info pinjaman), BANTUAN (daftar ini).", "SMS commands: BAL (balances), MINI (last 5 transactions), LOAN (loan info), HELP (this list)."},
	"sms.help_pin":             {"Perintah SMS dengan PIN Anda: SALDO <PIN> (saldo), MUTASI <PIN> (5 transaksi terakhir), PINJAMAN <PIN> (info pinjaman). BANTUAN: daftar ini.", "SMS commands with your PIN: BAL <PIN> (balances), MINI <PIN> (last 5 transactions), LOAN <PIN> (loan info). HELP: this list."},
	"sms.unregistered":         {"Maaf, nomor Anda belum terdaftar untuk layanan SMS koperasi. Silakan hubungi kantor koperasi Anda.", "Sorry, your number is not registered for a cooperative's SMS service. Please contact your cooperative's office."},
	"sms.family":               {"Nomor ini dipakai beberapa anggota. Tambahkan nomor anggota Anda, mis. SALDO %s", "Several members use this number. Add your member number, e.g. BAL %s"},
	"sms.family_pin":           {"Nomor ini dipakai beberapa anggota. Tambahkan nomor anggota dan PIN Anda, mis. SALDO %s <PIN>", "Several members use this number. Add your member number and PIN, e.g. BAL %s <PIN>"},
	"sms.pin_required":         {"Layanan SMS ini memakai PIN. Kirim perintah dengan PIN Anda, mis. SALDO <PIN>", "This SMS service needs your PIN. Send the command with your PIN, e.g. BAL <PIN>"},
	"sms.receipt_deposit":      {"Setoran %s %s diterima. Saldo %s kini %s. Ref %s.", "Deposit to %s of %s received. %s balance now %s. Ref %s."},
	"sms.receipt_repayment":    {"Pembayaran %s untuk pinjaman %s diterima. Sisa pinjaman %s. Ref %s.", "Payment of %s on loan %s received. Loan outstanding %s. Ref %s."},
	"sms.deposit_code":         {"Kode setor Anda %s: bayar tunai %s untuk %s ke teller atau kolektor sebelum %s.", "Your deposit code %s: pay %s in cash for %s to a teller or collector before %s."},
	"sms.receipt_disbursement": {"Pinjaman %s sebesar %s telah dicairkan. Angsuran pertama %s jatuh tempo %s. Ref %s.", "Loan %s of %s has been paid out. First installment %s due on %s. Ref %s."},
	"sms.receipt_reversal":     {"Koreksi: transaksi %s Ref %s dibatalkan.", "Correction: the transaction of %s, Ref %s, was reversed."},
	"sms.reason":               {"Alasan: %s.", "Reason: %s."},
	"sms.pin_changed":          {"PIN Anda berhasil diganti. Jika bukan Anda yang menggantinya, segera hubungi kantor koperasi.", "Your PIN has been changed. If you did not change it, contact the cooperative's office at once."},
	"sms.pin_locked":           {"PIN Anda terblokir karena salah beberapa kali. Hubungi kantor koperasi untuk kode aktivasi baru.", "Your PIN is locked after several wrong tries. Contact the cooperative's office for a new activation code."},
	"sms.pin_locked_until":     {"PIN Anda terkunci karena salah 3 kali. Coba lagi setelah %s. Bukan Anda? Hubungi kantor koperasi.", "Your PIN is locked after 3 wrong tries. Try again after %s. Not you? Contact the cooperative's office."},
	"sms.reminder_due":         {"Pengingat: angsuran pinjaman %s sebesar %s jatuh tempo %s.", "Reminder: loan %s has an installment of %s due on %s."},
	"sms.reminder_overdue":     {"Pinjaman %s: tunggakan %s sejak %s. Mohon segera dibayar.", "Loan %s: %s overdue since %s. Please pay as soon as you can."},
}

// T returns the text for key in lang ("id" or "en"), formatted with args.
// An unknown key is a programming error caught by the catalogue test; at run
// time it renders the key itself rather than panicking.
func T(lang, key string, args ...any) string { return catalogue.T(lang, key, args...) }

// Catalogue holds texts by key, each in Bahasa Indonesia then English; the
// counter pages keep theirs in one too.
type Catalogue map[string][2]string

// T is c's text for key in lang ("en", else Bahasa Indonesia), formatted
// with args; an unknown key renders as itself rather than panicking.
func (c Catalogue) T(lang, key string, args ...any) string {
	pair, ok := c[key]
	if !ok {
		return key
	}
	s := pair[0]
	if lang == "en" {
		s = pair[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}
