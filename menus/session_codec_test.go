package menus

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/lumbung-id/lumbung/members"
)

// anyText is any string a session may carry, from the screens' own text to
// what a member typed: ASCII, Indonesian text, HTML-ish characters and
// quotes (which encoding/json escapes), control characters, and bytes that
// are not UTF-8.
func anyText() *rapid.Generator[string] {
	return rapid.OneOf(
		rapid.String(),
		rapid.StringMatching(`[a-zA-Z0-9 :*#\n]{0,40}`),
		rapid.SampledFrom([]string{"", "<b>&amp;</b>", `"quoted" \ back`, "\u2028\u2029", "\x00\x1f\x7f", "\xff\xfe", "Rp 1.500.000\nSaldo"}),
	)
}

func anyCandidate(t *rapid.T, label string) Candidate {
	return Candidate{
		Coop: members.Cooperative{ID: rapid.Int64().Draw(t, label+"coop"), Code: anyText().Draw(t, label+"code"),
			Name: anyText().Draw(t, label+"coopname")},
		Holder: members.Holder{Kind: members.HolderKind(rapid.SampledFrom([]string{"member", "staff", ""}).Draw(t, label+"kind")),
			ID: rapid.Int64().Draw(t, label+"id"), CooperativeID: rapid.Int64().Draw(t, label+"cid")},
		Name:      anyText().Draw(t, label+"name"),
		Role:      members.Role(rapid.SampledFrom([]string{"", "teller", "manager"}).Draw(t, label+"role")),
		Language:  rapid.SampledFrom([]string{"id", "en", ""}).Draw(t, label+"lang"),
		HasPIN:    rapid.Bool().Draw(t, label+"haspin"),
		PINLocked: rapid.Bool().Draw(t, label+"locked"),
	}
}

func anySession(t *rapid.T) Session {
	s := Session{
		Provider: anyText().Draw(t, "provider"), MSISDN: anyText().Draw(t, "msisdn"),
		ServiceCode: anyText().Draw(t, "code"), Lang: anyText().Draw(t, "lang"),
		Key: anyText().Draw(t, "key"), Nonce: anyText().Draw(t, "nonce"),
		Screen: ScreenID(anyText().Draw(t, "screen")), Next: ScreenID(anyText().Draw(t, "next")),
		Authed: rapid.Bool().Draw(t, "authed"), AuthedAt: rapid.Int64().Draw(t, "authedAt"),
		ActivationID: rapid.Int64().Draw(t, "activation"), Invalid: rapid.Int().Draw(t, "invalid"),
		Notice: anyText().Draw(t, "notice"), Hop: rapid.Int().Draw(t, "hop"), Trail: anyText().Draw(t, "trail"),
	}
	for i := range rapid.IntRange(0, 3).Draw(t, "candidates") {
		s.Candidates = append(s.Candidates, anyCandidate(t, "c"+string(rune('0'+i))))
	}
	if rapid.Bool().Draw(t, "who?") {
		who := anyCandidate(t, "who")
		s.Who = &who
	}
	if rapid.Bool().Draw(t, "stack?") {
		s.Stack = rapid.SliceOf(rapid.Map(anyText(), func(v string) ScreenID { return ScreenID(v) })).Draw(t, "stack")
	}
	if rapid.Bool().Draw(t, "vars?") {
		s.Vars = rapid.MapOf(anyText(), anyText()).Draw(t, "vars")
	}
	if rapid.Bool().Draw(t, "last?") {
		s.Last = &Reply{Text: anyText().Draw(t, "last"), End: rapid.Bool().Draw(t, "end")}
	}
	return s
}

// TestSessionCodecIsEncodingJSON: the session codec writes what
// encoding/json writes, byte for byte, and reads it back to what
// encoding/json reads. Sessions stored by an earlier release (or by an
// instance of one, during a rolling upgrade) go on, and so do the new ones.
func TestSessionCodecIsEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := anySession(t)
		want, err := json.Marshal(s)
		require.NoError(t, err)
		got, err := EncodeSession(&s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))

		var std, ours Session
		require.NoError(t, json.Unmarshal(want, &std))
		require.NoError(t, DecodeSession(want, &ours))
		require.Equal(t, std, ours)
	})
}

func TestDecodeSessionRefusesWhatIsNotASession(t *testing.T) {
	for _, raw := range []string{"", "{", "[]", `{"hop":"one"}`, "null x", "\xff"} {
		var s Session
		assert.Error(t, DecodeSession([]byte(raw), &s), "%q", raw)
	}
}
