package members_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

// findNos is the member numbers of a search's answer, in its order.
func findNos(ms []members.Member) []string {
	nos := make([]string, len(ms))
	for i, m := range ms {
		nos[i] = m.No
	}
	return nos
}

func TestFindMembers(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(t, err)
		c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Sejahtera", []string{"*123#"})
		require.NoError(t, err)
		other, err := d.CreateCooperative(ctx, "KSP2", "Kopdit Lain", []string{"*124#"})
		require.NoError(t, err)
		for _, nm := range []members.NewMember{
			{No: "A-001", Name: "María Goreti", Phone: "081234567890"},
			{No: "A-002", Name: "Yohanes Bosco", Phone: "081234567891"},
			{No: "A-003", Name: "MARIA da Costa", Phone: "081234567890"}, // a family phone
			{No: "B-010", Name: "goreti Ndun", Phone: "081234567892"},
			{No: "a-1", Name: "Lowercase Number", Phone: "081234567893"},
			{No: "A-1", Name: "Uppercase Number", Phone: "081234567894"},
			{No: "C-100", Name: "Fransiskus Xaverius", Phone: "081234567895"},
		} {
			_, err := d.AddMember(ctx, c.ID, nm)
			require.NoError(t, err, "member %s", nm.No)
		}
		// Another cooperative's members share numbers, a phone and names.
		for _, nm := range []members.NewMember{
			{No: "A-001", Name: "Maria Lain", Phone: "081234567890"},
			{No: "Z-900", Name: "Goreti Lain", Phone: "081234567899"},
		} {
			_, err := d.AddMember(ctx, other.ID, nm)
			require.NoError(t, err)
		}

		for _, tc := range []struct {
			name, query string
			want        []string
		}{
			{"number as registered", "A-001", []string{"A-001"}},
			{"number in lower case", "a-002", []string{"A-002"}},
			{"number with spaces around", "  B-010 ", []string{"B-010"}},
			{"number typed as registered, and in upper case", "a-1", []string{"A-1", "a-1"}},
			{"phone with 0", "081234567890", []string{"A-001", "A-003"}},
			{"phone with 62", "6281234567890", []string{"A-001", "A-003"}},
			{"phone with +62, spaces and dashes", "+62 812-3456-7890", []string{"A-001", "A-003"}},
			{"phone without its 0", "81234567890", []string{"A-001", "A-003"}},
			{"another phone", "0812 3456 7891", []string{"A-002"}},
			{"name without the accent", "maria", []string{"A-001", "A-003"}},
			{"name in upper case with an accent", "MARÍA", []string{"A-001", "A-003"}},
			{"name with a decomposed accent", "Mari\u0301a", []string{"A-001", "A-003"}},
			{"name in title case", "Goreti", []string{"A-001", "B-010"}},
			{"name in lower case", "goreti", []string{"A-001", "B-010"}},
			{"part of a word", "ari", []string{"A-001", "A-003"}},
			{"every word, in any order", "goreti maría", []string{"A-001"}},
			{"words apart", "maria costa", []string{"A-003"}},
			{"word twice", "costa costa", []string{"A-003"}},
			{"a number that is no member's is a name search", "A-999", []string{}},
			{"digits of nobody", "999", []string{}},
			{"a phone of nobody", "081299999999", []string{}},
			{"a phone of another cooperative's member", "081234567899", []string{}},
			{"a name of another cooperative's member", "lain", []string{}},
			{"LIKE wildcards are letters", "a%a", []string{}},
			{"LIKE underscore is a letter", "mar_a", []string{}},
			{"only punctuation", "%_", []string{}},
			{"everyone", "", []string{"A-001", "A-002", "A-003", "A-1", "B-010", "C-100", "a-1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				found, next, err := d.FindMembers(ctx, c.ID, tc.query, "", 0)
				require.NoError(t, err)
				assert.Empty(t, next)
				got := findNos(found)
				if strings.Contains(strings.Join(tc.want, " "), "a-1") {
					slices.Sort(got) // the database's collation orders "A-1" and "a-1"
				}
				assert.Equal(t, tc.want, got)
				for _, m := range found {
					assert.Equal(t, c.ID, m.CooperativeID, "only the cooperative's own members")
				}
			})
		}

		t.Run("a found member is whole", func(t *testing.T) {
			found, _, err := d.FindMembers(ctx, c.ID, "yohanes", "", 10)
			require.NoError(t, err)
			require.Len(t, found, 1)
			m := found[0]
			assert.NotZero(t, m.ID)
			assert.Equal(t, "A-002", m.No)
			assert.Equal(t, "Yohanes Bosco", m.Name)
			assert.Equal(t, "+6281234567891", m.Phone)
			assert.Equal(t, "id", m.Language)
			assert.EqualValues(t, "active", m.Status)
		})
		t.Run("the other cooperative finds its own", func(t *testing.T) {
			found, _, err := d.FindMembers(ctx, other.ID, "maria", "", 10)
			require.NoError(t, err)
			assert.Equal(t, []string{"A-001"}, findNos(found))
			assert.Equal(t, "Maria Lain", found[0].Name)
			found, _, err = d.FindMembers(ctx, other.ID, "081234567890", "", 10)
			require.NoError(t, err)
			assert.Equal(t, []string{"A-001"}, findNos(found))
			assert.Equal(t, other.ID, found[0].CooperativeID)
		})
		t.Run("a number's second page", func(t *testing.T) {
			first, next, err := d.FindMembers(ctx, c.ID, "a-1", "", 1)
			require.NoError(t, err)
			require.Len(t, first, 1)
			require.NotEmpty(t, next)
			second, next, err := d.FindMembers(ctx, c.ID, "a-1", next, 1)
			require.NoError(t, err)
			assert.Empty(t, next)
			require.Len(t, second, 1)
			assert.ElementsMatch(t, []string{"A-1", "a-1"}, []string{first[0].No, second[0].No})
		})
		t.Run("input that is not a query", func(t *testing.T) {
			for _, q := range []string{"mar\x00ia", "\xff\xfe", strings.Repeat("a", 201)} {
				_, _, err := d.FindMembers(ctx, c.ID, q, "", 10)
				assert.ErrorIs(t, err, members.ErrInvalid, "%q", q)
			}
			for _, cursor := range []string{"!!!", "=", "AA"} { // "AA" is a NUL byte
				_, _, err := d.FindMembers(ctx, c.ID, "", cursor, 10)
				assert.ErrorIs(t, err, members.ErrInvalid, "cursor %q", cursor)
			}
		})
	})
}

