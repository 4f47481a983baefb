package acme_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	xacme "golang.org/x/crypto/acme"

	"github.com/dcvhq/dcv/internal/acme"
	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
)

// world is one hermetic ACME setup: a real server on httptest, a DNS
// server and a web server on loopback, a TLS-ALPN listener.
type world struct {
	srv     *httptest.Server
	st      store.Store
	ca      *ca.CA
	acmeSvc *order.ACME
	orders  *order.Service
	dns     *testenv.DNSServer
	web     *testenv.WebServer
	alpnLn  net.Listener
	alpn    *alpnResponder
	// admin is the admin account's REST API key.
	admin string
	// handler is the ACME handler the server mounts, for benchmarks that
	// call it without the network.
	handler *acme.Handler
	// skew moves the handler's clock (nanoseconds ahead of the wall
	// clock), for what it alone decides by the time.
	skew atomic.Int64
}

// quietLogger drops the logs of the handlers, which report the refusals
// the tests provoke.
var quietLogger = slog.New(slog.DiscardHandler)

// alpnResponder answers acme-tls/1 with the certificate set for an SNI name.
type alpnResponder struct {
	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

func (a *alpnResponder) set(name string, c tls.Certificate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.certs[name] = &c
}

func setup(t testing.TB) *world {
	t.Helper()
	return setupWith(t, nil)
}

// setupWith is setup with the ACME configuration changed by opt (when not
// nil). The REST API (EAB keys, CRL) is served beside ACME, and admin is
// the admin account's API key.
func setupWith(t testing.TB, opt func(*order.ACMEConfig)) *world {
	t.Helper()
	return setupStack(t, ordertest.Options{}, opt)
}

// setupStack is setupWith over a stack with more options (the wall clock
// and the tls-alpn-01 responder are always set).
func setupStack(t testing.TB, o ordertest.Options, opt func(*order.ACMEConfig)) *world {
	t.Helper()
	return setupFront(t, o, opt, nil)
}

// setupFront is setupStack with the server's handler wrapped by front
// (when not nil), as dcv serve wraps it (a trusted-proxies resolver).
func setupFront(t testing.TB, o ordertest.Options, opt func(*order.ACMEConfig), front func(http.Handler) http.Handler) *world {
	t.Helper()
	ctx := context.Background()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	alpn := &alpnResponder{certs: map[string]*tls.Certificate{}}
	go serveALPN(ln, alpn)
	t.Cleanup(func() { ln.Close() })
	o.WallClock = true
	o.TLSALPN = validation.TLSALPNConfig{Port: ln.Addr().(*net.TCPAddr).Port, AllowLoopback: true, Timeout: 3 * time.Second}
	s := ordertest.New(t, o)
	w := &world{st: s.Store, ca: s.CA, dns: s.DNS, web: s.Web, alpnLn: ln, alpn: alpn, orders: s.Service}
	var h http.Handler
	apiHandler := api.New(api.Config{Orders: w.orders, CA: w.ca, Logger: quietLogger})
	var root http.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/acme/") {
			h.ServeHTTP(rw, r)
			return
		}
		apiHandler.ServeHTTP(rw, r)
	})
	if front != nil {
		root = front(root)
	}
	w.srv = httptest.NewServer(root)
	t.Cleanup(w.srv.Close)
	admin, err := w.orders.EnsureAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.admin = admin.APIKey
	acfg := order.ACMEConfig{
		AccountURL:       func(id string) string { return acme.AccountURL(w.srv.URL, id) },
		ValidationBudget: 5 * time.Second,
	}
	if opt != nil {
		opt(&acfg)
	}
	w.acmeSvc, err = order.NewACME(w.orders, acfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.acmeSvc.Wait)
	w.handler, err = acme.New(acme.Config{ACME: w.acmeSvc, BaseURL: w.srv.URL, CAAIdentities: []string{ordertest.CAAIdentity}, AlternateChainPEM: altChainOf(w.ca), IssuerDER: w.ca.IntermediateDER(), Logger: quietLogger,
		Now: func() time.Time { return time.Now().Add(time.Duration(w.skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	h = w.handler
	return w
}

func serveALPN(ln net.Listener, a *alpnResponder) {
	cfg := &tls.Config{
		NextProtos: []string{validation.ALPNProtocol},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if c, ok := a.certs[hello.ServerName]; ok {
				return c, nil
			}
			return nil, errors.New("no certificate")
		},
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			tc := tls.Server(c, cfg)
			_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
			_ = tc.Handshake()
		}()
	}
}

func (w *world) client(t testing.TB) *xacme.Client {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := &xacme.Client{Key: k, DirectoryURL: w.srv.URL + "/acme/directory", HTTPClient: w.srv.Client()}
	if _, err := c.Register(context.Background(), &xacme.Account{Contact: []string{"mailto:ops@applicant.com"}}, xacme.AcceptTOS); err != nil {
		t.Fatal(err)
	}
	return c
}

// solve publishes the answer to the chosen challenge of every
// authorization of o and accepts it.
func (w *world) solve(t testing.TB, c *xacme.Client, o *xacme.Order, typ string) {
	t.Helper()
	ctx := context.Background()
	for _, u := range o.AuthzURLs {
		z, err := c.GetAuthorization(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var ch *xacme.Challenge
		for _, cc := range z.Challenges {
			if cc.Type == typ {
				ch = cc
			}
		}
		if ch == nil {
			t.Fatalf("no %s challenge for %s", typ, z.Identifier.Value)
		}
		name := z.Identifier.Value
		switch typ {
		case "http-01":
			ka, _ := c.HTTP01ChallengeResponse(ch.Token)
			w.dns.Add(name + ". 60 IN A " + w.web.IP.String())
			w.web.SetFile(name, c.HTTP01ChallengePath(ch.Token), 200, ka)
		case "dns-01":
			rec, _ := c.DNS01ChallengeRecord(ch.Token)
			w.dns.Add(`_acme-challenge.` + name + `. 60 IN TXT "` + rec + `"`)
		case "tls-alpn-01":
			cert, err := c.TLSALPN01ChallengeCert(ch.Token, name)
			if err != nil {
				t.Fatal(err)
			}
			w.alpn.set(name, cert)
			w.dns.Add(name + ". 60 IN A " + w.alpnLn.Addr().(*net.TCPAddr).IP.String())
		}
		if _, err := c.Accept(ctx, ch); err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitAuthorization(ctx, u); err != nil {
			t.Fatalf("authorization of %s: %v", name, err)
		}
	}
}

func csrFor(t testing.TB, names ...string) ([]byte, crypto.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{}, DNSNames: names}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der, k
}

// issue runs a whole flow and returns the leaf.
func (w *world) issue(t testing.TB, c *xacme.Client, typ string, opts []xacme.OrderOption, names ...string) (*x509.Certificate, crypto.Signer, string) {
	t.Helper()
	ctx := context.Background()
	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs(names...), opts...)
	if err != nil {
		t.Fatal(err)
	}
	w.solve(t, c, o, typ)
	csr, key := csrFor(t, names...)
	ders, certURL, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(ders[0])
	if err != nil {
		t.Fatal(err)
	}
	inter, err := x509.ParseCertificate(ders[1])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(inter)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: w.ca.Roots(), Intermediates: pool, DNSName: strings.TrimPrefix(names[0], "*.")}); err != nil && !strings.HasPrefix(names[0], "*.") {
		t.Fatalf("certificate does not verify: %v", err)
	}
	return leaf, key, certURL
}

