package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCounterMounted: serve answers the counter pages, and the demo's
// training phone plays a balance check without a login, through the same
// USSD handler wiring as the telcos, its hops counted as training in the
// service's /metrics.
func TestCounterMounted(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		get := func(path string) string {
			resp, err := c.Get(env.srv.URL + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, path)
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		csrfRE := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
		post := func(form url.Values) string {
			resp, err := c.PostForm(env.srv.URL+"/counter/phone", form)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		assert.Contains(t, get("/counter/login"), `name="password"`)
		page := get("/counter/phone")
		csrf := csrfRE.FindStringSubmatch(page)[1]
		page = post(url.Values{"csrf": {csrf}, "action": {"dial"}, "msisdn": {demoMembers[0].phone}})
		require.Contains(t, page, "1 Cek Saldo")
		session := regexp.MustCompile(`name="session" value="([0-9a-f]+)"`).FindStringSubmatch(page)[1]
		hop := func(n, input string) string {
			return post(url.Values{"csrf": {csrf}, "action": {"send"}, "session": {session}, "hop": {n}, "msisdn": {demoMembers[0].phone}, "input": {input}})
		}
		hop("1", "1")
		page = hop("2", demoMembers[0].pin)
		assert.Contains(t, page, "Sukarela Rp1.250.000")

		metrics := get("/metrics")
		var training []string
		for _, l := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(l, "lumbung_ussd_hops_total{") && strings.Contains(l, `provider="training"`) {
				training = append(training, l)
			}
		}
		assert.NotEmpty(t, training, "training hops are counted with the telcos' hops")
		assert.Contains(t, env.logs.String(), "training phone hop")
	})
}
