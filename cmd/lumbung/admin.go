package main

// The administration commands: coop add, staff add, member
// activation-code and import. Each opens the database named by the
// configuration (migrating it first, like reconcile) and the secret (like
// serve), so that codes issued here work in the running service. Activation
// codes and passwords go to stdout only, never to a log.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

const (
	coopUsage   = "lumbung coop add --code KODE --name NAME --ussd '*123*1#' [--ussd …] [--sms-pin] [--json] [--config FILE]"
	staffUsage  = "lumbung staff add --coop KODE --name NAME --phone PHONE --role teller|collector|manager [--json] [--config FILE]"
	memberUsage = "lumbung member activation-code --coop KODE --member NO [--json] [--config FILE]"
	importUsage = "lumbung import members|loans --coop KODE FILE.csv [--dry-run] [--json] [--config FILE]"
)

// stringList is a flag that may be repeated (--ussd A --ussd B).
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments ("import members FILE --coop X") and returns the
// positional arguments in order. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// adminFlags are the flags every administration command has.
type adminFlags struct {
	config string
	json   bool
}

func newAdminFlagSet(name, usage string, stderr io.Writer) (*flag.FlagSet, *adminFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n", usage)
		fs.PrintDefaults()
	}
	af := &adminFlags{}
	fs.StringVar(&af.config, "config", "", "config file with LUMBUNG_* keys")
	fs.BoolVar(&af.json, "json", false, "print one JSON object on stdout")
	return fs, af
}

// openDirectory opens the configured database (migrated) and a Directory
// keyed with the service's secret. The caller closes the DB.
func openDirectory(ctx context.Context, configFile string, stderr io.Writer) (*ledger.DB, *members.Directory, error) {
	cfg, err := loadConfig(configFile)
	if err != nil {
		return nil, nil, err
	}
	key, err := secret(cfg)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := db.Migrate(ctx, newLogger(stderr)); err != nil {
		db.Close()
		return nil, nil, err
	}
	dir, err := members.NewDirectory(db, key, nil)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, dir, nil
}

// adminService is the service layer as the operator at the CLI uses it.
func adminService(db *ledger.DB, dir *members.Directory) *service.Service {
	books := ledger.New(db, nil)
	return service.New(service.Deps{Directory: dir, Books: books, Registry: dir, Finder: dir, Management: books})
}

// findCoop looks a cooperative up by code with an error a person can act on.
func findCoop(ctx context.Context, dir *members.Directory, code string) (members.Cooperative, error) {
	c, err := dir.CooperativeByCode(ctx, code)
	if errors.Is(err, members.ErrNotFound) {
		return c, fmt.Errorf("no cooperative with code %q (create it with: lumbung coop add --code %s …)", code, code)
	}
	return c, err
}

// required names the first missing required flag.
func required(usage string, flags ...[2]string) error {
	for _, f := range flags {
		if strings.TrimSpace(f[1]) == "" {
			return fmt.Errorf("--%s is required (usage: %s)", f[0], usage)
		}
	}
	return nil
}

// subcommand checks that args start with the one expected word.
func subcommand(args []string, want, usage string) ([]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("missing subcommand (usage: %s)", usage)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		return []string{"--help"}, nil
	}
	if args[0] != want {
		return nil, fmt.Errorf("unknown subcommand %q (usage: %s)", args[0], usage)
	}
	return args[1:], nil
}

func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// cmdCoop: lumbung coop add.
func cmdCoop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	args, err := subcommand(args, "add", coopUsage)
	if err != nil {
		return err
	}
	fs, af := newAdminFlagSet("coop add", coopUsage, stderr)
	code := fs.String("code", "", "cooperative code, e.g. KSP1")
	name := fs.String("name", "", "cooperative name")
	var ussd stringList
	fs.Var(&ussd, "ussd", "USSD service code bound to the cooperative (repeatable)")
	smsPIN := fs.Bool("sms-pin", false, "members must add their PIN to SMS commands (SALDO 123456)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (usage: %s)", pos[0], coopUsage)
	}
	if err := required(coopUsage, [2]string{"code", *code}, [2]string{"name", *name}); err != nil {
		return err
	}
	if len(ussd) == 0 {
		return fmt.Errorf("at least one --ussd service code is required (usage: %s)", coopUsage)
	}
	for _, sc := range ussd { // before touching the database
		if _, err := members.NormalizeServiceCode(sc); err != nil {
			return fmt.Errorf("--ussd %q: %v", sc, err)
		}
	}
	db, dir, err := openDirectory(ctx, af.config, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := dir.CreateCooperative(ctx, *code, *name, ussd)
	if errors.Is(err, members.ErrDuplicate) {
		return fmt.Errorf("a cooperative with code %q already exists; choose another code", strings.TrimSpace(*code))
	}
	if err != nil {
		return err
	}
	if *smsPIN {
		if err := dir.SetSMSPINRequired(ctx, c.ID, true); err != nil {
			return fmt.Errorf("cooperative %s was created, but requiring the PIN in SMS failed: %w", c.Code, err)
		}
	}
	codes, err := dir.ServiceCodes(ctx, c.ID)
	if err != nil {
		return err
	}
	if af.json {
		return writeJSON(stdout, struct {
			Coop string   `json:"coop"`
			USSD []string `json:"ussd"`
		}{c.Code, codes})
	}
	_, err = fmt.Fprintf(stdout, "Cooperative %s (%s) created; USSD %s\n", c.Code, c.Name, strings.Join(codes, ", "))
	return err
}

