// Package ussd turns telco USSD callbacks into neutral requests, runs them
// through the menus state machine with per-session state kept in a session
// store (Redis or in-process), and writes the reply in the provider's format.
package ussd

import (
	"strings"
	"unicode/utf8"
)

// Phase says where in its life a USSD session is, as the provider tells it.
type Phase int

const (
	// PhaseBegin is the first hop of a session (the member just dialled).
	PhaseBegin Phase = iota
	// PhaseContinue is any later hop carrying the member's latest input.
	PhaseContinue
	// PhaseEnd is the network closing the session (timeout, release, clean-up);
	// it expects no screen.
	PhaseEnd
	// PhaseUnknown is a hop from a provider that does not say whether it
	// starts a session (Freeflow gateways): the handler decides from its
	// session store. On a first hop Input holds the dialled code.
	PhaseUnknown
)

func (p Phase) String() string {
	switch p {
	case PhaseBegin:
		return "begin"
	case PhaseContinue:
		return "continue"
	case PhaseEnd:
		return "end"
	case PhaseUnknown:
		return "unknown"
	}
	return "unknown"
}

// Request is one USSD hop in a provider-neutral form. Only adapters know the
// wire formats; everything after them sees this.
type Request struct {
	Provider    string // "africastalking", "hubtel", "freeflow"
	SessionID   string // the provider's session id
	MSISDN      string // the caller, normalised to E.164 (+62…)
	ServiceCode string // normalised service code, e.g. "*123*1#"
	Input       string // the latest input only ("" on the first hop)
	HopIndex    int    // 0 on the first hop, then 1, 2, … (a retry repeats its index); -1 when the provider gives none
	Phase       Phase
	// Preset holds inputs typed together with the code on the first hop
	// ("auto-dial": *714*2*3# on a service code *714# gives ["2", "3"]).
	Preset []string

	// history is every input of the session so far, this hop's included,
	// as the provider sent it (Africa's Talking's text); "" from providers
	// that send only the latest input. It holds the PIN: never log it. The
	// handler binds a session to it (Handler.HistoryKey).
	history string
	// hasHistory is set by adapters whose provider sends the history.
	hasHistory bool
}

// Reply is the screen to show and whether the session ends with it.
type Reply struct {
	Text string
	End  bool
}

// reasonNotText is the answer to a hop that holds a NUL byte or bytes that
// are not UTF-8: nothing a handset types, and nothing the stores can hold
// (PostgreSQL refuses both in text).
const reasonNotText = "request holds a NUL byte or invalid UTF-8"

// plainText reports whether every field of req, the inputs before this hop
// included, is valid UTF-8 without NUL.
func plainText(req Request) bool {
	ok := func(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
	if !ok(req.SessionID) || !ok(req.MSISDN) || !ok(req.ServiceCode) || !ok(req.Input) || !ok(req.history) {
		return false
	}
	for _, p := range req.Preset {
		if !ok(p) {
			return false
		}
	}
	return true
}
