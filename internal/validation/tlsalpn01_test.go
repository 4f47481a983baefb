package validation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Deadlines of the tls-alpn-01 world.
const (
	alpnHandshakeTimeout = time.Second
	alpnServerDeadline   = 2 * time.Second
)

// alpnWorld is a DNS server for applicant.com, a TLS listener on a fresh
// loopback address, and a Validator dialling the listener's port for
// tls-alpn-01.
type alpnWorld struct {
	dns  *testenv.DNSServer
	ln   net.Listener
	ip   string
	port int
	v    *validation.Validator
}

func setupALPN(t *testing.T) *alpnWorld {
	t.Helper()
	d := testenv.NewDNSServer(t)
	d.AddZone("applicant.com.")
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{d.Addr}, Timeout: wireDNSTimeout})
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().(*net.TCPAddr)
	v, err := validation.New(validation.Config{
		Resolver: res, Timeout: wireObserveLimit,
		TLSALPN: validation.TLSALPNConfig{Port: a.Port, AllowLoopback: true, Timeout: alpnHandshakeTimeout},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &alpnWorld{dns: d, ln: ln, ip: a.IP.String(), port: a.Port, v: v}
}

// serve answers TLS on the listener with cfg until the test ends.
func (w *alpnWorld) serve(cfg *tls.Config) {
	go func() {
		for {
			c, err := w.ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, cfg)
				_ = tc.SetDeadline(time.Now().Add(alpnServerDeadline))
				_ = tc.Handshake()
			}()
		}
	}()
}