func TestFlowHTTP01RevokeCRLAndARI(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	start := time.Now()
	leaf, certKey, certURL := w.issue(t, c, "http-01", nil, "a.applicant.com", "b.applicant.com")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("two-name http-01 flow took %v; it must not wait on polls", d)
	}
	if got := strings.Join(leaf.DNSNames, ","); got != "a.applicant.com,b.applicant.com" {
		t.Fatalf("names = %s", got)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore) + time.Second; life != 90*24*time.Hour {
		t.Fatalf("default profile validity = %v", life)
	}

	// Alternate chain: Link rel="alternate", the alternate URL serves the
	// leaf with it, and links the default chain back.
	resp := w.postAsGet(t, c, certURL)
	altURL := certURL + "/1"
	if links := resp.Header.Values("Link"); !slices.Contains(links, "<"+altURL+`>;rel="alternate"`) {
		t.Errorf("certificate answer has no alternate link to %s: %v", altURL, links)
	}
	resp.Body.Close()
	resp = w.postAsGet(t, c, altURL)
	altChain, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if first, rest := pem.Decode(altChain); first == nil || !bytes.Equal(first.Bytes, leaf.Raw) || string(rest) != altChainOf(w.ca) {
		t.Errorf("alternate chain is not the leaf then the configured chain:\n%s", altChain)
	}
	if links := resp.Header.Values("Link"); !slices.Contains(links, "<"+certURL+`>;rel="alternate"`) {
		t.Errorf("alternate chain does not link the default one %s back: %v", certURL, links)
	}

	// Once the alternate chain has expired, it is no longer offered: its
	// link goes, and its URL says why.
	w.skew.Store(int64(time.Until(w.ca.Intermediate().NotAfter) + time.Hour))
	resp = w.postAsGet(t, c, certURL)
	resp.Body.Close()
	if links := resp.Header.Values("Link"); resp.StatusCode != http.StatusOK || slices.ContainsFunc(links, func(l string) bool { return strings.Contains(l, "alternate") }) {
		t.Errorf("certificate answer once the alternate chain expired: %d, links %v; want 200 without the alternate link", resp.StatusCode, links)
	}
	resp = w.postAsGetAny(t, c, altURL)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "expired or not yet valid") {
		t.Errorf("alternate chain once expired: %d %s; want 404 saying why", resp.StatusCode, b)
	}
	w.skew.Store(0)

	// ARI: around the time a third of the validity is left.
	certID := base64.RawURLEncoding.EncodeToString(leaf.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(leaf.SerialNumber.Bytes())
	ri, err := http.Get(w.srv.URL + "/acme/renewal-info/" + certID)
	if err != nil {
		t.Fatal(err)
	}
	var win struct {
		SuggestedWindow struct{ Start, End time.Time } `json:"suggestedWindow"`
	}
	if err := json.NewDecoder(ri.Body).Decode(&win); err != nil {
		t.Fatal(err)
	}
	ri.Body.Close()
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	if want := leaf.NotAfter.Add(-life/3 - 24*time.Hour); win.SuggestedWindow.Start.Sub(want).Abs() > time.Second || win.SuggestedWindow.End.Sub(want.Add(48*time.Hour)).Abs() > time.Second || ri.Header.Get("Retry-After") != "21600" {
		t.Fatalf("renewal window %v (want start %v), Retry-After %q", win.SuggestedWindow, want, ri.Header.Get("Retry-After"))
	}

	// The serial with a superfluous leading zero is not the certificate's
	// identifier (RFC 9773 §4.1: the DER INTEGER's bytes): malformed.
	padded := base64.RawURLEncoding.EncodeToString(leaf.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(append([]byte{0}, leaf.SerialNumber.Bytes()...))
	if ri, err := http.Get(w.srv.URL + "/acme/renewal-info/" + padded); err != nil || ri.StatusCode != http.StatusBadRequest {
		t.Fatalf("renewalInfo of a zero-padded serial: %v, %v; want 400", ri.Status, err)
	} else {
		ri.Body.Close()
	}

	// replaces: the renewal order names the certificate; a second is refused.
	acct, err := c.GetReg(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	renew := `{"identifiers":[{"type":"dns","value":"a.applicant.com"}],"replaces":"` + certID + `"}`
	if st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: acct.URI, nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: renew}); st != http.StatusCreated || m["replaces"] != certID {
		t.Fatalf("order replacing the certificate: %d %v", st, m)
	}
	if st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: acct.URI, nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: renew}); st != http.StatusConflict || m["type"] != "urn:ietf:params:acme:error:alreadyReplaced" {
		t.Fatalf("second replacement: %d %v", st, m)
	}

	// Revocation by the certificate key, with a reason the BRs forbid first.
	err = c.RevokeCert(ctx, certKey, leaf.Raw, xacme.CRLReasonAACompromise)
	assertProblem(t, err, "badRevocationReason", http.StatusBadRequest)
	if err := c.RevokeCert(ctx, certKey, leaf.Raw, xacme.CRLReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	// x/crypto/acme hides alreadyRevoked; ask by hand.
	again := `{"certificate":"` + base64.RawURLEncoding.EncodeToString(leaf.Raw) + `","reason":1}`
	if st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: acct.URI, nonce: w.nonce(t), url: w.srv.URL + "/acme/revoke-cert", payload: again}); st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:alreadyRevoked" {
		t.Fatalf("second revocation: %d %v", st, m)
	}
	entries, err := w.orders.RevokedList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 || entries[0].ReasonCode != 1 {
		t.Fatalf("revoked list = %+v", entries)
	}
	// A second certificate, revoked by the account key.
	leaf2, _, _ := w.issue(t, c, "http-01", nil, "b.applicant.com")
	if err := c.RevokeCert(ctx, nil, leaf2.Raw, xacme.CRLReasonSuperseded); err != nil {
		t.Fatal(err)
	}
	if entries, _ = w.orders.RevokedList(ctx); len(entries) != 2 {
		t.Fatalf("revoked list has %d entries, want 2", len(entries))
	}
}

