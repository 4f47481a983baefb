package main

import (
	"strings"
	"testing"

	"github.com/dcvhq/dcv/client"
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
			never: []string{"ACME"},
		},
		{
			name:  "issued acme order read by an admin",
			o:     client.Order{ID: "ord_2", Status: "issued", Method: "acme", Domains: []order.DomainView{{Domain: "b.example.com", Status: "issued", Method: "acme"}}},
			want:  []string{"validated through ACME challenges", "certificate issued, to be downloaded by the order's own account"},
			never: []string{"dcv cert get", "DNS record", "with content"},
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
