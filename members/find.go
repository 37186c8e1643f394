package members

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Paging of FindMembers.
const (
	FindLimitDefault = 20  // a limit of 0 or less
	FindLimitMax     = 100 // a larger limit is cut to this
)

// Bounds of a search query: a member number, a phone or a few words of a
// name are far shorter.
const (
	maxFindQuery = 200 // bytes
	maxFindWords = 5   // further words of a name are ignored
)

// nameKey folds a member's name for search, the one folding both the
// stored members.name_key and a typed query go through: decomposed (NFD),
// combining marks removed, lower case. "María Goreti" is "maria goreti".
// Migration 00009 folded the rows that existed before it in SQL; its test
// (find_test.go) checks that the two agree.
func nameKey(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// findQuery is what a search box's text asks for.
type findQuery struct {
	all    bool     // nothing typed: every member
	number string   // the member number it may be, as typed (trimmed)
	phone  string   // E.164, if it reads as a phone number
	words  []string // folded words of a name, each one LIKE-escaped; none if no letter was typed
}

// parseFindQuery reads a search query. It never touches the database: a
// query with a NUL byte or invalid UTF-8 is ErrInvalid here, not an error
// from PostgreSQL.
func parseFindQuery(q string) (findQuery, error) {
	if len(q) > maxFindQuery {
		return findQuery{}, fmt.Errorf("search query longer than %d bytes: %w", maxFindQuery, ErrInvalid)
	}
	if !utf8.ValidString(q) || strings.ContainsRune(q, 0) {
		return findQuery{}, fmt.Errorf("search query is not text: %w", ErrInvalid)
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return findQuery{all: true}, nil
	}
	fq := findQuery{number: q}
	if phone, err := NormalizeMSISDN(q); err == nil {
		fq.phone = phone
	}
	key := nameKey(q)
	if strings.IndexFunc(key, unicode.IsLetter) < 0 {
		return fq, nil // digits and punctuation: a number or a phone, never a name
	}
	for _, w := range strings.Fields(key) {
		if len(fq.words) == maxFindWords {
			break
		}
		w = likeEscaper.Replace(w)
		if !containsString(fq.words, w) {
			fq.words = append(fq.words, w)
		}
	}
	return fq, nil
}

// likeEscaper escapes LIKE's wildcards with the ESCAPE '\' of findByWordSQL.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// The statements of FindMembers, one per kind of query, each served by an
// index of its own: a number by UNIQUE (cooperative_id, member_no), a phone
// by members_coop_phone, every member by walking UNIQUE (cooperative_id,
// member_no). findPage adds the cursor, the order and the limit.
const (
	findByNumberSQL = memberColumns + `WHERE cooperative_id = ? AND member_no IN (?, ?) ORDER BY member_no`
	findByPhoneSQL  = memberColumns + `WHERE cooperative_id = ? AND phone = ?`
	findAllSQL      = memberColumns + `WHERE cooperative_id = ?`
	// A name is found by words anywhere in it ("goreti" finds "Maria
	// Goreti"), and no B-tree answers LIKE '%…%': this reads the
	// cooperative's members in member-number order until a page is full,
	// all of them for a name nobody has (some 15 ms for 100,000 members).
	// Only a query with a letter that is no member's number comes here.
	// One such condition per word.
	findByNameSQL = memberColumns + `WHERE cooperative_id = ?`
	findByWordSQL = ` AND name_key LIKE ? ESCAPE '\'`
)

// findPage completes a search statement and its arguments with the page:
// members numbered after the cursor's, in member number order, one more
// than limit (to know whether a next page follows). The first page has no
// cursor condition at all: PostgreSQL without statistics (a cooperative
// just loaded) answers a comparison with the empty string by a bitmap scan and a sort of
// the whole cooperative instead of walking the index.
func findPage(query string, args []any, afterNo string, limit int) (string, []any) {
	if afterNo != "" {
		query += ` AND member_no > ?`
		args = append(args, afterNo)
	}
	return query + ` ORDER BY member_no LIMIT ?`, append(args, limit+1)
}

// FindMembers is the counter's and the admin API's member search (CONTRACT
// §5.1, §5.2) within one cooperative, ordered by member number, limit at a
// time (FindLimitDefault if 0 or less, at most FindLimitMax). The query is
//   - a member number, exactly as registered or in upper case ("a-001"
//     finds "A-001"): when a member has it, that member is the answer;
//   - else a phone number in any form NormalizeMSISDN reads ("0812…",
//     "62812…", "+62 812-…", "812…"): every member with that phone (a
//     family may share one);
//   - else, when it has a letter, words of a name, in any case and with or
//     without accents: members whose name holds every word ("maria" finds
//     "María", "gor mar" finds "Maria Goreti").
//
// An empty query lists every member. after is the cursor FindMembers
// returned with the page before ("" for the first page); next is "" on the
// last page. A query or cursor that is not text is ErrInvalid.
func (d *Directory) FindMembers(ctx context.Context, coopID int64, query, after string, limit int) (found []Member, next string, err error) {
	fq, err := parseFindQuery(query)
	if err != nil {
		return nil, "", err
	}
	afterNo, err := decodeFindCursor(after)
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = FindLimitDefault
	}
	limit = min(limit, FindLimitMax)

	var rows []memberRow
	if !fq.all {
		// The number first, whatever the cursor: whether the query is a
		// member number must not change from one page to the next. (Two
		// members at most: "a-1" and "A-1" are different numbers.)
		if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(findByNumberSQL), coopID, fq.number, strings.ToUpper(fq.number)); err != nil {
			return nil, "", fmt.Errorf("find member by number: %w", err)
		}
		if len(rows) > 0 {
			return pageOf(rows, afterNo, limit)
		}
	}
	var q string
	var args []any
	switch {
	case fq.all:
		q, args = findPage(findAllSQL, []any{coopID}, afterNo, limit)
	case fq.phone != "":
		q, args = findPage(findByPhoneSQL, []any{coopID, fq.phone}, afterNo, limit)
	case len(fq.words) > 0:
		q, args = findByNameSQL, []any{coopID}
		for _, w := range fq.words {
			q += findByWordSQL
			args = append(args, "%"+w+"%")
		}
		q, args = findPage(q, args, afterNo, limit)
	default:
		return []Member{}, "", nil // digits that are no member number and no phone
	}
	err = d.db.SelectContext(ctx, &rows, d.db.Rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("find members in cooperative %d: %w", coopID, err)
	}
	return pageOf(rows, "", limit)
}

// pageOf returns, of rows in member number order, those after the one
// numbered afterNo (all if afterNo is "" or none has it), at most limit,
// and the cursor of the next page if more follow. The comparison is
// equality, so the database's collation alone decides the order.
func pageOf(rows []memberRow, afterNo string, limit int) ([]Member, string, error) {
	for i, r := range rows {
		if afterNo != "" && r.No == afterNo {
			rows = rows[i+1:]
			break
		}
	}
	out := make([]Member, 0, min(len(rows), limit))
	for _, r := range rows {
		if len(out) == limit {
			return out, encodeFindCursor(out[len(out)-1].No), nil
		}
		out = append(out, r.member())
	}
	return out, "", nil
}

// A cursor is the last member number of a page, base64url-encoded: opaque
// to callers, and safe in a URL.
func encodeFindCursor(no string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(no))
}

func decodeFindCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || !utf8.Valid(b) || strings.ContainsRune(string(b), 0) {
		return "", fmt.Errorf("search cursor %q: %w", c, ErrInvalid)
	}
	return string(b), nil
}
