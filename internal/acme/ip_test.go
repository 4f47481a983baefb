package acme_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/miekg/dns"
	xacme "golang.org/x/crypto/acme"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/validation"
)

// ipChallengeCert is an RFC 8738 §6 tls-alpn-01 certificate: the address
// as its only subjectAltName, an iPAddress, and the acmeIdentifier.
func ipChallengeCert(t *testing.T, ip, keyAuth string) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte(keyAuth))
	v, err := asn1.Marshal(d[:])
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses:     []net.IP{net.ParseIP(ip)},
		ExtraExtensions: []pkix.Extension{{Id: validation.OIDACMEIdentifier, Critical: true, Value: v}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// TestFlowIPAddress: an order for a DNS name and an IP address (RFC 8738)
// offers the address http-01 and tls-alpn-01 only, validates each at the
// address itself, and issues a certificate naming the name as a dNSName
// and the address as an iPAddress, which verifies for both.
func TestFlowIPAddress(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"http-01", "tls-alpn-01"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			w := setupStack(t, ordertest.Options{Names: ident.Policy{IPs: ident.Targets{Loopback: true}}}, nil)
			c := w.client(t)
			ctx := context.Background()
			ip := w.web.IP.String()
			if typ == "tls-alpn-01" {
				ip = w.alpnLn.Addr().(*net.TCPAddr).IP.String()
			}
			const name = "n.applicant.com"
			o, err := c.AuthorizeOrder(ctx, []xacme.AuthzID{{Type: "dns", Value: name}, {Type: "ip", Value: ip}})
			if err != nil {
				t.Fatal(err)
			}
			if len(o.Identifiers) != 2 || o.Identifiers[1] != (xacme.AuthzID{Type: "ip", Value: ip}) {
				t.Fatalf("identifiers %+v", o.Identifiers)
			}
			for _, u := range o.AuthzURLs {
				z, err := c.GetAuthorization(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				var types []string
				var ch *xacme.Challenge
				for _, cc := range z.Challenges {
					types = append(types, cc.Type)
					if cc.Type == typ {
						ch = cc
					}
				}
				if z.Identifier.Type == "ip" && slices.Contains(types, "dns-01") {
					t.Errorf("an IP address is offered dns-01: %v", types)
				}
				ka, _ := c.HTTP01ChallengeResponse(ch.Token)
				switch {
				case typ == "http-01":
					if z.Identifier.Type == "dns" {
						w.dns.Add(name + ". 60 IN A " + w.web.IP.String())
					}
					w.web.SetFile(z.Identifier.Value, c.HTTP01ChallengePath(ch.Token), 200, ka)
				case z.Identifier.Type == "ip":
					rev, _ := dns.ReverseAddr(ip)
					w.alpn.set(strings.TrimSuffix(rev, "."), ipChallengeCert(t, ip, ka))
				default:
					cert, err := c.TLSALPN01ChallengeCert(ch.Token, name)
					if err != nil {
						t.Fatal(err)
					}
					w.alpn.set(name, cert)
					w.dns.Add(name + ". 60 IN A " + ip)
				}
				if _, err := c.Accept(ctx, ch); err != nil {
					t.Fatal(err)
				}
				if _, err := c.WaitAuthorization(ctx, u); err != nil {
					t.Fatalf("authorization of %s: %v", z.Identifier.Value, err)
				}
			}
			// The address as the CSR's common name too, as some clients
			// write it.
			leaf, ders := finalizeWith(t, c, o, &x509.CertificateRequest{Subject: pkix.Name{CommonName: ip},
				DNSNames: []string{name}, IPAddresses: []net.IP{net.ParseIP(ip)}})
			if !slices.Equal(leaf.DNSNames, []string{name}) || len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != ip || leaf.Subject.String() != "" {
				t.Fatalf("leaf names %v, addresses %v, subject %q", leaf.DNSNames, leaf.IPAddresses, leaf.Subject)
			}
			inter, _ := x509.ParseCertificate(ders[1])
			pool := x509.NewCertPool()
			pool.AddCert(inter)
			for _, id := range []string{name, ip} {
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: w.ca.Roots(), Intermediates: pool, DNSName: id}); err != nil {
					t.Errorf("leaf does not verify for %s: %v", id, err)
				}
			}
			if got := ca.LeafIPs(leaf); len(got) != 1 || !got[0].Is4() {
				t.Errorf("address encoded as %v, want 4 bytes", got)
			}
		})
	}
}

