package diagnose

import (
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

func TestTLSALPN(t *testing.T) {
	t.Parallel()
	const want = "aa"
	ok := validation.TLSALPNObservation{Port: 443, Address: "192.0.2.1:443", Protocol: "acme-tls/1", SANs: []string{"a.example.com"},
		ExtensionFound: true, ExtensionCritical: true, ExtensionValue: want, ExpectedValue: want}
	tests := []struct {
		name    string
		mod     func(o *validation.TLSALPNObservation)
		code    Code
		message string
	}{
		{"match", func(*validation.TLSALPNObservation) {}, "", ""},
		{"refused", func(o *validation.TLSALPNObservation) {
			o.Error = &webfetch.Error{Kind: webfetch.ErrConnectionRefused, Address: "192.0.2.1:443"}
		}, CodeTLSALPNUnreachable, "No TLS connection to 192.0.2.1:443 for tls-alpn-01: the connection was refused (nothing listens on port 443)."},
		{"no protocol", func(o *validation.TLSALPNObservation) { o.Protocol = "" }, CodeTLSALPNNotNegotiated,
			"The TLS server at 192.0.2.1:443 did not negotiate the acme-tls/1 protocol: it is not an ACME tls-alpn-01 responder."},
		{"wrong names", func(o *validation.TLSALPNObservation) { o.SANs = []string{"b.example.com", "a.example.com"} }, CodeTLSALPNWrongCertificate,
			"The certificate presented at 192.0.2.1:443 names b.example.com, a.example.com; for tls-alpn-01 it must name exactly a.example.com."},
		{"not critical", func(o *validation.TLSALPNObservation) { o.ExtensionCritical = false }, CodeTLSALPNBadExtension,
			"The acmeIdentifier extension of the certificate at 192.0.2.1:443 is not marked critical (RFC 8737 §3 requires it)."},
		{"other digest", func(o *validation.TLSALPNObservation) { o.ExtensionValue = "bb" }, CodeTLSALPNBadExtension,
			"The acmeIdentifier extension of the certificate at 192.0.2.1:443 holds bb, not the digest of this challenge's key authorization (aa): it answers another challenge."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := ok
			tt.mod(&o)
			r := Domain([]validation.Observation{{Domain: "a.example.com", Method: validation.MethodTLSALPN01, Expected: "keyauth", TLSALPN: &o}}, time.Time{})
			if tt.code == "" {
				if r.Status != StatusApproved {
					t.Fatalf("not approved: %+v", r.Findings)
				}
				return
			}
			if r.Status != StatusPending || len(r.Findings) != 1 || r.Findings[0].Code != tt.code || r.Findings[0].Message != tt.message || r.Findings[0].Fix == "" {
				t.Fatalf("got %+v; want %s %q", r.Findings, tt.code, tt.message)
			}
		})
	}
}
