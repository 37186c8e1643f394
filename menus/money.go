package menus

import (
	"context"
	"errors"
	"fmt"

	"github.com/lumbung-id/lumbung/service"
)

// What every money step passes through: an amount held to the
// cooperative's USSD limit, the go-ahead (what will happen, then the PIN or
// 1 Ya / 2 Batal), and an action screen that posts under an idempotency key
// of the session and step.

// confirm asks for the go-ahead for the action screen act: what it will
// do, then the PIN; or, when the PIN was given earlier in this session,
// what it will do, then 1 Ya / 2 Batal. Money never moves unasked.
func confirm(s *Session, act ScreenID) ScreenID {
	s.Next = act
	if s.Authed {
		return scrConfirm
	}
	return scrPINConfirm
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
func handleConfirm(_ context.Context, _ *Engine, s *Session, in string) (ScreenID, error) {
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
