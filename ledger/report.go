package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DayReport is a cooperative's day at the counter (CONTRACT §5.1
// /counter/report, §5.2 /api/v1/reports/day): what each staff member
// posted and the cash that went through their drawer, and the
// cooperative's totals. The day is the cooperative's local calendar day.
type DayReport struct {
	CooperativeID int64
	From, To      time.Time // the local midnights that start and end the day
	Staff         []StaffDay
	// Cooperative totals over every journal of the day, whoever caused it
	// (members on USSD and SMS and imports too), and over every staff
	// member's cash.
	Kinds    []KindTotal
	Journals int
	Cash     CashDay
}

// StaffDay is one staff member's day. A journal is in the day of the staff
// member who posted it (actor "staff:<id>") and of every staff member whose
// cash it moved: a manager's reversal of a teller's deposit is in both.
// So the staff rows need not add up to the cooperative's totals.
type StaffDay struct {
	StaffID  int64
	Name     string
	Role     string
	Kinds    []KindTotal
	Journals int
	Cash     CashDay
}

// KindTotal is how many journals of one kind ("deposit", "repayment",
// "disbursement", "reversal", …) and their amount (what each moved: the sum
// of its debits).
type KindTotal struct {
	Kind   string
	Count  int
	Amount int64
}

// CashDay is the cash of staff drawers (tills and collectors' cash in hand).
type CashDay struct {
	In  int64 // received: deposits, cash repayments
	Out int64 // paid out: withdrawals, disbursements from the till, reversals of cash received
	// Expected is what the drawer should hold more at the end of the day
	// than at its start: In − Out (negative when more went out).
	Expected int64
	// Closing is the balance of the drawer at the end of the day: what a
	// count of the drawer should find (it starts from the day before's).
	Closing int64
}

func (c *CashDay) add(in, out int64) {
	c.In += in
	c.Out += out
	c.Expected = c.In - c.Out
}

const reportCoopSQL = `SELECT timezone FROM cooperatives WHERE id = ?`

// reportLinesSQL nets the day's journals per journal and staff cash
// account: one line for a journal's other accounts (staff_id NULL), one per
// staff drawer it moved. The journals come from journals_created, their
// entries from entries_journal.
const reportLinesSQL = `SELECT j.id, j.kind, j.actor,
	CASE WHEN a.kind IN ('till', 'collector_cash') THEN a.staff_id END AS staff_id,
	COALESCE(SUM(CASE WHEN e.side = 'D' THEN e.amount ELSE 0 END), 0) AS debits,
	COALESCE(SUM(CASE WHEN e.side = 'C' THEN e.amount ELSE 0 END), 0) AS credits
FROM journals j
JOIN entries e ON e.cooperative_id = j.cooperative_id AND e.journal_id = j.id
JOIN accounts a ON a.cooperative_id = e.cooperative_id AND a.id = e.account_id
WHERE j.cooperative_id = ? AND j.created_at >= ? AND j.created_at < ?
GROUP BY j.id, j.kind, j.actor, CASE WHEN a.kind IN ('till', 'collector_cash') THEN a.staff_id END
ORDER BY j.id`

type reportLine struct {
	JournalID int64         `db:"id"`
	Kind      string        `db:"kind"`
	Actor     string        `db:"actor"`
	StaffID   sql.NullInt64 `db:"staff_id"`
	Debits    int64         `db:"debits"`
	Credits   int64         `db:"credits"`
}

const reportStaffSQL = `SELECT id, name, role FROM staff WHERE cooperative_id = ?`

// reportClosingSQL is each staff drawer's balance at the end of the day:
// its balance now less what journals since then moved (a till is
// debit-normal and never sharded). The lower bound on journal ids, the
// first journal since the end of the day, keeps it from reading the
// drawer's whole history; with no journal since, it is NULL and nothing is
// taken off.
const reportClosingSQL = `SELECT a.staff_id, a.balance - COALESCE((
	SELECT SUM(CASE WHEN e.side = 'D' THEN e.amount ELSE -e.amount END)
	FROM entries e JOIN journals j ON j.cooperative_id = e.cooperative_id AND j.id = e.journal_id
	WHERE e.cooperative_id = a.cooperative_id AND e.account_id = a.id AND j.created_at >= ?
	AND e.journal_id >= (SELECT MIN(f.id) FROM journals f WHERE f.cooperative_id = ? AND f.created_at >= ? GROUP BY f.cooperative_id)), 0) AS closing
FROM accounts a
WHERE a.cooperative_id = ? AND a.staff_id IS NOT NULL AND a.kind IN ('till', 'collector_cash')`

