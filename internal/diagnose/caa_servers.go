package diagnose

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
)

// CodeCAANameserversDisagree: the authoritative servers of a zone on the
// CAA climb serve different CAA records at a name (caa.Disagreement).
// Blocking, and retryable, when the versions decide differently: the
// verdict would depend on which server a lookup reached. A warning when
// every version decides alike. Like the others, the code is API.
const CodeCAANameserversDisagree Code = "CAA_NAMESERVERS_DISAGREE"

const (
	msgCAADisagree         msg = "msgCAADisagree"
	msgCAADisagreeHarmless msg = "msgCAADisagreeHarmless"
	fixCAADisagree         msg = "fixCAADisagree"
	wordCAAServer          msg = "wordCAAServer"
	wordCAANone            msg = "wordCAANone"
	wordCAAPermits         msg = "wordCAAPermits"
	wordCAAForbids         msg = "wordCAAForbids"
	noteCAANewestForbids   msg = "noteCAANewestForbids"
	noteCAAStaleNS         msg = "noteCAAStaleNS"
	fixCAAStaleNS          msg = "fixCAAStaleNS"
	fixCAANewestForbids    msg = "fixCAANewestForbids"
	msgCAAServerFailing    msg = "msgCAAServerFailing"
	fixCAAServerFailing    msg = "fixCAAServerFailing"
	fixCAAServersFailing   msg = "fixCAAServersFailing"
	caaFailServfail        msg = "caaFailServfail"
	caaFailRefused         msg = "caaFailRefused"
	caaFailTimeout         msg = "caaFailTimeout"
	caaFailUnreachable     msg = "caaFailUnreachable"
	caaFailMalformed       msg = "caaFailMalformed"
	caaFailNotAuth         msg = "caaFailNotAuth"
	caaFailOther           msg = "caaFailOther"
)

func init() {
	extend(CodeCAACriticalUnknown,
		map[Code]string{CodeCAANameserversDisagree: "Nameservers disagree on CAA"},
		map[msg]string{
			msgCAADisagree:         "The nameservers of the %[1]s zone serve different CAA records at %[2]s: %[3]s. A lookup reaches one of them at random (remote perspectives, other ones), and these versions do not decide alike whether %[4]s may issue, so dcv does not issue until every nameserver serves the same records.",
			msgCAADisagreeHarmless: "The nameservers of the %[1]s zone serve different CAA records at %[2]s: %[3]s. Every version decides alike whether %[4]s may issue, so this does not change the outcome.",
			fixCAADisagree:         "If you changed the CAA records of %[2]s recently, wait until every nameserver of %[1]s serves the change (the one with the highest SOA serial has the newest version), then check again; otherwise correct the records on the servers that differ, so that all serve the same ones.",
			wordCAAServer:          "%[1]s serves %[2]s",
			wordCAANone:            "no CAA record",
			wordCAAPermits:         "%[1]s (with it, %[2]s may issue)",
			wordCAAForbids:         "%[1]s (with it, %[2]s may not)",
			noteCAANewestForbids:   "The newest version (SOA serial %[1]d) forbids issuance: %[2]s",
			noteCAAStaleNS:         "%[1]s is no longer among the zone's own NS records (%[2]s) but still in its delegation at the registrar: a leftover, which keeps serving an old copy of the zone.",
			fixCAAStaleNS:          "Remove %[1]s from the nameservers of %[2]s at your registrar (the delegation in the parent zone), so that it lists only %[3]s; waiting does not help, as it no longer gets the zone's changes.",
			fixCAANewestForbids:    "%[1]s Every nameserver of %[2]s will serve it once they catch up: correct it on the primary, then check again.",
			msgCAAServerFailing:    "Not every nameserver answers CAA queries: %[1]s. dcv got its CAA answer from another nameserver, so this does not block issuance, but a CAA lookup that reaches only a failing server fails, and certificate authorities (dcv included) do not issue when a CAA lookup fails.",
			fixCAAServerFailing:    "Configure %[1]s to answer CAA queries for every name of %[2]s with authority (an empty answer is fine; SERVFAIL, REFUSED or silence is not), or remove it from the NS records of %[2]s (at the registrar and in the zone).",
			fixCAAServersFailing:   "Configure %[1]s to answer CAA queries for every name of %[2]s with authority (an empty answer is fine; SERVFAIL, REFUSED or silence is not), or remove them from the NS records of %[2]s (at the registrar and in the zone).",
			caaFailServfail:        "%[1]s answers SERVFAIL to CAA queries at %[2]s",
			caaFailRefused:         "%[1]s refuses CAA queries at %[2]s (REFUSED)",
			caaFailTimeout:         "%[1]s does not answer CAA queries at %[2]s (timeout)",
			caaFailUnreachable:     "%[1]s cannot be reached for CAA queries at %[2]s",
			caaFailMalformed:       "%[1]s sends malformed answers to CAA queries at %[2]s",
			caaFailNotAuth:         "%[1]s answers CAA queries at %[2]s without authority (AA=0)",
			caaFailOther:           "%[1]s answers %[3]s to CAA queries at %[2]s",
		},
		CodeCAANameserversDisagree)
}

