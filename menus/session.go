// Package menus is the USSD conversation: screens as a state machine over a
// plain-JSON session, and the member and staff actions behind them. It knows
// no wire format, no HTTP and no Redis; ussd drives it.
package menus

import (
	"strconv"

	gojson "github.com/goccy/go-json"

	"github.com/lumbung-id/lumbung/ledger"
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
	Role     members.Role        `json:"role,omitempty"`
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
	// Key names the session for idempotency keys: provider + ":" + the
	// provider's session id, set by the transport. Nonce, drawn when the
	// session starts, tells apart two sessions a gateway gave one id. A
	// money step posts under "ussd:" + Key + ":" + Nonce + ":" + step, so
	// running the step again (a hop re-run after its reply was lost) posts
	// nothing twice.
	Key   string `json:"key,omitempty"`
	Nonce string `json:"nonce,omitempty"`

	Candidates []Candidate `json:"candidates,omitempty"` // identities still to choose from
	Who        *Candidate  `json:"who,omitempty"`        // the chosen identity

	Screen ScreenID   `json:"screen"`
	Stack  []ScreenID `json:"stack,omitempty"` // for 0 Kembali
	Next   ScreenID   `json:"next,omitempty"`  // where to go once the PIN is verified
	Authed bool       `json:"authed,omitempty"`
	// AuthedAt is when the PIN was given (Unix seconds): a money step long
	// after it asks for the PIN again (Engine.pinFresh).
	AuthedAt int64 `json:"authed_at,omitempty"`
	// ActivationID is the id (never the code) of the activation code the
	// caller proved during first use; ConfirmPIN uses it up.
	ActivationID int64 `json:"activation_id,omitempty"`
	// Invalid counts invalid inputs in a row; the third ends the session.
	Invalid int `json:"invalid,omitempty"`
	// Notice is shown once above the next screen ("PIN salah…").
	Notice string `json:"notice,omitempty"`
	// Vars carry a flow's choices from screen to screen: account, amount,
	// loan, member, deposit code, page. Never a PIN or an activation code.
	// They are dropped when the session ends or goes home.
	Vars map[string]string `json:"vars,omitempty"`

	// Hop is the index of the last hop answered and Last its reply: a
	// retried hop gets Last again and causes nothing.
	Hop  int    `json:"hop"`
	Last *Reply `json:"last,omitempty"`
	// Trail binds the session to the inputs that reached it, where the
	// provider sends them all on every hop (Africa's Talking's text): a
	// keyed MAC of that history as of hop Hop, set by the transport. A hop
	// must carry it to go on (or, repeating Hop, to be answered Last), so a
	// stranger who knows the session id and the phone, but not the inputs
	// (the PIN among them), can neither steer the session nor read its last
	// screen. Only the MAC is kept: the key lives outside the store.
	Trail string `json:"trail,omitempty"`

	// balances were read with the PIN in this hop for the balance screen
	// it leads to; never stored (unexported).
	balances *ledger.MemberBalances
}

// Names of Vars.
const (
	varAccount     = "account"     // ledger.AccountKind
	varAmount      = "amount"      // whole rupiah
	varOffered     = "offered"     // the installment amount "1 Bayar angsuran" offers
	varLoan        = "loan"        // loan id
	varLoanNo      = "loan_no"     // loan number, for screens
	varLoans       = "loans"       // ids of the loans a choice list showed, in order
	varDue         = "due"         // due date of the offered installment, DD/MM/YYYY
	varOverdue     = "overdue"     // "1": the offered amount is overdue
	varMember      = "member"      // member id (staff flows)
	varMemberName  = "member_name" // for screens
	varMemberNo    = "member_no"   // for screens
	varCode        = "code"        // a deposit code staff typed (never an activation code)
	varExpires     = "expires"     // a deposit code's expiry, RFC 3339
	varRef         = "ref"         // journal id of a posting
	varOutstanding = "outstanding" // loan principal left after a repayment
	varClosed      = "closed"      // "1": the repayment closed the loan
	varMax         = "max"         // the most a refused payment could have been
	varBalance     = "balance"     // a balance shown with a refusal
	varRefusal     = "refusal"     // text key of why staff could not take a deposit code
	varPage        = "page"        // 0-based page of a list screen
	varPages       = "pages"       // how many pages it has
)

// EncodeSession is the stored form of s: the JSON encoding/json writes, byte
// for byte (TestSessionCodecIsEncodingJSON), by goccy/go-json, which takes
// about a third of the time and a quarter of the allocations. The codec is
// run twice on every hop, a sizeable part of a hop's own CPU.
func EncodeSession(s *Session) ([]byte, error) { return gojson.Marshal(s) }

// DecodeSession reads what EncodeSession (or encoding/json) wrote into s.
func DecodeSession(b []byte, s *Session) error { return gojson.Unmarshal(b, s) }

func (s *Session) get(k string) string { return s.Vars[k] }

func (s *Session) set(k, v string) {
	if s.Vars == nil {
		s.Vars = map[string]string{}
	}
	s.Vars[k] = v
}

func (s *Session) getInt(k string) int64 {
	n, _ := strconv.ParseInt(s.Vars[k], 10, 64)
	return n
}

func (s *Session) setInt(k string, v int64) { s.set(k, strconv.FormatInt(v, 10)) }
