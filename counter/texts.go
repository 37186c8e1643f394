package counter

import (
	"fmt"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/menus"
)

// catalogue is every text of the counter pages, Bahasa Indonesia and
// English. Account names and the money words members see on USSD come
// from the USSD catalogue (menus.T), so a teller says what the member's
// phone says; refusals come from the service layer's vocabulary.
var catalogue = map[string][2]string{
	"app":                {"Loket", "Counter"},
	"title.login":        {"Masuk petugas", "Staff sign-in"},
	"title.password":     {"Ganti kata sandi", "Change password"},
	"title.home":         {"Beranda", "Home"},
	"title.members":      {"Cari anggota", "Find member"},
	"title.member":       {"Anggota", "Member"},
	"title.deposit":      {"Terima setoran", "Receive deposit"},
	"title.confirm":      {"Periksa lalu konfirmasi", "Check, then confirm"},
	"title.repay":        {"Terima angsuran", "Receive repayment"},
	"title.codes":        {"Konfirmasi kode setor", "Confirm deposit code"},
	"title.activation":   {"Kode aktivasi", "Activation code"},
	"title.cash":         {"Kas saya hari ini", "My cash today"},
	"title.receipt":      {"Bukti transaksi", "Receipt"},
	"title.reverse":      {"Batalkan transaksi", "Reverse a transaction"},
	"title.staff":        {"Daftar petugas", "Staff list"},
	"title.report":       {"Laporan harian", "Day report"},
	"title.new_member":   {"Daftarkan anggota", "Register member"},
	"title.new_loan":     {"Cairkan pinjaman", "Disburse loan"},
	"title.phone":        {"Telepon latihan", "Training phone"},
	"title.error":        {"Maaf", "Sorry"},
	"nav.home":           {"Beranda", "Home"},
	"nav.logout":         {"Keluar", "Sign out"},
	"nav.back":           {"Kembali", "Back"},
	"login.phone":        {"Nomor HP", "Phone number"},
	"login.password":     {"Kata sandi", "Password"},
	"login.submit":       {"Masuk", "Sign in"},
	"login.wrong":        {"Nomor HP atau kata sandi salah, atau akun dikunci sementara (15 menit setelah 5 kali salah). / Wrong phone or password, or the account is locked for a while.", "Wrong phone or password, or the account is locked for a while (15 minutes after 5 wrong tries)."},
	"login.hint":         {"Kata sandi pertama dari \"lumbung staff add\"; Anda akan diminta menggantinya.", "The first password comes from \"lumbung staff add\"; you will be asked to change it."},
	"password.current":   {"Kata sandi sekarang", "Current password"},
	"password.new":       {"Kata sandi baru (minimal 12 karakter)", "New password (at least 12 characters)"},
	"password.repeat":    {"Ulangi kata sandi baru", "Repeat the new password"},
	"password.submit":    {"Simpan", "Save"},
	"password.first":     {"Ini kata sandi sementara. Pilih kata sandi baru sebelum melanjutkan.", "This is a temporary password. Choose a new one before going on."},
	"password.mismatch":  {"Kata sandi baru dan ulangannya tidak sama.", "The new password and its repeat differ."},
	"password.wrong":     {"Kata sandi sekarang salah.", "The current password is wrong."},
	"password.same":      {"Kata sandi baru harus berbeda dari yang lama.", "The new password must differ from the old one."},
	"password.short":     {"Kata sandi baru harus 12 sampai 72 karakter.", "The new password must have 12 to 72 characters."},
	"home.search":        {"Cari anggota (nomor, nama atau HP)", "Find member (number, name or phone)"},
	"home.search_btn":    {"Cari", "Search"},
	"home.my_cash":       {"Kas saya hari ini", "My cash today"},
	"home.cash_line":     {"%d transaksi, jumlah %s", "%d postings, total %s"},
	"home.codes":         {"Konfirmasi kode setor", "Confirm a deposit code"},
	"home.phone":         {"Telepon latihan", "Training phone"},
	"home.manager":       {"Manajer", "Manager"},
	"home.language":      {"Bahasa", "Language"},
	"members.none":       {"Tidak ada anggota yang cocok.", "No member matches."},
	"members.next":       {"Halaman berikut", "Next page"},
	"members.first":      {"Halaman pertama", "First page"},
	"col.no":             {"No. anggota", "Member no."},
	"col.name":           {"Nama", "Name"},
	"col.phone":          {"HP", "Phone"},
	"col.status":         {"Status", "Status"},
	"col.date":           {"Tanggal", "Date"},
	"col.what":           {"Keterangan", "Description"},
	"col.amount":         {"Jumlah", "Amount"},
	"col.account":        {"Rekening", "Account"},
	"col.ref":            {"Ref", "Ref"},
	"col.kind":           {"Jenis", "Kind"},
	"col.count":          {"Banyak", "Count"},
	"col.role":           {"Peran", "Role"},
	"col.due":            {"Jatuh tempo", "Due"},
	"col.principal":      {"Pokok", "Principal"},
	"col.interest":       {"Bunga", "Interest"},
	"col.paid":           {"Dibayar", "Paid"},
	"col.total":          {"Total", "Total"},
	"col.penalty":        {"Denda", "Penalty"},
	"col.fee":            {"Biaya", "Fee"},
	"col.staff":          {"Petugas", "Staff"},
	"col.cash_in":        {"Kas masuk", "Cash in"},
	"col.cash_out":       {"Kas keluar", "Cash out"},
	"col.expected":       {"Kas seharusnya", "Cash expected"},
	"status.active":      {"aktif", "active"},
	"status.left":        {"keluar", "left"},
	"member.balances":    {"Saldo", "Balances"},
	"member.loans":       {"Pinjaman", "Loans"},
	"member.no_loans":    {"Tidak ada pinjaman.", "No loans."},
	"member.movements":   {"20 transaksi terakhir", "Last 20 transactions"},
	"member.no_moves":    {"Belum ada transaksi.", "No transactions yet."},
	"member.pin":         {"PIN", "PIN"},
	"pin.none":           {"belum dibuat", "not set"},
	"pin.set":            {"sudah dibuat", "set"},
	"pin.locked":         {"terkunci", "locked"},
	"pin.locked_until":   {"terkunci sampai %s", "locked until %s"},
	"member.deposit":     {"Terima setoran", "Receive deposit"},
	"member.repay":       {"Terima angsuran", "Receive repayment"},
	"member.activation":  {"Buat kode aktivasi (PIN baru)", "Issue activation code (new PIN)"},
	"member.new_loan":    {"Cairkan pinjaman", "Disburse loan"},
	"loan.outstanding":   {"Sisa pokok", "Outstanding"},
	"loan.next":          {"Angsuran berikut", "Next installment"},
	"loan.arrears":       {"Tunggakan", "Arrears"},
	"loan.days_late":     {"%d hari terlambat, kolektibilitas %d", "%d days late, kolektibilitas %d"},
	"loan.closed":        {"lunas", "paid off"},
	"loan.schedule":      {"Jadwal angsuran", "Schedule"},
	"form.account":       {"Rekening", "Account"},
	"form.amount":        {"Jumlah (Rp)", "Amount (Rp)"},
	"form.next":          {"Lanjut", "Next"},
	"form.confirm":       {"Ya, posting", "Yes, post it"},
	"form.change":        {"Ubah", "Change"},
	"form.bad_amount":    {"Jumlah harus angka rupiah bulat, misalnya 50000 atau 1.250.000.", "The amount must be whole rupiah, e.g. 50000 or 1.250.000."},
	"form.bad_account":   {"Pilih rekening.", "Choose an account."},
	"form.bad_source":    {"Pilih sumber pembayaran.", "Choose where the money comes from."},
	"form.stale":         {"Formulir ini sudah kedaluwarsa. Silakan isi lagi.", "This form has expired. Please fill it in again."},
	"confirm.member":     {"Anggota", "Member"},
	"confirm.account":    {"Rekening", "Account"},
	"confirm.amount":     {"Jumlah", "Amount"},
	"confirm.words":      {"Terbilang", "In words"},
	"confirm.check":      {"Periksa nama, rekening dan jumlah bersama anggota, terima uangnya, lalu konfirmasi.", "Check the name, account and amount with the member, take the cash, then confirm."},
	"repay.source":       {"Sumber", "Paid from"},
	"repay.cash":         {"Tunai", "Cash"},
	"repay.sukarela":     {"Simpanan sukarela anggota", "The member's voluntary savings"},
	"repay.allocation":   {"Pembagian pembayaran", "How the payment is split"},
	"repay.after":        {"Sisa pokok setelah ini", "Outstanding after this"},
	"repay.closes":       {"Pinjaman ini akan lunas.", "This loan will be paid off."},
	"repay.installment":  {"Angsuran ke-%d", "Installment %d"},
	"repay.due_prefill":  {"Angsuran yang jatuh tempo sudah diisikan.", "The installment due is filled in."},
	"codes.code":         {"Kode setor (6 angka)", "Deposit code (6 digits)"},
	"codes.lookup":       {"Periksa kode", "Look up"},
	"codes.bad":          {"Kode setor terdiri dari 6 angka.", "A deposit code has 6 digits."},
	"codes.changed":      {"Perhatian: yang diposting berbeda dari yang ditampilkan.", "Note: what was posted differs from what was shown."},
	"activation.shown":   {"Berikan kode ini kepada anggota. Kode hanya ditampilkan sekali, berlaku sampai %s, dan juga dikirim lewat SMS.", "Give this code to the member. It is shown only once, works until %s, and was also sent by SMS."},
	"activation.gone":    {"Kode aktivasi sudah ditampilkan. Buat kode baru bila perlu.", "The activation code was already shown. Issue a new one if needed."},
	"activation.sms":     {"Kode aktivasi %s Anda: %s (berlaku sampai %s). Tekan kode USSD koperasi dan buat PIN baru.", "Your %s activation code: %s (valid until %s). Dial the cooperative's USSD code and create a new PIN."},
	"cash.none":          {"Belum ada transaksi hari ini.", "No postings today yet."},
	"cash.kinds":         {"Jumlah per jenis", "Totals per kind"},
	"cash.postings":      {"Transaksi saya hari ini", "My postings today"},
	"receipt.coop":       {"Koperasi", "Cooperative"},
	"receipt.ref":        {"No. referensi", "Reference"},
	"receipt.time":       {"Waktu", "Time"},
	"receipt.staff":      {"Petugas", "Staff"},
	"receipt.kind":       {"Jenis", "Kind"},
	"receipt.balance":    {"Saldo setelah transaksi", "Balance after"},
	"receipt.print":      {"Cetak", "Print"},
	"receipt.print_hint": {"(atau tekan Ctrl+P)", "(or press Ctrl+P)"},
	"receipt.reversed":   {"Transaksi ini sudah dibatalkan oleh ref %d.", "This transaction was reversed by ref %d."},
	"receipt.reverses":   {"Pembatalan dari ref %d. Alasan: %s", "Reversal of ref %d. Reason: %s"},
	"receipt.reverse":    {"Batalkan transaksi ini", "Reverse this transaction"},
	"receipt.signature":  {"Tanda tangan", "Signature"},
	"reverse.reason":     {"Alasan pembatalan", "Reason for the reversal"},
	"reverse.submit":     {"Batalkan transaksi", "Reverse"},
	"reverse.no_reason":  {"Tuliskan alasan pembatalan.", "Write the reason for the reversal."},
	"report.date":        {"Tanggal", "Date"},
	"report.show":        {"Tampilkan", "Show"},
	"report.journals":    {"Jumlah jurnal", "Journals"},
	"report.coop":        {"Seluruh koperasi", "The whole cooperative"},
	"report.bad_date":    {"Tanggal ditulis YYYY-MM-DD.", "Write the date as YYYY-MM-DD."},
	"staff.active":       {"aktif", "active"},
	"staff.inactive":     {"nonaktif", "inactive"},
	"new.no":             {"Nomor anggota", "Member number"},
	"new.name":           {"Nama lengkap", "Full name"},
	"new.phone":          {"Nomor HP", "Phone"},
	"new.language":       {"Bahasa", "Language"},
	"new.submit":         {"Daftarkan", "Register"},
	"new.missing":        {"Isi nomor anggota, nama dan nomor HP.", "Fill in the member number, name and phone."},
	"new.bad_phone":      {"Nomor HP tidak sah (contoh 081234567890).", "The phone number is not valid (e.g. 081234567890)."},
	"loan.no":            {"Nomor pinjaman", "Loan number"},
	"loan.principal":     {"Pokok pinjaman (Rp)", "Principal (Rp)"},
	"loan.rate":          {"Bunga per bulan (%)", "Interest a month (%)"},
	"loan.method":        {"Metode", "Method"},
	"loan.term":          {"Jangka (bulan)", "Term (months)"},
	"loan.bad_rate":      {"Bunga ditulis seperti 1,5 (persen per bulan, paling banyak 2 angka desimal).", "Write the rate like 1.5 (per cent a month, at most 2 decimals)."},
	"loan.bad_term":      {"Jangka 1 sampai 120 bulan.", "The term is 1 to 120 months."},
	"loan.bad_no":        {"Isi nomor pinjaman.", "Fill in the loan number."},
	"loan.bad_method":    {"Pilih metode.", "Choose a method."},
	"phone.number":       {"Nomor HP yang ditiru", "Phone number to act as"},
	"phone.dial":         {"Panggil", "Dial"},
	"phone.send":         {"Kirim", "Send"},
	"phone.hangup":       {"Tutup", "Hang up"},
	"phone.again":        {"Panggil lagi", "Dial again"},
	"phone.ended":        {"(sesi berakhir)", "(session ended)"},
	"phone.training":     {"Latihan: layar USSD sungguhan koperasi Anda. Transaksi yang dibuat di sini nyata.", "Training: your cooperative's real USSD screens. Postings made here are real."},
	"phone.demo":         {"Demo: pilih salah satu nomor anggota demo.", "Demo: pick one of the demo members' numbers."},
	"phone.not_ours":     {"Nomor itu bukan nomor anggota atau petugas koperasi ini.", "That number is not a member's or staff member's of this cooperative."},
	"phone.login":        {"Masuk dulu untuk memakai telepon latihan.", "Sign in to use the training phone."},
	"phone.no_code":      {"Koperasi ini belum punya kode USSD.", "This cooperative has no USSD code yet."},
	"refusal.max":        {"Paling banyak %s.", "At most %s."},
	"error.not_found":    {"Halaman atau data tidak ditemukan.", "Page or record not found."},
	"error.forbidden":    {"Anda tidak berwenang membuka halaman ini.", "You are not allowed to open this page."},
	"error.csrf":         {"Formulir ini tidak sah atau sudah kedaluwarsa. Buka lagi halamannya lalu coba lagi.", "This form is not valid or has expired. Open the page again and retry."},
	"error.too_large":    {"Isian terlalu panjang.", "The form is too long."},
	"error.invalid":      {"Isian tidak sah.", "The form is not valid."},
	"error.internal":     {"Maaf, layanan sedang gangguan. Silakan coba lagi nanti.", "Sorry, the service is having a problem. Please try again later."},
	"kind.deposit":       {"Setoran", "Deposit"},
	"kind.repayment":     {"Angsuran", "Repayment"},
	"kind.disbursement":  {"Pencairan pinjaman", "Loan disbursement"},
	"kind.reversal":      {"Pembatalan", "Reversal"},
	"kind.opening":       {"Saldo awal", "Opening balance"},
	"kind.transfer":      {"Transfer bank", "Bank transfer"},
	"role.teller":        {"teller", "teller"},
	"role.collector":     {"kolektor", "collector"},
	"role.manager":       {"manajer", "manager"},
}

// T is catalogue text key in lang ("en", else Bahasa Indonesia), formatted
// with args; an unknown key shows as itself.
func T(lang, key string, args ...any) string {
	pair, ok := catalogue[key]
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

// accountName is an account's name as USSD shows it ("Simpanan Sukarela").
func accountName(lang string, k ledger.AccountKind) string {
	switch k {
	case ledger.Pokok, ledger.Wajib, ledger.Sukarela:
		return menus.T(lang, "account."+string(k))
	case ledger.LoanPrincipal:
		return T(lang, "member.loans")
	}
	return string(k)
}

// kindName is a journal kind's name.
func kindName(lang, kind string) string {
	if _, ok := catalogue["kind."+kind]; ok {
		return T(lang, "kind."+kind)
	}
	return kind
}
