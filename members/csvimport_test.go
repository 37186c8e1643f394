package members

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImportProblemString(t *testing.T) {
	assert.Equal(t, "row 3, column phone: not a valid phone number", ImportProblem{Row: 3, Column: "phone", Reason: "not a valid phone number"}.String())
	assert.Equal(t, "row 3: boom", ImportProblem{Row: 3, Reason: "boom"}.String())
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int64{"": 0, " ": 0, "0": 0, "1250000": 1250000, "1.250.000": 1250000, "12.500": 12500, "999": 999, " 1.000 ": 1000} {
		got, err := ParseAmount(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, reason := range map[string]string{
		"-5":                     "must not be negative",
		"-1.000":                 "must not be negative",
		"abc":                    "is not a whole rupiah amount (write 1250000 or 1.250.000)",
		"1,5":                    "is not a whole rupiah amount (write 1250000 or 1.250.000)",
		"1250000.50":             "is not a whole rupiah amount (write 1250000 or 1.250.000)",
		"12.50":                  "is not a whole rupiah amount (write 1250000 or 1.250.000)",
		"1.2500.000":             "is not a whole rupiah amount (write 1250000 or 1.250.000)",
		".000":                   "is not a whole rupiah amount (write 1250000 or 1.250.000)",
		"+5":                     "is not a whole rupiah amount (write 1250000 or 1.250.000)",
		"Rp 5":                   "is not a whole rupiah amount (write 1250000 or 1.250.000)",
		"9999999999999999999999": "is too large",
	} {
		_, err := ParseAmount(in)
		if assert.Error(t, err, in) {
			assert.Equal(t, reason, err.Error(), in)
		}
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2024, 3, 7, 0, 0, 0, 0, time.UTC)
	for _, in := range []string{"2024-03-07", "07/03/2024", "7/3/2024", " 2024-03-07 "} {
		got, err := ParseDate(in)
		require.NoError(t, err, in)
		assert.True(t, want.Equal(got), "%s: %v", in, got)
	}
	for _, in := range []string{"", "2024-13-01", "31/02/2024", "03-07-2024", "2024/03/07", "tomorrow", "0001-01-01"} {
		_, err := ParseDate(in)
		assert.Error(t, err, in)
	}
}

func TestParseRatePct(t *testing.T) {
	for in, want := range map[string]int64{"1": 100, "1.5": 150, "1,5": 150, "1,25": 125, "0": 0, "2%": 200, "0.05": 5} {
		got, err := ParseRatePct(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "x", "1.", ".5", "1.234", "-1", "101", "1.5.5"} {
		_, err := ParseRatePct(in)
		assert.Error(t, err, in)
	}
}

func problemStrings(ps []ImportProblem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestParseMembersCSVForms(t *testing.T) {
	const want = "+6281234567890"
	files := map[string]string{
		"comma":      "member_no,name,phone,joined_on,pokok,wajib,sukarela,language\nA1,Siti,081234567890,2024-03-07,100000,1.250.000,,en\n",
		"bom+semi":   "\xef\xbb\xbfmember_no;name;phone;joined_on;pokok;wajib;sukarela;language\nA1;Siti;6281234567890;07/03/2024;100.000;1250000;0;EN\n",
		"order+crlf": " Phone ,NAME,Member_No,language,sukarela,wajib,pokok,joined_on\r\n+62 812-3456-7890,Siti,A1,en,,1.250.000,100000,7/3/2024\r\n",
	}
	for name, f := range files {
		var ps problems
		rows := parseMembersCSV(strings.NewReader(f), &ps)
		require.Empty(t, problemStrings(ps.list), name)
		require.Len(t, rows, 1, name)
		r := rows[0]
		assert.Equal(t, "A1", r.No, name)
		assert.Equal(t, "Siti", r.Name, name)
		assert.Equal(t, want, r.Phone, name)
		assert.Equal(t, "en", r.Lang, name)
		assert.Equal(t, int64(100000), r.Pokok, name)
		assert.Equal(t, int64(1250000), r.Wajib, name)
		assert.Equal(t, int64(0), r.Sukarela, name)
		assert.True(t, time.Date(2024, 3, 7, 0, 0, 0, 0, time.UTC).Equal(r.JoinedOn), name)
		assert.Equal(t, 2, r.Row, name)
	}
}

func TestParseMembersCSVProblems(t *testing.T) {
	const header = "member_no,name,phone,joined_on,pokok,wajib,sukarela,language\n"
	cases := []struct {
		name, file string
		want       []string
	}{
		{"bad phone", header + "A1,Siti,12ab,,,,,\n", []string{"row 2, column phone: not a valid phone number"}},
		{"missing phone", header + "A1,Siti,,,,,,\n", []string{"row 2, column phone: is required"}},
		{"missing name", header + "A1,,0812345678901,,,,,\n", []string{"row 2, column name: is required"}},
		{"missing member_no", header + ",Siti,0812345678901,,,,,\n", []string{"row 2, column member_no: is required"}},
		{"bad date", header + "A1,Siti,0812345678901,2024-02-30,,,,\n", []string{"row 2, column joined_on: is not a date (write YYYY-MM-DD or DD/MM/YYYY)"}},
		{"negative", header + "A1,Siti,0812345678901,,-5,,,\n", []string{"row 2, column pokok: must not be negative"}},
		{"not numeric", header + "A1,Siti,0812345678901,,,lima,,\n", []string{"row 2, column wajib: is not a whole rupiah amount (write 1250000 or 1.250.000)"}},
		{"fraction", header + "A1,Siti,0812345678901,,,,\"1,5\",\n", []string{"row 2, column sukarela: is not a whole rupiah amount (write 1250000 or 1.250.000)"}},
		{"language", header + "A1,Siti,0812345678901,,,,,jv\n", []string{"row 2, column language: must be id or en"}},
		{"duplicate member_no", header + "A1,Siti,0812345678901,,,,,\nA2,Budi,0812345678902,,,,,\nA1,Ani,0812345678903,,,,,\n",
			[]string{"row 4, column member_no: A1 appears twice in the file (also on row 2)"}},
		{"unknown column", "member_no,name,phone,nik\nA1,Siti,0812345678901,123\n",
			[]string{"row 1, column nik: unknown column (expected member_no, name, phone, joined_on, pokok, wajib, sukarela, language)"}},
		{"missing column", "member_no,name\nA1,Siti\n", []string{"row 1, column phone: required column is missing"}},
		{"duplicate column", "member_no,name,phone,Name\nA1,Siti,0812345678901,Siti\n", []string{"row 1, column name: the column appears more than once"}},
		{"too few values", header + "A1,Siti,0812345678901,,,,,,,x\n", []string{"row 2: has 10 values but the header has 8 columns"}},
		{"empty file", "", []string{"row 1: the file is empty; a header row is required"}},
		{"not utf8", header + "A1,S\xffti,0812345678901,,,,,\n", []string{"row 1: the file is not UTF-8 text (save it as CSV UTF-8)"}},
		{"every problem", header + "A1,Siti,x,,,,,\n\n,,,,,,,\nA2,,0812345678901,,-1,,,\n", []string{
			"row 2, column phone: not a valid phone number",
			"row 4, column name: is required",
			"row 4, column pokok: must not be negative",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ps problems
			parseMembersCSV(strings.NewReader(c.file), &ps)
			assert.Equal(t, c.want, problemStrings(ps.result()))
		})
	}
}

func TestParseMembersFamilyPhone(t *testing.T) {
	var ps problems
	rows := parseMembersCSV(strings.NewReader("member_no,name,phone\nA1,Siti,081234567890\nA2,Budi,+6281234567890\n"), &ps)
	assert.Empty(t, ps.list)
	assert.Len(t, rows, 2)
}

func TestParseLoansCSVProblems(t *testing.T) {
	const header = "loan_no,member_no,principal,outstanding,rate_pct_month,method,term_months,disbursed_on,installments_paid\n"
	cases := []struct {
		name, file string
		want       []string
	}{
		{"ok semicolon", strings.ReplaceAll(header, ",", ";") + "P1;A1;10.000.000;6.000.000;1,5;anuitas;12;01/01/2024;4\n", nil},
		{"outstanding > principal", header + "P1,A1,1000000,2000000,1,flat,12,2024-01-01,0\n",
			[]string{"row 2, column outstanding: Rp2.000.000 is more than the principal Rp1.000.000"}},
		{"method", header + "P1,A1,1000000,500000,1,bunga,12,2024-01-01,6\n",
			[]string{`row 2, column method: unknown method "bunga" (use flat, menurun or anuitas)`}},
		{"rate", header + "P1,A1,1000000,500000,satu,flat,12,2024-01-01,6\n",
			[]string{"row 2, column rate_pct_month: is not a percentage per month (write 1, 1.5 or 1,5)"}},
		{"term", header + "P1,A1,1000000,500000,1,flat,0,2024-01-01,0\n",
			[]string{"row 2, column term_months: must be between 1 and 600"}},
		{"paid", header + "P1,A1,1000000,500000,1,flat,12,2024-01-01,13\n",
			[]string{"row 2, column installments_paid: must not be more than term_months (12)"}},
		{"zero outstanding", header + "P1,A1,1000000,0,1,flat,12,2024-01-01,3\n",
			[]string{"row 2, column outstanding: must be more than 0 (leave fully repaid loans out)"}},
		{"date", header + "P1,A1,1000000,500000,1,flat,12,2024-13-01,3\n",
			[]string{"row 2, column disbursed_on: is not a date (write YYYY-MM-DD or DD/MM/YYYY)"}},
		{"duplicate loan_no", header + "P1,A1,1000000,500000,1,flat,12,2024-01-01,3\nP1,A2,1000000,500000,1,flat,12,2024-01-01,3\n",
			[]string{"row 3, column loan_no: P1 appears twice in the file (also on row 2)"}},
		{"missing column", "loan_no,member_no\nP1,A1\n", []string{
			"row 1, column principal: required column is missing", "row 1, column outstanding: required column is missing",
			"row 1, column rate_pct_month: required column is missing", "row 1, column method: required column is missing",
			"row 1, column term_months: required column is missing", "row 1, column disbursed_on: required column is missing",
			"row 1, column installments_paid: required column is missing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ps problems
			rows := parseLoansCSV(strings.NewReader(c.file), &ps)
			assert.Equal(t, c.want, problemStrings(ps.result()))
			if c.want == nil {
				require.Len(t, rows, 1)
				assert.Equal(t, int64(150), rows[0].RateBP)
				assert.Equal(t, int64(10_000_000), rows[0].Principal)
			}
		})
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"", "0", "1250000", "1.250.000", "-1", "1,5", "99999999999999999999", "1..0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseAmount(s)
		if err == nil && n < 0 {
			t.Fatalf("%q parsed as negative %d", s, n)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-03-07", "07/03/2024", "7/3/2024", "", "31/02/2024", "99/99/9999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err == nil && (d.Hour() != 0 || d.Location() != time.UTC || d.Year() < 1900) {
			t.Fatalf("%q parsed as %v", s, d)
		}
	})
}

func FuzzImportCSV(f *testing.F) {
	f.Add([]byte("member_no,name,phone,joined_on,pokok,wajib,sukarela,language\nA1,Siti,081234567890,2024-03-07,100000,1.250.000,,en\n"))
	f.Add([]byte("\xef\xbb\xbfmember_no;name;phone\n\"A1;Siti;0812\n"))
	f.Add([]byte("loan_no,member_no,principal,outstanding,rate_pct_month,method,term_months,disbursed_on,installments_paid\nP1,A1,1000000,500000,1,flat,12,2024-01-01,3\n"))
	f.Add([]byte("a,b\n\"x\"\"y,\"z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ps problems
		parseMembersCSV(bytes.NewReader(data), &ps)
		var ls problems
		parseLoansCSV(bytes.NewReader(data), &ls)
		for _, p := range append(ps.result(), ls.result()...) {
			if p.Row < 1 {
				t.Fatalf("problem with row %d: %s", p.Row, p)
			}
		}
	})
}
