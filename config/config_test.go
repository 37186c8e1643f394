package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testSecret    = "s3cr3t-0123456789abcdef0123456789abcdef"
	testDBPass    = "dbPa55word"
	testRedisPass = "r3disPa55"
)

// env returns a lookup over the given NAME, value pairs.
func env(kv ...string) func(string) (string, bool) {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeFile writes a config file into a temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lumbung.env")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// requireOneLine checks the shape every configuration error must have.
func requireOneLine(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	msg := err.Error()
	assert.NotContains(t, msg, "\n")
	assert.NotContains(t, msg, "\r")
	assert.True(t, strings.HasPrefix(msg, "LUMBUNG_") || strings.HasPrefix(msg, "config file"),
		"error %q starts with neither LUMBUNG_ nor config file", msg)
}

func TestLoadDefaults(t *testing.T) {
	for name, lookup := range map[string]func(string) (string, bool){
		"nil lookup":     nil,
		"empty env":      env(),
		"empty values":   env("LUMBUNG_HTTP_ADDR", "", "LUMBUNG_USSD_RATE_LIMIT", "", "LUMBUNG_SMS_PROVIDER", "  "),
		"unrelated vars": env("HOME", "/root", "LUMBUNG", "x"),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(lookup, "")
			require.NoError(t, err)
			assert.Equal(t, Config{
				HTTPAddr:          "127.0.0.1:8080", // embedded: this machine only, until told otherwise
				DataDir:           "./lumbung-data",
				Demo:              DemoAuto,
				USSDHopDeadline:   5 * time.Second,
				USSDRateLimit:     30,
				SMSProvider:       SMSLog,
				ATBaseURL:         "https://api.africastalking.com",
				TwilioBaseURL:     "https://api.twilio.com",
				SMSReplyCountries: []string{"62"},
			}, c)
			assert.True(t, c.Embedded())
			assert.False(t, c.Postgres())
			assert.False(t, c.RedisEnabled())
			assert.Equal(t, filepath.Join("lumbung-data", "lumbung.db"), c.SQLitePath())
			assert.Nil(t, c.CallbackAllow)
		})
	}
}

func TestDefaultsMatchVars(t *testing.T) {
	c, err := Load(env(), "")
	require.NoError(t, err)
	shown := c.Redacted()
	// Variables whose documented default is a literal value.
	literal := []string{
		"LUMBUNG_DATA_DIR", "LUMBUNG_USSD_HOP_DEADLINE",
		"LUMBUNG_USSD_RATE_LIMIT", "LUMBUNG_SMS_PROVIDER", "LUMBUNG_AT_BASE_URL",
		"LUMBUNG_TWILIO_BASE_URL", "LUMBUNG_SMS_REPLY_COUNTRIES",
	}
	vars := map[string]Var{}
	for _, v := range Vars() {
		vars[v.Name] = v
	}
	for _, name := range literal {
		assert.Equal(t, vars[name].Default, shown[name], name)
	}
	assert.Equal(t, EmbeddedHTTPAddr, shown["LUMBUNG_HTTP_ADDR"])
	assert.Contains(t, vars["LUMBUNG_HTTP_ADDR"].Default, EmbeddedHTTPAddr)
	assert.Contains(t, vars["LUMBUNG_HTTP_ADDR"].Default, DefaultHTTPAddr)
}

func TestVarsMirrorContract(t *testing.T) {
	// The variables of CONTRACT.md §1, in table order.
	want := []string{
		"LUMBUNG_HTTP_ADDR", "LUMBUNG_DATABASE_URL", "LUMBUNG_REDIS_URL", "LUMBUNG_DATA_DIR",
		"LUMBUNG_SECRET", "LUMBUNG_DEMO", "LUMBUNG_CALLBACK_TOKEN", "LUMBUNG_CALLBACK_ALLOW",
		"LUMBUNG_USSD_HOP_DEADLINE", "LUMBUNG_USSD_RATE_LIMIT", "LUMBUNG_SMS_PROVIDER",
		"LUMBUNG_SMS_FROM", "LUMBUNG_KANNEL_SENDSMS_URL", "LUMBUNG_KANNEL_USERNAME",
		"LUMBUNG_KANNEL_PASSWORD", "LUMBUNG_AT_USERNAME", "LUMBUNG_AT_API_KEY",
		"LUMBUNG_AT_BASE_URL", "LUMBUNG_TWILIO_ACCOUNT_SID", "LUMBUNG_TWILIO_AUTH_TOKEN",
		"LUMBUNG_TWILIO_BASE_URL", "LUMBUNG_PUBLIC_URL",
	}
	// Beyond the contract, after its variables, each named in the README:
	// the safe defaults of the security review.
	want = append(want, "LUMBUNG_TRUSTED_PROXIES", "LUMBUNG_INSECURE_CALLBACKS", "LUMBUNG_METRICS_TOKEN",
		"LUMBUNG_SMS_REPLY_COUNTRIES")
	var got []string
	for _, v := range Vars() {
		got = append(got, v.Name)
		assert.NotEmpty(t, v.Meaning, v.Name)
		assert.NotContains(t, v.Meaning, "\n", v.Name)
	}
	assert.Equal(t, want, got)
}