// TestFindMembersPages pages through 250 members a hundred at a time, by
// each kind of query that can answer more than one: every member once, in
// order, and no cursor after the last page.
func TestFindMembersPages(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(t, err)
		c := ledgertest.NewCoop(t, db, "KSP1")
		other := ledgertest.NewCoop(t, db, "KSP2")
		var want []string
		for i := 1; i <= 250; i++ {
			no := fmt.Sprintf("M-%04d", i)
			ledgertest.NewMember(t, db, c, no, "+6281234567890") // "Anggota M-0001", one family phone
			want = append(want, no)
		}
		for i := 1; i <= 30; i++ {
			ledgertest.NewMember(t, db, other, fmt.Sprintf("M-%04d", i), "+6281234567890")
		}
		for _, query := range []string{"", "ANGGOTA", "anggota m-", "081234567890"} {
			t.Run(fmt.Sprintf("%q", query), func(t *testing.T) {
				var got []string
				cursor := ""
				for page := 0; ; page++ {
					require.Less(t, page, 10, "paging does not end")
					found, next, err := d.FindMembers(ctx, c.ID, query, cursor, 100)
					require.NoError(t, err)
					if next != "" {
						assert.Len(t, found, 100, "page %d", page)
					}
					for _, m := range found {
						assert.Equal(t, c.ID, m.CooperativeID)
						got = append(got, m.No)
					}
					if next == "" {
						assert.Len(t, found, 50, "the last page")
						break
					}
					cursor = next
				}
				assert.Equal(t, want, got)
			})
		}
		t.Run("limit is capped at 100", func(t *testing.T) {
			found, next, err := d.FindMembers(ctx, c.ID, "", "", 1000)
			require.NoError(t, err)
			assert.Len(t, found, members.FindLimitMax)
			assert.NotEmpty(t, next)
			found, _, err = d.FindMembers(ctx, c.ID, "", "", 0)
			require.NoError(t, err)
			assert.Len(t, found, members.FindLimitDefault)
		})
	})
}

