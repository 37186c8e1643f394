package members_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

func TestActivation(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		d, err := members.NewDirectory(db, testSecret, clock)
		require.NoError(t, err)
		c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit", []string{"*123#"})
		require.NoError(t, err)
		m, err := d.AddMember(ctx, c.ID, members.NewMember{No: "A-1", Name: "Maria", Phone: "081234567890"})
		require.NoError(t, err)
		h := members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: c.ID}

		_, _, err = d.VerifyActivationCode(ctx, h, "123456")
		assert.ErrorIs(t, err, members.ErrNoActivationCode)

		code, expires, err := d.IssueActivationCode(ctx, h, 0)
		require.NoError(t, err)
		assert.Len(t, code, 6)
		assert.Equal(t, now.Add(72*time.Hour), expires)
		var stored string
		require.NoError(t, db.Get(&stored, db.Rebind(`SELECT code_hash FROM activation_codes WHERE holder_id = ?`), m.ID))
		assert.NotContains(t, stored, code, "the code is stored only as a keyed hash")

		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		_, rem, err := d.VerifyActivationCode(ctx, h, wrong)
		assert.ErrorIs(t, err, members.ErrActivationWrong)
		assert.Equal(t, 2, rem)
		id, _, err := d.VerifyActivationCode(ctx, h, code)
		require.NoError(t, err)

		assert.ErrorIs(t, d.StagePIN(ctx, h, "123456"), members.ErrWeakPIN)
		require.NoError(t, d.StagePIN(ctx, h, "246810"))
		assert.ErrorIs(t, d.ConfirmPIN(ctx, h, "246811", id), members.ErrPINMismatch)
		assert.ErrorIs(t, d.ConfirmPIN(ctx, h, "246810", id), members.ErrPINChangeNotStarted, "a mismatch drops the staged PIN")
		require.NoError(t, d.StagePIN(ctx, h, "246810"))
		require.NoError(t, d.ConfirmPIN(ctx, h, "246810", id))
		_, _, err = d.CheckPIN(ctx, h, "246810")
		require.NoError(t, err)
		var queued int
		require.NoError(t, db.Get(&queued, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE template = ? AND phone = ?`), "pin.changed", "+6281234567890"))
		assert.Equal(t, 1, queued, "the member is told by SMS that the PIN was set")

		t.Run("a code activates once", func(t *testing.T) {
			require.NoError(t, d.StagePIN(ctx, h, "905172"))
			assert.ErrorIs(t, d.ConfirmPIN(ctx, h, "905172", id), members.ErrActivationExpired)
			_, _, err := d.VerifyActivationCode(ctx, h, code)
			assert.ErrorIs(t, err, members.ErrNoActivationCode)
		})
		t.Run("three wrong codes kill it", func(t *testing.T) {
			code, _, err := d.IssueActivationCode(ctx, h, 0)
			require.NoError(t, err)
			bad := "111111"
			if code == bad {
				bad = "222222"
			}
			for range 2 {
				_, _, err = d.VerifyActivationCode(ctx, h, bad)
				assert.ErrorIs(t, err, members.ErrActivationWrong)
			}
			_, _, err = d.VerifyActivationCode(ctx, h, bad)
			assert.ErrorIs(t, err, members.ErrActivationExpired)
			_, _, err = d.VerifyActivationCode(ctx, h, code)
			assert.ErrorIs(t, err, members.ErrActivationExpired, "dead even for the right code")
		})
		t.Run("codes expire", func(t *testing.T) {
			code, _, err := d.IssueActivationCode(ctx, h, time.Hour)
			require.NoError(t, err)
			advance(time.Hour)
			_, _, err = d.VerifyActivationCode(ctx, h, code)
			assert.ErrorIs(t, err, members.ErrActivationExpired)
		})
		t.Run("a new code unlocks a locked PIN and retires the old one", func(t *testing.T) {
			for range 3 {
				d.CheckPIN(ctx, h, "111112")
			}
			_, _, err := d.CheckPIN(ctx, h, "246810")
			require.ErrorIs(t, err, members.ErrPINLocked)
			var alerts int
			require.NoError(t, db.Get(&alerts, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE template = ?`), "pin.locked"))
			assert.Equal(t, 1, alerts, "one SMS alert when the PIN locks")
			old, _, err := d.IssueActivationCode(ctx, h, 0)
			require.NoError(t, err)
			code, _, err := d.IssueActivationCode(ctx, h, 0)
			require.NoError(t, err)
			if old != code {
				_, _, err = d.VerifyActivationCode(ctx, h, old)
				assert.ErrorIs(t, err, members.ErrActivationWrong, "only the newest code counts")
			}
			id, _, err := d.VerifyActivationCode(ctx, h, code)
			require.NoError(t, err)
			require.NoError(t, d.StagePIN(ctx, h, "735104"))
			require.NoError(t, d.ConfirmPIN(ctx, h, "735104", id))
			_, _, err = d.CheckPIN(ctx, h, "735104")
			require.NoError(t, err)
		})
		t.Run("a staged PIN expires", func(t *testing.T) {
			require.NoError(t, d.StagePIN(ctx, h, "864209"))
			advance(6 * time.Minute)
			assert.ErrorIs(t, d.ConfirmPIN(ctx, h, "864209", 0), members.ErrPINChangeNotStarted)
		})
		t.Run("two sessions confirming with one code: one wins", func(t *testing.T) {
			code, _, err := d.IssueActivationCode(ctx, h, 0)
			require.NoError(t, err)
			id, _, err := d.VerifyActivationCode(ctx, h, code)
			require.NoError(t, err)
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if d.StagePIN(ctx, h, "518273") != nil {
						return
					}
					if d.ConfirmPIN(ctx, h, "518273", id) == nil {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, 1, wins)
		})
	})
}
