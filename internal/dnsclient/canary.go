package dnsclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// A lookup in which not one server answered may fail on either side: the
// domain's servers are all down, or dcv's own network drops its queries (an
// egress firewall, a broken route). The servers a lookup asks do not tell
// which: with delegations cached, even an outage of dcv's network shows only
// the domain's (or its TLD's) servers timing out. So the roots are asked
// directly: when none of them answers either, the failure is dcv's own
// (Error.Upstream), and the applicant is not blamed for it.

const (
	// canaryServers is how many root servers of an address family are
	// asked at once.
	canaryServers = 3
	// canaryTimeout bounds the question; it gets at most canaryAllowance
	// past the lookup's own deadline (the lookup may have failed at it).
	canaryTimeout   = 2 * time.Second
	canaryAllowance = 500 * time.Millisecond
	// canaryTTL is how long a verdict is reused: a burst of failing
	// lookups asks the roots once.
	canaryTTL = 10 * time.Second
)

// canary remembers the last verdict on the roots of one address family,
// and the question under way.
type canary struct {
	mu      sync.Mutex
	at      time.Time // when the verdict was reached (monotonic)
	silent  bool
	running chan struct{} // closed when the question under way ends; nil if none
	until   time.Time     // when the question under way ends at the latest
}

// Address families of the roots, as indexes of Iterative.canary.
const (
	famV4 = iota
	famV6
)

// familyOf is the address family index of a.
func familyOf(a netip.Addr) int {
	if a.Is4() {
		return famV4
	}
	return famV6
}

// rootsSilent reports whether the roots of every address family in fams
// that has root hints are silent (familySilent), asked at once; ok is
// false when a verdict could not be reached for one of them, or no family
// of fams has roots.
func (r *Iterative) rootsSilent(ctx context.Context, fams [2]bool) (silent, ok bool) {
	type verdict struct{ asked, silent, ok bool }
	var vs [2]verdict
	var wg sync.WaitGroup
	for fam, used := range fams {
		if !used || !slices.ContainsFunc(r.roots, func(a netip.Addr) bool { return familyOf(a) == fam }) {
			continue
		}
		wg.Go(func() {
			s, k := r.familySilent(ctx, fam)
			vs[fam] = verdict{true, s, k}
		})
	}
	wg.Wait()
	if !vs[famV4].asked && !vs[famV6].asked {
		return false, false
	}
	for _, v := range vs {
		switch {
		case !v.asked:
		case !v.ok:
			return false, false
		case !v.silent:
			return false, true
		}
	}
	return true, true
}

// familySilent reports whether no root server of address family fam
// answers a query for the root's NS set: up to canaryServers of them are
// asked at once, within canaryTimeout and at most canaryAllowance past
// ctx's deadline. ok is false when no verdict could be reached: ctx was
// cancelled (not timed out), or the wait for another caller's question
// ran out. A verdict is reused for canaryTTL; concurrent callers share one
// question.
func (r *Iterative) familySilent(ctx context.Context, fam int) (silent, ok bool) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return false, false // the caller gave up: no blame either way
	}
	timeout := canaryTimeout
	if dl, has := ctx.Deadline(); has {
		timeout = min(timeout, max(time.Until(dl), 0)+canaryAllowance)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	c := &r.canary[fam]
	for {
		c.mu.Lock()
		if !c.at.IsZero() && time.Since(c.at) < canaryTTL {
			silent := c.silent
			c.mu.Unlock()
			return silent, true
		}
		if ch := c.running; ch != nil {
			// Wait for the question under way until it ends (it is
			// bounded), or for as long as this one would have taken.
			wait := time.NewTimer(max(timeout, time.Until(c.until)) + canaryAllowance)
			c.mu.Unlock()
			select {
			case <-ch:
				wait.Stop()
				continue
			case <-wait.C:
				return false, false
			}
		}
		ch := make(chan struct{})
		c.running, c.until = ch, time.Now().Add(timeout)
		c.mu.Unlock()

		silent := r.askRoots(cctx, fam)
		c.mu.Lock()
		c.at, c.silent, c.running = time.Now(), silent, nil
		close(ch)
		c.mu.Unlock()
		return silent, true
	}
}

// askRoots reports whether none of up to canaryServers root servers of
// address family fam answers before ctx ends.
func (r *Iterative) askRoots(ctx context.Context, fam int) (silent bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var asked []netip.Addr
	for _, a := range r.roots {
		if familyOf(a) == fam {
			asked = append(asked, a)
		}
	}
	rand.Shuffle(len(asked), func(i, j int) { asked[i], asked[j] = asked[j], asked[i] })
	asked = asked[:min(len(asked), canaryServers)]
	answered := make(chan bool, len(asked))
	for _, a := range asked {
		go func() {
			q := new(dns.Msg)
			q.Id = dns.Id()
			q.Question = []dns.Question{{Name: ".", Qtype: dns.TypeNS, Qclass: dns.ClassINET}}
			q.SetEdns0(ednsUDPSize, false)
			_, err := r.exchangeNet(ctx, "udp", netip.AddrPortFrom(a, r.port), q)
			answered <- err == nil
		}()
	}
	silent = true
	for range asked {
		if <-answered {
			silent = false
			cancel() // the others need not wait
		}
	}
	return silent
}

// blameOwnNetwork sets e.Upstream when e ends a lookup in which no server
// answered (only timeouts and unreachable servers) and the roots of the
// address families it used are silent too: with IPv4 cut off and IPv6
// working, a lookup that only had IPv4 servers to ask is dcv's failure.
func (r *Iterative) blameOwnNetwork(ctx context.Context, st *lookupState, e *Error) {
	if e.Upstream || (e.Kind != KindTimeout && e.Kind != KindNetwork) || st.anyAnswer() {
		return
	}
	if silent, ok := r.rootsSilent(ctx, st.families()); ok && silent {
		e.Upstream = true
	}
}
