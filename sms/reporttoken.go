package sms

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// ReportSigner makes and checks the token lumbung puts in each message's
// delivery-report URL (Kannel's dlr-url): the outbox ids in that URL are
// sequential, so without the token anyone could mark any message delivered
// or failed. The key is derived from LUMBUNG_SECRET; every instance derives
// the same one.
type ReportSigner struct {
	key []byte
}

// reportTokenBytes is how much of the HMAC the token keeps: 128 bits.
const reportTokenBytes = 16

// NewReportSigner derives the report key from the installation secret
// (HKDF-SHA256, its own info string: no other key is the same).
func NewReportSigner(secret []byte) (*ReportSigner, error) {
	if len(secret) < 32 {
		return nil, errors.New("secret must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "lumbung sms delivery report v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive delivery-report key: %w", err)
	}
	return &ReportSigner{key: key}, nil
}

// Token is hex(first 16 bytes of HMAC-SHA256(key, "dlr:" + id)).
func (s *ReportSigner) Token(id int64) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("dlr:" + strconv.FormatInt(id, 10)))
	return hex.EncodeToString(mac.Sum(nil)[:reportTokenBytes])
}

// Check reports whether token is id's token, in constant time. A nil
// signer accepts nothing.
func (s *ReportSigner) Check(id int64, token string) bool {
	if s == nil || id <= 0 || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(s.Token(id)), []byte(token)) == 1
}
