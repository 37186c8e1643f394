// Package ussdtest holds what tests need to drive lumbung's USSD endpoints
// like a handset behind a telco would. The handset itself is handset.Phone
// (non-test code, so that `lumbung phone` and `lumbung loadtest` link no
// test package); the names here are kept for the tests.
package ussdtest

import "github.com/lumbung-id/lumbung/ussd/handset"

// Screen is what the handset shows after one hop.
type Screen = handset.Screen

// Phone dials a running lumbung the way a telco gateway would (handset.Phone).
type Phone = handset.Phone

// Providers the phone can speak.
const (
	AfricasTalking = handset.ProviderAfricasTalking
	Hubtel         = handset.ProviderHubtel
	Freeflow       = handset.ProviderFreeflow
)

// NewPhone returns a phone for msisdn dialling code at baseURL.
func NewPhone(baseURL, msisdn, code string) *Phone { return handset.NewPhone(baseURL, msisdn, code) }
