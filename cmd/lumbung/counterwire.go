package main

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/counter"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/service"
	"github.com/lumbung-id/lumbung/ussd"
)

// mountCounter serves the staff counter pages (/counter) on e, over the
// same service layer as the admin API, with the training phone driving
// this app's own USSD engine (its hops counted under provider="training").
func (a *app) mountCounter(e *echo.Echo) {
	svc := service.New(service.Deps{Directory: a.dir, Books: ledger.CacheSettings(a.books), Registry: a.dir, Finder: a.dir,
		Management: a.books, Records: a.books})
	h := &ussd.Handler{
		Engine:      a.engine,
		Sessions:    a.sessions,
		Metrics:     sharedUSSDMetrics(a.registry),
		Log:         a.log,
		HopDeadline: a.cfg.USSDHopDeadline,
		Budget:      hopBudget(a.cfg.USSDHopDeadline, a.db.Dialect),
		Detach:      a.db.Dialect == ledger.Postgres,
		Backends:    a.watch,
		Limiter:     a.limiter,
		RateLimit:   a.cfg.USSDRateLimit,
		HistoryKey:  a.historyKey,
	}
	srv := &counter.Server{
		DB: a.db, Dir: a.dir, Books: a.books, Service: svc,
		Phone:    counter.NewTrainingPhone(h),
		Demo:     a.cfg.Demo == config.DemoOn || (a.cfg.Demo == config.DemoAuto && a.cfg.Embedded()),
		DemoCoop: demoCoopCode,
		Secure:   strings.HasPrefix(strings.ToLower(a.cfg.PublicURL), "https://"),
		Log:      a.log,
	}
	if err := srv.Register(e); err != nil {
		panic(err) // the embedded templates do not parse: a build defect, caught by every test
	}
}

// sharedUSSDMetrics are the USSD metrics already registered with reg by
// the telco routes (so training hops count in the same families), or new
// ones if there are none yet.
func sharedUSSDMetrics(reg *prometheus.Registry) *ussd.Metrics {
	fresh := ussd.NewMetrics(prometheus.NewRegistry())
	m := &ussd.Metrics{}
	m.Hops = shared(reg, fresh.Hops)
	m.HopSeconds = shared(reg, fresh.HopSeconds)
	m.Events = shared(reg, fresh.Events)
	return m
}

func shared[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}
