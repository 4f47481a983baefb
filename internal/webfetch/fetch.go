// Package webfetch fetches validation URLs the hardened way: it resolves the
// host through dcv's own resolver, refuses special-purpose addresses, dials
// each resolved address itself (pinned, never re-resolved), speaks HTTP/1.1
// only, bounds every read in size and time, and records one Attempt per
// address in a Trace. It follows redirects only when configured to, under a
// strict policy (see Config.MaxRedirects), recording every hop. It
// observes; it does not judge.
package webfetch

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/ident"
)

// MaxBodyKept is the number of body bytes an Attempt keeps and that
// validation compares. A validation file holds one random value of well under
// a hundred bytes; 4 KiB also keeps the start of whatever a misconfigured
// server returns instead (an HTML error page, a login form) as evidence,
// while bounding what one attempt stores. At most MaxBodyKept+1 bytes are
// ever read, the extra byte telling a full body from a longer one.
const MaxBodyKept = 4 << 10

// Limits on untrusted input.
const (
	// maxHeaderBytes bounds the response status line and headers. A file or
	// redirect response needs a few hundred bytes; 16 KiB tolerates verbose
	// servers (cookies, CSPs) and stops a header flood early (net/http's
	// default is 1 MiB).
	maxHeaderBytes = 16 << 10
	// maxHeaderKeys and maxHeaderValues bound the headers kept as evidence.
	maxHeaderKeys   = 32
	maxHeaderValues = 4
	// maxAddresses bounds the addresses tried for one host: more than a
	// handful of A/AAAA records only multiplies the time a fetch can take.
	maxAddresses = 16
	// maxURLLen bounds the URL accepted; ours are a host plus a short path.
	// It also bounds a redirect's Location.
	maxURLLen = 2048
	// MaxRedirectsLimit is the largest Config.MaxRedirects accepted: the
	// "--file-max-redirects" range is 0-10, and each hop costs a resolution
	// and a connection within the same observation deadline.
	MaxRedirectsLimit = 10
	// MaxEachAddresses bounds the addresses FetchEach fetches from: enough
	// for two of each family, while a host with dozens of records cannot
	// multiply the work of one observation.
	MaxEachAddresses = 4
	// headLen is the number of first bytes of a plain-HTTP reply kept to
	// recognise another protocol (a TLS record, an HTTP/2 frame header).
	headLen = 24
	// maxDetail bounds an Error's Detail.
	maxDetail = 256
)

// DNS query types (RFC 1035 §3.2.2, RFC 3596 §2.1).
const (
	qtypeA    uint16 = 1
	qtypeAAAA uint16 = 28
)

// Config configures a Fetcher. The zero value of each field but Resolver is
// its documented default.
type Config struct {
	// Resolver resolves the URL's host. Required.
	Resolver dnsclient.Resolver
	// HTTPPort is the port dialled for http URLs. If zero, 80.
	HTTPPort int
	// HTTPSPort is the port dialled for https URLs. If zero, 443.
	HTTPSPort int
	// AllowLoopback permits 127.0.0.0/8 and ::1 targets. It exists for tests
	// only; every other special-purpose range stays refused.
	AllowLoopback bool
	// AllowPrivate permits targets in the private-use ranges
	// (ident.IsPrivate): a CA that serves an organisation's own network.
	AllowPrivate bool
	// ConnectTimeout bounds the TCP and TLS handshakes with one address. If
	// zero, 5s.
	ConnectTimeout time.Duration
	// Timeout bounds one attempt, from dial to the end of the body read. If
	// zero, 10s.
	Timeout time.Duration
	// UserAgent is sent with every request. If empty,
	// "dcv-validation/1 (+perspective <Perspective>)".
	UserAgent string
	// Perspective names the vantage point in the default User-Agent. If
	// empty, "primary".
	Perspective string
	// Source is the local address connections are made from (a remote
	// perspective bound to one interface). If invalid (zero), the system
	// chooses.
	Source netip.Addr
	// MaxRedirects is the number of redirects followed from the URL asked
	// for; 0 (the default) follows none, at most MaxRedirectsLimit. A
	// redirect is followed only when it is a 301, 302, 307 or 308 whose
	// Location is an http or https URL, on port 80 or 443 (or the configured
	// HTTPPort / HTTPSPort standing for them), whose host is within the
	// registered domain of the URL asked for (publicsuffix
	// EffectiveTLDPlusOne), and that was not requested before in the chain.
	// The first redirect breaking a rule ends the chain and is recorded with
	// the rule (Attempt.RedirectRefused). Each hop resolves its host again,
	// refuses special-purpose addresses again, and dials pinned addresses.
	MaxRedirects int
	// AnyDomainRedirects lifts the registered-domain rule of MaxRedirects:
	// ACME http-01 (RFC 8555 §8.3) follows redirects to any host, as
	// deployed CAs do; every other rule still applies.
	AnyDomainRedirects bool
}

