package sms_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/sms"
)

// inboundCount reads lumbung_sms_inbound_total{provider="kannel",outcome}.
func inboundCount(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "lumbung_sms_inbound_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["provider"] == "kannel" && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// allSMS is every message queued: the outbox's, and the replies that
// belong to no cooperative (ledger.RepliesTable).
const allSMS = `(SELECT id, phone, template, params, status FROM outbox
	UNION ALL SELECT id, phone, template, params, status FROM sms_replies) AS m`

func outboxRows(t *testing.T, db *ledger.DB, phone string) int {
	t.Helper()
	var n int
	require.NoError(t, db.GetContext(context.Background(), &n, db.Rebind(`SELECT COUNT(*) FROM `+allSMS+` WHERE phone = ?`), phone))
	return n
}

// Replies go only to numbers of the reply countries (LUMBUNG_SMS_REPLY_COUNTRIES).
func TestInboxReplyCountries(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		reg := prometheus.NewRegistry()
		w.inbox.Metrics = sms.NewMetrics(reg, nil)
		for _, c := range []struct {
			label     string
			countries []string
			from      string
			outcome   string
			replies   int
		}{
			{"a foreign number gets nothing", []string{"62"}, "+15005550006", sms.OutcomeForeign, 0},
			{"a foreign number in the 00 form", []string{"62"}, "0044 7700 900123", sms.OutcomeForeign, 0},
			{"a number of a reply country", []string{"62"}, "+6281300000001", sms.OutcomeUnregistered, 1},
			{"a member of a reply country", []string{"62"}, "081234567890", sms.OutcomeHelp, 1},
			{"another listed country", []string{"62", "670"}, "+67077000001", sms.OutcomeUnregistered, 1},
			{"a prefix of the code is not the code", []string{"6"}, "+15005550007", sms.OutcomeForeign, 0},
			{"any number", nil, "+15005550008", sms.OutcomeUnregistered, 1},
		} {
			t.Run(c.label, func(t *testing.T) {
				w.inbox.ReplyCountries = c.countries
				before := inboundCount(t, reg, c.outcome)
				phone := normalized(t, c.from)
				rows := outboxRows(t, db, phone)
				id := w.text(t, c.from, "HELP")
				assert.Equal(t, c.outcome, w.outcome(t, id), "stored and processed with its outcome")
				assert.Equal(t, c.replies, outboxRows(t, db, phone)-rows)
				assert.Equal(t, before+1, inboundCount(t, reg, c.outcome), "counted by outcome")
			})
		}
	})
}

func normalized(t *testing.T, s string) string {
	t.Helper()
	var digits []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
		}
	}
	d := string(digits)
	switch {
	case len(d) > 2 && d[:2] == "00":
		d = d[2:]
	case d[0] == '0':
		d = "62" + d[1:]
	}
	return "+" + d
}

// Replies to unregistered numbers: one a day per number, and at most the cap
// a day for all of them together, counted in the database.
func TestInboxUnregisteredCap(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		reg := prometheus.NewRegistry()
		w.inbox.Metrics = sms.NewMetrics(reg, nil)
		w.inbox.MaxUnregisteredPerDay = 3
		stranger := func(i int) string { return fmt.Sprintf("+62813000%05d", i) }
		var outcomes []string
		for i := range 5 {
			outcomes = append(outcomes, w.outcome(t, w.text(t, stranger(i), "SALDO")))
		}
		assert.Equal(t, []string{"unregistered", "unregistered", "unregistered", "unregistered_capped", "unregistered_capped"}, outcomes)
		for i := range 5 {
			assert.Equal(t, map[bool]int{true: 1, false: 0}[i < 3], outboxRows(t, db, stranger(i)), stranger(i))
		}
		assert.Equal(t, float64(2), inboundCount(t, reg, sms.OutcomeUnregisteredCapped))
		assert.Equal(t, sms.OutcomeLimited, w.outcome(t, w.text(t, stranger(0), "SALDO")), "one a day per number")

		assert.Equal(t, sms.OutcomeBalance, w.outcome(t, w.text(t, mariaPhone, "SALDO")), "members are answered whatever the cap")

		// Another instance (a fresh Inbox, the same database) counts the same rows.
		other := *w.inbox
		assert.Equal(t, sms.OutcomeUnregisteredCapped, w.outcomeOf(t, &other, stranger(9)))

		w.clock.Add(24 * time.Hour) // a new day
		assert.Equal(t, sms.OutcomeUnregistered, w.outcome(t, w.text(t, stranger(3), "SALDO")))
		assert.Equal(t, 1, outboxRows(t, db, stranger(3)))
	})
}

// outcomeOf texts from phone through inbox and returns the outcome.
func (w *world) outcomeOf(t *testing.T, inbox *sms.Inbox, phone string) string {
	t.Helper()
	w.nextID++
	id, _, err := inbox.Store(context.Background(), sms.Inbound{Provider: "kannel", ProviderID: fmt.Sprintf("mo-other-%d", w.nextID), From: phone, Text: "SALDO"})
	require.NoError(t, err)
	require.NoError(t, inbox.Process(context.Background(), id))
	return w.outcome(t, id)
}
