package main

// `lumbung loadtest --seed-members N`: a throwaway cooperative of N members
// with a known PIN, for load tests before a telco goes live. Members come in
// through the CSV import (real opening journals, so `lumbung reconcile`
// stays clean), PINs through members' PIN hashing, tellers (with a till)
// through AddStaff. Seeding again with the same N changes nothing; a larger
// N adds the members still missing.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// Opening balances of every seeded member (whole rupiah).
const (
	seedPokok    = 100_000
	seedWajib    = 600_000
	seedSukarela = 1_250_000
)

// seedChunk members are imported per transaction.
const seedChunk = 50_000

type seedSpec struct {
	Coop, CoopName, ServiceCode string
	Members                     int
	PhonePrefix                 string // member i has phone PhonePrefix + %08d(i), number %08d(i)
	Staff                       int
	StaffPrefix                 string // teller i has phone StaffPrefix + %08d(i)
	PIN                         string
}

type seedReport struct {
	Coop           string  `json:"coop"`
	ServiceCode    string  `json:"service_code"`
	Members        int     `json:"members"`
	MembersCreated int     `json:"members_created"`
	Staff          int     `json:"staff"`
	StaffCreated   int     `json:"staff_created"`
	PINsSet        int     `json:"pins_set"`
	JournalsPosted int     `json:"journals_posted"`
	Seconds        float64 `json:"seconds"`
}

// seedMemberNo and seedPhone name load-test member i (1-based).
func seedMemberNo(i int) string             { return fmt.Sprintf("%08d", i) }
func seedPhone(prefix string, i int) string { return prefix + fmt.Sprintf("%08d", i) }

func (s seedSpec) check() error {
	if s.Members < 1 {
		return fmt.Errorf("--seed-members must be at least 1")
	}
	if s.Members > 99_999_999 {
		return fmt.Errorf("--seed-members %d: at most 99999999 (8-digit member numbers)", s.Members)
	}
	if err := members.ValidatePIN(s.PIN); err != nil {
		return fmt.Errorf("--pin: %v (6 digits, not all the same, not a straight run like 123456)", err)
	}
	for _, p := range []struct{ flag, prefix string }{{"phone-prefix", s.PhonePrefix}, {"staff-prefix", s.StaffPrefix}} {
		if _, err := members.NormalizeMSISDN(seedPhone(p.prefix, 1)); err != nil || !strings.HasPrefix(p.prefix, "+") {
			return fmt.Errorf("--%s %q: want an E.164 prefix such as +62812 (8 digits are appended)", p.flag, p.prefix)
		}
	}
	if s.PhonePrefix == s.StaffPrefix {
		return fmt.Errorf("--staff-prefix must differ from --phone-prefix: a teller's phone must not be a member's")
	}
	if _, err := members.NormalizeServiceCode(s.ServiceCode); err != nil {
		return fmt.Errorf("--service-code %q: %v", s.ServiceCode, err)
	}
	return nil
}

// seedLoadtest creates or completes the load-test cooperative.
func seedLoadtest(ctx context.Context, configFile string, spec seedSpec, stderr io.Writer) (seedReport, error) {
	if err := spec.check(); err != nil { // before touching any database
		return seedReport{}, err
	}
	db, dir, err := openDirectory(ctx, configFile, stderr)
	if err != nil {
		return seedReport{}, err
	}
	defer db.Close()
	return seedLoadtestDB(ctx, db, dir, spec, stderr)
}

