package ussd

import "net/http"

// Adapter turns one provider's wire format into neutral Requests and Replies.
// Adapters are wired explicitly in cmd/lumbung; they keep no state.
type Adapter interface {
	// Name is the provider's short name, e.g. "africastalking"; it is also
	// Request.Provider.
	Name() string
	// Parse reads one hop. A *BadRequest error means the provider sent the
	// request wrong: the handler answers HTTP 400 with its one-line reason.
	Parse(r *http.Request) (Request, error)
	// Write sends reply in the provider's wire format.
	Write(w http.ResponseWriter, reply Reply) error
}

// BadRequest is a request the provider sent wrong. Reason is one safe line: it
// never echoes the input text, which may hold a PIN.
type BadRequest struct{ Reason string }

func (e *BadRequest) Error() string { return "bad ussd request: " + e.Reason }