func TestFlowDNS01WildcardAndProfile(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	leaf, _, _ := w.issue(t, c, "dns-01", []xacme.OrderOption{xacme.WithOrderIssuanceProfile("shortlived")}, "*.applicant.com", "applicant.com")
	if got := strings.Join(leaf.DNSNames, ","); got != "*.applicant.com,applicant.com" {
		t.Fatalf("names = %s", got)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore) + time.Second; life != 7*24*time.Hour {
		t.Fatalf("shortlived validity = %v", life)
	}
	// A wildcard is offered dns-01 only.
	o, err := c.AuthorizeOrder(context.Background(), xacme.DomainIDs("*.shop.applicant.com"))
	if err != nil {
		t.Fatal(err)
	}
	z, err := c.GetAuthorization(context.Background(), o.AuthzURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(z.Challenges) != 1 || z.Challenges[0].Type != "dns-01" || !z.Wildcard {
		t.Fatalf("wildcard authorization: %+v", z.Challenges)
	}
	// A challenge it does not offer is not found.
	missing := strings.Replace(z.Challenges[0].URI, "/dns-01", "/http-01", 1)
	var ae *xacme.Error
	if _, err := c.Accept(context.Background(), &xacme.Challenge{URI: missing}); !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
		t.Fatalf("accepting %s: %v, want 404", missing, err)
	}
	// An unknown profile is refused.
	_, err = c.AuthorizeOrder(context.Background(), xacme.DomainIDs("x.applicant.com"), xacme.WithOrderIssuanceProfile("forever"))
	if err == nil {
		t.Fatal("unknown profile accepted")
	}
}

// TestUnknownRequests checks the answers to requests no resource takes:
// 405 with Allow for a resource's path under another method, 404 for a
// path that is no resource, each a problem document.
func TestUnknownRequests(t *testing.T) {
	t.Parallel()
	w := setup(t)
	tests := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"GET of a POST resource", http.MethodGet, "/acme/new-order", http.StatusMethodNotAllowed, "POST"},
		{"GET of an order", http.MethodGet, "/acme/order/ord_x", http.StatusMethodNotAllowed, "POST"},
		{"PUT to the directory", http.MethodPut, "/acme/directory", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"PUT of new-nonce", http.MethodPut, "/acme/new-nonce", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"no such resource", http.MethodGet, "/acme/new-thing", http.StatusNotFound, ""},
		{"no such resource by POST", http.MethodPost, "/acme/new-thing", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, w.srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatalf("not a problem document: %v", err)
			}
			if !slices.Contains(resp.Header.Values("Link"), "<"+w.srv.URL+`/acme/directory>;rel="index"`) {
				t.Errorf("problem answer without the index link: %q", resp.Header.Values("Link"))
			}
			if resp.StatusCode != tt.status || p.Status != tt.status || resp.Header.Get("Allow") != tt.allow ||
				resp.Header.Get("Content-Type") != "application/problem+json" || p.Type != "urn:ietf:params:acme:error:malformed" {
				t.Errorf("%s %s: %d (problem %s %d), Allow %q, Content-Type %q; want %d, Allow %q",
					tt.method, tt.path, resp.StatusCode, p.Type, p.Status, resp.Header.Get("Allow"), resp.Header.Get("Content-Type"), tt.status, tt.allow)
			}
		})
	}
}

func TestFlowTLSALPN01(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	leaf, _, _ := w.issue(t, c, "tls-alpn-01", nil, "t.applicant.com")
	if leaf.DNSNames[0] != "t.applicant.com" {
		t.Fatalf("names = %v", leaf.DNSNames)
	}
}

