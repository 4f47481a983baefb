package validation

import (
	"bytes"
	"cmp"
	"context"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// MaxFileProbes bounds the fetches made at likely wrong places when the file
// is not found (see FileProbe): one per kind, never more, all within the
// observation's deadline.
const MaxFileProbes = 6

// observeFile fetches the validation file over http and, when that did not
// serve the value and no web server answered it otherwise than with a
// redirect (HTTPSFallback), over https too. CA/B BR 3.2.2.4.18: the file "MUST be
// retrieved via either the "http" or "https" scheme" and "MUST be accessed
// over an Authorized Port" (the fetcher dials only its configured ports).
// Each fetch asks every address of the domain (webfetch FetchEach), so that
// addresses answering differently show. Redirects are followed only as far
// as the fetcher's policy allows. When neither fetch served the value and
// one found nothing there (404/410), or the domain has no address, it also
// probes the usual wrong places (at most MaxFileProbes fetches, made
// concurrently). A wildcard domain yields an invalid_url trace: this method
// cannot validate wildcards.
func (v *Validator) observeFile(ctx context.Context, req Request) *FileObservation {
	host := URLHost(req.Domain)
	url := "http://" + host + FilePath
	obs := &FileObservation{URL: url}
	// An IP address (CA/B BR 3.2.2.5.1) is fetched at the address itself:
	// nothing to resolve, one address to ask.
	isIP := ident.IsIP(req.Domain)
	fetch := v.cfg.Fetcher.FetchEach
	if isIP {
		fetch = v.cfg.Fetcher.FetchAddress
	}
	if len(req.OtherValues) > 0 {
		obs.OtherValues = append([]string(nil), req.OtherValues[:min(len(req.OtherValues), MaxOtherValues)]...)
	}
	// Beside the fetches: every authoritative server's addresses for the
	// domain, which tell a fetch that reached a stale address.
	var wg sync.WaitGroup
	if av, ok := v.cfg.Resolver.(authoritativeViewer); ok && !strings.HasPrefix(req.Domain, "*.") && !isIP {
		wg.Go(func() { obs.AddressViews = addressViews(ctx, av, req.Domain) })
	}
	defer wg.Wait()
	tr := fetch(ctx, url)
	obs.Fetches = append(obs.Fetches, tr)
	if FetchMatches(tr, req.Value) {
		return obs
	}
	if HTTPSFallback(tr) {
		tr = fetch(ctx, "https://"+host+FilePath)
		obs.Fetches = append(obs.Fetches, tr)
		if FetchMatches(tr, req.Value) {
			return obs
		}
	}
	obs.Probes = v.probeFile(ctx, req.Domain, obs.Fetches)
	return obs
}

// HTTPSFallback reports whether the file may be asked over https after tr,
// the http fetch, did not serve the value: when no address's web server
// answered it, or each that did answered with a redirect (as sites that
// serve https only do). A web server that answered http otherwise (a 404,
// other content, an error) gave the domain's answer, and https is not
// asked: on a shared host the https side of the same address may be
// another customer's site (the default one, for a name it has no
// certificate of), and BR 3.2.2.4.18 asks no certificate check that would
// tell (security review).
func HTTPSFallback(tr *webfetch.Trace) bool {
	if tr == nil {
		return true
	}
	for _, c := range tr.Chains() {
		if last := &c[len(c)-1]; last.Status != 0 && (last.Status < 300 || last.Status > 399) {
			return false
		}
	}
	return true
}

// maxAddressViewHops bounds the CNAME targets whose zones addressViews
// asks in turn.
const maxAddressViewHops = 2

// addressViews asks every authoritative server of host's zone for its A
// and AAAA records. When they answer with a CNAME into another zone (and
// so with no address), it asks the servers of the target's zone in turn,
// up to maxAddressViewHops times: the addresses that count are there.
func addressViews(ctx context.Context, av authoritativeViewer, host string) []*dnsclient.ZoneView {
	var out []*dnsclient.ZoneView
	for range maxAddressViewHops + 1 {
		views := make([]*dnsclient.ZoneView, 2)
		var wg sync.WaitGroup
		for i, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			wg.Go(func() { views[i], _ = authoritativeOf(ctx, av, host, qtype) })
		}
		wg.Wait()
		target := ""
		for _, view := range views {
			if view == nil {
				continue
			}
			out = append(out, view)
			if t := outOfZoneTarget(view); t != "" {
				target = t
			}
		}
		if target == "" {
			break
		}
		host = target
	}
	return out
}

