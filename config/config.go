// Package config holds lumbung's configuration: one Config struct, its
// defaults, loading from an optional KEY=VALUE file and the environment, and
// validation. It imports nothing internal.
//
// Every bad or missing value is reported as a single-line error that starts
// with the variable name and says what is wrong, for example
//
//	LUMBUNG_USSD_HOP_DEADLINE: "abc" is not a duration (e.g. 5s)
//
// Problems with the file itself start with "config file".
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DemoMode says whether lumbung seeds a demo cooperative at start-up.
type DemoMode int

const (
	// DemoAuto (LUMBUNG_DEMO unset) leaves the decision to the caller: demo
	// data is seeded when the database is embedded and empty.
	DemoAuto DemoMode = iota
	// DemoOn always seeds the demo data (if it is not there yet).
	DemoOn
	// DemoOff never seeds demo data.
	DemoOff
)

// String returns "auto", "on" or "off".
func (d DemoMode) String() string {
	switch d {
	case DemoOn:
		return "on"
	case DemoOff:
		return "off"
	default:
		return "auto"
	}
}

// SMSProvider names the outbound SMS gateway.
type SMSProvider string

// The SMS providers LUMBUNG_SMS_PROVIDER accepts.
const (
	SMSLog            SMSProvider = "log"
	SMSKannel         SMSProvider = "kannel"
	SMSAfricasTalking SMSProvider = "africastalking"
	SMSTwilio         SMSProvider = "twilio"
)

// Default values for settings that have one.
const (
	DefaultHTTPAddr        = ":8080"
	DefaultDataDir         = "./lumbung-data"
	DefaultUSSDHopDeadline = 5 * time.Second
	DefaultUSSDRateLimit   = 30
	DefaultSMSProvider     = SMSLog
	DefaultATBaseURL       = "https://api.africastalking.com"
	DefaultTwilioBaseURL   = "https://api.twilio.com"
	// DefaultSMSReplyCountries is LUMBUNG_SMS_REPLY_COUNTRIES' default:
	// replies go to Indonesian numbers only.
	DefaultSMSReplyCountries = "62"

	// MinSecretLength is the shortest LUMBUNG_SECRET accepted, in characters.
	MinSecretLength = 32
	// MinTokenLength is the shortest LUMBUNG_CALLBACK_TOKEN and
	// LUMBUNG_METRICS_TOKEN accepted: a token in a URL is guessed offline.
	MinTokenLength = 32
	// EmbeddedHTTPAddr is where the embedded (demo) mode listens unless
	// LUMBUNG_HTTP_ADDR says otherwise: this machine only.
	EmbeddedHTTPAddr = "127.0.0.1:8080"
	// MaxUSSDHopDeadline is the longest LUMBUNG_USSD_HOP_DEADLINE accepted.
	MaxUSSDHopDeadline = 60 * time.Second
)

// Config is lumbung's whole configuration. Load fills it; nothing else in
// lumbung reads the environment. It is passed explicitly, never kept in a
// package-level variable.
//
// Config's String, GoString and LogValue methods redact secrets, so printing
// or logging a Config is safe.
type Config struct {
	HTTPAddr    string // LUMBUNG_HTTP_ADDR, host:port
	DatabaseURL string // LUMBUNG_DATABASE_URL, postgres://… or "" for embedded SQLite
	RedisURL    string // LUMBUNG_REDIS_URL, redis://…, redis+cluster://…, redis+sentinel://… (see ParseRedisURL) or "" for the in-process session store
	DataDir     string // LUMBUNG_DATA_DIR
	Secret      string // LUMBUNG_SECRET, "" means generate one in DataDir (embedded only)
	Demo        DemoMode

	CallbackToken string         // LUMBUNG_CALLBACK_TOKEN, "" means no token check
	CallbackAllow []netip.Prefix // LUMBUNG_CALLBACK_ALLOW, nil means every address

	USSDHopDeadline time.Duration // LUMBUNG_USSD_HOP_DEADLINE
	USSDRateLimit   int           // LUMBUNG_USSD_RATE_LIMIT, hops per phone per minute; 0 = off

	SMSProvider SMSProvider // LUMBUNG_SMS_PROVIDER
	SMSFrom     string      // LUMBUNG_SMS_FROM

	KannelSendSMSURL string // LUMBUNG_KANNEL_SENDSMS_URL
	KannelUsername   string // LUMBUNG_KANNEL_USERNAME
	KannelPassword   string // LUMBUNG_KANNEL_PASSWORD

	ATUsername string // LUMBUNG_AT_USERNAME
	ATAPIKey   string // LUMBUNG_AT_API_KEY
	ATBaseURL  string // LUMBUNG_AT_BASE_URL, without a trailing slash

	TwilioAccountSID string // LUMBUNG_TWILIO_ACCOUNT_SID
	TwilioAuthToken  string // LUMBUNG_TWILIO_AUTH_TOKEN
	TwilioBaseURL    string // LUMBUNG_TWILIO_BASE_URL, without a trailing slash

	PublicURL string // LUMBUNG_PUBLIC_URL, without a trailing slash

	// Beyond CONTRACT §1: the safe defaults of the security review.
	TrustedProxies    []netip.Prefix // LUMBUNG_TRUSTED_PROXIES: X-Forwarded-For is believed only from these
	InsecureCallbacks bool           // LUMBUNG_INSECURE_CALLBACKS: serve on PostgreSQL with open callbacks anyway
	MetricsToken      string         // LUMBUNG_METRICS_TOKEN: /metrics needs "Authorization: Bearer" it; unset: loopback only
	// SMSReplyCountries is LUMBUNG_SMS_REPLY_COUNTRIES: the country calling
	// codes ("62") whose numbers get SMS replies; nil means any number.
	SMSReplyCountries []string
}