// TestVarsHandledByLoad proves that Load reads every name Vars lists: setting
// a valid sample value changes the Config, setting a bad one (where a value
// can be bad) fails naming the variable, and the file accepts the name.
// Together the samples must touch every field of Config.
func TestVarsHandledByLoad(t *testing.T) {
	type sample struct {
		good  string
		extra []string // set in both the base and the sample run
		bad   string   // "" when every non-empty value is accepted
	}
	samples := map[string]sample{
		"LUMBUNG_HTTP_ADDR":           {good: "127.0.0.1:9090", bad: "9090"},
		"LUMBUNG_DATABASE_URL":        {good: "postgres://u:p@db/lumbung", extra: []string{"LUMBUNG_SECRET", testSecret, "LUMBUNG_HTTP_ADDR", ":8080"}, bad: "mysql://db"},
		"LUMBUNG_REDIS_URL":           {good: "redis://localhost:6379/0", bad: "http://localhost"},
		"LUMBUNG_DATA_DIR":            {good: "/var/lib/lumbung", bad: "a\x00b"},
		"LUMBUNG_SECRET":              {good: testSecret, bad: "short"},
		"LUMBUNG_DEMO":                {good: "on", bad: "maybe"},
		"LUMBUNG_CALLBACK_TOKEN":      {good: "cb-token-0123456789abcdef0123456789", bad: "tok"},
		"LUMBUNG_CALLBACK_ALLOW":      {good: "10.0.0.0/8", bad: "10.0.0.0/99"},
		"LUMBUNG_USSD_HOP_DEADLINE":   {good: "3s", bad: "abc"},
		"LUMBUNG_USSD_RATE_LIMIT":     {good: "0", bad: "-1"},
		"LUMBUNG_SMS_PROVIDER":        {good: "kannel", extra: []string{"LUMBUNG_KANNEL_SENDSMS_URL", "http://k/cgi-bin/sendsms", "LUMBUNG_KANNEL_USERNAME", "u", "LUMBUNG_KANNEL_PASSWORD", "p"}, bad: "smpp"},
		"LUMBUNG_SMS_FROM":            {good: "KOPERASI"},
		"LUMBUNG_KANNEL_SENDSMS_URL":  {good: "http://k:13013/cgi-bin/sendsms", bad: "k:13013"},
		"LUMBUNG_KANNEL_USERNAME":     {good: "kuser"},
		"LUMBUNG_KANNEL_PASSWORD":     {good: "kpass"},
		"LUMBUNG_AT_USERNAME":         {good: "sandbox"},
		"LUMBUNG_AT_API_KEY":          {good: "atkey"},
		"LUMBUNG_AT_BASE_URL":         {good: "https://api.sandbox.africastalking.com", bad: "ftp://x"},
		"LUMBUNG_TWILIO_ACCOUNT_SID":  {good: "AC123"},
		"LUMBUNG_TWILIO_AUTH_TOKEN":   {good: "twtok"},
		"LUMBUNG_TWILIO_BASE_URL":     {good: "http://localhost:4010", bad: "/relative"},
		"LUMBUNG_PUBLIC_URL":          {good: "https://lumbung.example.org", bad: "lumbung.example.org"},
		"LUMBUNG_TRUSTED_PROXIES":     {good: "10.0.0.1", bad: "proxy"},
		"LUMBUNG_INSECURE_CALLBACKS":  {good: "on", bad: "maybe"},
		"LUMBUNG_METRICS_TOKEN":       {good: "metrics-0123456789abcdef0123456789", bad: "short"},
		"LUMBUNG_SMS_REPLY_COUNTRIES": {good: "62,+670", bad: "62,abc"},
	}

	fieldsTouched := map[string]bool{}
	for _, v := range Vars() {
		t.Run(v.Name, func(t *testing.T) {
			s, ok := samples[v.Name]
			require.True(t, ok, "no sample for %s: add one", v.Name)

			base, err := Load(env(s.extra...), "")
			require.NoError(t, err)
			got, err := Load(env(append([]string{v.Name, s.good}, s.extra...)...), "")
			require.NoError(t, err)

			bv, gv := reflect.ValueOf(base), reflect.ValueOf(got)
			changed := 0
			for i := range bv.NumField() {
				if !reflect.DeepEqual(bv.Field(i).Interface(), gv.Field(i).Interface()) {
					fieldsTouched[bv.Type().Field(i).Name] = true
					changed++
				}
			}
			assert.Equal(t, 1, changed, "setting %s should change exactly one field", v.Name)

			if s.bad != "" {
				_, err := Load(env(append([]string{v.Name, s.bad}, s.extra...)...), "")
				requireOneLine(t, err)
				assert.True(t, strings.HasPrefix(err.Error(), v.Name+": "), err.Error())
			}

			fromFile, err := Load(env(s.extra...), writeFile(t, v.Name+"="+s.good+"\n"))
			require.NoError(t, err)
			assert.Equal(t, got, fromFile)
		})
	}
	fields := reflect.TypeFor[Config]()
	for i := range fields.NumField() {
		assert.True(t, fieldsTouched[fields.Field(i).Name], "no variable sets Config.%s", fields.Field(i).Name)
	}
}

