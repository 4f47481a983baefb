package dnsclient

import (
	"context"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// A question that times out at dcv's resolver may be the domain's fault
// (its nameservers did not answer the resolver in time) or the resolver's
// own (it is down, or overloaded). The resolver tells them apart when asked
// what it can answer from its cache or with one query to a root server: the
// root zone's NS set. A resolver that does not answer that either is
// silent, and the timeout is the certificate authority's problem
// (Error.Upstream), not the applicant's.

const (
	// aliveTimeout bounds the question; the lookup that timed out has
	// used its own time already.
	aliveTimeout = time.Second
	// aliveTTL is how long a verdict is reused: a burst of timeouts asks
	// once.
	aliveTTL = 10 * time.Second
)

// aliveness remembers the last verdict on the resolvers, and the question
// under way.
type aliveness struct {
	mu      sync.Mutex
	at      time.Time // when the verdict was reached (monotonic)
	silent  bool
	running chan struct{} // closed when the question under way ends; nil if none
}

// resolversSilent reports whether none of f's resolvers answers a question
// it should answer at once (". NS"), for a lookup begun at since: a
// verdict reached after since, and within aliveTTL, is reused (a burst of
// timeouts asks once), an older one is not (the resolver may have died
// since). Concurrent callers share the question, which ends within
// aliveTimeout whatever their own deadlines (a lookup that timed out has
// usually spent its own).
func (f *Forwarder) resolversSilent(ctx context.Context, since time.Time) bool {
	a := &f.alive
	a.mu.Lock()
	if !a.at.IsZero() && a.at.After(since) && time.Since(a.at) < aliveTTL {
		silent := a.silent
		a.mu.Unlock()
		return silent
	}
	if ch := a.running; ch != nil {
		a.mu.Unlock()
		<-ch
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.silent
	}
	ch := make(chan struct{})
	a.running = ch
	a.mu.Unlock()
	silent := true
	defer func() {
		// Also on a panic: waiters must not wait on ch forever.
		a.mu.Lock()
		a.at, a.silent, a.running = time.Now(), silent, nil
		a.mu.Unlock()
		close(ch)
	}()

	// Its own deadline: the caller's may be spent by the timeout that
	// brought it here, and the verdict serves others too.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), aliveTimeout)
	defer cancel()
	silent = !f.anyAnswers(qctx)
	return silent
}

// anyAnswers asks every resolver at once for the root's NS set and reports
// whether one answered, whatever its rcode, before ctx ends: one at a
// time, a silent first resolver would use up the time of a live second.
func (f *Forwarder) anyAnswers(ctx context.Context) bool {
	q := new(dns.Msg)
	q.SetQuestion(".", dns.TypeNS)
	q.RecursionDesired = true
	wire, err := q.Pack()
	if err != nil {
		return true // not expected; never blame the resolver on it
	}
	answered := make(chan bool, len(f.servers))
	for i := range f.servers {
		go func() {
			// Each its own ID and socket (queryUDP), bounded by ctx.
			qi := q.Copy()
			qi.Id = dns.Id()
			w, err := qi.Pack()
			if err != nil {
				w, qi = wire, q
			}
			r := f.queryUDP(ctx, i, []question{{q: qi, wire: w}})
			answered <- r[0].err == nil
		}()
	}
	for range f.servers {
		if <-answered {
			return true
		}
	}
	return false
}