// TestIPAddressRefusals: addresses this CA does not certify, addresses
// sent as DNS names, and a CSR that does not name the order's address are
// each refused with the reason.
func TestIPAddressRefusals(t *testing.T) {
	t.Parallel()
	w := setup(t) // a public CA's policy: no loopback address identifiers
	c := w.client(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		ids   []xacme.AuthzID
		words []string
	}{
		{"loopback on a public CA", []xacme.AuthzID{{Type: "ip", Value: "127.0.0.1"}}, []string{"rejectedIdentifier", "loopback", "this CA certifies public addresses only"}},
		{"address as a dns name", []xacme.AuthzID{{Type: "dns", Value: "192.0.2.1"}}, []string{"rejectedIdentifier", `sent as an identifier of type "dns"`, "RFC 8738"}},
		{"not canonical", []xacme.AuthzID{{Type: "ip", Value: "2606:4700:0:0::1"}}, []string{"rejectedIdentifier", "canonical", "2606:4700::1"}},
		{"twice", []xacme.AuthzID{{Type: "ip", Value: "8.8.8.8"}, {Type: "ip", Value: "8.8.8.8"}}, []string{"more than once"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.AuthorizeOrder(ctx, tc.ids)
			if err == nil {
				t.Fatal("order accepted")
			}
			for _, wd := range tc.words {
				if !strings.Contains(err.Error(), wd) {
					t.Errorf("error %q lacks %q", err, wd)
				}
			}
		})
	}
}

// TestIPAddressBadCSR: a CSR naming another address than the order's, or
// the ordered address as a DNS name, is badCSR saying so (black-box run: the
// latter was issued as an iPAddress).
func TestIPAddressBadCSR(t *testing.T) {
	t.Parallel()
	w := setupStack(t, ordertest.Options{Names: ident.Policy{IPs: ident.Targets{Loopback: true}}}, nil)
	c := w.client(t)
	ip := w.web.IP.String()
	tests := []struct {
		name  string
		req   x509.CertificateRequest
		words []string
	}{
		{"another address", x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("127.0.0.2")}}, []string{"127.0.0.2", ip}},
		{"the address as a DNS name", x509.CertificateRequest{DNSNames: []string{ip}}, []string{"as a DNS name", "iPAddress"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := validIPOrder(t, w, c, ip)
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			csr, _ := x509.CreateCertificateRequest(rand.Reader, &tc.req, k)
			_, _, err := c.CreateOrderCert(context.Background(), o.FinalizeURL, csr, true)
			if err == nil || !strings.Contains(err.Error(), "badCSR") {
				t.Fatalf("finalize = %v, want badCSR", err)
			}
			for _, wd := range tc.words {
				if !strings.Contains(err.Error(), wd) {
					t.Errorf("finalize = %v, lacks %q", err, wd)
				}
			}
		})
	}
}

