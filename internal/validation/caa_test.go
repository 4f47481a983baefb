package validation_test

import (
	"testing"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/validation"
)

func TestCAAMethodName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method validation.Method
		want   string
	}{
		{"dns", validation.MethodDNS, "ca-dnsauth"},
		{"file", validation.MethodFile, "ca-fileauth"},
		{"unknown", validation.Method("acme-dns-01"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := validation.CAAMethodName(tt.method); got != tt.want {
				t.Errorf("CAAMethodName(%q) = %q, want %q", tt.method, got, tt.want)
			}
		})
	}
}

func TestObserveCAA(t *testing.T) {
	t.Parallel()
	const identity = "ca.dcv.test"
	tests := []struct {
		name          string
		domain        string
		records       []string
		wantPermitted bool
		wantReason    string
		wantRelevant  string
	}{
		{name: "no caa", domain: "a.example.com", wantPermitted: true},
		{name: "our ca listed", domain: "a.example.com",
			records:       []string{`example.com. CAA 0 issue "ca.dcv.test"`},
			wantPermitted: true, wantRelevant: "example.com"},
		{name: "other ca only", domain: "a.example.com",
			records:    []string{`example.com. CAA 0 issue "other.test"`},
			wantReason: caa.ReasonNotListed, wantRelevant: "example.com"},
		{name: "method bound to dns", domain: "a.example.com",
			records:       []string{`a.example.com. CAA 0 issue "ca.dcv.test; validationmethods=ca-dnsauth"`},
			wantPermitted: true, wantRelevant: "a.example.com"},
		{name: "method bound to file", domain: "a.example.com",
			records:    []string{`a.example.com. CAA 0 issue "ca.dcv.test; validationmethods=ca-fileauth"`},
			wantReason: caa.ReasonMethodMismatch, wantRelevant: "a.example.com"},
		{name: "wildcard governed by issuewild", domain: "*.example.com",
			records:    []string{`example.com. CAA 0 issue "ca.dcv.test"`, `example.com. CAA 0 issuewild ";"`},
			wantReason: caa.ReasonEmptyIssuer, wantRelevant: "example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := setupDNS(t, identity, 0)
			// CAA climbs to the TLD: the server must answer for it too.
			w.dns.AddZone("com")
			w.dns.Add(`_dnsauth.a.example.com. TXT "`+testValue+`"`, `_dnsauth.example.com. TXT "`+testValue+`"`)
			w.dns.Add(tt.records...)
			obs, err := w.v.Observe(t.Context(), validation.Request{Domain: tt.domain, Method: validation.MethodDNS, Value: testValue})
			if err != nil {
				t.Fatal(err)
			}
			r := obs.CAA
			if r == nil {
				t.Fatal("no CAA result with a CAA identity configured")
			}
			if r.Identity != identity || r.Permitted != tt.wantPermitted || r.Reason != tt.wantReason || r.RelevantName != tt.wantRelevant {
				t.Errorf("CAA result identity=%q permitted=%t reason=%q relevant=%q, want %q %t %q %q (trace %+v)",
					r.Identity, r.Permitted, r.Reason, r.RelevantName, identity, tt.wantPermitted, tt.wantReason, tt.wantRelevant, r.Trace)
			}
		})
	}
}