// challengeCert builds an RFC 8737 §3 style certificate: self-signed, with
// the given dNSNames and, when ext is set, the given extension.
func challengeCert(t *testing.T, names []string, ext *pkix.Extension, more ...pkix.Extension) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ACME challenge"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     names,
	}
	if ext != nil {
		tmpl.ExtraExtensions = []pkix.Extension{*ext}
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, more...)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// sanWithDirectoryName is a subjectAltName holding the dNSName name and a
// directoryName (RFC 5280 §4.2.1.6: [2] and [4] EXPLICIT Name).
func sanWithDirectoryName(t *testing.T, name string) pkix.Extension {
	t.Helper()
	dn, err := asn1.Marshal(pkix.Name{CommonName: name}.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	v, err := asn1.Marshal([]asn1.RawValue{
		{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(name)},
		{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dn},
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: v}
}

// acmeIdentifier is the id-pe-acmeIdentifier extension holding the SHA-256
// digest of keyAuth (RFC 8737 §3).
func acmeIdentifier(t *testing.T, keyAuth string, critical bool) *pkix.Extension {
	t.Helper()
	d := sha256.Sum256([]byte(keyAuth))
	v, err := asn1.Marshal(d[:])
	if err != nil {
		t.Fatal(err)
	}
	return &pkix.Extension{Id: validation.OIDACMEIdentifier, Critical: critical, Value: v}
}

func digestHex(keyAuth string) string {
	d := sha256.Sum256([]byte(keyAuth))
	return hex.EncodeToString(d[:])
}

// TestTLSALPN01OnTheWire observes tls-alpn-01 (RFC 8737) against a Go TLS
// server on loopback, reached through a real DNS server and resolver, and
// checks the evidence and the diagnosis of each way a responder goes wrong.
func TestTLSALPN01OnTheWire(t *testing.T) {
	t.Parallel()
	const domain = "t.applicant.com"
	tests := []struct {
		name string
		// server returns the TLS configuration served; nil for no server.
		server    func(t *testing.T, k acmeKeys) *tls.Config
		protocol  string
		sans      []string
		otherSANs int
		ext       string // "" none, "ok" the expected value, "other", "malformed"
		critical  bool
		errKind   string
		code      diagnose.Code
		msg       []string // "{addr}" is the listener's ip:port, "{ka}"/"{other}" digests in hex
		fix       []string
	}{
		{
			name: "valid (x/crypto/acme's certificate)",
			server: func(t *testing.T, k acmeKeys) *tls.Config {
				c, err := k.client.TLSALPN01ChallengeCert(acmeToken, domain)
				if err != nil {
					t.Fatal(err)
				}
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{c}}
			},
			protocol: validation.ALPNProtocol, sans: []string{domain}, ext: "ok", critical: true,
		},
		{
			name: "valid with the name in capitals",
			server: func(t *testing.T, k acmeKeys) *tls.Config {
				c := challengeCert(t, []string{"T.Applicant.COM"}, acmeIdentifier(t, k.keyAuth, true))
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{c}}
			},
			protocol: validation.ALPNProtocol, sans: []string{"T.Applicant.COM"}, ext: "ok", critical: true,
		},
		{
			name: "no ALPN at all",
			server: func(t *testing.T, k acmeKeys) *tls.Config {
				return &tls.Config{Certificates: []tls.Certificate{challengeCert(t, []string{domain}, acmeIdentifier(t, k.keyAuth, true))}}
			},
			sans: []string{domain}, ext: "ok", critical: true,
			code: diagnose.CodeTLSALPNNotNegotiated,
			msg:  []string{"{addr}", "did not negotiate the acme-tls/1 protocol"},
			fix:  []string{"port {port}", "acme-tls/1"},
		},
		{
			name: "a web server refusing acme-tls/1",
			server: func(t *testing.T, _ acmeKeys) *tls.Config {
				return &tls.Config{NextProtos: []string{"h2", "http/1.1"}, Certificates: []tls.Certificate{challengeCert(t, []string{domain}, nil)}}
			},
			code: diagnose.CodeTLSALPNNotNegotiated,
			msg:  []string{"{addr}", "did not negotiate the acme-tls/1 protocol"},
			fix:  []string{"port {port}", "acme-tls/1"},
		},
		{
			name: "wrong acmeIdentifier",
			server: func(t *testing.T, k acmeKeys) *tls.Config {
				c := challengeCert(t, []string{domain}, acmeIdentifier(t, k.other, true))
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{c}}
			},
			protocol: validation.ALPNProtocol, sans: []string{domain}, ext: "other", critical: true,
			code: diagnose.CodeTLSALPNBadExtension,
			msg:  []string{"{addr}", "{other}", "{ka}", "another challenge"},
			fix:  []string{"stale responder"},
		},
		{
			name: "extension not critical",
			server: func(t *testing.T, k acmeKeys) *tls.Config {
				c := challengeCert(t, []string{domain}, acmeIdentifier(t, k.keyAuth, false))
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{c}}
			},
			protocol: validation.ALPNProtocol, sans: []string{domain}, ext: "ok",
			code: diagnose.CodeTLSALPNBadExtension,
			msg:  []string{"{addr}", "not marked critical", "RFC 8737"},
		},
		{
			name: "extension malformed",
			server: func(t *testing.T, _ acmeKeys) *tls.Config {
				ext := &pkix.Extension{Id: validation.OIDACMEIdentifier, Critical: true, Value: []byte{0x04, 0x02, 0xab, 0xcd}}
				c := challengeCert(t, []string{domain}, ext)
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{c}}
			},
			protocol: validation.ALPNProtocol, sans: []string{domain}, ext: "malformed", critical: true,
			code: diagnose.CodeTLSALPNBadExtension,
			msg:  []string{"{addr}", "not a 32-byte OCTET STRING"},
		},
		{
			name: "no extension",
			server: func(t *testing.T, _ acmeKeys) *tls.Config {
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{challengeCert(t, []string{domain}, nil)}}
			},
			protocol: validation.ALPNProtocol, sans: []string{domain},
			code: diagnose.CodeTLSALPNBadExtension,
			msg:  []string{"{addr}", "no acmeIdentifier extension"},
		},
		{
			name: "extra SANs",
			server: func(t *testing.T, k acmeKeys) *tls.Config {
				c := challengeCert(t, []string{domain, "www.applicant.com"}, acmeIdentifier(t, k.keyAuth, true))
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{c}}
			},
			protocol: validation.ALPNProtocol, sans: []string{domain, "www.applicant.com"}, ext: "ok", critical: true,
			code: diagnose.CodeTLSALPNWrongCertificate,
			msg:  []string{"{addr}", domain, "www.applicant.com", "exactly " + domain},
			fix:  []string{"only subjectAltName is " + domain},
		},
		{
			// RFC 8737 §3: the dNSName "and no other entries", of any
			// GeneralName type (here a directoryName, which crypto/x509
			// does not keep).
			name: "a directoryName beside the dNSName",
			server: func(t *testing.T, k acmeKeys) *tls.Config {
				c := challengeCert(t, nil, acmeIdentifier(t, k.keyAuth, true), sanWithDirectoryName(t, domain))
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{c}}
			},
			protocol: validation.ALPNProtocol, sans: []string{domain}, otherSANs: 1, ext: "ok", critical: true,
			code: diagnose.CodeTLSALPNWrongCertificate,
			msg:  []string{"{addr}", domain, "exactly " + domain},
		},
		{
			name: "another domain's certificate",
			server: func(t *testing.T, k acmeKeys) *tls.Config {
				c := challengeCert(t, []string{"u.applicant.com"}, acmeIdentifier(t, k.keyAuth, true))
				return &tls.Config{NextProtos: []string{validation.ALPNProtocol}, Certificates: []tls.Certificate{c}}
			},
			protocol: validation.ALPNProtocol, sans: []string{"u.applicant.com"}, ext: "ok", critical: true,
			code: diagnose.CodeTLSALPNWrongCertificate,
			msg:  []string{"names u.applicant.com", "exactly " + domain},
		},
		{
			name:    "nothing listens",
			errKind: "connection_refused",
			code:    diagnose.CodeTLSALPNUnreachable,
			msg:     []string{"{addr}", "refused", "port {port}"},
			fix:     []string{"port {port}", domain},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := setupALPN(t)
			k := newACMEKeys(t)
			w.dns.Add(domain + ". A " + w.ip)
			if tc.server != nil {
				w.serve(tc.server(t, k))
			} else {
				w.ln.Close()
			}
			addr := net.JoinHostPort(w.ip, strconv.Itoa(w.port))
			expand := strings.NewReplacer("{addr}", addr, "{port}", strconv.Itoa(w.port),
				"{ka}", digestHex(k.keyAuth), "{other}", digestHex(k.other)).Replace

			obs, res := diagnoseOne(t, w.v, validation.Request{Domain: domain, Method: validation.MethodTLSALPN01, Value: k.keyAuth, Token: acmeToken})
			o := obs.TLSALPN
			if o == nil || obs.File != nil || obs.DNS != nil {
				t.Fatalf("tls-alpn-01 evidence: tls-alpn %v, file %v, dns %v; want the TLS observation only", o, obs.File, obs.DNS)
			}
			if o.Port != w.port || o.Address != addr || o.ExpectedValue != digestHex(k.keyAuth) {
				t.Errorf("port %d, address %s, expected %s; want %d, %s, %s", o.Port, o.Address, o.ExpectedValue, w.port, addr, digestHex(k.keyAuth))
			}
			if len(o.Lookups) != 2 || o.Lookups[0].Type != "A" || o.Lookups[1].Type != "AAAA" {
				t.Errorf("lookups %+v; want A and AAAA", o.Lookups)
			}
			gotErr := ""
			if o.Error != nil {
				gotErr = string(o.Error.Kind)
			}
			if gotErr != tc.errKind {
				t.Errorf("error %v, want kind %q", o.Error, tc.errKind)
			}
			if o.Protocol != tc.protocol || strings.Join(o.SANs, ",") != strings.Join(tc.sans, ",") || o.OtherSANs != tc.otherSANs {
				t.Errorf("protocol %q, SANs %v (+%d other); want %q, %v (+%d)", o.Protocol, o.SANs, o.OtherSANs, tc.protocol, tc.sans, tc.otherSANs)
			}
			wantValue := map[string]string{"ok": digestHex(k.keyAuth), "other": digestHex(k.other), "malformed": "0402abcd"}[tc.ext]
			if o.ExtensionFound != (tc.ext != "") || o.ExtensionCritical != tc.critical || o.ExtensionMalformed != (tc.ext == "malformed") || o.ExtensionValue != wantValue {
				t.Errorf("extension found %v critical %v malformed %v value %q; want %q critical %v", o.ExtensionFound, o.ExtensionCritical, o.ExtensionMalformed, o.ExtensionValue, tc.ext, tc.critical)
			}
			if o.Matches(domain) != (tc.code == "") {
				t.Errorf("Matches = %v, want %v", o.Matches(domain), tc.code == "")
			}
			checkVerdict(t, res, tc.code, expandAll(expand, tc.msg), expandAll(expand, tc.fix))
		})
	}
}