// Embedded reports whether lumbung uses its embedded SQLite database
// (LUMBUNG_DATABASE_URL unset).
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// Postgres reports whether lumbung uses PostgreSQL.
func (c Config) Postgres() bool { return c.DatabaseURL != "" }

// RedisEnabled reports whether sessions are kept in Redis rather than in
// process.
func (c Config) RedisEnabled() bool { return c.RedisURL != "" }

// SQLitePath is the embedded database file, DataDir/lumbung.db.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "lumbung.db") }

// Var describes one configuration variable for README and --help output.
type Var struct {
	Name    string // e.g. LUMBUNG_HTTP_ADDR
	Default string // the default, or a description of it; "" when there is none
	Meaning string
}

// Vars lists every configuration variable, in the order of the README table.
// Load reads exactly these names.
func Vars() []Var {
	s := settings()
	vars := make([]Var, len(s))
	for i, st := range s {
		vars[i] = Var{Name: st.name, Default: st.def, Meaning: st.meaning}
	}
	return vars
}

// setting is one variable: its documentation, how to parse it into a Config,
// when it is required, and how to show it in logs.
type setting struct {
	name    string
	def     string
	meaning string
	// secret settings are shown as *** when set.
	secret bool
	// parse stores a non-empty, trimmed value; it returns what is wrong
	// without the variable name.
	parse func(c *Config, v string) error
	// require, if not nil, is called when the variable is unset and returns
	// why it is needed, or "" when it is not.
	require func(c *Config) string
	// show returns the value for logs; for secret settings it returns the
	// raw value and callers mask it.
	show func(c Config) string
}

