package menus

// The GSM 03.38 default alphabet and its extension table (each extension
// character costs two septets: an escape and the character).
const (
	gsm7Basic     = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Extension = "\f^{}\\[~]|€"
)

var gsm7Cost = func() map[rune]int {
	m := make(map[rune]int, 140)
	for _, r := range gsm7Basic {
		m[r] = 1
	}
	for _, r := range gsm7Extension {
		m[r] = 2
	}
	return m
}()

// ScreenLimit is the most characters one USSD screen may carry: 160 GSM-7
// septets, or 70 characters once any character is outside GSM-7 (the whole
// screen is then sent as UCS-2).
const (
	ScreenLimitGSM7 = 160
	ScreenLimitUCS2 = 70
)

// ScreenCost measures text as the network will: its length in GSM-7
// septets if it fits that alphabet, else in UCS-2 characters; and the limit
// that applies.
func ScreenCost(text string) (length, limit int) {
	septets := 0
	for _, r := range text {
		c, ok := gsm7Cost[r]
		if !ok {
			n := 0
			for _, r := range text {
				n++
				if r > 0xFFFF { // outside the BMP: a surrogate pair
					n++
				}
			}
			return n, ScreenLimitUCS2
		}
		septets += c
	}
	return septets, ScreenLimitGSM7
}

// FitsScreen reports whether text fits one USSD screen.
func FitsScreen(text string) bool {
	n, limit := ScreenCost(text)
	return n <= limit
}