func TestLoadValid(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"http addr all interfaces", map[string]string{"LUMBUNG_HTTP_ADDR": "0.0.0.0:80"}, func(t *testing.T, c Config) {
			assert.Equal(t, "0.0.0.0:80", c.HTTPAddr)
		}},
		{"http addr ipv6", map[string]string{"LUMBUNG_HTTP_ADDR": "[::1]:8081"}, func(t *testing.T, c Config) {
			assert.Equal(t, "[::1]:8081", c.HTTPAddr)
		}},
		{"http addr port 0 and spaces trimmed", map[string]string{"LUMBUNG_HTTP_ADDR": " :0 "}, func(t *testing.T, c Config) {
			assert.Equal(t, ":0", c.HTTPAddr)
		}},
		{"postgres url", map[string]string{"LUMBUNG_DATABASE_URL": "postgres://lumbung:pw@db:5432/lumbung?sslmode=disable", "LUMBUNG_SECRET": testSecret}, func(t *testing.T, c Config) {
			assert.Equal(t, "postgres://lumbung:pw@db:5432/lumbung?sslmode=disable", c.DatabaseURL)
			assert.True(t, c.Postgres())
			assert.False(t, c.Embedded())
			assert.Equal(t, testSecret, c.Secret)
		}},
		{"postgresql scheme any case", map[string]string{"LUMBUNG_DATABASE_URL": "PostgreSQL://db/lumbung", "LUMBUNG_SECRET": testSecret}, func(t *testing.T, c Config) {
			assert.True(t, c.Postgres())
		}},
		{"redis", map[string]string{"LUMBUNG_REDIS_URL": "redis://:pw@cache:6379/1"}, func(t *testing.T, c Config) {
			assert.Equal(t, "redis://:pw@cache:6379/1", c.RedisURL)
			assert.True(t, c.RedisEnabled())
		}},
		{"redis cluster", map[string]string{"LUMBUNG_REDIS_URL": "redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002"}, func(t *testing.T, c Config) {
			assert.Equal(t, "redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002", c.RedisURL)
			assert.Equal(t, "redis+cluster://:***@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002", c.Redacted()["LUMBUNG_REDIS_URL"])
			assert.True(t, c.RedisEnabled())
		}},
		{"redis sentinel", map[string]string{"LUMBUNG_REDIS_URL": "redis+sentinel://s1:26379,s2:26379/2?master_name=lumbung&password=pw"}, func(t *testing.T, c Config) {
			assert.Equal(t, "redis+sentinel://s1:26379,s2:26379/2?master_name=lumbung&password=***", c.Redacted()["LUMBUNG_REDIS_URL"])
			assert.True(t, c.RedisEnabled())
		}},
		{"rediss", map[string]string{"LUMBUNG_REDIS_URL": "rediss://cache:6380"}, func(t *testing.T, c Config) {
			assert.True(t, c.RedisEnabled())
		}},
		{"data dir", map[string]string{"LUMBUNG_DATA_DIR": "/var/lib/lumbung"}, func(t *testing.T, c Config) {
			assert.Equal(t, "/var/lib/lumbung", c.DataDir)
			assert.Equal(t, filepath.Join("/var/lib/lumbung", "lumbung.db"), c.SQLitePath())
		}},
		{"secret exactly 32 characters in embedded mode", map[string]string{"LUMBUNG_SECRET": strings.Repeat("k", 32)}, func(t *testing.T, c Config) {
			assert.Equal(t, strings.Repeat("k", 32), c.Secret)
		}},
		{"secret counted in characters", map[string]string{"LUMBUNG_SECRET": strings.Repeat("é", 32)}, func(t *testing.T, c Config) {
			assert.Equal(t, strings.Repeat("é", 32), c.Secret)
		}},
		{"callback token", map[string]string{"LUMBUNG_CALLBACK_TOKEN": "cb-token-0123456789abcdef0123456789"}, func(t *testing.T, c Config) {
			assert.Equal(t, "cb-token-0123456789abcdef0123456789", c.CallbackToken)
			assert.False(t, c.CallbacksOpen())
		}},
		{"postgres listens on every interface by default", map[string]string{"LUMBUNG_DATABASE_URL": "postgres://db/x", "LUMBUNG_SECRET": testSecret}, func(t *testing.T, c Config) {
			assert.Equal(t, ":8080", c.HTTPAddr)
			assert.True(t, c.CallbacksOpen(), "serve refuses this (TestServeRefusesOpenCallbacks)")
		}},
		{"embedded listens where told", map[string]string{"LUMBUNG_HTTP_ADDR": ":8080"}, func(t *testing.T, c Config) {
			assert.Equal(t, ":8080", c.HTTPAddr)
		}},
		{"callback allow list", map[string]string{"LUMBUNG_CALLBACK_ALLOW": " 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,2001:db8::1,, 172.16.5.9/12"}, func(t *testing.T, c Config) {
			assert.Equal(t, []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"),
				netip.MustParsePrefix("192.0.2.7/32"),
				netip.MustParsePrefix("2001:db8::/32"),
				netip.MustParsePrefix("2001:db8::1/128"),
				netip.MustParsePrefix("172.16.0.0/12"),
			}, c.CallbackAllow)
		}},
		{"callback allow ipv4-mapped ip", map[string]string{"LUMBUNG_CALLBACK_ALLOW": "::ffff:192.0.2.7"}, func(t *testing.T, c Config) {
			assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")}, c.CallbackAllow)
		}},
		{"hop deadline", map[string]string{"LUMBUNG_USSD_HOP_DEADLINE": "2500ms"}, func(t *testing.T, c Config) {
			assert.Equal(t, 2500*time.Millisecond, c.USSDHopDeadline)
		}},
		{"hop deadline maximum", map[string]string{"LUMBUNG_USSD_HOP_DEADLINE": "1m"}, func(t *testing.T, c Config) {
			assert.Equal(t, time.Minute, c.USSDHopDeadline)
		}},
		{"rate limit off", map[string]string{"LUMBUNG_USSD_RATE_LIMIT": "0"}, func(t *testing.T, c Config) {
			assert.Equal(t, 0, c.USSDRateLimit)
		}},
		{"rate limit", map[string]string{"LUMBUNG_USSD_RATE_LIMIT": "120"}, func(t *testing.T, c Config) {
			assert.Equal(t, 120, c.USSDRateLimit)
		}},
		{"sms from", map[string]string{"LUMBUNG_SMS_FROM": "KSP Maju"}, func(t *testing.T, c Config) {
			assert.Equal(t, "KSP Maju", c.SMSFrom)
		}},
		{"reply countries", map[string]string{"LUMBUNG_SMS_REPLY_COUNTRIES": " 62, +670 ,62,1"}, func(t *testing.T, c Config) {
			assert.Equal(t, []string{"62", "670", "1"}, c.SMSReplyCountries, "trimmed, + dropped, each once")
		}},
		{"reply countries any", map[string]string{"LUMBUNG_SMS_REPLY_COUNTRIES": "*"}, func(t *testing.T, c Config) {
			assert.Nil(t, c.SMSReplyCountries, "any number")
		}},
		{"provider log explicit", map[string]string{"LUMBUNG_SMS_PROVIDER": "log"}, func(t *testing.T, c Config) {
			assert.Equal(t, SMSLog, c.SMSProvider)
		}},
		{"provider kannel", map[string]string{
			"LUMBUNG_SMS_PROVIDER":       "kannel",
			"LUMBUNG_KANNEL_SENDSMS_URL": "http://127.0.0.1:13013/cgi-bin/sendsms?smsc=tsel",
			"LUMBUNG_KANNEL_USERNAME":    "ku",
			"LUMBUNG_KANNEL_PASSWORD":    "kp",
		}, func(t *testing.T, c Config) {
			assert.Equal(t, SMSKannel, c.SMSProvider)
			assert.Equal(t, "http://127.0.0.1:13013/cgi-bin/sendsms?smsc=tsel", c.KannelSendSMSURL)
			assert.Equal(t, "ku", c.KannelUsername)
			assert.Equal(t, "kp", c.KannelPassword)
		}},
		{"provider africastalking any case", map[string]string{
			"LUMBUNG_SMS_PROVIDER": "AfricasTalking",
			"LUMBUNG_AT_USERNAME":  "sandbox",
			"LUMBUNG_AT_API_KEY":   "key",
			"LUMBUNG_AT_BASE_URL":  "https://api.sandbox.africastalking.com/",
		}, func(t *testing.T, c Config) {
			assert.Equal(t, SMSAfricasTalking, c.SMSProvider)
			assert.Equal(t, "sandbox", c.ATUsername)
			assert.Equal(t, "key", c.ATAPIKey)
			assert.Equal(t, "https://api.sandbox.africastalking.com", c.ATBaseURL, "trailing slash dropped")
		}},
		{"provider twilio", map[string]string{
			"LUMBUNG_SMS_PROVIDER":       "twilio",
			"LUMBUNG_TWILIO_ACCOUNT_SID": "AC1",
			"LUMBUNG_TWILIO_AUTH_TOKEN":  "tok",
			"LUMBUNG_TWILIO_BASE_URL":    "http://localhost:4010",
			"LUMBUNG_PUBLIC_URL":         "https://lumbung.example.org/",
		}, func(t *testing.T, c Config) {
			assert.Equal(t, SMSTwilio, c.SMSProvider)
			assert.Equal(t, "AC1", c.TwilioAccountSID)
			assert.Equal(t, "tok", c.TwilioAuthToken)
			assert.Equal(t, "http://localhost:4010", c.TwilioBaseURL)
			assert.Equal(t, "https://lumbung.example.org", c.PublicURL, "trailing slash dropped")
		}},
		{"public url with path", map[string]string{"LUMBUNG_PUBLIC_URL": "https://example.org/lumbung"}, func(t *testing.T, c Config) {
			assert.Equal(t, "https://example.org/lumbung", c.PublicURL)
		}},
		{"credentials of unused providers are accepted", map[string]string{"LUMBUNG_AT_USERNAME": "x", "LUMBUNG_TWILIO_AUTH_TOKEN": "y"}, func(t *testing.T, c Config) {
			assert.Equal(t, SMSLog, c.SMSProvider)
			assert.Equal(t, "x", c.ATUsername)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(envMap(tt.env), "")
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestLoadDemo(t *testing.T) {
	tests := []struct {
		value string
		want  DemoMode
	}{
		{"", DemoAuto}, {"auto", DemoAuto},
		{"1", DemoOn}, {"true", DemoOn}, {"TRUE", DemoOn}, {"on", DemoOn}, {"On", DemoOn}, {"yes", DemoOn}, {"YES", DemoOn},
		{"0", DemoOff}, {"false", DemoOff}, {"False", DemoOff}, {"off", DemoOff}, {"OFF", DemoOff}, {"no", DemoOff},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := Load(env("LUMBUNG_DEMO", tt.value), "")
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.Demo)
		})
	}
	assert.Equal(t, "auto", DemoAuto.String())
	assert.Equal(t, "on", DemoOn.String())
	assert.Equal(t, "off", DemoOff.String())
}

