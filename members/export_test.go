package members

// The hot-path statements, for the plan test (hotpath_test.go).
const (
	CoopsForCodeSQL = coopsForCodeSQL
	IdentifySQL     = identifySQL
	ReadPINSQL      = readPINSQL
)
