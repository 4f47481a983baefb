package diagnose

import (
	"bytes"
	"cmp"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// maxRetryAfter bounds the Retry-After a server may announce: a longer one
// is not believed and yields no ETA.
const maxRetryAfter = 24 * time.Hour

// file diagnoses the file method. Fetches[0] is the http fetch, Fetches[1]
// the optional https fetch. It returns no finding when any fetch's outcome
// is a 200 whose whole body matches the value.
func (d *diagnoser) file(o *validation.Observation) []Finding {
	fo := o.File
	if len(fo.Fetches) == 0 || fo.Fetches[0] == nil {
		return []Finding{d.invalid(o.Domain, msgInvalidNoEvidence)}
	}
	for _, t := range fo.Fetches {
		if !validation.FetchMatches(t, o.Expected) {
			continue
		}
		// Passed. An address that answers otherwise is worth a warning:
		// one that could not be reached in the fetch that matched
		// (FetchMatches fails on one that answered otherwise), and one
		// that answered with something else in another fetch (the value
		// over https, other content over http at an IPv6 address), which
		// matters most and comes first.
		var out []Finding
		for _, u := range fo.Fetches {
			f, ok := d.discrepancy(u, o)
			if !ok {
				continue
			}
			if u != t {
				f.Severity = SeverityWarning
				f.Message = join(f.Message, d.c.f(noteAddrDiscrepancyElse, Truncate(t.URL, maxURLShown)))
				out = slices.Insert(out, 0, f)
				continue
			}
			out = append(out, f)
		}
		return out
	}
	first, status := d.fetchOrDiscrepancy(fo.Fetches[0], o)
	if o.Method == validation.MethodFile && len(fo.Fetches) == 1 && first.Code == CodeFileNotFound && !validation.HTTPSFallback(fo.Fetches[0]) && !bodyIsValue(fo.Fetches[0], o.Expected) {
		// An applicant who put the file on the https site alone would
		// otherwise wonder why dcv did not look there.
		first.Message = join(first.Message, d.c.f(noteNoHTTPSFallback, Truncate(validation.URLHost(o.Domain), maxNameShown)))
	}
	out := []Finding{first}
	if len(fo.Fetches) > 1 && fo.Fetches[1] != nil {
		second, status2 := d.fetchOrDiscrepancy(fo.Fetches[1], o)
		switch {
		case second.Code == first.Code && status2 == status && !misconfigured(fo.Fetches[0], fo.Fetches[1]) && !httpsOnly(fo.Fetches[0], fo.Fetches[1]):
			// The same answer, or the same kind of failure, on both
			// ports: once is enough. A web server misconfigured on 443
			// (plain HTTP, a failed TLS handshake) while port 80 fails
			// otherwise is told too, and so is a failure on 443 where
			// nothing listens on 80 (an https-only site, whose https is
			// what matters): both are to fix.
		case status != 0 && status2 == 0 && !redirectsToHTTPS(fo.Fetches[0]) && nothingListens(fo.Fetches[1]):
			// The web server answered over http, and nothing listens on
			// port 443: a site without https is fine, and "start a web
			// server on port 443" would send the applicant the wrong way.
		case status != 0 && (status2 == 0 || !redirectsToHTTPS(fo.Fetches[0])) && second.Severity == SeverityError:
			// The web server answered over http: that answer is what
			// to fix. https is only dcv's fallback, and a site without
			// it is fine, so its failure (a broken TLS set-up, a
			// timeout, a 404 of the https site) is told, not blamed,
			// and comes after.
			second.Severity = SeverityWarning
			out = append(out, second)
		default:
			out = append(out, second)
		}
	}
	if f, ok := d.wrongLocation(o); ok {
		// It explains the 404: the file is there, in the wrong place.
		out = slices.DeleteFunc(out, func(f Finding) bool { return f.Code == CodeFileNotFound })
		out = append(out, f)
	}
	return out
}

// bodyIsValue reports whether the final answer of fetch t holds the value,
// whatever its status.
func bodyIsValue(t *webfetch.Trace, value string) bool {
	a := t.Final()
	return a != nil && validation.FileContentMatches(a.Body, value)
}

// nothingListens reports whether every connection of fetch t was refused:
// no web server on the port at any address dcv could try (an address its
// source address cannot reach, webfetch.ErrSourceAddress, was not tried,
// and says nothing of the port).
func nothingListens(t *webfetch.Trace) bool {
	refused := false
	for _, a := range t.Attempts {
		switch {
		case a.Err != nil && a.Err.Kind == webfetch.ErrConnectionRefused:
			refused = true
		case a.Err != nil && a.Err.Kind == webfetch.ErrSourceAddress:
		default:
			return false
		}
	}
	return refused
}

// httpsOnly reports whether nothing listens on port 80 while the https
// fetch failed otherwise: the site serves https only, if anything, and its
// failure there is what to fix.
func httpsOnly(http, https *webfetch.Trace) bool {
	k := finalKind(https)
	return nothingListens(http) && k != "" && k != webfetch.ErrConnectionRefused
}

// finalKind is the error kind of fetch t's final attempt, "" without one.
func finalKind(t *webfetch.Trace) webfetch.ErrorKind {
	if a := t.Final(); a != nil && a.Err != nil {
		return a.Err.Kind
	}
	return ""
}

// misconfigured reports whether the https fetch failed on a protocol
// misconfiguration of the web server, unlike the http fetch.
func misconfigured(http, https *webfetch.Trace) bool {
	switch k := finalKind(https); k {
	case webfetch.ErrPlainOnTLS, webfetch.ErrTLS, webfetch.ErrProtocol:
		return k != finalKind(http)
	}
	return false
}

// redirectsToHTTPS reports whether fetch t ended with a redirect to an
// https URL, which makes the https fetch's failure matter.
func redirectsToHTTPS(t *webfetch.Trace) bool {
	a := t.Final()
	return a != nil && strings.HasPrefix(strings.ToLower(a.Location), "https://")
}

// fetchOrDiscrepancy diagnoses one fetch that did not serve the value: as
// ADDRESS_DISCREPANCY when one of its addresses did serve it, else by fetch.
func (d *diagnoser) fetchOrDiscrepancy(t *webfetch.Trace, o *validation.Observation) (Finding, int) {
	if f, ok := d.discrepancy(t, o); ok {
		// An address served the value: the web server answered.
		return f, http.StatusOK
	}
	return d.fetch(t, o)
}

// fetch diagnoses one failed fetch and returns the finding and the final
// HTTP status (0 when there was none).
func (d *diagnoser) fetch(t *webfetch.Trace, o *validation.Observation) (Finding, int) {
	host := t.Host
	if host == "" {
		if u, err := url.Parse(t.URL); err == nil {
			host = u.Hostname()
		}
	}
	host = Truncate(host, maxNameShown)
	if e := t.ResolveError; e != nil {
		if e.Kind == webfetch.ErrInvalidURL {
			return d.invalidURL(t.URL, o.Domain), 0
		}
		return d.resolveError(e, host, o), 0
	}
	a := t.Final()
	if a == nil {
		return Finding{
			Code:     CodeFileUnreachable,
			Severity: SeverityError,
			Message:  d.c.f(msgNoAttempt, Truncate(t.URL, maxURLShown)),
			Fix:      d.c.f(fixNoAddress, host),
		}, 0
	}
	if a.Hop > 0 || a.RedirectRefused != "" {
		return d.hop(t, a, o)
	}
	if a.Status == 0 && allSourceFailures(t.Attempts) {
		// Not one address was tried from a source that can reach it:
		// nothing was learnt of the domain.
		return d.sourceFailure(t.Attempts, host), 0
	}
	if a.Status == 0 && allReserved(t.Attempts) {
		return d.reserved(t.Attempts, host), 0
	}
	if a.Status == 0 {
		// Report the last address actually dialled: a reserved address
		// skipped after it, or one dcv's source could not reach, says
		// less about why the fetch failed.
		for i := len(t.Attempts) - 1; i >= 0; i-- {
			if e := t.Attempts[i].Err; e == nil || (e.Kind != webfetch.ErrReservedAddress && e.Kind != webfetch.ErrSourceAddress) {
				a = &t.Attempts[i]
				break
			}
		}
	}
	u := a.URL
	if u == "" {
		u = t.URL
	}
	if a.Status != 0 && !(a.Status == 200 && a.Err != nil) {
		// A 200 whose body could not be read whole is a failed fetch.
		f := d.status(a, u, host, o.Expected)
		if f.Code == CodeFileContentMismatch && otherOrderValue(a.Body, o.File.OtherValues) {
			f.Message = join(f.Message, d.c.f(noteOtherOrder))
		}
		return f, a.Status
	}
	return d.attemptError(a, u, host), 0
}

// resolveError diagnoses a host whose addresses could not be looked up; o
// is the observation, whose other lookups may say more.
func (d *diagnoser) resolveError(e *webfetch.Error, host string, o *validation.Observation) Finding {
	if e.Upstream {
		m := msgUpstreamRecord
		if e.Kind == webfetch.ErrDNSRefused {
			m = msgUpstreamRefused
		}
		return d.upstreamFinding(m, host, e.Address, e.Resolver)
	}
	if f, ok := d.reservedServers(e.Zone, e.ReservedServers, host, lookupAddress); ok {
		f.Code = CodeDomainUnresolvable
		return f
	}
	if e.Kind == webfetch.ErrDNSTimeout || e.Kind == webfetch.ErrDNSError {
		if zone, reg, ok := zoneAboveHost(e.Zone, host); ok {
			kind := dnsclient.KindTimeout.String()
			if e.Kind == webfetch.ErrDNSError {
				kind = dnsclient.KindNetwork.String()
			}
			return d.aboveDomainFinding(CodeDomainUnresolvable, msgDomainAboveDomain, kind, host, zone, reg)
		}
	}
	if f, ok := d.fetchBogus(e, host); ok {
		return f
	}
	if e.TCPFallback != "" {
		kind := dnsclient.KindNetwork
		if e.Kind == webfetch.ErrDNSTimeout {
			kind = dnsclient.KindTimeout
		}
		if tf, ok := d.tcpFallback(&dnsclient.Error{Kind: kind, Server: e.Address, Resolver: e.Resolver, TCPFallback: e.TCPFallback}, host, lookupAddress); ok {
			tf.Code = CodeDomainUnresolvable
			return tf
		}
	}
	if e.Kind == webfetch.ErrDNSNXDomain && len(e.CNAMEs) > 0 {
		return d.danglingCNAME(host, e.CNAMEs, e.DNAMEs, cmp.Or(e.Address, detailServer(e.Detail)))
	}
	f := Finding{Code: CodeDomainUnresolvable, Severity: SeverityError}
	server := d.server(e.Address)
	switch e.Kind {
	case webfetch.ErrDNSNXDomain:
		zone, nxServer := nxZone(o, host)
		server = d.server(cmp.Or(e.Address, nxServer, detailServer(e.Detail)))
		if zone != "" {
			// The zone above the name answers and is registered: only
			// the name is missing from it, not the domain from DNS.
			rel := host[:len(host)-len(zone)-1] // nxZone checked the suffix
			f.Message = d.c.f(msgHostNotInZone, host, server, Truncate(zone, maxNameShown))
			f.Fix = d.c.f(fixHostNotInZone, host, rel, Truncate(zone, maxNameShown))
			return f
		}
		f.Message = d.c.f(msgDomainNXDomain, host, server)
		f.Fix = d.c.f(fixDomainNXDomain, host)
	case webfetch.ErrDNSServfail:
		f.Message = d.c.f(msgDomainServfail, host, d.server(cmp.Or(e.Address, detailServer(e.Detail))))
		f.Fix = d.c.f(fixDomainServfail, host)
		f.Retryable = true
	case webfetch.ErrDNSRefused:
		// The domain's own server (dcv's resolver refusing is Upstream,
		// above): it does not serve the zone.
		f.Message = d.c.f(msgDomainRefused, host, server)
		f.Fix = d.c.f(fixDomainLame, host)
	case webfetch.ErrDNSTimeout:
		f.Message = join(d.c.f(msgDomainTimeout, host, server), d.fetchResolverTimeout(e))
		f.Fix = d.c.f(fixDomainTimeout, host)
		f.Retryable = true
	case webfetch.ErrNoAddress:
		f.Code = CodeFileUnreachable
		f.Message = d.c.f(msgNoAddress, host)
		f.Fix = d.c.f(fixNoAddress, host)
	case webfetch.ErrDNSError:
		if ns, zone := nsCycle(e.Detail); ns != "" {
			f.Message = d.c.f(msgDomainNSCycle, host, ns, zone, nsZone(ns))
			f.Fix = d.c.f(fixNSCycle, ns, zone)
			return f
		}
		if ns := gluelessIn(e.Detail); ns != "" {
			// A delegation without glue (black-box run: told as a
			// CNAME loop).
			f.Message = d.c.f(msgDomainGlueMissing, host, ns)
			f.Fix = d.c.f(fixGlueMissing, ns)
			return f
		}
		if strings.Contains(e.Detail, "cname chain") {
			// A CNAME loop, or a chain too long: the applicant's records.
			f.Message = d.c.f(msgDomainCNAMELoop, host, Truncate(e.Detail, maxDetailShown))
			f.Fix = d.c.f(fixDomainCNAMELoop, host)
			switch at, limit := cnameChainDetail(e.Detail); {
			case at != "":
				f.Message = join(d.c.f(msgDomainCNAMELoopAt, host, at), d.loopChainNote(e.Detail))
			case limit != "":
				f.Message = d.c.f(msgDomainCNAMETooLong, host, limit)
				f.Fix = d.c.f(fixDomainCNAMETooLong, host, limit)
			}
			return f
		}
		if strings.Contains(e.Detail, detailLame) {
			// No server delegated for the zone serves it.
			f.Message = d.c.f(msgDomainLame, host, cmp.Or(lameSaid(e.Detail), d.c.f(wordLastAsked, server)))
			f.Fix = d.c.f(fixDomainLame, host)
			return f
		}
		fallthrough
	default:
		f.Message = d.c.f(msgDomainFailed, host, server)
		f.Fix = d.c.f(fixDomainTimeout, host)
		f.Retryable = true
	}
	return f
}

// nxZone returns, for a host whose address lookup answered NXDOMAIN, the
// zone that denied it and the server that answered, when the evidence
// shows it to be a registered zone above the host: the CAA lookup of the
// same name (the CAA tree climb starts at the domain) answered NXDOMAIN
// with that zone's SOA, without a CNAME. zone is "" otherwise: the
// registered domain itself may not exist or not be delegated.
func nxZone(o *validation.Observation, host string) (zone, server string) {
	if o == nil || o.CAA == nil {
		return "", ""
	}
	for _, st := range o.CAA.Trace {
		r := st.Response
		if r == nil || r.Rcode != rcodeNXDomain || !strings.EqualFold(trimDot(st.Name), host) {
			continue
		}
		z := trimDot(strings.ToLower(r.Zone))
		if len(r.CNAMEs) > 0 || z == "" || !strings.HasSuffix(strings.ToLower(host), "."+z) {
			return "", r.Server
		}
		if _, reg := relativeHost(z); reg == "" || z != reg && !strings.HasSuffix(z, "."+reg) {
			return "", r.Server // the registry's zone: the domain is not delegated
		}
		return z, r.Server
	}
	return "", ""
}

// detailServer returns the server a webfetch address-lookup error names in
// its detail ("A www.example.com.: NXDOMAIN from 192.0.2.53:53"), or "".
func detailServer(detail string) string {
	i := strings.LastIndex(detail, " from ")
	if i < 0 {
		return ""
	}
	s := detail[i+len(" from "):]
	if _, _, err := net.SplitHostPort(s); err != nil {
		return ""
	}
	return s
}

// invalidURL diagnoses a URL the fetcher refused to fetch; with a wildcard
// domain it explains that the file method cannot validate wildcards.
func (d *diagnoser) invalidURL(u, domain string) Finding {
	f := Finding{Code: CodeFileUnreachable, Severity: SeverityError}
	if strings.HasPrefix(domain, "*.") {
		f.Message = d.c.f(msgFileWildcard, Truncate(domain, maxNameShown))
		f.Fix = d.c.f(fixFileWildcard, Truncate(domain, maxNameShown))
		return f
	}
	f.Message = d.c.f(msgInvalidURL, Truncate(u, maxURLShown))
	f.Fix = d.c.f(fixInvalid)
	return f
}

// allSourceFailures reports whether every attempt failed on dcv's side for
// want of a usable source address (webfetch.ErrSourceAddress), reserved
// addresses aside, and at least one did.
func allSourceFailures(as []webfetch.Attempt) bool {
	n := 0
	for _, a := range as {
		switch {
		case a.Err != nil && a.Err.Kind == webfetch.ErrSourceAddress:
			n++
		case a.Err != nil && a.Err.Kind == webfetch.ErrReservedAddress:
		default:
			return false
		}
	}
	return n > 0
}

// sourceFailure diagnoses a fetch none of whose addresses dcv could connect
// to from its source address: the operator's problem (OBSERVATION_INVALID,
// retryable), saying which addresses and why, and nothing for the
// applicant to fix.
func (d *diagnoser) sourceFailure(as []webfetch.Attempt, host string) Finding {
	f := d.invalid(host, whySourceAddress)
	for _, a := range as {
		if a.Err != nil && a.Err.Kind == webfetch.ErrSourceAddress {
			f.Message = join(f.Message, d.c.f(noteSourceAddress, Truncate(a.Err.Address, maxNameShown), Truncate(a.Err.Detail, maxDetailShown)))
			break
		}
	}
	return f
}

func allReserved(as []webfetch.Attempt) bool {
	for _, a := range as {
		if a.Err == nil || a.Err.Kind != webfetch.ErrReservedAddress {
			return false
		}
	}
	return len(as) > 0
}

// reserved diagnoses a host all of whose addresses are special-purpose.
func (d *diagnoser) reserved(as []webfetch.Attempt, host string) Finding {
	var items []string
	seen := map[string]bool{}
	for _, a := range as {
		ip := attemptIP(&a)
		if seen[ip] {
			continue
		}
		seen[ip] = true
		items = append(items, d.describeAddr(ip))
	}
	return d.reservedFinding(host, strings.Join(items, d.c.f(wordListSep)))
}

// fixFileRedirectedOf is the fix of a redirected file of host: an address
// has no www twin to redirect to.
func fixFileRedirectedOf(host string) msg {
	if ident.IsIP(host) {
		return fixFileRedirectedIP
	}
	return fixFileRedirected
}

// reservedFinding is ADDRESS_RESERVED for host and the addresses described:
// a name that resolves to them, or an address itself (an RFC 8738
// identifier, or where a redirect from one led).
func (d *diagnoser) reservedFinding(host, described string) Finding {
	f := Finding{Code: CodeAddressReserved, Severity: SeverityError,
		Message: d.c.f(msgReserved, host, described), Fix: d.c.f(fixReserved, host)}
	if ident.IsIP(host) {
		f.Message, f.Fix = d.c.f(msgReservedIP, host, described), d.c.f(fixReservedIP)
	}
	return f
}

// describeAddr renders ip with the special-purpose range it is in.
func (d *diagnoser) describeAddr(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return d.c.f(wordAddrSpecial, Truncate(ip, maxNameShown))
	}
	p, m, ok := reservedRange(addr)
	if !ok {
		return d.c.f(wordAddrSpecial, addr)
	}
	return d.c.f(wordAddrInRange, addr, d.c.f(m), p)
}

