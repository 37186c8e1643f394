// Package ussdtest holds helpers for testing the ussd package and what is
// built on it against real backends.
package ussdtest

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// DefaultRedisURL is used when LUMBUNG_TEST_REDIS_URL is not set.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// BackendsRequired reports whether tests must fail, rather than skip, when a
// backend (Redis, PostgreSQL) is unreachable: in CI (CI=true) or when
// LUMBUNG_TEST_REQUIRE_BACKENDS=1. One rule for every backend.
func BackendsRequired() bool { return ledgertest.BackendsRequired() }

// Redis returns a client for the test Redis (LUMBUNG_TEST_REDIS_URL, default
// DefaultRedisURL) and a key prefix of the form "lumbungtest:<random>:"
// unique to this test. When the test ends, every key under the prefix is
// deleted and the client is closed. If Redis is unreachable the test is
// skipped, or fails when BackendsRequired.
func Redis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	url := os.Getenv("LUMBUNG_TEST_REDIS_URL")
	if url == "" {
		url = DefaultRedisURL
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("LUMBUNG_TEST_REDIS_URL %q: %v", url, err)
	}
	unreachable := func(err error) {
		t.Helper()
		if BackendsRequired() {
			t.Fatalf("Redis is required (CI=true or LUMBUNG_TEST_REQUIRE_BACKENDS=1) but %s is unreachable: %v", opts.Addr, err)
		}
		t.Skipf("Redis at %s is unreachable (%v); start one or set LUMBUNG_TEST_REDIS_URL, and set LUMBUNG_TEST_REQUIRE_BACKENDS=1 to fail instead of skip", opts.Addr, err)
	}
	// A plain dial first: the client retries a refused dial for seconds,
	// which would make every skipped test slow.
	conn, err := net.DialTimeout(opts.Network, opts.Addr, time.Second)
	if err != nil {
		unreachable(err)
	}
	_ = conn.Close()

	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		unreachable(err)
	}

	prefix := "lumbungtest:" + strings.ToLower(rand.Text()) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		defer client.Close()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan test keys %s*: %v", prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("delete test keys %s*: %v", prefix, err)
			}
		}
	})
	return client, prefix
}
