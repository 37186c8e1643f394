package main

// lumbung token add|revoke: the admin API's bearer tokens (CONTRACT §5.2).
// A token goes to stdout once, never to a log; the database keeps its hash.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/lumbung-id/lumbung/members"
)

const (
	tokenAddUsage    = "lumbung token add --coop KODE --name NAME [--read-only] [--json] [--config FILE]"
	tokenRevokeUsage = "lumbung token revoke --coop KODE --id ID [--json] [--config FILE]"
	tokenUsage       = tokenAddUsage + " | " + tokenRevokeUsage
)

// cmdToken: lumbung token add, lumbung token revoke.
func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("missing subcommand: add or revoke (usage: %s)", tokenUsage)
	}
	switch args[0] {
	case "add":
		return cmdTokenAdd(ctx, args[1:], stdout, stderr)
	case "revoke":
		return cmdTokenRevoke(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintf(stderr, "Usage:\n  %s\n  %s\n", tokenAddUsage, tokenRevokeUsage)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q: add or revoke (usage: %s)", args[0], tokenUsage)
}

func cmdTokenAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, af := newAdminFlagSet("token add", tokenAddUsage, stderr)
	coop := fs.String("coop", "", "cooperative code")
	name := fs.String("name", "", "who or what uses the token, e.g. \"Akuntansi\" (1-100 characters)")
	readOnly := fs.Bool("read-only", false, "the token may only read (every POST gets 403)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (usage: %s)", pos[0], tokenAddUsage)
	}
	if err := required(tokenAddUsage, [2]string{"coop", *coop}, [2]string{"name", *name}); err != nil {
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
	token, t, err := dir.AddToken(ctx, c.ID, *name, *readOnly)
	if errors.Is(err, members.ErrInvalid) {
		return fmt.Errorf("--name: one line of 1 to %d characters", members.MaxTokenNameLength)
	}
	if err != nil {
		return err
	}
	id := strconv.FormatInt(t.ID, 10)
	if af.json {
		return writeJSON(stdout, struct {
			Token string `json:"token"`
			ID    string `json:"id"`
		}{token, id})
	}
	access := "read and write"
	if t.ReadOnly {
		access = "read-only"
	}
	_, err = fmt.Fprintf(stdout, "API token %s %q (%s) created for %s:\n%s\n"+
		"It is shown once: store it now. Revoke it with: lumbung token revoke --coop %s --id %s\n",
		id, t.Name, access, c.Code, token, c.Code, id)
	return err
}

func cmdTokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, af := newAdminFlagSet("token revoke", tokenRevokeUsage, stderr)
	coop := fs.String("coop", "", "cooperative code")
	idText := fs.String("id", "", "the token's id, as token add printed it")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (usage: %s)", pos[0], tokenRevokeUsage)
	}
	if err := required(tokenRevokeUsage, [2]string{"coop", *coop}, [2]string{"id", *idText}); err != nil {
		return err
	}
	id, err := strconv.ParseInt(strings.TrimSpace(*idText), 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("--id %q: the token's id is a number, as token add printed it", *idText)
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
	err = dir.RevokeToken(ctx, c.ID, id)
	if errors.Is(err, members.ErrNotFound) {
		return fmt.Errorf("no API token with id %d in %s; check the id and the cooperative", id, c.Code)
	}
	if err != nil {
		return err
	}
	if af.json {
		return writeJSON(stdout, struct {
			ID      string `json:"id"`
			Revoked bool   `json:"revoked"`
		}{strconv.FormatInt(id, 10), true})
	}
	_, err = fmt.Fprintf(stdout, "API token %d of %s revoked; it no longer works.\n", id, c.Code)
	return err
}