func TestFailedChallengeDetailIsDiagnosis(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	w.dns.Add("missing.applicant.com. 60 IN A " + w.web.IP.String())
	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("missing.applicant.com"))
	if err != nil {
		t.Fatal(err)
	}
	z, err := c.GetAuthorization(ctx, o.AuthzURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	var ch *xacme.Challenge
	for _, cc := range z.Challenges {
		if cc.Type == "http-01" {
			ch = cc
		}
	}
	got, err := c.Accept(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("The server at %s answered 404 Not Found for http://missing.applicant.com/.well-known/acme-challenge/%s. Fix: ", w.web.IP, ch.Token)
	var ae *xacme.Error
	if got.Status != "invalid" || !errors.As(got.Error, &ae) || !strings.HasPrefix(ae.Detail, want) || !strings.Contains(ae.Detail, "acme-challenge") || ae.ProblemType != "urn:ietf:params:acme:error:unauthorized" {
		t.Fatalf("challenge: status %s, error %#v; want detail %q", got.Status, got.Error, want)
	}
	// The finding code and fix travel as extension members.
	resp := w.postAsGet(t, c, ch.URI)
	var raw struct {
		Error map[string]any `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if raw.Error["dcvCode"] != "FILE_NOT_FOUND" || !strings.Contains(fmt.Sprint(raw.Error["dcvFix"]), "acme-challenge") {
		t.Fatalf("extension members: %v", raw.Error)
	}
	// The HTTP status member, which clients print (lego: "acme: error:
	// 403 :: urn:ietf:params:acme:error:unauthorized :: ..."), is there.
	if raw.Error["status"] != float64(http.StatusForbidden) {
		t.Fatalf("challenge error status member %v, want %d", raw.Error["status"], http.StatusForbidden)
	}
	// The order's error is the same problem document, status included
	// (interop run: lacme prints "status (detail)" from the order's).
	resp = w.postAsGet(t, c, o.URI)
	var ord struct {
		Status string         `json:"status"`
		Error  map[string]any `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ord); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "detail", "status", "dcvCode", "dcvFix"} {
		if ord.Status != "invalid" || fmt.Sprint(ord.Error[k]) != fmt.Sprint(raw.Error[k]) {
			t.Errorf("order %s, error member %q = %v; want invalid, the challenge's %v", ord.Status, k, ord.Error[k], raw.Error[k])
		}
	}
}

func TestKeyChange(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	c := w.client(t)
	other := w.client(t)
	// To a key already in use: 409, nothing changed.
	err := c.AccountKeyRollover(ctx, other.Key)
	assertProblem(t, err, "malformed", http.StatusConflict)
	if _, err := c.GetReg(ctx, ""); err != nil {
		t.Fatalf("old key no longer works after a refused rollover: %v", err)
	}
	k2, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err := c.AccountKeyRollover(ctx, k2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetReg(ctx, ""); err != nil {
		t.Fatalf("new key: %v", err)
	}
}

// TestOldKeyAfterKeyChange: a request signed with the key an account had
// before a key change is told the key was changed, not to switch its
// algorithm, whether the new key is on another curve or the same one.
func TestOldKeyAfterKeyChange(t *testing.T) {
	t.Parallel()
	w := setup(t)
	tests := []struct {
		name  string
		curve elliptic.Curve
	}{
		{"another curve", elliptic.P384()},
		{"the same curve", elliptic.P256()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := w.client(t)
			acct, err := c.GetReg(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			oldKey := c.Key
			k2, _ := ecdsa.GenerateKey(tt.curve, rand.Reader)
			if err := c.AccountKeyRollover(ctx, k2); err != nil {
				t.Fatal(err)
			}
			st, m := w.post(t, raw{alg: jose.ES256, key: oldKey, kid: acct.URI, nonce: w.nonce(t), url: acct.URI, payload: `{}`})
			detail := fmt.Sprint(m["detail"])
			if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:malformed" ||
				!strings.Contains(detail, "not signed by the current key of the account "+acct.URI) || !strings.Contains(detail, "key was changed") {
				t.Fatalf("old key after a key change: %d %v", st, m)
			}
		})
	}
}

// TestNotAccountKeySaysWhy: a "kid" request that the account's key did not
// sign is told the account key's type and algorithm and what failed, the
// algorithm or the signature, and not only of key changes (black-box run:
// a corrupt signature sent a client looking for a key change).
func TestNotAccountKeySaysWhy(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	acct, err := c.GetReg(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name string
		r    raw
		why  string
		or   string
	}{
		{"an algorithm that does not fit the key", raw{alg: jose.ES384, key: p384}, `its algorithm "ES384" does not fit that key`, "named the wrong algorithm"},
		{"a signature that does not verify", raw{alg: jose.ES256, key: other}, "its signature does not verify with that key", "computed the signature wrongly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.kid, r.nonce, r.url, r.payload = acct.URI, w.nonce(t), acct.URI, `{}`
			st, m := w.post(t, r)
			detail := fmt.Sprint(m["detail"])
			for _, want := range []string{"(ECDSA P-256, which signs with ES256)", tt.why, tt.or, "keyChange"} {
				if !strings.Contains(detail, want) {
					t.Errorf("detail %q lacks %q", detail, want)
				}
			}
			if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:malformed" {
				t.Errorf("%d %v; want 400 malformed", st, m["type"])
			}
		})
	}
}

func TestFinalizeRace(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("race.applicant.com"))
	if err != nil {
		t.Fatal(err)
	}
	w.solve(t, c, o, "dns-01")
	csr, _ := csrFor(t, "race.applicant.com")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range 4 {
		wg.Go(func() {
			_, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, false)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assertProblem(t, err, "orderNotReady", http.StatusForbidden)
			// The losers are told the order is being or was finalized,
			// not to validate authorizations that are valid.
			if d := err.Error(); strings.Contains(d, "every authorization must be valid") || !strings.Contains(d, "finalized") {
				t.Errorf("a losing finalize's detail: %q", d)
			}
		}
	}
	if ok != 1 {
		t.Fatalf("%d finalizations succeeded, want exactly 1: %v", ok, errs)
	}
	ord, err := w.st.ACMEOrderGet(ctx, strings.TrimPrefix(o.URI, w.srv.URL+"/acme/order/"))
	if err != nil || ord.CertificateSerial == "" {
		t.Fatalf("order after the race: %+v, %v", ord, err)
	}
}

