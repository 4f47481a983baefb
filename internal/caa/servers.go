package caa

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// ReasonServersDisagree is the Reason of a Result whose verdict depends on
// which authoritative server a lookup reaches: the servers of a zone on the
// climb serve different CAA records at a name, and at least one of the
// versions would decide otherwise (see Disagreement).
const ReasonServersDisagree = "servers_disagree"

// AuthoritativeViewer is the optional capability of a resolver that can ask
// every authoritative server of a name's zone directly
// (dnsclient.Iterative). With it, Evaluate compares what each server
// serves at the names of the climb with what the resolver answered.
type AuthoritativeViewer interface {
	Authoritative(ctx context.Context, name string, qtype uint16) (*dnsclient.ZoneView, error)
}

var _ AuthoritativeViewer = (*dnsclient.Iterative)(nil)

// Disagreement is what the authoritative servers of a zone on the climb
// serve at a name where they do not all serve the same CAA records.
type Disagreement struct {
	// Name is the name looked at (without the trailing dot), Zone the
	// zone serving it.
	Name string `json:"name"`
	Zone string `json:"zone"`
	// Servers has one entry per server that answered with authority.
	Servers []ServerRecords `json:"servers"`
	// Blocking is set when one version of the records would decide
	// otherwise than the one the resolver's answer led to: the Result is
	// then not permitted, with ReasonServersDisagree. Versions that all
	// decide alike only differ in records that change nothing (an iodef,
	// another issuer's property): the Result keeps its verdict.
	Blocking bool `json:"blocking,omitempty"`
}

// ServerRecords is the CAA RRset one authoritative server serves at a name.
type ServerRecords struct {
	NS      string `json:"ns"`
	Address string `json:"address"`
	// Serial is the zone's SOA serial on this server (0: unknown).
	Serial  uint32             `json:"serial,omitempty"`
	Records []dnsclient.Record `json:"records,omitempty"`
	// ZoneNS is the zone's NS set as this server serves it
	// (dnsclient.ServerView.ZoneNS).
	ZoneNS []string `json:"zone_ns,omitempty"`
	// Verdict is what this version of the records decides: as the
	// relevant set, or, when it is empty, what the climb above decides
	// (without Trace). Set when the Disagreement is compared.
	Verdict *Result `json:"verdict,omitempty"`
}

// FailingServer is an authoritative server of a zone on the climb that
// gave no usable CAA answer at a name the climb looked at, while the
// lookup of that name got one (from another server of the zone). It does
// not change the verdict; it is evidence of a server that fails lookups
// reaching it.
type FailingServer struct {
	// Name is the name asked (without the trailing dot), Zone the zone
	// serving it.
	Name string `json:"name"`
	Zone string `json:"zone"`
	// NS is the server's NS name (without the trailing dot), Address the
	// ip:port asked.
	NS      string `json:"ns"`
	Address string `json:"address"`
	// Reason is what the server did, as dnsclient.ServerView.LameReason
	// says it: "servfail", "refused", "timeout", "unreachable",
	// "malformed answer", "not authoritative (AA=0)" or another rcode in
	// lowercase.
	Reason string `json:"reason"`
}

// failingServers returns the servers of view that gave no usable CAA
// answer at step's name: lame ones whose answer to the CAA question
// failed (a server whose CAA answer was fine but whose SOA was not is the
// zone's affair, not CAA's; one without an address was not asked).
func failingServers(s Step, view *dnsclient.ZoneView) []FailingServer {
	if view == nil {
		return nil
	}
	var out []FailingServer
	for _, sv := range view.Servers {
		if !sv.Lame || sv.Address == "" {
			continue
		}
		answered := sv.AnswerErr == nil && sv.Answer != nil && (sv.Answer.Rcode == "NOERROR" || sv.Answer.Rcode == "NXDOMAIN")
		if answered && sv.LameReason != "not authoritative (AA=0)" {
			continue
		}
		out = append(out, FailingServer{Name: s.Name, Zone: strings.TrimSuffix(view.Zone, "."), NS: strings.TrimSuffix(sv.NS, "."),
			Address: sv.Address, Reason: sv.LameReason})
	}
	return out
}

