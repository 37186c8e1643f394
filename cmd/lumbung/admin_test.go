package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// adminRun runs `lumbung ARGS…` and returns the exit code, stdout and stderr.
func adminRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, nil, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// adminJSON runs a command with --json and decodes the one JSON object it
// must print (nil when stdout is empty).
func adminJSON(t *testing.T, args ...string) (int, map[string]any, string) {
	t.Helper()
	code, stdout, stderr := adminRun(t, append(args, "--json")...)
	if stdout == "" {
		return code, nil, stderr
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var obj map[string]any
	require.NoError(t, dec.Decode(&obj), stdout)
	var extra json.RawMessage
	assert.ErrorIs(t, dec.Decode(&extra), io.EOF, "exactly one JSON object on stdout: %s", stdout)
	return code, obj, stderr
}

func keys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// freshDataDir points LUMBUNG_DATA_DIR at an empty directory.
func freshDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("LUMBUNG_DATA_DIR", dir)
	t.Setenv("LUMBUNG_DATABASE_URL", "")
	t.Setenv("LUMBUNG_SECRET", "")
	return dir
}

// directoryFor opens the data dir's database with the secret the commands
// generated there, as serve would.
func directoryFor(t *testing.T, dataDir string) (*ledger.DB, *members.Directory) {
	t.Helper()
	ctx := context.Background()
	key, err := os.ReadFile(filepath.Join(dataDir, "secret"))
	require.NoError(t, err, "the commands keep the generated secret in the data dir")
	db, err := ledger.OpenSQLite(ctx, filepath.Join(dataDir, "lumbung.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	d, err := members.NewDirectory(db, []byte(strings.TrimSpace(string(key))), nil)
	require.NoError(t, err)
	return db, d
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	coop := fs.String("coop", "", "")
	dry := fs.Bool("dry-run", false, "")
	pos, err := parseInterspersed(fs, []string{"members", "f.csv", "--coop", "KSP1", "--dry-run", "--", "-odd.csv"})
	require.NoError(t, err)
	assert.Equal(t, []string{"members", "f.csv", "-odd.csv"}, pos)
	assert.Equal(t, "KSP1", *coop)
	assert.True(t, *dry)
}

func TestCoopAddCommand(t *testing.T) {
	freshDataDir(t)
	code, obj, stderr := adminJSON(t, "coop", "add", "--code", "KSP1", "--name", "Kopdit Sejahtera", "--ussd", "123*1", "--ussd", " *456# ")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"coop": "KSP1", "ussd": []any{"*123*1#", "*456#"}}, obj)

	code, obj, stderr = adminJSON(t, "coop", "add", "--code", "KSP1", "--name", "Again", "--ussd", "*789#")
	assert.Equal(t, 1, code)
	assert.Nil(t, obj, "nothing on stdout on error")
	assert.Contains(t, stderr, `a cooperative with code "KSP1" already exists`)

	code, _, stderr = adminJSON(t, "coop", "add", "--code", "KSP2", "--name", "Kopdit Dua", "--ussd", "*12a#")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `--ussd "*12a#"`)
	code, _, stderr = adminJSON(t, "coop", "add", "--code", "KSP2", "--name", "Kopdit Dua")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--ussd")
	code, _, stderr = adminJSON(t, "coop", "add", "--name", "Kopdit Dua", "--ussd", "*1#")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--code is required")
	code, _, stderr = adminJSON(t, "coop", "list")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `unknown subcommand "list"`)
}