// Fetcher fetches URLs under a fixed policy. It is safe for concurrent use;
// it keeps no connection between fetches.
type Fetcher struct {
	cfg Config
}

// New returns a Fetcher for cfg, or an error when cfg is invalid (no
// resolver, a port out of range, a negative timeout, MaxRedirects outside
// 0..MaxRedirectsLimit).
func New(cfg Config) (*Fetcher, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("webfetch: a resolver is required")
	}
	for _, p := range []int{cfg.HTTPPort, cfg.HTTPSPort} {
		if p < 0 || p > 65535 {
			return nil, fmt.Errorf("webfetch: port %d out of range", p)
		}
	}
	if cfg.ConnectTimeout < 0 || cfg.Timeout < 0 {
		return nil, errors.New("webfetch: timeouts must not be negative")
	}
	if cfg.MaxRedirects < 0 || cfg.MaxRedirects > MaxRedirectsLimit {
		return nil, fmt.Errorf("webfetch: max redirects %d not in 0..%d", cfg.MaxRedirects, MaxRedirectsLimit)
	}
	cfg.HTTPPort = cmp.Or(cfg.HTTPPort, 80)
	cfg.HTTPSPort = cmp.Or(cfg.HTTPSPort, 443)
	cfg.ConnectTimeout = cmp.Or(cfg.ConnectTimeout, 5*time.Second)
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Second)
	cfg.Perspective = cmp.Or(cfg.Perspective, "primary")
	cfg.UserAgent = cmp.Or(cfg.UserAgent, "dcv-validation/1 (+perspective "+cfg.Perspective+")")
	return &Fetcher{cfg: cfg}, nil
}

// target is a parsed, accepted URL.
type target struct {
	u     *url.URL
	url   string     // the URL as requested
	host  string     // lowercase DNS name without trailing dot, or ip's text
	ip    netip.Addr // an IP address host (RFC 8738), dialled as it is
	https bool
	port  int // the port dialled
}

// Port is the port f dials for a URL of scheme ("http" or "https").
func (f *Fetcher) Port(scheme string) int {
	if scheme == "https" {
		return f.cfg.HTTPSPort
	}
	return f.cfg.HTTPPort
}

// Refuses reports whether f's target policy refuses to dial a (a
// special-purpose address it is not allowed). With Port, it tells whether
// a fetch another fetcher made (a remote perspective's) is one f would
// have made the same way.
func (f *Fetcher) Refuses(a netip.Addr) bool {
	return (ident.Targets{Loopback: f.cfg.AllowLoopback, Private: f.cfg.AllowPrivate}).Refused(a)
}

// Fetch fetches rawURL with one GET per resolved address (IPv6 first, then
// IPv4) until one of them returns an HTTP response, follows that response's
// redirects as far as Config.MaxRedirects allows, and returns the Trace of
// what happened. It never returns nil. A 3xx is recorded with its Location;
// with MaxRedirects 0 it is not followed. Failures are in the Trace:
// ResolveError when the URL is invalid or its host has no address,
// Attempt.Err per address (a later hop's resolution failure is an Attempt
// without Address). ctx bounds the whole fetch. The URL's host must be a
// DNS name: an IP address is refused (see FetchAddress).
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) *Trace {
	return f.fetch(ctx, rawURL, false, false)
}

