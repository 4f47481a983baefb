package validation

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// ALPNProtocol is the ALPN protocol name of RFC 8737 §6.2: "acme-tls/1".
const ALPNProtocol = "acme-tls/1"

// OIDACMEIdentifier is the id-pe-acmeIdentifier extension of RFC 8737 §6.1
// (1.3.6.1.5.5.7.1.31).
var OIDACMEIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}

// Limits of a tls-alpn-01 observation.
const (
	// defaultTLSALPNTimeout bounds the TCP and TLS handshakes with one
	// address, as webfetch's connect timeout does for http.
	defaultTLSALPNTimeout = 5 * time.Second
	// maxTLSALPNAddresses is how many addresses are tried: the first IPv6
	// and the first IPv4 one, as a browser's happy eyeballs would reach.
	maxTLSALPNAddresses = 2
	// maxSANsKept bounds the names kept as evidence from an untrusted
	// certificate.
	maxSANsKept = 20
)

// TLSALPNConfig configures tls-alpn-01 observations. The zero value is the
// documented default of each field.
type TLSALPNConfig struct {
	// Port is the port dialled. If zero, 443 (RFC 8737 §3: "on port 443").
	Port int
	// AllowLoopback permits 127.0.0.0/8 and ::1 targets. For tests only;
	// every other special-purpose range stays refused (ident.Targets).
	AllowLoopback bool
	// AllowPrivate permits targets in the private-use ranges
	// (ident.IsPrivate): a CA that serves an organisation's own network.
	AllowPrivate bool
	// Timeout bounds the TCP and TLS handshakes with one address. If zero, 5s.
	Timeout time.Duration
	// Source is the local address connections are made from (a remote
	// perspective's --source-address); the zero Addr lets the system
	// choose. Addresses of the other family are not dialled.
	Source netip.Addr
}

// TLSALPNObservation is the evidence of a tls-alpn-01 validation (RFC 8737
// §3): the address lookups, the address dialled, and what the TLS server
// presented under ALPN "acme-tls/1".
type TLSALPNObservation struct {
	// Port is the port dialled.
	Port int `json:"port"`
	// Lookups are the A and AAAA lookups of the domain.
	Lookups []Lookup `json:"lookups"`
	// Address is the last ip:port dialled, when any.
	Address string `json:"address,omitempty"`
	// Error is why no certificate was obtained, classified like a fetch
	// error (no address, reserved address, refused, TLS alert, ...).
	Error *webfetch.Error `json:"error,omitempty"`
	// Protocol is the ALPN protocol the server negotiated ("" for none).
	Protocol string `json:"protocol,omitempty"`
	// SANs are the dNSName subjectAltNames of the certificate presented.
	SANs []string `json:"sans,omitempty"`
	// IPSANs are its iPAddress subjectAltNames, in text form (RFC 5952
	// for IPv6).
	IPSANs []string `json:"ip_sans,omitempty"`
	// OtherSANs counts subjectAltNames of other types (e-mail, URI, and
	// any other GeneralName: otherName, directoryName, ...).
	OtherSANs int `json:"other_sans,omitempty"`
	// ExtensionFound reports an acmeIdentifier extension in the certificate.
	ExtensionFound bool `json:"extension_found"`
	// ExtensionCritical reports that it is marked critical.
	ExtensionCritical bool `json:"extension_critical,omitempty"`
	// ExtensionValue is the hex of the extension's OCTET STRING content.
	ExtensionValue string `json:"extension_value,omitempty"`
	// ExtensionMalformed reports an extension that is not a DER OCTET STRING.
	ExtensionMalformed bool `json:"extension_malformed,omitempty"`
	// ExpectedValue is the hex SHA-256 digest of the key authorization,
	// which the extension must hold (RFC 8737 §3).
	ExpectedValue string `json:"expected_value"`
}

