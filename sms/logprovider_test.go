package sms_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/lumbung-id/lumbung/sms"
)

func TestLogSend(t *testing.T) {
	for _, m := range []sms.Outgoing{depositMsg, ucs2Msg} {
		t.Run(m.Template, func(t *testing.T) {
			var buf bytes.Buffer
			p := sms.Log{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
			res, err := p.Send(t.Context(), m)
			if err != nil {
				t.Fatal(err)
			}
			if want := (sms.SendResult{ProviderID: "log-" + itoa64(m.ID), Status: sms.StatusSent}); res != want {
				t.Fatalf("Send() = %+v; want %+v", res, want)
			}
			out := buf.String()
			for _, secret := range []string{m.Text, "482913", "Kode setor", "“Bu Maria”", "6281234567890", "81234567890"} {
				if strings.Contains(out, secret) {
					t.Fatalf("log %q contains %q", out, secret)
				}
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("log is not one JSON line: %v", err)
			}
			want := map[string]any{"id": float64(m.ID), "template": m.Template, "to": "+62*******7890", "segments": float64(m.Segments), "encoding": string(m.Encoding)}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("log %s = %v; want %v", k, line[k], v)
				}
			}
		})
	}
}

// With no logger, Log writes through slog.Default.
func TestLogSendDefaultLogger(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	if _, err := (sms.Log{}).Send(t.Context(), depositMsg); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "id=4211") || strings.Contains(out, "482913") {
		t.Fatalf("default log %q", out)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
