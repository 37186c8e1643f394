package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/api"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "openapi.json is a valid document")
	doc.Servers = openapi3.Servers{{URL: "http://example.com/api/v1"}} // httptest's host
	return doc
}

var echoParam = regexp.MustCompile(`:([a-z_]+)`)

// TestOpenAPIDescribesEveryRoute: every route the server registers is in
// openapi.json and every operation there is a route; GET
// /api/v1/openapi.json serves it without a token.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	var described []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, method+" "+path)
		}
	}
	var registered []string
	for _, r := range (&api.Server{}).Routes() {
		registered = append(registered, r[0]+" "+echoParam.ReplaceAllString(r[1], "{$1}"))
	}
	sort.Strings(described)
	sort.Strings(registered)
	assert.Equal(t, registered, described)

	f := newFixture(t, ledgertest.SQLite(t))
	a := f.do("GET", "/api/v1/openapi.json", "", "", "")
	require.Equal(t, http.StatusOK, a.Status)
	assert.JSONEq(t, string(api.OpenAPI), a.Body)
}

// conformsToOpenAPI checks every answer against its operation's response
// schema (status, content type, body).
func conformsToOpenAPI(t *testing.T, answers []answer) {
	t.Helper()
	doc := loadOpenAPI(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	checked := 0
	for _, a := range answers {
		if strings.HasSuffix(a.req.URL.Path, "/openapi.json") {
			continue
		}
		req := a.req.Clone(context.Background())
		req.Body = io.NopCloser(strings.NewReader(""))
		req.URL.Scheme, req.URL.Host = "http", "example.com"
		route, params, err := router.FindRoute(req)
		if err != nil { // an unknown endpoint: its 404 still has the error shape
			assert.Contains(t, a.Body, `"error"`, a.req.URL.Path)
			continue
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
			Status: a.Status, Header: a.Header, Body: io.NopCloser(bytes.NewReader([]byte(a.Body))),
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		assert.NoError(t, openapi3filter.ValidateResponse(context.Background(), in), "%s %s → %d %s", a.req.Method, a.req.URL, a.Status, a.Body)
		checked++
	}
	assert.Positive(t, checked)
}

// FuzzDecodeBody: no body makes the API panic, answer 500, or answer
// anything but its JSON shapes; a body that is not a proper request is a
// 4xx.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{"member_no":"A-001","account":"wajib","amount":1}`, `{}`, `[]`, `null`, `{"amount":1e400}`,
		`{"amount":"1"}`, `{"a":1,"a":2}`, "{\"note\":\"\\u0000\"}", `{"member_no":"A-001"`, `{"x":{"y":[1,2,{}]}}`, ``} {
		f.Add(s)
	}
	fx := newFixture(f, ledgertest.SQLite(f))
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/api/v1/deposits", "/api/v1/repayments", "/api/v1/members", "/api/v1/loans", "/api/v1/journals/1/reversal"} {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+fx.token)
			r.Header.Set("Idempotency-Key", fmt.Sprintf("fuzz-%x", sha256.Sum256([]byte(path+body))))
			w := httptest.NewRecorder()
			fx.echo.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body)
			}
			if w.Code >= 400 && !strings.Contains(w.Body.String(), `"error":{"code":`) {
				t.Fatalf("%s %q: %d without the error shape: %s", path, body, w.Code, w.Body)
			}
		}
	})
}

// FuzzStatementCursor: any cursor a client sends is a 400 or a page, never
// a 500.
func FuzzStatementCursor(f *testing.F) {
	for _, s := range []string{"", "ajQ", "zz", "ajA", "%00", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	fx := newFixture(f, ledgertest.SQLite(f))
	f.Fuzz(func(t *testing.T, cursor string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/members/A-001/statement", nil)
		q := r.URL.Query()
		q.Set("cursor", cursor)
		r.URL.RawQuery = q.Encode()
		r.Header.Set("Authorization", "Bearer "+fx.token)
		w := httptest.NewRecorder()
		fx.echo.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("cursor %q: %d %s", cursor, w.Code, w.Body)
		}
	})
}
