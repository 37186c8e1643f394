package sms_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/sms"
)

func TestReportSigner(t *testing.T) {
	_, err := sms.NewReportSigner([]byte("short"))
	require.Error(t, err)
	other, err := sms.NewReportSigner([]byte(strings.Repeat("x", 32)))
	require.NoError(t, err)
	tok := testReports.Token(4211)
	assert.Len(t, tok, 32, "16 bytes, hex")
	assert.Equal(t, tok, testReports.Token(4211), "the same on every instance")
	assert.NotEqual(t, tok, testReports.Token(4212))
	assert.NotEqual(t, tok, other.Token(4211), "another secret, another token")
	sealer, err := sms.NewReportSigner([]byte(testSecret))
	require.NoError(t, err)
	assert.NotEqual(t, sealer.Token(1), other.Token(1))
	for _, c := range []struct {
		id    int64
		token string
		want  bool
	}{
		{4211, tok, true},
		{4212, tok, false},
		{4211, "", false},
		{4211, tok[:31], false},
		{0, testReports.Token(0), false},
		{-1, testReports.Token(-1), false},
	} {
		assert.Equal(t, c.want, testReports.Check(c.id, c.token), "%d %q", c.id, c.token)
	}
	var none *sms.ReportSigner
	assert.False(t, none.Check(4211, tok), "no signer accepts nothing")
	_, err = sms.Kannel{}.ParseReport(httptest.NewRequest(http.MethodGet, "/sms/kannel/dlr?mid=4211&t="+tok+"&type=1", nil))
	assert.ErrorIs(t, err, sms.ErrBadSignature, "a Kannel without a signer refuses every report")
}

// outboxAt is one outbox message moved to where a gateway left it.
func outboxAt(t *testing.T, db *ledger.DB, coopID int64, key, status, provider, providerID string, now time.Time) int64 {
	t.Helper()
	id := queue(t, db, coopID, ledger.OutboxMessage{CooperativeID: coopID, Key: key, Phone: mariaPhone, Template: ledger.TmplPINChanged}, now)
	var prov, pid any
	if provider != "" {
		prov = provider
	}
	if providerID != "" {
		pid = providerID
	}
	_, err := db.ExecContext(context.Background(), db.Rebind(`UPDATE outbox SET status = ?, provider = ?, provider_id = ?, attempts = 1 WHERE id = ?`),
		status, prov, pid, id)
	require.NoError(t, err)
	return id
}

// Delivery reports through the real handler: Kannel's carry the token of
// the message they name, Africa's Talking's AT's own message id.
func TestDeliveryReportCallbacks(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		now := time.Now()
		coop := ledgertest.NewCoop(t, db, "CB")
		e := echo.New()
		h := &sms.Handler{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		h.Register(e.Group("/sms"), sms.Kannel{Reports: testReports}, sms.AfricasTalking{})
		do := func(method, target string, form url.Values) int {
			var body io.Reader
			if form != nil {
				body = strings.NewReader(form.Encode())
			}
			req := httptest.NewRequest(method, target, body)
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			return rec.Code
		}
		n := 0
		for _, c := range []struct {
			label                  string
			status, provider, atID string                              // the message before
			dlr                    func(id int64) (string, url.Values) // GET target, or POST form to AT's
			code                   int
			want                   string // its status after
		}{
			{"the right token moves it", "submitted", "kannel", "", kannelDLR(func(id int64) string { return testReports.Token(id) }, "1"), 200, "delivered"},
			{"the right token, failed", "sent", "kannel", "", kannelDLR(func(id int64) string { return testReports.Token(id) }, "2"), 200, "failed"},
			{"no token", "submitted", "kannel", "", kannelDLR(func(int64) string { return "" }, "1"), 403, "submitted"},
			{"a wrong token", "submitted", "kannel", "", kannelDLR(func(int64) string { return strings.Repeat("0", 32) }, "1"), 403, "submitted"},
			{"the next message's token", "submitted", "kannel", "", kannelDLR(func(id int64) string { return testReports.Token(id + 1) }, "16"), 403, "submitted"},
			{"another provider's message", "submitted", "twilio", "", kannelDLR(func(id int64) string { return testReports.Token(id) }, "1"), 200, "submitted"},
			{"a message not yet sent", "queued", "", "", kannelDLR(func(id int64) string { return testReports.Token(id) }, "1"), 200, "queued"},
			{"AT's id moves AT's message", "submitted", "africastalking", "ATXid_a1", atDLR("ATXid_a1"), 200, "delivered"},
			{"lumbung's sequential id does not", "submitted", "africastalking", "ATXid_a2", func(id int64) (string, url.Values) {
				return "/sms/africastalking/dlr?mid=" + fmt.Sprint(id), url.Values{"id": {fmt.Sprint(id)}, "status": {"Success"}}
			}, 200, "submitted"},
			{"AT's id on another provider's message", "submitted", "kannel", "ATXid_a3", atDLR("ATXid_a3"), 200, "submitted"},
		} {
			t.Run(c.label, func(t *testing.T) {
				n++
				id := outboxAt(t, db, coop.ID, fmt.Sprintf("cb-%d", n), c.status, c.provider, c.atID, now)
				target, form := c.dlr(id)
				method := http.MethodGet
				if form != nil {
					method = http.MethodPost
				}
				assert.Equal(t, c.code, do(method, target, form))
				assert.Equal(t, c.want, row(t, db, id).Status)
			})
		}
	})
}

func kannelDLR(token func(id int64) string, typ string) func(int64) (string, url.Values) {
	return func(id int64) (string, url.Values) {
		q := fmt.Sprintf("/sms/kannel/dlr?mid=%d&type=%s&reply=x&fid=", id, typ)
		if tok := token(id); tok != "" {
			q += "&t=" + tok
		}
		return q, nil
	}
}

func atDLR(atID string) func(int64) (string, url.Values) {
	return func(int64) (string, url.Values) {
		return "/sms/africastalking/dlr", url.Values{"id": {atID}, "status": {"Success"}}
	}
}

// Only the gateways given to Register answer; RegisterInbound mounts no
// delivery reports.
func TestRegisterMountsOnlyWhatItIsGiven(t *testing.T) {
	db := ledgertest.SQLite(t)
	h := &sms.Handler{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e := echo.New()
	h.Register(e.Group("/sms"), sms.Twilio{})
	e2 := echo.New()
	h.RegisterInbound(e2.Group("/sms"), sms.Kannel{})
	code := func(e *echo.Echo, method, target string) int {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader("")))
		return rec.Code
	}
	assert.Equal(t, http.StatusBadRequest, code(e, http.MethodPost, "/sms/twilio"), "mounted (and wants a form)")
	assert.Equal(t, http.StatusBadRequest, code(e, http.MethodPost, "/sms/twilio/status?mid=1"))
	for _, p := range []string{"/sms/kannel", "/sms/kannel/dlr?mid=1&type=1", "/sms/africastalking", "/sms/africastalking/dlr"} {
		assert.Equal(t, http.StatusNotFound, code(e, http.MethodGet, p), p)
		assert.Equal(t, http.StatusNotFound, code(e, http.MethodPost, p), p)
	}
	assert.Equal(t, http.StatusNotFound, code(e2, http.MethodGet, "/sms/kannel/dlr?mid=1&type=1"))
	assert.Equal(t, http.StatusBadRequest, code(e2, http.MethodGet, "/sms/kannel"), "inbound is there (and wants its fields)")
}