func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"http addr without colon", []string{"LUMBUNG_HTTP_ADDR", "8080"},
			`LUMBUNG_HTTP_ADDR: "8080" is not host:port (e.g. :8080 or 127.0.0.1:8080)`},
		{"http addr bad port", []string{"LUMBUNG_HTTP_ADDR", "localhost:http"},
			`LUMBUNG_HTTP_ADDR: "localhost:http" has no valid port number (e.g. :8080 or 127.0.0.1:8080)`},
		{"http addr port too big", []string{"LUMBUNG_HTTP_ADDR", ":70000"},
			`LUMBUNG_HTTP_ADDR: ":70000" has no valid port number (e.g. :8080 or 127.0.0.1:8080)`},
		{"http addr empty port", []string{"LUMBUNG_HTTP_ADDR", "localhost:"},
			`LUMBUNG_HTTP_ADDR: "localhost:" has no valid port number (e.g. :8080 or 127.0.0.1:8080)`},
		{"database sqlite url", []string{"LUMBUNG_DATABASE_URL", "sqlite:///var/lib/lumbung.db"},
			`LUMBUNG_DATABASE_URL: SQLite URLs are not accepted; leave it unset to use the embedded SQLite database in LUMBUNG_DATA_DIR`},
		{"database file url", []string{"LUMBUNG_DATABASE_URL", "file:lumbung.db?cache=shared"},
			`LUMBUNG_DATABASE_URL: SQLite URLs are not accepted; leave it unset to use the embedded SQLite database in LUMBUNG_DATA_DIR`},
		{"database other scheme", []string{"LUMBUNG_DATABASE_URL", "mysql://db/lumbung"},
			`LUMBUNG_DATABASE_URL: must start with postgres:// or postgresql:// (e.g. postgres://lumbung:PASSWORD@localhost:5432/lumbung); leave it unset for the embedded SQLite database`},
		{"database key value dsn", []string{"LUMBUNG_DATABASE_URL", "host=db dbname=lumbung"},
			`LUMBUNG_DATABASE_URL: must start with postgres:// or postgresql:// (e.g. postgres://lumbung:PASSWORD@localhost:5432/lumbung); leave it unset for the embedded SQLite database`},
		{"database unparsable", []string{"LUMBUNG_DATABASE_URL", "postgres://u:pa%zz@db/x", "LUMBUNG_SECRET", testSecret},
			`LUMBUNG_DATABASE_URL: is not a valid URL (percent-encode special characters in the password, e.g. / as %2F, # as %23)`},
		{"redis wrong scheme", []string{"LUMBUNG_REDIS_URL", "localhost:6379"},
			`LUMBUNG_REDIS_URL: must start with redis://, rediss://, redis+cluster:// or redis+sentinel:// (e.g. ` + redisURLForms + `); leave it unset for the in-process session store`},
		{"redis unparsable", []string{"LUMBUNG_REDIS_URL", "redis://:p%zz@cache"},
			`LUMBUNG_REDIS_URL: is not a valid URL (percent-encode special characters in the password, e.g. / as %2F, # as %23, @ as %40)`},
		{"redis no host", []string{"LUMBUNG_REDIS_URL", "redis:///0"},
			`LUMBUNG_REDIS_URL: has no host (e.g. ` + redisURLForms + `)`},
		{"redis several hosts", []string{"LUMBUNG_REDIS_URL", "redis://a:1,b:2"},
			`LUMBUNG_REDIS_URL: lists several hosts: use redis+cluster://… for Redis Cluster or redis+sentinel://…?master_name=NAME for Sentinel`},
		{"redis sentinel without master", []string{"LUMBUNG_REDIS_URL", "redis+sentinel://s1:26379,s2:26379"},
			`LUMBUNG_REDIS_URL: needs ?master_name=NAME, the name of the master in the Sentinels' "sentinel monitor" line (e.g. redis+sentinel://s1:26379,s2:26379,s3:26379/0?master_name=mymaster)`},
		{"secret too short", []string{"LUMBUNG_SECRET", "hunter2"},
			`LUMBUNG_SECRET: too short (7 characters, need at least 32); generate one with: openssl rand -hex 32`},
		{"secret 31 characters", []string{"LUMBUNG_SECRET", strings.Repeat("x", 31)},
			`LUMBUNG_SECRET: too short (31 characters, need at least 32); generate one with: openssl rand -hex 32`},
		{"postgres without secret", []string{"LUMBUNG_DATABASE_URL", "postgres://db/lumbung"},
			`LUMBUNG_SECRET: required with PostgreSQL (PIN hashes and cookies must survive restarts and be shared by every instance); generate one with: openssl rand -hex 32`},
		{"postgres with blank secret", []string{"LUMBUNG_DATABASE_URL", "postgres://db/lumbung", "LUMBUNG_SECRET", "   "},
			`LUMBUNG_SECRET: required with PostgreSQL (PIN hashes and cookies must survive restarts and be shared by every instance); generate one with: openssl rand -hex 32`},
		{"demo", []string{"LUMBUNG_DEMO", "maybe"},
			`LUMBUNG_DEMO: "maybe" is not on or off (use 1/0, true/false, on/off or yes/no)`},
		{"allow bad cidr", []string{"LUMBUNG_CALLBACK_ALLOW", "10.0.0.0/8, 10.0.0.0/33"},
			`LUMBUNG_CALLBACK_ALLOW: "10.0.0.0/33" is not a CIDR or IP address (e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)`},
		{"allow hostname", []string{"LUMBUNG_CALLBACK_ALLOW", "api.africastalking.com"},
			`LUMBUNG_CALLBACK_ALLOW: "api.africastalking.com" is not a CIDR or IP address (e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)`},
		{"allow only commas", []string{"LUMBUNG_CALLBACK_ALLOW", ", ,"},
			`LUMBUNG_CALLBACK_ALLOW: lists no CIDR or IP address (leave it unset to allow every address)`},
		{"hop deadline not a duration", []string{"LUMBUNG_USSD_HOP_DEADLINE", "abc"},
			`LUMBUNG_USSD_HOP_DEADLINE: "abc" is not a duration (e.g. 5s)`},
		{"hop deadline bare number", []string{"LUMBUNG_USSD_HOP_DEADLINE", "5"},
			`LUMBUNG_USSD_HOP_DEADLINE: "5" is not a duration (e.g. 5s)`},
		{"hop deadline zero", []string{"LUMBUNG_USSD_HOP_DEADLINE", "0s"},
			`LUMBUNG_USSD_HOP_DEADLINE: "0s" must be more than 0 (e.g. 5s)`},
		{"hop deadline negative", []string{"LUMBUNG_USSD_HOP_DEADLINE", "-1s"},
			`LUMBUNG_USSD_HOP_DEADLINE: "-1s" must be more than 0 (e.g. 5s)`},
		{"hop deadline too long", []string{"LUMBUNG_USSD_HOP_DEADLINE", "61s"},
			`LUMBUNG_USSD_HOP_DEADLINE: "61s" is too long; telcos drop a USSD hop long before 1m0s (e.g. 5s)`},
		{"rate limit not a number", []string{"LUMBUNG_USSD_RATE_LIMIT", "30/min"},
			`LUMBUNG_USSD_RATE_LIMIT: "30/min" is not a whole number (hops per phone per minute; 0 turns the limit off)`},
		{"rate limit fraction", []string{"LUMBUNG_USSD_RATE_LIMIT", "1.5"},
			`LUMBUNG_USSD_RATE_LIMIT: "1.5" is not a whole number (hops per phone per minute; 0 turns the limit off)`},
		{"rate limit negative", []string{"LUMBUNG_USSD_RATE_LIMIT", "-1"},
			`LUMBUNG_USSD_RATE_LIMIT: "-1" is negative (hops per phone per minute; 0 turns the limit off)`},
		{"reply countries not digits", []string{"LUMBUNG_SMS_REPLY_COUNTRIES", "62,ID"},
			`LUMBUNG_SMS_REPLY_COUNTRIES: "ID" is not a country calling code (1 to 3 digits, e.g. 62; or * for any)`},
		{"reply countries too long", []string{"LUMBUNG_SMS_REPLY_COUNTRIES", "6281"},
			`LUMBUNG_SMS_REPLY_COUNTRIES: "6281" is not a country calling code (1 to 3 digits, e.g. 62; or * for any)`},
		{"reply countries empty item", []string{"LUMBUNG_SMS_REPLY_COUNTRIES", "62,,670"},
			`LUMBUNG_SMS_REPLY_COUNTRIES: "" is not a country calling code (1 to 3 digits, e.g. 62; or * for any)`},
		{"reply countries star in list", []string{"LUMBUNG_SMS_REPLY_COUNTRIES", "62,*"},
			`LUMBUNG_SMS_REPLY_COUNTRIES: "*" must stand alone (any number), not in a list`},
		{"provider unknown", []string{"LUMBUNG_SMS_PROVIDER", "smpp"},
			`LUMBUNG_SMS_PROVIDER: "smpp" is not a provider (use log, kannel, africastalking or twilio)`},
		{"kannel url not http", []string{"LUMBUNG_KANNEL_SENDSMS_URL", "127.0.0.1:13013/cgi-bin/sendsms"},
			`LUMBUNG_KANNEL_SENDSMS_URL: is not a valid URL (e.g. http://127.0.0.1:13013/cgi-bin/sendsms)`},
		{"kannel url relative", []string{"LUMBUNG_KANNEL_SENDSMS_URL", "/cgi-bin/sendsms"},
			`LUMBUNG_KANNEL_SENDSMS_URL: "/cgi-bin/sendsms" is not an absolute http(s) URL (e.g. http://127.0.0.1:13013/cgi-bin/sendsms)`},
		{"kannel url fragment", []string{"LUMBUNG_KANNEL_SENDSMS_URL", "http://k/sendsms#x"},
			`LUMBUNG_KANNEL_SENDSMS_URL: "http://k/sendsms#x" must not contain a #fragment (e.g. http://127.0.0.1:13013/cgi-bin/sendsms)`},
		{"at base url ftp", []string{"LUMBUNG_AT_BASE_URL", "ftp://api.africastalking.com"},
			`LUMBUNG_AT_BASE_URL: "ftp://api.africastalking.com" is not an absolute http(s) URL (e.g. https://api.africastalking.com)`},
		{"twilio base url with query", []string{"LUMBUNG_TWILIO_BASE_URL", "https://api.twilio.com?x=1"},
			`LUMBUNG_TWILIO_BASE_URL: "https://api.twilio.com?x=1" must not contain a ?query (e.g. https://api.twilio.com)`},
		{"public url without scheme", []string{"LUMBUNG_PUBLIC_URL", "lumbung.example.org"},
			`LUMBUNG_PUBLIC_URL: "lumbung.example.org" is not an absolute http(s) URL (e.g. https://lumbung.example.org)`},
		{"public url without host", []string{"LUMBUNG_PUBLIC_URL", "https://"},
			`LUMBUNG_PUBLIC_URL: "https:" is not an absolute http(s) URL (e.g. https://lumbung.example.org)`},
		{"url error hides password", []string{"LUMBUNG_PUBLIC_URL", "ftp://me:" + testDBPass + "@host"},
			`LUMBUNG_PUBLIC_URL: "ftp://me:***@host" is not an absolute http(s) URL (e.g. https://lumbung.example.org)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.env...), "")
			requireOneLine(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.Equal(t, Config{}, c)
		})
	}
}

func TestErrorsNeverShowDatabasePassword(t *testing.T) {
	for _, v := range []string{
		"postgres://u:" + testDBPass + "@db:badport/x",
		"postgres://u:" + testDBPass + "/x@db/x",
		"mysql://u:" + testDBPass + "@db/x",
		"sqlite://u:" + testDBPass + "@x",
	} {
		_, err := Load(env("LUMBUNG_DATABASE_URL", v, "LUMBUNG_SECRET", testSecret), "")
		requireOneLine(t, err)
		assert.NotContains(t, err.Error(), testDBPass)
	}
	_, err := Load(env("LUMBUNG_SECRET", testSecret[:20]), "")
	requireOneLine(t, err)
	assert.NotContains(t, err.Error(), testSecret[:20])
}

func TestFirstErrorInTableOrder(t *testing.T) {
	lookup := env(
		"LUMBUNG_PUBLIC_URL", "nope",
		"LUMBUNG_USSD_RATE_LIMIT", "x",
		"LUMBUNG_DEMO", "maybe",
		"LUMBUNG_SMS_PROVIDER", "twilio",
	)
	for range 5 {
		_, err := Load(lookup, "")
		requireOneLine(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "LUMBUNG_DEMO: "), err.Error())
	}
}

func TestProviderRequirements(t *testing.T) {
	full := map[SMSProvider][]string{
		SMSKannel: {
			"LUMBUNG_KANNEL_SENDSMS_URL", "http://127.0.0.1:13013/cgi-bin/sendsms",
			"LUMBUNG_KANNEL_USERNAME", "u",
			"LUMBUNG_KANNEL_PASSWORD", "p",
		},
		SMSAfricasTalking: {
			"LUMBUNG_AT_USERNAME", "sandbox",
			"LUMBUNG_AT_API_KEY", "key",
		},
		SMSTwilio: {
			"LUMBUNG_TWILIO_ACCOUNT_SID", "AC1",
			"LUMBUNG_TWILIO_AUTH_TOKEN", "tok",
			"LUMBUNG_PUBLIC_URL", "https://lumbung.example.org",
		},
	}
	for provider, kv := range full {
		t.Run(string(provider)+" complete", func(t *testing.T) {
			c, err := Load(env(append([]string{"LUMBUNG_SMS_PROVIDER", string(provider)}, kv...)...), "")
			require.NoError(t, err)
			assert.Equal(t, provider, c.SMSProvider)
		})
		for i := 0; i < len(kv); i += 2 {
			missing := kv[i]
			t.Run(string(provider)+" without "+missing, func(t *testing.T) {
				m := map[string]string{"LUMBUNG_SMS_PROVIDER": string(provider)}
				for j := 0; j < len(kv); j += 2 {
					if j != i {
						m[kv[j]] = kv[j+1]
					}
				}
				_, err := Load(envMap(m), "")
				requireOneLine(t, err)
				assert.True(t, strings.HasPrefix(err.Error(), missing+": required when LUMBUNG_SMS_PROVIDER="+string(provider)), err.Error())
			})
		}
	}
	t.Run("twilio public url says why", func(t *testing.T) {
		_, err := Load(env("LUMBUNG_SMS_PROVIDER", "twilio", "LUMBUNG_TWILIO_ACCOUNT_SID", "a", "LUMBUNG_TWILIO_AUTH_TOKEN", "b"), "")
		requireOneLine(t, err)
		assert.Contains(t, err.Error(), "signature")
	})
	t.Run("log needs nothing", func(t *testing.T) {
		_, err := Load(env("LUMBUNG_SMS_PROVIDER", "log"), "")
		require.NoError(t, err)
	})
}

func TestLoadFile(t *testing.T) {
	t.Run("format", func(t *testing.T) {
		file := writeFile(t, "\uFEFF# lumbung settings\r\n"+
			"\n"+
			"   # indented comment\n"+
			"LUMBUNG_HTTP_ADDR=:9000\r\n"+
			"  LUMBUNG_DATA_DIR = /srv/lumbung  \n"+
			"LUMBUNG_SMS_FROM=\"KSP Maju Bersama\"\n"+
			"LUMBUNG_CALLBACK_TOKEN='ab#c=d-0123456789abcdef0123456789'\n"+
			"export LUMBUNG_USSD_RATE_LIMIT=10\n"+
			"LUMBUNG_DEMO=off\n"+
			"LUMBUNG_SECRET=\"\"\n"+
			"LUMBUNG_AT_USERNAME=a\"b\n")
		c, err := Load(env(), file)
		require.NoError(t, err)
		assert.Equal(t, ":9000", c.HTTPAddr)
		assert.Equal(t, "/srv/lumbung", c.DataDir)
		assert.Equal(t, "KSP Maju Bersama", c.SMSFrom)
		assert.Equal(t, "ab#c=d-0123456789abcdef0123456789", c.CallbackToken)
		assert.Equal(t, 10, c.USSDRateLimit)
		assert.Equal(t, DemoOff, c.Demo)
		assert.Equal(t, "", c.Secret, "empty quoted value counts as unset")
		assert.Equal(t, `a"b`, c.ATUsername, "inner quotes are kept")
	})
	t.Run("environment overrides file", func(t *testing.T) {
		file := writeFile(t, "LUMBUNG_HTTP_ADDR=:9000\nLUMBUNG_USSD_RATE_LIMIT=10\nLUMBUNG_SMS_FROM=FILE\n")
		c, err := Load(env("LUMBUNG_HTTP_ADDR", ":7000", "LUMBUNG_USSD_RATE_LIMIT", ""), file)
		require.NoError(t, err)
		assert.Equal(t, ":7000", c.HTTPAddr, "env wins")
		assert.Equal(t, 10, c.USSDRateLimit, "empty env value is unset, file value stands")
		assert.Equal(t, "FILE", c.SMSFrom)
	})
	t.Run("environment fixes a bad file value", func(t *testing.T) {
		file := writeFile(t, "LUMBUNG_USSD_RATE_LIMIT=lots\n")
		c, err := Load(env("LUMBUNG_USSD_RATE_LIMIT", "5"), file)
		require.NoError(t, err)
		assert.Equal(t, 5, c.USSDRateLimit)
	})
	t.Run("postgres in file secret in env", func(t *testing.T) {
		file := writeFile(t, "LUMBUNG_DATABASE_URL=postgres://db/lumbung\n")
		_, err := Load(env(), file)
		requireOneLine(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "LUMBUNG_SECRET: required with PostgreSQL"), err.Error())
		c, err := Load(env("LUMBUNG_SECRET", testSecret), file)
		require.NoError(t, err)
		assert.True(t, c.Postgres())
	})

	errTests := []struct {
		name    string
		content string
		want    string // after `config file "<path>" `
	}{
		{"unknown lumbung key", "# x\nLUMBUNG_HTTP_ADDR=:1\nLUMBUNG_COLOUR=blue\n",
			`line 3: unknown setting "LUMBUNG_COLOUR"`},
		{"typo gets a suggestion", "LUMBUNG_USSD_RATELIMIT=5\n",
			`line 1: unknown setting "LUMBUNG_USSD_RATELIMIT" (did you mean LUMBUNG_USSD_RATE_LIMIT?)`},
		{"lowercase key", "lumbung_http_addr=:1\n",
			`line 1: "lumbung_http_addr" is not a lumbung setting (names start with LUMBUNG_)`},
		{"foreign key", "\n\nPORT=8080\n",
			`line 3: "PORT" is not a lumbung setting (names start with LUMBUNG_)`},
		{"no equals sign", "LUMBUNG_HTTP_ADDR :8080\n",
			`line 1: expected KEY=VALUE`},
		{"no key", "=x\n",
			`line 1: expected KEY=VALUE`},
		{"duplicate", "LUMBUNG_DEMO=on\n#\nLUMBUNG_DEMO=off\n",
			`line 3: LUMBUNG_DEMO is already set on line 1`},
		{"unterminated double quote", "LUMBUNG_SMS_FROM=\"KSP\n",
			`line 1: LUMBUNG_SMS_FROM: missing closing " quote`},
		{"lone quote", "LUMBUNG_SMS_FROM='\n",
			`line 1: LUMBUNG_SMS_FROM: missing closing ' quote`},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, tt.content)
			_, err := Load(env(), file)
			requireOneLine(t, err)
			want := fmt.Sprintf("config file %q %s", file, tt.want)
			assert.Equal(t, want, err.Error())
		})
	}
	t.Run("bad value names variable and line", func(t *testing.T) {
		file := writeFile(t, "LUMBUNG_DEMO=on\nLUMBUNG_USSD_HOP_DEADLINE=abc\n")
		_, err := Load(env(), file)
		requireOneLine(t, err)
		assert.Equal(t, fmt.Sprintf(`LUMBUNG_USSD_HOP_DEADLINE: "abc" is not a duration (e.g. 5s) (config file %q line 2)`, file), err.Error())
	})
	t.Run("unknown key in file is an error even if env is fine", func(t *testing.T) {
		file := writeFile(t, "LUMBUNG_NOPE=1\n")
		_, err := Load(env("LUMBUNG_NOPE", "1"), file)
		requireOneLine(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "config file"))
	})
	t.Run("missing file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "absent.env")
		_, err := Load(env(), file)
		requireOneLine(t, err)
		assert.Equal(t, fmt.Sprintf("config file %q: no such file or directory", file), err.Error())
	})
	t.Run("directory", func(t *testing.T) {
		_, err := Load(env(), t.TempDir())
		requireOneLine(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "config file"))
	})
	t.Run("empty file", func(t *testing.T) {
		c, err := Load(env(), writeFile(t, ""))
		require.NoError(t, err)
		d, err := Load(env(), "")
		require.NoError(t, err)
		assert.Equal(t, d, c)
	})
}