func TestCoopAddSMSPIN(t *testing.T) {
	data := freshDataDir(t)
	code, obj, stderr := adminJSON(t, "coop", "add", "--code", "KSP9", "--name", "Kopdit PIN", "--ussd", "*9#", "--sms-pin")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"coop": "KSP9", "ussd": []any{"*9#"}}, obj, "the JSON object stays as CONTRACT §1 has it")
	code, _, stderr = adminJSON(t, "coop", "add", "--code", "KSP8", "--name", "Kopdit Tanpa PIN", "--ussd", "*8#")
	require.Equal(t, 0, code, stderr)
	db, _ := directoryFor(t, data)
	var required []string
	require.NoError(t, db.SelectContext(context.Background(), &required, `SELECT code FROM cooperatives WHERE sms_pin_required ORDER BY code`))
	assert.Equal(t, []string{"KSP9"}, required)

	code, stdout, stderr := adminRun(t, "coop", "add", "--code", "KSP2", "--name", "Kopdit Dua", "--ussd", "*123*2#")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "Cooperative KSP2 (Kopdit Dua) created; USSD *123*2#\n", stdout)
}

func TestStaffAddCommand(t *testing.T) {
	dataDir := freshDataDir(t)
	code, _, stderr := adminJSON(t, "coop", "add", "--code", "KSP1", "--name", "Kopdit Sejahtera", "--ussd", "*123#")
	require.Equal(t, 0, code, stderr)

	before := time.Now()
	code, obj, stderr := adminJSON(t, "staff", "add", "--coop", "KSP1", "--name", "Yosef", "--phone", "0812-9999-0000", "--role", "teller")
	require.Equal(t, 0, code, stderr)
	assert.ElementsMatch(t, []string{"staff_id", "activation_code", "web_password", "expires_at"}, keys(obj))
	staffID, ok := obj["staff_id"].(string)
	require.True(t, ok, "staff_id is a string: %v", obj["staff_id"])
	assert.Regexp(t, `^[1-9][0-9]*$`, staffID)
	activation := obj["activation_code"].(string)
	assert.Regexp(t, `^[0-9]{6}$`, activation)
	password := obj["web_password"].(string)
	assert.GreaterOrEqual(t, len(password), 12)
	expiresAt := obj["expires_at"].(string)
	assert.True(t, strings.HasSuffix(expiresAt, "Z"), expiresAt)
	expires, err := time.Parse(time.RFC3339, expiresAt)
	require.NoError(t, err)
	assert.WithinDuration(t, before.Add(members.ActivationCodeTTL), expires, time.Minute)
	assert.NotContains(t, stderr, activation, "the code is never logged")
	assert.NotContains(t, stderr, password, "the password is never logged")

	// The staff member can set a PIN with the code and log in at the counter.
	db, d := directoryFor(t, dataDir)
	ctx := context.Background()
	coop, err := d.CooperativeByCode(ctx, "KSP1")
	require.NoError(t, err)
	var id int64
	require.NoError(t, db.Get(&id, `SELECT id FROM staff WHERE name = 'Yosef'`))
	assert.Equal(t, strconv.FormatInt(id, 10), staffID)
	h := members.Holder{Kind: members.KindStaff, ID: id, CooperativeID: coop.ID}
	actID, _, err := d.VerifyActivationCode(ctx, h, activation)
	require.NoError(t, err)
	require.NoError(t, d.StagePIN(ctx, h, "975310"))
	require.NoError(t, d.ConfirmPIN(ctx, h, "975310", actID))
	_, _, err = d.CheckPIN(ctx, h, "975310")
	assert.NoError(t, err)
	s, err := d.CheckWebPassword(ctx, coop.ID, "+6281299990000", password)
	require.NoError(t, err)
	assert.Equal(t, members.RoleTeller, s.Role)
	var stored string
	require.NoError(t, db.Get(&stored, `SELECT web_password_hash FROM staff WHERE id = ?`, id))
	assert.NotContains(t, stored, password)

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown cooperative": {[]string{"--coop", "NOPE", "--name", "X", "--phone", "081299990001", "--role", "teller"}, `no cooperative with code "NOPE"`},
		"bad phone":           {[]string{"--coop", "KSP1", "--name", "X", "--phone", "12ab", "--role", "teller"}, "--phone: "},
		"bad role":            {[]string{"--coop", "KSP1", "--name", "X", "--phone", "081299990001", "--role", "boss"}, `--role "boss": must be teller, collector or manager`},
		"same phone twice":    {[]string{"--coop", "KSP1", "--name", "X", "--phone", "+6281299990000", "--role", "manager"}, "KSP1 already has a staff member with that phone (Yosef, teller)"},
		"missing name":        {[]string{"--coop", "KSP1", "--phone", "081299990001", "--role", "teller"}, "--name is required"},
	} {
		code, obj, stderr := adminJSON(t, append([]string{"staff", "add"}, tc.args...)...)
		assert.Equal(t, 1, code, name)
		assert.Nil(t, obj, name)
		assert.Contains(t, stderr, tc.want, name)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "%s: one line: %q", name, stderr)
	}

	code, stdout, stderr := adminRun(t, "staff", "add", "--coop", "KSP1", "--name", "Fransiska", "--phone", "081299990001", "--role", "collector")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, regexp.MustCompile(`(?s)^Staff Fransiska \(collector\) created in KSP1\.\nActivation code [0-9]{6} \(valid until .*\nWeb password: \S{12,}\nGive both to Fransiska; they are shown once\.\n$`), stdout)
}