// Matches reports whether the observation proves control (RFC 8737 §3): the
// server negotiated "acme-tls/1" and presented a certificate with exactly one
// subjectAltName, the dNSName domain, and a critical acmeIdentifier
// extension holding ExpectedValue. DNS names compare case-insensitively
// (RFC 5280 §7.2, RFC 4343), so a certificate naming T.Example.COM proves
// control of t.example.com.
func (o *TLSALPNObservation) Matches(domain string) bool {
	return o != nil && o.Error == nil && o.Protocol == ALPNProtocol && o.NamesMatch(domain) &&
		o.ExtensionFound && o.ExtensionCritical && !o.ExtensionMalformed &&
		o.ExpectedValue != "" && o.ExtensionValue == o.ExpectedValue
}

// NamesMatch reports whether the certificate presented names the
// identifier alone: a domain as its only subjectAltName, a dNSName (RFC
// 8737 §3), or an IP address as its only one, an iPAddress (RFC 8738 §6).
func (o *TLSALPNObservation) NamesMatch(identifier string) bool {
	if o.OtherSANs != 0 {
		return false
	}
	if ident.IsIP(identifier) {
		return len(o.SANs) == 0 && len(o.IPSANs) == 1 && o.IPSANs[0] == identifier
	}
	return len(o.IPSANs) == 0 && len(o.SANs) == 1 && strings.EqualFold(o.SANs[0], identifier)
}

// tlsALPNServerName is the SNI of a tls-alpn-01 handshake: the domain, or
// for an IP address identifier its reverse mapping name (RFC 8738 §6:
// "4.3.2.1.in-addr.arpa" for 1.2.3.4), since SNI carries no addresses.
func tlsALPNServerName(identifier string) string {
	if !ident.IsIP(identifier) {
		return identifier
	}
	r, err := dns.ReverseAddr(identifier)
	if err != nil {
		return identifier
	}
	return strings.TrimSuffix(r, ".")
}