// validIPOrder returns an order for ip alone whose authorization is valid
// (http-01 answered by the world's web server at ip).
func validIPOrder(t *testing.T, w *world, c *xacme.Client, ip string) *xacme.Order {
	t.Helper()
	ctx := context.Background()
	o, err := c.AuthorizeOrder(ctx, []xacme.AuthzID{{Type: "ip", Value: ip}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := c.GetAuthorization(ctx, o.AuthzURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	if z.Status != xacme.StatusValid {
		for _, ch := range z.Challenges {
			if ch.Type == "http-01" {
				ka, _ := c.HTTP01ChallengeResponse(ch.Token)
				w.web.SetFile(ip, c.HTTP01ChallengePath(ch.Token), 200, ka)
				if _, err := c.Accept(ctx, ch); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := c.WaitAuthorization(ctx, o.AuthzURLs[0]); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// issueIP has c order, validate and finalize a certificate for ip alone,
// and returns the leaf.
func issueIP(t *testing.T, w *world, c *xacme.Client, ip string) *x509.Certificate {
	t.Helper()
	leaf, _ := finalizeWith(t, c, validIPOrder(t, w, c, ip), &x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP(ip)}})
	return leaf
}

// finalizeWith finalizes the ready order o with a CSR of a fresh key made
// from req, and returns the leaf issued and the chain served (DER).
func finalizeWith(t *testing.T, c *xacme.Client, o *xacme.Order, req *x509.CertificateRequest) (*x509.Certificate, [][]byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, req, k)
	if err != nil {
		t.Fatal(err)
	}
	ders, _, err := c.CreateOrderCert(context.Background(), o.FinalizeURL, csr, true)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(ders[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf, ders
}

// TestIPAddressRevocationAndRenewal: an account that did not order an
// IP-only certificate may revoke it only once it holds a valid
// authorization for the address (RFC 8555 §7.6), and the certificate's
// own account renews it with "replaces" (RFC 9773), which must share an
// identifier with it: the address (review: both compared DNS names alone,
// and an IP-only certificate has none).
func TestIPAddressRevocationAndRenewal(t *testing.T) {
	t.Parallel()
	w := setupStack(t, ordertest.Options{Names: ident.Policy{IPs: ident.Targets{Loopback: true}}}, nil)
	owner, stranger := w.client(t), w.client(t)
	ctx := context.Background()
	ip := w.web.IP.String()
	leaf := issueIP(t, w, owner, ip)

	certID := base64.RawURLEncoding.EncodeToString(leaf.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(leaf.SerialNumber.Bytes())
	renew := `{"identifiers":[{"type":"ip","value":"` + ip + `"}],"replaces":"` + certID + `"}`
	if st, m := w.post(t, raw{alg: jose.ES256, key: owner.Key, kid: string(owner.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: renew}); st != http.StatusCreated {
		t.Fatalf("renewal replacing the IP certificate: %d %v", st, m)
	}

	err := stranger.RevokeCert(ctx, nil, leaf.Raw, xacme.CRLReasonUnspecified)
	if err == nil || !strings.Contains(err.Error(), "unauthorized") || !strings.Contains(err.Error(), ip) {
		t.Fatalf("revocation by an account without an authorization: %v; want unauthorized naming %s", err, ip)
	}
	validIPOrder(t, w, stranger, ip)
	if err := stranger.RevokeCert(ctx, nil, leaf.Raw, xacme.CRLReasonUnspecified); err != nil {
		t.Fatalf("revocation by an account holding the address's authorization: %v", err)
	}
	w.acmeSvc.Wait()
}

// TestIPv6AddressFlow: an IPv6 address (::1) is validated over http-01 at
// http://[::1]/ and certified as a 16-byte iPAddress.
func TestIPv6AddressFlow(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("no IPv6 loopback (::1), which the test machine has: %v", err)
	}
	w := setupStack(t, ordertest.Options{Names: ident.Policy{IPs: ident.Targets{Loopback: true}}, HTTPPort: ln.Addr().(*net.TCPAddr).Port}, nil)
	var mu sync.Mutex
	answers := map[string]string{}
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ka, ok := answers[r.URL.Path]
		mu.Unlock()
		if !ok || r.Host != "[::1]" {
			http.NotFound(rw, r)
			return
		}
		_, _ = io.WriteString(rw, ka)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c := w.client(t)
	ctx := context.Background()
	o, err := c.AuthorizeOrder(ctx, []xacme.AuthzID{{Type: "ip", Value: "::1"}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := c.GetAuthorization(ctx, o.AuthzURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range z.Challenges {
		if ch.Type == "http-01" {
			ka, _ := c.HTTP01ChallengeResponse(ch.Token)
			mu.Lock()
			answers[c.HTTP01ChallengePath(ch.Token)] = ka
			mu.Unlock()
			if _, err := c.Accept(ctx, ch); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := c.WaitAuthorization(ctx, o.AuthzURLs[0]); err != nil {
		t.Fatalf("authorization of ::1: %v", err)
	}
	leaf, _ := finalizeWith(t, c, o, &x509.CertificateRequest{IPAddresses: []net.IP{net.IPv6loopback}})
	if got := ca.LeafIPs(leaf); len(got) != 1 || got[0] != netip.IPv6Loopback() {
		t.Fatalf("leaf addresses %v, want [::1] in 16 bytes", got)
	}
}
