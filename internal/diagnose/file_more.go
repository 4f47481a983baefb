package diagnose

import (
	"bytes"
	"cmp"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Codes of the file method added after the contract in finding.go. Like the
// others, they are API: their meaning never changes.
const (
	// CodeFileWrongLocation: the file is not at the validation URL, but a
	// file with the value is served at a usual wrong place (the web root, a
	// doubled .txt, a folder missing or misnamed, the www or apex twin of
	// the domain). It replaces FILE_NOT_FOUND, which it explains. When the
	// file found there would not pass validation either (a BOM, other
	// text), it says what is wrong with it.
	CodeFileWrongLocation Code = "FILE_WRONG_LOCATION"
	// CodeAddressDiscrepancy: the domain has several addresses and they do
	// not answer alike: at least one serves the value, another answers
	// otherwise (an error, blocking) or cannot be reached (a warning: the
	// value was proven at the address that answered).
	CodeAddressDiscrepancy Code = "ADDRESS_DISCREPANCY"
)

// Message ids of file_more.go.
const (
	msgAddrDiscrepancy       msg = "msgAddrDiscrepancy"
	noteAddrDiscrepancyWarn  msg = "noteAddrDiscrepancyWarn"
	fixAddrDiscrepancy       msg = "fixAddrDiscrepancy"
	outcomeAnswered          msg = "outcomeAnswered"
	outcomeAnsweredOther     msg = "outcomeAnsweredOther"
	outcomeNotContacted      msg = "outcomeNotContacted"
	outcomeRefused           msg = "outcomeRefused"
	outcomeConnectTimeout    msg = "outcomeConnectTimeout"
	outcomeFailed            msg = "outcomeFailed"
	outcomeNoAnswer          msg = "outcomeNoAnswer"
	outcomeReset             msg = "outcomeReset"
	outcomeTLS               msg = "outcomeTLS"
	outcomeProtocol          msg = "outcomeProtocol"
	outcomeWrongProtocol     msg = "outcomeWrongProtocol"
	outcomeUnreachable       msg = "outcomeUnreachable"
	outcomeNotDialled        msg = "outcomeNotDialled"
	msgFileWrongLocation     msg = "msgFileWrongLocation"
	msgFileWrongLocationNear msg = "msgFileWrongLocationNear"
	fixWrongLocRoot          msg = "fixWrongLocRoot"
	fixWrongLocDoubledExt    msg = "fixWrongLocDoubledExt"
	fixWrongLocWellKnown     msg = "fixWrongLocWellKnown"
	fixWrongLocPKIValidation msg = "fixWrongLocPKIValidation"
	fixWrongLocNoDot         msg = "fixWrongLocNoDot"
	fixWrongLocTwin          msg = "fixWrongLocTwin"
	msgFileRedirectChain     msg = "msgFileRedirectChain"
	noteRedirectRefused      msg = "noteRedirectRefused"
	fixFileRedirectChain     msg = "fixFileRedirectChain"
	noteViaRedirects         msg = "noteViaRedirects"
	ruleStatus               msg = "ruleStatus"
	ruleNoLocation           msg = "ruleNoLocation"
	ruleManyLocations        msg = "ruleManyLocations"
	ruleBadLocation          msg = "ruleBadLocation"
	ruleIPLocation           msg = "ruleIPLocation"
	ruleIPLocationForm       msg = "ruleIPLocationForm"
	ruleIPLocationOdd        msg = "ruleIPLocationOdd"
	fixReservedRedirect      msg = "fixReservedRedirect"
	ruleOtherAddress         msg = "ruleOtherAddress"
	ruleSpecialLocation      msg = "ruleSpecialLocation"
	ruleScheme               msg = "ruleScheme"
	rulePort                 msg = "rulePort"
	ruleOtherDomain          msg = "ruleOtherDomain"
	ruleLoop                 msg = "ruleLoop"
	ruleTooMany              msg = "ruleTooMany"
	ruleOther                msg = "ruleOther"
	noteOtherOrder           msg = "noteOtherOrder"
	noteAddrDiscrepancyElse  msg = "noteAddrDiscrepancyElse"
	noteNoHTTPSFallback      msg = "noteNoHTTPSFallback"
)

func init() {
	extend(CodeFileUnreachable,
		map[Code]string{CodeAddressDiscrepancy: "The domain's addresses answer differently"},
		map[msg]string{
			msgAddrDiscrepancy:      "The addresses of %[1]s do not answer %[2]s alike: %[3]s served the value, but %[4]s.",
			noteAddrDiscrepancyWarn: "dcv accepted the value from the address that answered, but visitors sent to the others do not reach the site.",
			noteAddrDiscrepancyElse: "dcv accepted the value from %[1]s; visitors, and certificate authorities that validate through this URL or prefer another address, get the other answer.",
			fixAddrDiscrepancy:      "Make every A and AAAA record of %[1]s point at a web server that serves the file, or remove the records of the addresses that do not (%[2]s).",
			outcomeAnswered:         "%[1]s answered %[2]s",
			outcomeAnsweredOther:    "%[1]s answered 200 OK with other content (\"%[2]s\")",
			outcomeNotContacted:     "%[1]s is not a public address and was not contacted",
			outcomeRefused:          "%[1]s refused the connection",
			outcomeConnectTimeout:   "%[1]s did not accept the connection in time (likely a firewall)",
			outcomeFailed:           "%[1]s could not be fetched from (%[2]s)",
			outcomeNoAnswer:         "%[1]s accepted the connection but sent no complete answer in time",
			outcomeReset:            "%[1]s reset the connection",
			outcomeTLS:              "%[1]s failed the TLS handshake",
			outcomeProtocol:         "%[1]s sent a malformed HTTP answer",
			outcomeWrongProtocol:    "%[1]s spoke another protocol than the port's (TLS or HTTP/2 on the http port, or plain HTTP on the https port)",
			outcomeUnreachable:      "%[1]s could not be reached (a network error)",
			outcomeNotDialled:       "%[1]s was not contacted: the certificate authority has no source address to reach it from",
		},
		CodeAddressDiscrepancy)
	extend(CodeFileNotFound,
		map[Code]string{CodeFileWrongLocation: "The file is in the wrong place"},
		map[msg]string{
			msgFileWrongLocation:     "The file with the expected value is at %[1]s, not at %[2]s, where dcv looks for it.",
			msgFileWrongLocationNear: "A file at %[1]s holds the expected value, but it is not at %[2]s, where dcv looks for it, and its content would not pass validation as it is.",
			fixWrongLocRoot:          "Move fileauth.txt from the web root into the folder .well-known/pki-validation/ (create it; the first folder's name starts with a dot), so that %[1]s returns the value.",
			fixWrongLocDoubledExt:    "Rename fileauth.txt.txt to fileauth.txt (your computer may hide the extension it added), so that %[1]s returns the value.",
			fixWrongLocWellKnown:     "Move fileauth.txt from .well-known/ into its subfolder pki-validation/, so that %[1]s returns the value.",
			fixWrongLocPKIValidation: "Move the folder pki-validation/ into a folder named .well-known (with the leading dot) at the web root, so that %[1]s returns the value.",
			fixWrongLocNoDot:         "Rename the folder well-known to .well-known, with the leading dot (some upload tools drop it from hidden folders), so that %[1]s returns the value.",
			fixWrongLocTwin:          "%[2]s and %[3]s are served by different sites or folders: put fileauth.txt on the site answering for %[3]s too, so that %[1]s returns the value.",
			msgFileRedirectChain:     "dcv followed the redirects of %[1]s: %[2]s.",
			noteRedirectRefused:      "The redirect from %[1]s was not followed: %[2]s.",
			fixFileRedirectChain:     "Serve the file with status 200 at %[1]s, directly or through 301, 302, 307 or 308 redirects to http or https URLs on ports 80 and 443 within %[2]s, without loops.",
			noteViaRedirects:         "dcv reached it through redirects: %[1]s.",
			noteNoHTTPSFallback:      "The web server answered over http, so dcv did not ask https: the site that answers http://%[1]s must serve the file (or redirect to https).",
			ruleStatus:               "dcv follows only 301, 302, 307 and 308 redirects, not %[1]s",
			ruleNoLocation:           "it has no Location header",
			ruleManyLocations:        "it has more than one Location header, so where it leads is ambiguous: send one",
			ruleBadLocation:          "its Location %[1]s is not a URL dcv may fetch",
			ruleIPLocation:           "its Location %[1]s names an IP address: dcv follows redirects only to domain names, which it looks up and checks",
			ruleSpecialLocation:      "its Location %[1]s names %[2]s, a special-use name (RFC 6761) that no public web server answers for",
			ruleScheme:               "it leads to the scheme %[1]s; only http and https are allowed",
			rulePort:                 "it leads to port %[1]s; only ports 80 (http) and 443 (https) are allowed",
			ruleOtherDomain:          "it leads to %[1]s, outside the registered domain %[2]s",
			ruleIPLocationForm:       "its Location %[1]s names an IP address in another form than its canonical one (%[2]s), which dcv does not follow",
			ruleOtherAddress:         "it leads to %[1]s, another host than the address %[2]s validated",
			ruleIPLocationOdd:        "its Location %[1]s names an address in a form dcv does not follow (a number with a leading zero, or fewer than four numbers): write it as four numbers in dotted decimal",
			fixReservedRedirect:      "Do not redirect the validation path to %[1]s: serve it directly where it is asked.",
			ruleLoop:                 "it leads back to %[1]s, already requested (a redirect loop)",
			ruleTooMany:              "following it would exceed the limit of redirects (%[1]d)",
			ruleOther:                "%[1]s",
			noteOtherOrder:           "This is the value of another of your orders (a pending one, or an earlier one already issued), not of this one: each order, a renewal too, has its own value.",
		},
		CodeFileWrongLocation)
}

// maxChainShown bounds the hops a message lists (MaxRedirectsLimit + 1).
const maxChainShown = webfetch.MaxRedirectsLimit + 1

// discrepancy diagnoses a fetch whose addresses answered differently: at
// least one chain ended with the value and another did not. The finding is
// an error when another address answered otherwise, a warning when the
// others only could not be reached.
func (d *diagnoser) discrepancy(t *webfetch.Trace, o *validation.Observation) (Finding, bool) {
	if t == nil {
		return Finding{}, false
	}
	var good, bad, badIPs []string
	answered := false
	for _, c := range t.Chains() {
		first, last := &c[0], &c[len(c)-1]
		ip := Truncate(attemptIP(first), maxNameShown)
		if first.Status != 0 && validation.AttemptMatches(last, o.Expected) {
			good = append(good, ip)
			continue
		}
		badIPs = append(badIPs, ip)
		bad = append(bad, d.outcome(first, last, ip))
		answered = answered || first.Status != 0
	}
	if len(good) == 0 || len(bad) == 0 {
		return Finding{}, false
	}
	sep := d.c.f(wordListSep)
	host := Truncate(cmp.Or(t.Host, o.Domain), maxNameShown)
	f := Finding{
		Code:     CodeAddressDiscrepancy,
		Severity: SeverityError,
		Message:  d.c.f(msgAddrDiscrepancy, host, Truncate(t.URL, maxURLShown), strings.Join(good, sep), strings.Join(bad, sep)),
		Fix:      d.c.f(fixAddrDiscrepancy, host, strings.Join(badIPs, sep)),
	}
	if !answered {
		f.Severity = SeverityWarning
		f.Message = join(f.Message, d.c.f(noteAddrDiscrepancyWarn))
	}
	return f, true
}

// outcome says in a few words how one address's chain ended.
func (d *diagnoser) outcome(first, last *webfetch.Attempt, ip string) string {
	if first.Status != 0 {
		if last.Status == 200 {
			return d.c.f(outcomeAnsweredOther, ip, Truncate(string(last.Body), maxTXTShown))
		}
		if last.Status != 0 {
			return d.c.f(outcomeAnswered, ip, statusText(last.Status))
		}
	}
	kind := webfetch.ErrorKind("")
	if last.Err != nil {
		kind = last.Err.Kind
	}
	if kind == webfetch.ErrReservedAddress {
		return d.c.f(outcomeNotContacted, d.describeAddr(ip))
	}
	if m, ok := outcomeOf[kind]; ok {
		return d.c.f(m, ip)
	}
	return d.c.f(outcomeFailed, ip, Truncate(string(kind), maxDetailShown))
}

// outcomeOf words an address's failure of each kind, given the address.
var outcomeOf = map[webfetch.ErrorKind]msg{
	webfetch.ErrConnectionRefused: outcomeRefused,
	webfetch.ErrConnectTimeout:    outcomeConnectTimeout,
	webfetch.ErrTimeoutAfterConn:  outcomeNoAnswer,
	webfetch.ErrConnectionReset:   outcomeReset,
	webfetch.ErrTLS:               outcomeTLS,
	webfetch.ErrProtocol:          outcomeProtocol,
	webfetch.ErrHTTP2OnPlain:      outcomeWrongProtocol,
	webfetch.ErrTLSOnPlain:        outcomeWrongProtocol,
	webfetch.ErrPlainOnTLS:        outcomeWrongProtocol,
	webfetch.ErrNetwork:           outcomeUnreachable,
	webfetch.ErrSourceAddress:     outcomeNotDialled,
}

// wrongLocation diagnoses a file found at a usual wrong place (see
// validation.FileProbe): the first probe, in the order made, that served
// the value as validation accepts it (validation.FetchMatches, the
// predicate of a passing file), or else the first whose 200 answer holds
// the value but would not pass (a BOM, other text around it): a near miss,
// told with what is wrong. Without a value (a pre-flight check without
// one) nothing can be compared, and no probe says anything.
func (d *diagnoser) wrongLocation(o *validation.Observation) (Finding, bool) {
	if o.Expected == "" {
		return Finding{}, false
	}
	var found []string
	var first, near *validation.FileProbe
	for i := range o.File.Probes {
		p := &o.File.Probes[i]
		if p.Trace == nil || p.Kind == validation.FileProbeEachAddress {
			continue // the same URL, from each address: no other place
		}
		a := p.Trace.Final()
		if a == nil || a.Status != 200 {
			continue
		}
		if !validation.FetchMatches(p.Trace, o.Expected) {
			if near == nil && a.Err == nil && bytes.Contains(a.Body, []byte(o.Expected)) {
				near = p
			}
			continue
		}
		found = append(found, Truncate(cmp.Or(a.URL, p.Trace.URL), maxURLShown))
		if first == nil {
			first = p
		}
	}
	if first == nil && near == nil {
		return Finding{}, false
	}
	p := cmp.Or(first, near)
	want := Truncate(o.File.URL, maxURLShown)
	if len(o.File.Fetches) > 0 && o.File.Fetches[len(o.File.Fetches)-1] != nil &&
		strings.HasPrefix(p.Trace.URL, "https://") {
		// The probes went over https: name the https validation URL.
		want = Truncate(o.File.Fetches[len(o.File.Fetches)-1].URL, maxURLShown)
	}
	domain := Truncate(o.Domain, maxNameShown)
	f := Finding{Code: CodeFileWrongLocation, Severity: SeverityError}
	switch p.Kind {
	case validation.FileProbeRoot:
		f.Fix = d.c.f(fixWrongLocRoot, want)
	case validation.FileProbeDoubledExt:
		f.Fix = d.c.f(fixWrongLocDoubledExt, want)
	case validation.FileProbeWellKnown:
		f.Fix = d.c.f(fixWrongLocWellKnown, want)
	case validation.FileProbePKIValidation:
		f.Fix = d.c.f(fixWrongLocPKIValidation, want)
	case validation.FileProbeNoDot:
		f.Fix = d.c.f(fixWrongLocNoDot, want)
	default: // www or apex
		f.Fix = d.c.f(fixWrongLocTwin, want, Truncate(p.Trace.Host, maxNameShown), domain)
	}
	if first != nil {
		f.Message = d.c.f(msgFileWrongLocation, strings.Join(found, d.c.f(wordListSep)), want)
		return f, true
	}
	// Moved as it is, the file would still fail: say why, and how to
	// save it.
	a := near.Trace.Final()
	notes, _ := d.contentNotes(a, o.Expected)
	f.Message = join(d.c.f(msgFileWrongLocationNear, Truncate(cmp.Or(a.URL, near.Trace.URL), maxURLShown), want), notes...)
	f.Fix = join(f.Fix, d.c.f(fixFileContent, o.Expected))
	return f, true
}

// chainOf returns the chain of t holding a (see webfetch.Trace.Chains).
func chainOf(t *webfetch.Trace, a *webfetch.Attempt) []webfetch.Attempt {
	for _, c := range t.Chains() {
		for i := range c {
			if &c[i] == a {
				return c
			}
		}
	}
	return nil
}

// renderChain lists the answers of a chain of redirects: each URL with the
// status it answered, then where the last redirect pointed.
func renderChain(c []webfetch.Attempt) string {
	var parts []string
	for i := range c {
		a := &c[i]
		if a.Status == 0 && i < len(c)-1 {
			continue // an address of a hop that did not answer
		}
		if len(parts) == maxChainShown {
			parts = append(parts, ellipsis)
			break
		}
		s := Truncate(a.URL, maxURLShown)
		if a.Status != 0 {
			s += " (" + statusText(a.Status) + ")"
		}
		parts = append(parts, s)
	}
	// The refused Location ends the chain, but for several of them: none
	// is where it leads.
	if last := &c[len(c)-1]; last.Status >= 300 && last.Status < 400 && last.Location != "" && last.RedirectRefused != webfetch.RedirectManyLocations && len(parts) <= maxChainShown {
		parts = append(parts, Truncate(resolveLocation(last.URL, last.Location), maxURLShown))
	}
	return strings.Join(parts, " → ")
}

// redirectChain diagnoses a fetch that followed redirects and ended on a
// redirect it did not follow (a is that last answer).
func (d *diagnoser) redirectChain(t *webfetch.Trace, a *webfetch.Attempt, o *validation.Observation) Finding {
	c := chainOf(t, a)
	if c == nil {
		c = []webfetch.Attempt{*a}
	}
	start := Truncate(t.URL, maxURLShown)
	f := Finding{
		Code:     CodeFileRedirected,
		Severity: SeverityError,
		Message:  d.c.f(msgFileRedirectChain, start, renderChain(c)),
		Fix:      d.c.f(fixFileRedirectChain, start, Truncate(registered(cmp.Or(t.Host, o.Domain)), maxNameShown)),
	}
	if a.RedirectRefused != "" {
		f.Message = join(f.Message, d.c.f(noteRedirectRefused, Truncate(a.URL, maxURLShown), d.rule(t, a)))
	}
	return f
}

// rule says why the redirect a was not followed.
func (d *diagnoser) rule(t *webfetch.Trace, a *webfetch.Attempt) string {
	loc := resolveLocation(a.URL, a.Location)
	u, err := url.Parse(loc)
	if err != nil {
		u = &url.URL{}
	}
	shownLoc := Truncate(loc, maxURLShown)
	switch a.RedirectRefused {
	case webfetch.RedirectStatus:
		return d.c.f(ruleStatus, statusText(a.Status))
	case webfetch.RedirectNoLocation:
		return d.c.f(ruleNoLocation)
	case webfetch.RedirectManyLocations:
		return d.c.f(ruleManyLocations)
	case webfetch.RedirectBadLocation:
		host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
		switch {
		case host == "":
		case ident.IsIP(t.Host) && net.ParseIP(host) == nil && ident.LooksLikeIPv4(host):
			// An address in a form some software reads as IPv4.
			return d.c.f(ruleIPLocationOdd, shownLoc)
		case net.ParseIP(host) != nil:
			if a, err := netip.ParseAddr(host); err == nil && ident.IsIP(t.Host) {
				// From an address, another address is followed in its
				// one canonical form only.
				return d.c.f(ruleIPLocationForm, shownLoc, a.WithZone("").Unmap().String())
			}
			return d.c.f(ruleIPLocation, shownLoc)
		case host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "invalid" || strings.HasSuffix(host, ".invalid"):
			return d.c.f(ruleSpecialLocation, shownLoc, Truncate(host, maxNameShown))
		}
		return d.c.f(ruleBadLocation, shownLoc)
	case webfetch.RedirectScheme:
		return d.c.f(ruleScheme, Truncate(u.Scheme, maxNameShown))
	case webfetch.RedirectPort:
		return d.c.f(rulePort, Truncate(u.Port(), maxNameShown))
	case webfetch.RedirectOtherDomain:
		if ident.IsIP(t.Host) {
			return d.c.f(ruleOtherAddress, Truncate(u.Hostname(), maxNameShown), Truncate(t.Host, maxNameShown))
		}
		return d.c.f(ruleOtherDomain, Truncate(u.Hostname(), maxNameShown), Truncate(registered(t.Host), maxNameShown))
	case webfetch.RedirectLoop:
		return d.c.f(ruleLoop, shownLoc)
	case webfetch.RedirectTooMany:
		return d.c.f(ruleTooMany, a.Hop)
	}
	return d.c.f(ruleOther, Truncate(string(a.RedirectRefused), maxDetailShown))
}

// registered returns the registered domain of host (public suffix + 1
// label), or host when it has none.
func registered(host string) string {
	if r, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return r
	}
	return host
}