// seedLoadtestDB creates or completes the load-test cooperative in db.
func seedLoadtestDB(ctx context.Context, db *ledger.DB, dir *members.Directory, spec seedSpec, stderr io.Writer) (seedReport, error) {
	start := time.Now()
	rep := seedReport{Coop: spec.Coop, ServiceCode: spec.ServiceCode, Members: spec.Members, Staff: spec.Staff}
	if err := spec.check(); err != nil {
		return rep, err
	}
	coop, err := dir.CooperativeByCode(ctx, spec.Coop)
	switch {
	case err == nil:
		codes, err := dir.ServiceCodes(ctx, coop.ID)
		if err != nil {
			return rep, err
		}
		want, _ := members.NormalizeServiceCode(spec.ServiceCode)
		bound := false
		for _, c := range codes {
			bound = bound || c == want
		}
		if !bound {
			return rep, fmt.Errorf("cooperative %s exists but is bound to %s, not %s: pass --service-code %s, or another --coop", coop.Code, strings.Join(codes, ", "), spec.ServiceCode, strings.Join(codes, ","))
		}
	case errors.Is(err, members.ErrNotFound):
		if coop, err = dir.CreateCooperative(ctx, spec.Coop, spec.CoopName, []string{spec.ServiceCode}); err != nil {
			return rep, fmt.Errorf("create cooperative %s: %w", spec.Coop, err)
		}
	default:
		return rep, err
	}

	// Members: only a cooperative made of load-test members is topped up.
	var existing []struct {
		ID    int64  `db:"id"`
		No    string `db:"member_no"`
		Phone string `db:"phone"`
	}
	if err := db.SelectContext(ctx, &existing, db.Rebind(`SELECT id, member_no, phone FROM members WHERE cooperative_id = ?`), coop.ID); err != nil {
		return rep, fmt.Errorf("read members of %s: %w", coop.Code, err)
	}
	have := make(map[int]bool, len(existing))
	for _, m := range existing {
		i, err := strconv.Atoi(m.No)
		if err != nil || len(m.No) != 8 || m.Phone != seedPhone(spec.PhonePrefix, i) {
			return rep, fmt.Errorf("cooperative %s has member %s (%s) that is not a load-test member: seed a throwaway cooperative (--coop), never a real one",
				coop.Code, m.No, members.MaskMSISDN(m.Phone))
		}
		have[i] = true
	}
	var missing []int
	for i := 1; i <= spec.Members; i++ {
		if !have[i] {
			missing = append(missing, i)
		}
	}
	for len(missing) > 0 {
		n := min(seedChunk, len(missing))
		var csv bytes.Buffer
		csv.WriteString("member_no,name,phone,joined_on,pokok,wajib,sukarela,language\n")
		for _, i := range missing[:n] {
			fmt.Fprintf(&csv, "%s,Anggota %d,%s,2026-01-01,%d,%d,%d,id\n", seedMemberNo(i), i, seedPhone(spec.PhonePrefix, i), seedPokok, seedWajib, seedSukarela)
		}
		r, err := dir.ImportMembers(ctx, coop.ID, &csv, false)
		if err != nil {
			if len(r.Problems) > 0 {
				return rep, fmt.Errorf("import load-test members: %s", r.Problems[0].String())
			}
			return rep, fmt.Errorf("import load-test members: %w", err)
		}
		rep.MembersCreated += r.MembersCreated
		rep.JournalsPosted += r.JournalsPosted
		missing = missing[n:]
		fmt.Fprintf(stderr, "seeding %s: %d members imported (%.0fs)\n", coop.Code, rep.MembersCreated, time.Since(start).Seconds())
	}

	// Tellers, each with a till.
	var staff []struct {
		ID    int64  `db:"id"`
		Phone string `db:"phone"`
	}
	if err := db.SelectContext(ctx, &staff, db.Rebind(`SELECT id, phone FROM staff WHERE cooperative_id = ?`), coop.ID); err != nil {
		return rep, fmt.Errorf("read staff of %s: %w", coop.Code, err)
	}
	staffPhones := make(map[string]bool, len(staff))
	for _, s := range staff {
		staffPhones[s.Phone] = true
	}
	for i := 1; i <= spec.Staff; i++ {
		if staffPhones[seedPhone(spec.StaffPrefix, i)] {
			continue
		}
		if _, err := dir.AddStaff(ctx, coop.ID, fmt.Sprintf("Teller %d", i), seedPhone(spec.StaffPrefix, i), members.RoleTeller); err != nil {
			return rep, fmt.Errorf("add teller %d: %w", i, err)
		}
		rep.StaffCreated++
	}

	// PINs: every load-test member and teller without a working PIN gets
	// the known one (a wrong-PIN run may have locked some).
	var need []struct {
		Kind string `db:"kind"`
		ID   int64  `db:"id"`
	}
	if err := db.SelectContext(ctx, &need, db.Rebind(`SELECT 'member' AS kind, m.id FROM members m
LEFT JOIN pins p ON p.holder_kind = 'member' AND p.holder_id = m.id
WHERE m.cooperative_id = ? AND (p.holder_id IS NULL OR p.locked_at IS NOT NULL OR p.failures > 0)
UNION ALL
SELECT 'staff', s.id FROM staff s
LEFT JOIN pins p ON p.holder_kind = 'staff' AND p.holder_id = s.id
WHERE s.cooperative_id = ? AND (p.holder_id IS NULL OR p.locked_at IS NOT NULL OR p.failures > 0)`), coop.ID, coop.ID); err != nil {
		return rep, fmt.Errorf("find holders without a pin: %w", err)
	}
	if len(need) > 0 {
		hs := make([]members.Holder, len(need))
		for i, n := range need {
			hs[i] = members.Holder{Kind: members.HolderKind(n.Kind), ID: n.ID, CooperativeID: coop.ID}
		}
		if err := dir.SetPINs(ctx, hs, spec.PIN); err != nil {
			return rep, err
		}
		rep.PINsSet = len(hs)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}
