package members

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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

// The PIN lockout. MaxPINFailures wrong PINs in a row (across sessions)
// lock the PIN for a while: the first lock lasts PINLockSteps[0], the next
// one in a row (after that one ran out, with no right PIN in between)
// PINLockSteps[1], and so on; the lock after the last step, the
// MaxPINLocks-th in a row, is permanent and only an activation code lifts
// it. A right PIN resets the count and the escalation.
//
// So a stranger who knows a member's phone can keep them out for at most
// 15 minutes at a time and needs 15 wrong PINs over 3¾ hours to force a
// visit to the office, while a guesser gets 15 tries out of 10^6 PINs
// before staff must act.
const (
	MaxPINFailures = 3
	MaxPINLocks    = 5
)

// PINLockSteps are how long the timed locks in a row last (MaxPINLocks-1
// of them).
var PINLockSteps = [MaxPINLocks - 1]time.Duration{15 * time.Minute, 30 * time.Minute, 60 * time.Minute, 120 * time.Minute}

// PINLockedError is ErrPINLocked (errors.Is matches it) saying until when:
// a zero Until is the permanent lock.
type PINLockedError struct {
	Until time.Time
}

func (e *PINLockedError) Error() string {
	if e.Until.IsZero() {
		return ErrPINLocked.Error()
	}
	return ErrPINLocked.Error() + " until " + e.Until.UTC().Format(time.RFC3339)
}

// Is makes errors.Is(err, ErrPINLocked) true.
func (e *PINLockedError) Is(target error) bool { return target == ErrPINLocked }

// PINLockedUntil is when the timed lock err reports ends; zero for the
// permanent lock or any other error.
func PINLockedUntil(err error) time.Time {
	var le *PINLockedError
	if errors.As(err, &le) {
		return le.Until
	}
	return time.Time{}
}

// pinLock reads a stored PIN's lock at now: permanent (locked_at), timed
// until a later instant, or none (a timed lock that ran out is none).
// locked_until counts only while failures is a non-zero multiple of
// MaxPINFailures: the lock was set by the failure that made it so, and
// whatever resets failures (a right PIN, a new PIN, a bulk PIN load) ends
// it too.
func pinLock(failures int, lockedAt, lockedUntil sql.NullTime, now time.Time) (permanent bool, until time.Time) {
	if lockedAt.Valid {
		return true, time.Time{}
	}
	if failures > 0 && failures%MaxPINFailures == 0 && lockedUntil.Valid && now.Before(lockedUntil.Time) {
		return false, lockedUntil.Time
	}
	return false, time.Time{}
}

// nextPINLock is what the failures-th wrong PIN in a row does: nothing
// (lock false), a timed lock of d, or the permanent lock (d zero).
func nextPINLock(failures int) (lock bool, d time.Duration) {
	if failures <= 0 || failures%MaxPINFailures != 0 {
		return false, 0
	}
	n := failures / MaxPINFailures // the n-th lock in a row
	if n >= MaxPINLocks {
		return true, 0
	}
	return true, PINLockSteps[n-1]
}

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