// TestNameKeyMigrationFill checks that migration 00009's SQL folding of the
// names already stored (for Latin-1 and Latin Extended-A letters and
// combining marks) is the Go folding new rows get: the same member is found
// by name whether it was written before or after the migration.
func TestNameKeyMigrationFill(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(t, err)
		c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Sejahtera", nil)
		require.NoError(t, err)
		var letters []rune
		for r := rune(0xC0); r <= 0x17F; r++ {
			if unicode.IsLetter(r) {
				letters = append(letters, r)
			}
		}
		names := []string{
			"Conceição Gonçalves", "JOSÉ DA COSTA", "Fátima Ñúñez", "Zoë Łukasz", "İbrahim Øster",
			"Mari\u0301a Gore\u0323\u0301ti", // combining marks, as some keyboards type them
			"ABC xyz 0123 -'.",
		}
		for chunk := range slices.Chunk(letters, 16) {
			names = append(names, "Nama "+string(chunk))
		}
		for i, name := range names {
			_, err := d.AddMember(ctx, c.ID, members.NewMember{No: fmt.Sprintf("N-%03d", i), Name: name, Phone: "081234567890"})
			require.NoError(t, err, "member %q", name)
		}
		type keyRow struct {
			No  string `db:"member_no"`
			Key string `db:"name_key"`
		}
		var fromGo []keyRow
		require.NoError(t, db.SelectContext(ctx, &fromGo, `SELECT member_no, name_key FROM members ORDER BY member_no`))
		require.Len(t, fromGo, len(names))
		assert.Equal(t, "conceicao goncalves", fromGo[0].Key)
		assert.Equal(t, "maria goreti", fromGo[5].Key)

		_, err = db.ExecContext(ctx, `UPDATE members SET name_key = ''`)
		require.NoError(t, err)
		for _, stmt := range nameKeyFill(t, db.Dialect) {
			_, err := db.ExecContext(ctx, stmt)
			require.NoError(t, err, "%s", stmt)
		}
		var fromSQL []keyRow
		require.NoError(t, db.SelectContext(ctx, &fromSQL, `SELECT member_no, name_key FROM members ORDER BY member_no`))
		assert.Equal(t, fromGo, fromSQL)
	})
}

// nameKeyFill reads the statements that fill name_key in migration 00009 of
// dialect.
func nameKeyFill(t *testing.T, dialect ledger.Dialect) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "ledger", "migrations", string(dialect), "00009_member_name_key.sql"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "-- name_key fill: begin\n")
	require.True(t, ok)
	fill, _, ok := strings.Cut(rest, "-- name_key fill: end\n")
	require.True(t, ok)
	var stmts []string
	for _, s := range strings.Split(fill, ";\n") {
		if s = strings.TrimSpace(s); s != "" {
			stmts = append(stmts, s)
		}
	}
	require.NotEmpty(t, stmts)
	return stmts
}

