package ussd

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/lumbung-id/lumbung/menus"
)

// A hop is bound to its session by what only the member's handset and the
// telco know: the hop number must follow the session's (Hubtel's Sequence,
// the length of Africa's Talking's text), and where the provider sends the
// whole history of inputs (Africa's Talking), the history before this hop
// must be the one the session last saw. The history holds the PIN, so the
// session keeps only a keyed MAC of it (menus.Session.Trail), under a key
// derived from LUMBUNG_SECRET that never reaches the session store.

// NewHistoryKey derives the key of the sessions' history MACs from the
// installation secret (HKDF-SHA256, an info string of its own). Every
// instance of one installation derives the same key, so a session can move
// between instances.
func NewHistoryKey(secret []byte) ([]byte, error) {
	if len(secret) < 32 {
		return nil, errors.New("secret must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "lumbung ussd history v1", 32)
	if err != nil {
		return nil, fmt.Errorf("derive ussd history key: %w", err)
	}
	return key, nil
}

// trailBytes is how much of the HMAC a session keeps: 128 bits.
const trailBytes = 16

// historyKey is h.HistoryKey, or a random key drawn once when none was given
// (one process: its sessions live and die with it, or its store is shared
// only with itself).
func (h *Handler) historyKey() []byte {
	h.keyOnce.Do(func() {
		if len(h.HistoryKey) > 0 {
			h.key = h.HistoryKey
			return
		}
		h.key = make([]byte, 32)
		_, _ = rand.Read(h.key) // crypto/rand.Read never fails
	})
	return h.key
}

// trail is the MAC of a session's input history; key (provider and session
// id) is part of it, so one session's trail is worth nothing in another.
func (h *Handler) trail(key, history string) string {
	mac, _ := h.macs.Get().(hash.Hash)
	if mac == nil {
		mac = hmac.New(sha256.New, h.historyKey())
	}
	defer h.macs.Put(mac)
	mac.Reset() // an HMAC resets to its keyed state: the key is not hashed again
	var sum [sha256.Size]byte
	_, _ = io.WriteString(mac, key)
	_, _ = mac.Write([]byte{0})
	_, _ = io.WriteString(mac, history)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(sum[:0])[:trailBytes])
}

// sameTrail compares a computed trail with the stored one in constant time.
func sameTrail(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// hopPlace is where a hop stands against its stored session.
type hopPlace int

const (
	hopNext    hopPlace = iota // the session's next hop: run it
	hopRepeat                  // the hop the session last answered, again (a telco retry)
	hopForeign                 // a hop that is not the session's: answer it, change nothing
)

// place tells where req stands against the stored session s (key is the
// store's key). A provider that numbers no hops (Freeflow) has only next
// hops; a session stored before trails were kept (a rolling deploy) is
// checked on its hop number alone.
func (h *Handler) place(s *menus.Session, key string, req Request) hopPlace {
	if req.HopIndex < 0 {
		return hopNext
	}
	checked := req.hasHistory && s.Trail != ""
	switch {
	case s.Last == nil: // nothing answered yet: any hop number goes
		return hopNext
	case req.HopIndex == s.Hop:
		if checked && !sameTrail(h.trail(key, req.history), s.Trail) {
			return hopForeign // same number, other inputs: not a retry
		}
		return hopRepeat
	case req.HopIndex != s.Hop+1:
		// Behind (a stale hop: the session has moved on, and its last screen
		// is not this hop's) or ahead (a hop the member never saw a screen
		// for).
		return hopForeign
	case checked && !sameTrail(h.trail(key, priorHistory(req.history)), s.Trail):
		return hopForeign
	}
	return hopNext
}

// priorHistory is the history before its last input: "1*2*3" → "1*2",
// "1" → "".
func priorHistory(history string) string {
	if i := strings.LastIndexByte(history, '*'); i >= 0 {
		return history[:i]
	}
	return ""
}
