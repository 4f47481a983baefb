package diagnose

import (
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// TestAddressDisagreement: a failed file check whose domain's nameservers
// give different addresses says which gives which; servers of different
// zone versions may catch up (retryable), servers of the same version
// answer differently on purpose or by mistake (waiting does not help).
func TestAddressDisagreement(t *testing.T) {
	t.Parallel()
	view := func(serial1, serial2 uint32) *dnsclient.ZoneView {
		a := func(ip string) *dnsclient.Response {
			return &dnsclient.Response{Name: "example.com.", Type: "A", Rcode: "NOERROR", Answer: []dnsclient.Record{{Name: "example.com.", Type: "A", Data: ip}}}
		}
		return &dnsclient.ZoneView{Zone: "example.com.", Servers: []dnsclient.ServerView{
			{NS: "ns1.example.com.", Address: "192.0.2.1:53", Answer: a("192.0.2.10"), SOASerial: serial1},
			{NS: "ns2.example.com.", Address: "192.0.2.2:53", Answer: a("192.0.2.20"), SOASerial: serial2},
		}}
	}
	tests := []struct {
		name      string
		view      *dnsclient.ZoneView
		words     []string
		retryable bool
	}{
		{"different versions", view(2, 1), []string{"give different A records for example.com: ns1.example.com at 192.0.2.1:53 (SOA serial 2) gives 192.0.2.10; ns2.example.com at 192.0.2.2:53 (SOA serial 1) gives 192.0.2.20", "wait until every nameserver serves it"}, true},
		{"the same version", view(7, 7), []string{"from the same version of the zone", "every address it gives must serve the file"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := fileObs(trace(httpURL, failed("192.0.2.20:80", webfetch.ErrConnectionRefused, "", 0)))
			o.File.AddressViews = []*dnsclient.ZoneView{tt.view}
			fs := Domain([]validation.Observation{o}, testNow).Findings
			if len(fs) == 0 {
				t.Fatal("no finding")
			}
			for _, w := range tt.words {
				if !strings.Contains(fs[0].Message, w) {
					t.Errorf("%s: %q lacks %q", fs[0].Code, fs[0].Message, w)
				}
			}
			if fs[0].Retryable != tt.retryable {
				t.Errorf("%s retryable %v, want %v", fs[0].Code, fs[0].Retryable, tt.retryable)
			}
		})
	}
}

// TestAddressLagFix: a domain whose lookup reached a nameserver without
// the address another one serves, of a newer version, is told to bring
// its nameservers in line, not to add an address record it has.
func TestAddressLagFix(t *testing.T) {
	t.Parallel()
	nx := &dnsclient.Response{Name: "example.com.", Type: "A", Rcode: "NXDOMAIN"}
	has := &dnsclient.Response{Name: "example.com.", Type: "A", Rcode: "NOERROR", Answer: []dnsclient.Record{{Name: "example.com.", Type: "A", Data: "192.0.2.10"}}}
	o := fileObs(&webfetch.Trace{URL: httpURL, Host: "example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSNXDomain, Address: "192.0.2.2:53", Detail: "A example.com.: NXDOMAIN"}})
	o.File.AddressViews = []*dnsclient.ZoneView{{Zone: "example.com.", Servers: []dnsclient.ServerView{
		{NS: "ns1.example.com.", Address: "192.0.2.1:53", Answer: has, SOASerial: 8},
		{NS: "ns2.example.com.", Address: "192.0.2.2:53", Answer: nx, SOASerial: 7},
	}}}
	fs := Domain([]validation.Observation{o}, testNow).Findings
	if len(fs) == 0 || fs[0].Code != CodeDomainUnresolvable {
		t.Fatalf("findings %+v, want DOMAIN_UNRESOLVABLE first", fs)
	}
	if want := "Make sure every nameserver of example.com receives the zone's updates from the primary"; !strings.HasPrefix(fs[0].Fix, want) || strings.Contains(fs[0].Fix, "Add an A") || !fs[0].Retryable {
		t.Errorf("fix %q (retryable %v), want it to start %q", fs[0].Fix, fs[0].Retryable, want)
	}
}
