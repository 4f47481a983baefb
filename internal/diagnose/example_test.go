package diagnose_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestWorkedCases checks, word for word, what an applicant reads in three
// typical cases (the package's worked examples).
func TestWorkedCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func() string
		want string
	}{
		{
			// The applicant typed the full host name into a DNS provider
			// that appends the zone itself; the probe at the doubled name
			// found the value.
			name: "doubled zone",
			run: func() string {
				const value = "k3VhQ2x5b1p0N2RvY3Vz"
				txt := dnsclient.Record{Type: "TXT", Data: value, Strings: []string{value}}
				obs := validation.Observation{
					Domain:   "a.example.com",
					Method:   validation.MethodDNS,
					Expected: value,
					DNS: &validation.DNSObservation{
						Host: "_dnsauth.a.example.com",
						Record: validation.Lookup{Name: "_dnsauth.a.example.com.", Type: "TXT",
							Response: &dnsclient.Response{Server: "192.0.2.53:53", Rcode: "NXDOMAIN"}},
						Probes: []validation.Probe{{Kind: validation.ProbeDoubledZone, Lookup: validation.Lookup{
							Name: "_dnsauth.a.example.com.example.com.", Type: "TXT",
							Response: &dnsclient.Response{Server: "192.0.2.53:53", Rcode: "NOERROR", Answer: []dnsclient.Record{txt}}}}},
					},
				}
				r := diagnose.Domain([]validation.Observation{obs}, time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC))
				var b strings.Builder
				fmt.Fprintln(&b, r.Status)
				for _, f := range r.Findings {
					fmt.Fprintln(&b, f.Code)
					fmt.Fprintln(&b, f.Message)
					fmt.Fprintln(&b, f.Fix)
				}
				return b.String()
			},
			want: "pending\n" +
				"DNS_WRONG_HOST\n" +
				"The value was found at _dnsauth.a.example.com.example.com: your DNS provider appended the zone name to the full host you typed.\n" +
				"In the host field type `_dnsauth.a` (the provider adds `.example.com` itself), or the full name with a trailing dot `_dnsauth.a.example.com.`.\n",
		},
		{
			name: "checked too often",
			run: func() string {
				now := time.Date(2025, 6, 1, 18, 0, 50, 0, time.UTC)
				f := diagnose.CheckTooFrequent(now.Add(250*time.Second), time.Time{}, now)
				return fmt.Sprintln(f.Code, f.Severity) + fmt.Sprintln(f.Message)
			},
			want: "CHECK_TOO_FREQUENT warning\n" +
				"This order was checked recently (by you, or by dcv on its own), and one check is allowed per check interval; retry in 4 minutes 10 seconds (at 18:05:00 UTC).\n",
		},
		{
			name: "control characters shown as escapes",
			run:  func() string { return diagnose.Truncate("value\r\n\u202eevil", 12) },
			want: `value\r\n…`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.run(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
