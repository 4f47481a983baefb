package diagnose_test

import (
	"fmt"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
)

// The applicant typed the full host name into a DNS provider that appends
// the zone itself; the probe at the doubled name found the value.
func ExampleDomain() {
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
	fmt.Println(r.Status)
	for _, f := range r.Findings {
		fmt.Println(f.Code)
		fmt.Println(f.Message)
		fmt.Println(f.Fix)
	}
	// Output:
	// pending
	// DNS_WRONG_HOST
	// The value was found at _dnsauth.a.example.com.example.com: your DNS provider appended the zone name to the full host you typed.
	// In the host field type `_dnsauth.a` (the provider adds `.example.com` itself), or the full name with a trailing dot `_dnsauth.a.example.com.`.
}

func ExampleCheckTooFrequent() {
	now := time.Date(2025, 6, 1, 18, 0, 50, 0, time.UTC)
	f := diagnose.CheckTooFrequent(now.Add(250*time.Second), now)
	fmt.Println(f.Code, f.Severity)
	fmt.Println(f.Message)
	// Output:
	// CHECK_TOO_FREQUENT warning
	// This order was checked moments ago; retry in 4 minutes 10 seconds (at 18:05:00 UTC).
}

func ExampleTruncate() {
	fmt.Println(diagnose.Truncate("value\r\n\u202eevil", 12))
	// Output:
	// value\r\n…
}