func settings() []setting {
	return []setting{
		{
			name: "LUMBUNG_HTTP_ADDR", def: DefaultHTTPAddr + " (" + EmbeddedHTTPAddr + " when embedded)", meaning: "listen address",
			parse: func(c *Config, v string) error {
				if err := checkListenAddr(v); err != nil {
					return err
				}
				c.HTTPAddr = v
				return nil
			},
			show: func(c Config) string { return c.HTTPAddr },
		},
		{
			name: "LUMBUNG_DATABASE_URL", def: "embedded SQLite file in LUMBUNG_DATA_DIR",
			meaning: "postgres://… selects PostgreSQL (production)",
			parse: func(c *Config, v string) error {
				if err := checkPostgresURL(v); err != nil {
					return err
				}
				c.DatabaseURL = v
				return nil
			},
			show: func(c Config) string { return redactURL(c.DatabaseURL, false) },
		},
		{
			name: "LUMBUNG_REDIS_URL", def: "embedded in-process session store",
			meaning: "redis://host:port/db selects Redis (production; required for more than one instance); redis+cluster://h1:p1,h2:p2,… a Redis Cluster; redis+sentinel://s1:p1,s2:p2,…/db?master_name=NAME Sentinel; rediss… for TLS",
			parse: func(c *Config, v string) error {
				if err := checkRedisURL(v); err != nil {
					return err
				}
				c.RedisURL = v
				return nil
			},
			show: func(c Config) string { return redactURL(c.RedisURL, true) },
		},
		{
			name: "LUMBUNG_DATA_DIR", def: DefaultDataDir, meaning: "embedded database and generated secret",
			parse: func(c *Config, v string) error {
				if strings.ContainsRune(v, 0) {
					return errors.New("contains a NUL byte")
				}
				c.DataDir = v
				return nil
			},
			show: func(c Config) string { return c.DataDir },
		},
		{
			name: "LUMBUNG_SECRET", def: "generated into the data dir (embedded mode only)",
			meaning: "key for PIN hashing and cookies; required with PostgreSQL",
			secret:  true,
			parse: func(c *Config, v string) error {
				if n := utf8.RuneCountInString(v); n < MinSecretLength {
					return fmt.Errorf("too short (%d characters, need at least %d); generate one with: openssl rand -hex 32", n, MinSecretLength)
				}
				c.Secret = v
				return nil
			},
			show: func(c Config) string { return c.Secret },
			require: func(c *Config) string {
				if c.Postgres() {
					return "required with PostgreSQL (PIN hashes and cookies must survive restarts and be shared by every instance); generate one with: openssl rand -hex 32"
				}
				return ""
			},
		},
		{
			name: "LUMBUNG_DEMO", def: "on when embedded and the database is empty, else off",
			meaning: "seeds a demo cooperative, members and staff, and prints how to try them",
			parse: func(c *Config, v string) error {
				switch strings.ToLower(v) {
				case "1", "true", "on", "yes":
					c.Demo = DemoOn
				case "0", "false", "off", "no":
					c.Demo = DemoOff
				case "auto":
					c.Demo = DemoAuto
				default:
					return fmt.Errorf("%q is not on or off (use 1/0, true/false, on/off or yes/no)", v)
				}
				return nil
			},
			show: func(c Config) string { return c.Demo.String() },
		},
		{
			name: "LUMBUNG_CALLBACK_TOKEN", def: "unset",
			meaning: "when set, every telco/SMS callback must carry ?token=… or gets 403",
			secret:  true,
			parse: func(c *Config, v string) error {
				if err := checkToken(v); err != nil {
					return err
				}
				c.CallbackToken = v
				return nil
			},
			show: func(c Config) string { return c.CallbackToken },
		},
		{
			name: "LUMBUNG_CALLBACK_ALLOW", def: "unset (all)",
			meaning: "comma-separated CIDRs (or single IPs) allowed to call callbacks",
			parse: func(c *Config, v string) error {
				p, err := parseAllow(v)
				if err != nil {
					return err
				}
				c.CallbackAllow = p
				return nil
			},
			show: func(c Config) string {
				s := make([]string, len(c.CallbackAllow))
				for i, p := range c.CallbackAllow {
					s[i] = p.String()
				}
				return strings.Join(s, ",")
			},
		},
		{
			name: "LUMBUNG_USSD_HOP_DEADLINE", def: DefaultUSSDHopDeadline.String(),
			meaning: "every USSD hop is answered within this",
			parse: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil {
					return fmt.Errorf("%q is not a duration (e.g. 5s)", v)
				}
				if d <= 0 {
					return fmt.Errorf("%q must be more than 0 (e.g. 5s)", v)
				}
				if d > MaxUSSDHopDeadline {
					return fmt.Errorf("%q is too long; telcos drop a USSD hop long before %s (e.g. 5s)", v, MaxUSSDHopDeadline)
				}
				c.USSDHopDeadline = d
				return nil
			},
			show: func(c Config) string { return c.USSDHopDeadline.String() },
		},
		{
			name: "LUMBUNG_USSD_RATE_LIMIT", def: strconv.Itoa(DefaultUSSDRateLimit),
			meaning: "USSD hops allowed per phone per minute; 0 turns the limit off",
			parse: func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil {
					return fmt.Errorf("%q is not a whole number (hops per phone per minute; 0 turns the limit off)", v)
				}
				if n < 0 {
					return fmt.Errorf("%q is negative (hops per phone per minute; 0 turns the limit off)", v)
				}
				c.USSDRateLimit = n
				return nil
			},
			show: func(c Config) string { return strconv.Itoa(c.USSDRateLimit) },
		},
		{
			name: "LUMBUNG_SMS_PROVIDER", def: string(DefaultSMSProvider),
			meaning: "log, kannel, africastalking or twilio",
			parse: func(c *Config, v string) error {
				switch p := SMSProvider(strings.ToLower(v)); p {
				case SMSLog, SMSKannel, SMSAfricasTalking, SMSTwilio:
					c.SMSProvider = p
					return nil
				}
				return fmt.Errorf("%q is not a provider (use log, kannel, africastalking or twilio)", v)
			},
			show: func(c Config) string { return string(c.SMSProvider) },
		},
		{
			name: "LUMBUNG_SMS_FROM", def: "unset", meaning: "sender id / short code",
			parse: func(c *Config, v string) error {
				c.SMSFrom = v
				return nil
			},
			show: func(c Config) string { return c.SMSFrom },
		},
		{
			name: "LUMBUNG_KANNEL_SENDSMS_URL", meaning: "Kannel sendsms URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms",
			parse: func(c *Config, v string) error {
				u, err := checkHTTPURL(v, "http://127.0.0.1:13013/cgi-bin/sendsms", true)
				if err != nil {
					return err
				}
				c.KannelSendSMSURL = u
				return nil
			},
			require: requiredFor(SMSKannel),
			show:    func(c Config) string { return redactURL(c.KannelSendSMSURL, false) },
		},
		{
			name: "LUMBUNG_KANNEL_USERNAME", meaning: "Kannel sendsms username",
			parse: func(c *Config, v string) error {
				c.KannelUsername = v
				return nil
			},
			require: requiredFor(SMSKannel),
			show:    func(c Config) string { return c.KannelUsername },
		},
		{
			name: "LUMBUNG_KANNEL_PASSWORD", meaning: "Kannel sendsms password",
			secret: true,
			parse: func(c *Config, v string) error {
				c.KannelPassword = v
				return nil
			},
			show:    func(c Config) string { return c.KannelPassword },
			require: requiredFor(SMSKannel),
		},
		{
			name: "LUMBUNG_AT_USERNAME", meaning: "Africa's Talking username",
			parse: func(c *Config, v string) error {
				c.ATUsername = v
				return nil
			},
			require: requiredFor(SMSAfricasTalking),
			show:    func(c Config) string { return c.ATUsername },
		},
		{
			name: "LUMBUNG_AT_API_KEY", meaning: "Africa's Talking API key",
			secret: true,
			parse: func(c *Config, v string) error {
				c.ATAPIKey = v
				return nil
			},
			show:    func(c Config) string { return c.ATAPIKey },
			require: requiredFor(SMSAfricasTalking),
		},
		{
			name: "LUMBUNG_AT_BASE_URL", def: DefaultATBaseURL, meaning: "Africa's Talking API base URL",
			parse: func(c *Config, v string) error {
				u, err := checkHTTPURL(v, DefaultATBaseURL, false)
				if err != nil {
					return err
				}
				c.ATBaseURL = u
				return nil
			},
			show: func(c Config) string { return redactURL(c.ATBaseURL, false) },
		},
		{
			name: "LUMBUNG_TWILIO_ACCOUNT_SID", meaning: "Twilio account SID",
			parse: func(c *Config, v string) error {
				c.TwilioAccountSID = v
				return nil
			},
			require: requiredFor(SMSTwilio),
			show:    func(c Config) string { return c.TwilioAccountSID },
		},
		{
			name: "LUMBUNG_TWILIO_AUTH_TOKEN", meaning: "Twilio auth token (also checks inbound signatures)",
			secret: true,
			parse: func(c *Config, v string) error {
				c.TwilioAuthToken = v
				return nil
			},
			show:    func(c Config) string { return c.TwilioAuthToken },
			require: requiredFor(SMSTwilio),
		},
		{
			name: "LUMBUNG_TWILIO_BASE_URL", def: DefaultTwilioBaseURL, meaning: "Twilio API base URL",
			parse: func(c *Config, v string) error {
				u, err := checkHTTPURL(v, DefaultTwilioBaseURL, false)
				if err != nil {
					return err
				}
				c.TwilioBaseURL = u
				return nil
			},
			show: func(c Config) string { return redactURL(c.TwilioBaseURL, false) },
		},
		{
			name: "LUMBUNG_PUBLIC_URL", meaning: "public base URL (Twilio signatures, delivery-report URLs)",
			parse: func(c *Config, v string) error {
				u, err := checkHTTPURL(v, "https://lumbung.example.org", false)
				if err != nil {
					return err
				}
				c.PublicURL = u
				return nil
			},
			require: func(c *Config) string {
				if c.SMSProvider == SMSTwilio {
					return "required when LUMBUNG_SMS_PROVIDER=twilio (Twilio request signatures are computed over the public URL), e.g. https://lumbung.example.org"
				}
				return ""
			},
			show: func(c Config) string { return redactURL(c.PublicURL, false) },
		},
		{
			name: "LUMBUNG_TRUSTED_PROXIES", def: "unset (none)",
			meaning: "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the caller for LUMBUNG_CALLBACK_ALLOW",
			parse: func(c *Config, v string) error {
				p, err := parseAllow(v)
				if err != nil {
					return err
				}
				c.TrustedProxies = p
				return nil
			},
			show: func(c Config) string { return prefixes(c.TrustedProxies) },
		},
		{
			name: "LUMBUNG_INSECURE_CALLBACKS", def: "off",
			meaning: "on: serve with PostgreSQL although neither LUMBUNG_CALLBACK_TOKEN nor LUMBUNG_CALLBACK_ALLOW is set (warns)",
			parse: func(c *Config, v string) error {
				on, err := parseOnOff(v)
				c.InsecureCallbacks = on
				return err
			},
			show: func(c Config) string { return map[bool]string{true: "on", false: "off"}[c.InsecureCallbacks] },
		},
		{
			name: "LUMBUNG_METRICS_TOKEN", def: "unset (loopback only)",
			meaning: "when set, /metrics needs Authorization: Bearer <token>; unset, /metrics answers only this machine",
			secret:  true,
			parse: func(c *Config, v string) error {
				if err := checkToken(v); err != nil {
					return err
				}
				c.MetricsToken = v
				return nil
			},
			show: func(c Config) string { return c.MetricsToken },
		},
		{
			name: "LUMBUNG_SMS_REPLY_COUNTRIES", def: DefaultSMSReplyCountries,
			meaning: "comma-separated country calling codes whose numbers get SMS replies; * for any",
			parse: func(c *Config, v string) error {
				cc, err := parseCountries(v)
				if err != nil {
					return err
				}
				c.SMSReplyCountries = cc
				return nil
			},
			show: func(c Config) string {
				if c.SMSReplyCountries == nil {
					return "*"
				}
				return strings.Join(c.SMSReplyCountries, ",")
			},
		},
	}
}