// TestTLSALPN01SourceFamily: a validator whose connections are made from
// an IPv4 source address does not dial a domain's IPv6 address; with no
// other, the observation is dcv's own failure (OBSERVATION_INVALID), not a
// server the applicant is told to fix.
func TestTLSALPN01SourceFamily(t *testing.T) {
	t.Parallel()
	const domain = "t6.applicant.com"
	d := testenv.NewDNSServer(t)
	d.AddZone("applicant.com.")
	d.Add(domain + ". AAAA ::1")
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{d.Addr}, Timeout: wireDNSTimeout})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res, Timeout: wireObserveLimit,
		TLSALPN: validation.TLSALPNConfig{Port: 443, AllowLoopback: true, Timeout: alpnHandshakeTimeout, Source: testenv.NewLoopbackAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	k := newACMEKeys(t)
	obs, r := diagnoseOne(t, v, validation.Request{Domain: domain, Method: validation.MethodTLSALPN01, Value: k.keyAuth, Token: acmeToken})
	if e := obs.TLSALPN.Error; e == nil || e.Kind != webfetch.ErrSourceAddress || !strings.Contains(e.Detail, "no address of its family") {
		t.Fatalf("error %v, want source_address", obs.TLSALPN.Error)
	}
	checkVerdict(t, r, diagnose.CodeObservationInvalid, []string{"from the source address it is configured to use", "[::1]:443"}, []string{"certificate authority's side"})
}