// FetchAddress is Fetch for the URL of an IP address identifier (RFC 8738):
// its host may also be an IP address in its canonical form (IPv6 in
// brackets), which is dialled as it is, under the same address policy, and
// then a redirect may name an address too. Only a URL built from an
// identifier the issuance policy accepted may be given here.
func (f *Fetcher) FetchAddress(ctx context.Context, rawURL string) *Trace {
	return f.fetch(ctx, rawURL, false, true)
}

// FetchEach is Fetch, but it fetches rawURL from each resolved address
// rather than until the first answer, so that addresses answering
// differently show: at most MaxEachAddresses addresses, alternating IPv6 and
// IPv4 (IPv6 first), fetched concurrently. Each address starts its own chain
// of redirects (see Trace.Chains); the chains are recorded in address order.
// ctx bounds the whole fetch.
func (f *Fetcher) FetchEach(ctx context.Context, rawURL string) *Trace {
	return f.fetch(ctx, rawURL, true, false)
}

func (f *Fetcher) fetch(ctx context.Context, rawURL string, each, allowIP bool) *Trace {
	start := time.Now()
	tr := &Trace{URL: rawURL}
	defer func() { tr.Duration = time.Since(start) }()

	t, perr := f.parse(rawURL, allowIP)
	if perr != nil {
		tr.ResolveError = perr
		return tr
	}
	tr.Host = t.host
	addrs, rerr := f.resolve(ctx, t.host)
	for _, a := range addrs {
		tr.Addresses = append(tr.Addresses, a.String())
	}
	if rerr != nil {
		tr.ResolveError = rerr
		return tr
	}
	if each {
		addrs = alternate(addrs, MaxEachAddresses)
		chains := make([][]Attempt, len(addrs))
		var wg sync.WaitGroup
		for i, a := range addrs {
			wg.Go(func() { chains[i] = f.chain(ctx, t, a) })
		}
		wg.Wait()
		for _, c := range chains {
			tr.Attempts = append(tr.Attempts, c...)
		}
		return tr
	}
	for _, a := range addrs {
		c := f.chain(ctx, t, a)
		tr.Attempts = append(tr.Attempts, c...)
		if c[0].Status != 0 || expired(ctx) {
			break
		}
	}
	return tr
}

