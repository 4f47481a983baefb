package dnsclient_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// iterWorld is a small Internet on loopback: the root, the TLDs com and net,
// and the zones example.com (2 servers) and example.net (1 server).
type iterWorld struct {
	*testenv.World
	com, net, exCom, exNet *testenv.Zone
}

func newIterWorld(t testing.TB) *iterWorld {
	t.Helper()
	w := &iterWorld{World: testenv.NewWorld(t)}
	w.com = w.AddZone("com", "", 2)
	w.net = w.AddZone("net", "", 1)
	w.exCom = w.AddZone("example.com", "com", 2)
	w.exNet = w.AddZone("example.net", "net", 1)
	w.exCom.Add(`_dnsauth.example.com. 300 IN TXT "token-1"`, `a.example.com. 300 IN A 192.0.2.1`)
	return w
}

// queries returns the queries received by every server of the world.
func (w *iterWorld) queries(zones ...*testenv.Zone) int {
	n := w.Root.QueryCount()
	for _, z := range append([]*testenv.Zone{w.com, w.net, w.exCom, w.exNet}, zones...) {
		n += z.QueryCount()
	}
	return n
}

func newIterative(t testing.TB, w *testenv.World, cfg dnsclient.IterativeConfig) *dnsclient.Iterative {
	t.Helper()
	cfg.RootHints = w.RootHints
	// The world's servers are on loopback.
	cfg.AllowLoopbackServers = true
	if cfg.Timeout == 0 {
		cfg.Timeout = 500 * time.Millisecond
	}
	r, err := dnsclient.NewIterative(cfg)
	if err != nil {
		t.Fatalf("NewIterative: %v", err)
	}
	return r
}

func serverAddrs(z *testenv.Zone) []string {
	var out []string
	for _, s := range z.Servers {
		out = append(out, s.AddrPort().String())
	}
	return out
}

func TestIterativeColdAndWarm(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	r := newIterative(t, w.World, dnsclient.IterativeConfig{})
	ctx := t.Context()

	resp, err := r.Lookup(ctx, "_DNSAUTH.Example.COM", dns.TypeTXT)
	if err != nil {
		t.Fatalf("cold lookup: %v", err)
	}
	if got, want := summary(resp), "_dnsauth.example.com. TXT NOERROR an:_dnsauth.example.com./TXT/300/token-1"; got != want {
		t.Errorf("cold summary = %q, want %q", got, want)
	}
	if got := w.queries(); got != 3 {
		t.Errorf("cold lookup sent %d queries, want 3 (root, com, example.com)", got)
	}
	var path []string
	for _, s := range resp.Trace {
		path = append(path, s.Zone+">"+s.Referral+":"+s.Rcode)
	}
	if got, want := strings.Join(path, " "), ".>com.:NOERROR com.>example.com.:NOERROR example.com.>:NOERROR"; got != want {
		t.Errorf("trace = %q, want %q", got, want)
	}
	if !slices.Contains(serverAddrs(w.exCom), resp.Server) {
		t.Errorf("Server = %q, want one of %v", resp.Server, serverAddrs(w.exCom))
	}
	if resp.Cached || resp.TTL != 300 || resp.DNSSEC != "" || resp.AD {
		t.Errorf("cold Cached=%t TTL=%d DNSSEC=%q AD=%t, want false 300 \"\" false", resp.Cached, resp.TTL, resp.DNSSEC, resp.AD)
	}

	// Warm: the delegation is cached, the answer is asked anew of the
	// zone's servers.
	resp, err = r.Lookup(ctx, "_dnsauth.example.com.", dns.TypeTXT)
	if err != nil {
		t.Fatalf("warm lookup: %v", err)
	}
	if got := w.queries(); got != 4 {
		t.Errorf("warm lookup sent %d queries, want 1 (example.com)", got-3)
	}
	if resp.Cached || len(resp.Trace) != 1 || len(resp.Answer) != 1 {
		t.Errorf("warm Cached=%t trace=%d answer=%d, want false 1 1", resp.Cached, len(resp.Trace), len(resp.Answer))
	}

	// Another name of the zone starts at the cached delegation.
	if _, err := r.Lookup(ctx, "a.example.com", dns.TypeA); err != nil {
		t.Fatalf("lookup in cached zone: %v", err)
	}
	if got := w.queries(); got != 5 {
		t.Errorf("lookup in a cached zone sent %d queries, want 1", got-4)
	}
}

func TestIterativeLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(w *iterWorld)
		cfg     dnsclient.IterativeConfig
		qname   string
		qtype   uint16
		want    string
		queries int    // when not zero, the queries the world must have seen
		errKind string // when set, the lookup must fail with this kind
		errText string // and these words in the error
	}{
		{
			name: "nxdomain with negative ttl", qname: "nope.example.com", qtype: dns.TypeTXT,
			want: "nope.example.com. TXT NXDOMAIN negttl:300", queries: 3,
		},
		{
			name: "nodata", qname: "a.example.com", qtype: dns.TypeTXT,
			want: "a.example.com. TXT NOERROR negttl:300", queries: 3,
		},
		{
			name: "cname inside a zone",
			setup: func(w *iterWorld) {
				w.exCom.Add(`www.example.com. 300 IN CNAME b.example.com.`, `b.example.com. 300 IN CNAME a.example.com.`)
			},
			qname: "www.example.com", qtype: dns.TypeA,
			want: "www.example.com. A NOERROR cname:b.example.com. cname:a.example.com. an:a.example.com./A/300/192.0.2.1", queries: 3,
		},
		{
			name: "cname across zones",
			setup: func(w *iterWorld) {
				w.exCom.Add(`_dnsauth.x.example.com. 300 IN CNAME x.example.net.`)
				w.exNet.Add(`x.example.net. 60 IN TXT "delegated"`)
			},
			qname: "_dnsauth.x.example.com", qtype: dns.TypeTXT,
			want: "_dnsauth.x.example.com. TXT NOERROR cname:x.example.net. an:x.example.net./TXT/60/delegated", queries: 6,
		},
		{
			// The servers of example.com speak for example.com only: their
			// NXDOMAIN for the CNAME's target in example.net, and records
			// they add for it, are not example.net's answer (RFC 6604 §3,
			// bailiwick), which is asked of its own servers.
			name: "cname across zones, a negative answer for the target from the first zone",
			setup: func(w *iterWorld) {
				w.exNet.Add(`x.example.net. 60 IN TXT "delegated"`)
				w.exCom.SetHook(outOfZoneChain(`_dnsauth.x.example.com. 300 IN CNAME x.example.net.`, dns.RcodeNameError))
			},
			qname: "_dnsauth.x.example.com", qtype: dns.TypeTXT,
			want: "_dnsauth.x.example.com. TXT NOERROR cname:x.example.net. an:x.example.net./TXT/60/delegated", queries: 6,
		},
		{
			name: "cname across zones, records for the target from the first zone",
			setup: func(w *iterWorld) {
				w.exNet.Add(`x.example.net. 60 IN TXT "delegated"`)
				w.exCom.SetHook(outOfZoneChain(`_dnsauth.x.example.com. 300 IN CNAME x.example.net.`, dns.RcodeSuccess,
					`x.example.net. 300 IN TXT "forged"`))
			},
			qname: "_dnsauth.x.example.com", qtype: dns.TypeTXT,
			want: "_dnsauth.x.example.com. TXT NOERROR cname:x.example.net. an:x.example.net./TXT/60/delegated", queries: 6,
		},
		{
			name: "glueless delegation",
			setup: func(w *iterWorld) {
				z := w.AddGluelessZone("glueless.com", "com", w.exNet, 1)
				z.Add(`_dnsauth.glueless.com. 300 IN TXT "v"`)
			},
			// root, com (referral without glue), then the NS name: root,
			// net, example.net, then the glueless zone's server.
			qname: "_dnsauth.glueless.com", qtype: dns.TypeTXT,
			want: "_dnsauth.glueless.com. TXT NOERROR an:_dnsauth.glueless.com./TXT/300/v", queries: 6,
		},
		{
			name: "cname loop across zones",
			setup: func(w *iterWorld) {
				w.exCom.Add(`l.example.com. 300 IN CNAME l.example.net.`)
				w.exNet.Add(`l.example.net. 300 IN CNAME l.example.com.`)
			},
			qname: "l.example.com", qtype: dns.TypeTXT,
			errKind: "loop", errText: "cname chain loops at l.example.com. (l.example.com -> l.example.net -> l.example.com)",
		},
		{
			name: "cname loop inside a zone",
			setup: func(w *iterWorld) {
				w.exCom.Add(`p.example.com. 300 IN CNAME q.example.com.`, `q.example.com. 300 IN CNAME p.example.com.`)
			},
			qname: "p.example.com", qtype: dns.TypeTXT,
			errKind: "loop", errText: "cname chain loops at p.example.com. (p.example.com -> q.example.com -> p.example.com)",
		},
		{
			name: "cname chain too long",
			setup: func(w *iterWorld) {
				for i := range 4 {
					w.exCom.Add(fmt.Sprintf("c%d.example.com. 300 IN CNAME c%d.example.com.", i, i+1))
				}
			},
			cfg:   dnsclient.IterativeConfig{MaxCNAME: 3},
			qname: "c0.example.com", qtype: dns.TypeTXT,
			errKind: "loop", errText: "cname chain longer than 3",
		},
		{
			name: "self-referral zone",
			setup: func(w *iterWorld) {
				z := w.AddZone("loop.com", "com", 2)
				z.Server(0).SetMode(testenv.AuthSelfReferral)
				z.Server(1).SetMode(testenv.AuthSelfReferral)
			},
			qname: "_dnsauth.loop.com", qtype: dns.TypeTXT,
			errKind: "loop", errText: "referral loop: the servers of loop.com. refer back",
		},
		{
			name: "refusing server skipped",
			setup: func(w *iterWorld) {
				w.exCom.Server(0).SetMode(testenv.AuthRefuse)
			},
			qname: "_dnsauth.example.com", qtype: dns.TypeTXT,
			want: "_dnsauth.example.com. TXT NOERROR an:_dnsauth.example.com./TXT/300/token-1",
		},
		{
			name: "server without authority skipped",
			setup: func(w *iterWorld) {
				w.exCom.Server(1).SetMode(testenv.AuthNotAuthoritative)
			},
			qname: "_dnsauth.example.com", qtype: dns.TypeTXT,
			want: "_dnsauth.example.com. TXT NOERROR an:_dnsauth.example.com./TXT/300/token-1",
		},
		{
			name: "servfail server skipped",
			setup: func(w *iterWorld) {
				w.exCom.Server(0).SetMode(testenv.AuthServfail)
			},
			qname: "_dnsauth.example.com", qtype: dns.TypeTXT,
			want: "_dnsauth.example.com. TXT NOERROR an:_dnsauth.example.com./TXT/300/token-1",
		},
		{
			name: "every server refuses",
			setup: func(w *iterWorld) {
				w.exCom.Server(0).SetMode(testenv.AuthRefuse)
				w.exCom.Server(1).SetMode(testenv.AuthRefuse)
			},
			qname: "_dnsauth.example.com", qtype: dns.TypeTXT,
			want: "_dnsauth.example.com. TXT REFUSED", queries: 4,
		},
		{
			name: "lame delegation",
			setup: func(w *iterWorld) {
				w.exCom.Server(0).SetMode(testenv.AuthNotAuthoritative)
				w.exCom.Server(1).SetMode(testenv.AuthNotAuthoritative)
			},
			qname: "_dnsauth.example.com", qtype: dns.TypeTXT,
			errKind: "malformed", errText: "lame delegation: no server of example.com. answers with authority",
		},
		{
			name: "every server times out",
			setup: func(w *iterWorld) {
				w.exCom.Server(0).SetMode(testenv.AuthTimeout)
				w.exCom.Server(1).SetMode(testenv.AuthTimeout)
			},
			cfg:   dnsclient.IterativeConfig{Timeout: 100 * time.Millisecond},
			qname: "_dnsauth.example.com", qtype: dns.TypeTXT,
			errKind: "timeout", errText: "no server of example.com. answered",
		},
		{
			name:  "too many queries",
			cfg:   dnsclient.IterativeConfig{MaxQueries: 2},
			qname: "_dnsauth.example.com", qtype: dns.TypeTXT,
			errKind: "loop", errText: "too many queries: more than 2", queries: 2,
		},
		{
			name: "wildcard",
			setup: func(w *iterWorld) {
				w.exCom.Add(`*.wild.example.com. 120 IN TXT "any"`)
			},
			qname: "x.wild.example.com", qtype: dns.TypeTXT,
			want: "x.wild.example.com. TXT NOERROR an:x.wild.example.com./TXT/120/any",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newIterWorld(t)
			if tt.setup != nil {
				tt.setup(w)
			}
			r := newIterative(t, w.World, tt.cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := time.Now()
			resp, err := r.Lookup(ctx, tt.qname, tt.qtype)
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("lookup took %v", elapsed)
			}
			if tt.errKind != "" {
				if err == nil {
					t.Fatalf("lookup = %q, want a %s error", summary(resp), tt.errKind)
				}
				de := lookupErr(t, err)
				if de.Kind.String() != tt.errKind || !strings.Contains(de.Error(), tt.errText) {
					t.Errorf("error = %q (kind %s), want kind %s with %q", de, de.Kind, tt.errKind, tt.errText)
				}
				if len(de.Trace) == 0 {
					t.Errorf("error has no trace")
				}
			} else {
				if err != nil {
					t.Fatalf("lookup: %v", err)
				}
				if got := summary(resp); got != tt.want {
					t.Errorf("summary = %q, want %q", got, tt.want)
				}
			}
			if tt.queries != 0 {
				// Every query sent is a step of the trace (a TCP retry
				// shares its UDP query's step).
				trace := traceOf(resp, err)
				if len(trace) != tt.queries {
					t.Errorf("sent %d queries, want %d", len(trace), tt.queries)
				}
			}
		})
	}
}

