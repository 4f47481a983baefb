package validation_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
)

const testValue = "k3Xq9vR2mT8wLp4nYc6bZs1hJd7fGa5e"

// dnsWorld is a test DNS server holding example.com and example.co.uk, and
// a Validator that resolves through it.
type dnsWorld struct {
	dns *testenv.DNSServer
	v   *validation.Validator
}

func setupDNS(t *testing.T, caaIdentity string, forwardTimeout time.Duration) *dnsWorld {
	t.Helper()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	s.AddZone("example.co.uk")
	f, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{s.Addr}, Timeout: forwardTimeout})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: f, CAAIdentity: caaIdentity, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &dnsWorld{dns: s, v: v}
}

// describeLookup renders a lookup as "name TYPE RCODE[values]" or
// "name TYPE error:kind".
func describeLookup(l validation.Lookup) string {
	if l.Err != nil {
		return fmt.Sprintf("%s %s error:%s", l.Name, l.Type, l.Err.Kind)
	}
	return fmt.Sprintf("%s %s %s%q", l.Name, l.Type, l.Response.Rcode, l.TXTValues())
}

// describe renders the parts of a DNSObservation the tests compare, one
// lookup per line.
func describe(o *validation.DNSObservation) string {
	lines := []string{"host " + o.Host, "record " + describeLookup(o.Record)}
	if o.Domain != nil {
		lines = append(lines, "domain "+describeLookup(*o.Domain))
	}
	for _, p := range o.Probes {
		lines = append(lines, p.Kind+" "+describeLookup(p.Lookup))
	}
	if w := o.Wildcard; w != nil {
		// The label is random: only its answer is compared.
		if !strings.HasPrefix(w.Name, "_dnsauth-") {
			lines = append(lines, "wildcard at unexpected name "+w.Name)
		}
		lines = append(lines, "wildcard "+strings.TrimPrefix(describeLookup(*w), w.Name+" "))
	}
	return strings.Join(lines, "\n")
}

func TestObserveDNSAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		domain  string
		records []string
		rcodes  map[string]int
		want    string
	}{
		{
			name:    "value present",
			domain:  "a.example.com",
			records: []string{`_dnsauth.a.example.com. TXT "` + testValue + `"`},
			want: `host _dnsauth.a.example.com
record _dnsauth.a.example.com TXT NOERROR["` + testValue + `"]`,
		},
		{
			name:   "value present among others, split in strings",
			domain: "a.example.com",
			records: []string{
				`_dnsauth.a.example.com. TXT "old-value"`,
				`_dnsauth.a.example.com. TXT "` + testValue[:10] + `" "` + testValue[10:] + `"`,
			},
			want: `host _dnsauth.a.example.com
record _dnsauth.a.example.com TXT NOERROR["old-value" "` + testValue + `"]`,
		},
		{
			name:    "record absent: probes in order",
			domain:  "a.example.com",
			records: []string{`a.example.com. A 192.0.2.1`},
			want: `host _dnsauth.a.example.com
record _dnsauth.a.example.com TXT NXDOMAIN[]
domain a.example.com A NOERROR[]
doubled_zone _dnsauth.a.example.com.example.com TXT NXDOMAIN[]
doubled_domain _dnsauth.a.example.com.a.example.com TXT NXDOMAIN[]
bare_domain a.example.com TXT NOERROR[]
doubled_prefix _dnsauth._dnsauth.a.example.com TXT NXDOMAIN[]
www _dnsauth.www.a.example.com TXT NXDOMAIN[]
parent _dnsauth.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.a.example.com TXT NXDOMAIN[]
reversed a._dnsauth.example.com TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`,
		},
		{
			// Black-box run: validation delegated by CNAME, the record
			// published with the prefix at the CNAME's target.
			name:   "host a CNAME, the value at the prefixed target",
			domain: "a.example.com",
			records: []string{
				`a.example.com. A 192.0.2.1`,
				`_dnsauth.a.example.com. CNAME a.validation.example.com.`,
				`_dnsauth.a.validation.example.com. TXT "` + testValue + `"`,
			},
			want: `host _dnsauth.a.example.com
record _dnsauth.a.example.com TXT NOERROR[]
domain a.example.com A NOERROR[]
doubled_zone _dnsauth.a.example.com.example.com TXT NXDOMAIN[]
doubled_domain _dnsauth.a.example.com.a.example.com TXT NXDOMAIN[]
bare_domain a.example.com TXT NOERROR[]
doubled_prefix _dnsauth._dnsauth.a.example.com TXT NXDOMAIN[]
www _dnsauth.www.a.example.com TXT NXDOMAIN[]
parent _dnsauth.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.a.example.com TXT NXDOMAIN[]
reversed a._dnsauth.example.com TXT NXDOMAIN[]
cname_prefixed _dnsauth.a.validation.example.com TXT NOERROR["` + testValue + `"]
wildcard TXT NXDOMAIN[]`,
		},
		{
			name:   "wrong value",
			domain: "a.example.com",
			records: []string{
				`a.example.com. A 192.0.2.1`,
				`_dnsauth.a.example.com. TXT "` + testValue + `x"`,
			},
			want: `host _dnsauth.a.example.com
record _dnsauth.a.example.com TXT NOERROR["` + testValue + `x"]
domain a.example.com A NOERROR[]
doubled_zone _dnsauth.a.example.com.example.com TXT NXDOMAIN[]
doubled_domain _dnsauth.a.example.com.a.example.com TXT NXDOMAIN[]
bare_domain a.example.com TXT NOERROR[]
doubled_prefix _dnsauth._dnsauth.a.example.com TXT NXDOMAIN[]
www _dnsauth.www.a.example.com TXT NXDOMAIN[]
parent _dnsauth.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.a.example.com TXT NXDOMAIN[]
reversed a._dnsauth.example.com TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`,
		},
		{
			name:   "found at the doubled zone",
			domain: "a.example.com",
			records: []string{
				`a.example.com. A 192.0.2.1`,
				`_dnsauth.a.example.com.example.com. TXT "` + testValue + `"`,
			},
			want: `host _dnsauth.a.example.com
record _dnsauth.a.example.com TXT NXDOMAIN[]
domain a.example.com A NOERROR[]
doubled_zone _dnsauth.a.example.com.example.com TXT NOERROR["` + testValue + `"]
doubled_domain _dnsauth.a.example.com.a.example.com TXT NXDOMAIN[]
bare_domain a.example.com TXT NOERROR[]
doubled_prefix _dnsauth._dnsauth.a.example.com TXT NXDOMAIN[]
www _dnsauth.www.a.example.com TXT NXDOMAIN[]
parent _dnsauth.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.a.example.com TXT NXDOMAIN[]
reversed a._dnsauth.example.com TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`,
		},
		{
			name:   "found at the doubled name of a delegated subzone",
			domain: "www.shop.example.com",
			records: []string{
				`www.shop.example.com. A 192.0.2.1`,
				`_dnsauth.www.shop.example.com.shop.example.com. TXT "` + testValue + `"`,
			},
			want: `host _dnsauth.www.shop.example.com
record _dnsauth.www.shop.example.com TXT NXDOMAIN[]
domain www.shop.example.com A NOERROR[]
doubled_zone _dnsauth.www.shop.example.com.example.com TXT NXDOMAIN[]
doubled_zone _dnsauth.www.shop.example.com.shop.example.com TXT NOERROR["` + testValue + `"]
doubled_domain _dnsauth.www.shop.example.com.www.shop.example.com TXT NXDOMAIN[]
bare_domain www.shop.example.com TXT NOERROR[]
doubled_prefix _dnsauth._dnsauth.www.shop.example.com TXT NXDOMAIN[]
apex _dnsauth.shop.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.www.shop.example.com TXT NXDOMAIN[]
reversed www._dnsauth.shop.example.com TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`,
		},
		{
			name:   "found at the doubled domain under a multi-label suffix",
			domain: "shop.example.co.uk",
			records: []string{
				`shop.example.co.uk. A 192.0.2.1`,
				`_dnsauth.shop.example.co.uk.shop.example.co.uk. TXT "` + testValue + `"`,
			},
			want: `host _dnsauth.shop.example.co.uk
record _dnsauth.shop.example.co.uk TXT NXDOMAIN[]
domain shop.example.co.uk A NOERROR[]
doubled_zone _dnsauth.shop.example.co.uk.example.co.uk TXT NXDOMAIN[]
doubled_domain _dnsauth.shop.example.co.uk.shop.example.co.uk TXT NOERROR["` + testValue + `"]
bare_domain shop.example.co.uk TXT NOERROR[]
doubled_prefix _dnsauth._dnsauth.shop.example.co.uk TXT NXDOMAIN[]
www _dnsauth.www.shop.example.co.uk TXT NXDOMAIN[]
parent _dnsauth.example.co.uk TXT NXDOMAIN[]
other_prefix _acme-challenge.shop.example.co.uk TXT NXDOMAIN[]
reversed shop._dnsauth.example.co.uk TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`,
		},
		{
			name:   "found at the bare domain",
			domain: "example.com",
			records: []string{
				`example.com. A 192.0.2.1`,
				`example.com. TXT "v=spf1 -all"`,
				`example.com. TXT "` + testValue + `"`,
			},
			want: `host _dnsauth.example.com
record _dnsauth.example.com TXT NXDOMAIN[]
domain example.com A NOERROR[]
doubled_domain _dnsauth.example.com.example.com TXT NXDOMAIN[]
bare_domain example.com TXT NOERROR["v=spf1 -all" "` + testValue + `"]
doubled_prefix _dnsauth._dnsauth.example.com TXT NXDOMAIN[]
www _dnsauth.www.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.example.com TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`,
		},
		{
			name:   "domain does not exist",
			domain: "nx.example.com",
			want: `host _dnsauth.nx.example.com
record _dnsauth.nx.example.com TXT NXDOMAIN[]
domain nx.example.com A NXDOMAIN[]
doubled_zone _dnsauth.nx.example.com.example.com TXT NXDOMAIN[]
doubled_domain _dnsauth.nx.example.com.nx.example.com TXT NXDOMAIN[]
bare_domain nx.example.com TXT NXDOMAIN[]
doubled_prefix _dnsauth._dnsauth.nx.example.com TXT NXDOMAIN[]
www _dnsauth.www.nx.example.com TXT NXDOMAIN[]
parent _dnsauth.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.nx.example.com TXT NXDOMAIN[]
reversed nx._dnsauth.example.com TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`,
		},
		{
			name:    "servfail at the host",
			domain:  "a.example.com",
			records: []string{`a.example.com. A 192.0.2.1`, `_dnsauth.a.example.com. TXT "` + testValue + `"`},
			rcodes:  map[string]int{"_dnsauth.a.example.com": dns.RcodeServerFailure},
			want: `host _dnsauth.a.example.com
record _dnsauth.a.example.com TXT SERVFAIL[]
domain a.example.com A NOERROR[]
doubled_zone _dnsauth.a.example.com.example.com TXT NXDOMAIN[]
doubled_domain _dnsauth.a.example.com.a.example.com TXT NXDOMAIN[]
bare_domain a.example.com TXT NOERROR[]
doubled_prefix _dnsauth._dnsauth.a.example.com TXT NXDOMAIN[]
www _dnsauth.www.a.example.com TXT NXDOMAIN[]
parent _dnsauth.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.a.example.com TXT NXDOMAIN[]
reversed a._dnsauth.example.com TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`,
		},
		{
			name:    "wildcard uses the base domain",
			domain:  "*.w.example.com",
			records: []string{`_dnsauth.w.example.com. TXT "` + testValue + `"`},
			want: `host _dnsauth.w.example.com
record _dnsauth.w.example.com TXT NOERROR["` + testValue + `"]`,
		},
		{
			name:    "wildcard record absent",
			domain:  "*.w.example.com",
			records: []string{`x.w.example.com. A 192.0.2.1`},
			want: `host _dnsauth.w.example.com
record _dnsauth.w.example.com TXT NXDOMAIN[]
domain w.example.com A NOERROR[]
doubled_zone _dnsauth.w.example.com.example.com TXT NXDOMAIN[]
doubled_domain _dnsauth.w.example.com.w.example.com TXT NXDOMAIN[]
bare_domain w.example.com TXT NOERROR[]
doubled_prefix _dnsauth._dnsauth.w.example.com TXT NXDOMAIN[]
www _dnsauth.www.w.example.com TXT NXDOMAIN[]
parent _dnsauth.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.w.example.com TXT NXDOMAIN[]
reversed w._dnsauth.example.com TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`,
		},
		{
			name:    "record behind a cname",
			domain:  "a.example.com",
			records: []string{`_dnsauth.a.example.com. CNAME a.dcv-delegate.example.com.`, `a.dcv-delegate.example.com. TXT "` + testValue + `"`},
			want: `host _dnsauth.a.example.com
record _dnsauth.a.example.com TXT NOERROR["` + testValue + `"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := setupDNS(t, "", 0)
			w.dns.Add(tt.records...)
			for name, rc := range tt.rcodes {
				w.dns.SetRcode(name, rc)
			}
			obs, err := w.v.Observe(t.Context(), validation.Request{Domain: tt.domain, Method: validation.MethodDNS, Value: testValue})
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if obs.DNS == nil || obs.File != nil || obs.CAA != nil {
				t.Fatalf("observation %+v, want only DNS set", obs)
			}
			if got := describe(obs.DNS); got != tt.want {
				t.Errorf("observation:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestObserveDNSAuthTimeout(t *testing.T) {
	t.Parallel()
	w := setupDNS(t, "", 200*time.Millisecond)
	w.dns.Add(`a.example.com. A 192.0.2.1`)
	w.dns.SetDelay("_dnsauth.a.example.com", -1)
	obs, err := w.v.Observe(t.Context(), validation.Request{Domain: "a.example.com", Method: validation.MethodDNS, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	want := `host _dnsauth.a.example.com
record _dnsauth.a.example.com TXT error:timeout
domain a.example.com A NOERROR[]
doubled_zone _dnsauth.a.example.com.example.com TXT NXDOMAIN[]
doubled_domain _dnsauth.a.example.com.a.example.com TXT NXDOMAIN[]
bare_domain a.example.com TXT NOERROR[]
doubled_prefix _dnsauth._dnsauth.a.example.com TXT NXDOMAIN[]
www _dnsauth.www.a.example.com TXT NXDOMAIN[]
parent _dnsauth.example.com TXT NXDOMAIN[]
other_prefix _acme-challenge.a.example.com TXT NXDOMAIN[]
reversed a._dnsauth.example.com TXT NXDOMAIN[]
wildcard TXT NXDOMAIN[]`
	if got := describe(obs.DNS); got != want {
		t.Errorf("observation:\n%s\nwant:\n%s", got, want)
	}
	if e := obs.DNS.Record.Err; e.Name != "_dnsauth.a.example.com." || e.Server != w.dns.Addr {
		t.Errorf("record error %+v, want it to name the host and the server", e)
	}
}

// failingResolver returns an error that is not a *dnsclient.Error.
type failingResolver struct{ dnsclient.Resolver }

func (failingResolver) Lookup(context.Context, string, uint16) (*dnsclient.Response, error) {
	return nil, errors.New("resolver exploded")
}

func TestObserveDNSAuthForeignError(t *testing.T) {
	t.Parallel()
	v, err := validation.New(validation.Config{Resolver: failingResolver{}})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := v.Observe(t.Context(), validation.Request{Domain: "a.example.com", Method: validation.MethodDNS, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	got := obs.DNS.Record.Err
	want := dnsclient.Error{Kind: dnsclient.KindUnknown, Name: "_dnsauth.a.example.com", Type: "TXT", Detail: "resolver exploded"}
	if got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("record error %+v, want %+v", got, want)
	}
	if len(obs.DNS.Probes) != 8 || obs.DNS.Domain == nil || obs.DNS.Domain.Err == nil {
		t.Errorf("domain %+v and %d probes, want 8 failed lookups kept as evidence", obs.DNS.Domain, len(obs.DNS.Probes))
	}
}

// TestForwardMismatchMayBeCached: in forward mode, another value comes from
// dcv's recursive resolver, which may hold an earlier one in its cache: the
// mismatch says so, and is retryable, with the time the cached answer
// expires (console run: a stale cache was told as the applicant's error).
func TestForwardMismatchMayBeCached(t *testing.T) {
	t.Parallel()
	w := setupDNS(t, "", 0)
	w.dns.Add(`_dnsauth.a.example.com. 600 IN TXT "old-value"`)
	obs, err := w.v.Observe(t.Context(), validation.Request{Domain: "a.example.com", Method: validation.MethodDNS, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	r := diagnose.Domain([]validation.Observation{obs}, obs.StartedAt)
	if len(r.Findings) == 0 || r.Findings[0].Code != diagnose.CodeDNSRecordMismatch {
		t.Fatalf("findings %+v, want DNS_RECORD_MISMATCH", r.Findings)
	}
	f := r.Findings[0]
	want := obs.StartedAt.Add(600 * time.Second)
	if !f.Retryable || f.ETA == nil || f.ETA.Sub(want).Abs() > 2*time.Second || !strings.Contains(f.Message, "is a recursive resolver, which may answer from its cache") {
		t.Errorf("finding %+v; want retryable, ETA about %v, and the resolver's cache named", f, want)
	}
}

// TestForwardNotFoundMayBeCached: in forward mode, "no record" may be the
// recursive resolver's cached negative answer: the finding says so, with
// the time it expires (verification run), and its fix says to check again
// then before it says to add the record.
func TestForwardNotFoundMayBeCached(t *testing.T) {
	t.Parallel()
	w := setupDNS(t, "", 0)
	obs, err := w.v.Observe(t.Context(), validation.Request{Domain: "a.example.com", Method: validation.MethodDNS, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	neg := obs.DNS.Record.Response.NegativeTTL
	if neg == 0 {
		t.Fatal("the test zone's negative answer has no SOA TTL")
	}
	r := diagnose.Domain([]validation.Observation{obs}, obs.StartedAt)
	if len(r.Findings) == 0 || r.Findings[0].Code != diagnose.CodeDNSRecordNotFound {
		t.Fatalf("findings %+v, want DNS_RECORD_NOT_FOUND", r.Findings)
	}
	f := r.Findings[0]
	want := obs.StartedAt.Add(time.Duration(neg) * time.Second)
	if f.ETA == nil || f.ETA.Sub(want).Abs() > 2*time.Second || !strings.Contains(f.Message, "may still hold the earlier answer that there was none") {
		t.Errorf("finding %+v; want the resolver's cached negative answer named, ETA about %v", f, want)
	}
	// The record may be published already: the fix says first to wait
	// until then, and only then to add it (black-box run).
	wait := "If you have added the record already, nothing needs to change: check again after " + f.ETA.UTC().Format(time.RFC3339)
	if !strings.HasPrefix(f.Fix, wait) || !strings.Contains(f.Fix, "If not: Add a TXT record") {
		t.Errorf("fix %q; want it to begin %q, then say to add the record", f.Fix, wait)
	}
}