// attemptIP returns the IP an attempt dialled (or would have), without port.
func attemptIP(a *webfetch.Attempt) string {
	addr := a.Address
	if addr == "" && a.Err != nil {
		addr = a.Err.Address
	}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// attemptPort returns the port an attempt dialled, or "".
func attemptPort(a *webfetch.Attempt) string {
	addr := a.Address
	if addr == "" && a.Err != nil {
		addr = a.Err.Address
	}
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return p
	}
	return ""
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

// status diagnoses an HTTP answer other than a matching 200.
func (d *diagnoser) status(a *webfetch.Attempt, u, host, value string) Finding {
	ip := Truncate(attemptIP(a), maxNameShown)
	us := Truncate(u, maxURLShown)
	st := statusText(a.Status)
	switch a.Status {
	case http.StatusOK:
		return d.contentMismatch(a, us, ip, host, value)
	case http.StatusNotFound, http.StatusGone:
		f := Finding{
			Code:     CodeFileNotFound,
			Severity: SeverityError,
			Message:  d.c.f(msgFileNotFound, us, ip, st),
			Fix:      d.c.f(fixFileNotFound, host, us),
		}
		if value != "" && !a.BodyTruncated && validation.FileContentMatches(a.Body, value) {
			// The content is served, with the wrong status: uploading
			// the file again would change nothing.
			f.Message = join(f.Message, d.c.f(noteErrorStatusValue, st))
			f.Fix = d.c.f(fixErrorStatusValue, us, st)
		}
		return f
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc := d.c.f(wordNoLocation)
		if a.Location != "" {
			loc = Truncate(resolveLocation(u, a.Location), maxURLShown)
		}
		return Finding{
			Code:     CodeFileRedirected,
			Severity: SeverityError,
			Message:  d.c.f(msgFileRedirected, us, ip, st, loc),
			Fix:      d.c.f(fixFileRedirectedOf(host), us),
		}
	}
	f := Finding{
		Code:     CodeFileBadStatus,
		Severity: SeverityError,
		Message:  d.c.f(msgFileBadStatus, us, ip, st),
		Fix:      d.c.f(fixFileBadStatus, us),
	}
	if said := httpsOnlyPort(a); said != "" {
		// A web server set for TLS on the port (nginx `listen 80 ssl`,
		// Apache's SSLEngine on a plain port) answers a plain request
		// with 400 and says why.
		f.Message = d.c.f(msgHTTPSOnlyPort, us, ip, st, Truncate(said, maxTXTShown))
		f.Fix = d.c.f(fixTLSOnPlain, attemptPort(a))
		return f
	}
	switch a.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		f.Retryable = true
		if eta, ok := retryAfter(a.Header, d.now); ok {
			f.ETA = &eta
			f.Message = join(f.Message, d.c.f(noteRetryAfter, formatClock(eta, d.now)))
		}
	}
	if cdn, evidence := detectCDN(a.Header); cdn != "" {
		f.Message = join(f.Message, d.c.f(noteCDN, cdn, evidence))
		f.Fix = join(f.Fix, d.c.f(fixCDN, cdn))
	} else if h := statusHint(a.Status); h != "" {
		// No CDN answered: the web server's own causes.
		f.Fix = join(f.Fix, d.c.f(h))
	}
	return f
}

