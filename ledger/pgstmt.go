package ledger

import (
	"context"
	"database/sql/driver"
	"strings"
)

// Prepared marks a hot SQL statement: on PostgreSQL each connection
// prepares it once, by name, and then only binds and executes it. lib/pq
// otherwise sends every statement as a new unnamed one, which the server
// parses, analyses and plans again each time: for the handful of
// statements every posting runs, that was about a third of the server's
// work. Put it at the very start of the query text; on SQLite it is an
// ordinary comment.
const Prepared = "/* prepared */ "

// maxPreparedPerConn bounds the statements one connection keeps prepared
// (their shapes vary with the number of postings), maxPreparedArgs the size
// of one (a journal of hundreds of postings is rare: no need to keep it);
// other marked statements run unprepared.
const (
	maxPreparedPerConn = 64
	maxPreparedArgs    = 100
)

// preparingConnector hands out lib/pq connections that keep the statements
// marked Prepared prepared. Everything else goes straight to lib/pq.
type preparingConnector struct {
	driver.Connector
	hook StatementHook
}

func (c preparingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := cn.(pqConn)
	if !ok { // not the lib/pq we know: no caching, nothing else changes
		return cn, nil
	}
	return &preparingConn{pq: pc, stmts: map[string]driver.Stmt{}, hook: c.hook}, nil
}

// pqConn is what lib/pq's connection implements and database/sql uses.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// preparingConn is used by one goroutine at a time (database/sql holds the
// connection's lock around every call), so its map needs no lock.
type preparingConn struct {
	pq    pqConn
	stmts map[string]driver.Stmt
	hook  StatementHook
}

func (c *preparingConn) sent(ctx context.Context, query string) {
	if c.hook != nil {
		c.hook(ctx, query)
	}
}

var _ pqConn = (*preparingConn)(nil)

// stmt returns the connection's prepared statement for query, preparing it
// now if needed, or nil if query is not marked (or the cache is full).
func (c *preparingConn) stmt(ctx context.Context, query string, args int) (driver.Stmt, error) {
	if args == 0 || args > maxPreparedArgs || !strings.HasPrefix(query, Prepared) {
		return nil, nil
	}
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxPreparedPerConn {
		return nil, nil
	}
	st, err := c.pq.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

func (c *preparingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.sent(ctx, query)
	st, err := c.stmt(ctx, query, len(args))
	if err != nil || st == nil {
		if err != nil {
			return nil, err
		}
		return c.pq.ExecContext(ctx, query, args)
	}
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *preparingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.sent(ctx, query)
	st, err := c.stmt(ctx, query, len(args))
	if err != nil || st == nil {
		if err != nil {
			return nil, err
		}
		return c.pq.QueryContext(ctx, query, args)
	}
	return st.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// The rest is lib/pq's. Prepared statements end with the session, so Close
// need not close them one by one.

func (c *preparingConn) Prepare(query string) (driver.Stmt, error) { return c.pq.Prepare(query) }
func (c *preparingConn) Close() error                              { return c.pq.Close() }
func (c *preparingConn) Begin() (driver.Tx, error)                 { return c.pq.Begin() } //nolint:staticcheck // part of driver.Conn
func (c *preparingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.sent(ctx, "BEGIN")
	return c.pq.BeginTx(ctx, opts)
}
func (c *preparingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.pq.PrepareContext(ctx, query)
}
func (c *preparingConn) Ping(ctx context.Context) error              { return c.pq.Ping(ctx) }
func (c *preparingConn) ResetSession(ctx context.Context) error      { return c.pq.ResetSession(ctx) }
func (c *preparingConn) IsValid() bool                               { return c.pq.IsValid() }
func (c *preparingConn) CheckNamedValue(nv *driver.NamedValue) error { return c.pq.CheckNamedValue(nv) }
