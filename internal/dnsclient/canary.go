package dnsclient

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// A lookup in which not one server answered anything may fail on either
// side: the domain's servers are all down, or dcv's own network drops its
// queries (an egress firewall, a broken route). The servers a lookup asks do
// not tell which: with delegations cached, even an outage of dcv's network
// shows only the domain's (or its TLD's) servers timing out. So the roots are
// asked directly: when none of them answers either, the failure is dcv's own
// (Error.Upstream), and the applicant is not blamed for it.

const (
	// canaryServers is how many root servers are asked at once.
	canaryServers = 3
	// canaryTimeout bounds the question, whatever the lookup's deadline
	// (the lookup may have failed at it).
	canaryTimeout = 2 * time.Second
	// canaryTTL is how long a verdict is reused: a burst of failing
	// lookups asks the roots once.
	canaryTTL = 10 * time.Second
)

// canary remembers the roots' last verdict.
type canary struct {
	mu     sync.Mutex // held while the roots are asked: one question at a time
	at     time.Time  // when the verdict was reached (monotonic)
	silent bool
}

// rootsSilent reports whether none of up to canaryServers root servers
// answers a query for the root's NS set within canaryTimeout. The verdict
// is reused for canaryTTL.
func (r *Iterative) rootsSilent(ctx context.Context) bool {
	c := &r.canary
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < canaryTTL {
		return c.silent
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), canaryTimeout)
	defer cancel()
	roots := append([]netip.Addr(nil), r.roots...)
	rand.Shuffle(len(roots), func(i, j int) { roots[i], roots[j] = roots[j], roots[i] })
	roots = roots[:min(len(roots), canaryServers)]
	answered := make(chan bool, len(roots))
	for _, a := range roots {
		go func() {
			q := new(dns.Msg)
			q.Id = dns.Id()
			q.Question = []dns.Question{{Name: ".", Qtype: dns.TypeNS, Qclass: dns.ClassINET}}
			q.SetEdns0(ednsUDPSize, false)
			_, err := r.exchangeNet(ctx, "udp", netip.AddrPortFrom(a, r.port), q)
			answered <- err == nil
		}()
	}
	silent := true
	for range roots {
		if <-answered {
			silent = false
			cancel() // the others need not wait
		}
	}
	c.at, c.silent = time.Now(), silent
	return silent
}

// blameOwnNetwork sets e.Upstream when e ends a lookup in which no server
// answered (only timeouts and unreachable servers) and the roots are silent
// too.
func (r *Iterative) blameOwnNetwork(ctx context.Context, st *lookupState, e *Error) {
	if e.Upstream || (e.Kind != KindTimeout && e.Kind != KindNetwork) || st.anyAnswer() {
		return
	}
	if r.rootsSilent(ctx) {
		e.Upstream = true
	}
}