// statusHint returns the hint that names the usual causes of an error
// status (black-box run: a 403 from file permissions or a rule denying
// dot-paths, a 502 from a proxy's backend, told only of CDNs), or "".
func statusHint(status int) msg {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return hintStatusForbidden
	case http.StatusInternalServerError:
		return hintStatusServerError
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return hintStatusBadGateway
	case http.StatusServiceUnavailable:
		return hintStatusUnavailable
	}
	return ""
}

// httpsOnlyMarks are what web servers answer a plain HTTP request sent to
// a port they serve with TLS: nginx's 400 page, and Apache's.
var httpsOnlyMarks = []string{
	"The plain HTTP request was sent to HTTPS port",
	"You're speaking plain HTTP to an SSL-enabled server port",
}

// httpsOnlyPort returns the words of a 400 answer that says the port
// expects TLS, or "".
func httpsOnlyPort(a *webfetch.Attempt) string {
	if a.Status != http.StatusBadRequest || a.URL != "" && !strings.HasPrefix(strings.ToLower(a.URL), "http://") {
		return ""
	}
	for _, m := range httpsOnlyMarks {
		if bytes.Contains(a.Body, []byte(m)) {
			return m
		}
	}
	return ""
}

// resolveLocation resolves a (possibly relative) Location against the URL
// asked for, for display; it returns loc unchanged when either fails to
// parse.
func resolveLocation(base, loc string) string {
	b, err := url.Parse(base)
	if err != nil {
		return loc
	}
	l, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	return b.ResolveReference(l).String()
}

