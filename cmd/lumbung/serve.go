package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/lumbung-id/lumbung/api"
	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/service"
	"github.com/lumbung-id/lumbung/ussd"
)

// app is a wired lumbung: stores, engine and routes.
type app struct {
	cfg      config.Config
	log      *slog.Logger
	db       *ledger.DB
	sessions ussd.SessionStore
	limiter  ussd.RateLimiter
	redis    redis.UniversalClient // nil when the in-process store is used
	dir      *members.Directory
	callers  *members.CachedDirectory // dir with the first hop's caller look-up cached (the USSD engine's)
	books    *ledger.Ledger
	registry *prometheus.Registry
	engine   *menus.Engine
	sms      *smsParts
	echo     *echo.Echo
	watch    *backendWatch // is PostgreSQL or Redis down (/readyz, USSD hops)
	// historyKey binds USSD sessions to their inputs (ussd.Handler.HistoryKey);
	// derived from LUMBUNG_SECRET, so every instance has the same.
	historyKey []byte

	senderWorkers int // outbox senders in this process; 0 = senderWorkers
}

func openDB(ctx context.Context, cfg config.Config) (*ledger.DB, error) {
	if cfg.Postgres() {
		return ledger.OpenPostgres(ctx, postgresDSN(cfg.DatabaseURL))
	}
	return ledger.OpenSQLite(ctx, cfg.SQLitePath())
}

// secret returns LUMBUNG_SECRET or, in embedded mode, the one kept in the
// data dir (generated on first start).
func secret(cfg config.Config) ([]byte, error) {
	if cfg.Secret != "" {
		return []byte(cfg.Secret), nil
	}
	if cfg.Postgres() {
		return nil, errors.New("LUMBUNG_SECRET: required with PostgreSQL")
	}
	path := filepath.Join(cfg.DataDir, "secret")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= config.MinSecretLength {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(raw)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return []byte(s), nil
}

// openApp opens the stores named by cfg (running migrations first when
// migrate is set) and wires the app.
func openApp(ctx context.Context, cfg config.Config, log *slog.Logger, migrate bool) (*app, error) {
	key, err := secret(cfg)
	if err != nil {
		return nil, err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := db.Migrate(ctx, log); err != nil {
			db.Close()
			return nil, err
		}
	}
	var rc redis.UniversalClient
	var sessions ussd.SessionStore
	if cfg.RedisEnabled() {
		if rc, err = newRedisClient(cfg.RedisURL); err != nil {
			db.Close()
			return nil, fmt.Errorf("LUMBUNG_REDIS_URL: %w", err)
		}
		if err := rc.Ping(ctx).Err(); err != nil {
			rc.Close()
			db.Close()
			return nil, fmt.Errorf("connect to redis: %w", err)
		}
		sessions = ussd.NewRedisStore(rc, "lumbung:ussd:", holdTTL(cfg))
	} else {
		sessions = ussd.NewMemoryStore(holdTTL(cfg))
	}
	var limiter ussd.RateLimiter = ussd.NewMemoryRateLimiter()
	if rc != nil {
		limiter = ussd.NewRedisRateLimiter(rc, "lumbung:ussd:")
	}
	a, err := newApp(cfg, log, key, db, sessions, limiter)
	if err != nil {
		sessions.Close()
		if rc != nil {
			rc.Close()
		}
		db.Close()
		return nil, err
	}
	a.redis = rc
	return a, nil
}

// holdTTL bounds how long a crashed instance can hold a session: long
// enough for any hop to finish within its deadline, short enough that the
// member's next dial is not refused for long.
func holdTTL(cfg config.Config) time.Duration {
	return max(10*time.Second, 2*cfg.USSDHopDeadline)
}

// newApp wires an app over stores that are already open (tests pass their
// own throwaway databases).
func newApp(cfg config.Config, log *slog.Logger, key []byte, db *ledger.DB, sessions ussd.SessionStore, limiter ussd.RateLimiter) (*app, error) {
	dir, err := members.NewDirectory(db, key, nil)
	if err != nil {
		return nil, err
	}
	historyKey, err := ussd.NewHistoryKey(key)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, db: db, sessions: sessions, dir: dir, callers: members.CacheCallers(dir), books: ledger.New(db, nil),
		registry: prometheus.NewRegistry(), limiter: limiter, historyKey: historyKey}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if m, ok := sessions.(*ussd.MemoryStore); ok {
		a.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "lumbung_ussd_memory_sessions",
			Help: "USSD sessions held by the in-process session store (its cap refuses new ones beyond " + strconv.Itoa(m.MaxSessions) + ").",
		}, func() float64 { return float64(m.Len()) }))
	}
	a.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "lumbung_ussd_caller_cache_hits_total",
		Help: "First hops whose caller look-up was answered from memory (members.CachedDirectory; PostgreSQL only, while the change notices are heard).",
	}, func() float64 { hits, _ := a.callers.CallerCacheStats(); return float64(hits) }))
	a.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "lumbung_ussd_caller_cache_misses_total",
		Help: "First hops whose caller look-up read the database.",
	}, func() float64 { _, misses := a.callers.CallerCacheStats(); return float64(misses) }))
	a.watch = newBackendWatch(log, map[string]func(context.Context) error{"database": db.PingContext, "sessions": sessions.Ping})
	a.engine = menus.NewEngine(a.callers, waitForWrites{ledger.CacheSettings(a.books)}, a.log)
	if err := a.wireSMS(key, a.engine); err != nil {
		return nil, err
	}
	a.echo = a.routes()
	return a, nil
}

