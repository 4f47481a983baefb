package diagnose

import (
	"cmp"
	"strconv"
	"strings"

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
	fixHTTP01NotFound    msg = "fixHTTP01NotFound"
	fixHTTP01Content     msg = "fixHTTP01Content"
	fixHTTP01Redirected  msg = "fixHTTP01Redirected"
	fixHTTP01BadStatus   msg = "fixHTTP01BadStatus"
	msgTLSALPNConnect    msg = "msgTLSALPNConnect"
	fixTLSALPNConnect    msg = "fixTLSALPNConnect"
	msgTLSALPNHandshake  msg = "msgTLSALPNHandshake"
	fixTLSALPNHandshake  msg = "fixTLSALPNHandshake"
	msgTLSALPNNoProtocol msg = "msgTLSALPNNoProtocol"
	msgTLSALPNProtocol   msg = "msgTLSALPNProtocol"
	fixTLSALPNProtocol   msg = "fixTLSALPNProtocol"
	msgTLSALPNNames      msg = "msgTLSALPNNames"
	wordTLSALPNNoNames   msg = "wordTLSALPNNoNames"
	fixTLSALPNNames      msg = "fixTLSALPNNames"
	msgTLSALPNNoExt      msg = "msgTLSALPNNoExt"
	msgTLSALPNNotCrit    msg = "msgTLSALPNNotCrit"
	msgTLSALPNMalformed  msg = "msgTLSALPNMalformed"
	msgTLSALPNMismatch   msg = "msgTLSALPNMismatch"
	fixTLSALPNExt        msg = "fixTLSALPNExt"
)

func init() {
	extend(CodeCAALookupFailed, map[Code]string{
		CodeTLSALPNUnreachable:      "TLS server unreachable (tls-alpn-01)",
		CodeTLSALPNNotNegotiated:    "acme-tls/1 not negotiated",
		CodeTLSALPNWrongCertificate: "Challenge certificate names the wrong domain",
		CodeTLSALPNBadExtension:     "Challenge certificate lacks the right acmeIdentifier",
	}, map[msg]string{
		fixHTTP01NotFound:    "Make %[2]s return the key authorization: the ACME client must answer on port 80 itself, or write the challenge file into .well-known/acme-challenge/ at the web root of the site answering for %[1]s.",
		fixHTTP01Content:     "Serve exactly the key authorization `%[1]s` at %[2]s and nothing else (a final line break is fine).",
		fixHTTP01Redirected:  "Serve %[1]s directly with status 200: exempt /.well-known/acme-challenge/ from the redirect.",
		fixHTTP01BadStatus:   "Make the web server answer %[1]s with status 200 and the key authorization; if a CDN or firewall is in front of it, allow-list /.well-known/acme-challenge/.",
		msgTLSALPNConnect:    "No TLS connection to %[1]s for tls-alpn-01: %[2]s.",
		fixTLSALPNConnect:    "Run the ACME client's tls-alpn-01 responder (or a server that hands it acme-tls/1 connections) on port %[1]s of %[2]s, reachable from the internet.",
		msgTLSALPNHandshake:  "The TLS handshake with %[1]s for tls-alpn-01 failed (%[2]s).",
		fixTLSALPNHandshake:  "Let the ACME client's responder answer TLS on %[1]s, offering the acme-tls/1 protocol (RFC 8737).",
		msgTLSALPNNoProtocol: "The TLS server at %[1]s did not negotiate the acme-tls/1 protocol: it is not an ACME tls-alpn-01 responder.",
		msgTLSALPNProtocol:   "The TLS server at %[1]s negotiated %[2]s instead of acme-tls/1.",
		fixTLSALPNProtocol:   "Route TLS connections that offer ALPN acme-tls/1 on port %[1]s to the ACME client's responder (a web server or load balancer in front must pass them through).",
		msgTLSALPNNames:      "The certificate presented at %[1]s names %[2]s; for tls-alpn-01 it must name exactly %[3]s.",
		wordTLSALPNNoNames:   "no DNS name",
		fixTLSALPNNames:      "Serve the ACME client's challenge certificate, whose only subjectAltName is %[1]s, to connections offering acme-tls/1.",
		msgTLSALPNNoExt:      "The certificate presented at %[1]s has no acmeIdentifier extension: it is not the tls-alpn-01 challenge certificate.",
		msgTLSALPNNotCrit:    "The acmeIdentifier extension of the certificate at %[1]s is not marked critical (RFC 8737 §3 requires it).",
		msgTLSALPNMalformed:  "The acmeIdentifier extension of the certificate at %[1]s is not a 32-byte OCTET STRING.",
		msgTLSALPNMismatch:   "The acmeIdentifier extension of the certificate at %[1]s holds %[2]s, not the digest of this challenge's key authorization (%[3]s): it answers another challenge.",
		fixTLSALPNExt:        "Let the ACME client create the challenge certificate for this authorization (a stale responder still serving an earlier challenge is the usual cause).",
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
		return d.dns(o)
	case o.Method == validation.MethodTLSALPN01 && o.TLSALPN != nil:
		return d.tlsALPN(o)
	}
	return []Finding{d.invalid(o.Domain, msgInvalidNoEvidence)}
}

// http01 is the file diagnosis with the fixes that name fileauth.txt
// replaced by their http-01 counterparts.
func (d *diagnoser) http01(o *validation.Observation) []Finding {
	fs := d.file(o)
	u := Truncate(o.File.URL, maxURLShown)
	for i := range fs {
		switch fs[i].Code {
		case CodeFileNotFound:
			fs[i].Fix = d.c.f(fixHTTP01NotFound, Truncate(o.Domain, maxNameShown), u)
		case CodeFileContentMismatch:
			fs[i].Fix = d.c.f(fixHTTP01Content, Truncate(o.Expected, maxSnippetShown), u)
		case CodeFileRedirected:
			fs[i].Fix = d.c.f(fixHTTP01Redirected, u)
		case CodeFileBadStatus:
			fs[i].Fix = d.c.f(fixHTTP01BadStatus, u)
		}
	}
	return fs
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
		case webfetch.ErrNoAddress, webfetch.ErrDNSNXDomain, webfetch.ErrDNSError:
			return []Finding{{Code: CodeTLSALPNUnreachable, Severity: SeverityError,
				Message: d.c.f(msgNoAddress, domain), Fix: d.c.f(fixNoAddress, domain), Retryable: e.Kind == webfetch.ErrDNSError}}
		case webfetch.ErrReservedAddress:
			ip := addr
			if h, _, ok := strings.Cut(addr, "]:"); ok {
				ip = strings.TrimPrefix(h, "[")
			} else if i := strings.LastIndexByte(addr, ':'); i > 0 {
				ip = addr[:i]
			}
			return []Finding{{Code: CodeAddressReserved, Severity: SeverityError,
				Message: d.c.f(msgReserved, domain, d.describeAddr(ip)), Fix: d.c.f(fixReserved, domain)}}
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
	if len(t.SANs) != 1 || t.OtherSANs != 0 || t.SANs[0] != o.Domain {
		names := make([]string, 0, len(t.SANs))
		for i, n := range t.SANs {
			if i == maxTXTListed {
				break
			}
			names = append(names, Truncate(n, maxNameShown))
		}
		list := strings.Join(names, d.c.f(wordListSep))
		if list == "" {
			list = d.c.f(wordTLSALPNNoNames)
		}
		if extra := len(t.SANs) + t.OtherSANs - len(names); extra > 0 {
			list = d.c.f(wordAndMore, list, extra)
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