// checkToken refuses a token shorter than MinTokenLength.
func checkToken(v string) error {
	if n := len([]rune(v)); n < MinTokenLength {
		return fmt.Errorf("is %d characters; use at least %d (e.g. the output of: openssl rand -hex 24)", n, MinTokenLength)
	}
	return nil
}

func parseOnOff(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "on", "yes":
		return true, nil
	case "0", "false", "off", "no":
		return false, nil
	}
	return false, fmt.Errorf("%q: use on or off", v)
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// CallbacksOpen reports whether anyone on the network may call the telco
// and SMS callbacks: no token and no allow-list.
func (c Config) CallbacksOpen() bool { return c.CallbackToken == "" && len(c.CallbackAllow) == 0 }

// parseCountries reads LUMBUNG_SMS_REPLY_COUNTRIES: "*" alone (nil: any
// number), or country calling codes of 1 to 3 digits, with or without "+".
func parseCountries(v string) ([]string, error) {
	if strings.TrimSpace(v) == "*" {
		return nil, nil
	}
	var cc []string
	for _, part := range strings.Split(v, ",") {
		code := strings.TrimPrefix(strings.TrimSpace(part), "+")
		if code == "*" {
			return nil, errors.New(`"*" must stand alone (any number), not in a list`)
		}
		if code == "" || len(code) > 3 || strings.Trim(code, "0123456789") != "" || code[0] == '0' {
			return nil, fmt.Errorf("%q is not a country calling code (1 to 3 digits, e.g. 62; or * for any)", strings.TrimSpace(part))
		}
		if !slices.Contains(cc, code) {
			cc = append(cc, code)
		}
	}
	return cc, nil
}

