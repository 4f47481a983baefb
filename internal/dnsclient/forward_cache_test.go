package dnsclient_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// fakeNow is a clock that tests move by hand.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeNow) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestForwarderCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		maxTTL time.Duration
		qname  string
		qtype  uint16
		// fix is added to the zone after the first lookup.
		fix     string
		advance time.Duration
		// wantQueries is how many queries reached the server for the two
		// lookups; want the second answer's summary.
		wantQueries int
		wantCached  bool
		// wantUntil is when the cached answer leaves the cache, after the
		// first lookup; 0 when the second answer is not from the cache.
		wantUntil time.Duration
		want      string
	}{
		{name: "positive within ttl", maxTTL: time.Minute, qname: "a.example.com", qtype: dns.TypeA, advance: 30 * time.Second,
			wantQueries: 1, wantCached: true, wantUntil: time.Minute, want: "a.example.com. A NOERROR an:a.example.com./A/270/192.0.2.1"},
		{name: "positive past the cap", maxTTL: time.Minute, qname: "a.example.com", qtype: dns.TypeA, advance: time.Minute,
			wantQueries: 2, want: "a.example.com. A NOERROR an:a.example.com./A/300/192.0.2.1"},
		{name: "short ttl honoured", maxTTL: time.Minute, qname: "short.example.com", qtype: dns.TypeTXT, advance: 2 * time.Second,
			wantQueries: 2, want: `short.example.com. TXT NOERROR an:short.example.com./TXT/2/v`},
		{name: "short ttl within", maxTTL: time.Minute, qname: "short.example.com", qtype: dns.TypeTXT, advance: time.Second,
			wantQueries: 1, wantCached: true, wantUntil: 2 * time.Second, want: `short.example.com. TXT NOERROR an:short.example.com./TXT/1/v`},
		{name: "negative within 5s", maxTTL: time.Minute, qname: "_acme-challenge.example.com", qtype: dns.TypeTXT,
			fix: `_acme-challenge.example.com. 300 IN TXT "fixed"`, advance: 4 * time.Second,
			wantQueries: 1, wantCached: true, wantUntil: 5 * time.Second, want: "_acme-challenge.example.com. TXT NXDOMAIN negttl:296"},
		{name: "negative at most 5s", maxTTL: time.Minute, qname: "_acme-challenge.example.com", qtype: dns.TypeTXT,
			fix: `_acme-challenge.example.com. 300 IN TXT "fixed"`, advance: 5 * time.Second,
			wantQueries: 2, want: "_acme-challenge.example.com. TXT NOERROR an:_acme-challenge.example.com./TXT/300/fixed"},
		{name: "servfail never", maxTTL: time.Minute, qname: "fail.example.com", qtype: dns.TypeTXT,
			wantQueries: 2, want: "fail.example.com. TXT SERVFAIL"},
		{name: "off", maxTTL: 0, qname: "a.example.com", qtype: dns.TypeA,
			wantQueries: 2, want: "a.example.com. A NOERROR an:a.example.com./A/300/192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testenv.NewDNSServer(t)
			s.AddZone("example.com")
			s.Add(`a.example.com. 300 IN A 192.0.2.1`, `short.example.com. 2 IN TXT "v"`)
			s.SetRcode("fail.example.com", dns.RcodeServerFailure)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := &fakeNow{t: start}
			f, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{s.Addr}, CacheMaxTTL: tt.maxTTL, Now: clock.now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := f.Lookup(ctx, tt.qname, tt.qtype); err != nil {
				t.Fatalf("first Lookup: %v", err)
			}
			if tt.fix != "" {
				s.Add(tt.fix)
			}
			clock.add(tt.advance)
			r, err := f.Lookup(ctx, tt.qname, tt.qtype)
			if err != nil {
				t.Fatalf("second Lookup: %v", err)
			}
			if got := summary(r); got != tt.want {
				t.Errorf("second answer = %q, want %q", got, tt.want)
			}
			if r.Cached != tt.wantCached {
				t.Errorf("Cached = %v, want %v", r.Cached, tt.wantCached)
			}
			var wantUntil time.Time
			if tt.wantUntil > 0 {
				wantUntil = start.Add(tt.wantUntil)
			}
			if !r.CacheUntil.Equal(wantUntil) {
				t.Errorf("CacheUntil = %v, want %v", r.CacheUntil, wantUntil)
			}
			if got := s.QueryCount(); got != tt.wantQueries {
				t.Errorf("queries = %d, want %d", got, tt.wantQueries)
			}
		})
	}
}

func TestForwarderCacheMaxTTLRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ttl  time.Duration
		ok   bool
	}{
		{name: "off", ttl: 0, ok: true},
		{name: "cap", ttl: dnsclient.MaxForwardCacheTTL, ok: true},
		{name: "over the cap", ttl: dnsclient.MaxForwardCacheTTL + time.Second},
		{name: "negative", ttl: -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{"127.0.0.1:53"}, CacheMaxTTL: tt.ttl})
			if (err == nil) != tt.ok {
				t.Fatalf("NewForwarder(CacheMaxTTL %v) error = %v, want ok %v", tt.ttl, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "cache max TTL") {
				t.Errorf("error %q does not name the cache max TTL", err)
			}
		})
	}
}
