package menus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lumbung-id/lumbung/service"
)

// What every money step passes through: an amount held to the
// cooperative's USSD limit, the go-ahead (what will happen, then the PIN or
// 1 Ya / 2 Batal), and an action screen that posts under an idempotency key
// of the session and step.

// confirm asks for the go-ahead for the action screen act: what it will
// do, then the PIN; or, when the PIN was given in this session a moment
// ago, what it will do, then 1 Ya / 2 Batal. Money never moves unasked.
func (e *Engine) confirm(s *Session, act ScreenID) ScreenID {
	s.Next = act
	if e.pinFresh(s) {
		return scrConfirm
	}
	return scrPINConfirm
}

// PINFreshFor is how long a PIN given in a session stands for a money
// step: after a longer pause the PIN is asked again, so a hop injected
// into a session left open cannot move money on the member's PIN.
const PINFreshFor = 90 * time.Second

// pinFresh reports whether the PIN was given in this session within
// PINFreshFor. On Freeflow gateways, which number no hops (a forged hop
// cannot be told from the member's), it never is: every money step takes
// the PIN itself as its go-ahead.
func (e *Engine) pinFresh(s *Session) bool {
	if !s.Authed || s.Provider == "freeflow" || s.AuthedAt == 0 {
		return false
	}
	at := time.Unix(s.AuthedAt, 0)
	return e.now().Sub(at) <= PINFreshFor
}

func summaryOf(ctx context.Context, e *Engine, s *Session) (string, error) {
	sc, ok := screens[s.Next]
	if !ok || sc.summary == nil {
		return "", fmt.Errorf("no action to confirm (next %q)", s.Next)
	}
	return sc.summary(ctx, e, s)
}

func renderConfirm(ctx context.Context, e *Engine, s *Session) (string, error) {
	sum, err := summaryOf(ctx, e, s)
	return sum + "\n" + T(s.Lang, "confirm.yesno"), err
}

func renderPINConfirm(ctx context.Context, e *Engine, s *Session) (string, error) {
	sum, err := summaryOf(ctx, e, s)
	return sum + "\n" + T(s.Lang, "pin.ask_short"), err
}

// handleConfirm: 1 Ya goes on to the action (through the PIN if it was not
// given yet), 2 Batal ends with nothing done.
func handleConfirm(_ context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	i, err := choice(in, 2)
	if err != nil {
		return "", err
	}
	if i == 1 {
		return scrCancelled, nil
	}
	if _, ok := screens[s.Next]; !ok || s.Next == "" {
		return "", fmt.Errorf("confirmed nothing (next %q)", s.Next)
	}
	if !e.pinFresh(s) { // a pause on the confirmation: the PIN again
		s.Authed = false
	}
	return needPIN(s, s.Next), nil
}

// actor is the caller as the service layer knows them.
func actor(s *Session) service.Actor {
	if s.Who == nil {
		return service.Actor{Channel: service.ChannelUSSD}
	}
	return service.Actor{Kind: service.ActorKind(s.Who.Holder.Kind), ID: s.Who.Holder.ID,
		CooperativeID: s.Who.Coop.ID, Role: s.Who.Role, Channel: service.ChannelUSSD}
}

// amount reads a typed amount and holds it to what USSD may move at once.
func (e *Engine) amount(ctx context.Context, s *Session, in string) (int64, error) {
	n, ok := parseAmount(in)
	if !ok {
		return 0, invalidWith{key: "amount.shape"}
	}
	limit, err := e.svc.MaxAmount(ctx, actor(s))
	if err != nil {
		return 0, err
	}
	if n > limit {
		return 0, invalidWith{key: "amount.max", args: []any{rupiah(limit)}}
	}
	return n, nil
}

// idemKey is the idempotency key of a money step of this session.
func idemKey(s *Session, step string) (string, error) {
	if s.Key == "" || s.Nonce == "" {
		return "", errors.New("the session has no idempotency key: money cannot move")
	}
	return service.Key(service.ChannelUSSD, s.Key+":"+s.Nonce, step), nil
}
