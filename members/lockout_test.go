package members_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

// lockoutFixture is one member with PIN 246810 and a clock the test moves.
type lockoutFixture struct {
	ctx     context.Context
	db      *ledger.DB
	d       *members.Directory
	h       members.Holder
	phone   string
	mu      sync.Mutex
	now     time.Time
	service string
}

// newLockoutFixture makes cooperative n (each subtest its own: they share
// the database).
func newLockoutFixture(t *testing.T, db *ledger.DB, n int) *lockoutFixture {
	t.Helper()
	f := &lockoutFixture{ctx: context.Background(), db: db, now: time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC),
		service: fmt.Sprintf("*12%d#", n), phone: fmt.Sprintf("+62812345678%02d", n)}
	d, err := members.NewDirectory(db, testSecret, func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now })
	require.NoError(t, err)
	f.d = d
	c, err := d.CreateCooperative(f.ctx, fmt.Sprintf("KSP%d", n), "Kopdit", []string{f.service})
	require.NoError(t, err)
	m, err := d.AddMember(f.ctx, c.ID, members.NewMember{No: "A-1", Name: "Maria", Phone: f.phone})
	require.NoError(t, err)
	f.h = members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: c.ID}
	require.NoError(t, d.SetPIN(f.ctx, f.h, "246810"))
	return f
}