// observeTLSALPN01 resolves the domain, connects to the configured port of
// its first IPv6 and first IPv4 address (skipping reserved ones) and
// completes a TLS handshake offering only ALPN "acme-tls/1" with the domain
// as SNI. RFC 8737 §3: the certificate is not verified against any trust
// anchor; its names and acmeIdentifier extension are recorded.
func (v *Validator) observeTLSALPN01(ctx context.Context, req Request) *TLSALPNObservation {
	cfg := v.cfg.TLSALPN
	port := cmp.Or(cfg.Port, 443)
	digest := sha256.Sum256([]byte(req.Value))
	obs := &TLSALPNObservation{Port: port, ExpectedValue: hex.EncodeToString(digest[:])}
	domain := req.Domain

	var addrs []netip.Addr
	if a, err := netip.ParseAddr(domain); err == nil {
		// An IP address identifier is dialled as it is (RFC 8738 §6).
		addrs = []netip.Addr{a}
	} else {
		var wg sync.WaitGroup
		obs.Lookups = make([]Lookup, 2)
		wg.Go(func() { obs.Lookups[0] = v.lookup(ctx, domain, dns.TypeA) })
		wg.Go(func() { obs.Lookups[1] = v.lookup(ctx, domain, dns.TypeAAAA) })
		wg.Wait()
		var rerr *webfetch.Error
		if addrs, rerr = tlsALPNAddresses(obs.Lookups); rerr != nil {
			obs.Error = rerr
			return obs
		}
	}
	var tried []netip.Addr
	for _, a := range addrs {
		if (ident.Targets{Loopback: cfg.AllowLoopback, Private: cfg.AllowPrivate}).Refused(a) {
			continue
		}
		tried = append(tried, a)
	}
	if len(tried) == 0 {
		obs.Error = &webfetch.Error{Kind: webfetch.ErrReservedAddress, Address: net.JoinHostPort(addrs[0].String(), strconv.Itoa(port))}
		return obs
	}
	if src := cfg.Source; src.IsValid() {
		// A connection from src reaches only its own family.
		reachable := slices.DeleteFunc(slices.Clone(tried), func(a netip.Addr) bool { return a.Unmap().Is4() != src.Unmap().Is4() })
		if len(reachable) == 0 {
			obs.Error = &webfetch.Error{Kind: webfetch.ErrSourceAddress, Address: net.JoinHostPort(tried[0].String(), strconv.Itoa(port)),
				Detail: "not dialled: connections are made from " + src.String() + ", and the domain has no address of its family"}
			return obs
		}
		tried = reachable
	}
	// First IPv6, then first IPv4.
	slices.SortStableFunc(tried, func(a, b netip.Addr) int {
		return cmp.Compare(boolRank(a.Is4()), boolRank(b.Is4()))
	})
	var pick []netip.Addr
	if i := slices.IndexFunc(tried, func(a netip.Addr) bool { return !a.Is4() }); i >= 0 {
		pick = append(pick, tried[i])
	}
	if i := slices.IndexFunc(tried, func(a netip.Addr) bool { return a.Is4() }); i >= 0 {
		pick = append(pick, tried[i])
	}
	pick = pick[:min(len(pick), maxTLSALPNAddresses)]
	for _, a := range pick {
		obs.Address = net.JoinHostPort(a.String(), strconv.Itoa(port))
		obs.Error = nil
		state, err := tlsALPNHandshake(ctx, obs.Address, tlsALPNServerName(domain), cmp.Or(cfg.Timeout, defaultTLSALPNTimeout), cfg.Source)
		if err != nil {
			obs.Error = err
			if err.Kind == webfetch.ErrConnectTimeout || err.Kind == webfetch.ErrConnectionRefused || err.Kind == webfetch.ErrNetwork {
				continue // the next address may answer
			}
			return obs
		}
		obs.Protocol = state.NegotiatedProtocol
		if len(state.PeerCertificates) > 0 {
			recordCertificate(obs, state.PeerCertificates[0])
		}
		return obs
	}
	return obs
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tlsALPNAddresses returns the addresses of the A and AAAA lookups, or the
// classified reason there are none.
func tlsALPNAddresses(ls []Lookup) ([]netip.Addr, *webfetch.Error) {
	var a, aaaa Lookup
	for _, l := range ls {
		switch l.Type {
		case "A":
			a = l
		case "AAAA":
			aaaa = l
		}
	}
	return webfetch.Addresses(strings.TrimSuffix(cmp.Or(a.Name, aaaa.Name), "."), aaaa.Response, a.Response, lookupErr(aaaa.Err), lookupErr(a.Err))
}

// lookupErr is e as an error: nil when e is nil (a nil *dnsclient.Error in
// an error interface is not nil).
func lookupErr(e *dnsclient.Error) error {
	if e == nil {
		return nil
	}
	return e
}

// tlsALPNHandshake dials addr and completes the RFC 8737 handshake.
func tlsALPNHandshake(ctx context.Context, addr, domain string, timeout time.Duration, source netip.Addr) (*tls.ConnectionState, *webfetch.Error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	if source.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(source, 0))
	}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, classifyTLSALPN(err, addr, false)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	conn := tls.Client(raw, &tls.Config{
		ServerName: domain,
		NextProtos: []string{ALPNProtocol},
		// RFC 8737 §3: the certificate is self-signed; its content, not a
		// chain, is what is checked.
		InsecureSkipVerify: true, //nolint:gosec // by design of RFC 8737
		MinVersion:         tls.VersionTLS12,
	})
	if err := conn.HandshakeContext(ctx); err != nil {
		if refusedALPN(err) {
			// RFC 7301 §3.2: a server that supports none of the protocols
			// offered answers with the no_application_protocol alert. That
			// is an answer, not a failure to connect: the server is not an
			// acme-tls/1 responder, as one that ignores ALPN is.
			return &tls.ConnectionState{}, nil
		}
		return nil, classifyTLSALPN(err, addr, true)
	}
	st := conn.ConnectionState()
	return &st, nil
}

// alertNoApplicationProtocol is the TLS alert of RFC 7301 §3.2.
const alertNoApplicationProtocol = 120

