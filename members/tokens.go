package members

// Admin API tokens (CONTRACT §5.2): each belongs to one cooperative, is
// shown once when made, and only its hash is kept.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrBadToken: no token like that, or it was revoked. It does not say which.
var ErrBadToken = errors.New("unknown or revoked api token")

// TokenPrefix starts every API token, so a leaked one is recognisable
// (secret scanners, logs) and a wrong string is refused without a query.
const TokenPrefix = "lbk_"

// MaxTokenNameLength is the longest token name, in characters.
const MaxTokenNameLength = 100

// TokenTouchInterval is how stale last_used_at may be: a busy token writes
// it at most once per interval, not on every request.
const TokenTouchInterval = time.Minute

// tokenEncoding writes the token's random bytes in lower-case base32
// without padding: letters and digits only, so a double click selects the
// whole token and no shell or URL needs it quoted.
var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Token is an admin API token as the API and the operator see it; never the
// token itself, which exists only in AddToken's answer.
type Token struct {
	ID            int64
	CooperativeID int64
	Name          string
	ReadOnly      bool // GET only: every POST is 403
	CreatedAt     time.Time
	LastUsedAt    time.Time // zero: never used
}

type tokenRow struct {
	ID            int64        `db:"id"`
	CooperativeID int64        `db:"cooperative_id"`
	Name          string       `db:"name"`
	ReadOnly      bool         `db:"read_only"`
	CreatedAt     time.Time    `db:"created_at"`
	LastUsedAt    sql.NullTime `db:"last_used_at"`
}

func (r tokenRow) token() Token {
	t := Token{ID: r.ID, CooperativeID: r.CooperativeID, Name: r.Name, ReadOnly: r.ReadOnly, CreatedAt: r.CreatedAt.UTC()}
	if r.LastUsedAt.Valid {
		t.LastUsedAt = r.LastUsedAt.Time.UTC()
	}
	return t
}

// hashToken is what the database keeps of a token. A plain SHA-256 is
// enough here, unlike for PINs and passwords: a token is 256 random bits,
// so there is no dictionary to try and a stolen hash cannot be brute-forced
// back into a token, however fast the hash. Being unkeyed and deterministic
// it can be looked up by an index.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// dbTime is t as the database keeps it: UTC, whole microseconds.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

const addTokenSQL = `INSERT INTO api_tokens (cooperative_id, name, token_hash, read_only, created_at)
VALUES (?, ?, ?, ?, ?) RETURNING id`

// AddToken makes an API token for the cooperative and returns it; it cannot
// be read back later. name (1-100 characters, trimmed) says who or what
// uses it. A read-only token may only GET.
func (d *Directory) AddToken(ctx context.Context, coopID int64, name string, readOnly bool) (string, Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxTokenNameLength {
		return "", Token{}, fmt.Errorf("token name must have 1 to %d characters: %w", MaxTokenNameLength, ErrInvalid)
	}
	if !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return "", Token{}, fmt.Errorf("token name must be one line of UTF-8 text: %w", ErrInvalid)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, fmt.Errorf("make api token: %w", err)
	}
	token := TokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(raw[:]))
	t := Token{CooperativeID: coopID, Name: name, ReadOnly: readOnly, CreatedAt: dbTime(d.now())}
	err := d.db.GetContext(ctx, &t.ID, d.db.Rebind(addTokenSQL), coopID, name, hashToken(token), readOnly, t.CreatedAt)
	if err != nil {
		return "", Token{}, fmt.Errorf("add api token for cooperative %d: %w", coopID, err)
	}
	return token, t, nil
}

// revokeTokenSQL keeps the first revocation time when run again.
const revokeTokenSQL = `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND cooperative_id = ?`

// RevokeToken revokes one of the cooperative's tokens; every instance
// refuses it from the next request on (Authenticate reads the database each
// time). Revoking a revoked token again is no error. ErrNotFound: the
// cooperative has no token with that id (another cooperative's included).
func (d *Directory) RevokeToken(ctx context.Context, coopID, id int64) error {
	res, err := d.db.ExecContext(ctx, d.db.Rebind(revokeTokenSQL), d.now().UTC(), id, coopID)
	if err != nil {
		return fmt.Errorf("revoke api token %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("revoke api token %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("api token %d in cooperative %d: %w", id, coopID, ErrNotFound)
	}
	return nil
}

const authenticateSQL = `SELECT id, cooperative_id, name, read_only, created_at, last_used_at FROM api_tokens
WHERE token_hash = ? AND revoked_at IS NULL`

// touchTokenSQL writes last_used_at only when it is older than the touch
// interval: of many instances and requests at once, one writes.
const touchTokenSQL = `UPDATE api_tokens SET last_used_at = ?
WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`

// Authenticate returns the token's record: ErrBadToken if no live token
// has that text. It is deliberately not cached, so a revocation counts at
// once on every instance; it costs one indexed read per request, and a
// write at most once per TokenTouchInterval per token.
func (d *Directory) Authenticate(ctx context.Context, token string) (Token, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 200 {
		return Token{}, ErrBadToken
	}
	var r tokenRow
	err := d.db.GetContext(ctx, &r, d.db.Rebind(authenticateSQL), hashToken(token))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrBadToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("authenticate api token: %w", err)
	}
	t := r.token()
	now := dbTime(d.now())
	if cutoff := now.Add(-TokenTouchInterval); t.LastUsedAt.IsZero() || t.LastUsedAt.Before(cutoff) {
		if _, err := d.db.ExecContext(ctx, d.db.Rebind(touchTokenSQL), now, t.ID, cutoff); err != nil {
			return Token{}, fmt.Errorf("note use of api token %d: %w", t.ID, err)
		}
		t.LastUsedAt = now
	}
	return t, nil
}

const tokensSQL = `SELECT id, cooperative_id, name, read_only, created_at, last_used_at FROM api_tokens
WHERE cooperative_id = ? AND revoked_at IS NULL ORDER BY id`

// Tokens lists the cooperative's live (not revoked) tokens, oldest first.
func (d *Directory) Tokens(ctx context.Context, coopID int64) ([]Token, error) {
	var rows []tokenRow
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(tokensSQL), coopID); err != nil {
		return nil, fmt.Errorf("api tokens of cooperative %d: %w", coopID, err)
	}
	tokens := make([]Token, len(rows))
	for i, r := range rows {
		tokens[i] = r.token()
	}
	return tokens, nil
}
