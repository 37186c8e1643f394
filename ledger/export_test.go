package ledger

import "fmt"

// The hot-path statements, for the plan test (hotpath_test.go).
const MemberBalancesSQL = memberBalancesSQL

// StatementPgSQL is Statement's text on PostgreSQL.
var StatementPgSQL = fmt.Sprintf(statementPgSQL, statementOrder)

const (
	StatementSQL          = statementSQL
	MemberLoansSQL        = memberLoansSQL
	MemberInstallmentsSQL = memberInstallmentsSQL
)