func (f *lockoutFixture) advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }
func (f *lockoutFixture) clock() time.Time        { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

// alerts are the queued pin.locked SMS, oldest first: their params.
func (f *lockoutFixture) alerts(t *testing.T) []string {
	t.Helper()
	var params []string
	require.NoError(t, f.db.Select(&params, f.db.Rebind(`SELECT params FROM outbox WHERE template = ? AND phone = ? ORDER BY id`), ledger.TmplPINLocked, f.phone))
	return params
}

// wrongUntilLocked types three wrong PINs: two say how many tries are left,
// the third locks.
func (f *lockoutFixture) wrongUntilLocked(t *testing.T) error {
	t.Helper()
	for want := 2; want >= 1; want-- {
		rem, jl, err := f.d.CheckPIN(f.ctx, f.h, "111112")
		require.ErrorIs(t, err, members.ErrWrongPIN)
		require.Equal(t, want, rem)
		require.False(t, jl)
	}
	_, jl, err := f.d.CheckPIN(f.ctx, f.h, "111112")
	require.ErrorIs(t, err, members.ErrPINLocked)
	require.True(t, jl, "the third wrong PIN locks")
	return err
}

func (f *lockoutFixture) identity(t *testing.T) members.Identity {
	t.Helper()
	ids, err := f.d.Identify(f.ctx, f.service, f.phone)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	sms, err := f.d.MembersByPhone(f.ctx, f.phone)
	require.NoError(t, err)
	require.Len(t, sms, 1)
	assert.Equal(t, ids[0].PINLocked, sms[0].PINLocked, "the SMS view agrees")
	assert.True(t, ids[0].PINLockedUntil.Equal(sms[0].PINLockedUntil), "the SMS view agrees")
	return ids[0]
}

func TestPINLockout(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		t.Run("three wrong lock for 15 minutes, then the right PIN works and resets", func(t *testing.T) {
			f := newLockoutFixture(t, db, 1)
			err := f.wrongUntilLocked(t)
			want := f.clock().Add(15 * time.Minute)
			assert.True(t, members.PINLockedUntil(err).Equal(want), "locked until %v; want %v", members.PINLockedUntil(err), want)
			id := f.identity(t)
			assert.False(t, id.PINLocked, "a timed lock is not the permanent one")
			assert.True(t, id.PINLockedUntil.Equal(want))

			f.advance(15*time.Minute - time.Second)
			rem, jl, err := f.d.CheckPIN(f.ctx, f.h, "246810")
			assert.ErrorIs(t, err, members.ErrPINLocked, "during the lock even the right PIN is refused")
			assert.False(t, jl)
			assert.Zero(t, rem)
			_, _, _, err = f.d.CheckPINBalances(f.ctx, f.h, "246810")
			assert.ErrorIs(t, err, members.ErrPINLocked)
			_, jl, err = f.d.CheckPIN(f.ctx, f.h, "111112")
			assert.ErrorIs(t, err, members.ErrPINLocked, "a wrong PIN during the lock is not counted")
			assert.False(t, jl)
			assert.Len(t, f.alerts(t), 1, "one alert per lock")

			f.advance(time.Second)
			id = f.identity(t)
			assert.False(t, id.PINLocked)
			assert.True(t, id.PINLockedUntil.IsZero(), "a lock that ran out is no lock")
			_, _, err = f.d.CheckPIN(f.ctx, f.h, "246810")
			require.NoError(t, err, "after 15 minutes the right PIN works")

			// The right PIN reset the count and the escalation: the next
			// lock is 15 minutes again.
			err = f.wrongUntilLocked(t)
			assert.True(t, members.PINLockedUntil(err).Equal(f.clock().Add(15*time.Minute)))
			assert.Len(t, f.alerts(t), 2)
		})

		t.Run("escalation 15, 30, 60, 120 minutes, then permanent until an activation code", func(t *testing.T) {
			f := newLockoutFixture(t, db, 2)
			for i, step := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour} {
				assert.Equal(t, step, members.PINLockSteps[i], "the steps in pin.go")
				err := f.wrongUntilLocked(t)
				until := members.PINLockedUntil(err)
				require.True(t, until.Equal(f.clock().Add(step)), "lock %d: until %v; want %v", i+1, until, f.clock().Add(step))
				alerts := f.alerts(t)
				require.Len(t, alerts, i+1, "one alert per lock")
				assert.Contains(t, alerts[i], `"until":"`+until.In(time.FixedZone("WITA", 8*3600)).Format(time.RFC3339)+`"`,
					"the alert says until when, in the cooperative's time zone (WITA)")
				f.advance(step - time.Minute)
				_, _, err = f.d.CheckPIN(f.ctx, f.h, "246810")
				require.ErrorIs(t, err, members.ErrPINLocked)
				f.advance(time.Minute)
			}
			// The fifth lock in a row is permanent.
			err := f.wrongUntilLocked(t)
			assert.True(t, members.PINLockedUntil(err).IsZero(), "the permanent lock has no end")
			alerts := f.alerts(t)
			require.Len(t, alerts, 5)
			assert.Equal(t, "{}", alerts[4], "the permanent lock's alert asks for an activation code, no time")
			f.advance(24 * time.Hour)
			_, _, err = f.d.CheckPIN(f.ctx, f.h, "246810")
			require.ErrorIs(t, err, members.ErrPINLocked, "still locked a day later")
			assert.True(t, members.PINLockedUntil(err).IsZero())
			id := f.identity(t)
			assert.True(t, id.PINLocked)
			assert.True(t, id.PINLockedUntil.IsZero())
			assert.Len(t, f.alerts(t), 5, "refusals send no further alerts")

			code, _, err := f.d.IssueActivationCode(f.ctx, f.h, 0)
			require.NoError(t, err)
			aid, _, err := f.d.VerifyActivationCode(f.ctx, f.h, code)
			require.NoError(t, err)
			require.NoError(t, f.d.StagePIN(f.ctx, f.h, "735104"))
			require.NoError(t, f.d.ConfirmPIN(f.ctx, f.h, "735104", aid))
			_, _, err = f.d.CheckPIN(f.ctx, f.h, "735104")
			require.NoError(t, err, "the activation code unlocks")
			assert.False(t, f.identity(t).PINLocked)
			err = f.wrongUntilLocked(t)
			assert.True(t, members.PINLockedUntil(err).Equal(f.clock().Add(15*time.Minute)), "and the escalation starts again")
		})

		t.Run("a new PIN ends a timed lock", func(t *testing.T) {
			f := newLockoutFixture(t, db, 3)
			f.wrongUntilLocked(t)
			require.NoError(t, f.d.SetPIN(f.ctx, f.h, "905172"))
			_, _, err := f.d.CheckPIN(f.ctx, f.h, "905172")
			require.NoError(t, err)
		})

		t.Run("an activation code issued during a timed lock works at once", func(t *testing.T) {
			f := newLockoutFixture(t, db, 5)
			_, _, err := f.d.IssueActivationCode(f.ctx, f.h, 0)
			require.NoError(t, err)
			assert.False(t, f.identity(t).PINLocked, "a code for a PIN that is not locked leaves it working")
			_, _, err = f.d.CheckPIN(f.ctx, f.h, "246810")
			require.NoError(t, err)

			f.wrongUntilLocked(t)
			code, _, err := f.d.IssueActivationCode(f.ctx, f.h, 0)
			require.NoError(t, err)
			id := f.identity(t)
			assert.True(t, id.PINLocked, "staff made the lock one only the code lifts: the member is sent to activation")
			assert.True(t, id.PINLockedUntil.IsZero())
			aid, _, err := f.d.VerifyActivationCode(f.ctx, f.h, code)
			require.NoError(t, err)
			require.NoError(t, f.d.StagePIN(f.ctx, f.h, "735104"))
			require.NoError(t, f.d.ConfirmPIN(f.ctx, f.h, "735104", aid))
			_, _, err = f.d.CheckPIN(f.ctx, f.h, "735104")
			require.NoError(t, err)
			assert.False(t, f.identity(t).PINLocked)
		})

		t.Run("20 concurrent wrong PINs count exactly", func(t *testing.T) {
			f := newLockoutFixture(t, db, 4)
			for round, step := range []time.Duration{15 * time.Minute, 30 * time.Minute} {
				var wg sync.WaitGroup
				var mu sync.Mutex
				wrong, justLocked, refused := 0, 0, 0
				for range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, jl, err := f.d.CheckPIN(f.ctx, f.h, "111112")
						mu.Lock()
						defer mu.Unlock()
						switch {
						case jl && errors.Is(err, members.ErrPINLocked):
							justLocked++
						case errors.Is(err, members.ErrWrongPIN):
							wrong++
						case errors.Is(err, members.ErrPINLocked):
							refused++
						default:
							t.Errorf("unexpected answer: %v", err)
						}
					}()
				}
				wg.Wait()
				assert.Equal(t, 2, wrong, "round %d", round)
				assert.Equal(t, 1, justLocked, "round %d: exactly one attempt locks", round)
				assert.Equal(t, 17, refused, "round %d", round)
				var row struct {
					Failures int       `db:"failures"`
					Until    time.Time `db:"locked_until"`
				}
				require.NoError(t, db.Get(&row, db.Rebind(`SELECT failures, locked_until FROM pins WHERE holder_kind = 'member' AND holder_id = ?`), f.h.ID))
				assert.Equal(t, 3*(round+1), row.Failures, "round %d", round)
				assert.True(t, row.Until.Equal(f.clock().Add(step)), "round %d: until %v", round, row.Until)
				assert.Len(t, f.alerts(t), round+1, "one alert per lock")
				f.advance(step)
			}
		})
	})
}