// retryAfter reads a Retry-After header (RFC 9110 §10.2.3: "either an
// HTTP-date or a number of seconds") relative to now.
func retryAfter(h http.Header, now time.Time) (time.Time, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return time.Time{}, false
	}
	var at time.Time
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		at = now.Add(time.Duration(secs) * time.Second)
	} else if t, err := http.ParseTime(v); err == nil {
		at = t
	} else {
		return time.Time{}, false
	}
	if at.Before(now) || at.Sub(now) > maxRetryAfter {
		return time.Time{}, false
	}
	return at.UTC(), true
}

// detectCDN names the CDN or web application firewall a response came
// through, with the header that shows it, or returns "".
func detectCDN(h http.Header) (name, evidence string) {
	server := h.Get("Server")
	ls := strings.ToLower(server)
	shownServer := "Server: " + Truncate(server, maxHeaderShown)
	switch {
	case strings.Contains(ls, "cloudflare"):
		return "Cloudflare", shownServer
	case h.Get("Cf-Ray") != "":
		return "Cloudflare", "CF-Ray"
	case h.Get("X-Amz-Cf-Id") != "":
		return "Amazon CloudFront", "X-Amz-Cf-Id"
	case strings.Contains(ls, "cloudfront"):
		return "Amazon CloudFront", shownServer
	case h.Get("X-Sucuri-Id") != "":
		return "Sucuri", "X-Sucuri-Id"
	case strings.Contains(ls, "sucuri"):
		return "Sucuri", shownServer
	case strings.Contains(ls, "akamai"):
		return "Akamai", shownServer
	case h.Get("X-Iinfo") != "":
		return "Imperva", "X-Iinfo"
	case h.Get("X-Fastly-Request-Id") != "":
		return "Fastly", "X-Fastly-Request-Id"
	}
	for k := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Akamai-") {
			return "Akamai", Truncate(http.CanonicalHeaderKey(k), maxHeaderShown)
		}
	}
	return "", ""
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// contentMismatch diagnoses a 200 whose body is not the value, with notes on
// the usual causes.
func (d *diagnoser) contentMismatch(a *webfetch.Attempt, us, ip, host, value string) Finding {
	if f, ok := d.encodedContent(a, us, ip, value); ok {
		return f
	}
	notes, html := d.contentNotes(a, value)
	f := Finding{
		Code:     CodeFileContentMismatch,
		Severity: SeverityError,
		Message:  join(d.c.f(msgFileContent, us, ip, Truncate(string(a.Body), maxSnippetShown)), notes...),
		Fix:      d.c.f(fixFileContent, value),
	}
	if html {
		f.Fix = join(f.Fix, d.c.f(fixFileContentHTML, host))
	}
	return f
}