func TestMemberActivationCodeCommand(t *testing.T) {
	dataDir := t.TempDir()
	t.Setenv("LUMBUNG_DATA_DIR", dataDir)
	t.Setenv("LUMBUNG_DATABASE_URL", "")
	t.Setenv("LUMBUNG_SECRET", "")
	ctx := context.Background()
	seed, err := ledger.OpenSQLite(ctx, filepath.Join(dataDir, "lumbung.db"))
	require.NoError(t, err)
	require.NoError(t, seed.Migrate(ctx, nil))
	// The demo seeded with the key the commands will use.
	code, _, stderr := adminJSON(t, "coop", "add", "--code", "TMP", "--name", "creates the secret", "--ussd", "*9#")
	require.Equal(t, 0, code, stderr)
	_, d := directoryFor(t, dataDir)
	require.NoError(t, seedDemo(ctx, d, ledger.New(seed, nil), time.Now()))
	seed.Close()

	code, obj, stderr := adminJSON(t, "member", "activation-code", "--coop", "DEMO", "--member", "a001")
	require.Equal(t, 0, code, stderr)
	assert.ElementsMatch(t, []string{"activation_code", "expires_at"}, keys(obj))
	activation := obj["activation_code"].(string)
	assert.Regexp(t, `^[0-9]{6}$`, activation)
	_, err = time.Parse(time.RFC3339, obj["expires_at"].(string))
	require.NoError(t, err)
	assert.NotContains(t, stderr, activation)

	coop, err := d.CooperativeByCode(ctx, "DEMO")
	require.NoError(t, err)
	m, err := d.MemberByNo(ctx, coop.ID, "A-001")
	require.NoError(t, err)
	h := members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: coop.ID}
	_, _, err = d.VerifyActivationCode(ctx, h, activation)
	assert.NoError(t, err, "the code works for the member")

	// A second code retires the first.
	code, obj, stderr = adminJSON(t, "member", "activation-code", "--member", "A-001", "--coop", "DEMO")
	require.Equal(t, 0, code, stderr)
	_, _, err = d.VerifyActivationCode(ctx, h, obj["activation_code"].(string))
	assert.NoError(t, err)

	code, obj, stderr = adminJSON(t, "member", "activation-code", "--coop", "DEMO", "--member", "Z-999")
	assert.Equal(t, 1, code)
	assert.Nil(t, obj)
	assert.Contains(t, stderr, `no member "Z-999" in cooperative DEMO`)
	code, _, stderr = adminJSON(t, "member", "activation-code", "--coop", "NOPE", "--member", "A-001")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `no cooperative with code "NOPE"`)
	code, _, stderr = adminJSON(t, "member", "activation-code", "--coop", "DEMO")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--member is required")

	code, stdout, stderr := adminRun(t, "member", "activation-code", "--coop", "DEMO", "--member", "A-002")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^Activation code for A-002 Yohanes Bere: [0-9]{6} \(valid until `, stdout)
}

func writeCSV(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestImportCommands(t *testing.T) {
	dataDir := freshDataDir(t)
	code, _, stderr := adminJSON(t, "coop", "add", "--code", "KSP1", "--name", "Kopdit Sejahtera", "--ussd", "*123#")
	require.Equal(t, 0, code, stderr)
	db, _ := directoryFor(t, dataDir)
	count := func(table string) int {
		var n int
		require.NoError(t, db.Get(&n, `SELECT COUNT(*) FROM `+table))
		return n
	}
	journals := count("journals")

	membersCSV := writeCSV(t, "anggota.csv", "member_no;name;phone;joined_on;pokok;wajib;sukarela;language\n"+
		"B-001;Agustina Seran;081234500001;15/01/2020;500.000;1.200.000;250000;id\n"+
		"B-002;Petrus Nahak;081234500002;2021-03-01;500000;0;;en\n")

	// Dry run: the counts, nothing written. Flags after the file too.
	code, obj, stderr := adminJSON(t, "import", "members", membersCSV, "--coop", "KSP1", "--dry-run")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"members_created": 2.0, "members_unchanged": 0.0, "journals_posted": 4.0}, obj)
	assert.Equal(t, 0, count("members"))
	assert.Equal(t, journals, count("journals"))

	code, obj, stderr = adminJSON(t, "import", "members", "--coop", "KSP1", membersCSV)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"members_created": 2.0, "members_unchanged": 0.0, "journals_posted": 4.0}, obj)
	assert.Equal(t, 2, count("members"))
	assert.Equal(t, journals+4, count("journals"))

	code, obj, stderr = adminJSON(t, "import", "members", "--coop", "KSP1", membersCSV)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"members_created": 0.0, "members_unchanged": 2.0, "journals_posted": 0.0}, obj, "again: nothing changes")
	assert.Equal(t, journals+4, count("journals"))

	// Imported members can be given an activation code.
	code, _, stderr = adminJSON(t, "member", "activation-code", "--coop", "KSP1", "--member", "B-002")
	assert.Equal(t, 0, code, stderr)

	loansCSV := writeCSV(t, "pinjaman.csv", "loan_no,member_no,principal,outstanding,rate_pct_month,method,term_months,disbursed_on,installments_paid\n"+
		"L-001,B-001,6000000,4000000,1.5,flat,12,2026-01-10,4\n")
	code, obj, stderr = adminJSON(t, "import", "loans", "--coop", "KSP1", "--dry-run", loansCSV)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"loans_created": 1.0, "loans_unchanged": 0.0, "journals_posted": 1.0}, obj)
	assert.Equal(t, 0, count("loans"))
	code, obj, stderr = adminJSON(t, "import", "loans", "--coop", "KSP1", loansCSV)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"loans_created": 1.0, "loans_unchanged": 0.0, "journals_posted": 1.0}, obj)
	assert.Equal(t, 1, count("loans"))
	code, stdout, stderr := adminRun(t, "import", "loans", "--coop", "KSP1", loansCSV)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "Imported loans into KSP1 from "+loansCSV+": 0 loans created, 1 unchanged, 0 journals posted.\n", stdout)

	code, _, stderr = adminRun(t, "reconcile", "--coop", "KSP1")
	assert.Equal(t, 0, code, "the imported books reconcile: %s", stderr)

	// Problems: every one on stderr as FILE: row N, column C: reason; the
	// JSON object carries them; nothing is written; exit 1.
	bad := writeCSV(t, "buruk.csv", "member_no,name,phone,pokok\n"+
		"C-001,Ok Person,081234500003,0\n"+
		"C-002,Bad Phone,12ab,0\n"+
		"C-003,,081234500004,abc\n")
	before := count("members")
	code, obj, stderr = adminJSON(t, "import", "members", "--coop", "KSP1", bad)
	assert.Equal(t, 1, code)
	require.NotNil(t, obj)
	problems, ok := obj["problems"].([]any)
	require.True(t, ok, "problems array: %v", obj)
	assert.GreaterOrEqual(t, len(problems), 3)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var listed int
	for _, l := range lines {
		if strings.HasPrefix(l, bad+": row ") {
			listed++
			assert.Regexp(t, `^`+regexp.QuoteMeta(bad)+`: row [0-9]+(, column [a-z_]+)?: .+$`, l)
		}
	}
	assert.Equal(t, len(problems), listed, stderr)
	assert.Contains(t, stderr, bad+": row 3, column phone: ")
	assert.Contains(t, stderr, bad+": row 4, column name: ")
	assert.Contains(t, stderr, bad+": row 4, column pokok: ")
	assert.Contains(t, stderr, "nothing was imported")
	p0 := problems[0].(map[string]any)
	assert.ElementsMatch(t, []string{"row", "column", "reason"}, keys(p0))
	assert.Equal(t, before, count("members"), "all or nothing")

	code, obj, _ = adminJSON(t, "import", "members", "--coop", "KSP1", "--dry-run", bad)
	assert.Equal(t, 1, code, "a dry run with problems fails too")
	assert.NotNil(t, obj["problems"])

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"missing file":        {[]string{"members", "--coop", "KSP1", filepath.Join(t.TempDir(), "nope.csv")}, "cannot read the CSV file: open "},
		"unknown cooperative": {[]string{"members", "--coop", "NOPE", membersCSV}, `no cooperative with code "NOPE"`},
		"no file":             {[]string{"members", "--coop", "KSP1"}, "missing the CSV file"},
		"unknown kind":        {[]string{"savings", "--coop", "KSP1", membersCSV}, `unknown import "savings"`},
		"no coop":             {[]string{"loans", loansCSV}, "--coop is required"},
		"two files":           {[]string{"loans", "--coop", "KSP1", loansCSV, membersCSV}, "one CSV file per import"},
	} {
		code, obj, stderr := adminJSON(t, append([]string{"import"}, tc.args...)...)
		assert.Equal(t, 1, code, name)
		assert.Nil(t, obj, name)
		assert.Contains(t, stderr, tc.want, name)
	}
}

func TestSMSRequeueCommand(t *testing.T) {
	data := freshDataDir(t)
	code, _, stderr := adminJSON(t, "coop", "add", "--code", "KSP1", "--name", "Kopdit Satu", "--ussd", "*1#")
	require.Equal(t, 0, code, stderr)
	db, _ := directoryFor(t, data)
	ctx := context.Background()
	var coopID int64
	require.NoError(t, db.GetContext(ctx, &coopID, `SELECT id FROM cooperatives WHERE code = 'KSP1'`))
	now := time.Now()
	require.NoError(t, db.InTx(ctx, func(tx *sqlx.Tx) error {
		return ledger.EnqueueSMS(ctx, tx, ledger.OutboxMessage{CooperativeID: coopID, Key: "k1", Phone: "+6281234567890", Template: ledger.TmplPINChanged}, now)
	}))
	_, err := db.ExecContext(ctx, db.Rebind(`UPDATE outbox SET status = 'failed', updated_at = ?`), now.Add(-time.Hour).UTC())
	require.NoError(t, err)

	code, obj, stderr := adminJSON(t, "sms", "requeue", "--since", "30m")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"requeued": float64(0)}, obj, "it failed an hour ago")
	code, obj, stderr = adminJSON(t, "sms", "requeue", "--coop", "KSP1", "--since", "2h")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"requeued": float64(1)}, obj)
	code, obj, stderr = adminJSON(t, "sms", "requeue", "--since", now.Add(-2*time.Hour).Format(time.RFC3339))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"requeued": float64(0)}, obj, "already queued again")

	code, _, stderr = adminJSON(t, "sms", "requeue", "--since", "yesterday")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `--since "yesterday"`)
	code, _, stderr = adminJSON(t, "sms", "requeue", "--coop", "NOPE")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "NOPE")
	code, _, stderr = adminJSON(t, "sms", "resend")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `unknown subcommand "resend"`)
}
