package members_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenSetup makes a Directory on a clock and two cooperatives.
func tokenSetup(t *testing.T, db *ledger.DB) (*members.Directory, *testClock, members.Cooperative, members.Cooperative) {
	t.Helper()
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	d, err := members.NewDirectory(db, testSecret, clock.now)
	require.NoError(t, err)
	c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Sejahtera", []string{"*123#"})
	require.NoError(t, err)
	other, err := d.CreateCooperative(ctx, "KSP2", "Kopdit Lain", []string{"*456#"})
	require.NoError(t, err)
	return d, clock, c, other
}

func TestTokenAddAndAuthenticate(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, clock, c, _ := tokenSetup(t, db)

		token, tok, err := d.AddToken(ctx, c.ID, "  Akuntansi  ", false)
		require.NoError(t, err)
		assert.Regexp(t, `^lbk_[a-z2-7]{52}$`, token, "lbk_ and 32 random bytes in base32")
		assert.Equal(t, members.Token{ID: tok.ID, CooperativeID: c.ID, Name: "Akuntansi", CreatedAt: clock.now()}, tok)
		assert.Positive(t, tok.ID)

		roToken, ro, err := d.AddToken(ctx, c.ID, "Bank matcher", true)
		require.NoError(t, err)
		assert.NotEqual(t, token, roToken)
		assert.True(t, ro.ReadOnly)

		got, err := d.Authenticate(ctx, token)
		require.NoError(t, err)
		want := tok
		want.LastUsedAt = clock.now()
		assert.Equal(t, want, got)
		got, err = d.Authenticate(ctx, roToken)
		require.NoError(t, err)
		assert.True(t, got.ReadOnly)
		assert.Equal(t, ro.ID, got.ID)

		list, err := d.Tokens(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, []int64{tok.ID, ro.ID}, []int64{list[0].ID, list[1].ID})
		assert.Equal(t, want, list[0])

		flipped := token[:len(token)-1] + map[bool]string{true: "a", false: "b"}[!strings.HasSuffix(token, "a")]
		for name, bad := range map[string]string{
			"empty":            "",
			"no prefix":        strings.TrimPrefix(token, "lbk_"),
			"one char changed": flipped,
			"upper case":       strings.ToUpper(token),
			"padded":           token + " ",
			"huge":             "lbk_" + strings.Repeat("a", 10000),
		} {
			_, err := d.Authenticate(ctx, bad)
			assert.ErrorIs(t, err, members.ErrBadToken, name)
		}
	})
}

func TestTokenName(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, _, c, _ := tokenSetup(t, db)
		for name, bad := range map[string]string{
			"empty":     "",
			"blank":     " \t ",
			"too long":  strings.Repeat("x", members.MaxTokenNameLength+1),
			"two lines": "a\nb",
			"nul":       "a\x00b",
			"not utf-8": "a\xffb",
		} {
			_, _, err := d.AddToken(ctx, c.ID, bad, false)
			assert.ErrorIs(t, err, members.ErrInvalid, name)
		}
		_, tok, err := d.AddToken(ctx, c.ID, strings.Repeat("é", members.MaxTokenNameLength), false)
		require.NoError(t, err, "100 characters, 200 bytes")
		assert.Equal(t, strings.Repeat("é", members.MaxTokenNameLength), tok.Name)

		list, err := d.Tokens(ctx, c.ID)
		require.NoError(t, err)
		assert.Len(t, list, 1, "no refused name left a row")
	})
}

// The database keeps the token's hash: its row, read whole, holds no part
// of the token.
func TestTokenStoredHashed(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, _, c, _ := tokenSetup(t, db)
		token, tok, err := d.AddToken(ctx, c.ID, "Akuntansi", false)
		require.NoError(t, err)
		_, err = d.Authenticate(ctx, token)
		require.NoError(t, err)

		row := map[string]any{}
		require.NoError(t, db.QueryRowxContext(ctx, db.Rebind(`SELECT * FROM api_tokens WHERE id = ?`), tok.ID).MapScan(row))
		secret := strings.TrimPrefix(token, members.TokenPrefix)
		for col, v := range row {
			s := fmt.Sprintf("%v", v)
			if b, ok := v.([]byte); ok {
				s = string(b)
			}
			assert.NotContains(t, strings.ToLower(s), secret[:16], "column %s", col)
		}
		sum := sha256.Sum256([]byte(token))
		assert.Equal(t, hex.EncodeToString(sum[:]), fmt.Sprintf("%s", row["token_hash"]))
	})
}

// A revocation counts at once, also on another instance (a second
// Directory over the same database), and only the token's own cooperative
// can revoke it.
func TestTokenRevoke(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, clock, c, other := tokenSetup(t, db)
		elsewhere, err := members.NewDirectory(db, testSecret, clock.now)
		require.NoError(t, err)

		token, tok, err := d.AddToken(ctx, c.ID, "Akuntansi", false)
		require.NoError(t, err)
		keep, kept, err := d.AddToken(ctx, c.ID, "Laporan", true)
		require.NoError(t, err)
		_, err = elsewhere.Authenticate(ctx, token)
		require.NoError(t, err)

		assert.ErrorIs(t, d.RevokeToken(ctx, other.ID, tok.ID), members.ErrNotFound, "another cooperative's token")
		_, err = elsewhere.Authenticate(ctx, token)
		require.NoError(t, err, "still valid after the refused revocation")
		assert.ErrorIs(t, d.RevokeToken(ctx, c.ID, tok.ID+kept.ID+100), members.ErrNotFound, "unknown id")

		require.NoError(t, d.RevokeToken(ctx, c.ID, tok.ID))
		_, err = elsewhere.Authenticate(ctx, token)
		assert.ErrorIs(t, err, members.ErrBadToken, "the other instance refuses it at once")
		_, err = d.Authenticate(ctx, token)
		assert.ErrorIs(t, err, members.ErrBadToken)

		clock.advance(time.Hour)
		require.NoError(t, d.RevokeToken(ctx, c.ID, tok.ID), "revoking again is no error")
		var revokedAt time.Time
		require.NoError(t, db.GetContext(ctx, &revokedAt, db.Rebind(`SELECT revoked_at FROM api_tokens WHERE id = ?`), tok.ID))
		assert.True(t, revokedAt.Equal(clock.now().Add(-time.Hour)), "the first revocation time stays: %v", revokedAt)

		list, err := d.Tokens(ctx, c.ID)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, kept.ID, list[0].ID)
		_, err = elsewhere.Authenticate(ctx, keep)
		assert.NoError(t, err, "the other token lives on")
	})
}

// last_used_at is written at most once a minute per token.
func TestTokenLastUsedThrottle(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, clock, c, _ := tokenSetup(t, db)
		token, _, err := d.AddToken(ctx, c.ID, "Akuntansi", false)
		require.NoError(t, err)
		stored := func() time.Time {
			t.Helper()
			list, err := d.Tokens(ctx, c.ID)
			require.NoError(t, err)
			require.Len(t, list, 1)
			return list[0].LastUsedAt
		}
		assert.True(t, stored().IsZero(), "never used")

		first := clock.now()
		_, err = d.Authenticate(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, first, stored())

		clock.advance(59 * time.Second)
		got, err := d.Authenticate(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, first, got.LastUsedAt)
		assert.Equal(t, first, stored(), "not written again within a minute")

		clock.advance(2 * time.Second)
		got, err = d.Authenticate(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, clock.now(), got.LastUsedAt)
		assert.Equal(t, clock.now(), stored(), "written once the minute is over")
	})
}
