package members_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

var testSecret = []byte(strings.Repeat("s", 32))

func TestValidatePIN(t *testing.T) {
	for pin, want := range map[string]error{
		"246810": nil, "905172": nil,
		"12345": members.ErrPINFormat, "1234567": members.ErrPINFormat, "12a456": members.ErrPINFormat, "": members.ErrPINFormat,
		"000000": members.ErrWeakPIN, "123456": members.ErrWeakPIN, "987654": members.ErrWeakPIN,
	} {
		assert.ErrorIs(t, members.ValidatePIN(pin), want, pin)
		if want == nil {
			assert.NoError(t, members.ValidatePIN(pin), pin)
		}
	}
}

func TestPINHashNeedsTheSecret(t *testing.T) {
	h := members.Holder{Kind: members.KindMember, ID: 7, CooperativeID: 1}
	a, err := members.NewPINHasher(testSecret)
	require.NoError(t, err)
	b, err := members.NewPINHasher([]byte(strings.Repeat("t", 32)))
	require.NoError(t, err)
	stored := a.Hash(h, "246810")
	assert.NotContains(t, stored, "246810")
	assert.True(t, a.Verify(h, "246810", stored))
	assert.False(t, a.Verify(h, "246811", stored))
	assert.False(t, b.Verify(h, "246810", stored), "another secret must not verify")
	other := h
	other.ID = 8
	assert.False(t, a.Verify(other, "246810", stored), "a hash copied to another holder must not verify")
	assert.NotEqual(t, stored, a.Hash(h, "246810"), "hashes are salted")
	_, err = members.NewPINHasher([]byte("short"))
	assert.Error(t, err)
}

func TestDirectory(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(t, err)
		c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Sejahtera", []string{"*123#", "123*1"})
		require.NoError(t, err)
		_, err = d.CreateCooperative(ctx, "KSP1", "again", nil)
		assert.ErrorIs(t, err, members.ErrDuplicate)
		other, err := d.CreateCooperative(ctx, "KSP2", "Kopdit Lain", []string{"*456#"})
		require.NoError(t, err)

		m, err := d.AddMember(ctx, c.ID, members.NewMember{No: "A-001", Name: "Maria Goreti", Phone: "081234567890"})
		require.NoError(t, err)
		assert.Equal(t, "+6281234567890", m.Phone)
		_, err = d.AddMember(ctx, c.ID, members.NewMember{No: "A-001", Name: "Dup", Phone: "081234567891"})
		assert.ErrorIs(t, err, members.ErrDuplicate)
		// The same phone in another cooperative is not found through this code.
		_, err = d.AddMember(ctx, other.ID, members.NewMember{No: "A-001", Name: "Maria di KSP2", Phone: "6281234567890"})
		require.NoError(t, err)
		st, err := d.AddStaff(ctx, c.ID, "Yosef Teller", "+6281299990000", members.RoleTeller)
		require.NoError(t, err)

		cs, err := d.CooperativesForCode(ctx, "*123*1#")
		require.NoError(t, err)
		require.Len(t, cs, 1)
		assert.Equal(t, "Kopdit Sejahtera", cs[0].Name)

		ids, err := d.Identify(ctx, "*123#", "+6281234567890")
		require.NoError(t, err)
		require.Len(t, ids, 1, "tenancy: only the cooperative bound to the code")
		assert.Equal(t, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: c.ID}, ids[0].Holder)
		assert.False(t, ids[0].HasPIN)
		ids, err = d.Identify(ctx, "*123#", "+6281299990000")
		require.NoError(t, err)
		require.Len(t, ids, 1)
		assert.Equal(t, members.KindStaff, ids[0].Holder.Kind)
		assert.Equal(t, members.RoleTeller, ids[0].Role)

		l := ledger.New(db, nil)
		_, err = l.AccountID(ctx, c.ID, ledger.Till, ledger.Owner{StaffID: st.ID})
		require.NoError(t, err, "a teller gets a till")
		_, err = l.AccountID(ctx, c.ID, ledger.Sukarela, ledger.Owner{MemberID: m.ID})
		require.NoError(t, err, "a member gets savings accounts")

		h := ids[0].Holder
		h = members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: c.ID}
		_, _, err = d.CheckPIN(ctx, h, "246810")
		assert.ErrorIs(t, err, members.ErrNoPIN)
		require.NoError(t, d.SetPIN(ctx, h, "246810"))
		_, _, err = d.CheckPIN(ctx, h, "246810")
		require.NoError(t, err)

		var stored string
		require.NoError(t, db.Get(&stored, db.Rebind(`SELECT pin_hash FROM pins WHERE holder_id = ?`), m.ID))
		assert.NotContains(t, stored, "246810", "the database holds no clear PIN")

		t.Run("three wrong PINs in a row lock, a right one in between resets", func(t *testing.T) {
			rem, _, err := d.CheckPIN(ctx, h, "111112")
			assert.ErrorIs(t, err, members.ErrWrongPIN)
			assert.Equal(t, 2, rem)
			_, _, err = d.CheckPIN(ctx, h, "246810")
			require.NoError(t, err)
			for want := 2; want >= 1; want-- {
				rem, _, err := d.CheckPIN(ctx, h, "111112")
				assert.ErrorIs(t, err, members.ErrWrongPIN)
				assert.Equal(t, want, rem)
			}
			_, justLocked, err := d.CheckPIN(ctx, h, "111112")
			assert.ErrorIs(t, err, members.ErrPINLocked)
			assert.True(t, justLocked)
			_, justLocked, err = d.CheckPIN(ctx, h, "246810")
			assert.ErrorIs(t, err, members.ErrPINLocked, "the right PIN does not unlock")
			assert.False(t, justLocked)
			require.NoError(t, d.SetPIN(ctx, h, "905172"), "a new PIN (after activation) unlocks")
			_, _, err = d.CheckPIN(ctx, h, "905172")
			require.NoError(t, err)
		})
		t.Run("concurrent wrong PINs cannot get past the lock", func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			wrong, locked := 0, 0
			for range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, jl, err := d.CheckPIN(ctx, h, "111112")
					mu.Lock()
					defer mu.Unlock()
					if assert.Error(t, err) && jl {
						locked++
					}
					if err != nil && err == members.ErrWrongPIN {
						wrong++
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, 2, wrong)
			assert.Equal(t, 1, locked, "exactly one attempt locks (and alerts)")
		})
		t.Run("language", func(t *testing.T) {
			require.NoError(t, d.SetLanguage(ctx, h, "en"))
			ids, err := d.Identify(ctx, "*123#", "+6281234567890")
			require.NoError(t, err)
			assert.Equal(t, "en", ids[0].Language)
			assert.ErrorIs(t, d.SetLanguage(ctx, h, "fr"), members.ErrInvalid)
		})
	})
}

