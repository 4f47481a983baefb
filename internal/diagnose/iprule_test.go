package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/webfetch"
)

// TestRuleFromAnAddress: why a redirect from an IP address identifier was
// not followed is told in an address's terms, and only an address in an
// odd form is told to be written in dotted decimal (review: IPv6 and
// IPv4-mapped Locations were).
func TestRuleFromAnAddress(t *testing.T) {
	d := &diagnoser{c: &catalogEN, now: time.Now()}
	from := &webfetch.Trace{Host: "198.51.100.7", URL: "http://198.51.100.7/f"}
	tests := []struct {
		loc  string
		rule webfetch.RedirectRule
		want string
	}{
		{"http://198.51.100.010/f", webfetch.RedirectBadLocation, "a number with a leading zero"},
		{"http://3325256711/f", webfetch.RedirectBadLocation, "fewer than four numbers"},
		{"http://[::ffff:198.51.100.7]/f", webfetch.RedirectBadLocation, "another form than its canonical one (198.51.100.7)"},
		{"http://[2001:db8::1.2.3.4]/f", webfetch.RedirectBadLocation, "another form than its canonical one (2001:db8::102:304)"},
		{"http://www.example.com/f", webfetch.RedirectOtherDomain, "another host than the address 198.51.100.7"},
	}
	for _, tc := range tests {
		got := d.rule(from, &webfetch.Attempt{URL: from.URL, Status: 301, Location: tc.loc, RedirectRefused: tc.rule})
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.loc, got, tc.want)
		}
		if strings.Contains(tc.loc, "[") && strings.Contains(got, "dotted decimal") {
			t.Errorf("%s: an IPv6 Location told to use dotted decimal: %q", tc.loc, got)
		}
	}
}