func requiredFor(p SMSProvider) func(c *Config) string {
	return func(c *Config) string {
		if c.SMSProvider == p {
			return "required when LUMBUNG_SMS_PROVIDER=" + string(p)
		}
		return ""
	}
}

func defaults() Config {
	return Config{
		HTTPAddr:          DefaultHTTPAddr,
		DataDir:           DefaultDataDir,
		Demo:              DemoAuto,
		USSDHopDeadline:   DefaultUSSDHopDeadline,
		USSDRateLimit:     DefaultUSSDRateLimit,
		SMSProvider:       DefaultSMSProvider,
		SMSReplyCountries: []string{DefaultSMSReplyCountries},
		ATBaseURL:         DefaultATBaseURL,
		TwilioBaseURL:     DefaultTwilioBaseURL,
	}
}

// fileValue is a value read from the config file and the line it was on.
type fileValue struct {
	value string
	line  int
}

// Load builds the configuration. It reads file first when file is not ""
// (KEY=VALUE lines, see below); then any value lookup returns for a variable
// overrides the file. Pass os.LookupEnv in production. A nil lookup means no
// environment. A value that is empty (after trimming spaces) counts as unset.
//
// The file holds one KEY=VALUE per line; blank lines and lines starting with
// # are ignored, an optional "export " prefix is allowed, and the value may
// be wrapped in matching single or double quotes (no escapes are processed;
// a # after a value is part of the value). Keys must be LUMBUNG_ variables
// from Vars, each at most once.
//
// Validation stops at the first problem, checking variables in the order of
// Vars; the error is one line naming the variable (or the config file).
func Load(lookup func(string) (string, bool), file string) (Config, error) {
	known := settings()
	var fromFile map[string]fileValue
	if file != "" {
		names := make(map[string]bool, len(known))
		for _, s := range known {
			names[s.name] = true
		}
		var err error
		fromFile, err = readFile(file, names)
		if err != nil {
			return Config{}, err
		}
	}

	c := defaults()
	set := map[string]bool{}
	for _, s := range known {
		v, where := "", ""
		if fv, ok := fromFile[s.name]; ok {
			v, where = fv.value, fmt.Sprintf(" (config file %q line %d)", file, fv.line)
		}
		if lookup != nil {
			if ev, ok := lookup(s.name); ok && strings.TrimSpace(ev) != "" {
				v, where = strings.TrimSpace(ev), ""
			}
		}
		if v == "" {
			if s.require != nil {
				if why := s.require(&c); why != "" {
					return Config{}, fmt.Errorf("%s: %s", s.name, why)
				}
			}
			continue
		}
		if err := s.parse(&c, v); err != nil {
			return Config{}, fmt.Errorf("%s: %v%s", s.name, err, where)
		}
		set[s.name] = true
	}
	if !set["LUMBUNG_HTTP_ADDR"] && c.Embedded() {
		c.HTTPAddr = EmbeddedHTTPAddr // the demo is for this machine until told otherwise
	}
	return c, nil
}