// alternate returns at most n of addrs (IPv6 first), alternating the
// families so that both are represented.
func alternate(addrs []netip.Addr, n int) []netip.Addr {
	var v6, v4 []netip.Addr
	for _, a := range addrs {
		if a.Is4() || a.Is4In6() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	var out []netip.Addr
	for i := 0; len(out) < n && (i < len(v6) || i < len(v4)); i++ {
		if i < len(v6) {
			out = append(out, v6[i])
		}
		if i < len(v4) && len(out) < n {
			out = append(out, v4[i])
		}
	}
	return out
}

// chain makes the attempt at ip and follows its redirects under the policy
// of Config.MaxRedirects. A hop to the same host stays on the address that
// answered the hop before (http to https on one host is one server: another
// address of the host, which FetchEach asks in a chain of its own, must not
// stand in for it); at a hop to another host, that host is resolved and
// its addresses are tried, in order, until one answers. The result starts
// with the Hop 0 attempt and is never empty.
func (f *Fetcher) chain(ctx context.Context, t *target, ip netip.Addr) []Attempt {
	out := []Attempt{f.attempt(ctx, t, ip)}
	if f.cfg.MaxRedirects == 0 {
		return out
	}
	origin := registeredDomain(t.host)
	visited := map[string]bool{canonicalURL(t.u): true}
	cur, curIP := t, ip
	for hop := 1; ; hop++ {
		last := &out[len(out)-1]
		if last.Status < 300 || last.Status > 399 || last.Err != nil || expired(ctx) {
			return out
		}
		next, rule := f.nextHop(cur, last, origin, visited, hop)
		if rule != "" {
			last.RedirectRefused = rule
			return out
		}
		visited[canonicalURL(next.u)] = true
		addrs := []netip.Addr{curIP}
		if next.host != cur.host {
			var rerr *Error
			if addrs, rerr = f.resolve(ctx, next.host); rerr != nil {
				out = append(out, Attempt{URL: next.url, Hop: hop, Err: rerr})
				return out
			}
		}
		for _, a := range addrs {
			att := f.attempt(ctx, next, a)
			att.Hop = hop
			out = append(out, att)
			curIP = a
			if att.Status != 0 || expired(ctx) {
				break
			}
		}
		cur = next
	}
}

// followable lists the redirect statuses followed. RFC 9110 §15.4: 301
// (§15.4.2), 302 (§15.4.3), 307 (§15.4.8) and 308 (§15.4.9) send the client
// to the same resource elsewhere; 300 (a choice), 303 ("See Other": another
// resource), 304 (not modified) and 305/306 do not.
var followable = map[int]bool{301: true, 302: true, 307: true, 308: true}

// nextHop decides whether the redirect a, answered to cur, is followed: it
// returns the target of the next hop, or the first rule the redirect breaks.
func (f *Fetcher) nextHop(cur *target, a *Attempt, origin string, visited map[string]bool, hop int) (*target, RedirectRule) {
	if !followable[a.Status] {
		return nil, RedirectStatus
	}
	if a.Location == "" {
		return nil, RedirectNoLocation
	}
	if len(a.Header.Values("Location")) > 1 {
		return nil, RedirectManyLocations
	}
	if len(a.Location) > maxURLLen {
		return nil, RedirectBadLocation
	}
	loc, err := url.Parse(a.Location)
	if err != nil {
		return nil, RedirectBadLocation
	}
	u := cur.u.ResolveReference(loc)
	u.Fragment, u.RawFragment = "", ""
	switch u.Scheme {
	case "http", "https":
	default:
		return nil, RedirectScheme
	}
	if p := u.Port(); p != "" {
		https := u.Scheme == "https"
		n, err := strconv.Atoi(p)
		def := map[bool]int{false: 80, true: 443}[https]
		conf := map[bool]int{false: f.cfg.HTTPPort, true: f.cfg.HTTPSPort}[https]
		if err != nil || (n != def && n != conf) {
			return nil, RedirectPort
		}
	}
	// A redirect names a DNS name, unless the validation started at an IP
	// address: then it may name that address again (http to https on
	// the same server), or another one where redirects to other domains
	// are followed.
	next, perr := f.parse(u.String(), cur.ip.IsValid())
	if perr != nil {
		return nil, RedirectBadLocation
	}
	if !f.cfg.AnyDomainRedirects && registeredDomain(next.host) != origin {
		return nil, RedirectOtherDomain
	}
	if visited[canonicalURL(next.u)] {
		return nil, RedirectLoop
	}
	if hop > f.cfg.MaxRedirects {
		return nil, RedirectTooMany
	}
	return next, ""
}

// registeredDomain returns the registered domain of host (its public suffix
// and one more label), or host itself when it has none (host is itself a
// public suffix, or an IP address).
func registeredDomain(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		// An address is its own origin, said here rather than left to
		// publicsuffix's refusal of addresses.
		return host
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// canonicalURL renders u for loop detection: scheme, lowercase host without
// its default port, path and query; no fragment.
func canonicalURL(u *url.URL) string {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if p := u.Port(); p != "" && !(u.Scheme == "http" && p == "80" || u.Scheme == "https" && p == "443") {
		host += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	s := u.Scheme + "://" + host + path
	if u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	return s
}

// expired reports whether ctx is done or its deadline has passed (a
// connection deadline set from it can fire before ctx's own timer).
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// parse accepts http and https URLs whose host is a DNS name or, when
// allowIP is set, an IP address in its canonical text form (RFC 5952,
// bracketed in the URL).
func (f *Fetcher) parse(raw string, allowIP bool) (*target, *Error) {
	bad := func(format string, args ...any) (*target, *Error) {
		return nil, &Error{Kind: ErrInvalidURL, Detail: truncate(fmt.Sprintf(format, args...))}
	}
	if len(raw) > maxURLLen {
		return bad("url longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("parsing url: %v", err)
	}
	t := &target{url: raw, u: u}
	switch u.Scheme {
	case "http":
		t.port = f.cfg.HTTPPort
	case "https":
		t.https, t.port = true, f.cfg.HTTPSPort
	default:
		return bad("scheme %q is not http or https", u.Scheme)
	}
	if u.Opaque != "" || u.User != nil {
		return bad("url must not carry userinfo or an opaque part")
	}
	if p := u.Port(); p != "" {
		// Only the scheme's own port is accepted (CA/B BR 3.2.2.4.18 and
		// 3.2.2.4.19 allow ports 80 and 443 only); the configured port is
		// dialled either way.
		n, err := strconv.Atoi(p)
		def := map[bool]int{false: 80, true: 443}[t.https]
		if err != nil || (n != def && n != t.port) {
			return bad("port %s not allowed for %s", p, u.Scheme)
		}
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && allowIP && a.Zone() == "" && !a.Is4In6() && a.String() == u.Hostname() {
		// An IP address identifier (RFC 8738): the address is
		// dialled as it is, nothing is resolved.
		t.host, t.ip = a.String(), a
		return t, nil
	}
	if _, err := netip.ParseAddr(host); err == nil || strings.HasPrefix(u.Host, "[") {
		return bad("host %q is an ip address, not a dns name", u.Hostname())
	}
	if err := checkDNSName(host); err != nil {
		return bad("host %q: %v", u.Hostname(), err)
	}
	if specialUseName(host) {
		// RFC 6761 §6.3, §6.4: resolvers should not send queries for
		// these to the DNS; no public web server answers for them.
		return bad("host %q is a special-use name (RFC 6761), not a public one", u.Hostname())
	}
	t.host = host
	return t, nil
}

// specialUseName reports a name under "localhost." or "invalid." (RFC 6761
// §6.3, §6.4), which no public DNS answers and dcv never looks up.
func specialUseName(h string) bool {
	for _, s := range []string{"localhost", "invalid"} {
		if h == s || strings.HasSuffix(h, "."+s) {
			return true
		}
	}
	return false
}

// checkDNSName accepts a lowercase ASCII DNS name (letters, digits, hyphen
// and underscore; labels of 1 to 63 octets; at most 253 octets, RFC 1035
// §2.3.4) whose last label is not all digits (so no numeric IP form).
func checkDNSName(h string) error {
	if h == "" || len(h) > 253 {
		return errors.New("name empty or longer than 253 octets")
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return errors.New("empty label or label longer than 63 octets")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("label starts or ends with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("invalid character %q", c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return errors.New("numeric top label")
	}
	return nil
}

// lookupResult is one of the two address lookups.
type lookupResult struct {
	qtype string
	resp  *dnsclient.Response
	err   error
}

// resolve looks AAAA and A up in parallel (in one exchange when the
// resolver is a dnsclient.PairResolver) and returns the addresses, IPv6
// first, deduplicated, at most maxAddresses; or the resolution error when
// there is no address at all.
func (f *Fetcher) resolve(ctx context.Context, host string) ([]netip.Addr, *Error) {
	if a, err := netip.ParseAddr(host); err == nil {
		// An IP address host (parse let it through): nothing to resolve.
		return []netip.Addr{a}, nil
	}
	fqdn := host + "."
	res := [2]lookupResult{{qtype: "AAAA"}, {qtype: "A"}}
	qtypes := [2]uint16{qtypeAAAA, qtypeA}
	if pr, ok := f.cfg.Resolver.(dnsclient.PairResolver); ok {
		// One exchange for both questions (a forwarder's socket setup is
		// most of a lookup's cost).
		resps, errs := pr.LookupPair(ctx, fqdn, qtypes)
		for i := range res {
			res[i].resp, res[i].err = resps[i], errs[i]
		}
	} else {
		var wg sync.WaitGroup
		for i, qt := range qtypes {
			wg.Go(func() { res[i].resp, res[i].err = f.cfg.Resolver.Lookup(ctx, fqdn, qt) })
		}
		wg.Wait()
	}
	return addresses(host, res)
}

// Addresses classifies the answers of a host's AAAA and A lookups (each a
// response or an error) as Fetch does: the addresses, IPv6 first,
// deduplicated, at most maxAddresses; or, when there is none, or an
// answer failed DNSSEC validation, the resolution error that says why.
// Other dialers of a domain's addresses (tls-alpn-01) use it to judge the
// same answers the same way.
func Addresses(host string, aaaa, a *dnsclient.Response, aaaaErr, aErr error) ([]netip.Addr, *Error) {
	return addresses(host, [2]lookupResult{{qtype: "AAAA", resp: aaaa, err: aaaaErr}, {qtype: "A", resp: a, err: aErr}})
}

// addresses is Addresses for the two lookups of res.
func addresses(host string, res [2]lookupResult) ([]netip.Addr, *Error) {
	for _, r := range res {
		if r.err == nil && r.resp != nil && r.resp.DNSSEC == dnsclient.Bogus.String() {
			// An answer that fails DNSSEC validation may be forged: none
			// of the host's addresses is used then, not even those of
			// the other lookup (CA/B Forum ballot SC085).
			return nil, lookupError(r)
		}
	}
	var addrs []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, r := range res {
		if r.err != nil || r.resp == nil || r.resp.Rcode != "NOERROR" {
			continue
		}
		for _, rr := range r.resp.Answer {
			if rr.Type != r.qtype {
				continue
			}
			a, err := netip.ParseAddr(rr.Data)
			if err != nil || seen[a] || len(addrs) == maxAddresses {
				continue
			}
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	// No address: report the most telling failure of the two lookups.
	var worst *Error
	rank := map[ErrorKind]int{ErrDNSNXDomain: 4, ErrDNSServfail: 3, ErrDNSTimeout: 2, ErrDNSError: 1, ErrDNSRefused: 1}
	for _, r := range res {
		if e := lookupError(r); e != nil && (worst == nil || rank[e.Kind] > rank[worst.Kind]) {
			worst = e
		}
	}
	if worst == nil {
		worst = &Error{Kind: ErrNoAddress, Detail: "no A or AAAA record for " + host}
	}
	return nil, worst
}

// lookupError classifies one address lookup; nil for a NOERROR answer.
func lookupError(r lookupResult) *Error {
	if r.err != nil {
		kind := ErrDNSError
		var de *dnsclient.Error
		isDNS := errors.As(r.err, &de)
		switch {
		case isDNS && de.Kind == dnsclient.KindTimeout,
			errors.Is(r.err, context.DeadlineExceeded):
			kind = ErrDNSTimeout
		}
		e := &Error{Kind: kind, Detail: truncate(r.err.Error()), Upstream: isDNS && de.Upstream, Resolver: isDNS && de.Resolver}
		if isDNS {
			e.Address = de.Server // the server that failed, for the diagnosis
			e.TCPFallback = de.TCPFallback
			e.ReservedServers = de.ReservedServers
			if de.Kind == dnsclient.KindTimeout || de.Kind == dnsclient.KindNetwork {
				e.Zone = de.Zone // no server of it answered
			}
		}
		return e
	}
	if r.resp == nil {
		return &Error{Kind: ErrDNSError, Detail: r.qtype + " lookup returned no response"}
	}
	detail := fmt.Sprintf("%s %s: %s from %s", r.qtype, r.resp.Name, r.resp.Rcode, r.resp.Server)
	if r.resp.Rcode == "NOERROR" && r.resp.DNSSEC == dnsclient.Bogus.String() {
		// Addresses that fail DNSSEC validation prove nothing: a failed
		// lookup, as a validating resolver's SERVFAIL, with the status
		// that says why (a bogus negative answer keeps its rcode and
		// carries its status too).
		return withChain(&Error{Kind: ErrDNSServfail, Detail: detail + " (DNSSEC bogus: " + truncate(r.resp.DNSSECReason) + ")"}, r.resp)
	}
	switch r.resp.Rcode {
	case "NOERROR":
		return nil
	case "REFUSED":
		// dcv's own recursive resolver refusing refuses dcv (its access
		// policy): the CA's side, not the name's servers.
		return &Error{Kind: ErrDNSRefused, Detail: detail, Address: r.resp.Server, Upstream: r.resp.Resolver, Resolver: r.resp.Resolver}
	case "NXDOMAIN":
		return withChain(&Error{Kind: ErrDNSNXDomain, Detail: detail}, r.resp)
	case "SERVFAIL":
		return withChain(&Error{Kind: ErrDNSServfail, Detail: detail}, r.resp)
	default:
		return &Error{Kind: ErrDNSError, Detail: detail}
	}
}

// withChain keeps on e the CNAME chain and the DNSSEC status of resp, the
// negative answer it classifies: a host that is a CNAME to a name that
// does not exist, or to one in a zone whose DNSSEC fails, is not itself
// missing from DNS.
func withChain(e *Error, resp *dnsclient.Response) *Error {
	if len(resp.CNAMEs) > 0 {
		e.CNAMEs = slices.Clone(resp.CNAMEs)
		e.DNAMEs = slices.Clone(resp.DNAMEs)
	}
	e.DNSSEC, e.DNSSECReason, e.DNSSECZone = resp.DNSSEC, resp.DNSSECReason, resp.DNSSECZone
	return e
}

// attemptState is what the dialer learns about one attempt's connection.
type attemptState struct {
	tcp     atomic.Bool  // the TCP handshake completed
	tlsDone atomic.Bool  // the TLS handshake completed
	connect atomic.Int64 // time.Duration of TCP (+TLS) establishment
	conn    atomic.Pointer[recordingConn]
}

// attempt makes one GET to one pinned address.
func (f *Fetcher) attempt(ctx context.Context, t *target, ip netip.Addr) (att Attempt) {
	addr := netip.AddrPortFrom(ip, uint16(t.port)).String()
	att = Attempt{URL: t.url, Address: addr}
	if (ident.Targets{Loopback: f.cfg.AllowLoopback, Private: f.cfg.AllowPrivate}).Refused(ip) {
		att.Err = &Error{Kind: ErrReservedAddress, Address: addr, Detail: "address in a special-purpose range; not dialled"}
		return att
	}
	if src := f.cfg.Source; src.IsValid() && src.Unmap().Is4() != ip.Unmap().Is4() {
		// A connection from src cannot reach an address of the other
		// family: the operator's configuration, nothing of the domain.
		att.Err = &Error{Kind: ErrSourceAddress, Address: addr, Detail: fmt.Sprintf("not dialled: connections are made from %s, and there is no %s source address", src, family(ip))}
		return att
	}
	start := time.Now()
	defer func() { att.Duration = time.Since(start) }()

	// Layered deadlines: actx (Timeout) bounds the attempt; the dialer adds
	// ConnectTimeout for TCP+TLS; ctx bounds both.
	actx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	st := &attemptState{}
	req, err := http.NewRequestWithContext(actx, http.MethodGet, t.url, nil)
	if err != nil {
		att.Err = &Error{Kind: ErrInvalidURL, Address: addr, Detail: truncate(err.Error())}
		return att
	}
	req.Host = t.host
	if t.ip.Is6() {
		req.Host = "[" + t.host + "]" // RFC 9110 §7.2, RFC 3986 §3.2.2
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "*/*")
	req.Close = true // "Connection: close": one request per connection

	// addr is the ip:port resolved once and pinned: the URL's host is not
	// resolved again.
	conn, err := f.dial(actx, addr, t, st)
	att.ConnectDuration = time.Duration(st.connect.Load())
	if err != nil {
		att.Err = classify(err, addr, st.phase(t.https, stageConnect))
		return att
	}
	defer conn.Close() // before the whole body is read: the server sees a close
	// The connection's deadline is the attempt's (see dial); a canceled
	// ctx closes it at once.
	stop := context.AfterFunc(actx, func() { conn.Close() })
	defer stop()
	resp, err := roundTrip(conn, req)
	if err != nil {
		att.Err = classify(withCtxErr(actx, err), addr, st.phase(t.https, stageHTTP))
		return att
	}
	att.Status = resp.StatusCode
	att.Proto = resp.Proto
	att.Header = capHeader(resp.Header)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		att.Location = resp.Header.Get("Location")
	}
	buf := make([]byte, MaxBodyKept+1)
	// Not resp.Body.Close: it would read the rest of a body of any size.
	n, err := readUpTo(resp.Body, buf)
	if n > MaxBodyKept {
		n, att.BodyTruncated = MaxBodyKept, true
	}
	if n > 0 {
		att.Body = buf[:n:n]
	}
	if err != nil {
		att.Err = classify(withCtxErr(actx, err), addr, st.phase(t.https, stageBody))
	}
	return att
}

// family names ip's address family.
func family(ip netip.Addr) string {
	if ip.Unmap().Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// errHeaderTooLarge is the error of a response whose head exceeds
// maxHeaderBytes.
var errHeaderTooLarge = fmt.Errorf("server response headers exceeded %d bytes; aborted", maxHeaderBytes)

// roundTrip writes req on conn, a fresh connection, and reads the response
// head with net/http's own parser (http.ReadResponse), skipping 1xx
// informational responses but 101. As with net/http's client, the heads of
// the 1xx responses and of the final one together may not exceed
// maxHeaderBytes, which bounds how many 1xx responses are read. The body is then read from the returned response, by
// the caller, within a limit of its own. This is one exchange of an HTTP/1.1
// client without http.Transport, whose connection pool, goroutines and
// channels a single request on a connection closed after it does not
// need.
func roundTrip(conn net.Conn, req *http.Request) (*http.Response, error) {
	bw := bufio.NewWriterSize(conn, 1024)
	if err := req.Write(bw); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	lr := &headLimitReader{r: conn, left: maxHeaderBytes}
	br := bufio.NewReaderSize(lr, 4096)
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			if lr.left <= 0 {
				return nil, errHeaderTooLarge
			}
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols || resp.StatusCode < 100 {
			lr.left = -1 // the head is read; the body has its own limit
			return resp, nil
		}
	}
}

// headLimitReader reads from r until left bytes have been read; left < 0
// means no limit.
type headLimitReader struct {
	r    io.Reader
	left int64
}

func (l *headLimitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return l.r.Read(p)
	}
	if l.left == 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// withCtxErr adds ctx's error to err when ctx ended: a connection closed
// because the attempt was canceled or timed out is reported as such. So is
// one whose deadline (the connection's is ctx's) has passed though ctx's
// timer has not fired yet: a read cut there may hand the parser a partial
// line (a status line of "2" read a byte a second), which is a slow
// server, not a malformed answer.
func withCtxErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil {
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return errors.Join(err, cerr)
	}
	return err
}

// readUpTo reads until buf is full or the body ends; io.EOF is not an error.
func readUpTo(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// dial connects to the pinned addr and, for https, completes the TLS
// handshake with SNI = the URL host. Certificates are not verified: a CA
// validating control of a domain ignores certificate errors on it.
func (f *Fetcher) dial(actx context.Context, addr string, t *target, st *attemptState) (net.Conn, error) {
	cctx, cancel := context.WithTimeout(actx, f.cfg.ConnectTimeout)
	defer cancel()
	start := time.Now()
	// A fetch's connection lives for one request: TCP keep-alive probes
	// would never fire, and enabling them costs four setsockopt calls.
	d := net.Dialer{KeepAlive: -1}
	if f.cfg.Source.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(f.cfg.Source, 0))
	}
	c, err := d.DialContext(cctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	st.tcp.Store(true)
	st.connect.Store(int64(time.Since(start)))
	if dl, ok := actx.Deadline(); ok {
		c.SetDeadline(dl) // every later read and write ends with the attempt
	}
	rc := &recordingConn{Conn: c}
	st.conn.Store(rc)
	if !t.https {
		return rc, nil
	}
	tc := tls.Client(rc, &tls.Config{
		ServerName:         t.host,
		InsecureSkipVerify: true,
		NextProtos:         []string{"http/1.1"},
	})
	if err := tc.HandshakeContext(cctx); err != nil {
		c.Close()
		return nil, err
	}
	st.tlsDone.Store(true)
	st.connect.Store(int64(time.Since(start)))
	return tc, nil
}

// recordingConn keeps the first headLen bytes the server sent.
type recordingConn struct {
	net.Conn
	mu   sync.Mutex
	head []byte
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if k := headLen - len(c.head); k > 0 {
			c.head = append(c.head, p[:min(k, n)]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *recordingConn) firstBytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.head)
}

// capHeader keeps at most maxHeaderKeys keys (in sorted order) and
// maxHeaderValues values per key.
func capHeader(h http.Header) http.Header {
	if len(h) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(h))
	keys = keys[:min(len(keys), maxHeaderKeys)]
	out := make(http.Header, len(keys))
	for _, k := range keys {
		v := h[k]
		out[k] = slices.Clone(v[:min(len(v), maxHeaderValues)])
	}
	return out
}

func truncate(s string) string {
	if len(s) <= maxDetail {
		return s
	}
	return s[:maxDetail] + "..."
}
