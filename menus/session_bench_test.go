package menus

import (
	"encoding/json"
	"testing"

	"github.com/lumbung-id/lumbung/members"
)

// benchSession is a session as a hop stores it on the PIN prompt of "Cek
// Saldo": the caller chosen, the screen stack, the last reply.
func benchSession() Session {
	return Session{
		Provider: "africastalking", MSISDN: "+6281234567890", ServiceCode: "*123#", Lang: "id",
		Key: "africastalking:ATUid_0123456789abcdef", Nonce: "0a1b2c3d4e5f",
		Who: &Candidate{Coop: members.Cooperative{ID: 1, Code: "KSP-DEMO", Name: "Kopdit Demo Sejahtera"},
			Holder: members.Holder{Kind: members.KindMember, ID: 42, CooperativeID: 1}, Name: "Maria Goreti", Language: "id", HasPIN: true},
		Screen: "pin", Stack: []ScreenID{"main"}, Next: "balance", Hop: 1,
		Last: &Reply{Text: "Masukkan PIN (6 angka):\n0 Kembali"},
	}
}

// BenchmarkSessionCodec is what the session store's codec costs a hop: one
// decode of the stored state and one encode of the new one, beside
// encoding/json doing the same in the same run:
//
//	go test ./menus -run '^$' -bench SessionCodec
func BenchmarkSessionCodec(b *testing.B) {
	s := benchSession()
	raw, err := json.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d Session
			if err := json.Unmarshal(raw, &d); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session-codec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d Session
			if err := DecodeSession(raw, &d); err != nil {
				b.Fatal(err)
			}
			if _, err := EncodeSession(&d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