// outOfZoneChain returns a server hook that answers every query for the
// CNAME's owner with the CNAME, the extra records and rcode (with the SOA
// of example.com when negative), as a server that speaks beyond its zone
// would.
func outOfZoneChain(cname string, rcode int, extra ...string) func(req *dns.Msg) *dns.Msg {
	rrs := make([]dns.RR, 0, 1+len(extra))
	for _, l := range append([]string{cname}, extra...) {
		rr, err := dns.NewRR(l)
		if err != nil {
			panic(err)
		}
		rrs = append(rrs, rr)
	}
	soa, err := dns.NewRR(`example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300`)
	if err != nil {
		panic(err)
	}
	return func(req *dns.Msg) *dns.Msg {
		if !strings.EqualFold(req.Question[0].Name, rrs[0].Header().Name) {
			return nil
		}
		m := new(dns.Msg)
		m.SetRcode(req, rcode)
		m.Authoritative = true
		m.Answer = rrs
		if rcode != dns.RcodeSuccess {
			m.Ns = []dns.RR{soa}
		}
		return m
	}
}

// traceOf returns the queries sent by a lookup, whether it failed or not.
func traceOf(resp *dnsclient.Response, err error) []dnsclient.TraceStep {
	if de, ok := err.(*dnsclient.Error); ok {
		return de.Trace
	}
	if resp == nil {
		return nil
	}
	return resp.Trace
}

func TestIterativeSlowServer(t *testing.T) {
	t.Parallel()
	t.Run("next server used", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		slow, fast := w.exCom.Server(0), w.exCom.Server(1)
		slow.SetDelay(2 * time.Second)
		// Server order is random: look up with fresh caches until the slow
		// server has been tried first at least once.
		for i := 0; slow.QueryCount() == 0 && i < 40; i++ {
			r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 200 * time.Millisecond})
			start := time.Now()
			resp, err := r.Lookup(t.Context(), "_dnsauth.example.com", dns.TypeTXT)
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			if resp.Server != fast.AddrPort().String() {
				t.Errorf("Server = %s, want the fast one %s", resp.Server, fast.AddrPort())
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("lookup took %v, want under 1s with a 200ms timeout", d)
			}
		}
		if slow.QueryCount() == 0 {
			t.Fatal("the slow server was never tried")
		}
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		w.exCom.Server(0).SetDelay(2 * time.Second)
		w.exCom.Server(1).SetDelay(2 * time.Second)
		r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 2 * time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := r.Lookup(ctx, "_dnsauth.example.com", dns.TypeTXT)
		if d := time.Since(start); d > 900*time.Millisecond {
			t.Errorf("lookup took %v, want it to end at the 500ms deadline", d)
		}
		if de := lookupErr(t, err); de.Kind != dnsclient.KindTimeout {
			t.Errorf("error = %v, want a timeout", de)
		}
	})
}

func TestIterativeHugeTXTOverTCP(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	for i := range 40 {
		w.exCom.Add(fmt.Sprintf(`big.example.com. 300 IN TXT "%03d%s"`, i, strings.Repeat("x", 200)))
	}
	r := newIterative(t, w.World, dnsclient.IterativeConfig{})
	resp, err := r.Lookup(t.Context(), "big.example.com", dns.TypeTXT)
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	if len(resp.Answer) != 40 {
		t.Errorf("got %d TXT records, want 40", len(resp.Answer))
	}
	last := resp.Trace[len(resp.Trace)-1]
	if !last.TCP || len(resp.Trace) != 3 {
		t.Errorf("last step %+v of %d, want 3 steps and the last over TCP", last, len(resp.Trace))
	}
	// UDP then TCP: two queries for the last step.
	if got := w.exCom.QueryCount(); got != 2 {
		t.Errorf("example.com servers got %d queries, want 2 (udp, tcp)", got)
	}
}

func TestIterativeCaseRandomization(t *testing.T) {
	t.Parallel()
	const qname = "_dnsauth.mixedcasecheckname.example.com."
	t.Run("server sees mixed case", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		w.exCom.Add(qname + ` 300 IN TXT "ok"`)
		var mu sync.Mutex
		var seen []string
		for _, s := range w.exCom.Servers {
			s.SetHook(func(req *dns.Msg) *dns.Msg {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, req.Question[0].Name)
				return nil
			})
		}
		r := newIterative(t, w.World, dnsclient.IterativeConfig{})
		if _, err := r.Lookup(t.Context(), qname, dns.TypeTXT); err != nil {
			t.Fatalf("lookup: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || !strings.EqualFold(seen[0], qname) || seen[0] == qname || seen[0] == strings.ToUpper(qname) {
			t.Errorf("server saw %q, want %q in mixed case", seen, qname)
		}
	})
	t.Run("answer in another case rejected", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		w.exCom.Add(qname + ` 300 IN TXT "ok"`)
		// Server 0 echoes the question lowercased, as a forger who did not
		// see the query would.
		w.exCom.Server(0).SetHook(func(req *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Authoritative = true
			m.Question[0].Name = strings.ToLower(m.Question[0].Name)
			m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: qname, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: []string{"forged"}}}
			return m
		})
		for range 8 {
			r := newIterative(t, w.World, dnsclient.IterativeConfig{})
			resp, err := r.Lookup(t.Context(), qname, dns.TypeTXT)
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			if resp.Answer[0].Data != "ok" || resp.Server != w.exCom.Server(1).AddrPort().String() {
				t.Fatalf("answer %q from %s, want \"ok\" from the honest server", resp.Answer[0].Data, resp.Server)
			}
		}
		w.exCom.Server(1).SetHook(func(req *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Question[0].Name = strings.ToLower(m.Question[0].Name)
			return m
		})
		r := newIterative(t, w.World, dnsclient.IterativeConfig{})
		_, err := r.Lookup(t.Context(), qname, dns.TypeTXT)
		if de := lookupErr(t, err); de.Kind != dnsclient.KindMalformed || !strings.Contains(de.Detail, "(0x20)") {
			t.Errorf("error = %v, want malformed with (0x20)", de)
		}
	})
}