// TestIdentifyOnASharedCode: a service code bound to two cooperatives finds
// every identity of the phone in both, in a stable order (cooperative name,
// members before staff, member number), and nothing of a third cooperative.
func TestIdentifyOnASharedCode(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(t, err)
		zeta, err := d.CreateCooperative(ctx, "KSPZ", "Zeta Mandiri", []string{"*500#"})
		require.NoError(t, err)
		alfa, err := d.CreateCooperative(ctx, "KSPA", "Alfa Sejahtera", []string{"*500#"})
		require.NoError(t, err)
		third, err := d.CreateCooperative(ctx, "KSPT", "Tiga", []string{"*501#"})
		require.NoError(t, err)
		const phone = "+6281377770000"
		zStaff, err := d.AddStaff(ctx, zeta.ID, "Yosef", phone, members.RoleTeller)
		require.NoError(t, err)
		zMember, err := d.AddMember(ctx, zeta.ID, members.NewMember{No: "Z-9", Name: "Yosef Anggota", Phone: phone})
		require.NoError(t, err)
		aChild, err := d.AddMember(ctx, alfa.ID, members.NewMember{No: "A-2", Name: "Anak", Phone: phone})
		require.NoError(t, err)
		aParent, err := d.AddMember(ctx, alfa.ID, members.NewMember{No: "A-1", Name: "Bapak", Phone: phone})
		require.NoError(t, err)
		_, err = d.AddMember(ctx, third.ID, members.NewMember{No: "T-1", Name: "Lain", Phone: phone})
		require.NoError(t, err)
		require.NoError(t, d.SetPIN(ctx, members.Holder{Kind: members.KindStaff, ID: zStaff.ID, CooperativeID: zeta.ID}, "246810"))

		ids, err := d.Identify(ctx, "*500#", phone)
		require.NoError(t, err)
		type row struct {
			Coop, Name string
			Holder     members.Holder
			HasPIN     bool
		}
		var got []row
		for _, id := range ids {
			got = append(got, row{id.Cooperative.Name, id.Name, id.Holder, id.HasPIN})
		}
		assert.Equal(t, []row{
			{"Alfa Sejahtera", "Bapak", members.Holder{Kind: members.KindMember, ID: aParent.ID, CooperativeID: alfa.ID}, false},
			{"Alfa Sejahtera", "Anak", members.Holder{Kind: members.KindMember, ID: aChild.ID, CooperativeID: alfa.ID}, false},
			{"Zeta Mandiri", "Yosef Anggota", members.Holder{Kind: members.KindMember, ID: zMember.ID, CooperativeID: zeta.ID}, false},
			{"Zeta Mandiri", "Yosef", members.Holder{Kind: members.KindStaff, ID: zStaff.ID, CooperativeID: zeta.ID}, true},
		}, got)
		assert.Equal(t, "KSPA", ids[0].Cooperative.Code, "the cooperative comes whole")

		ids, err = d.Identify(ctx, "*599#", phone)
		require.NoError(t, err)
		assert.Empty(t, ids, "an unbound code identifies no one")
	})
}
