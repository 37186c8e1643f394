package menus

import "fmt"

// catalogue holds every text a member or staff member sees, in Bahasa
// Indonesia and English. Keys are stable; wording may be polished.
var catalogue = map[string][2]string{
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
	"pin.shape":      {"PIN harus 6 angka.", "The PIN must be 6 digits."},
	"pin.wrong":      {"PIN salah. Sisa percobaan: %d", "Wrong PIN. Tries left: %d"},
	"pin.locked":     {"PIN Anda terblokir. Hubungi kantor koperasi untuk kode aktivasi baru.", "Your PIN is locked. Contact the cooperative's office for a new activation code."},
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

	"soon":       {"Layanan ini belum tersedia lewat USSD. Silakan hubungi kantor koperasi.", "This service is not yet available by USSD. Please contact the cooperative's office."},
	"staff.head": {"Petugas %s", "Staff %s"},
}

// T returns the text for key in lang ("id" or "en"), formatted with args.
// An unknown key is a programming error caught by the catalogue test; at run
// time it renders the key itself rather than panicking.
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
