package caa

import (
	"context"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// TestEvaluateRefusalDetail checks what a refusal records for diagnosis:
// the property that decided it and the RFC 8657 values matched.
func TestEvaluateRefusalDetail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		caa      []string
		reason   string
		property string
	}{
		{name: "account mismatch keeps the property", caa: []string{`0 issue "other.example"`, `0 issue "dcv.example; accounturi=https://dcv.example/acct/9"`},
			reason: ReasonAccountMismatch, property: "dcv.example; accounturi=https://dcv.example/acct/9"},
		{name: "method mismatch keeps the property", caa: []string{`0 issue "dcv.example; validationmethods=http-01"`},
			reason: ReasonMethodMismatch, property: "dcv.example; validationmethods=http-01"},
		{name: "a matching property wins over an excluding one", caa: []string{`0 issue "dcv.example; validationmethods=http-01"`, `0 issue "dcv.example"`}},
		{name: "malformed property meant for us", caa: []string{`0 issue "other.example"`, `0 issue "dcv.example; accounturi"`},
			reason: ReasonMalformed, property: "dcv.example; accounturi"},
		{name: "malformed property of another CA is not ours", caa: []string{`0 issue "other.example"`, `0 issue "third.example;;"`},
			reason: ReasonNotListed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &fakeResolver{t: t, answers: map[string]answer{"shop.dev.": {caa: tt.caa}}}
			res := Evaluate(context.Background(), r, "shop.dev", dnsAuth)
			if res.Permitted != (tt.reason == "") || res.Reason != tt.reason || res.Property != tt.property {
				t.Errorf("Permitted %t Reason %q Property %q, want reason %q property %q", res.Permitted, res.Reason, res.Property, tt.reason, tt.property)
			}
			if res.AccountURI != dnsAuth.AccountURI || res.Method != dnsAuth.Method {
				t.Errorf("AccountURI %q Method %q, want the params evaluated", res.AccountURI, res.Method)
			}
		})
	}
}

// bogusResolver answers every CAA lookup NOERROR with a record allowing us,
// but with a DNSSEC status of bogus.
type bogusResolver struct{ dnsclient.Resolver }

func (bogusResolver) Lookup(_ context.Context, name string, _ uint16) (*dnsclient.Response, error) {
	return &dnsclient.Response{Name: name, Type: "CAA", Rcode: "NOERROR", Server: "192.0.2.53:53",
		DNSSEC: "bogus", DNSSECReason: dnsclient.ReasonSignatureExpired + "2025-01-01T00:00:00Z for shop.dev. CAA",
		Answer: []dnsclient.Record{{Name: name, Type: "CAA", Tag: "issue", Value: us}}}, nil
}

func TestEvaluateBogusFailsClosed(t *testing.T) {
	t.Parallel()
	res := Evaluate(context.Background(), bogusResolver{}, "shop.dev", dnsAuth)
	if res.Permitted || res.Reason != ReasonLookupFailed || res.FailedName != "shop.dev" || res.Failure == nil {
		t.Fatalf("result %+v, want lookup_failed at shop.dev", res)
	}
	if len(res.Trace) != 1 || res.Trace[0].Response == nil || res.Trace[0].Response.DNSSEC != "bogus" {
		t.Errorf("trace %+v, want the bogus answer kept", res.Trace)
	}
}
