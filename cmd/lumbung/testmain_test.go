package main

import (
	"os"
	"testing"

	"github.com/lumbung-id/lumbung/sms/smstest"
)

func TestMain(m *testing.M) {
	if os.Getenv(senderChildEnv) == "1" {
		os.Exit(runSenderChild())
	}
	smstest.InstallLoopbackOnly() // in tests, outbound HTTP to any non-loopback host fails
	os.Exit(m.Run())
}