// caaFindings is what r says about CAA: its refusal, or, when it permits
// but the zone's servers serve different records that decide alike, a
// warning saying so; and, when it permits, a warning naming the servers
// that gave no CAA answer while another did (r.FailingServers), except
// those already reported lame in reported (the record's zones, whose lame
// servers the DNS findings name). None otherwise.
func (d *diagnoser) caaFindings(r *caa.Result, reported ...*dnsclient.ZoneView) []Finding {
	var out []Finding
	switch {
	case r == nil:
		return nil
	case !r.Permitted:
		return []Finding{d.caa(r)}
	case r.Disagreement != nil:
		out = append(out, d.caaDisagree(r))
	}
	if f, ok := d.caaFailingServers(r.FailingServers, reported); ok {
		out = append(out, f)
	}
	return out
}

// caaFailingServers renders servers that gave no CAA answer while another
// server of their zone did as a DNS_LAME_DELEGATION warning: each server
// with what it did and at which names. Servers lame in one of reported's
// views of the same zone are left out: the DNS findings name them already.
func (d *diagnoser) caaFailingServers(fs []caa.FailingServer, reported []*dnsclient.ZoneView) (Finding, bool) {
	known := func(f caa.FailingServer) bool {
		return slices.ContainsFunc(reported, func(v *dnsclient.ZoneView) bool {
			return v != nil && trimDot(v.Zone) == trimDot(f.Zone) && slices.ContainsFunc(v.Servers, func(sv dnsclient.ServerView) bool {
				return sv.Lame && sv.Address == f.Address
			})
		})
	}
	type key struct{ ns, addr, reason string }
	var (
		order        []key
		names        = map[key][]string{}
		zones, hosts []string
	)
	for _, f := range fs {
		if known(f) {
			continue
		}
		k := key{f.NS, f.Address, f.Reason}
		if _, ok := names[k]; !ok {
			order = append(order, k)
		}
		if n := Truncate(trimDot(f.Name), maxNameShown); !slices.Contains(names[k], n) {
			names[k] = append(names[k], n)
		}
		if z := Truncate(trimDot(f.Zone), maxNameShown); !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
		if h := Truncate(trimDot(cmp.Or(f.NS, f.Address)), maxNameShown); !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if len(order) == 0 {
		return Finding{}, false
	}
	sep := d.c.f(wordListSep)
	parts := make([]string, len(order))
	for i, k := range order {
		server := d.serverName(dnsclient.ServerView{NS: k.ns, Address: k.addr})
		at := strings.Join(names[k], sep)
		var m msg
		switch k.reason {
		case "servfail":
			m = caaFailServfail
		case "refused":
			m = caaFailRefused
		case "timeout":
			m = caaFailTimeout
		case "unreachable":
			m = caaFailUnreachable
		case "malformed answer":
			m = caaFailMalformed
		case "not authoritative (AA=0)":
			m = caaFailNotAuth
		default:
			m = caaFailOther
		}
		parts[i] = d.c.f(m, server, at, Truncate(k.reason, maxDetailShown))
	}
	fix := fixCAAServerFailing
	if len(hosts) > 1 {
		fix = fixCAAServersFailing
	}
	return Finding{
		Code:     CodeDNSLameDelegation,
		Severity: SeverityWarning,
		Message:  d.c.f(msgCAAServerFailing, strings.Join(parts, "; ")),
		Fix:      d.c.f(fix, strings.Join(hosts, sep), strings.Join(zones, sep)),
	}, true
}

// newestVersion returns the server of the newest version of the records:
// the servers of the highest SOA serial, when some other has a lower one
// and they all serve the same records; nil when that cannot be told.
func newestVersion(ss []caa.ServerRecords) *caa.ServerRecords {
	var newest *caa.ServerRecords
	older := false
	for i := range ss {
		s := &ss[i]
		switch {
		case s.Serial == 0:
			return nil // unknown: no order
		case newest == nil || s.Serial > newest.Serial:
			older = older || newest != nil
			newest = s
		case s.Serial < newest.Serial:
			older = true
		}
	}
	if newest == nil || !older {
		return nil
	}
	for i := range ss {
		if ss[i].Serial == newest.Serial && caa.RRsetKey(ss[i].Records) != caa.RRsetKey(newest.Records) {
			return nil // two versions at the highest serial
		}
	}
	return newest
}

// staleCAAServers reports servers of g that the zone no longer lists
// (dnsclient.UnlistedServers) when they explain the disagreement: the
// servers the zone lists all serve one version, so every server serving
// another is such a leftover. It returns the leftovers' names and the
// zone's NS records.
func staleCAAServers(g *caa.Disagreement) (stale, zoneNS []string, ok bool) {
	svs := make([]dnsclient.ServerView, len(g.Servers))
	for i, s := range g.Servers {
		svs[i] = dnsclient.ServerView{NS: s.NS, Address: s.Address, ZoneNS: s.ZoneNS}
	}
	stale, zoneNS = unlisted(svs)
	if len(stale) == 0 {
		return nil, nil, false
	}
	isStale := func(s caa.ServerRecords) bool {
		return slices.Contains(stale, Truncate(trimDot(strings.ToLower(s.NS)), maxNameShown))
	}
	listed := ""
	first := true
	for _, s := range g.Servers {
		if isStale(s) {
			continue
		}
		if k := caa.RRsetKey(s.Records); first {
			listed, first = k, false
		} else if k != listed {
			return nil, nil, false // the listed servers disagree too
		}
	}
	return stale, zoneNS, !first
}

// newestVerdict is the verdict of s's version, or nil.
func newestVerdict(s *caa.ServerRecords) *caa.Result {
	if s == nil {
		return nil
	}
	return s.Verdict
}

// caaDisagree renders r.Disagreement: blocking (and retryable: servers
// catch up) when its versions decide differently, a warning otherwise.
func (d *diagnoser) caaDisagree(r *caa.Result) Finding {
	g := r.Disagreement
	zone := Truncate(trimDot(g.Zone), maxNameShown)
	name := Truncate(trimDot(g.Name), maxNameShown)
	identity := Truncate(r.Identity, maxNameShown)
	parts := make([]string, 0, len(g.Servers))
	newest := newestVersion(g.Servers)
	for i := range g.Servers {
		s := &g.Servers[i]
		records := d.c.f(wordCAANone)
		if len(s.Records) > 0 {
			rs := make([]string, len(s.Records))
			for i, rec := range s.Records {
				rs[i] = Truncate(fmt.Sprintf("%d %s %q", rec.Flag, rec.Tag, rec.Value), maxDetailShown)
			}
			records = strings.Join(rs, d.c.f(wordListSep))
		}
		if g.Blocking && s.Verdict != nil {
			// Which version forbids: the applicant's records decide, not
			// the servers' disagreement alone.
			w := wordCAAPermits
			if !s.Verdict.Permitted {
				w = wordCAAForbids
			}
			records = d.c.f(w, records, identity)
		}
		sv := dnsclient.ServerView{NS: s.NS, Address: s.Address, SOASerial: s.Serial}
		parts = append(parts, d.c.f(wordCAAServer, d.serversWithSerials([]dnsclient.ServerView{sv}), records))
	}
	f := Finding{
		Code:     CodeCAANameserversDisagree,
		Severity: SeverityWarning,
		Message:  d.c.f(msgCAADisagreeHarmless, zone, name, strings.Join(parts, "; "), Truncate(r.Identity, maxNameShown)),
		Fix:      d.c.f(fixCAADisagree, zone, name),
	}
	if g.Blocking {
		f.Severity = SeverityError
		f.Message = d.c.f(msgCAADisagree, zone, name, strings.Join(parts, "; "), Truncate(r.Identity, maxNameShown))
		f.Retryable = true
		if stale, zoneNS, ok := staleCAAServers(g); ok {
			// The odd version is a leftover server's: the registrar, not
			// a wait nor the newest serial, is the answer.
			sep := d.c.f(wordListSep)
			f.Message = join(f.Message, d.c.f(noteCAAStaleNS, strings.Join(stale, sep), strings.Join(zoneNS, sep)))
			f.Fix = d.c.f(fixCAAStaleNS, strings.Join(stale, sep), zone, strings.Join(zoneNS, sep))
			f.Retryable = false
			return f
		}
		if v := newestVerdict(newest); v != nil && !v.Permitted && v.Reason != caa.ReasonLookupFailed {
			// Waiting for the servers to catch up would end in this
			// refusal: it is what to fix.
			refusal := d.caa(v)
			f.Message = join(f.Message, d.c.f(noteCAANewestForbids, newest.Serial, refusal.Message))
			f.Fix = d.c.f(fixCAANewestForbids, refusal.Fix, zone)
			f.Retryable = false
		}
	}
	return f
}