func readFile(file string, known map[string]bool) (map[string]fileValue, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("config file %q: %v", file, err)
	}
	text := strings.TrimPrefix(string(data), "\uFEFF")
	values := make(map[string]fileValue)
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			line = strings.TrimSpace(rest)
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return nil, fmt.Errorf("config file %q line %d: expected KEY=VALUE", file, n)
		}
		if !strings.HasPrefix(key, "LUMBUNG_") {
			return nil, fmt.Errorf("config file %q line %d: %q is not a lumbung setting (names start with LUMBUNG_)", file, n, key)
		}
		if !known[key] {
			msg := fmt.Sprintf("config file %q line %d: unknown setting %q", file, n, key)
			if s := suggest(key, known); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			return nil, errors.New(msg)
		}
		if prev, dup := values[key]; dup {
			return nil, fmt.Errorf("config file %q line %d: %s is already set on line %d", file, n, key, prev.line)
		}
		if value != "" && (value[0] == '"' || value[0] == '\'') {
			if len(value) < 2 || value[len(value)-1] != value[0] {
				return nil, fmt.Errorf("config file %q line %d: %s: missing closing %c quote", file, n, key, value[0])
			}
			value = strings.TrimSpace(value[1 : len(value)-1])
		}
		values[key] = fileValue{value: value, line: n}
	}
	return values, nil
}

