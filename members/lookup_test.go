package members_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

func TestMemberByNo(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(t, err)
		c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Sejahtera", []string{"*123#"})
		require.NoError(t, err)
		other, err := d.CreateCooperative(ctx, "KSP2", "Kopdit Lain", []string{"*456#"})
		require.NoError(t, err)
		add := func(coopID int64, no, name string) members.Member {
			m, err := d.AddMember(ctx, coopID, members.NewMember{No: no, Name: name, Phone: "081234567890"})
			require.NoError(t, err)
			return m
		}
		maria := add(c.ID, "A-001", "Maria Goreti")
		yohanes := add(c.ID, "A-002", "Yohanes Bere")
		b2 := add(c.ID, "B-002", "Benediktus")
		seven := add(c.ID, "7", "Tujuh")
		add(other.ID, "A-003", "Anggota Lain")

		for _, tc := range []struct {
			typed string
			want  members.Member
			err   error
		}{
			{"A-001", maria, nil},
			{" A-001 ", maria, nil},
			{"a001", maria, nil},
			{"A 001", maria, nil},
			{"1", maria, nil},
			{"001", maria, nil},
			{"7", seven, nil},   // exact beats digits
			{"007", seven, nil}, // digits
			{"A-002", yohanes, nil},
			{"b002", b2, nil},
			{"2", members.Member{}, members.ErrAmbiguous}, // A-002 and B-002
			{"A1", members.Member{}, members.ErrNotFound},
			{"A-003", members.Member{}, members.ErrNotFound}, // another cooperative's member
			{"3", members.Member{}, members.ErrNotFound},
			{"", members.Member{}, members.ErrNotFound},
			{"*", members.Member{}, members.ErrNotFound},
		} {
			got, err := d.MemberByNo(ctx, c.ID, tc.typed)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err, "%q", tc.typed)
				continue
			}
			if assert.NoError(t, err, "%q", tc.typed) {
				assert.Equal(t, tc.want, got, "%q", tc.typed)
			}
		}

		// A member who has left is found by the exact number (the caller
		// refuses them) but not by a shortened one.
		_, err = db.ExecContext(ctx, db.Rebind(`UPDATE members SET status = 'left' WHERE id = ?`), maria.ID)
		require.NoError(t, err)
		got, err := d.MemberByNo(ctx, c.ID, "A-001")
		require.NoError(t, err)
		assert.Equal(t, members.StatusLeft, got.Status)
		_, err = d.MemberByNo(ctx, c.ID, "a001")
		assert.ErrorIs(t, err, members.ErrNotFound)
	})
}