func TestRedaction(t *testing.T) {
	secrets := []string{testSecret, "cb-token-XYZ-0123456789abcdef0123456789", "kannel-pw-XYZ", "at-key-XYZ", "tw-token-XYZ", testDBPass, testRedisPass, "qs-pw-XYZ"}
	c, err := Load(envMap(map[string]string{
		"LUMBUNG_DATABASE_URL":       "postgres://lumbung:" + testDBPass + "@db:5432/lumbung?sslmode=disable&password=qs-pw-XYZ",
		"LUMBUNG_REDIS_URL":          "rediss://default:" + testRedisPass + "@cache:6380/0",
		"LUMBUNG_SECRET":             testSecret,
		"LUMBUNG_CALLBACK_TOKEN":     "cb-token-XYZ-0123456789abcdef0123456789",
		"LUMBUNG_CALLBACK_ALLOW":     "10.0.0.0/8,192.0.2.7",
		"LUMBUNG_SMS_PROVIDER":       "kannel",
		"LUMBUNG_KANNEL_SENDSMS_URL": "http://k:13013/cgi-bin/sendsms",
		"LUMBUNG_KANNEL_USERNAME":    "kuser",
		"LUMBUNG_KANNEL_PASSWORD":    "kannel-pw-XYZ",
		"LUMBUNG_AT_API_KEY":         "at-key-XYZ",
		"LUMBUNG_TWILIO_AUTH_TOKEN":  "tw-token-XYZ",
	}), "")
	require.NoError(t, err)

	r := c.Redacted()
	assert.Len(t, r, len(Vars()))
	for _, v := range Vars() {
		assert.Contains(t, r, v.Name)
	}
	for _, name := range []string{"LUMBUNG_SECRET", "LUMBUNG_CALLBACK_TOKEN", "LUMBUNG_KANNEL_PASSWORD", "LUMBUNG_AT_API_KEY", "LUMBUNG_TWILIO_AUTH_TOKEN"} {
		assert.Equal(t, "***", r[name], name)
	}
	assert.Equal(t, "", r["LUMBUNG_TWILIO_ACCOUNT_SID"])
	assert.Equal(t, "postgres://lumbung:***@db:5432/lumbung?password=***&sslmode=disable", r["LUMBUNG_DATABASE_URL"])
	assert.Equal(t, "rediss://default:***@cache:6380/0", r["LUMBUNG_REDIS_URL"])
	assert.Equal(t, "10.0.0.0/8,192.0.2.7/32", r["LUMBUNG_CALLBACK_ALLOW"])
	assert.Equal(t, "kuser", r["LUMBUNG_KANNEL_USERNAME"])
	assert.Equal(t, "kannel", r["LUMBUNG_SMS_PROVIDER"])
	assert.Equal(t, "auto", r["LUMBUNG_DEMO"])

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c)
	outputs := map[string]string{
		"String": c.String(),
		"%v":     fmt.Sprintf("%v", c),
		"%+v":    fmt.Sprintf("%+v", c),
		"%#v":    fmt.Sprintf("%#v", c),
		"%s ptr": fmt.Sprintf("%s", &c),
		"slog":   logged.String(),
		"map":    fmt.Sprint(r),
	}
	for what, out := range outputs {
		for _, s := range secrets {
			assert.NotContains(t, out, s, "%s leaks a secret", what)
		}
	}
	assert.Contains(t, c.String(), `LUMBUNG_SECRET=***`)
	assert.Contains(t, c.String(), `LUMBUNG_SMS_FROM=""`)
	assert.NotContains(t, c.String(), "\n")
	assert.Contains(t, logged.String(), `"LUMBUNG_HTTP_ADDR":":8080"`)

	t.Run("redis user without password is masked", func(t *testing.T) {
		c, err := Load(env("LUMBUNG_REDIS_URL", "redis://"+testRedisPass+"@cache:6379"), "")
		require.NoError(t, err)
		assert.Equal(t, "redis://***@cache:6379", c.Redacted()["LUMBUNG_REDIS_URL"])
	})
	t.Run("unset secrets show empty", func(t *testing.T) {
		c, err := Load(env(), "")
		require.NoError(t, err)
		assert.Equal(t, "", c.Redacted()["LUMBUNG_SECRET"])
		assert.Equal(t, "", c.Redacted()["LUMBUNG_DATABASE_URL"])
	})
	t.Run("hand-built config with bad url is masked", func(t *testing.T) {
		c := Config{DatabaseURL: "postgres://u:" + testDBPass + "@db:bad port/x"}
		assert.Equal(t, "***", c.Redacted()["LUMBUNG_DATABASE_URL"])
	})
}

