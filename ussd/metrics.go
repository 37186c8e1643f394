package ussd

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the USSD numbers an operator watches. Labels are bounded sets
// (provider names, screen ids, outcomes); never a phone number or an input.
type Metrics struct {
	Hops       *prometheus.CounterVec
	HopSeconds *prometheus.HistogramVec
	Events     *prometheus.CounterVec
}

// NewMetrics registers the USSD metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Hops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lumbung_ussd_hops_total",
			Help: "USSD hops answered, by provider, the screen shown and the outcome (continue, end, invalid, duplicate, expired, busy, error, cancelled, bad_request, rate_limited, timeout: gave up waiting on the database or Redis, unavailable: one was known to be down, hung_up: the provider closed the request first, sessions_full: the in-process store refused a new session at its cap, foreign: a hop that does not follow its session's hop number or input history, answered without touching it).",
		}, []string{"provider", "screen", "outcome"}),
		HopSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lumbung_ussd_hop_duration_seconds",
			Help:    "Time from receiving a USSD hop to writing its reply.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"provider"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lumbung_ussd_session_events_total",
			Help: "End-of-session notifications from the provider, by status (Success, Incomplete, Failed).",
		}, []string{"provider", "status"}),
	}
	reg.MustRegister(m.Hops, m.HopSeconds, m.Events)
	return m
}
