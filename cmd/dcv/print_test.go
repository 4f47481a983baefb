package main

import (
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/client"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/order"
)

// TestPrintOrderKinds: dcv order show prints what to publish for a DNS
// order, that an ACME order is validated by its ACME client (its stored
// value is no TXT value), and suggests dcv cert get only when the view
// links a certificate the reader may download.
func TestPrintOrderKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		o           client.Order
		want, never []string
	}{
		{
			name:  "pending dns order",
			o:     client.Order{ID: "ord_1", Status: "pending", Method: "dns", Domains: []order.DomainView{{Domain: "a.example.com", Status: "pending", Method: "dns", Instructions: order.Instructions{Type: "TXT", Host: "_dnsauth.a.example.com", Value: "v1"}}}},
			want:  []string{`publish a DNS record:  _dnsauth.a.example.com  TXT  "v1"`, "when published: dcv order check ord_1"},
			never: []string{"ACME", "next check allowed"},
		},
		{
			name: "pending dns order checked a moment ago",
			o: client.Order{ID: "ord_6", Status: "pending", Method: "dns", NextCheckAt: new(time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)),
				Domains: []order.DomainView{{Domain: "f.example.com", Status: "pending", Method: "dns", Instructions: order.Instructions{Type: "TXT", Host: "_dnsauth.f.example.com", Value: "v6"}}}},
			want: []string{"next check allowed at 2999-01-01T00:00:00Z"},
		},
		{
			name:  "invalid acme order read by an admin",
			o:     client.Order{ID: "ord_2", Status: "invalid", Method: "acme", ReadOnly: true, Error: "connection: the authorizations of 2 identifiers failed", Domains: []order.DomainView{{Domain: "b.example.com", Status: "invalid", Method: "acme"}}},
			want:  []string{"status invalid", "no challenge answered yet (the ACME client answers them)", "its ACME client answers the challenges", "error: connection: the authorizations"},
			never: []string{"dcv cert get", "DNS record", "with content", "dcv order check", "perspectives:"},
		},
		{
			name: "acme order with a failed and a validated domain, seen by two perspectives",
			o: client.Order{ID: "ord_7", Status: "invalid", Method: "acme", ReadOnly: true, Domains: []order.DomainView{
				{Domain: "g.example.com", Status: "invalid", Method: "acme",
					Challenge: &order.DomainChallenge{Type: "http-01", Status: "invalid", StartedAt: new(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))},
					Findings:  []diagnose.Finding{{Code: "FILE_NOT_FOUND", Severity: diagnose.SeverityError, Message: "The web server answered 404.", Fix: "Serve the file."}},
					Matrix: []diagnose.PerspectiveRow{{Perspective: "primary", Seen: "HTTP 404", Verdict: diagnose.VerdictFail},
						{Perspective: "eu-1", RIR: "RIPE", Seen: "HTTP 404", Verdict: diagnose.VerdictFail}}},
				{Domain: "h.example.com", Status: "valid", Method: "acme",
					Challenge: &order.DomainChallenge{Type: "dns-01", Status: "valid", ValidatedAt: new(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))}},
				{Domain: "i.example.com", Status: "pending", Method: "acme",
					Challenge: &order.DomainChallenge{Type: "tls-alpn-01", Status: "processing", StartedAt: new(time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC))}},
			}},
			want: []string{"ACME http-01 failed at 2026-11-27T10:00:00Z", "ERROR   FILE_NOT_FOUND: The web server answered 404.", "fix: Serve the file.",
				"perspectives:", "eu-1 (RIPE)", "validated by ACME dns-01 at 2026-11-27T09:00:00Z", "ACME tls-alpn-01 being validated since 2026-11-27T11:00:00Z"},
			never: []string{"no challenge answered yet"},
		},
		{
			name:  "another account's pending order read by an admin",
			o:     client.Order{ID: "ord_4", Status: "pending", Method: "dns", ReadOnly: true, Domains: []order.DomainView{{Domain: "d.example.com", Status: "pending", Method: "dns", Instructions: order.Instructions{Type: "TXT", Host: "_dnsauth.d.example.com", Value: "v4"}}}},
			want:  []string{"to be checked by the order's own account"},
			never: []string{"dcv order check", "dcv cert get"},
		},
		{
			name:  "another account's issued order read by an admin",
			o:     client.Order{ID: "ord_5", Status: "issued", Method: "dns", ReadOnly: true, Domains: []order.DomainView{{Domain: "e.example.com", Status: "issued", Method: "dns", Instructions: order.Instructions{Type: "TXT", Host: "_dnsauth.e.example.com", Value: "v5"}}}},
			want:  []string{"certificate issued, to be downloaded by the order's own account"},
			never: []string{"dcv cert get"},
		},
		{
			name: "issued order of the reader",
			o:    client.Order{ID: "ord_3", Status: "issued", Method: "dns", Certificate: "/api/v1/orders/ord_3/certificate", Domains: []order.DomainView{{Domain: "c.example.com", Status: "issued", Method: "dns", Instructions: order.Instructions{Type: "TXT", Host: "_dnsauth.c.example.com", Value: "v3"}}}},
			want: []string{"certificate issued: dcv cert get ord_3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			printOrder(&b, &tt.o)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
			for _, n := range tt.never {
				if strings.Contains(b.String(), n) {
					t.Errorf("output has %q:\n%s", n, b.String())
				}
			}
		})
	}
}

