package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/members"
)

func TestTokenAddCommand(t *testing.T) {
	dataDir := freshDataDir(t)
	code, _, stderr := adminJSON(t, "coop", "add", "--code", "KSP1", "--name", "Kopdit Sejahtera", "--ussd", "*123#")
	require.Equal(t, 0, code, stderr)

	code, obj, stderr := adminJSON(t, "token", "add", "--coop", "KSP1", "--name", "Akuntansi")
	require.Equal(t, 0, code, stderr)
	assert.ElementsMatch(t, []string{"token", "id"}, keys(obj), "exactly {token, id} (CONTRACT §5.2)")
	token, ok := obj["token"].(string)
	require.True(t, ok, "token is a string: %v", obj["token"])
	assert.Regexp(t, `^lbk_[a-z2-7]{52}$`, token)
	id, ok := obj["id"].(string)
	require.True(t, ok, "id is a string: %v", obj["id"])
	assert.Regexp(t, `^[1-9][0-9]*$`, id)
	assert.NotContains(t, stderr, token, "the token is never logged")

	// The running service accepts it: a Directory with the service's secret.
	ctx := context.Background()
	_, d := directoryFor(t, dataDir)
	got, err := d.Authenticate(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, id, strconv.FormatInt(got.ID, 10))
	assert.Equal(t, "Akuntansi", got.Name)
	assert.False(t, got.ReadOnly)

	code, stdout, stderr := adminRun(t, "token", "add", "--read-only", "--coop", "KSP1", "--name", "Bank matcher")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 3, stdout)
	assert.Regexp(t, `^API token [0-9]+ "Bank matcher" \(read-only\) created for KSP1:$`, lines[0])
	assert.Regexp(t, `^lbk_[a-z2-7]{52}$`, lines[1], "the token alone on its line, to copy")
	assert.Contains(t, lines[2], "shown once")
	got, err = d.Authenticate(ctx, lines[1])
	require.NoError(t, err)
	assert.True(t, got.ReadOnly)

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown cooperative": {[]string{"--coop", "NOPE", "--name", "X"}, `no cooperative with code "NOPE"`},
		"missing name":        {[]string{"--coop", "KSP1"}, "--name is required"},
		"blank name":          {[]string{"--coop", "KSP1", "--name", "  "}, "--name is required"},
		"long name":           {[]string{"--coop", "KSP1", "--name", strings.Repeat("x", 101)}, "--name: one line of 1 to 100 characters"},
		"missing coop":        {[]string{"--name", "X"}, "--coop is required"},
		"stray argument":      {[]string{"--coop", "KSP1", "--name", "X", "extra"}, `unexpected argument "extra"`},
	} {
		code, obj, stderr := adminJSON(t, append([]string{"token", "add"}, tc.args...)...)
		assert.Equal(t, 1, code, name)
		assert.Nil(t, obj, name)
		assert.Contains(t, stderr, tc.want, name)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "%s: one line: %q", name, stderr)
	}
	list, err := d.Tokens(ctx, got.CooperativeID)
	require.NoError(t, err)
	assert.Len(t, list, 2, "no refused command made a token")

	code, _, stderr = adminRun(t, "token", "list")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `unknown subcommand "list": add or revoke`)
	code, _, stderr = adminRun(t, "token")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "missing subcommand")
	code, _, stderr = adminRun(t, "token", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, tokenAddUsage)
	assert.Contains(t, stderr, tokenRevokeUsage)
	code, _, _ = adminRun(t, "token", "add", "--help")
	assert.Equal(t, 0, code)
}

func TestTokenRevokeCommand(t *testing.T) {
	dataDir := freshDataDir(t)
	for _, c := range []string{"KSP1", "KSP2"} {
		code, _, stderr := adminJSON(t, "coop", "add", "--code", c, "--name", "Kopdit "+c, "--ussd", "*1"+c[3:]+"#")
		require.Equal(t, 0, code, stderr)
	}
	code, obj, stderr := adminJSON(t, "token", "add", "--coop", "KSP1", "--name", "Akuntansi")
	require.Equal(t, 0, code, stderr)
	token, id := obj["token"].(string), obj["id"].(string)
	ctx := context.Background()
	_, d := directoryFor(t, dataDir)
	_, err := d.Authenticate(ctx, token)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"another cooperative": {[]string{"--coop", "KSP2", "--id", id}, "no API token with id " + id + " in KSP2"},
		"unknown id":          {[]string{"--coop", "KSP1", "--id", "999"}, "no API token with id 999 in KSP1"},
		"unknown cooperative": {[]string{"--coop", "NOPE", "--id", id}, `no cooperative with code "NOPE"`},
		"missing id":          {[]string{"--coop", "KSP1"}, "--id is required"},
		"id not a number":     {[]string{"--coop", "KSP1", "--id", "lbk_x"}, `--id "lbk_x": the token's id is a number`},
		"id zero":             {[]string{"--coop", "KSP1", "--id", "0"}, `--id "0"`},
	} {
		code, obj, stderr := adminJSON(t, append([]string{"token", "revoke"}, tc.args...)...)
		assert.Equal(t, 1, code, name)
		assert.Nil(t, obj, name)
		assert.Contains(t, stderr, tc.want, name)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "%s: one line: %q", name, stderr)
	}
	_, err = d.Authenticate(ctx, token)
	require.NoError(t, err, "no refused revocation revoked it")

	code, obj, stderr = adminJSON(t, "token", "revoke", "--coop", "KSP1", "--id", id)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, map[string]any{"id": id, "revoked": true}, obj)
	_, err = d.Authenticate(ctx, token)
	assert.ErrorIs(t, err, members.ErrBadToken, "refused at once")

	code, stdout, stderr := adminRun(t, "token", "revoke", "--coop", "KSP1", "--id", id)
	require.Equal(t, 0, code, "revoking again is no error: %s", stderr)
	assert.Equal(t, "API token "+id+" of KSP1 revoked; it no longer works.\n", stdout)
}
