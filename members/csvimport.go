package members

// Parsing of the migration CSV files (CONTRACT §6): members with opening
// balances and running loans. Nothing here touches the database; import.go
// compares the parsed rows with what is stored and writes them.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lumbung-id/lumbung/ledger"
)

// ImportProblem is one thing wrong with an import file. Row counts as a
// spreadsheet shows it: the header is row 1, the first data row is row 2.
type ImportProblem struct {
	Row    int
	Column string // "" when the problem is not about one column
	Reason string
}

// String renders the problem as "row 3, column phone: not a valid phone
// number" (or "row 3: …" without a column).
func (p ImportProblem) String() string {
	if p.Column == "" {
		return fmt.Sprintf("row %d: %s", p.Row, p.Reason)
	}
	return fmt.Sprintf("row %d, column %s: %s", p.Row, p.Column, p.Reason)
}

// ImportReport is what an import did, or with dry-run would do, or why it
// did nothing (Problems).
type ImportReport struct {
	MembersCreated, MembersUnchanged int
	LoansCreated, LoansUnchanged     int
	JournalsPosted                   int
	Problems                         []ImportProblem
}

// ErrImportProblems is returned with a report whose Problems say what to fix.
var ErrImportProblems = errors.New("the file has problems; nothing was imported")

// maxImportFile bounds what is read of an import file (a 100,000-member
// file is about 10 MB).
const maxImportFile = 256 << 20

// maxProblems bounds the problems collected from one file; a wholly wrong
// file is reported by its first problems, not by millions.
const maxProblems = 1000

const (
	maxMemberNoLen = 64
	maxNameLen     = 200
	maxLoanNoLen   = 64
	maxTermMonths  = 600
)

// Column names.
const (
	colMemberNo         = "member_no"
	colName             = "name"
	colPhone            = "phone"
	colJoinedOn         = "joined_on"
	colPokok            = "pokok"
	colWajib            = "wajib"
	colSukarela         = "sukarela"
	colLanguage         = "language"
	colLoanNo           = "loan_no"
	colPrincipal        = "principal"
	colOutstanding      = "outstanding"
	colRate             = "rate_pct_month"
	colMethod           = "method"
	colTermMonths       = "term_months"
	colDisbursedOn      = "disbursed_on"
	colInstallmentsPaid = "installments_paid"
)

var (
	importMemberColumns   = []string{colMemberNo, colName, colPhone, colJoinedOn, colPokok, colWajib, colSukarela, colLanguage}
	memberRequiredColumns = []string{colMemberNo, colName, colPhone}
	importLoanColumns     = []string{colLoanNo, colMemberNo, colPrincipal, colOutstanding, colRate, colMethod, colTermMonths, colDisbursedOn, colInstallmentsPaid}
	loanRequiredColumns   = importLoanColumns
)

// csvRow is one data row: its spreadsheet row number and its values by
// column name (only known columns present in the header).
type csvRow struct {
	Row    int
	Values map[string]string
}

// problems collects problems up to maxProblems.
type problems struct {
	list      []ImportProblem
	truncated bool
}

func (ps *problems) add(row int, column, reason string) {
	if len(ps.list) >= maxProblems {
		ps.truncated = true
		return
	}
	ps.list = append(ps.list, ImportProblem{Row: row, Column: column, Reason: reason})
}

func (ps *problems) result() []ImportProblem {
	if ps.truncated {
		last := ps.list[len(ps.list)-1].Row
		ps.list = append(ps.list, ImportProblem{Row: last, Reason: fmt.Sprintf("more than %d problems; the rest of the file was not checked", maxProblems)})
	}
	return ps.list
}

