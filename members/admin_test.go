package members_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

func TestCooperativeByCodeAndServiceCodes(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(t, err)
		c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Sejahtera", []string{"*123*1#", "456"})
		require.NoError(t, err)
		bare, err := d.CreateCooperative(ctx, "KSP2", "Kopdit Tanpa Kode", nil)
		require.NoError(t, err)

		got, err := d.CooperativeByCode(ctx, " KSP1 ")
		require.NoError(t, err)
		assert.Equal(t, c, got)
		_, err = d.CooperativeByCode(ctx, "NOPE")
		assert.ErrorIs(t, err, members.ErrNotFound)

		codes, err := d.ServiceCodes(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"*123*1#", "*456#"}, codes)
		codes, err = d.ServiceCodes(ctx, bare.ID)
		require.NoError(t, err)
		assert.NotNil(t, codes)
		assert.Empty(t, codes)
	})
}

func TestWebPassword(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(t, err)
		c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Sejahtera", []string{"*123#"})
		require.NoError(t, err)
		other, err := d.CreateCooperative(ctx, "KSP2", "Kopdit Lain", []string{"*456#"})
		require.NoError(t, err)
		s, err := d.AddStaff(ctx, c.ID, "Yosef", "081299990000", members.RoleTeller)
		require.NoError(t, err)
		const pw = "kuda-laut-7-Biru"

		_, err = d.CheckWebPassword(ctx, c.ID, "081299990000", pw)
		assert.ErrorIs(t, err, members.ErrWrongPassword, "no password set yet")

		found, err := d.StaffByPhone(ctx, c.ID, "+6281299990000")
		require.NoError(t, err)
		assert.Equal(t, []members.Staff{s}, found)
		found, err = d.StaffByPhone(ctx, other.ID, "081299990000")
		require.NoError(t, err)
		assert.Empty(t, found)
		_, err = d.StaffByPhone(ctx, c.ID, "abc")
		assert.ErrorIs(t, err, members.ErrInvalidMSISDN)

		assert.ErrorIs(t, d.SetWebPassword(ctx, s.ID, c.ID, "short"), members.ErrInvalid)
		assert.ErrorIs(t, d.SetWebPassword(ctx, s.ID, c.ID, strings.Repeat("x", 73)), members.ErrInvalid)
		assert.ErrorIs(t, d.SetWebPassword(ctx, s.ID, other.ID, pw), members.ErrNotFound, "staff of another cooperative")
		require.NoError(t, d.SetWebPassword(ctx, s.ID, c.ID, pw))

		var stored string
		require.NoError(t, db.Get(&stored, db.Rebind(`SELECT web_password_hash FROM staff WHERE id = ?`), s.ID))
		assert.NotContains(t, stored, pw)
		assert.True(t, strings.HasPrefix(stored, "$2"), "a bcrypt hash")

		got, err := d.CheckWebPassword(ctx, c.ID, "+62 812-9999-0000", pw)
		require.NoError(t, err, "any accepted phone form")
		assert.Equal(t, s, got)

		for name, try := range map[string]struct {
			coop  int64
			phone string
			pw    string
		}{
			"wrong password":    {c.ID, "081299990000", pw + "x"},
			"unknown phone":     {c.ID, "081299990009", pw},
			"bad phone":         {c.ID, "abc", pw},
			"other cooperative": {other.ID, "081299990000", pw},
			"empty password":    {c.ID, "081299990000", ""},
		} {
			_, err := d.CheckWebPassword(ctx, try.coop, try.phone, try.pw)
			assert.ErrorIs(t, err, members.ErrWrongPassword, name)
		}

		// A new password replaces the old one.
		require.NoError(t, d.SetWebPassword(ctx, s.ID, c.ID, pw+"-baru"))
		_, err = d.CheckWebPassword(ctx, c.ID, "081299990000", pw)
		assert.ErrorIs(t, err, members.ErrWrongPassword)
		_, err = d.CheckWebPassword(ctx, c.ID, "081299990000", pw+"-baru")
		assert.NoError(t, err)

		// Inactive staff cannot log in.
		_, err = db.Exec(db.Rebind(`UPDATE staff SET active = FALSE WHERE id = ?`), s.ID)
		require.NoError(t, err)
		_, err = d.CheckWebPassword(ctx, c.ID, "081299990000", pw+"-baru")
		assert.ErrorIs(t, err, members.ErrWrongPassword)
	})
}

// staff add is one transaction: a staff member with a phone that fails
// validation, or a failure after the insert, leaves nothing behind.
func TestAddStaffWithCredentials(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, []byte(strings.Repeat("a", 32)), nil)
		require.NoError(t, err)
		c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit", []string{"*123#"})
		require.NoError(t, err)
		s, code, expires, err := d.AddStaffWithCredentials(ctx, c.ID, "Yosef", "081299990000", members.RoleCollector, "abcd-efgh-jkmn-pqrs")
		require.NoError(t, err)
		assert.Len(t, code, 6)
		assert.True(t, expires.After(time.Now()))
		h := members.Holder{Kind: members.KindStaff, ID: s.ID, CooperativeID: c.ID}
		_, _, err = d.VerifyActivationCode(ctx, h, code)
		require.NoError(t, err)
		got, err := d.CheckWebPassword(ctx, c.ID, "+6281299990000", "abcd-efgh-jkmn-pqrs")
		require.NoError(t, err)
		assert.Equal(t, s.ID, got.ID)
		_, err = ledger.New(db, nil).AccountID(ctx, c.ID, ledger.CollectorCash, ledger.Owner{StaffID: s.ID})
		require.NoError(t, err, "a collector gets cash-in-hand")

		_, _, _, err = d.AddStaffWithCredentials(ctx, c.ID, "Short", "081299990001", members.RoleTeller, "short")
		assert.ErrorIs(t, err, members.ErrInvalid)
		_, _, _, err = d.AddStaffWithCredentials(ctx, 999999, "Nobody", "081299990002", members.RoleTeller, "abcd-efgh-jkmn-pqrs")
		assert.Error(t, err, "an unknown cooperative fails the insert")
		var n int
		require.NoError(t, db.Get(&n, `SELECT COUNT(*) FROM staff`))
		assert.Equal(t, 1, n, "failed attempts leave no staff row behind")
	})
}