// TestIterativeFreshAnswers: an answer is never served from the cache, so
// a record changed, added after a negative answer, or removed is seen at
// the next lookup, whatever the TTL of the answer before; delegations stay
// cached for theirs.
func TestIterativeFreshAnswers(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	clock := testenv.NewClock(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC))
	r := newIterative(t, w.World, dnsclient.IterativeConfig{Now: clock.Now})
	ctx := t.Context()
	const name = "_dnsauth.new.example.com"
	tests := []struct {
		name   string
		change func()
		want   string
	}{
		{"not published yet", func() {}, "_dnsauth.new.example.com. TXT NXDOMAIN"},
		{"published after the negative answer (negative TTL 300 s)", func() { w.exCom.Add(name + `. 86400 IN TXT "typo"`) },
			"_dnsauth.new.example.com. TXT NOERROR an:_dnsauth.new.example.com./TXT/86400/typo"},
		{"corrected within its day-long TTL", func() {
			w.exCom.Remove(name+".", dns.TypeTXT)
			w.exCom.Add(name + `. 86400 IN TXT "fixed"`)
		}, "_dnsauth.new.example.com. TXT NOERROR an:_dnsauth.new.example.com./TXT/86400/fixed"},
	}
	for i, tt := range tests {
		tt.change()
		clock.Add(10 * time.Second)
		before := w.queries()
		resp, err := r.Lookup(ctx, name, dns.TypeTXT)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := summary(resp); !strings.HasPrefix(got, tt.want) || resp.Cached {
			t.Errorf("%s: %q cached=%t, want %q from the wire", tt.name, got, resp.Cached, tt.want)
		}
		// The first lookup walks from the root; the others ask example.com
		// only, its delegation (TTL 3600) being cached.
		if sent := w.queries() - before; i > 0 && sent != 1 {
			t.Errorf("%s: %d queries, want 1", tt.name, sent)
		}
	}
}

func TestIterativeZeroTTLNotCached(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	w.exCom.Add(`zero.example.com. 0 IN A 192.0.2.7`)
	r := newIterative(t, w.World, dnsclient.IterativeConfig{})
	for range 2 {
		if _, err := r.Lookup(t.Context(), "zero.example.com", dns.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.exCom.QueryCount(); got != 2 {
		t.Errorf("example.com servers got %d queries, want 2 (a 0 TTL answer is not cached)", got)
	}
}

func TestAuthoritative(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	z := w.AddZone("shop.com", "com", 5)
	z.Server(0).Add("shop.com.", `_dnsauth.shop.com. 300 IN TXT "new"`)
	z.Server(0).SetSerial("shop.com", 2026031502)
	for i := 1; i < 5; i++ {
		z.Server(i).SetSerial("shop.com", 2026031501)
	}
	z.Server(2).SetMode(testenv.AuthRefuse)
	z.Server(3).SetMode(testenv.AuthTimeout)
	z.Server(4).SetMode(testenv.AuthNotAuthoritative)

	r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 300 * time.Millisecond})
	start := time.Now()
	view, err := r.Authoritative(t.Context(), "_dnsauth.shop.com", dns.TypeTXT)
	if err != nil {
		t.Fatalf("Authoritative: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Authoritative took %v; servers are asked in parallel", d)
	}
	if view.Zone != "shop.com." || strings.Join(view.NS, " ") != "ns1.shop.com. ns2.shop.com. ns3.shop.com. ns4.shop.com. ns5.shop.com." {
		t.Errorf("zone %q NS %v", view.Zone, view.NS)
	}
	got := map[string]string{}
	for _, sv := range view.Servers {
		var b strings.Builder
		fmt.Fprintf(&b, "%s serial=%d lame=%t/%s", sv.Address, sv.SOASerial, sv.Lame, sv.LameReason)
		if sv.Answer != nil {
			fmt.Fprintf(&b, " answer=%s/%d", sv.Answer.Rcode, len(sv.Answer.Answer))
		}
		if sv.AnswerErr != nil {
			fmt.Fprintf(&b, " err=%s", sv.AnswerErr.Kind)
		}
		got[sv.NS] = b.String()
	}
	a := func(i int) string { return z.Server(i).AddrPort().String() }
	want := map[string]string{
		"ns1.shop.com.": a(0) + " serial=2026031502 lame=false/ answer=NOERROR/1",
		"ns2.shop.com.": a(1) + " serial=2026031501 lame=false/ answer=NXDOMAIN/0",
		"ns3.shop.com.": a(2) + " serial=0 lame=true/refused answer=REFUSED/0",
		"ns4.shop.com.": a(3) + " serial=0 lame=true/timeout err=timeout",
		"ns5.shop.com.": a(4) + " serial=2026031501 lame=true/not authoritative (AA=0) answer=NXDOMAIN/0",
	}
	for ns, w := range want {
		if got[ns] != w {
			t.Errorf("%s: %q, want %q", ns, got[ns], w)
		}
	}
	if len(view.Servers) != 5 {
		t.Errorf("%d servers, want 5", len(view.Servers))
	}
}

func TestAuthoritativeGlueless(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	z := w.AddGluelessZone("noglue.com", "com", w.exNet, 2)
	r := newIterative(t, w.World, dnsclient.IterativeConfig{})
	view, err := r.Authoritative(t.Context(), "www.noglue.com", dns.TypeA)
	if err != nil {
		t.Fatalf("Authoritative: %v", err)
	}
	if view.Zone != "noglue.com." || len(view.Servers) != 2 {
		t.Fatalf("zone %q with %d servers, want noglue.com. with 2", view.Zone, len(view.Servers))
	}
	for _, sv := range view.Servers {
		if sv.Lame || sv.SOASerial != 1 || !slices.Contains(serverAddrs(z), sv.Address) {
			t.Errorf("server %+v, want a non-lame server of noglue.com with serial 1", sv)
		}
	}
}

// fakeValidator records what it is asked and returns the status configured
// for the zone, after asking the zone's servers for its SOA through the
// Querier it is given.
type fakeValidator struct {
	status map[string]dnsclient.DNSSECStatus
	mu     sync.Mutex
	zones  []string
	soa    []uint32
}

func (v *fakeValidator) Validate(ctx context.Context, q dnsclient.Querier, zone string, msg *dns.Msg) (dnsclient.DNSSECStatus, string) {
	m, err := q.QueryZone(ctx, zone, zone, dns.TypeSOA)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.zones = append(v.zones, zone)
	if err == nil && len(m.Answer) > 0 {
		v.soa = append(v.soa, m.Answer[0].(*dns.SOA).Serial)
	}
	s := v.status[zone]
	return s, "status of " + zone
}