// compareServers asks every authoritative server of each name res's climb
// looked at, within the registered domain (the applicant's zones, not a
// TLD's), for its CAA records, and records in res the first name where they
// differ from the resolver's answer in a way that decides otherwise, else
// the first name where they differ at all (res.Disagreement). When another
// version would decide otherwise, the verdict cannot rest on which server
// a lookup reached: res becomes not permitted, ReasonServersDisagree. A
// name whose servers cannot be asked, or that is a CNAME, is not compared:
// the lookup that was made stands. Servers that gave no usable answer are
// recorded in res.FailingServers.
func compareServers(ctx context.Context, r dnsclient.Resolver, av AuthoritativeViewer, res *Result, p Params) {
	if res.Reason == ReasonLookupFailed {
		return
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(res.Domain)
	if err != nil {
		return
	}
	var steps []Step
	for _, s := range res.Trace {
		if s.Response == nil || len(s.Response.CNAMEs) > 0 || (s.Name != reg && !strings.HasSuffix(s.Name, "."+reg)) {
			continue
		}
		steps = append(steps, s)
	}
	views := make([]*dnsclient.ZoneView, len(steps))
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Go(func() {
			lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
			defer cancel()
			if v, err := av.Authoritative(lctx, s.Name+".", typeCAA); err == nil {
				views[i] = v
			}
		})
	}
	wg.Wait()
	for i, s := range steps {
		res.FailingServers = append(res.FailingServers, failingServers(s, views[i])...)
	}
	// Every name is compared: a disagreement that changes nothing low on
	// the climb (an iodef one server adds) must not hide one further up
	// that decides otherwise. The first blocking one is recorded, else the
	// first one.
	for i, s := range steps {
		d := disagreement(s, views[i])
		if d == nil {
			continue
		}
		d.Blocking = decidesOtherwise(ctx, r, res, s, d, p)
		if res.Disagreement == nil || d.Blocking {
			res.Disagreement = d
		}
		if d.Blocking {
			res.Permitted = false
			res.Reason = ReasonServersDisagree
			return
		}
	}
}

// disagreement compares the CAA records each authoritative server of view
// serves at step's name with those of the resolver's answer; nil when they
// all agree, or when too little is known to say.
func disagreement(s Step, view *dnsclient.ZoneView) *Disagreement {
	if view == nil {
		return nil
	}
	want := RRsetKey(caaRecords(s.Response.Answer))
	d := &Disagreement{Name: s.Name, Zone: strings.TrimSuffix(view.Zone, ".")}
	differs := false
	for _, sv := range view.Servers {
		if sv.Lame || sv.Answer == nil || len(sv.Answer.CNAMEs) > 0 || (sv.Answer.Rcode != "NOERROR" && sv.Answer.Rcode != "NXDOMAIN") {
			continue
		}
		set := caaRecords(sv.Answer.Answer)
		d.Servers = append(d.Servers, ServerRecords{NS: strings.TrimSuffix(sv.NS, "."), Address: sv.Address, Serial: sv.SOASerial, Records: set, ZoneNS: sv.ZoneNS})
		if RRsetKey(set) != want {
			differs = true
		}
	}
	if !differs {
		return nil
	}
	return d
}

// decidesOtherwise reports whether a version of the records in d would
// give another verdict than res: a non-empty version is decided as the
// relevant RRset; an empty one where the resolver's answer had records (at
// the relevant name) sends the climb further up: the rest of the climb is
// looked up through r and decided, and a lookup that fails there counts as
// another verdict (the check fails closed).
// Each server's version gets its verdict (ServerRecords.Verdict), so that
// the diagnosis can say which version forbids, and why.
func decidesOtherwise(ctx context.Context, r dnsclient.Resolver, res *Result, s Step, d *Disagreement, p Params) bool {
	var above *Result // the verdict of the climb past s.Name, once looked up
	otherwise := false
	for i := range d.Servers {
		sv := &d.Servers[i]
		if len(sv.Records) == 0 {
			if s.Name != res.RelevantName {
				// Empty where the resolver's answer was empty too: the
				// climb goes on as it did.
				same := *res
				same.Trace, same.Disagreement, same.FailingServers = nil, nil, nil
				sv.Verdict = &same
				continue
			}
			if above == nil {
				above = climbAbove(ctx, r, res, s.Name, p)
			}
			sv.Verdict = above
			if above.Reason == ReasonLookupFailed || above.Permitted != res.Permitted {
				otherwise = true
			}
			continue
		}
		alt := &Result{Domain: res.Domain, Wildcard: res.Wildcard, Identity: res.Identity, AccountURI: res.AccountURI, Method: res.Method}
		decide(alt, sv.Records, p)
		alt.RelevantName, alt.Records = s.Name, sv.Records
		sv.Verdict = alt
		if alt.Permitted != res.Permitted {
			otherwise = true
		}
	}
	return otherwise
}

// climbAbove is the verdict of the climb from the parent of name, for res's
// domain (a wildcard's too): what a server without records at name leads
// to. Past the top-level domain there is nothing left: permitted.
func climbAbove(ctx context.Context, r dnsclient.Resolver, res *Result, name string, p Params) *Result {
	up := parent(name)
	if up == "" {
		return &Result{Permitted: true}
	}
	if res.Wildcard {
		up = "*." + up
	}
	return evaluate(ctx, r, up, p)
}

// RRsetKey is a canonical form of a CAA RRset, for comparison: its records'
// flag, tag and value, sorted (tags compare case-insensitively, RFC 8659
// §4.1). Two RRsets with the same key decide alike.
func RRsetKey(set []dnsclient.Record) string {
	keys := make([]string, len(set))
	for i, r := range set {
		keys[i] = fmt.Sprintf("%d %s %q", r.Flag, strings.ToLower(r.Tag), r.Value)
	}
	slices.Sort(keys)
	return strings.Join(keys, "\n")
}
