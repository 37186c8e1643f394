package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/lumbung-id/lumbung/ledger"
)

// errNotReconciled is what reconcile returns when it found problems: they
// are already printed, run only adds the exit code and one stderr line.
var errNotReconciled = errors.New("the books do not reconcile")

// cmdReconcile checks every ledger invariant, for one cooperative (--coop)
// or all of them, and prints one line per problem and a summary, or with
// --json exactly one JSON object. It fails (exit 1) when there is any
// problem.
func cmdReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "config file with LUMBUNG_* keys")
	coop := fs.String("coop", "", "check only the cooperative with this code")
	asJSON := fs.Bool("json", false, "print one JSON object on stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (usage: lumbung reconcile [--coop KODE] [--json] [--config FILE])", fs.Arg(0))
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// A fresh database has no tables yet; migrating first makes it an
	// empty, consistent book instead of an error.
	if err := db.Migrate(ctx, newLogger(stderr)); err != nil {
		return err
	}
	rep, err := ledger.New(db, nil).Reconcile(ctx, *coop)
	if errors.Is(err, ledger.ErrNotFound) && *coop != "" {
		return fmt.Errorf("no cooperative with code %q", *coop)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(stdout, p.String())
		}
		scope := "all cooperatives"
		if *coop != "" {
			scope = "cooperative " + *coop
		}
		verdict := "OK"
		if !rep.OK {
			verdict = fmt.Sprintf("%d problem(s)", len(rep.Problems))
		}
		fmt.Fprintf(stdout, "reconcile %s: %d journals, %d accounts checked: %s\n", scope, rep.Journals, rep.Accounts, verdict)
	}
	if !rep.OK {
		return fmt.Errorf("%w: %d problem(s)", errNotReconciled, len(rep.Problems))
	}
	return nil
}