func TestIterativeDNSSECHook(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	w.exCom.Add(`_dnsauth.d.example.com. 300 IN CNAME d.example.net.`)
	w.exNet.Add(`d.example.net. 300 IN TXT "v"`)
	v := &fakeValidator{status: map[string]dnsclient.DNSSECStatus{"example.com.": dnsclient.Secure, "example.net.": dnsclient.Insecure}}
	r := newIterative(t, w.World, dnsclient.IterativeConfig{Validator: v})

	resp, err := r.Lookup(t.Context(), "_dnsauth.example.com", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.AD || resp.DNSSEC != "secure" || resp.DNSSECReason != "status of example.com." {
		t.Errorf("AD=%t DNSSEC=%q reason=%q, want secure", resp.AD, resp.DNSSEC, resp.DNSSECReason)
	}
	resp, err = r.Lookup(t.Context(), "_dnsauth.d.example.com", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if resp.AD || resp.DNSSEC != "insecure" || resp.DNSSECReason != "status of example.net." {
		t.Errorf("chain through an insecure zone: AD=%t DNSSEC=%q reason=%q", resp.AD, resp.DNSSEC, resp.DNSSECReason)
	}
	// Every answer is asked anew, and validated anew.
	before := len(v.zones)
	resp, err = r.Lookup(t.Context(), "_dnsauth.example.com", dns.TypeTXT)
	if err != nil || resp.Cached || resp.DNSSEC != "secure" || len(v.zones) != before+1 {
		t.Errorf("again: err=%v Cached=%t DNSSEC=%q validations %d->%d", err, resp.Cached, resp.DNSSEC, before, len(v.zones))
	}
	if !slices.Equal(v.soa, []uint32{1, 1, 1, 1}) {
		t.Errorf("SOA serials seen through QueryZone = %v, want [1 1 1 1]", v.soa)
	}
}

func TestQueryZoneDSAtParent(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	w.com.Add(`example.com. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF`)
	r := newIterative(t, w.World, dnsclient.IterativeConfig{})
	m, err := r.QueryZone(t.Context(), "com", "example.com", dns.TypeDS)
	if err != nil {
		t.Fatalf("QueryZone: %v", err)
	}
	if len(m.Answer) != 1 || m.Answer[0].Header().Rrtype != dns.TypeDS || !m.Authoritative {
		t.Errorf("answer %v (AA=%t), want the DS from com", m.Answer, m.Authoritative)
	}
	// A lookup of DS goes to the parent too, even with the child cached.
	if _, err := r.Lookup(t.Context(), "a.example.com", dns.TypeA); err != nil {
		t.Fatal(err)
	}
	resp, err := r.Lookup(t.Context(), "example.com", dns.TypeDS)
	if err != nil || len(resp.Answer) != 1 || !slices.Contains(serverAddrs(w.com), resp.Server) {
		t.Errorf("Lookup DS = %v, %v, want one DS from a com server", resp, err)
	}
	if _, err := r.QueryZone(t.Context(), "a.example.com", "a.example.com", dns.TypeDNSKEY); err == nil ||
		!strings.Contains(err.Error(), "a.example.com. is not a zone cut") {
		t.Errorf("QueryZone at a non-cut: %v", err)
	}
}

// TestSharedSubZone: a sub-zone served by its parent's own servers, which
// answer for it with authority instead of a referral, is still found as a
// zone cut: its keys can be asked (DNSSEC), and a name in it belongs to it.
func TestSharedSubZone(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	w.AddSharedZone("sub.example.com", "example.com")
	r := newIterative(t, w.World, dnsclient.IterativeConfig{})
	// The DNSKEY query of the DNSSEC validator goes to the sub-zone's
	// servers (none here: NODATA with the sub-zone's SOA).
	m, err := r.QueryZone(t.Context(), "sub.example.com", "sub.example.com", dns.TypeDNSKEY)
	if err != nil {
		t.Fatalf("QueryZone at the shared sub-zone: %v", err)
	}
	if !m.Authoritative || len(m.Ns) == 0 || m.Ns[0].Header().Name != "sub.example.com." {
		t.Errorf("DNSKEY answer %v, want NODATA with the SOA of sub.example.com", m)
	}
	// A missing name in it: the zone is the sub-zone, on the same servers.
	view, err := r.Authoritative(t.Context(), "_dnsauth.www.sub.example.com", dns.TypeTXT)
	if err != nil {
		t.Fatalf("Authoritative: %v", err)
	}
	if view.Zone != "sub.example.com." || !slices.Equal(view.NS, w.exCom.NSNames) || len(view.Servers) != 2 {
		t.Errorf("zone %q NS %v with %d servers, want sub.example.com. on the servers of example.com", view.Zone, view.NS, len(view.Servers))
	}
	for _, sv := range view.Servers {
		if sv.Lame || sv.Answer == nil || sv.Answer.Rcode != "NXDOMAIN" {
			t.Errorf("server %+v, want an authoritative NXDOMAIN", sv)
		}
	}
	// A name of the parent outside the sub-zone is still the parent's.
	if view, err := r.Authoritative(t.Context(), "_dnsauth.example.com", dns.TypeTXT); err != nil || view.Zone != "example.com." {
		t.Errorf("Authoritative(_dnsauth.example.com) zone = %v, %v; want example.com.", view, err)
	}
}

func TestNewIterativeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  dnsclient.IterativeConfig
		want string
	}{
		{"bad port", dnsclient.IterativeConfig{Port: 70000}, "port 70000 outside 0-65535"},
		{"negative timeout", dnsclient.IterativeConfig{Timeout: -1}, "negative timeout or limit"},
		{"no root of the source family", dnsclient.IterativeConfig{
			RootHints: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, Source: netip.MustParseAddr("::1"),
		}, "no usable root hint address"},
		{"empty root hints", dnsclient.IterativeConfig{RootHints: []netip.Addr{}}, "no usable root hint address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dnsclient.NewIterative(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewIterative error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := dnsclient.NewIterative(dnsclient.IterativeConfig{}); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

// BenchmarkResolveCold resolves a name three zones down with an empty cache
// each time.
func BenchmarkResolveCold(b *testing.B) {
	w := newIterWorld(b)
	before := w.queries()
	for b.Loop() {
		r := newIterative(b, w.World, dnsclient.IterativeConfig{})
		if _, err := r.Lookup(b.Context(), "_dnsauth.example.com", dns.TypeTXT); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(w.queries()-before)/float64(b.N), "queries/op")
}

// BenchmarkResolveWarm resolves a name whose answer is cached.
func BenchmarkResolveWarm(b *testing.B) {
	w := newIterWorld(b)
	r := newIterative(b, w.World, dnsclient.IterativeConfig{})
	if _, err := r.Lookup(b.Context(), "_dnsauth.example.com", dns.TypeTXT); err != nil {
		b.Fatal(err)
	}
	before := w.queries()
	for b.Loop() {
		if _, err := r.Lookup(b.Context(), "_dnsauth.example.com", dns.TypeTXT); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(w.queries()-before)/float64(b.N), "queries/op")
}

// TestIterativeRootsUnreachable: when not one root server answers, dcv's
// own network fails, whatever the name: the error says so (Upstream), so
// that the diagnosis blames the CA's side, not the domain's nameservers.
func TestIterativeRootsUnreachable(t *testing.T) {
	t.Parallel()
	// Loopback addresses where nothing listens: every query is refused at
	// once (ICMP port unreachable).
	roots := []netip.Addr{testenv.NewLoopbackAddr(), testenv.NewLoopbackAddr()}
	r, err := dnsclient.NewIterative(dnsclient.IterativeConfig{RootHints: roots, Timeout: 300 * time.Millisecond, AllowLoopbackServers: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Lookup(context.Background(), "_dnsauth.a.example.com.", dns.TypeTXT)
	var de *dnsclient.Error
	if !errors.As(err, &de) || !de.Upstream {
		t.Fatalf("Lookup with no root server reachable = %v, want an Upstream error", err)
	}
}

// TestIterativeOwnNetworkOrTheDomains: a lookup in which no server
// answered is dcv's own failure (Upstream) when the roots are silent too,
// whether the lookup asked only them (and ran out of time) or went straight
// to cached delegations; it is the domain's when the roots answer.
func TestIterativeOwnNetworkOrTheDomains(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup prepares the world after a first lookup has filled the
		// cache (when warm).
		setup        func(w *iterWorld)
		warm         bool
		deadline     time.Duration
		wantUpstream bool
	}{
		{
			name:         "silent root, lookup out of time",
			setup:        func(w *iterWorld) { w.Root.SetMode(testenv.AuthTimeout) },
			deadline:     300 * time.Millisecond,
			wantUpstream: true,
		},
		{
			name: "every server silent, delegations cached",
			setup: func(w *iterWorld) {
				w.Root.SetMode(testenv.AuthTimeout)
				for _, z := range []*testenv.Zone{w.com, w.net, w.exCom, w.exNet} {
					for _, s := range z.Servers {
						s.SetMode(testenv.AuthTimeout)
					}
				}
			},
			warm:         true,
			deadline:     800 * time.Millisecond,
			wantUpstream: true,
		},
		{
			name: "the domain's servers silent, delegation cached, roots answer",
			setup: func(w *iterWorld) {
				for _, s := range w.exCom.Servers {
					s.SetMode(testenv.AuthTimeout)
				}
			},
			warm:     true,
			deadline: 800 * time.Millisecond,
		},
		{
			name: "the domain's servers silent, lookup out of time at them",
			setup: func(w *iterWorld) {
				for _, s := range w.exCom.Servers {
					s.SetMode(testenv.AuthTimeout)
				}
			},
			deadline: 400 * time.Millisecond,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newIterWorld(t)
			r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 300 * time.Millisecond})
			if tc.warm {
				if _, err := r.Lookup(t.Context(), "_dnsauth.example.com.", dns.TypeTXT); err != nil {
					t.Fatalf("warming lookup: %v", err)
				}
			}
			tc.setup(w)
			ctx, cancel := context.WithTimeout(t.Context(), tc.deadline)
			defer cancel()
			_, err := r.Lookup(ctx, "_dnsauth.a.example.com.", dns.TypeTXT)
			var de *dnsclient.Error
			if !errors.As(err, &de) {
				t.Fatalf("Lookup = %v, want a *dnsclient.Error", err)
			}
			if de.Upstream != tc.wantUpstream {
				t.Errorf("Lookup error %v: Upstream %v, want %v", err, de.Upstream, tc.wantUpstream)
			}
		})
	}
}

// TestIterativeErrorNamesTheZone: a lookup that fails because no server of
// a zone answers says which zone: the TLD's when its servers are down, the
// domain's own when they are.
func TestIterativeErrorNamesTheZone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		down func(w *iterWorld) []*testenv.Zone
		want string
	}{
		{"the tld's servers", func(w *iterWorld) []*testenv.Zone { return []*testenv.Zone{w.com} }, "com."},
		{"the domain's servers", func(w *iterWorld) []*testenv.Zone { return []*testenv.Zone{w.exCom} }, "example.com."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newIterWorld(t)
			for _, z := range tc.down(w) {
				for _, s := range z.Servers {
					s.SetMode(testenv.AuthTimeout)
				}
			}
			r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 200 * time.Millisecond})
			_, err := r.Lookup(t.Context(), "_dnsauth.a.example.com.", dns.TypeTXT)
			var de *dnsclient.Error
			if !errors.As(err, &de) || de.Zone != tc.want || de.Upstream {
				t.Fatalf("Lookup = %v (zone %q), want a failure at %s, not Upstream", err, de.Zone, tc.want)
			}
		})
	}
}