// TestPrintPreflightLocalResolver: dcv check runs on the user's machine,
// so a finding that blames "the certificate authority's side" (its own
// resolver) is told as this machine's resolution, not as something to
// report to a CA operator.
func TestPrintPreflightLocalResolver(t *testing.T) {
	t.Parallel()
	r := &order.PreflightResult{Domain: "a.example.com", Method: "dns", Value: "v", Status: "pending", Findings: []diagnose.Finding{{
		Code: diagnose.CodeResolverUnavailable, Severity: diagnose.SeverityError, Retryable: true,
		Message: "dcv could not look up a.example.com: 127.0.0.53:53, dcv's own recursive resolver, could not be reached.",
		Fix:     "Nothing to change on your side: check again later. If it persists, tell the certificate authority's operator that its DNS resolution is down (its resolver or its network).",
	}}}
	var b strings.Builder
	printPreflight(&b, r)
	if !strings.Contains(b.String(), "here: dcv check ran on this machine") || strings.Contains(b.String(), "tell the certificate authority's operator") {
		t.Errorf("output:\n%s", b.String())
	}
}

// TestOrderLine: dcv order list tells an approved order whose issuance
// failed from one about to be issued.
func TestOrderLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    client.Order
		want bool // says the issuance failed
	}{
		{"about to be issued", client.Order{ID: "ord_1", Status: "approved", Method: "dns"}, false},
		{"issuance failed", client.Order{ID: "ord_2", Status: "approved", Method: "dns", Error: "issuance failed: a lint"}, true},
	}
	for _, tt := range tests {
		if got := strings.Contains(orderLine(tt.o), "issuance failed"); got != tt.want {
			t.Errorf("%s: %q says the issuance failed: %v, want %v", tt.name, orderLine(tt.o), got, tt.want)
		}
	}
}

// TestOrderLineUnicode: dcv order list shows an internationalised name as
// order show does, in Unicode with its A-label form (black-box run: the
// A-label alone).
func TestOrderLineUnicode(t *testing.T) {
	t.Parallel()
	o := client.Order{ID: "ord_1", Status: "pending", Method: "dns", Domains: []order.DomainView{
		{Domain: "www.xn--bcher-kva.com", Unicode: "www.bücher.com", Method: "dns"}, {Domain: "a.example.com", Method: "dns"}}}
	if got := orderLine(o); !strings.HasSuffix(got, "www.bücher.com (www.xn--bcher-kva.com),a.example.com") {
		t.Errorf("line %q; want the Unicode name with its A-labels, then the ASCII one", got)
	}
}