// contentNotes names what keeps the body of a 200 answer from being the
// value (a BOM, other text, a truncated body, ...), and reports whether it
// is an HTML page.
func (d *diagnoser) contentNotes(a *webfetch.Attempt, value string) (notes []string, html bool) {
	body := a.Body
	html = looksHTML(body, a.Header)
	content := bytes.TrimPrefix(body, utf8BOM)
	trimmed := bytes.TrimRight(content, " \t\r\n")
	switch {
	case a.BodyTruncated:
		notes = append(notes, d.c.f(noteFileTooLarge, len(body)))
	case len(bytes.TrimSpace(content)) == 0:
		notes = append(notes, d.c.f(noteFileEmpty))
	}
	switch {
	case bytes.HasPrefix(body, utf8BOM):
		notes = append(notes, d.c.f(noteBOM))
	case bytes.HasPrefix(body, []byte{0xff, 0xfe}) || bytes.HasPrefix(body, []byte{0xfe, 0xff}):
		notes = append(notes, d.c.f(noteUTF16))
	}
	if html {
		notes = append(notes, d.c.f(noteHTML))
	}
	if bytes.IndexByte(trimmed, '\r') >= 0 && bytes.Contains(trimmed, []byte(value)) {
		notes = append(notes, d.c.f(noteCR))
	}
	switch {
	case bytes.Equal(trimmed, []byte(value)):
		// Only a BOM (or truncation) stands between the body and the value.
	case bytes.Equal(bytes.TrimLeft(trimmed, " \t\r\n"), []byte(value)):
		notes = append(notes, d.c.f(noteLeadingSpace))
	case bytes.Contains(trimmed, []byte(value)):
		notes = append(notes, d.c.f(noteExtraText))
	case bytes.EqualFold(bytes.TrimSpace(trimmed), []byte(value)):
		notes = append(notes, d.c.f(noteFileCase))
	}
	return notes, html
}