// suggest returns the known name closest to key when it is a likely typo.
func suggest(key string, known map[string]bool) string {
	best, bestDist := "", 3
	for name := range known {
		d := editDistance(key, name)
		if d < bestDist || (d == bestDist && best != "" && name < best) {
			best, bestDist = name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func checkListenAddr(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port number (e.g. :8080 or 127.0.0.1:8080)", v)
	}
	return nil
}

func checkPostgresURL(v string) error {
	lower := strings.ToLower(v)
	for _, p := range []string{"sqlite:", "sqlite3:", "file:"} {
		if strings.HasPrefix(lower, p) {
			return errors.New("SQLite URLs are not accepted; leave it unset to use the embedded SQLite database in LUMBUNG_DATA_DIR")
		}
	}
	if !strings.HasPrefix(lower, "postgres://") && !strings.HasPrefix(lower, "postgresql://") {
		return errors.New("must start with postgres:// or postgresql:// (e.g. postgres://lumbung:PASSWORD@localhost:5432/lumbung); leave it unset for the embedded SQLite database")
	}
	if _, err := url.Parse(v); err != nil {
		// url's error repeats the URL, password included: do not show it.
		return errors.New("is not a valid URL (percent-encode special characters in the password, e.g. / as %2F, # as %23)")
	}
	return nil
}

func checkRedisURL(v string) error {
	_, err := ParseRedisURL(v)
	return err
}

// checkHTTPURL checks that v is an absolute http(s) URL and returns it
// normalised: base URLs (withQuery false) lose a trailing slash and may not
// carry a query or fragment.
func checkHTTPURL(v, example string, withQuery bool) (string, error) {
	u, err := url.Parse(v)
	if err != nil {
		return "", fmt.Errorf("is not a valid URL (e.g. %s)", example)
	}
	shown := redactURL(v, false)
	if s := strings.ToLower(u.Scheme); (s != "http" && s != "https") || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL (e.g. %s)", shown, example)
	}
	if u.Fragment != "" || strings.Contains(v, "#") {
		return "", fmt.Errorf("%q must not contain a #fragment (e.g. %s)", shown, example)
	}
	if withQuery {
		return v, nil
	}
	if u.RawQuery != "" || u.ForceQuery {
		return "", fmt.Errorf("%q must not contain a ?query (e.g. %s)", shown, example)
	}
	return strings.TrimRight(v, "/"), nil
}

func parseAllow(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR or IP address (e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)", part)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or IP address (e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)", part)
		}
		a = a.WithZone("").Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(out) == 0 {
		return nil, errors.New("lists no CIDR or IP address (leave it unset to allow every address)")
	}
	return out, nil
}

// redactURL returns raw with any password masked as ***. With userIsSecret,
// a user name without a password is masked too (Redis treats it as the
// password). A value that does not parse is masked entirely.
func redactURL(raw string, userIsSecret bool) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "***"
	}
	// url escapes *, so mask with a plain marker and swap it afterwards.
	const marker = "lumbungREDACTEDmarker"
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), marker)
		} else if userIsSecret && u.User.Username() != "" {
			u.User = url.User(marker)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			switch strings.ToLower(k) {
			case "password", "sslpassword", "token", "secret", "auth", "apikey", "api_key", "key":
				q[k] = []string{marker}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return strings.ReplaceAll(u.String(), marker, "***")
}

// Redacted returns every variable's effective value, keyed by name, for
// start-up logs. Secrets (LUMBUNG_SECRET, LUMBUNG_CALLBACK_TOKEN, passwords,
// API keys, auth tokens) are "***" when set and "" when not; passwords inside
// URLs are replaced by ***.
func (c Config) Redacted() map[string]string {
	m := make(map[string]string)
	for _, s := range settings() {
		m[s.name] = c.shown(s)
	}
	return m
}

func (c Config) shown(s setting) string {
	v := s.show(c)
	if s.secret && v != "" {
		return "***"
	}
	return v
}

// String renders the configuration as NAME=value pairs in the order of Vars,
// with secrets redacted.
func (c Config) String() string {
	var b strings.Builder
	for i, s := range settings() {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := c.shown(s)
		if v == "" || strings.ContainsAny(v, " \"=\\") || !strconv.CanBackquote(v) {
			v = strconv.Quote(v)
		}
		b.WriteString(s.name)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

// LogValue makes slog log the redacted configuration as a group.
func (c Config) LogValue() slog.Value {
	s := settings()
	attrs := make([]slog.Attr, len(s))
	for i, st := range s {
		attrs[i] = slog.String(st.name, c.shown(st))
	}
	return slog.GroupValue(attrs...)
}
