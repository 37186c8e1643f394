// Package menus is the USSD conversation: screens as a state machine over a
// plain-JSON session, and the member and staff actions behind them. It knows
// no wire format, no HTTP and no Redis; ussd drives it.
package menus

import (
	"github.com/lumbung-id/lumbung/members"
)

// ScreenID names a screen; it is stored in the session.
type ScreenID string

// Reply is the screen text and whether the session ends with it.
type Reply struct {
	Text string `json:"text"`
	End  bool   `json:"end"`
}

// Candidate is one identity a caller may pick on a shared or family phone.
type Candidate struct {
	Coop     members.Cooperative `json:"coop"`
	Holder   members.Holder      `json:"holder"`
	Name     string              `json:"name"`
	Role     string              `json:"role,omitempty"`
	Language string              `json:"lang"`
	HasPIN   bool                `json:"has_pin"`
	// PINLocked sends the caller to activation: a new code from staff is
	// the only way back in.
	PINLocked bool `json:"pin_locked,omitempty"`
}

// Session is everything remembered between hops. It is stored as JSON with
// an idle TTL. It never holds a PIN or an activation code: only whether
// the PIN was verified in this session.
type Session struct {
	Provider    string `json:"provider"`
	MSISDN      string `json:"msisdn"`
	ServiceCode string `json:"service_code"`
	Lang        string `json:"lang"`

	Candidates []Candidate `json:"candidates,omitempty"` // identities still to choose from
	Who        *Candidate  `json:"who,omitempty"`        // the chosen identity

	Screen ScreenID   `json:"screen"`
	Stack  []ScreenID `json:"stack,omitempty"` // for 0 Kembali
	Next   ScreenID   `json:"next,omitempty"`  // where to go once the PIN is verified
	Authed bool       `json:"authed,omitempty"`
	// ActivationID is the id (never the code) of the activation code the
	// caller proved during first use; ConfirmPIN uses it up.
	ActivationID int64 `json:"activation_id,omitempty"`
	// Invalid counts invalid inputs in a row; the third ends the session.
	Invalid int `json:"invalid,omitempty"`
	// Notice is shown once above the next screen ("PIN salah…").
	Notice string `json:"notice,omitempty"`

	// Hop is the index of the last hop answered and Last its reply: a
	// retried hop gets Last again and causes nothing.
	Hop  int    `json:"hop"`
	Last *Reply `json:"last,omitempty"`
}