// looksHTML reports whether a body is an HTML page rather than a text file.
func looksHTML(body []byte, h http.Header) bool {
	if ct := strings.ToLower(h.Get("Content-Type")); strings.HasPrefix(ct, "text/html") {
		return true
	}
	start := bytes.ToLower(bytes.TrimLeft(bytes.TrimPrefix(body, utf8BOM), " \t\r\n"))
	for _, p := range []string{"<!doctype html", "<html", "<head", "<body"} {
		if bytes.HasPrefix(start, []byte(p)) {
			return true
		}
	}
	return false
}

// attemptError diagnoses an attempt that got no HTTP answer.
func (d *diagnoser) attemptError(a *webfetch.Attempt, u, host string) Finding {
	addr := a.Address
	if addr == "" && a.Err != nil {
		addr = a.Err.Address
	}
	addr = Truncate(addr, maxNameShown)
	port := attemptPort(a)
	ip := Truncate(attemptIP(a), maxNameShown)
	f := Finding{Code: CodeFileUnreachable, Severity: SeverityError}
	kind := webfetch.ErrorKind("")
	detail := ""
	if a.Err != nil {
		kind, detail = a.Err.Kind, a.Err.Detail
	}
	switch kind {
	case webfetch.ErrConnectTimeout:
		f.Message = d.c.f(msgConnectTimeout, addr)
		f.Fix = d.c.f(fixConnectTimeout, port, host, ip)
		if ident.IsIP(host) {
			f.Fix = d.c.f(fixConnectTimeoutIP, port, host)
		}
		f.Retryable = true
	case webfetch.ErrConnectionRefused:
		f.Message = d.c.f(msgConnectionRefused, addr, port)
		f.Fix = d.c.f(fixConnectionRefused, port, ip, host)
		if ident.IsIP(host) {
			f.Fix = d.c.f(fixConnectionRefusedIP, port, host)
		}
	case webfetch.ErrConnectionReset:
		f.Message = d.c.f(msgConnectionReset, addr)
		f.Fix = d.c.f(fixConnectionReset, addr)
		if strings.HasPrefix(detail, webfetch.DetailClosedBeforeResponse) {
			// An orderly close after the request: the web server chose
			// not to answer, or died; no firewall resets (black-box run:
			// nginx's return 444).
			f.Message = d.c.f(msgClosedBeforeResponse, addr)
			f.Fix = d.c.f(fixClosedBeforeResponse, addr, Truncate(u, maxURLShown))
		}
		f.Retryable = true
	case webfetch.ErrTimeoutAfterConn:
		f.Retryable = true
		if a.Status != 0 {
			// The status and headers came: the body is what was slow.
			announced := ""
			if n, err := strconv.ParseInt(a.Header.Get("Content-Length"), 10, 64); err == nil && n > int64(len(a.Body)) {
				announced = d.c.f(wordBodyAnnounced, n)
			}
			within := d.c.f(wordInTime)
			if a.Duration > 0 {
				within = d.c.f(wordWithin, d.formatElapsed(a.Duration))
			}
			got := d.c.f(wordBytes, len(a.Body))
			if len(a.Body) == 1 {
				got = d.c.f(wordOneByte)
			}
			f.Message = d.c.f(msgSlowBody, addr, statusText(a.Status), got, announced, within)
			f.Fix = d.c.f(fixSlowBody, addr)
			break
		}
		if a.Duration > 0 {
			f.Message = d.c.f(msgTimeoutAfterConnect, addr, d.formatElapsed(a.Duration))
		} else {
			f.Message = d.c.f(msgTimeoutAfterConnectNoTime, addr)
		}
		f.Fix = d.c.f(fixTimeoutAfterConnect, addr)
		if strings.HasPrefix(detail, webfetch.DetailPartialHead) {
			// It began to answer: a trickle, not a stall (black-box
			// run: nginx limit_rate).
			f.Message = d.c.f(msgPartialHead, addr)
			f.Fix = d.c.f(fixPartialHead, addr)
		}
		f.Retryable = true
	case webfetch.ErrTLS:
		if detail != "" {
			f.Message = d.c.f(msgTLSError, addr, Truncate(detail, maxDetailShown))
		} else {
			f.Message = d.c.f(msgTLSErrorNoDetail, addr)
		}
		f.Fix = d.c.f(fixTLSError, addr)
	case webfetch.ErrTLSOnPlain:
		f.Message = d.c.f(msgTLSOnPlain, addr)
		f.Fix = d.c.f(fixTLSOnPlain, port)
	case webfetch.ErrHTTP2OnPlain:
		f.Message = d.c.f(msgHTTP2OnPlain, addr)
		f.Fix = d.c.f(fixHTTP2OnPlain, port)
	case webfetch.ErrPlainOnTLS:
		f.Message = d.c.f(msgPlainOnTLS, addr)
		f.Fix = d.c.f(fixPlainOnTLS, port)
	case webfetch.ErrProtocol:
		f.Message = d.c.f(msgProtocolError, addr)
		f.Fix = d.c.f(fixProtocolError, addr)
	case webfetch.ErrNetwork:
		f.Message = d.c.f(msgNetworkError, addr)
		f.Fix = d.c.f(fixNetworkError, addr, host)
		f.Retryable = true
	case webfetch.ErrReservedAddress:
		r := d.reservedFinding(host, d.describeAddr(ip))
		f.Code, f.Message, f.Fix = r.Code, r.Message, r.Fix
	default:
		f.Message = d.c.f(msgFetchFailed, Truncate(u, maxURLShown), addr)
		f.Fix = d.c.f(fixNetworkError, addr, host)
		f.Retryable = true
	}
	return f
}