// otherOrderValue reports whether body holds, alone, the value of another
// of the account's pending orders.
func otherOrderValue(body []byte, others []string) bool {
	content := bytes.TrimSpace(bytes.TrimPrefix(body, utf8BOM))
	for _, v := range others {
		if v != "" && string(content) == v {
			return true
		}
	}
	return false
}

// hop diagnoses a fetch whose outcome a came after redirects were
// followed, or is a redirect refused by the redirect policy.
func (d *diagnoser) hop(t *webfetch.Trace, a *webfetch.Attempt, o *validation.Observation) (Finding, int) {
	if a.Status >= 300 && a.Status < 400 {
		return d.redirectChain(t, a, o), a.Status
	}
	host := Truncate(hopHost(a), maxNameShown)
	var f Finding
	switch {
	case a.Status == 0 && allSourceFailures(hopAttempts(chainOf(t, a), a.Hop)):
		// No address of the redirect's host could be tried from dcv's
		// source address: nothing was learnt of it, as at the first hop.
		f = d.sourceFailure(hopAttempts(chainOf(t, a), a.Hop), host)
	case a.Status != 0 && !(a.Status == 200 && a.Err != nil):
		f = d.status(a, Truncate(a.URL, maxURLShown), host, o.Expected)
		if f.Code == CodeFileContentMismatch && otherOrderValue(a.Body, o.File.OtherValues) {
			f.Message = join(f.Message, d.c.f(noteOtherOrder))
		}
	case a.Err != nil && a.Address == "":
		f = d.resolveError(a.Err, host, o) // the hop's host did not resolve
	default:
		f = d.attemptError(a, a.URL, host)
		if f.Code == CodeAddressReserved {
			// A redirect led there: the path is what to change.
			f.Fix = d.c.f(fixReservedRedirect, host)
		}
	}
	if c := chainOf(t, a); len(c) > 1 {
		f.Message = join(f.Message, d.c.f(noteViaRedirects, renderChain(c)))
	}
	return f, a.Status
}

// hopAttempts returns the attempts of chain c at hop: the addresses of
// that hop's host tried until one answered.
func hopAttempts(c []webfetch.Attempt, hop int) []webfetch.Attempt {
	var out []webfetch.Attempt
	for _, a := range c {
		if a.Hop == hop {
			out = append(out, a)
		}
	}
	return out
}

// hopHost returns the host of an attempt's URL.
func hopHost(a *webfetch.Attempt) string {
	if u, err := url.Parse(a.URL); err == nil {
		return u.Hostname()
	}
	return ""
}