// TestFindMembersPlans checks on PostgreSQL, with EXPLAIN ANALYZE of every
// statement FindMembers runs (before and after the planner has statistics),
// that a search by number or phone reads a handful of rows in a
// cooperative of 100,000 members, and listing everyone a page's worth.
func TestFindMembersPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 members")
	}
	setup, dsn := ledgertest.PostgresWithURL(t)
	big := ledgertest.SeedLargeCoop(t, setup, "BIG", "*771#", "+62899", 100_000)
	db, plans := ledgertest.ExplainEveryStatement(t, dsn)
	d, err := members.NewDirectory(db, testSecret, nil)
	require.NoError(t, err)
	ctx := context.Background()
	ledgertest.PlanPhases(t, setup, func(t *testing.T) {
		for _, s := range []struct {
			query   string
			want    string
			maxRows int64
		}{
			{"00000150", "00000150", maxPlanRows},
			{"089900000150", "00000150", maxPlanRows},
			{"6289900000150", "00000150", maxPlanRows},
			{"+62 899-0000-0150", "00000150", maxPlanRows},
			{"89900000150", "00000150", maxPlanRows},
			{"", "00000001", 2 * members.FindLimitMax},
		} {
			plans.Take()
			found, _, err := d.FindMembers(ctx, big.ID, s.query, "", members.FindLimitMax)
			require.NoError(t, err)
			require.NotEmpty(t, found, "%q", s.query)
			assert.Equal(t, s.want, found[0].No, "%q", s.query)
			ran, unreadable := plans.Take()
			require.Empty(t, unreadable)
			require.NotEmpty(t, ran, "auto_explain saw no statement")
			for _, p := range ran {
				assert.LessOrEqual(t, p.Rows, s.maxRows, "search %q: %s reads %d rows: %s", s.query, p.Node, p.Rows, p.Query)
			}
		}
	})
}

// FuzzFindMembersQuery: whatever is typed into the search box (or sent as
// q and cursor to the API), FindMembers answers with the cooperative's own
// members or ErrInvalid, and never panics or sends the database a query it
// refuses.
func FuzzFindMembersQuery(f *testing.F) {
	for _, q := range []string{"", "A-001", "a-001", "0812-3456-7890", "+62 812 3456 7890", "81234567890", "6281234567890",
		"maría", "MARI\u0301A goreti", "%", "_", `\`, `a\%b`, "' OR 1=1 --", "\x00", "\xff", "İ", "ǅ", strings.Repeat("é", 100)} {
		f.Add(q, "")
	}
	f.Add("", "QS0wMDE") // "A-001"
	f.Add("maria", "!")
	db := ledgertest.SQLite(f)
	ctx := context.Background()
	d, err := members.NewDirectory(db, testSecret, nil)
	require.NoError(f, err)
	c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Sejahtera", nil)
	require.NoError(f, err)
	other, err := d.CreateCooperative(ctx, "KSP2", "Kopdit Lain", nil)
	require.NoError(f, err)
	for i, name := range []string{"María Goreti", "Yohanes Bosco", "Maria da Costa"} {
		_, err := d.AddMember(ctx, c.ID, members.NewMember{No: fmt.Sprintf("A-%03d", i+1), Name: name, Phone: "081234567890"})
		require.NoError(f, err)
		_, err = d.AddMember(ctx, other.ID, members.NewMember{No: fmt.Sprintf("A-%03d", i+1), Name: name, Phone: "081234567890"})
		require.NoError(f, err)
	}
	f.Fuzz(func(t *testing.T, query, cursor string) {
		found, next, err := d.FindMembers(ctx, c.ID, query, cursor, 2)
		if err != nil {
			if !errors.Is(err, members.ErrInvalid) {
				t.Fatalf("FindMembers(%q, %q): %v", query, cursor, err)
			}
			return
		}
		if len(found) > 2 {
			t.Fatalf("FindMembers(%q, %q): %d members for a limit of 2", query, cursor, len(found))
		}
		if next != "" && len(found) != 2 {
			t.Fatalf("FindMembers(%q, %q): a next page after a short one", query, cursor)
		}
		for _, m := range found {
			if m.CooperativeID != c.ID {
				t.Fatalf("FindMembers(%q, %q): member %d of cooperative %d", query, cursor, m.ID, m.CooperativeID)
			}
		}
	})
}
