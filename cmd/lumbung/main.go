// Command lumbung is the USSD/SMS gateway for savings-and-loan cooperatives.
// This is the only place that wires everything: config → stores →
// adapters → routes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/lumbung-id/lumbung/config"
)

const usage = `lumbung — USSD and SMS banking for savings-and-loan cooperatives

Usage:
  lumbung serve [--config FILE] [--no-migrate]   run the HTTP service and workers
  lumbung migrate [--config FILE]                apply database migrations and exit
  lumbung reconcile [--coop KODE] [--json] [--config FILE]
                                                 check every ledger invariant; exit 0 only if all hold
  lumbung backup FILE [--force] [--json] [--config FILE]
                                                 a consistent copy of the embedded database while it
                                                 runs (PostgreSQL: pg_dump, see README)
  lumbung coop add --code KODE --name NAME --ussd '*123*1#' [--ussd …] [--sms-pin] [--json] [--config FILE]
                                                 create a cooperative bound to USSD service codes
  lumbung staff add --coop KODE --name NAME --phone PHONE --role teller|collector|manager [--json] [--config FILE]
                                                 create a staff member; prints a one-time activation
                                                 code (USSD PIN set-up) and a one-time web password
  lumbung member activation-code --coop KODE --member NO [--json] [--config FILE]
                                                 issue a fresh single-use activation code (first use,
                                                 forgotten or locked PIN)
  lumbung import members|loans --coop KODE FILE.csv [--dry-run] [--json] [--config FILE]
                                                 import members with opening balances, or running loans
  lumbung token add --coop KODE --name NAME [--read-only] [--json] [--config FILE]
                                                 create an admin API token; prints it once
  lumbung token revoke --coop KODE --id ID [--json] [--config FILE]
                                                 revoke an admin API token at once
  lumbung sms requeue [--coop KODE] [--since 24h] [--json] [--config FILE]
                                                 send again the SMS that failed (after fixing the gateway)
  lumbung phone [--url URL] [--provider africastalking] --msisdn PHONE --code '*123#'
                                                 a terminal phone that dials a running lumbung
  lumbung loadtest --url URL [--flow nav|balance|deposit] [-c N] [-d 30s] [--provider P] [--json]
                   [--seed-members N [--coop LOADTEST] [--config FILE]]
                                                 drive USSD journeys against a running lumbung: hops/s,
                                                 latency percentiles, errors; --seed-members first creates
                                                 a throwaway cooperative of N members with a known PIN

Configuration is read from LUMBUNG_* environment variables (see README.md).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		serveGC(os.Getenv)
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it with their own arguments
// and streams.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], stderr)
	case "reconcile":
		err = cmdReconcile(ctx, args[1:], stdout, stderr)
	case "backup":
		err = cmdBackup(ctx, args[1:], stdout, stderr)
	case "coop":
		err = cmdCoop(ctx, args[1:], stdout, stderr)
	case "staff":
		err = cmdStaff(ctx, args[1:], stdout, stderr)
	case "token":
		err = cmdToken(ctx, args[1:], stdout, stderr)
	case "member":
		err = cmdMember(ctx, args[1:], stdout, stderr)
	case "import":
		err = cmdImport(ctx, args[1:], stdout, stderr)
	case "sms":
		err = cmdSMS(ctx, args[1:], stdout, stderr)
	case "phone":
		err = cmdPhone(ctx, args[1:], stdin, stdout)
	case "loadtest":
		err = cmdLoadtest(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "lumbung: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "lumbung %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// loadConfig reads --config FILE (if given) and the environment.
func loadConfig(file string) (config.Config, error) {
	return config.Load(os.LookupEnv, file)
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func cmdMigrate(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "config file with LUMBUNG_* keys")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, log); err != nil {
		return err
	}
	log.Info("database is up to date", "dialect", db.Dialect)
	return nil
}

// serveGCPercent is the garbage collector's target (GOGC) of lumbung serve
// when GOGC is not set. A hop allocates a few kilobytes and keeps none of
// them: at Go's default of 100 the collector ran every few hundred hops
// and cost ~10 % of the hop's CPU; at 400 the heap of a busy instance stays
// under ~100 MB (most of it the caller cache). GOGC and GOMEMLIMIT set in
// the environment win.
const serveGCPercent = 400

// serveGC sets serveGCPercent unless GOGC is set; it reports whether it did.
func serveGC(getenv func(string) string) bool {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(serveGCPercent)
	return true
}