// cmdStaff: lumbung staff add.
func cmdStaff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	args, err := subcommand(args, "add", staffUsage)
	if err != nil {
		return err
	}
	fs, af := newAdminFlagSet("staff add", staffUsage, stderr)
	coop := fs.String("coop", "", "cooperative code")
	name := fs.String("name", "", "staff member's name")
	phone := fs.String("phone", "", "staff member's phone, e.g. 081299990000")
	role := fs.String("role", "", "teller, collector or manager")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (usage: %s)", pos[0], staffUsage)
	}
	if err := required(staffUsage, [2]string{"coop", *coop}, [2]string{"name", *name}, [2]string{"phone", *phone}, [2]string{"role", *role}); err != nil {
		return err
	}
	r, err := members.ParseRole(*role)
	if err != nil { // before touching the database
		return fmt.Errorf("--role %q: must be teller, collector or manager", *role)
	}
	if _, err := members.NormalizeMSISDN(*phone); err != nil {
		return fmt.Errorf("--phone: %v (e.g. 081299990000 or +6281299990000)", err)
	}
	db, dir, err := openDirectory(ctx, af.config, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := findCoop(ctx, dir, *coop)
	if err != nil {
		return err
	}
	cred, err := adminService(db, dir).AddStaff(ctx, service.OperatorActor(c.ID, 0, service.ChannelCLI),
		service.NewStaff{Name: *name, Phone: *phone, Role: r})
	if service.CodeOf(err) == service.CodeAlreadyExists {
		return fmt.Errorf("%s already has a staff member with that phone (%s, %s)", c.Code, cred.Staff.Name, cred.Staff.Role)
	}
	if err != nil {
		return err
	}
	s, code, expires, password := cred.Staff, cred.ActivationCode, cred.Expires, cred.WebPassword
	if af.json {
		return writeJSON(stdout, struct {
			StaffID        string `json:"staff_id"`
			ActivationCode string `json:"activation_code"`
			WebPassword    string `json:"web_password"`
			ExpiresAt      string `json:"expires_at"`
		}{strconv.FormatInt(s.ID, 10), code, password, rfc3339(expires)})
	}
	_, err = fmt.Fprintf(stdout, "Staff %s (%s) created in %s.\n"+
		"Activation code %s (valid until %s, single use: dial the cooperative's USSD code and set a PIN).\n"+
		"Web password: %s\n"+
		"Give both to %s; they are shown once.\n",
		s.Name, s.Role, c.Code, code, expires.UTC().Format("2006-01-02 15:04 MST"), password, s.Name)
	return err
}

