package ledgertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/lumbung-id/lumbung/ledger"
)

// Coop is a cooperative made for a test, with its cooperative accounts.
type Coop struct {
	ID       int64
	Accounts map[ledger.AccountKind]int64
}

// Member is a member made for a test, with pokok, wajib and sukarela accounts.
type Member struct {
	ID       int64
	Accounts map[ledger.AccountKind]int64
}

// NewCoop inserts a cooperative with the given code and its accounts.
func NewCoop(t testing.TB, db *ledger.DB, code string) Coop {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	c := Coop{Accounts: map[ledger.AccountKind]int64{}}
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &c.ID, tx.Rebind(`INSERT INTO cooperatives (code, name, created_at) VALUES (?, ?, ?) RETURNING id`),
			code, "Koperasi "+code, now.UTC()); err != nil {
			return err
		}
		for _, k := range ledger.CoopAccountKinds {
			id, err := ledger.CreateAccount(ctx, tx, c.ID, k, ledger.Owner{}, now)
			if err != nil {
				return err
			}
			c.Accounts[k] = id
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create coop %s: %v", code, err)
	}
	return c
}

// NewMember inserts an active member of c with the member accounts.
func NewMember(t testing.TB, db *ledger.DB, c Coop, no, phone string) Member {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	m := Member{Accounts: map[ledger.AccountKind]int64{}}
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		// name_key is the folded name (members.nameKey); lower case is
		// that folding for a name without accents.
		name := "Anggota " + no
		if err := tx.GetContext(ctx, &m.ID, tx.Rebind(`INSERT INTO members (cooperative_id, member_no, name, name_key, phone, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			c.ID, no, name, strings.ToLower(name), phone, now.UTC()); err != nil {
			return err
		}
		for _, k := range ledger.MemberAccountKinds {
			id, err := ledger.CreateAccount(ctx, tx, c.ID, k, ledger.Owner{MemberID: m.ID}, now)
			if err != nil {
				return err
			}
			m.Accounts[k] = id
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create member %s: %v", no, err)
	}
	return m
}
