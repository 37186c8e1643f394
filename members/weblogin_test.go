package members_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

func eachWebDB(t *testing.T, fn func(t *testing.T, db *ledger.DB)) {
	t.Run("postgres", func(t *testing.T) { fn(t, ledgertest.Postgres(t)) })
	t.Run("sqlite", func(t *testing.T) { fn(t, ledgertest.SQLite(t)) })
}

func TestWebLogin(t *testing.T) {
	eachWebDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
		d, err := members.NewDirectory(db, testSecret, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
		require.NoError(t, err)
		advance := func(by time.Duration) { mu.Lock(); now = now.Add(by); mu.Unlock() }
		a, err := d.CreateCooperative(ctx, "KA", "Kopdit A", []string{"*1#"})
		require.NoError(t, err)
		b, err := d.CreateCooperative(ctx, "KB", "Kopdit B", []string{"*2#"})
		require.NoError(t, err)
		// one phone, staff in two cooperatives, a password each
		sa, _, _, err := d.AddStaffWithCredentials(ctx, a.ID, "Yosef", "081299990000", members.RoleTeller, "password-of-a-1")
		require.NoError(t, err)
		sb, _, _, err := d.AddStaffWithCredentials(ctx, b.ID, "Yosef", "081299990000", members.RoleManager, "password-of-b-1")
		require.NoError(t, err)

		got, err := d.WebLogin(ctx, "+6281299990000", "password-of-b-1")
		require.NoError(t, err)
		assert.Equal(t, sb.ID, got.ID)
		assert.Equal(t, "Kopdit B", got.Cooperative.Name)
		assert.True(t, got.MustChangePassword)
		got, err = d.WebLogin(ctx, "6281299990000", "password-of-a-1")
		require.NoError(t, err)
		assert.Equal(t, sa.ID, got.ID)

		for _, bad := range [][2]string{{"081299990000", "nope-nope-nope"}, {"081200000000", "password-of-a-1"}, {"not a phone", "x"}, {"081299990000", ""}} {
			_, err := d.WebLogin(ctx, bad[0], bad[1])
			assert.ErrorIs(t, err, members.ErrWrongPassword, bad[0])
		}

		// concurrent wrong passwords each count: 5 lock both staff members of the phone
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ { // with the one above: 5
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := d.WebLogin(ctx, "081299990000", "wrong-password-x")
				assert.ErrorIs(t, err, members.ErrWrongPassword)
			}()
		}
		wg.Wait()
		_, err = d.WebLogin(ctx, "081299990000", "password-of-a-1")
		assert.ErrorIs(t, err, members.ErrWrongPassword, "locked")
		advance(members.WebLoginLock + time.Second)
		_, err = d.WebLogin(ctx, "081299990000", "password-of-a-1")
		require.NoError(t, err, "the lock runs out")

		// changing the password
		assert.ErrorIs(t, d.ChangeWebPassword(ctx, a.ID, sa.ID, "wrong", "a-brand-new-one"), members.ErrWrongPassword)
		assert.ErrorIs(t, d.ChangeWebPassword(ctx, a.ID, sa.ID, "password-of-a-1", "short"), members.ErrInvalid)
		assert.ErrorIs(t, d.ChangeWebPassword(ctx, a.ID, sa.ID, "password-of-a-1", "password-of-a-1"), members.ErrSamePassword)
		assert.ErrorIs(t, d.ChangeWebPassword(ctx, b.ID, sa.ID, "password-of-a-1", "a-brand-new-one"), members.ErrWrongPassword, "another cooperative's")
		require.NoError(t, d.ChangeWebPassword(ctx, a.ID, sa.ID, "password-of-a-1", "a-brand-new-one"))
		got, err = d.WebLogin(ctx, "081299990000", "a-brand-new-one")
		require.NoError(t, err)
		assert.False(t, got.MustChangePassword)

		// an inactive staff member cannot log in, and their session's look-up fails
		_, err = db.ExecContext(ctx, db.Rebind(`UPDATE staff SET active = ? WHERE id = ?`), false, sa.ID)
		require.NoError(t, err)
		_, err = d.WebLogin(ctx, "081299990000", "a-brand-new-one")
		assert.ErrorIs(t, err, members.ErrWrongPassword)
		_, err = d.WebStaffByID(ctx, a.ID, sa.ID)
		assert.True(t, errors.Is(err, members.ErrNotFound))
		list, active, err := d.ListStaff(ctx, a.ID)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.False(t, active[0])
	})
}

func TestPINStateOf(t *testing.T) {
	eachWebDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(t, err)
		c, err := d.CreateCooperative(ctx, "KA", "Kopdit A", []string{"*1#"})
		require.NoError(t, err)
		m, err := d.AddMember(ctx, c.ID, members.NewMember{No: "A-1", Name: "Maria", Phone: "081234567890"})
		require.NoError(t, err)
		h := members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: c.ID}
		st, _, err := d.PINStateOf(ctx, h)
		require.NoError(t, err)
		assert.Equal(t, members.PINNone, st)
		require.NoError(t, d.SetPIN(ctx, h, "246810"))
		st, _, err = d.PINStateOf(ctx, h)
		require.NoError(t, err)
		assert.Equal(t, members.PINSet, st)
		for i := 0; i < members.MaxPINFailures; i++ {
			_, _, _ = d.CheckPIN(ctx, h, "999999")
		}
		st, until, err := d.PINStateOf(ctx, h)
		require.NoError(t, err)
		assert.Equal(t, members.PINLocked, st)
		assert.False(t, until.IsZero(), "a timed lock says until when")
	})
}
