package members

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PIN errors. A member is told which one applies; the PIN itself never
// appears in an error, a log line or the session.
var (
	ErrPINFormat = errors.New("pin must be exactly 6 digits")
	ErrWeakPIN   = errors.New("pin is too easy to guess")
	ErrWrongPIN  = errors.New("wrong pin")
	ErrPINLocked = errors.New("pin locked")
	ErrNoPIN     = errors.New("no pin set")
)

// MaxPINFailures wrong PINs in a row (across sessions) lock the PIN.
const MaxPINFailures = 3

// PINHasher hashes PINs with a key derived from LUMBUNG_SECRET. Six digits
// are only a million guesses, so a salted hash alone would fall to a dump of
// the database; keyed with a secret that lives outside the database, the
// hashes reveal nothing without it.
type PINHasher struct {
	key []byte
}

// NewPINHasher derives the PIN key from the installation secret.
func NewPINHasher(secret []byte) (*PINHasher, error) {
	if len(secret) < 32 {
		return nil, errors.New("secret must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "lumbung pin v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive pin key: %w", err)
	}
	return &PINHasher{key: key}, nil
}

// ValidatePIN checks the form of a new PIN: six digits, not all the same,
// not a straight run up or down.
func ValidatePIN(pin string) error {
	if len(pin) != 6 {
		return ErrPINFormat
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return ErrPINFormat
		}
	}
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		d := int(pin[i]) - int(pin[i-1])
		same = same && d == 0
		up = up && d == 1
		down = down && d == -1
	}
	if same || up || down {
		return ErrWeakPIN
	}
	return nil
}

// mac binds the PIN to its holder, so a hash copied onto another row does
// not verify there.
func (p *PINHasher) mac(h Holder, salt []byte, pin string) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write(salt)
	m.Write([]byte(string(h.Kind) + ":" + strconv.FormatInt(h.ID, 10) + ":" + pin))
	return m.Sum(nil)
}

// Hash returns the stored form of pin for holder h: v1$salt$mac.
func (p *PINHasher) Hash(h Holder, pin string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	enc := base64.RawStdEncoding
	return "v1$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(p.mac(h, salt, pin))
}

// Verify reports, in constant time, whether pin matches the stored hash.
func (p *PINHasher) Verify(h Holder, pin, stored string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 3 || parts[0] != "v1" {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[1])
	want, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return false
	}
	return hmac.Equal(p.mac(h, salt, pin), want)
}