// TestCanaryBounds: the roots' question after a failed lookup takes at most
// a moment past the lookup's deadline, none when the lookup was cancelled,
// and concurrent failures share one question; roots of one address family
// that cannot be reached do not make dcv's network "down" while the other
// family answers.
func TestCanaryBounds(t *testing.T) {
	t.Parallel()
	t.Run("deadline and sharing", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		w.Root.SetMode(testenv.AuthTimeout)
		r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 5 * time.Second})
		var wg sync.WaitGroup
		start := time.Now()
		for range 20 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				defer cancel()
				_, err := r.Lookup(ctx, "_dnsauth.a.example.com.", dns.TypeTXT)
				var de *dnsclient.Error
				if !errors.As(err, &de) || !de.Upstream {
					t.Errorf("Lookup = %v, want Upstream", err)
				}
			})
		}
		wg.Wait()
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("20 failing lookups with a 200 ms deadline took %v", d)
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start = time.Now()
		_, err := r.Lookup(ctx, "_dnsauth.b.example.com.", dns.TypeTXT)
		var de *dnsclient.Error
		if !errors.As(err, &de) || time.Since(start) > 500*time.Millisecond {
			t.Errorf("cancelled lookup: %v after %v, want an error at once", err, time.Since(start))
		}
	})
	t.Run("a short lookup waits for a longer one's question", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		// Queries time out after 1.5 s: lookup A (10 s) fails after its
		// two servers' 3 s, then asks the roots for 1.5 s; lookup B (100
		// ms) fails meanwhile and must wait for that question, longer
		// than its own would have lasted.
		r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 1500 * time.Millisecond})
		if _, err := r.Lookup(t.Context(), "_dnsauth.example.com.", dns.TypeTXT); err != nil {
			t.Fatalf("warming lookup: %v", err)
		}
		w.Root.SetMode(testenv.AuthTimeout)
		for _, z := range []*testenv.Zone{w.com, w.net, w.exCom, w.exNet} {
			for _, s := range z.Servers {
				s.SetMode(testenv.AuthTimeout)
			}
		}
		errA := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err := r.Lookup(ctx, "_dnsauth.a.example.com.", dns.TypeTXT)
			errA <- err
		}()
		time.Sleep(3300 * time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, errB := r.Lookup(ctx, "_dnsauth.b.example.com.", dns.TypeTXT)
		for name, err := range map[string]error{"A": <-errA, "B": errB} {
			var de *dnsclient.Error
			if !errors.As(err, &de) || !de.Upstream {
				t.Errorf("lookup %s: %v, want Upstream (dcv's network is down)", name, err)
			}
		}
	})
	t.Run("the family the lookup used is cut off, the other answers", func(t *testing.T) {
		t.Parallel()
		// An IPv6 root that answers (::1), beside IPv4 roots that go
		// silent with every IPv4 server: dcv's IPv4 is cut off. A lookup
		// that could only ask IPv4 servers fails on dcv's side.
		pc, err := net.ListenPacket("udp", "[::1]:53")
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
			// As the test world: port 53 needs root (make test runs as root).
			t.Skipf("binding [::1]:53 needs root or CAP_NET_BIND_SERVICE: %v", err)
		}
		if err != nil {
			t.Fatalf("binding [::1]:53: %v", err)
		}
		// It answers the roots' question alone, and refuses the rest: a
		// lookup never gets its answers from it.
		srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(q)
			if qq := q.Question[0]; qq.Name == "." && qq.Qtype == dns.TypeNS {
				m.Authoritative = true
				m.Answer = []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 3600}, Ns: "a.root-servers.test."}}
			} else {
				m.Rcode = dns.RcodeRefused
			}
			_ = w.WriteMsg(m)
		})}
		go func() { _ = srv.ActivateAndServe() }()
		t.Cleanup(func() { _ = srv.Shutdown() })
		w := newIterWorld(t)
		r, err := dnsclient.NewIterative(dnsclient.IterativeConfig{RootHints: append(slices.Clone(w.RootHints), netip.IPv6Loopback()), Timeout: 300 * time.Millisecond, AllowLoopbackServers: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Lookup(t.Context(), "_dnsauth.example.com.", dns.TypeTXT); err != nil {
			t.Fatalf("warming lookup: %v", err)
		}
		w.Root.SetMode(testenv.AuthTimeout)
		for _, z := range []*testenv.Zone{w.com, w.net, w.exCom, w.exNet} {
			for _, s := range z.Servers {
				s.SetMode(testenv.AuthTimeout)
			}
		}
		_, err = r.Lookup(t.Context(), "_dnsauth.a.example.com.", dns.TypeTXT)
		var de *dnsclient.Error
		if !errors.As(err, &de) || !de.Upstream {
			t.Errorf("Lookup = %v, want Upstream (dcv's IPv4 is cut off)", err)
		}
	})
	t.Run("one family unreachable", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		// Twelve IPv6 root hints that cannot be reached (no route in
		// fd00::/8 here), beside the IPv4 root that answers: three roots
		// drawn from all thirteen would be IPv6 alone three times in four.
		hints := append([]netip.Addr{}, w.RootHints...)
		for i := range 12 {
			hints = append(hints, netip.AddrFrom16([16]byte{0: 0xfd, 15: byte(i + 1)}))
		}
		// Each resolver asks the roots once (the verdict is kept): ten
		// resolvers, ten draws.
		var rs []*dnsclient.Iterative
		for range 10 {
			r, err := dnsclient.NewIterative(dnsclient.IterativeConfig{RootHints: hints, Timeout: 300 * time.Millisecond, AllowLoopbackServers: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Lookup(t.Context(), "_dnsauth.example.com.", dns.TypeTXT); err != nil {
				t.Fatalf("warming lookup: %v", err)
			}
			rs = append(rs, r)
		}
		for _, s := range w.exCom.Servers {
			s.SetMode(testenv.AuthTimeout)
		}
		var wg sync.WaitGroup
		for i, r := range rs {
			wg.Go(func() {
				_, err := r.Lookup(t.Context(), fmt.Sprintf("_dnsauth.n%d.example.com.", i), dns.TypeTXT)
				var de *dnsclient.Error
				if !errors.As(err, &de) || de.Upstream {
					t.Errorf("resolver %d: %v (upstream %v), want the domain's failure", i, err, de != nil && de.Upstream)
				}
			})
		}
		wg.Wait()
	})
}