// readCSV reads an import file: UTF-8 with or without a byte-order mark,
// separated by commas or semicolons (whichever the header line has more
// of), a header row naming the columns in any order (case and surrounding
// spaces ignored). Rows whose values are all blank are skipped.
func readCSV(r io.Reader, known, required []string, ps *problems) ([]csvRow, map[string]bool) {
	data, err := io.ReadAll(io.LimitReader(r, maxImportFile+1))
	if err != nil {
		ps.add(1, "", "cannot read the file: "+err.Error())
		return nil, nil
	}
	if len(data) > maxImportFile {
		ps.add(1, "", fmt.Sprintf("the file is larger than %d MB", maxImportFile>>20))
		return nil, nil
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		ps.add(1, "", "the file is not UTF-8 text (save it as CSV UTF-8)")
		return nil, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		ps.add(1, "", "the file is empty; a header row is required")
		return nil, nil
	}
	first := data
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = ','
	if bytes.Count(first, []byte{';'}) > bytes.Count(first, []byte{','}) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true

	header, err := cr.Read()
	if err != nil {
		ps.add(1, "", "cannot read the header row: "+csvReason(err))
		return nil, nil
	}
	knownSet := make(map[string]bool, len(known))
	for _, k := range known {
		knownSet[k] = true
	}
	cols := make([]string, len(header)) // "" for a column that is ignored
	present := map[string]bool{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case name == "":
			ps.add(1, "", fmt.Sprintf("column %d has no name", i+1))
		case !knownSet[name]:
			ps.add(1, shortValue(name), "unknown column (expected "+strings.Join(known, ", ")+")")
		case present[name]:
			ps.add(1, name, "the column appears more than once")
		default:
			cols[i] = name
			present[name] = true
		}
	}
	for _, req := range required {
		if !present[req] {
			ps.add(1, req, "required column is missing")
		}
	}

	var rows []csvRow
	row := 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		row++
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				ps.add(row, "", "cannot read the row: "+csvReason(err))
				break
			}
			ps.add(row, "", "cannot read the row: "+csvReason(err))
			continue
		}
		if blankRecord(rec) {
			continue
		}
		if len(rec) != len(header) && !onlyBlankBeyond(rec, len(header)) {
			ps.add(row, "", fmt.Sprintf("has %d values but the header has %d columns", len(rec), len(header)))
			continue
		}
		vals := make(map[string]string, len(known))
		for i, c := range cols {
			if c == "" {
				continue
			}
			v := ""
			if i < len(rec) {
				v = strings.TrimSpace(rec[i])
			}
			vals[c] = v
		}
		rows = append(rows, csvRow{Row: row, Values: vals})
	}
	return rows, present
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func blankRecord(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// onlyBlankBeyond: a row with fewer values than the header, or extra
// values that are all blank (trailing separators), is still readable.
func onlyBlankBeyond(rec []string, n int) bool {
	if len(rec) < n {
		return true
	}
	return blankRecord(rec[n:])
}

// shortValue keeps a value shown in a problem short.
func shortValue(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return string(r[:limit]) + "…"
}

// ParseAmount reads a whole-rupiah amount: "1250000" or "1.250.000" (dots
// grouping thousands); blank is 0. Negative, fractional and non-numeric
// amounts are errors.
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if strings.HasPrefix(s, "-") {
		return 0, errors.New("must not be negative")
	}
	digits := s
	if strings.Contains(s, ".") {
		groups := strings.Split(s, ".")
		if len(groups[0]) < 1 || len(groups[0]) > 3 {
			return 0, errors.New("is not a whole rupiah amount (write 1250000 or 1.250.000)")
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return 0, errors.New("is not a whole rupiah amount (write 1250000 or 1.250.000)")
			}
		}
		digits = strings.Join(groups, "")
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, errors.New("is not a whole rupiah amount (write 1250000 or 1.250.000)")
		}
	}
	if len(digits) > 15 { // 999 trillion rupiah: far beyond any cooperative
		return 0, errors.New("is too large")
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, errors.New("is not a whole rupiah amount (write 1250000 or 1.250.000)")
	}
	return n, nil
}

// ParseDate reads "YYYY-MM-DD" or "DD/MM/YYYY" (day and month may have one
// digit) as a calendar date at midnight UTC.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2/1/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1900 {
				return time.Time{}, errors.New("is before 1900")
			}
			return t, nil
		}
	}
	return time.Time{}, errors.New("is not a date (write YYYY-MM-DD or DD/MM/YYYY)")
}

// ParseRatePct reads a monthly interest rate in percent ("1", "1.5" or
// "1,5") as basis points (100, 150). At most two decimals.
func ParseRatePct(s string) (int64, error) {
	s = strings.TrimSpace(s)
	bad := errors.New("is not a percentage per month (write 1, 1.5 or 1,5)")
	if s == "" {
		return 0, bad
	}
	s = strings.TrimSuffix(s, "%")
	whole, frac, hasFrac := strings.Cut(strings.ReplaceAll(s, ",", "."), ".")
	if whole == "" || len(whole) > 3 || (hasFrac && (frac == "" || len(frac) > 2)) {
		if hasFrac && len(frac) > 2 {
			return 0, errors.New("has more than two decimals")
		}
		return 0, bad
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, bad
			}
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	bp := w * 100
	if frac != "" {
		f, _ := strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
		bp += f
	}
	if bp > 10_000 {
		return 0, errors.New("is more than 100% per month")
	}
	return bp, nil
}

func parseCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("is required")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("is not a whole number")
		}
	}
	if len(s) > 6 {
		return 0, errors.New("is too large")
	}
	n, _ := strconv.Atoi(s)
	return n, nil
}

// importMemberRow is a validated row of a members file.
type importMemberRow struct {
	Row                    int
	No, Name, Phone, Lang  string
	JoinedOn               time.Time // zero if blank
	Pokok, Wajib, Sukarela int64
}

func (m importMemberRow) amount(k ledger.AccountKind) int64 {
	switch k {
	case ledger.Pokok:
		return m.Pokok
	case ledger.Wajib:
		return m.Wajib
	default:
		return m.Sukarela
	}
}

// parseMembersCSV reads and checks a members file on its own (no database):
// every problem goes to ps; rows with problems are left out of the result.
func parseMembersCSV(r io.Reader, ps *problems) []importMemberRow {
	rows, _ := readCSV(r, importMemberColumns, memberRequiredColumns, ps)
	out := make([]importMemberRow, 0, len(rows))
	seen := make(map[string]int, len(rows))
	for _, cr := range rows {
		v := cr.Values
		before := len(ps.list)
		m := importMemberRow{Row: cr.Row, No: v[colMemberNo], Name: v[colName]}
		if _, ok := v[colMemberNo]; ok {
			switch {
			case m.No == "":
				ps.add(cr.Row, colMemberNo, "is required")
			case utf8.RuneCountInString(m.No) > maxMemberNoLen:
				ps.add(cr.Row, colMemberNo, fmt.Sprintf("is longer than %d characters", maxMemberNoLen))
			default:
				if first, dup := seen[m.No]; dup {
					ps.add(cr.Row, colMemberNo, fmt.Sprintf("%s appears twice in the file (also on row %d)", m.No, first))
				} else {
					seen[m.No] = cr.Row
				}
			}
		}
		if _, ok := v[colName]; ok {
			switch {
			case m.Name == "":
				ps.add(cr.Row, colName, "is required")
			case utf8.RuneCountInString(m.Name) > maxNameLen:
				ps.add(cr.Row, colName, fmt.Sprintf("is longer than %d characters", maxNameLen))
			}
		}
		if raw, ok := v[colPhone]; ok {
			if raw == "" {
				ps.add(cr.Row, colPhone, "is required")
			} else if p, err := NormalizeMSISDN(raw); err != nil {
				ps.add(cr.Row, colPhone, "not a valid phone number")
			} else {
				m.Phone = p
			}
		}
		if raw := v[colJoinedOn]; raw != "" {
			t, err := ParseDate(raw)
			if err != nil {
				ps.add(cr.Row, colJoinedOn, err.Error())
			}
			m.JoinedOn = t
		}
		for _, a := range []struct {
			col string
			dst *int64
		}{{colPokok, &m.Pokok}, {colWajib, &m.Wajib}, {colSukarela, &m.Sukarela}} {
			n, err := ParseAmount(v[a.col])
			if err != nil {
				ps.add(cr.Row, a.col, err.Error())
			}
			*a.dst = n
		}
		m.Lang = strings.ToLower(v[colLanguage])
		switch m.Lang {
		case "":
			m.Lang = "id"
		case "id", "en":
		default:
			ps.add(cr.Row, colLanguage, "must be id or en")
		}
		if len(ps.list) == before && !ps.truncated {
			out = append(out, m)
		}
	}
	return out
}

// importLoanRow is a validated row of a loans file.
type importLoanRow struct {
	Row                    int
	LoanNo, MemberNo       string
	Principal, Outstanding int64
	RateBP                 int64
	Method                 ledger.Method
	TermMonths             int
	DisbursedOn            time.Time
	InstallmentsPaid       int
}