// DayReport reports the cooperative's local calendar day of day (its
// year, month and day as day's own location reads them: a date parsed from
// "2026-11-27" is 27 November). Staff who neither posted nor had cash move
// that day are left out; staff rows are ordered by staff id, kinds by name.
// An unknown cooperative is ErrNotFound.
func (l *Ledger) DayReport(ctx context.Context, coopID int64, day time.Time) (DayReport, error) {
	var tz string
	err := l.db.GetContext(ctx, &tz, l.db.Rebind(reportCoopSQL), coopID)
	if errors.Is(err, sql.ErrNoRows) {
		return DayReport{}, fmt.Errorf("cooperative %d: %w", coopID, ErrNotFound)
	}
	if err != nil {
		return DayReport{}, fmt.Errorf("read cooperative %d: %w", coopID, err)
	}
	loc, err := coopLocation(tz)
	if err != nil {
		return DayReport{}, err
	}
	y, m, d := day.Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, 1)
	rep := DayReport{CooperativeID: coopID, From: from, To: to}

	var lines []reportLine
	if err := l.db.SelectContext(ctx, &lines, l.db.Rebind(reportLinesSQL), coopID, from.UTC(), to.UTC()); err != nil {
		return DayReport{}, fmt.Errorf("journals of cooperative %d on %s: %w", coopID, from.Format(time.DateOnly), err)
	}
	var staffRows []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
		Role string `db:"role"`
	}
	if err := l.db.SelectContext(ctx, &staffRows, l.db.Rebind(reportStaffSQL), coopID); err != nil {
		return DayReport{}, fmt.Errorf("staff of cooperative %d: %w", coopID, err)
	}
	var closing []struct {
		StaffID int64 `db:"staff_id"`
		Closing int64 `db:"closing"`
	}
	if err := l.db.SelectContext(ctx, &closing, l.db.Rebind(reportClosingSQL), to.UTC(), coopID, to.UTC(), coopID); err != nil {
		return DayReport{}, fmt.Errorf("staff cash of cooperative %d at the end of %s: %w", coopID, from.Format(time.DateOnly), err)
	}

	staff := make(map[int64]*StaffDay, len(staffRows))
	for _, s := range staffRows {
		staff[s.ID] = &StaffDay{StaffID: s.ID, Name: s.Name, Role: s.Role}
	}
	closingOf := make(map[int64]int64, len(closing))
	for _, c := range closing {
		closingOf[c.StaffID] += c.Closing
	}
	active := map[int64]bool{}
	coopKinds := map[string]*KindTotal{}
	staffKinds := map[int64]map[string]*KindTotal{}
	// Lines come by journal: take each journal whole, then count it once
	// for the cooperative and once for each staff member it concerns.
	for i := 0; i < len(lines); {
		j := i
		var amount int64
		concerns := map[int64]bool{}
		if id, ok := staffActor(lines[i].Actor); ok && staff[id] != nil {
			concerns[id] = true
		}
		for ; j < len(lines) && lines[j].JournalID == lines[i].JournalID; j++ {
			ln := lines[j]
			amount += ln.Debits
			if ln.StaffID.Valid && staff[ln.StaffID.Int64] != nil {
				concerns[ln.StaffID.Int64] = true
				staff[ln.StaffID.Int64].Cash.add(ln.Debits, ln.Credits)
				rep.Cash.add(ln.Debits, ln.Credits)
			}
		}
		kind := lines[i].Kind
		countKind(coopKinds, kind, amount)
		rep.Journals++
		for id := range concerns {
			if staffKinds[id] == nil {
				staffKinds[id] = map[string]*KindTotal{}
			}
			countKind(staffKinds[id], kind, amount)
			staff[id].Journals++
			active[id] = true
		}
		i = j
	}
	rep.Kinds = sortedKinds(coopKinds)
	for id, s := range staff {
		rep.Cash.Closing += closingOf[id]
		if !active[id] {
			continue
		}
		s.Kinds = sortedKinds(staffKinds[id])
		s.Cash.Closing = closingOf[id]
		rep.Staff = append(rep.Staff, *s)
	}
	slices.SortFunc(rep.Staff, func(a, b StaffDay) int { return cmp.Compare(a.StaffID, b.StaffID) })
	return rep, nil
}

// staffActor reads a journal's actor "staff:<id>".
func staffActor(actor string) (int64, bool) {
	s, ok := strings.CutPrefix(actor, "staff:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func countKind(kinds map[string]*KindTotal, kind string, amount int64) {
	k := kinds[kind]
	if k == nil {
		k = &KindTotal{Kind: kind}
		kinds[kind] = k
	}
	k.Count++
	k.Amount += amount
}

func sortedKinds(kinds map[string]*KindTotal) []KindTotal {
	out := make([]KindTotal, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, *k)
	}
	slices.SortFunc(out, func(a, b KindTotal) int { return cmp.Compare(a.Kind, b.Kind) })
	return out
}