// refusedALPN reports whether err is the server's no_application_protocol
// alert. crypto/tls reports a received alert as a *net.OpError with Op
// "remote error" wrapping an unexported alert type, whose text is the
// one tls.AlertError has for the same code: that text is compared, as
// classifyTLSALPN compares the Op.
func refusedALPN(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil &&
		oe.Err.Error() == tls.AlertError(alertNoApplicationProtocol).Error()
}

// classifyTLSALPN classifies a dial or handshake error once, where it is
// observed.
func classifyTLSALPN(err error, addr string, connected bool) *webfetch.Error {
	e := &webfetch.Error{Kind: webfetch.ErrNetwork, Address: addr, Detail: err.Error()}
	var (
		ne net.Error
		ae tls.AlertError
		re tls.RecordHeaderError
		oe *net.OpError
	)
	timeout := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	switch {
	case timeout && !connected:
		e.Kind = webfetch.ErrConnectTimeout
	case timeout:
		e.Kind = webfetch.ErrTimeoutAfterConn
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		// bind(2) of the configured source address failed.
		e.Kind = webfetch.ErrSourceAddress
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Kind = webfetch.ErrConnectionRefused
	case errors.Is(err, syscall.ECONNRESET):
		e.Kind = webfetch.ErrConnectionReset
	case errors.As(err, &re):
		// The server answered with something other than TLS.
		e.Kind = webfetch.ErrPlainOnTLS
	case errors.As(err, &ae), errors.As(err, &oe) && oe.Op == "remote error":
		// String check, as in webfetch: crypto/tls reports a received alert
		// as a *net.OpError with Op "remote error".
		e.Kind = webfetch.ErrTLS
	case connected:
		e.Kind = webfetch.ErrTLS
	}
	return e
}

// recordCertificate keeps what RFC 8737 §3 checks of the certificate.
func recordCertificate(obs *TLSALPNObservation, c *x509.Certificate) {
	for i, n := range c.DNSNames {
		if i == maxSANsKept {
			obs.OtherSANs += len(c.DNSNames) - i
			break
		}
		obs.SANs = append(obs.SANs, n)
	}
	for _, ip := range c.IPAddresses {
		if len(obs.IPSANs) == maxSANsKept {
			obs.OtherSANs++
			continue
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			obs.IPSANs = append(obs.IPSANs, a.String())
		}
	}
	// RFC 8737 §3: the subjectAltName holds the dNSName "and no other
	// entries". crypto/x509 keeps only four GeneralName types and drops
	// the others (otherName, directoryName, ...): count them all.
	if n, ok := generalNames(c); ok {
		obs.OtherSANs += n - len(c.DNSNames) - len(c.IPAddresses)
	} else {
		obs.OtherSANs += len(c.EmailAddresses) + len(c.URIs)
	}
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(OIDACMEIdentifier) {
			continue
		}
		obs.ExtensionFound = true
		obs.ExtensionCritical = ext.Critical
		var v []byte
		rest, err := asn1.Unmarshal(ext.Value, &v)
		if err != nil || len(rest) != 0 || len(v) != sha256.Size {
			obs.ExtensionMalformed = true
			obs.ExtensionValue = hex.EncodeToString(ext.Value[:min(len(ext.Value), 64)])
			continue
		}
		obs.ExtensionValue = hex.EncodeToString(v)
	}
}

// oidSubjectAltName is the subjectAltName extension (RFC 5280 §4.2.1.6).
var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// generalNames counts the GeneralNames of c's subjectAltName, of every
// type; ok is false when it has none that parses.
func generalNames(c *x509.Certificate) (n int, ok bool) {
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &seq); err != nil || len(rest) != 0 || seq.Tag != asn1.TagSequence {
			return 0, false
		}
		for b := seq.Bytes; len(b) > 0; n++ {
			var gn asn1.RawValue
			var err error
			if b, err = asn1.Unmarshal(b, &gn); err != nil {
				return 0, false
			}
		}
		return n, true
	}
	return 0, false
}
