package ledger

// The hot-path statements, for the plan test (hotpath_test.go).
const MemberBalancesSQL = memberBalancesSQL

const (
	StatementSQL          = statementSQL
	MemberLoansSQL        = memberLoansSQL
	MemberInstallmentsSQL = memberInstallmentsSQL
)
