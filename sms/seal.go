package sms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Sealer keeps an inbound text unreadable at rest between its arrival and
// its processing: "SALDO 123456" holds a PIN, and PINs are never stored in
// clear. The key is derived from LUMBUNG_SECRET, which lives outside the
// database.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer derives the sealing key from the installation secret.
func NewSealer(secret []byte) (*Sealer, error) {
	if len(secret) < 32 {
		return nil, errors.New("secret must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "lumbung sms inbound v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive sms key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts text; ad binds it to its row (provider and message id), so
// a sealed text copied to another row does not open.
func (s *Sealer) Seal(text, ad string) string {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(text), []byte(ad)))
}

// Open decrypts what Seal made with the same ad.
func (s *Sealer) Open(sealed, ad string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", errors.New("sealed text is malformed")
	}
	n := s.aead.NonceSize()
	pt, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(ad))
	if err != nil {
		return "", errors.New("sealed text does not open with this secret")
	}
	return string(pt), nil
}

// maskDigits replaces every run of four or more digits with asterisks: what
// is kept of an inbound text after it is processed says what was asked
// ("SALDO ******") without the PIN.
func maskDigits(text string) string {
	var b strings.Builder
	run := 0
	flush := func(end int) {
		digits := text[end-run : end]
		if run >= 4 {
			digits = strings.Repeat("*", run)
		}
		b.WriteString(digits)
		run = 0
	}
	for i := 0; i < len(text); i++ {
		if c := text[i]; c >= '0' && c <= '9' {
			run++
			continue
		}
		if run > 0 {
			flush(i)
		}
		b.WriteByte(text[i])
	}
	if run > 0 {
		flush(len(text))
	}
	return b.String()
}
