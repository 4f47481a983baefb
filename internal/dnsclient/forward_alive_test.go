package dnsclient_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// TestAliveVerdictFromBeforeTheLookup: a liveness verdict reached before a
// lookup began is not reused for it: the resolver may have died since, and
// the timeout is then the CA's side, not the domain's (review).
func TestAliveVerdictFromBeforeTheLookup(t *testing.T) {
	t.Parallel()
	var dead atomic.Bool
	addr := serveFunc(t, func(w dns.ResponseWriter, r *dns.Msg) {
		if dead.Load() || r.Question[0].Name != "." {
			return // dead: silent to everything; alive: the domain is slow
		}
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 518400}, Ns: "a.root-servers.net."}}
		_ = w.WriteMsg(m)
	})
	f, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{addr}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lookup := func() *dnsclient.Error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := f.Lookup(ctx, "slow.example.com", dns.TypeTXT)
		de, ok := err.(*dnsclient.Error)
		if !ok {
			t.Fatalf("lookup: %v", err)
		}
		return de
	}
	if de := lookup(); de.Kind != dnsclient.KindTimeout || de.Upstream {
		t.Fatalf("alive resolver, slow domain: %+v; want a timeout, not Upstream", de)
	}
	dead.Store(true) // the resolver dies
	start := time.Now()
	de := lookup() // begun after the verdict
	t.Logf("lookup after the resolver died took %v: kind %v, upstream %v", time.Since(start), de.Kind, de.Upstream)
	if !de.Upstream {
		t.Errorf("a lookup begun after the resolver went silent times out and is blamed on the domain (Upstream false): the verdict reused was reached before it began")
	}
}