// TestLameDelegationNamesEveryServer: when no server of a zone answers with
// authority, the error says what each of them did, not only the last one
// asked (the servers are asked in random order).
func TestLameDelegationNamesEveryServer(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	w.exCom.Server(0).SetMode(testenv.AuthNotAuthoritative)
	w.exCom.Server(1).SetMode(testenv.AuthTimeout)
	r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 100 * time.Millisecond})
	_, err := r.Lookup(t.Context(), "_dnsauth.example.com", dns.TypeTXT)
	if err == nil {
		t.Fatal("lookup succeeded, want a lame delegation")
	}
	de := lookupErr(t, err)
	for _, want := range []string{
		"lame delegation: no server of example.com. answers with authority",
		w.exCom.Server(0).AddrPort().String() + ": not authoritative (AA=0)",
		w.exCom.Server(1).AddrPort().String() + ": no answer (timeout)",
	} {
		if !strings.Contains(de.Detail, want) {
			t.Errorf("detail = %q, want it to contain %q", de.Detail, want)
		}
	}
}

// TestIterativeTCPFallbackFails: a zone's servers that answer over UDP
// with a truncated answer and then close the TCP connection fail the
// lookup with Error.TCPFallback set; in the authoritative view, one such
// server is lame for not answering over TCP, not unreachable.
func TestIterativeTCPFallbackFails(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	for _, s := range w.exCom.Servers {
		s.SetTruncateNoTCP("_dnsauth.example.com")
	}
	r := newIterative(t, w.World, dnsclient.IterativeConfig{})
	_, err := r.Lookup(t.Context(), "_dnsauth.example.com", dns.TypeTXT)
	if de := lookupErr(t, err); de.Kind != dnsclient.KindNetwork || de.TCPFallback != dnsclient.TCPFallbackClosed {
		t.Errorf("error %+v, want a network error with TCPFallback %q", de, dnsclient.TCPFallbackClosed)
	}
	// With one server answering, the view shows the other.
	w.exCom.Server(1).SetTruncateNoTCP("")
	view, err := r.Authoritative(t.Context(), "_dnsauth.example.com", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	for _, sv := range view.Servers {
		bad := sv.Address == w.exCom.Server(0).AddrPort().String()
		if sv.Lame != bad || bad && sv.LameReason != dnsclient.LameNoTCP {
			t.Errorf("server %s: lame %v (%q), want lame %v (%q)", sv.Address, sv.Lame, sv.LameReason, bad, dnsclient.LameNoTCP)
		}
	}
}

// TestReservedNameserversNotQueried: a nameserver that a delegation places
// at a special-purpose address (private, loopback, link-local…) is not
// queried, unless the configuration permits it, and the error and the
// authoritative view say so; the root hints, the operator's own, are
// always queried (review: a zone delegated to 169.254.169.254 made the CA
// query its own network and report how it answered).
func TestReservedNameserversNotQueried(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	t.Run("loopback not permitted", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		r, err := dnsclient.NewIterative(dnsclient.IterativeConfig{RootHints: w.RootHints, Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Lookup(ctx, "_dnsauth.example.com", dns.TypeTXT)
		var de *dnsclient.Error
		if !errors.As(err, &de) || de.Zone != "com." || !strings.Contains(de.Detail, "the name servers of com. are only at special-purpose addresses (ns1.com 127.") {
			t.Fatalf("Lookup = %v, want the servers of com. refused for their addresses", err)
		}
		if w.Root.QueryCount() == 0 || w.com.QueryCount() != 0 {
			t.Errorf("queries: root %d (want some), com %d (want none)", w.Root.QueryCount(), w.com.QueryCount())
		}
		// Permitted: resolved.
		r2, err := dnsclient.NewIterative(dnsclient.IterativeConfig{RootHints: w.RootHints, Timeout: 300 * time.Millisecond, AllowReservedServers: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r2.Lookup(ctx, "_dnsauth.example.com", dns.TypeTXT); err != nil {
			t.Fatalf("Lookup with AllowReservedServers: %v", err)
		}
	})
	t.Run("one zone's servers refused", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		evil := w.AddZone("evil.com", "com", 2)
		evil.Add(`_dnsauth.evil.com. 300 IN TXT "token-1"`)
		bad := map[netip.Addr]bool{}
		for _, s := range evil.Servers {
			bad[s.AddrPort().Addr()] = true
		}
		r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 300 * time.Millisecond})
		dnsclient.SetRefused(r, func(a netip.Addr) bool { return bad[a] })
		_, err := r.Lookup(ctx, "_dnsauth.evil.com", dns.TypeTXT)
		var de *dnsclient.Error
		if !errors.As(err, &de) || de.Zone != "evil.com." || !strings.Contains(de.Detail, "which a certificate authority does not query") {
			t.Fatalf("Lookup = %v, want the servers of evil.com. refused", err)
		}
		if n := evil.QueryCount(); n != 0 {
			t.Errorf("evil.com's servers got %d queries, want none", n)
		}
		// The other zones resolve as before.
		if _, err := r.Lookup(ctx, "_dnsauth.example.com", dns.TypeTXT); err != nil {
			t.Errorf("Lookup of example.com: %v", err)
		}
	})
	t.Run("one server refused", func(t *testing.T) {
		t.Parallel()
		w := newIterWorld(t)
		mixed := w.AddZone("mixed.com", "com", 2)
		mixed.Add(`_dnsauth.mixed.com. 300 IN TXT "token-1"`)
		bad := mixed.Server(1).AddrPort().Addr()
		r := newIterative(t, w.World, dnsclient.IterativeConfig{Timeout: 300 * time.Millisecond})
		dnsclient.SetRefused(r, func(a netip.Addr) bool { return a == bad })
		for range 4 {
			if _, err := r.Lookup(ctx, "_dnsauth.mixed.com", dns.TypeTXT); err != nil {
				t.Fatalf("Lookup: %v", err)
			}
		}
		view, err := r.Authoritative(ctx, "_dnsauth.mixed.com", dns.TypeTXT)
		if err != nil {
			t.Fatalf("Authoritative: %v", err)
		}
		got := map[string]string{}
		for _, sv := range view.Servers {
			got[sv.Address] = fmt.Sprintf("lame=%t/%s answered=%t", sv.Lame, sv.LameReason, sv.Answer != nil)
		}
		want := map[string]string{
			mixed.Server(0).AddrPort().String(): "lame=false/ answered=true",
			mixed.Server(1).AddrPort().String(): "lame=true/" + dnsclient.LameReservedAddress + " answered=false",
		}
		if !maps.Equal(got, want) {
			t.Errorf("servers %v, want %v", got, want)
		}
		if n := mixed.Server(1).QueryCount(); n != 0 {
			t.Errorf("the refused server got %d queries, want none", n)
		}
	})
}

func TestUnlistedServers(t *testing.T) {
	t.Parallel()
	sv := func(ns string, zoneNS ...string) dnsclient.ServerView {
		return dnsclient.ServerView{NS: ns, ZoneNS: zoneNS}
	}
	all := []string{"ns1.example.com.", "ns2.example.com.", "ns3.example.com."}
	tests := []struct {
		name    string
		servers []dnsclient.ServerView
		want    []string
	}{
		{"every server listed", []dnsclient.ServerView{sv("ns1.example.com.", all...), sv("ns2.example.com.", all...), sv("ns3.example.com.", all...)}, nil},
		{"a leftover, its old copy listing itself", []dnsclient.ServerView{
			sv("ns1.example.com.", all[:2]...), sv("ns2.example.com.", all[:2]...), sv("ns3.example.com.", all...)}, []string{"ns3.example.com"}},
		{"another address of the leftover does not vouch for it", []dnsclient.ServerView{
			sv("ns1.example.com.", all[:1]...), sv("ns2.example.com.", all...), sv("ns2.example.com.", all...)}, []string{"ns2.example.com"}},
		{"no NS set told", []dnsclient.ServerView{sv("ns1.example.com."), sv("ns2.example.com.")}, nil},
		{"none listed: nothing to tell", []dnsclient.ServerView{sv("ns1.example.com.", "other.example.net."), sv("ns2.example.com.", "other.example.net.")}, nil},
		{"case and final dot", []dnsclient.ServerView{sv("NS1.Example.com", all[:2]...), sv("ns2.example.com.", all[:2]...), sv("NS3.example.com", all[:2]...)}, []string{"ns3.example.com"}},
		// A move between DNS hosts under way: each zone lists its own
		// servers; neither side is the leftover (review).
		{"two hosts' zones", []dnsclient.ServerView{sv("ns1.old.example.", "ns1.old.example.", "ns2.old.example."), sv("ns2.old.example.", "ns1.old.example.", "ns2.old.example."),
			sv("ns1.new.example.", "ns1.new.example.")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := dnsclient.UnlistedServers(tt.servers); !slices.Equal(got, tt.want) {
				t.Errorf("UnlistedServers = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestIterativeInZoneNameserverWithoutGlue: a zone delegated to a
// nameserver inside it, without glue, cannot be resolved; the error says
// which nameserver needs itself to be found, in the words package
// diagnose tells apart from a CNAME loop (black-box run).
func TestIterativeInZoneNameserverWithoutGlue(t *testing.T) {
	t.Parallel()
	w := newIterWorld(t)
	z := w.AddZone("noglue.com", "com", 1)
	z.Add(`_dnsauth.noglue.com. 300 IN TXT "v"`)
	for _, ns := range z.NSNames {
		if !dns.IsSubDomain(z.Name, ns) {
			t.Fatalf("nameserver %s is outside %s", ns, z.Name)
		}
		w.com.Remove(ns, dns.TypeA)
		w.com.Remove(ns, dns.TypeAAAA)
	}
	r := newIterative(t, w.World, dnsclient.IterativeConfig{})
	_, err := r.Lookup(t.Context(), "_dnsauth.noglue.com", dns.TypeTXT)
	var e *dnsclient.Error
	want := "name server " + strings.ToLower(z.NSNames[0]) + " needs itself to be resolved (glueless loop)"
	if !errors.As(err, &e) || e.Kind != dnsclient.KindLoop || !strings.Contains(e.Detail, want) {
		t.Fatalf("Lookup = %v; want KindLoop with %q", err, want)
	}
	// The glue added at the parent is seen at the next lookup, not once
	// the referral kept from the first has expired (black-box run).
	for i, ns := range z.NSNames {
		w.com.Add(fmt.Sprintf("%s 3600 IN A %s", ns, z.Servers[i].Addr))
	}
	resp, err := r.Lookup(t.Context(), "_dnsauth.noglue.com", dns.TypeTXT)
	if err != nil || len(resp.Answer) != 1 {
		t.Fatalf("Lookup after the glue was added: %+v, %v; want the TXT record at once", resp, err)
	}
}