// cmdMember: lumbung member activation-code.
func cmdMember(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	args, err := subcommand(args, "activation-code", memberUsage)
	if err != nil {
		return err
	}
	fs, af := newAdminFlagSet("member activation-code", memberUsage, stderr)
	coop := fs.String("coop", "", "cooperative code")
	no := fs.String("member", "", "member number, e.g. A-001")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (usage: %s)", pos[0], memberUsage)
	}
	if err := required(memberUsage, [2]string{"coop", *coop}, [2]string{"member", *no}); err != nil {
		return err
	}
	db, dir, err := openDirectory(ctx, af.config, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := findCoop(ctx, dir, *coop)
	if err != nil {
		return err
	}
	svc := adminService(db, dir)
	op := service.OperatorActor(c.ID, 0, service.ChannelCLI)
	code, m, expires, err := svc.IssueActivationCode(ctx, op, *no)
	switch service.CodeOf(err) {
	case "":
	case service.CodeNotFound:
		return fmt.Errorf("no member %q in cooperative %s; check the member number", strings.TrimSpace(*no), c.Code)
	case service.CodeInvalidRequest:
		return fmt.Errorf("member number %q matches several members of %s; give the full number", strings.TrimSpace(*no), c.Code)
	case service.CodeMemberLeft:
		m, _ := svc.FindMemberByNo(ctx, op, *no)
		return fmt.Errorf("member %s (%s) has left %s; no activation code issued", m.No, m.Name, c.Code)
	default:
		return err
	}
	if af.json {
		return writeJSON(stdout, struct {
			ActivationCode string `json:"activation_code"`
			ExpiresAt      string `json:"expires_at"`
		}{code, rfc3339(expires)})
	}
	_, err = fmt.Fprintf(stdout, "Activation code for %s %s: %s (valid until %s, single use; earlier codes no longer work).\n",
		m.No, m.Name, code, expires.UTC().Format("2006-01-02 15:04 MST"))
	return err
}

// importProblemJSON is one problem of an import, in --json output.
type importProblemJSON struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// cmdImport: lumbung import members|loans.
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, af := newAdminFlagSet("import", importUsage, stderr)
	coop := fs.String("coop", "", "cooperative code")
	dryRun := fs.Bool("dry-run", false, "check the file and report what would be imported, writing nothing")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("say what to import: members or loans (usage: %s)", importUsage)
	}
	what := pos[0]
	if what != "members" && what != "loans" {
		return fmt.Errorf("unknown import %q: members or loans (usage: %s)", what, importUsage)
	}
	if len(pos) < 2 {
		return fmt.Errorf("missing the CSV file (usage: %s)", importUsage)
	}
	if len(pos) > 2 {
		return fmt.Errorf("unexpected argument %q: one CSV file per import (usage: %s)", pos[2], importUsage)
	}
	file := pos[1]
	if err := required(importUsage, [2]string{"coop", *coop}); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("cannot read the CSV file: %w", err)
	}
	defer f.Close()
	db, dir, err := openDirectory(ctx, af.config, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := findCoop(ctx, dir, *coop)
	if err != nil {
		return err
	}
	var rep members.ImportReport
	if what == "members" {
		rep, err = dir.ImportMembers(ctx, c.ID, f, *dryRun)
	} else {
		rep, err = dir.ImportLoans(ctx, c.ID, f, *dryRun)
	}
	problems := errors.Is(err, members.ErrImportProblems) || (err == nil && len(rep.Problems) > 0)
	if err != nil && !problems {
		return fmt.Errorf("%s: %w", file, err)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stderr, "%s: %s\n", file, p.String())
	}
	if af.json {
		out := map[string]any{"journals_posted": rep.JournalsPosted}
		if what == "members" {
			out["members_created"], out["members_unchanged"] = rep.MembersCreated, rep.MembersUnchanged
		} else {
			out["loans_created"], out["loans_unchanged"] = rep.LoansCreated, rep.LoansUnchanged
		}
		if problems {
			ps := make([]importProblemJSON, len(rep.Problems))
			for i, p := range rep.Problems {
				ps[i] = importProblemJSON{Row: p.Row, Column: p.Column, Reason: p.Reason}
			}
			out["problems"] = ps
		}
		if err := writeJSON(stdout, out); err != nil {
			return err
		}
	}
	if problems {
		n := len(rep.Problems)
		if n == 0 { // the error itself is the only explanation
			return fmt.Errorf("%s: %w", file, err)
		}
		return fmt.Errorf("%s: %d problem(s) listed above; nothing was imported: fix the file and run the import again", file, n)
	}
	if af.json {
		return nil
	}
	verb := "Imported"
	if *dryRun {
		verb = "Dry run, nothing written; would import"
	}
	if what == "members" {
		_, err = fmt.Fprintf(stdout, "%s %s into %s from %s: %d members created, %d unchanged, %d journals posted.\n",
			verb, what, c.Code, file, rep.MembersCreated, rep.MembersUnchanged, rep.JournalsPosted)
	} else {
		_, err = fmt.Fprintf(stdout, "%s %s into %s from %s: %d loans created, %d unchanged, %d journals posted.\n",
			verb, what, c.Code, file, rep.LoansCreated, rep.LoansUnchanged, rep.JournalsPosted)
	}
	return err
}
