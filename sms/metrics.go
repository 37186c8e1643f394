package sms

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lumbung-id/lumbung/ledger"
)

// Metrics counts what the SMS side does. A nil *Metrics counts nothing.
type Metrics struct {
	inboundTotal *prometheus.CounterVec
	sentTotal    *prometheus.CounterVec
	reportsTotal *prometheus.CounterVec
	sendSeconds  *prometheus.HistogramVec
}

// NewMetrics registers the SMS metrics on reg. When db is given, the
// outbox's queue depth per status is exported as a gauge read at scrape
// time.
func NewMetrics(reg prometheus.Registerer, db *ledger.DB) *Metrics {
	m := &Metrics{
		inboundTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lumbung_sms_inbound_total", Help: "Inbound SMS answered, by gateway and outcome.",
		}, []string{"provider", "outcome"}),
		sentTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lumbung_sms_send_total", Help: "Outbox send attempts, by gateway and result (submitted, retry, failed).",
		}, []string{"provider", "result"}),
		reportsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lumbung_sms_reports_total", Help: "Delivery reports received, by gateway and status.",
		}, []string{"provider", "status"}),
		sendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lumbung_sms_send_duration_seconds", Help: "Time the gateway took to accept a message.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}, []string{"provider"}),
	}
	reg.MustRegister(m.inboundTotal, m.sentTotal, m.reportsTotal, m.sendSeconds)
	if db != nil {
		reg.MustRegister(outboxGauge{db: db, desc: prometheus.NewDesc("lumbung_sms_outbox_messages",
			"Outbox messages by status (queued ones are waiting to be sent).", []string{"status"}, nil)})
	}
	return m
}

func (m *Metrics) inbound(provider, outcome string) {
	if m != nil {
		m.inboundTotal.WithLabelValues(provider, outcome).Inc()
	}
}

func (m *Metrics) sent(provider, result string) {
	if m != nil {
		m.sentTotal.WithLabelValues(provider, result).Inc()
	}
}

func (m *Metrics) report(provider string, status Status) {
	if m != nil {
		if status == "" {
			status = "ignored"
		}
		m.reportsTotal.WithLabelValues(provider, string(status)).Inc()
	}
}

func (m *Metrics) sendDuration(provider string, d time.Duration) {
	if m != nil {
		m.sendSeconds.WithLabelValues(provider).Observe(d.Seconds())
	}
}

// outboxGauge counts outbox rows per status when Prometheus scrapes.
type outboxGauge struct {
	db   *ledger.DB
	desc *prometheus.Desc
}

func (g outboxGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g outboxGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var rows []struct {
		Status string `db:"status"`
		N      int64  `db:"n"`
	}
	if err := g.db.SelectContext(ctx, &rows, `SELECT status, COUNT(*) AS n FROM (SELECT status FROM outbox UNION ALL SELECT status FROM sms_replies) AS m GROUP BY status`); err != nil {
		return
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Status] = true
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(r.N), r.Status)
	}
	for _, s := range []Status{StatusQueued, StatusSubmitted, StatusSent, StatusDelivered, StatusFailed} {
		if !seen[string(s)] {
			ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, 0, string(s))
		}
	}
}