func (a *app) close() {
	if a.sessions != nil {
		a.sessions.Close()
	}
	if a.redis != nil {
		a.redis.Close()
	}
	a.db.Close()
}

func (a *app) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = a.httpError
	e.Use(a.recoverer, a.deadline(30*time.Second))

	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", a.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{})), metricsGuard(a.cfg.MetricsToken))

	h := &ussd.Handler{
		Engine:      a.engine,
		Sessions:    a.sessions,
		Metrics:     ussd.NewMetrics(a.registry),
		Log:         a.log,
		HopDeadline: a.cfg.USSDHopDeadline,
		Budget:      hopBudget(a.cfg.USSDHopDeadline, a.db.Dialect),
		Detach:      a.db.Dialect == ledger.Postgres, // lib/pq does not heed a context on a silent server
		Backends:    a.watch,
		Limiter:     a.limiter,
		RateLimit:   a.cfg.USSDRateLimit,
		HistoryKey:  a.historyKey,
	}
	h.Register(e.Group("/ussd", callbackGuard(a.cfg.CallbackToken, a.cfg.CallbackAllow, a.cfg.TrustedProxies)),
		ussd.AfricasTalking{}, ussd.Hubtel{}, ussd.Freeflow{})
	a.smsRoutes(e.Group("/sms", callbackGuard(a.cfg.CallbackToken, a.cfg.CallbackAllow, a.cfg.TrustedProxies)))
	a.apiServer().Register(e.Group("/api/v1"), a.registry)
	a.mountCounter(e)
	return e
}

// apiServer is the admin API over the service layer with every store.
func (a *app) apiServer() *api.Server {
	// The API's writes through a.callers drop this instance's cached callers at
	// once; other instances hear PostgreSQL's notices.
	svc := service.New(service.Deps{Directory: a.callers, Books: ledger.CacheSettings(a.books), Registry: a.callers, Finder: a.dir,
		Management: a.books, Records: a.books})
	return &api.Server{Service: svc, Tokens: a.dir, Requests: a.books, Log: a.log}
}

// ready reports whether the database and the session store answer, each
// probed at once and given readyTimeout: "ok", "unreachable" or "timeout".
// What it finds is what USSD hops go by until the next look.
func (a *app) ready(c echo.Context) error {
	// Not the request's context: a health checker that hangs up early
	// (haproxy's check timeout) would otherwise record an outage, and
	// every hop would get the polite END until the next look. Each probe
	// still has readyTimeout.
	errs := a.watch.look(context.WithoutCancel(c.Request().Context()))
	status := map[string]string{}
	code := http.StatusOK
	for name, err := range errs {
		status[name] = readiness(err)
		if err != nil {
			if !degraded(err) {
				code = http.StatusServiceUnavailable
			}
			a.log.Warn("readiness: "+name, "err", err)
		}
	}
	return c.JSON(code, status)
}

// deadline gives every request a context deadline; USSD hops get the
// tighter LUMBUNG_USSD_HOP_DEADLINE inside their handler.
func (a *app) deadline(d time.Duration) echo.MiddlewareFunc {
	// A USSD hop (not its end-of-session events) sets its own, shorter
	// deadline (LUMBUNG_USSD_HOP_DEADLINE): a second timer and a copy of the
	// request on every hop would buy nothing.
	ownDeadline := a.cfg.USSDHopDeadline > 0 && a.cfg.USSDHopDeadline <= d
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p := c.Request().URL.Path; ownDeadline && strings.HasPrefix(p, "/ussd/") && !strings.HasSuffix(p, "/events") {
				return next(c)
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// recoverer turns a panic outside the USSD handler (which has its own) into
// a plain 500 without a stack trace for the caller.
func (a *app) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("handler panicked", "path", c.Path(), "panic_type", fmt.Sprintf("%T", p))
				err = echo.NewHTTPError(http.StatusInternalServerError, "internal error")
			}
		}()
		return next(c)
	}
}

// httpError answers errors with a one-line reason; internal details go to
// the log only.
func (a *app) httpError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, "/api/") { // the admin API answers JSON, whatever failed
		a.log.Error("request failed", "path", c.Path(), "err", err)
		_ = api.WriteError(c, err)
		return
	}
	code, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		msg = fmt.Sprint(he.Message)
	} else {
		a.log.Error("request failed", "path", c.Path(), "err", err)
	}
	_ = c.String(code, msg+"\n")
}