func FuzzLoad(f *testing.F) {
	f.Add("LUMBUNG_HTTP_ADDR=:8080\n# c\n", uint8(0), ":9090")
	f.Add("LUMBUNG_DATABASE_URL=postgres://u:p@db/x\n", uint8(4), "short")
	f.Add("export LUMBUNG_SMS_FROM=\"x\"\r\n", uint8(10), "twilio")
	f.Add("LUMBUNG_CALLBACK_ALLOW='10.0.0.0/8, ::1'\n", uint8(7), "1.2.3.4/40")
	f.Add("LUMBUNG_X=1\n", uint8(8), "5\n")
	f.Add("FOO=\"\n", uint8(1), "sqlite://x\ny")
	f.Add("LUMBUNG_PUBLIC_URL=http://a\nLUMBUNG_PUBLIC_URL=b\n", uint8(21), "ftp://\x00")
	f.Add("\uFEFF=\n", uint8(2), "redis://:p%zz@x")
	vars := Vars()
	f.Fuzz(func(t *testing.T, content string, which uint8, value string) {
		file := filepath.Join(t.TempDir(), "fuzz.env")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		name := vars[int(which)%len(vars)].Name
		c, err := Load(env(name, value), file)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, "LUMBUNG_") && !strings.HasPrefix(msg, "config file") {
				t.Fatalf("error does not start with LUMBUNG_ or config file: %q", msg)
			}
			return
		}
		if s := c.String(); strings.ContainsAny(s, "\r\n") {
			t.Fatalf("String is not one line: %q", s)
		}
		_ = c.Redacted()
	})
}
