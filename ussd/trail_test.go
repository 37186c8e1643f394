package ussd

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lumbung-id/lumbung/menus"
)

func TestHopPlace(t *testing.T) {
	key := "africastalking:ATUid_1"
	h := &Handler{HistoryKey: bytes.Repeat([]byte{7}, 32)}
	at := func(history string) Request {
		r := Request{Provider: "africastalking", SessionID: "ATUid_1", history: history, hasHistory: true}
		if history != "" {
			r.HopIndex = strings.Count(history, "*") + 1
		}
		return r
	}
	// The session answered hop 2, whose text was "1*246810".
	s := &menus.Session{Hop: 2, Last: &menus.Reply{Text: "Saldo"}, Trail: h.trail(key, "1*246810")}
	hubtel := func(hop int) Request { return Request{Provider: "hubtel", HopIndex: hop} }
	for _, c := range []struct {
		name string
		s    *menus.Session
		req  Request
		want hopPlace
	}{
		{"the telco's retry", s, at("1*246810"), hopRepeat},
		{"the next hop", s, at("1*246810*2"), hopNext},
		{"the same number, another PIN", s, at("1*000000"), hopForeign},
		{"the next number, another history", s, at("1*000000*2"), hopForeign},
		{"a hop ahead", s, at("1*246810*2*3"), hopForeign},
		{"a hop behind", s, at("1"), hopForeign},
		{"the first hop again", s, at(""), hopForeign},
		{"another session's trail", &menus.Session{Hop: 2, Last: s.Last, Trail: h.trail("africastalking:ATUid_2", "1*246810")}, at("1*246810"), hopForeign},
		{"a session stored before trails: a retry", &menus.Session{Hop: 2, Last: s.Last}, at("9*999999"), hopRepeat},
		{"a session stored before trails: the next number", &menus.Session{Hop: 2, Last: s.Last}, at("9*999999*1"), hopNext},
		{"a session stored before trails: a hop ahead", &menus.Session{Hop: 2, Last: s.Last}, at("9*9*9*9"), hopForeign},
		{"hubtel next", &menus.Session{Hop: 2, Last: s.Last}, hubtel(3), hopNext},
		{"hubtel retry", &menus.Session{Hop: 2, Last: s.Last}, hubtel(2), hopRepeat},
		{"hubtel skip", &menus.Session{Hop: 2, Last: s.Last}, hubtel(5), hopForeign},
		{"hubtel stale", &menus.Session{Hop: 2, Last: s.Last}, hubtel(1), hopForeign},
		{"freeflow numbers no hops", &menus.Session{Hop: 2, Last: s.Last}, Request{Provider: "freeflow", HopIndex: -1}, hopNext},
		{"nothing answered yet", &menus.Session{Hop: 0}, hubtel(4), hopNext},
	} {
		if got := h.place(c.s, key, c.req); got != c.want {
			t.Errorf("%s: place = %d, want %d", c.name, got, c.want)
		}
	}
}

// The trail is a keyed MAC: another key (another installation) gives
// another trail, the same key (another instance) the same one, and it never
// shows the history it was made of.
func TestTrailIsKeyed(t *testing.T) {
	secret := []byte("an installation secret of 32 bytes or more")
	k1, err := NewHistoryKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := NewHistoryKey(secret)
	other, _ := NewHistoryKey([]byte("another installation's secret, 32 bytes+"))
	a, b, c := &Handler{HistoryKey: k1}, &Handler{HistoryKey: k2}, &Handler{HistoryKey: other}
	if a.trail("k", "1*246810") != b.trail("k", "1*246810") {
		t.Error("two instances of one installation disagree on a trail")
	}
	if a.trail("k", "1*246810") == c.trail("k", "1*246810") {
		t.Error("two installations agree on a trail")
	}
	if tr := a.trail("k", "1*246810"); strings.Contains(tr, "246810") || len(tr) != 22 {
		t.Errorf("trail %q", tr)
	}
	if bytes.Equal(k1, secret[:32]) {
		t.Error("the key is the secret itself")
	}
	// The pooled HMACs, used again and at once by many hops, give what a
	// fresh HMAC-SHA256 of key, NUL, history gives.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				key, history := fmt.Sprintf("africastalking:s%d", i), strings.Repeat("1*", j%7)+"246810"
				mac := hmac.New(sha256.New, k1)
				mac.Write([]byte(key + "\x00" + history))
				want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
				if got := a.trail(key, history); got != want {
					t.Errorf("trail(%q, %q) = %q, want %q", key, history, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := NewHistoryKey([]byte("short")); err == nil {
		t.Error("a short secret was taken")
	}
	// Without a key a handler draws its own, the same for all its hops.
	var h Handler
	if h.trail("k", "1") != h.trail("k", "1") || h.trail("k", "1") == (&Handler{}).trail("k", "1") {
		t.Error("a handler's own key is not stable, or not its own")
	}
}

func TestPriorHistory(t *testing.T) {
	for in, want := range map[string]string{"": "", "1": "", "1*2": "1", "1**3": "1*", "6*246810*135792": "6*246810"} {
		if got := priorHistory(in); got != want {
			t.Errorf("priorHistory(%q) = %q, want %q", in, got, want)
		}
	}
}