// callbackGuard protects telco and SMS-gateway callbacks: the caller's
// address must be in LUMBUNG_CALLBACK_ALLOW (when set) and the request must
// carry ?token=LUMBUNG_CALLBACK_TOKEN (when set), compared in constant time.
// The caller is the connection's peer, or, when that peer is one of
// LUMBUNG_TRUSTED_PROXIES, the address that proxy put in X-Forwarded-For.
func callbackGuard(token string, allow, proxies []netip.Prefix) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if len(allow) > 0 {
				addr, ok := caller(c.Request(), proxies)
				if !ok || !allowed(addr, allow) {
					return echo.NewHTTPError(http.StatusForbidden, "source address not allowed")
				}
			}
			if token != "" {
				got := c.QueryParam("token")
				if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
					return echo.NewHTTPError(http.StatusForbidden, "missing or wrong callback token")
				}
			}
			return next(c)
		}
	}
}

// caller is the address a request came from: the peer, unless the peer is
// a trusted proxy; then the right-most address of X-Forwarded-For that is
// not a trusted proxy itself (the left part a client may have forged).
func caller(r *http.Request, proxies []netip.Prefix) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	addr = addr.Unmap()
	if !allowed(addr, proxies) {
		return addr, true
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		a, err := netip.ParseAddr(h)
		if err != nil {
			return netip.Addr{}, false // a proxy we trust wrote nonsense: believe nothing
		}
		if a = a.Unmap(); !allowed(a, proxies) {
			return a, true
		}
	}
	return addr, true // only proxies: the request came from one of them
}

// metricsGuard keeps /metrics to Prometheus: with LUMBUNG_METRICS_TOKEN set
// the request must carry it as a bearer token; unset, only this machine
// (loopback) may read them.
func metricsGuard(token string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token != "" {
				got, _ := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
				if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
					return echo.NewHTTPError(http.StatusUnauthorized, "metrics need Authorization: Bearer LUMBUNG_METRICS_TOKEN")
				}
				return next(c)
			}
			if addr, ok := caller(c.Request(), nil); !ok || !addr.IsLoopback() {
				return echo.NewHTTPError(http.StatusForbidden, "metrics are served to this machine only; set LUMBUNG_METRICS_TOKEN to scrape from elsewhere")
			}
			return next(c)
		}
	}
}

// openCallbacks refuses to serve production with callbacks anyone can
// call, unless the operator said LUMBUNG_INSECURE_CALLBACKS=on.
func openCallbacks(cfg config.Config, log *slog.Logger) error {
	if !cfg.Postgres() || !cfg.CallbacksOpen() {
		return nil
	}
	if !cfg.InsecureCallbacks {
		return errors.New("LUMBUNG_CALLBACK_TOKEN: with PostgreSQL (production) set LUMBUNG_CALLBACK_TOKEN (32+ characters, given to the telcos as ?token=…) or LUMBUNG_CALLBACK_ALLOW (their addresses); LUMBUNG_INSECURE_CALLBACKS=on starts anyway")
	}
	log.Warn("INSECURE: USSD and SMS callbacks accept anyone on the network (no LUMBUNG_CALLBACK_TOKEN, no LUMBUNG_CALLBACK_ALLOW): anyone can dial as any member's phone")
	return nil
}

func allowed(addr netip.Addr, allow []netip.Prefix) bool {
	for _, p := range allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "config file with LUMBUNG_* keys")
	noMigrate := fs.Bool("no-migrate", false, "do not apply migrations on start")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	if err := openCallbacks(cfg, log); err != nil {
		return err
	}
	log.Info("starting lumbung", "config", cfg)
	a, err := openApp(ctx, cfg, log, !*noMigrate)
	if err != nil {
		return err
	}
	defer a.close()
	for _, w := range smsWarnings(cfg) {
		log.Warn(w)
	}
	if err := a.maybeSeedDemo(ctx, stdout); err != nil {
		return err
	}

	srv := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           a.echo,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      35 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("LUMBUNG_HTTP_ADDR: listen on %s: %w", cfg.HTTPAddr, err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "database", string(a.db.Dialect), "sessions", map[bool]string{true: "redis", false: "in-process"}[a.redis != nil])
	workCtx, stopWork := context.WithCancel(ctx)
	waitWorkers := a.runWorkers(workCtx)
	listened := make(chan struct{})
	go func() { // cached service codes and callers follow every change on any instance
		defer close(listened)
		if err := a.callers.Listen(workCtx, postgresDSN(cfg.DatabaseURL), log); err != nil {
			log.Warn("cached service codes follow admin commands only after their TTL; callers are not cached", "err", err, "ttl", members.CodeCacheTTL)
		}
	}()
	defer func() { stopWork(); waitWorkers(); <-listened }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