// outOfZoneTarget is the CNAME target the servers of view answered with
// when none of them gave an address (the target lies in another zone,
// whose records they do not serve), or "".
func outOfZoneTarget(view *dnsclient.ZoneView) string {
	target := ""
	for _, sv := range view.Servers {
		a := sv.Answer
		if sv.Lame || a == nil {
			continue
		}
		for _, r := range a.Answer {
			if r.Type == "A" || r.Type == "AAAA" {
				return ""
			}
		}
		if len(a.CNAMEs) > 0 {
			target = a.CNAMEs[len(a.CNAMEs)-1]
		}
	}
	return target
}

// probeFile fetches the places where applicants commonly put the file by
// mistake. With a 404 or 410 at FilePath it probes the wrong paths over the
// scheme that gave it and the www/apex twin of the domain; when the domain
// has no address (NXDOMAIN or no A/AAAA record) only the twin. Otherwise it
// probes nothing.
func (v *Validator) probeFile(ctx context.Context, domain string, fetches []*webfetch.Trace) []FileProbe {
	if strings.HasPrefix(domain, "*.") {
		return nil
	}
	scheme := ""
	unresolved := false
	for _, tr := range fetches {
		if tr == nil {
			continue
		}
		if e := tr.ResolveError; e != nil && (e.Kind == webfetch.ErrDNSNXDomain || e.Kind == webfetch.ErrNoAddress) {
			unresolved = true
		}
		if a := tr.Final(); scheme == "" && a != nil && (a.Status == 404 || a.Status == 410) {
			scheme, _, _ = strings.Cut(tr.URL, "://")
		}
	}
	type probe struct{ kind, url string }
	var probes []probe
	isIP := ident.IsIP(domain)
	if scheme != "" {
		base := scheme + "://" + URLHost(domain)
		probes = append(probes,
			probe{FileProbeRoot, base + "/fileauth.txt"},
			probe{FileProbeDoubledExt, base + FilePath + ".txt"},
			probe{FileProbeWellKnown, base + "/.well-known/fileauth.txt"},
			probe{FileProbePKIValidation, base + "/pki-validation/fileauth.txt"},
			probe{FileProbeNoDot, base + "/well-known/pki-validation/fileauth.txt"})
	}
	if (scheme != "" || unresolved) && !isIP {
		s := cmp.Or(scheme, "http")
		if twin, ok := strings.CutPrefix(domain, "www."); ok && strings.Contains(twin, ".") {
			probes = append(probes, probe{FileProbeApex, s + "://" + twin + FilePath})
		} else if !ok {
			probes = append(probes, probe{FileProbeWWW, s + "://www." + domain + FilePath})
		}
	}
	probes = probes[:min(len(probes), MaxFileProbes)]
	out := make([]FileProbe, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		fetch := v.cfg.Fetcher.Fetch
		if isIP {
			fetch = v.cfg.Fetcher.FetchAddress
		}
		wg.Go(func() { out[i] = FileProbe{Kind: p.kind, Trace: fetch(ctx, p.url)} })
	}
	wg.Wait()
	return out
}

// FetchMatches reports whether tr served the value: some chain of tr (see
// webfetch.Trace.Chains) ended in an attempt for which AttemptMatches holds,
// and every chain that got an HTTP response did. An address that could not
// be reached does not count against the others; an address that answered
// otherwise does. Validation and diagnosis both decide with it.
func FetchMatches(tr *webfetch.Trace, value string) bool {
	if tr == nil {
		return false
	}
	matched := false
	for _, c := range tr.Chains() {
		if c[0].Status == 0 {
			continue
		}
		if !AttemptMatches(&c[len(c)-1], value) {
			return false
		}
		matched = true
	}
	return matched
}

// AttemptMatches reports whether a is a complete 200 response (no error,
// body not truncated, no content coding) whose body matches value by
// FileContentMatches. A body labelled with a Content-Encoding (gzip...)
// is that coding of the content, not the content, whatever its bytes: a
// plain value labelled gzip decodes to nothing (console run: accepted).
func AttemptMatches(a *webfetch.Attempt, value string) bool {
	return a != nil && a.Status == 200 && a.Err == nil && !a.BodyTruncated && !ContentEncoded(a) &&
		FileContentMatches(a.Body, value)
}

// ContentEncoded reports whether a's answer declares a content coding
// other than identity (RFC 9110 §8.4).
func ContentEncoded(a *webfetch.Attempt) bool {
	enc := strings.TrimSpace(a.Header.Get("Content-Encoding"))
	return enc != "" && !strings.EqualFold(enc, "identity")
}

// FileContentMatches reports whether body, with trailing whitespace (space,
// tab, CR, LF) trimmed, equals value exactly. Leading whitespace, other
// content and case differences do not match. An empty value never matches.
func FileContentMatches(body []byte, value string) bool {
	return value != "" && string(bytes.TrimRight(body, " \t\r\n")) == value
}
