package sms

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/lumbung-id/lumbung/members"
)

// Log is the default provider (LUMBUNG_SMS_PROVIDER=log): it sends nothing
// and logs that it would have. The log line carries the outbox id, the
// template, the masked phone, the segments and the encoding, never the text:
// it can hold a deposit code.
type Log struct {
	Log *slog.Logger // nil = slog.Default()
}

// Name implements Provider.
func (Log) Name() string { return "log" }

// Send implements Provider: one log line, then "log-<id>" as ProviderID and
// StatusSent, as no delivery report will ever come.
func (l Log) Send(ctx context.Context, m Outgoing) (SendResult, error) {
	logger := l.Log
	if logger == nil {
		logger = slog.Default()
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "sms not sent: log provider",
		slog.Int64("id", m.ID),
		slog.String("template", m.Template),
		slog.String("to", members.MaskMSISDN(m.To)),
		slog.Int("segments", m.Segments),
		slog.String("encoding", string(m.Encoding)),
	)
	return SendResult{ProviderID: "log-" + strconv.FormatInt(m.ID, 10), Status: StatusSent}, nil
}