func assertProblem(t *testing.T, err error, typ string, status int) {
	t.Helper()
	var ae *xacme.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an ACME problem (want %s)", err, typ)
	}
	if ae.ProblemType != "urn:ietf:params:acme:error:"+typ || ae.StatusCode != status {
		t.Fatalf("problem %s (%d) %q; want %s (%d)", ae.ProblemType, ae.StatusCode, ae.Detail, typ, status)
	}
}

// raw signs and posts a JWS built by hand, for the protocol negatives.
type raw struct {
	alg     jose.SignatureAlgorithm
	key     any // signing key
	kid     string
	jwk     bool
	nonce   string
	url     string
	payload string
	noneAlg bool
	// to is where the request goes; if empty, url.
	to string
}

func (w *world) nonce(t *testing.T) string {
	t.Helper()
	resp, err := http.Head(w.srv.URL + "/acme/new-nonce")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Replay-Nonce")
}

func (w *world) post(t *testing.T, r raw) (int, map[string]any) {
	t.Helper()
	st, _, m := w.send(t, r)
	return st, m
}

// send is post that also returns the answer's header.
func (w *world) send(t *testing.T, r raw) (int, http.Header, map[string]any) {
	t.Helper()
	var body string
	if r.noneAlg {
		hdr, _ := json.Marshal(map[string]string{"alg": "none", "nonce": r.nonce, "url": r.url, "kid": r.kid})
		body = fmt.Sprintf(`{"protected":%q,"payload":%q,"signature":""}`,
			base64.RawURLEncoding.EncodeToString(hdr), base64.RawURLEncoding.EncodeToString([]byte(r.payload)))
	} else {
		opts := &jose.SignerOptions{EmbedJWK: r.jwk}
		opts.WithHeader("nonce", r.nonce).WithHeader("url", r.url)
		if r.kid != "" {
			opts.WithHeader("kid", r.kid)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: r.alg, Key: r.key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := s.Sign([]byte(r.payload))
		if err != nil {
			t.Fatal(err)
		}
		body = jws.FullSerialize()
	}
	to := r.url
	if r.to != "" {
		to = r.to
	}
	req, _ := http.NewRequest(http.MethodPost, to, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/jose+json")
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if resp.StatusCode >= 400 && resp.Header.Get("Replay-Nonce") == "" {
		t.Errorf("error answer without Replay-Nonce")
	}
	return resp.StatusCode, resp.Header, m
}

func (w *world) postAsGet(t *testing.T, c *xacme.Client, url string) *http.Response {
	t.Helper()
	resp := w.postAsGetAny(t, c, url)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST-as-GET %s: %d %s", url, resp.StatusCode, b)
	}
	return resp
}

// postAsGetAny is postAsGet whatever the answer's status.
func (w *world) postAsGetAny(t *testing.T, c *xacme.Client, url string) *http.Response {
	t.Helper()
	kid := c.KID
	opts := &jose.SignerOptions{}
	opts.WithHeader("nonce", w.nonce(t)).WithHeader("url", url).WithHeader("kid", string(kid))
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: c.Key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, _ := s.Sign(nil)
	// go-jose omits an empty payload; ACME wants "payload": "".
	var m map[string]any
	_ = json.Unmarshal([]byte(jws.FullSerialize()), &m)
	m["payload"] = ""
	b, _ := json.Marshal(m)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/jose+json")
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestProtocolNegatives(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	acct, err := c.GetReg(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	kid := acct.URI
	newOrder := w.srv.URL + "/acme/new-order"
	payload := `{"identifiers":[{"type":"dns","value":"neg.applicant.com"}]}`
	used := w.nonce(t)
	if st, _ := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: kid, nonce: used, url: newOrder, payload: payload}); st != http.StatusCreated {
		t.Fatalf("baseline new order: %d", st)
	}
	hmacKey := make([]byte, 32)
	tests := []struct {
		name   string
		req    raw
		typ    string
		status int
		subs   []string // the subproblems' "type identifier", in request order
	}{
		{"bad nonce", raw{alg: jose.ES256, key: c.Key, kid: kid, nonce: "bm90LWEtbm9uY2U", url: newOrder, payload: payload}, "badNonce", 400, nil},
		{"replayed nonce", raw{alg: jose.ES256, key: c.Key, kid: kid, nonce: used, url: newOrder, payload: payload}, "badNonce", 400, nil},
		{"wrong url", raw{alg: jose.ES256, key: c.Key, kid: kid, url: w.srv.URL + "/acme/new-account", to: newOrder, payload: payload}, "unauthorized", 403, nil},
		{"unknown kid", raw{alg: jose.ES256, key: c.Key, kid: w.srv.URL + "/acme/acct/acme_nosuch", url: newOrder, payload: payload}, "accountDoesNotExist", 400, nil},
		{"HS256 outside EAB", raw{alg: jose.HS256, key: hmacKey, kid: kid, url: newOrder, payload: payload}, "badSignatureAlgorithm", 400, nil},
		{"alg none", raw{noneAlg: true, kid: kid, url: newOrder, payload: payload}, "badSignatureAlgorithm", 400, nil},
		{"jwk where kid is required", raw{alg: jose.ES256, key: c.Key, jwk: true, url: newOrder, payload: payload}, "malformed", 400, nil},
		{"kid where jwk is required", raw{alg: jose.ES256, key: c.Key, kid: kid, url: w.srv.URL + "/acme/new-account", payload: `{}`}, "malformed", 400, nil},
		{"notAfter", raw{alg: jose.ES256, key: c.Key, kid: kid, url: newOrder, payload: `{"identifiers":[{"type":"dns","value":"x.applicant.com"}],"notAfter":"2030-01-01T00:00:00Z"}`}, "malformed", 400, nil},
		{"rejected identifiers", raw{alg: jose.ES256, key: c.Key, kid: kid, url: newOrder, payload: `{"identifiers":[{"type":"dns","value":"COM."},{"type":"dns","value":"a..b.com"}]}`}, "rejectedIdentifier", 400,
			[]string{"rejectedIdentifier dns:COM.", "rejectedIdentifier dns:a..b.com"}},
		{"unsupported identifier", raw{alg: jose.ES256, key: c.Key, kid: kid, url: newOrder, payload: `{"identifiers":[{"type":"email","value":"a@applicant.com"}]}`}, "unsupportedIdentifier", 400, nil},
		{"reserved ip identifier", raw{alg: jose.ES256, key: c.Key, kid: kid, url: newOrder, payload: `{"identifiers":[{"type":"ip","value":"192.0.2.1"}]}`}, "rejectedIdentifier", 400, nil},
		{"ip identifier not canonical", raw{alg: jose.ES256, key: c.Key, kid: kid, url: newOrder, payload: `{"identifiers":[{"type":"ip","value":"2001:DB8::1"}]}`}, "rejectedIdentifier", 400, nil},
		// The order's identifiers are the request's: one with a final dot
		// would be rewritten, and not be the client's any more.
		{"public suffix", raw{alg: jose.ES256, key: c.Key, kid: kid, url: newOrder, payload: `{"identifiers":[{"type":"dns","value":"com"}]}`}, "rejectedIdentifier", 400, nil},
		{"identifier with a final dot", raw{alg: jose.ES256, key: c.Key, kid: kid, url: newOrder, payload: `{"identifiers":[{"type":"dns","value":"dot.applicant.com."},{"type":"dns","value":"ok.applicant.com"}]}`}, "rejectedIdentifier", 400, nil},
		// Every refused identifier is named, whatever the reason.
		{"unsupported and rejected identifiers", raw{alg: jose.ES256, key: c.Key, kid: kid, url: newOrder, payload: `{"identifiers":[{"type":"dns","value":"ok.applicant.com"},{"type":"dns","value":"Bad..Name.applicant.com"},{"type":"foo","value":"x"}]}`}, "malformed", 400,
			[]string{"rejectedIdentifier dns:Bad..Name.applicant.com", "unsupportedIdentifier foo:x"}},
		// Each subproblem names the identifier with the type the client
		// sent, in the request's order (review: an address sent as "dns"
		// was named "ip" and sorted last).
		{"subproblems keep the types sent", raw{alg: jose.ES256, key: c.Key, kid: kid, url: newOrder, payload: `{"identifiers":[{"type":"dns","value":"8.8.8.8"},{"type":"ip","value":"127.0.0.1"},{"type":"dns","value":"127.1"}]}`}, "rejectedIdentifier", 400,
			[]string{"rejectedIdentifier dns:8.8.8.8", "rejectedIdentifier ip:127.0.0.1", "rejectedIdentifier dns:127.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := w.st.OrderListByAccount(ctx, strings.TrimPrefix(kid, w.srv.URL+"/acme/acct/"), "", 100)
			if tt.req.nonce == "" {
				tt.req.nonce = w.nonce(t)
			}
			st, m := w.post(t, tt.req)
			if st != tt.status || m["type"] != "urn:ietf:params:acme:error:"+tt.typ {
				t.Fatalf("got %d %v; want %d %s", st, m, tt.status, tt.typ)
			}
			var subs []string
			sps, _ := m["subproblems"].([]any)
			for _, sp := range sps {
				sp := sp.(map[string]any)
				id, _ := sp["identifier"].(map[string]any)
				subs = append(subs, strings.TrimPrefix(fmt.Sprint(sp["type"]), "urn:ietf:params:acme:error:")+" "+fmt.Sprint(id["type"])+":"+fmt.Sprint(id["value"]))
			}
			if !slices.Equal(subs, tt.subs) {
				t.Fatalf("subproblems %q, want %q", subs, tt.subs)
			}
			// The reasons are repeated in the detail, which some
			// clients show alone (interop run).
			for _, sp := range sps {
				if d := fmt.Sprint(sp.(map[string]any)["detail"]); !strings.Contains(fmt.Sprint(m["detail"]), strings.TrimSuffix(d, ".")) {
					t.Errorf("detail %q does not repeat the subproblem's %q", m["detail"], d)
				}
			}
			after, _ := w.st.OrderListByAccount(ctx, strings.TrimPrefix(kid, w.srv.URL+"/acme/acct/"), "", 100)
			if len(after) != len(before) {
				t.Fatalf("the refused request stored an order")
			}
		})
	}

	// An account URL of this server under another base URL (the
	// operator changed --public-url; interop run): refused, saying the
	// account exists, its URL now, and how to go on. An unknown account
	// under another base is refused plainly.
	oldKID := "http://old.example.net:8080/acme/acct/" + strings.TrimPrefix(kid, w.srv.URL+"/acme/acct/")
	for _, tt := range []struct {
		kid  string
		want []string
	}{
		{oldKID, []string{"names an account of this server under another URL", "that account's URL is now " + kid, "onlyReturnExisting"}},
		{"http://old.example.net:8080/acme/acct/acme_nosuch", []string{"is not an account URL of this server"}},
	} {
		st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: tt.kid, nonce: w.nonce(t), url: newOrder, payload: payload})
		for _, want := range tt.want {
			if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:accountDoesNotExist" || !strings.Contains(fmt.Sprint(m["detail"]), want) {
				t.Errorf("kid %s: %d %v; want accountDoesNotExist saying %q", tt.kid, st, m, want)
			}
		}
	}

	// A payload that is not a JSON object is refused in JSON's words.
	st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: kid, nonce: w.nonce(t), url: newOrder, payload: `[]`})
	if st != http.StatusBadRequest || m["detail"] != "the JWS payload must be a JSON object, not a JSON array" {
		t.Fatalf("newOrder with an array payload: %d %v", st, m)
	}
	st, m = w.post(t, raw{alg: jose.ES256, key: c.Key, kid: kid, nonce: w.nonce(t), url: newOrder, payload: `{"identifiers":"x.applicant.com"}`})
	if st != http.StatusBadRequest || m["detail"] != `field "identifiers" must be a JSON array, not a JSON string` {
		t.Fatalf("newOrder with a string for identifiers: %d %v", st, m)
	}

	// Finalize before authorization: orderNotReady.
	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("early.applicant.com"))
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := csrFor(t, "early.applicant.com")
	_, _, err = c.CreateOrderCert(ctx, o.FinalizeURL, csr, false)
	assertProblem(t, err, "orderNotReady", http.StatusForbidden)

	// A CSR with an extra name: badCSR, and the order stays ready.
	w.solve(t, c, o, "dns-01")
	csr, _ = csrFor(t, "early.applicant.com", "extra.applicant.com")
	_, _, err = c.CreateOrderCert(ctx, o.FinalizeURL, csr, false)
	assertProblem(t, err, "badCSR", http.StatusBadRequest)
	if got, err := c.GetOrder(ctx, o.URI); err != nil || got.Status != "ready" {
		t.Fatalf("order after a refused CSR: %+v %v", got, err)
	}
	// The account key as the certificate key: badCSR.
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"early.applicant.com"}}, c.Key)
	_, _, err = c.CreateOrderCert(ctx, o.FinalizeURL, der, false)
	assertProblem(t, err, "badCSR", http.StatusBadRequest)
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	w := setup(t)
	d, err := (&xacme.Client{DirectoryURL: w.srv.URL + "/acme/directory", HTTPClient: w.srv.Client()}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.KeyChangeURL == "" || len(d.Profiles) != 2 || d.CAA[0] != "dcv.example.net" {
		t.Fatalf("directory: %+v", d)
	}
	resp, err := http.Get(w.srv.URL + "/acme/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown resource: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// altChainOf is the alternate chain the test server offers: the intermediate
// followed by the root, where the default chain stops at the intermediate.
func altChainOf(authority *ca.CA) string {
	return string(authority.IntermediatePEM()) + string(authority.RootPEM())
}

// reencodedSubject returns, PEM, a certificate of inter's key whose subject
// holds inter's names as UTF8Strings (inter's are PrintableStrings): the
// same name to read, other bytes.
func reencodedSubject(t *testing.T, inter *x509.Certificate) string {
	t.Helper()
	return crossCert(t, inter, utf8Subject(t, inter), nil)
}

// utf8Subject returns inter's subject with its names as UTF8Strings.
func utf8Subject(t *testing.T, inter *x509.Certificate) []byte {
	t.Helper()
	var rdns pkix.RDNSequence
	for _, n := range inter.Subject.Names {
		v, err := asn1.MarshalWithParams(fmt.Sprint(n.Value), "utf8")
		if err != nil {
			t.Fatal(err)
		}
		rdns = append(rdns, pkix.RelativeDistinguishedNameSET{{Type: n.Type, Value: asn1.RawValue{FullBytes: v}}})
	}
	raw, err := asn1.Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(raw, inter.RawSubject) {
		t.Fatal("the re-encoded subject is the same bytes")
	}
	return raw
}

// crossCert returns, PEM, a CA certificate of inter's key with the subject
// rawSubject and the subject key identifier ski (nil: crypto/x509's own),
// signed by a key of its own: a cross-certificate.
func crossCert(t *testing.T, inter *x509.Certificate, rawSubject, ski []byte) string {
	t.Helper()
	return crossCertAt(t, inter, rawSubject, ski, time.Now(), time.Now().Add(time.Hour))
}

// crossCertAt is crossCert valid from notBefore to notAfter.
func crossCertAt(t *testing.T, inter *x509.Certificate, rawSubject, ski []byte, notBefore, notAfter time.Time) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), RawSubject: rawSubject, SubjectKeyId: ski, NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, &x509.Certificate{Subject: pkix.Name{CommonName: "cross-signer"}}, inter.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestAlternateChainChecked: an alternate chain that a leaf would not
// chain to, or whose certificates do not sign one another, is refused when
// the handler is built, naming why.
func TestAlternateChainChecked(t *testing.T) {
	t.Parallel()
	w := setup(t)
	other := setup(t) // another CA hierarchy
	tests := []struct {
		name, chain, want string
	}{
		{"the intermediate and the root", altChainOf(w.ca), ""},
		{"the root alone", string(w.ca.RootPEM()), "is not of the issuer of the leaves"},
		{"another CA's intermediate", altChainOf(other.ca), "is not of the issuer of the leaves"},
		{"the intermediate, then another root", string(w.ca.IntermediatePEM()) + string(other.ca.RootPEM()), "is not signed by certificate 2"},
		{"no certificate", "not a PEM file\n", "holds no certificate"},
		{"the intermediate's name in UTF8String", reencodedSubject(t, w.ca.Intermediate()), "reads like the leaves' issuer's but is encoded differently"},
		// A cross-certificate made with OpenSSL's default
		// subjectKeyIdentifier=hash (ACME run): the leaves' authority key
		// identifier names another key identifier.
		{"a cross-certificate with another key identifier", crossCert(t, w.ca.Intermediate(), w.ca.Intermediate().RawSubject, []byte{1, 2, 3, 4}),
			fmt.Sprintf("subject key identifier (01020304) is not the leaves' issuer's (%X)", w.ca.Intermediate().SubjectKeyId)},
		{"a cross-certificate with the intermediate's key identifier", crossCert(t, w.ca.Intermediate(), w.ca.Intermediate().RawSubject, w.ca.Intermediate().SubjectKeyId), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := acme.New(acme.Config{ACME: w.acmeSvc, BaseURL: w.srv.URL, AlternateChainPEM: tt.chain, IssuerDER: w.ca.IntermediateDER(), Logger: quietLogger})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestAlternateChainExpiringWarned: dcv serve warns at start of an
// alternate chain that expires within 30 days, when it will stop being
// offered, not of one valid for longer; one expired, or not yet valid,
// is logged as an error and not offered, but does not stop the start (a
// restart after it lapsed would take the CA down; review).
func TestAlternateChainExpiringWarned(t *testing.T) {
	t.Parallel()
	w := setup(t)
	inter := w.ca.Intermediate()
	now := time.Now()
	tests := []struct {
		name                string
		notBefore, notAfter time.Time
		want                string // in the logs, or "" for nothing
	}{
		{"expires in 10 days", now.Add(-time.Hour), now.Add(10 * 24 * time.Hour), "level=WARN msg=\"the alternate chain (--acme-alt-chain) expires soon"},
		{"expires in a year", now.Add(-time.Hour), now.Add(365 * 24 * time.Hour), ""},
		// Verification run: an expired one started silently.
		{"expired", now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), "level=ERROR msg=\"the alternate chain (--acme-alt-chain) is not valid now"},
		{"not yet valid", now.Add(24 * time.Hour), now.Add(365 * 24 * time.Hour), "level=ERROR msg=\"the alternate chain (--acme-alt-chain) is not valid now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			chain := crossCertAt(t, inter, inter.RawSubject, inter.SubjectKeyId, tt.notBefore, tt.notAfter)
			_, err := acme.New(acme.Config{ACME: w.acmeSvc, BaseURL: w.srv.URL, AlternateChainPEM: chain, IssuerDER: w.ca.IntermediateDER(),
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && logs.Len() > 0 || tt.want != "" && !strings.Contains(logs.String(), tt.want) {
				t.Errorf("logs:\n%s\nwant %q", logs.String(), tt.want)
			}
		})
	}
}

// TestDefaultPortURLs: a server whose URL has its scheme's default port
// hands out URLs without it, and accepts a JWS url written either way
// (interop run: Ruby's acme-client signed https://h/… for a directory of
// https://h:443/…, and was refused).
func TestDefaultPortURLs(t *testing.T) {
	t.Parallel()
	w := setup(t)
	h, err := acme.New(acme.Config{ACME: w.acmeSvc, BaseURL: "https://acme.example.net:443/", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://acme.example.net/acme/directory", nil))
	var dir map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &dir); err != nil || dir["newAccount"] != "https://acme.example.net/acme/new-account" {
		t.Fatalf("directory %s (%v); want URLs without :443", rec.Body, err)
	}
	// sign returns a JWS of payload by key, for url, with kid (or the
	// key itself when kid is "").
	sign := func(key crypto.Signer, kid, url, payload string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "https://acme.example.net/acme/new-nonce", nil))
		opts := &jose.SignerOptions{EmbedJWK: kid == ""}
		opts.WithHeader("nonce", rec.Header().Get("Replay-Nonce")).WithHeader("url", url)
		if kid != "" {
			opts.WithHeader("kid", kid)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := s.Sign([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return jws.FullSerialize()
	}
	post := func(path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "https://acme.example.net"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/jose+json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var acctURL string
	for i, signed := range []string{"https://acme.example.net:443/acme/new-account", "https://acme.example.net/acme/new-account"} {
		rec := post("/acme/new-account", sign(key, "", signed, `{"termsOfServiceAgreed":true}`))
		want := []int{http.StatusCreated, http.StatusOK}[i] // then the same account
		acctURL = rec.Header().Get("Location")
		if rec.Code != want || !strings.HasPrefix(acctURL, "https://acme.example.net/acme/acct/") {
			t.Fatalf("newAccount signed for %s: %d %s, Location %q; want %d, an account URL without :443", signed, rec.Code, rec.Body, acctURL, want)
		}
	}
	// A kid with the port names the same account, for a request as for
	// a key change's inner account.
	oldKID := strings.Replace(acctURL, "acme.example.net", "acme.example.net:443", 1)
	if rec := post(strings.TrimPrefix(acctURL, "https://acme.example.net"), sign(key, oldKID, acctURL, ``)); rec.Code != http.StatusOK {
		t.Errorf("account read with the kid %s: %d %s; want 200", oldKID, rec.Code, rec.Body)
	}
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	oldJWK, _ := json.Marshal(jose.JSONWebKey{Key: key.Public()})
	innerOpts := &jose.SignerOptions{EmbedJWK: true}
	innerOpts.WithHeader("url", "https://acme.example.net/acme/key-change")
	innerSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: newKey}, innerOpts)
	if err != nil {
		t.Fatal(err)
	}
	innerJWS, err := innerSigner.Sign(fmt.Appendf(nil, `{"account":%q,"oldKey":%s}`, oldKID, oldJWK))
	if err != nil {
		t.Fatal(err)
	}
	inner := innerJWS.FullSerialize()
	if rec := post("/acme/key-change", sign(key, oldKID, "https://acme.example.net/acme/key-change", inner)); rec.Code != http.StatusOK {
		t.Errorf("key change naming the account %s: %d %s; want 200", oldKID, rec.Code, rec.Body)
	}
	// Another port is another URL.
	if rec := post("/acme/new-account", sign(key, "", "https://acme.example.net:8443/acme/new-account", `{"termsOfServiceAgreed":true}`)); rec.Code != http.StatusForbidden {
		t.Errorf("newAccount signed for port 8443: %d %s; want 403", rec.Code, rec.Body)
	}
}
