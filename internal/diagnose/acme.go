package diagnose

import (
	"cmp"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Codes of the ACME challenge types (RFC 8555 §8, RFC 8737). http-01 and
// dns-01 are diagnosed with the file and DNS codes (their evidence has the
// same shape); only tls-alpn-01 has codes of its own. Like the others, they
// are API.
const (
	// CodeTLSALPNUnreachable: no TLS connection to port 443 of the domain
	// could be made (refused, timed out, reset, no address).
	CodeTLSALPNUnreachable Code = "TLS_ALPN_UNREACHABLE"
	// CodeTLSALPNNotNegotiated: the TLS server did not negotiate the
	// "acme-tls/1" protocol, so it is not the ACME client's responder.
	CodeTLSALPNNotNegotiated Code = "TLS_ALPN_NOT_NEGOTIATED"
	// CodeTLSALPNWrongCertificate: the certificate presented does not name
	// exactly the domain.
	CodeTLSALPNWrongCertificate Code = "TLS_ALPN_WRONG_CERTIFICATE"
	// CodeTLSALPNBadExtension: the acmeIdentifier extension is missing, not
	// critical, malformed, or holds another key authorization's digest.
	CodeTLSALPNBadExtension Code = "TLS_ALPN_BAD_EXTENSION"
)

const (
	fixHTTP01NotFound              msg = "fixHTTP01NotFound"
	fixHTTP01NotFoundRedirected    msg = "fixHTTP01NotFoundRedirected"
	noteHTTP01AddressOrder         msg = "noteHTTP01AddressOrder"
	noteHTTP01TokenAlone           msg = "noteHTTP01TokenAlone"
	noteHTTP01ThumbprintAlone      msg = "noteHTTP01ThumbprintAlone"
	noteHTTP01OtherThumbprint      msg = "noteHTTP01OtherThumbprint"
	fixHTTP01Thumbprint            msg = "fixHTTP01Thumbprint"
	fixHTTP01OtherThumbprint       msg = "fixHTTP01OtherThumbprint"
	fixHTTP01Content               msg = "fixHTTP01Content"
	fixHTTP01ContentRedirected     msg = "fixHTTP01ContentRedirected"
	fixHTTP01ContentRedirectedAway msg = "fixHTTP01ContentRedirectedAway"
	noteDNS01OtherValue            msg = "noteDNS01OtherValue"
	fixDNS01OtherValue             msg = "fixDNS01OtherValue"
	fixHTTP01Redirected            msg = "fixHTTP01Redirected"
	fixHTTP01BadStatus             msg = "fixHTTP01BadStatus"
	msgTLSALPNConnect              msg = "msgTLSALPNConnect"
	msgTLSALPNNoAddress            msg = "msgTLSALPNNoAddress"
	fixTLSALPNNoAddress            msg = "fixTLSALPNNoAddress"
	fixTLSALPNConnect              msg = "fixTLSALPNConnect"
	msgTLSALPNHandshake            msg = "msgTLSALPNHandshake"
	fixTLSALPNHandshake            msg = "fixTLSALPNHandshake"
	msgTLSALPNNoProtocol           msg = "msgTLSALPNNoProtocol"
	msgTLSALPNProtocol             msg = "msgTLSALPNProtocol"
	fixTLSALPNProtocol             msg = "fixTLSALPNProtocol"
	msgTLSALPNNames                msg = "msgTLSALPNNames"
	wordTLSALPNNoNames             msg = "wordTLSALPNNoNames"
	fixTLSALPNNames                msg = "fixTLSALPNNames"
	msgTLSALPNNamesIP              msg = "msgTLSALPNNamesIP"
	fixTLSALPNNamesIP              msg = "fixTLSALPNNamesIP"
	wordAsDNSName                  msg = "wordAsDNSName"
	wordAsIPAddress                msg = "wordAsIPAddress"
	msgTLSALPNNoExt                msg = "msgTLSALPNNoExt"
	msgTLSALPNNotCrit              msg = "msgTLSALPNNotCrit"
	msgTLSALPNMalformed            msg = "msgTLSALPNMalformed"
	msgTLSALPNMismatch             msg = "msgTLSALPNMismatch"
	fixTLSALPNExt                  msg = "fixTLSALPNExt"
)

func init() {
	extend(CodeCAALookupFailed, map[Code]string{
		CodeTLSALPNUnreachable:      "TLS server unreachable (tls-alpn-01)",
		CodeTLSALPNNotNegotiated:    "acme-tls/1 not negotiated",
		CodeTLSALPNWrongCertificate: "Challenge certificate names the wrong domain",
		CodeTLSALPNBadExtension:     "Challenge certificate lacks the right acmeIdentifier",
	}, map[msg]string{
		fixHTTP01NotFound:              "Make %[2]s return the key authorization: the ACME client must answer on port 80 itself, or write the challenge file into .well-known/acme-challenge/ at the web root of the site answering for %[1]s.",
		noteHTTP01TokenAlone:           "The answer is the challenge token alone: the key authorization is the token, a dot, then the thumbprint of the ACME account's key.",
		noteHTTP01ThumbprintAlone:      "The answer is the account key's thumbprint alone: the key authorization is the challenge token, a dot, then that thumbprint.",
		noteHTTP01OtherThumbprint:      "The answer is the token with the thumbprint of another account key (`%[1]s`): a responder configured for another ACME account, or for this account's key before it was changed.",
		fixHTTP01Thumbprint:            "Serve the token, a dot and the thumbprint `%[1]s` at %[2]s (a responder that answers every token, as nginx `return 200 \"$1.%[1]s\";`, must append exactly that).",
		fixHTTP01OtherThumbprint:       "Use this account key's thumbprint `%[1]s` where the responder serving %[2]s appends one (a stateless configuration), or run the ACME client with the account key its configuration was made for.",
		noteHTTP01AddressOrder:         "dcv, as Let's Encrypt, asks the IPv6 addresses (AAAA records) first and goes on to the IPv4 ones only when an address cannot be reached: an address that answers otherwise decides.",
		fixHTTP01NotFoundRedirected:    "%[2]s redirects to %[1]s, which has no challenge file: write the file into .well-known/acme-challenge/ at the web root of the site that serves %[1]s (for a redirect to https, the https site, which may have a web root of its own); or exempt /.well-known/acme-challenge/ from the redirect, so that %[2]s answers with the key authorization itself.",
		fixHTTP01Content:               "Serve exactly the key authorization `%[1]s` at %[2]s and nothing else (a few spaces or line breaks after it are fine).",
		fixHTTP01ContentRedirected:     "Serve exactly the key authorization `%[1]s` at %[2]s, where %[3]s redirects, and nothing else; or answer %[3]s directly with status 200 and the key authorization, without the redirect.",
		noteDNS01OtherValue:            "A value there is another dns-01 challenge's: an earlier attempt's, or that of the other name of an order for both %[1]s and *.%[1]s, which validate at this same host.",
		fixDNS01OtherValue:             "Add a TXT record at host `%[1]s` with the value `%[2]s` beside the one there while its challenge is pending: each name validated at this host needs its own record, so an ACME client's DNS hook must add records, not replace them. Remove the values of finished challenges.",
		fixHTTP01ContentRedirectedAway: "Answer %[3]s directly with status 200 and exactly the key authorization `%[1]s`: it redirects to %[2]s, which does not serve the challenge. Exempt /.well-known/acme-challenge/ from the redirect.",
		fixHTTP01Redirected:            "Serve %[1]s directly with status 200: exempt /.well-known/acme-challenge/ from the redirect.",
		fixHTTP01BadStatus:             "Make the web server answer %[1]s with status 200 and the key authorization; if a CDN or firewall is in front of it, allow-list /.well-known/acme-challenge/.",
		msgTLSALPNConnect:              "No TLS connection to %[1]s for tls-alpn-01: %[2]s.",
		msgTLSALPNNoAddress:            "%[1]s has no A or AAAA record, so there is no TLS server to connect to for tls-alpn-01.",
		fixTLSALPNNoAddress:            "Add an A (IPv4) or AAAA (IPv6) record for %[1]s pointing at the public address of the server that answers tls-alpn-01 on port 443.",
		fixTLSALPNConnect:              "Run the ACME client's tls-alpn-01 responder (or a server that hands it acme-tls/1 connections) on port %[1]s of %[2]s, reachable from the internet.",
		msgTLSALPNHandshake:            "The TLS handshake with %[1]s for tls-alpn-01 failed (%[2]s).",
		fixTLSALPNHandshake:            "Let the ACME client's responder answer TLS on %[1]s, offering the acme-tls/1 protocol (RFC 8737).",
		msgTLSALPNNoProtocol:           "The TLS server at %[1]s did not negotiate the acme-tls/1 protocol: it is not an ACME tls-alpn-01 responder.",
		msgTLSALPNProtocol:             "The TLS server at %[1]s negotiated %[2]s instead of acme-tls/1.",
		fixTLSALPNProtocol:             "Route TLS connections that offer ALPN acme-tls/1 on port %[1]s to the ACME client's responder (a web server or load balancer in front must pass them through).",
		msgTLSALPNNames:                "The certificate presented at %[1]s names %[2]s; for tls-alpn-01 it must name exactly %[3]s.",
		wordTLSALPNNoNames:             "no DNS name",
		fixTLSALPNNames:                "Serve the ACME client's challenge certificate, whose only subjectAltName is %[1]s, to connections offering acme-tls/1.",
		msgTLSALPNNamesIP:              "The certificate presented at %[1]s names %[2]s; for tls-alpn-01 of an IP address it must name exactly %[3]s, as an IP address (an iPAddress subjectAltName, RFC 8738 §6).",
		fixTLSALPNNamesIP:              "Serve the ACME client's challenge certificate, whose only subjectAltName is the IP address %[1]s as an iPAddress entry (not a dNSName), to connections offering acme-tls/1 whose SNI is the address's reverse name.",
		wordAsDNSName:                  "%[1]s (as a DNS name)",
		wordAsIPAddress:                "%[1]s (an IP address)",
		msgTLSALPNNoExt:                "The certificate presented at %[1]s has no acmeIdentifier extension: it is not the tls-alpn-01 challenge certificate.",
		msgTLSALPNNotCrit:              "The acmeIdentifier extension of the certificate at %[1]s is not marked critical (RFC 8737 §3 requires it).",
		msgTLSALPNMalformed:            "The acmeIdentifier extension of the certificate at %[1]s is not a 32-byte OCTET STRING.",
		msgTLSALPNMismatch:             "The acmeIdentifier extension of the certificate at %[1]s holds %[2]s, not the digest of this challenge's key authorization (%[3]s): it answers another challenge.",
		fixTLSALPNExt:                  "Let the ACME client create the challenge certificate for this authorization (a stale responder still serving an earlier challenge is the usual cause).",
	}, CodeTLSALPNUnreachable, CodeTLSALPNNotNegotiated, CodeTLSALPNWrongCertificate, CodeTLSALPNBadExtension)
}

// acme diagnoses the ACME challenge types. http-01 evidence is a file fetch
// and dns-01 evidence a TXT lookup: they share the file and DNS diagnosis,
// with fixes worded for an ACME client.
func (d *diagnoser) acme(o *validation.Observation) []Finding {
	switch {
	case o.Method == validation.MethodHTTP01 && o.File != nil:
		return d.http01(o)
	case o.Method == validation.MethodDNS01 && o.DNS != nil:
		return d.dns01(o)
	case o.Method == validation.MethodTLSALPN01 && o.TLSALPN != nil:
		return d.tlsALPN(o)
	}
	return []Finding{d.invalid(o.Domain, msgInvalidNoEvidence)}
}

// http01 is the file diagnosis with the fixes that name fileauth.txt
// replaced by their http-01 counterparts.
func (d *diagnoser) http01(o *validation.Observation) []Finding {
	fs := d.file(o)
	if f, ok := d.http01Discrepancy(o, fs); ok {
		// The answer that decided came from an address that does not
		// serve the challenge, while another does: that is the cause,
		// and it comes first.
		fs = append([]Finding{f}, fs...)
	}
	u := Truncate(o.File.URL, maxURLShown)
	for i := range fs {
		switch fs[i].Code {
		case CodeFileNotFound:
			if !strings.Contains(fs[i].Message, d.c.f(wordErrorStatusValue)) {
				// The key authorization served with an error status has
				// the status fix already (file.go): kept.
				fs[i].Fix = d.c.f(fixHTTP01NotFound, Truncate(o.Domain, maxNameShown), u)
				if to := redirectedTo(o.File); to != "" {
					// The 404 came from where u redirects: the site
					// to serve the file is that one (black-box run: the
					// fix named the site of the redirecting name), when
					// the redirect keeps the challenge's path; one to a
					// home or login page must go.
					fs[i].Fix = d.c.f(fixHTTP01ContentRedirectedAway, Truncate(o.Expected, maxSnippetShown), Truncate(to, maxURLShown), u)
					if keepsChallengePath(to, o.File.URL) {
						fs[i].Fix = d.c.f(fixHTTP01NotFoundRedirected, Truncate(to, maxURLShown), u)
					}
				}
			}
		case CodeFileContentMismatch:
			fs[i].Fix = d.c.f(fixHTTP01Content, Truncate(o.Expected, maxSnippetShown), u)
			if note, fix, ok := d.keyAuthNearMiss(o); ok {
				// A stateless responder's usual mistakes: the token
				// alone, or another account key's thumbprint.
				fs[i].Message = join(fs[i].Message, note)
				fs[i].Fix = fix
				continue
			}
			if to := redirectedTo(o.File); to != "" {
				// The wrong content came from where u redirects: serving
				// the right one at u changes nothing while it redirects.
				// A redirect to the same challenge path elsewhere (another
				// host, https) may be served there; one to a home or login
				// page must go.
				m := fixHTTP01ContentRedirectedAway
				if keepsChallengePath(to, o.File.URL) {
					m = fixHTTP01ContentRedirected
				}
				fs[i].Fix = d.c.f(m, Truncate(o.Expected, maxSnippetShown), Truncate(to, maxURLShown), u)
			}
		case CodeFileRedirected:
			fs[i].Fix = d.c.f(fixHTTP01Redirected, u)
		case CodeFileBadStatus:
			fs[i].Fix = d.c.f(fixHTTP01BadStatus, u)
			if a := o.File.Fetches[0].Final(); a != nil {
				if cdn, _ := detectCDN(a.Header); cdn == "" {
					if h := statusHint(a.Status); h != "" {
						fs[i].Fix = join(fs[i].Fix, d.c.f(h))
					}
				}
			}
		}
	}
	return fs
}

// http01Discrepancy is the ADDRESS_DISCREPANCY finding of a failed http-01
// challenge whose URL, fetched from each address of its name
// (validation.FileProbeEachAddress), was served with the key authorization
// by one address and not by another: the validation fetch, which asks the
// IPv6 addresses first and goes on only when one cannot be reached, got
// its answer from one that does not serve it.
func (d *diagnoser) http01Discrepancy(o *validation.Observation, fs []Finding) (Finding, bool) {
	if len(fs) == 0 || !fs[0].Blocking() {
		return Finding{}, false
	}
	for _, p := range o.File.Probes {
		if p.Kind != validation.FileProbeEachAddress || p.Trace == nil {
			continue
		}
		f, ok := d.discrepancy(p.Trace, o)
		if !ok || !f.Blocking() || !failedAgain(o.File.Fetches[0], p.Trace, o.Expected) {
			return Finding{}, false
		}
		f.Message = join(f.Message, d.c.f(noteHTTP01AddressOrder))
		return f, true
	}
	return Finding{}, false
}

// keyAuthNearMiss words an http-01 answer that is part of the key
// authorization "token.thumbprint" (RFC 8555 §8.1), or that of another
// account key: what a stateless responder configured by hand serves (nginx
// `return 200 "$1.<thumbprint>"`) when the thumbprint is left out, or is
// another account's (made for another account, or before a keyChange).
func (d *diagnoser) keyAuthNearMiss(o *validation.Observation) (note, fix string, ok bool) {
	token, thumb, found := strings.Cut(o.Expected, ".")
	if !found || token == "" || thumb == "" || len(o.File.Fetches) == 0 || o.File.Fetches[0] == nil {
		return "", "", false
	}
	a := o.File.Fetches[0].Final()
	if a == nil || a.Status != 200 {
		return "", "", false
	}
	body := strings.TrimRight(string(a.Body), " \t\r\n")
	u := Truncate(o.File.URL, maxURLShown)
	switch {
	case body == token:
		return d.c.f(noteHTTP01TokenAlone), d.c.f(fixHTTP01Thumbprint, thumb, u), true
	case body == thumb:
		return d.c.f(noteHTTP01ThumbprintAlone), d.c.f(fixHTTP01Thumbprint, thumb, u), true
	}
	other, ok := strings.CutPrefix(body, token+".")
	if ok && len(other) == len(thumb) && strings.Trim(other, base64URLAlphabet) == "" {
		return d.c.f(noteHTTP01OtherThumbprint, Truncate(other, maxSnippetShown)), d.c.f(fixHTTP01OtherThumbprint, thumb, u), true
	}
	return "", "", false
}

// keepsChallengePath reports whether the redirect target to ends with the
// challenge URL chal's path (/.well-known/acme-challenge/<token>): another
// host, or https, that may serve the challenge, unlike a home or login
// page.
func keepsChallengePath(to, chal string) bool {
	tu, err := url.Parse(to)
	return err == nil && strings.HasSuffix(tu.Path, validation.HTTP01Path+path.Base(chal))
}

// failedAgain reports whether the address that answered the validation
// fetch tr (its first hop's) failed to serve want in the fetch from each
// address, each: a file written between the two fetches is no discrepancy.
func failedAgain(tr, each *webfetch.Trace, want string) bool {
	var decided string
	for i := range tr.Attempts {
		if a := &tr.Attempts[i]; a.Hop == 0 && a.Status != 0 {
			decided = attemptIP(a)
			break
		}
	}
	for _, c := range each.Chains() {
		if attemptIP(&c[0]) == decided {
			return !validation.AttemptMatches(&c[len(c)-1], want)
		}
	}
	return false
}

// dns01 is the DNS diagnosis of dns-01. When the TXT record holds another
// value of the form of a dns-01 one (a key authorization digest: 43
// base64url characters), the fix says to add this challenge's value beside
// it rather than to set the record to it: a name and its wildcard (x and
// *.x, often ordered together) validate at the same host, and an ACME
// client's DNS hook that replaces the record instead of adding one leaves
// only the value of the last challenge it prepared.
func (d *diagnoser) dns01(o *validation.Observation) []Finding {
	fs := d.dns(o)
	for i := range fs {
		if fs[i].Code != CodeDNSRecordMismatch || !otherDNS01Value(o) {
			continue
		}
		host := trimDot(o.DNS.Host)
		if host == "" {
			host = validation.DNS01Prefix + "." + baseDomain(o.Domain)
		}
		rel, _ := d.relativeHost(host)
		base := Truncate(baseDomain(o.Domain), maxNameShown)
		fs[i].Message = join(fs[i].Message, d.c.f(noteDNS01OtherValue, base))
		fs[i].Fix = d.c.f(fixDNS01OtherValue, rel, o.Expected)
	}
	return fs
}

// otherDNS01Value reports whether the TXT answer of o holds a value other
// than the expected one with the form of a dns-01 value (RFC 8555 §8.4:
// the unpadded base64url of a SHA-256 digest, 43 characters), and is not
// a near miss of the expected value: a copy of it with a typo, its letters'
// case changed or quotes and spaces around it is to be corrected, not
// published beside another record. Two digests of different key
// authorizations differ in nearly every position.
func otherDNS01Value(o *validation.Observation) bool {
	r := o.DNS.Record.Response
	if r == nil {
		return false
	}
	for _, a := range r.Answer {
		if a.Type != "TXT" || a.Data == o.Expected || len(a.Data) != 43 || strings.Trim(a.Data, base64URLAlphabet) != "" {
			continue
		}
		if m, _ := nearMissTXT(a, o.Expected); m != "" || strings.EqualFold(a.Data, o.Expected) || differingBytes(a.Data, o.Expected) <= maxTypos {
			continue
		}
		return true
	}
	return false
}

// maxTypos is the most positions in which a value may differ from the
// expected one of the same length and still be taken for a mistyped copy.
const maxTypos = 3

// differingBytes counts the positions where a and b differ, plus the
// difference of their lengths.
func differingBytes(a, b string) int {
	n := max(len(a), len(b)) - min(len(a), len(b))
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// base64URLAlphabet is the alphabet of unpadded base64url (RFC 4648 §5).
const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// redirectedTo returns the URL whose answer a fetch of f ended with when
// it followed redirects there (an http-01 fetch follows them, RFC 8555
// §8.3), or "" when the answer came from the URL asked for.
func redirectedTo(f *validation.FileObservation) string {
	for _, t := range f.Fetches {
		if t == nil {
			continue
		}
		if a := t.Final(); a != nil && a.Status != 0 {
			if a.Hop > 0 {
				return a.URL
			}
			return ""
		}
	}
	return ""
}

// tlsALPN diagnoses tls-alpn-01 (RFC 8737 §3). It returns no finding when
// the observation matches.
func (d *diagnoser) tlsALPN(o *validation.Observation) []Finding {
	t := o.TLSALPN
	domain := Truncate(baseDomain(o.Domain), maxNameShown)
	if t.Matches(o.Domain) {
		return nil
	}
	if e := t.Error; e != nil {
		if len(t.Lookups) > 0 {
			if f, ok := d.domainUnresolvable(&t.Lookups[0], o.Domain); ok {
				return []Finding{f}
			}
		}
		addr := Truncate(cmp.Or(e.Address, t.Address), maxNameShown)
		port := strconv.Itoa(cmp.Or(t.Port, 443))
		switch e.Kind {
		case webfetch.ErrSourceAddress:
			// dcv's own source address: nothing was learnt of the domain.
			f := d.invalid(domain, whySourceAddress)
			f.Message = join(f.Message, d.c.f(noteSourceAddress, addr, Truncate(e.Detail, maxDetailShown)))
			return []Finding{f}
		case webfetch.ErrNoAddress:
			return []Finding{{Code: CodeTLSALPNUnreachable, Severity: SeverityError,
				Message: d.c.f(msgTLSALPNNoAddress, domain), Fix: d.c.f(fixTLSALPNNoAddress, domain)}}
		case webfetch.ErrDNSNXDomain, webfetch.ErrDNSServfail, webfetch.ErrDNSTimeout, webfetch.ErrDNSError, webfetch.ErrDNSRefused:
			// The address lookup failed: diagnosed as for a file's
			// domain (whose side it is, which server, what to fix).
			return []Finding{d.resolveError(e, domain, o)}
		case webfetch.ErrReservedAddress:
			ip := addr
			if h, _, ok := strings.Cut(addr, "]:"); ok {
				ip = strings.TrimPrefix(h, "[")
			} else if i := strings.LastIndexByte(addr, ':'); i > 0 {
				ip = addr[:i]
			}
			return []Finding{d.reservedFinding(domain, d.describeAddr(ip))}
		case webfetch.ErrTLS, webfetch.ErrPlainOnTLS:
			return []Finding{{Code: CodeTLSALPNUnreachable, Severity: SeverityError,
				Message: d.c.f(msgTLSALPNHandshake, addr, Truncate(cmp.Or(e.Detail, string(e.Kind)), maxDetailShown)),
				Fix:     d.c.f(fixTLSALPNHandshake, addr)}}
		}
		why := map[webfetch.ErrorKind]string{
			webfetch.ErrConnectTimeout:    "the connection timed out (likely a firewall dropping it)",
			webfetch.ErrConnectionRefused: "the connection was refused (nothing listens on port " + port + ")",
			webfetch.ErrConnectionReset:   "the connection was reset",
			webfetch.ErrTimeoutAfterConn:  "the handshake did not complete in time",
		}[e.Kind]
		if why == "" {
			why = "a network error"
		}
		return []Finding{{Code: CodeTLSALPNUnreachable, Severity: SeverityError,
			Message:   d.c.f(msgTLSALPNConnect, addr, why),
			Fix:       d.c.f(fixTLSALPNConnect, port, domain),
			Retryable: e.Kind == webfetch.ErrConnectTimeout || e.Kind == webfetch.ErrConnectionReset || e.Kind == webfetch.ErrNetwork}}
	}
	addr := Truncate(t.Address, maxNameShown)
	port := strconv.Itoa(cmp.Or(t.Port, 443))
	if t.Protocol != validation.ALPNProtocol {
		m := d.c.f(msgTLSALPNNoProtocol, addr)
		if t.Protocol != "" {
			m = d.c.f(msgTLSALPNProtocol, addr, Truncate(t.Protocol, maxDetailShown))
		}
		return []Finding{{Code: CodeTLSALPNNotNegotiated, Severity: SeverityError, Message: m, Fix: d.c.f(fixTLSALPNProtocol, port)}}
	}
	if !t.NamesMatch(o.Domain) {
		all := slices.Concat(t.SANs, t.IPSANs)
		names := make([]string, 0, len(all))
		isIP := ident.IsIP(o.Domain)
		for i, n := range all {
			if i == maxTXTListed {
				break
			}
			n = Truncate(n, maxNameShown)
			switch {
			case i < len(t.SANs) && (isIP || ident.IsIP(n)):
				// An address written as a DNS name, or a name where an
				// address is validated: the kind is what is wrong.
				n = d.c.f(wordAsDNSName, n)
			case i >= len(t.SANs) && !isIP:
				n = d.c.f(wordAsIPAddress, n)
			}
			names = append(names, n)
		}
		list := strings.Join(names, d.c.f(wordListSep))
		if list == "" {
			list = d.c.f(wordTLSALPNNoNames)
		}
		if extra := len(all) + t.OtherSANs - len(names); extra > 0 {
			list = d.c.f(wordAndMore, list, extra)
		}
		if isIP {
			return []Finding{{Code: CodeTLSALPNWrongCertificate, Severity: SeverityError,
				Message: d.c.f(msgTLSALPNNamesIP, addr, list, domain), Fix: d.c.f(fixTLSALPNNamesIP, domain)}}
		}
		return []Finding{{Code: CodeTLSALPNWrongCertificate, Severity: SeverityError,
			Message: d.c.f(msgTLSALPNNames, addr, list, domain), Fix: d.c.f(fixTLSALPNNames, domain)}}
	}
	f := Finding{Code: CodeTLSALPNBadExtension, Severity: SeverityError, Fix: d.c.f(fixTLSALPNExt)}
	switch {
	case !t.ExtensionFound:
		f.Message = d.c.f(msgTLSALPNNoExt, addr)
	case t.ExtensionMalformed:
		f.Message = d.c.f(msgTLSALPNMalformed, addr)
	case !t.ExtensionCritical:
		f.Message = d.c.f(msgTLSALPNNotCrit, addr)
	default:
		f.Message = d.c.f(msgTLSALPNMismatch, addr, Truncate(t.ExtensionValue, maxDetailShown), Truncate(t.ExpectedValue, maxDetailShown))
	}
	return []Finding{f}
}
