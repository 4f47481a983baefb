package dnsclient

import (
	"context"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// PairResolver is a Resolver that can look one name up for two types at
// once, more cheaply than two Lookups (webfetch asks AAAA and A together).
type PairResolver interface {
	Resolver
	// LookupPair returns what Lookup(ctx, name, qtypes[i]) would, for i
	// 0 and 1: responses[i] and errs[i], one of them nil.
	LookupPair(ctx context.Context, name string, qtypes [2]uint16) (responses [2]*Response, errs [2]error)
}

var _ PairResolver = (*Forwarder)(nil)

// LookupPair is Lookup of name for qtypes[0] and qtypes[1], with the same
// answers, errors and cache. When neither is cached, the two questions go
// to each server together, from one fresh UDP socket (a new random source
// port), each with its own random ID, and each answer is matched to its
// query by ID and question, as stub resolvers do for A and AAAA. What
// follows (a partial CNAME chain, the TCP fallback, the next server for a
// question that failed) is done for each question on its own.
func (f *Forwarder) LookupPair(ctx context.Context, name string, qtypes [2]uint16) ([2]*Response, [2]error) {
	var (
		resps [2]*Response
		errs  [2]error
	)
	lookupEach := func() ([2]*Response, [2]error) {
		for i, qt := range qtypes {
			resps[i], errs[i] = f.Lookup(ctx, name, qt)
		}
		return resps, errs
	}
	start := time.Now()
	name = strings.ToLower(dns.Fqdn(name))
	if _, ok := dns.IsDomainName(name); !ok || qtypes[0] == qtypes[1] {
		return lookupEach()
	}
	for _, qt := range qtypes {
		if _, _, _, hit := f.cached(name, qt); hit {
			return lookupEach()
		}
	}
	res := f.exchange(ctx, name, qtypes[0], qtypes[1])
	for i, qt := range qtypes {
		resps[i], errs[i] = f.lookup(ctx, start, name, qt, &res[i])
	}
	return resps, errs
}
