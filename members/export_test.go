package members

// The hot-path statements, for the plan test (hotpath_test.go).
const (
	CoopsForCodeSQL = coopsForCodeSQL
	ReadPINSQL      = readPINSQL
	PINBalancesSQL  = pinBalancesSQL
)

// IdentifySQL is the identify statement for one cooperative, and its arguments.
func IdentifySQL(coopID int64, phone string) (string, []any) {
	return identifySQL(1), identifyArgs([]Cooperative{{ID: coopID}}, phone)
}
