package main

import (
	"context"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/sms"
)

// smsParts is the SMS side of an app: the configured gateway's adapter,
// the inbox that answers members, the outbox sender and the reminder job.
type smsParts struct {
	adapter   sms.Adapter // nil with the log provider
	inbox     *sms.Inbox
	sender    *sms.Sender
	reminders *sms.Reminders
	handler   *sms.Handler
	// tryInbound are the inbound-only routes of the log provider (below).
	tryInbound []sms.Adapter
}

// smsGateways builds the three gateways from cfg; LUMBUNG_SMS_PROVIDER
// picks the one that sends and whose callbacks are served.
func smsGateways(cfg config.Config, reports *sms.ReportSigner) (kannel sms.Kannel, at sms.AfricasTalking, tw sms.Twilio) {
	kannel = sms.Kannel{SendURL: cfg.KannelSendSMSURL, Username: cfg.KannelUsername, Password: cfg.KannelPassword,
		From: cfg.SMSFrom, CallbackBase: cfg.PublicURL, Token: cfg.CallbackToken, Reports: reports}
	at = sms.AfricasTalking{Username: cfg.ATUsername, APIKey: cfg.ATAPIKey, BaseURL: cfg.ATBaseURL, From: cfg.SMSFrom}
	tw = sms.Twilio{AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, BaseURL: cfg.TwilioBaseURL,
		From: cfg.SMSFrom, PublicURL: cfg.PublicURL, Token: cfg.CallbackToken}
	return kannel, at, tw
}

func (a *app) wireSMS(key []byte, engine *menus.Engine) error {
	sealer, err := sms.NewSealer(key)
	if err != nil {
		return err
	}
	reports, err := sms.NewReportSigner(key)
	if err != nil {
		return err
	}
	metrics := sms.NewMetrics(a.registry, a.db)
	kannel, at, tw := smsGateways(a.cfg, reports)
	var provider sms.Provider = sms.Log{Log: a.log}
	var adapter sms.Adapter
	var tryInbound []sms.Adapter
	switch a.cfg.SMSProvider {
	case config.SMSKannel:
		provider, adapter = kannel, kannel
	case config.SMSAfricasTalking:
		provider, adapter = at, at
	case config.SMSTwilio:
		provider, adapter = tw, tw
	default:
		// The log provider sends nothing, so it has no delivery reports
		// and a forged message costs nothing. Kannel's and Africa's
		// Talking's inbound routes stay, for trying lumbung out with curl
		// (README) and for tests; Twilio's, whose signature is its whole
		// point, does not.
		tryInbound = []sms.Adapter{kannel, at}
	}
	sender := sms.NewSender(sms.Sender{DB: a.db, Provider: provider, Render: menus.RenderSMS, Log: a.log, Metrics: metrics})
	inbox := &sms.Inbox{DB: a.db, Dir: a.dir, Answers: engine, Text: menus.SMSText, Sign: menus.SignSMS, Sealer: sealer, Log: a.log,
		Metrics: metrics, Queued: sender.Poke, ReplyCountries: a.cfg.SMSReplyCountries}
	a.sms = &smsParts{
		adapter:    adapter,
		tryInbound: tryInbound,
		inbox:      inbox,
		sender:     sender,
		reminders:  &sms.Reminders{Books: a.books, Log: a.log, Queued: sender.Poke},
		handler:    &sms.Handler{Inbox: inbox, DB: a.db, Log: a.log, Metrics: metrics},
	}
	return nil
}

// smsRoutes mounts the configured gateway's callbacks only; every other
// gateway's paths are 404.
func (a *app) smsRoutes(g *echo.Group) {
	if a.sms.adapter != nil {
		a.sms.handler.Register(g, a.sms.adapter)
	}
	a.sms.handler.RegisterInbound(g, a.sms.tryInbound...)
}

// Background job intervals.
const (
	senderWorkers    = 2
	resumeInterval   = 5 * time.Second
	reminderInterval = 15 * time.Minute
)

// runWorkers starts the SMS sender, the inbox's catch-up and the reminder
// job; the returned wait blocks until they stopped after ctx ended.
func (a *app) runWorkers(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	workers := a.senderWorkers
	if workers <= 0 {
		workers = senderWorkers
	}
	for range workers {
		wg.Go(func() { a.sms.sender.Run(ctx) })
	}
	wg.Go(func() { a.sms.inbox.RunResume(ctx, resumeInterval) })
	wg.Go(func() { a.sms.reminders.Run(ctx, reminderInterval) })
	wg.Go(func() { a.purgeAPIRequests(ctx, time.Hour) })
	return wg.Wait
}

// apiRequestRetention is how long the admin API keeps a POST's answer for
// its Idempotency-Key (CONTRACT §5.2: at least 24 hours). Past it the
// ledger's own keys still refuse to post the same money twice.
const apiRequestRetention = 48 * time.Hour

// purgeAPIRequests deletes kept API answers older than the retention,
// every interval, until ctx ends.
func (a *app) purgeAPIRequests(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := a.books.PurgeRequests(ctx, time.Now().Add(-apiRequestRetention))
		if err != nil && ctx.Err() == nil {
			a.log.Warn("purge kept admin API answers", "err", err)
		} else if n > 0 {
			a.log.Info("purged kept admin API answers", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// smsWarnings are start-up lines about SMS settings that are valid but
// probably not what the operator wants.
func smsWarnings(cfg config.Config) []string {
	var w []string
	if cfg.SMSProvider == config.SMSKannel && cfg.SMSFrom == "" {
		w = append(w, "LUMBUNG_SMS_FROM is unset: Kannel refuses every message unless the sendsms-user group has default-sender")
	}
	if cfg.SMSProvider == config.SMSKannel && cfg.PublicURL == "" {
		w = append(w, "LUMBUNG_PUBLIC_URL is unset: Kannel gets no dlr-url, so messages stay 'submitted' and never show 'delivered'")
	}
	return w
}