// parseLoansCSV reads and checks a loans file on its own (no database).
func parseLoansCSV(r io.Reader, ps *problems) []importLoanRow {
	rows, present := readCSV(r, importLoanColumns, loanRequiredColumns, ps)
	for _, c := range loanRequiredColumns {
		if !present[c] {
			return nil // rows cannot be checked without every column
		}
	}
	out := make([]importLoanRow, 0, len(rows))
	seen := make(map[string]int, len(rows))
	for _, cr := range rows {
		v := cr.Values
		before := len(ps.list)
		l := importLoanRow{Row: cr.Row, LoanNo: v[colLoanNo], MemberNo: v[colMemberNo]}
		switch {
		case l.LoanNo == "":
			ps.add(cr.Row, colLoanNo, "is required")
		case utf8.RuneCountInString(l.LoanNo) > maxLoanNoLen:
			ps.add(cr.Row, colLoanNo, fmt.Sprintf("is longer than %d characters", maxLoanNoLen))
		default:
			if first, dup := seen[l.LoanNo]; dup {
				ps.add(cr.Row, colLoanNo, fmt.Sprintf("%s appears twice in the file (also on row %d)", l.LoanNo, first))
			} else {
				seen[l.LoanNo] = cr.Row
			}
		}
		if l.MemberNo == "" {
			ps.add(cr.Row, colMemberNo, "is required")
		}
		var err error
		principalOK, outstandingOK := false, false
		if v[colPrincipal] == "" {
			ps.add(cr.Row, colPrincipal, "is required")
		} else if l.Principal, err = ParseAmount(v[colPrincipal]); err != nil {
			ps.add(cr.Row, colPrincipal, err.Error())
		} else if l.Principal <= 0 {
			ps.add(cr.Row, colPrincipal, "must be more than 0")
		} else {
			principalOK = true
		}
		if v[colOutstanding] == "" {
			ps.add(cr.Row, colOutstanding, "is required")
		} else if l.Outstanding, err = ParseAmount(v[colOutstanding]); err != nil {
			ps.add(cr.Row, colOutstanding, err.Error())
		} else if l.Outstanding <= 0 {
			ps.add(cr.Row, colOutstanding, "must be more than 0 (leave fully repaid loans out)")
		} else {
			outstandingOK = true
		}
		if principalOK && outstandingOK && l.Outstanding > l.Principal {
			ps.add(cr.Row, colOutstanding, fmt.Sprintf("%s is more than the principal %s",
				ledger.FormatRupiah(l.Outstanding), ledger.FormatRupiah(l.Principal)))
		}
		if l.RateBP, err = ParseRatePct(v[colRate]); err != nil {
			ps.add(cr.Row, colRate, err.Error())
		}
		if v[colMethod] == "" {
			ps.add(cr.Row, colMethod, "is required")
		} else if l.Method, err = ledger.ParseMethod(v[colMethod]); err != nil {
			ps.add(cr.Row, colMethod, fmt.Sprintf("unknown method %q (use flat, menurun or anuitas)", shortValue(v[colMethod])))
		}
		termOK := false
		if l.TermMonths, err = parseCount(v[colTermMonths]); err != nil {
			ps.add(cr.Row, colTermMonths, err.Error())
		} else if l.TermMonths < 1 || l.TermMonths > maxTermMonths {
			ps.add(cr.Row, colTermMonths, fmt.Sprintf("must be between 1 and %d", maxTermMonths))
		} else {
			termOK = true
		}
		if v[colDisbursedOn] == "" {
			ps.add(cr.Row, colDisbursedOn, "is required")
		} else if l.DisbursedOn, err = ParseDate(v[colDisbursedOn]); err != nil {
			ps.add(cr.Row, colDisbursedOn, err.Error())
		}
		if l.InstallmentsPaid, err = parseCount(v[colInstallmentsPaid]); err != nil {
			ps.add(cr.Row, colInstallmentsPaid, err.Error())
		} else if termOK && l.InstallmentsPaid > l.TermMonths {
			ps.add(cr.Row, colInstallmentsPaid, fmt.Sprintf("must not be more than term_months (%d)", l.TermMonths))
		}
		if len(ps.list) == before && !ps.truncated {
			// The schedule must be buildable: the same arithmetic the import runs.
			if err := checkLoanSchedule(l); err != nil {
				ps.add(cr.Row, "", "the loan's schedule cannot be built: "+err.Error())
				continue
			}
			out = append(out, l)
		}
	}
	return out
}

// checkLoanSchedule builds the loan's original and remaining schedules as
// ledger.ImportRunningLoanTx will.
func checkLoanSchedule(l importLoanRow) error {
	first := l.DisbursedOn.AddDate(0, 1, 0)
	s, err := ledger.BuildSchedule(l.Principal, l.RateBP, l.Method, l.TermMonths, first)
	if err != nil {
		return err
	}
	if l.InstallmentsPaid > len(s) {
		return fmt.Errorf("%d installments paid of %d", l.InstallmentsPaid, len(s))
	}
	if l.InstallmentsPaid == len(s) { // past its term: the outstanding falls due at maturity
		return nil
	}
	_, err = ledger.RebuildSchedule(l.Outstanding, l.RateBP, l.Method, len(s)-l.InstallmentsPaid, s[l.InstallmentsPaid].Due, l.Principal)
	return err
}
