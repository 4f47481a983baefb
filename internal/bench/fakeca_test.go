package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/testenv"
)

// fakeCA is a small RFC 8555 server on a loopback address for the tests:
// it checks every JWS with go-jose (signature, nonce, url, kid), validates
// challenges for real against the bench's responder and DNS server, and
// issues certificates from the CSR. Its knobs script the answers that the
// bench must cope with.
type fakeCA struct {
	t   testing.TB
	srv *httptest.Server
	url string

	// Knobs, set before use.
	dnsAddr       string // the bench's DNS server, to resolve names and TXT
	responderPort string // where http-01 and tls-alpn-01 are validated
	asyncChal     bool   // the challenge answers "processing"; validation at the next authz poll
	asyncFinalize bool   // finalize answers "processing"; the order is valid at its next poll
	badNonceEvery int    // if >= 2, every n-th request of an account is refused with badNonce
	failValidate  bool   // validation always fails with a connection problem
	wrongNames    bool   // the certificate names something else

	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate

	mu       sync.Mutex
	nonces   map[string]bool
	redeemed map[string]int // kid -> nonces redeemed
	seq      int
	accounts map[string]*jose.JSONWebKey // kid -> key
	orders   map[string]*fakeOrder
	authzs   map[string]*fakeAuthz
	requests map[string]int // path prefix -> count
}

type fakeOrder struct {
	account string
	names   []string
	authzs  []string
	status  string
	polls   int
	cert    []byte // PEM chain
}

type fakeAuthz struct {
	account string
	name    string
	status  string
	token   string
	chalErr *problem
	pending bool // validation due at the next poll
}

// newFakeCA starts a fake CA, over TLS if tlsOn.
func newFakeCA(t testing.TB, tlsOn bool) *fakeCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(der)
	ca := &fakeCA{
		t: t, caKey: caKey, caCert: caCert,
		nonces:   map[string]bool{},
		redeemed: map[string]int{},
		accounts: map[string]*jose.JSONWebKey{},
		orders:   map[string]*fakeOrder{},
		authzs:   map[string]*fakeAuthz{},
		requests: map[string]int{},
	}
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	ca.srv = httptest.NewUnstartedServer(http.HandlerFunc(ca.serve))
	ca.srv.Listener.Close()
	ca.srv.Listener = ln
	if tlsOn {
		// A certificate for the listener's own loopback address, from
		// the fake CA (httptest's names 127.0.0.1 only).
		ip := ln.Addr().(*net.TCPAddr).IP
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(2),
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			IPAddresses:  []net.IP{ip},
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &caKey.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		ca.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: caKey}}}
		ca.srv.StartTLS()
	} else {
		ca.srv.Start()
	}
	t.Cleanup(ca.srv.Close)
	ca.url = ca.srv.URL
	return ca
}

func (ca *fakeCA) directoryURL() string { return ca.url + "/dir" }

// count returns how many requests went to paths starting with prefix.
func (ca *fakeCA) count(prefix string) int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.requests[prefix]
}

func (ca *fakeCA) newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	n := b64.EncodeToString(b[:])
	ca.nonces[n] = true
	return n
}

func (ca *fakeCA) problem(w http.ResponseWriter, status int, typ, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": problemPrefix + typ, "detail": detail, "status": status})
}

func (ca *fakeCA) serve(w http.ResponseWriter, r *http.Request) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	path := r.URL.Path
	prefix := path
	if i := strings.IndexByte(path[1:], '/'); i >= 0 {
		prefix = path[:i+1]
	}
	ca.requests[prefix]++
	w.Header().Set("Replay-Nonce", ca.newNonce())
	switch {
	case path == "/dir" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(map[string]string{
			"newNonce": ca.url + "/nonce", "newAccount": ca.url + "/account", "newOrder": ca.url + "/new-order",
		})
		return
	case path == "/nonce":
		w.WriteHeader(http.StatusOK)
		return
	case r.Method != http.MethodPost:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	jws, err := jose.ParseSignedJSON(string(body), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		ca.problem(w, 400, "malformed", fmt.Sprintf("JWS: %v", err))
		return
	}
	h := jws.Signatures[0].Protected
	if u, _ := h.ExtraHeaders["url"].(string); u != ca.url+path {
		ca.problem(w, 401, "unauthorized", fmt.Sprintf("url %q, request to %q", u, ca.url+path))
		return
	}
	if !ca.nonces[h.Nonce] {
		ca.problem(w, 400, "badNonce", "unknown nonce "+h.Nonce)
		return
	}
	delete(ca.nonces, h.Nonce)
	if h.KeyID != "" {
		// Every n-th request of each account (n >= 2): never twice in a
		// row, so that one retry always succeeds.
		ca.redeemed[h.KeyID]++
		if ca.badNonceEvery > 0 && ca.redeemed[h.KeyID]%ca.badNonceEvery == 0 {
			ca.problem(w, 400, "badNonce", "scripted badNonce")
			return
		}
	}
	var key *jose.JSONWebKey
	switch {
	case path == "/account":
		if h.JSONWebKey == nil || h.KeyID != "" {
			ca.problem(w, 400, "malformed", "newAccount needs jwk, not kid")
			return
		}
		key = h.JSONWebKey
	default:
		key = ca.accounts[h.KeyID]
		if key == nil || h.JSONWebKey != nil {
			ca.problem(w, 400, "accountDoesNotExist", "unknown kid "+h.KeyID)
			return
		}
	}
	payload, err := jws.Verify(key)
	if err != nil {
		ca.problem(w, 400, "malformed", "signature: "+err.Error())
		return
	}
	ca.handle(w, path, h.KeyID, key, payload)
}

func (ca *fakeCA) handle(w http.ResponseWriter, path, kid string, key *jose.JSONWebKey, payload []byte) {
	ca.seq++
	id := fmt.Sprint(ca.seq)
	switch {
	case path == "/account":
		var p struct {
			TOS bool `json:"termsOfServiceAgreed"`
		}
		if json.Unmarshal(payload, &p) != nil || !p.TOS {
			ca.problem(w, 400, "malformed", "termsOfServiceAgreed missing")
			return
		}
		kid := ca.url + "/acct/" + id
		ca.accounts[kid] = key
		w.Header().Set("Location", kid)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "valid"})
	case path == "/new-order":
		var p struct {
			Identifiers []struct{ Type, Value string } `json:"identifiers"`
		}
		if json.Unmarshal(payload, &p) != nil || len(p.Identifiers) == 0 {
			ca.problem(w, 400, "malformed", "identifiers")
			return
		}
		o := &fakeOrder{account: kid, status: statusPending}
		for k, ident := range p.Identifiers {
			if ident.Type != "dns" {
				ca.problem(w, 400, "unsupportedIdentifier", ident.Type)
				return
			}
			aid := fmt.Sprintf("%s-%d", id, k)
			ca.authzs[aid] = &fakeAuthz{account: kid, name: ident.Value, status: statusPending, token: "tok" + aid}
			o.names = append(o.names, ident.Value)
			o.authzs = append(o.authzs, aid)
		}
		ca.orders[id] = o
		w.Header().Set("Location", ca.url+"/order/"+id)
		w.WriteHeader(http.StatusCreated)
		ca.writeOrder(w, id, o)
	case strings.HasPrefix(path, "/authz/"):
		a := ca.authzs[strings.TrimPrefix(path, "/authz/")]
		if a == nil || a.account != kid || len(payload) != 0 {
			ca.problem(w, 404, "malformed", "no such authorization, or not POST-as-GET")
			return
		}
		if a.pending {
			a.pending = false
			ca.validate(a, key)
		}
		ca.writeAuthz(w, strings.TrimPrefix(path, "/authz/"), a)
	case strings.HasPrefix(path, "/chal/"):
		aid, typ, _ := strings.Cut(strings.TrimPrefix(path, "/chal/"), "/")
		a := ca.authzs[aid]
		if a == nil || a.account != kid || string(payload) != "{}" {
			ca.problem(w, 404, "malformed", "no such challenge, or payload not {}")
			return
		}
		status := statusProcessing
		if ca.asyncChal {
			a.pending = true
		} else {
			ca.validate(a, key)
			status = a.status
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"type": typ, "url": ca.url + path, "token": a.token, "status": status})
	case strings.HasPrefix(path, "/finalize/"):
		oid := strings.TrimPrefix(path, "/finalize/")
		o := ca.orders[oid]
		var p struct{ CSR string }
		if o == nil || o.account != kid || json.Unmarshal(payload, &p) != nil {
			ca.problem(w, 404, "malformed", "no such order or no csr")
			return
		}
		for _, aid := range o.authzs {
			if ca.authzs[aid].status != statusValid {
				ca.problem(w, 403, "orderNotReady", "authorizations not valid")
				return
			}
		}
		der, err := b64.DecodeString(p.CSR)
		if err != nil {
			ca.problem(w, 400, "badCSR", err.Error())
			return
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil || csr.CheckSignature() != nil {
			ca.problem(w, 400, "badCSR", fmt.Sprintf("parse %v", err))
			return
		}
		names := csr.DNSNames
		if ca.wrongNames {
			names = []string{"other." + DefaultDomain}
		}
		o.cert = ca.issue(names, csr.PublicKey)
		o.status = statusValid
		if ca.asyncFinalize {
			o.status = statusProcessing
		}
		ca.writeOrder(w, oid, o)
	case strings.HasPrefix(path, "/order/"):
		oid := strings.TrimPrefix(path, "/order/")
		o := ca.orders[oid]
		if o == nil || o.account != kid || len(payload) != 0 {
			ca.problem(w, 404, "malformed", "no such order")
			return
		}
		if o.status == statusProcessing {
			o.status = statusValid
		}
		ca.writeOrder(w, oid, o)
	case strings.HasPrefix(path, "/cert/"):
		o := ca.orders[strings.TrimPrefix(path, "/cert/")]
		if o == nil || o.account != kid || o.status != statusValid || len(payload) != 0 {
			ca.problem(w, 404, "malformed", "no such certificate")
			return
		}
		w.Header().Set("Content-Type", mediaPEMChain)
		_, _ = w.Write(o.cert)
	default:
		ca.problem(w, 404, "malformed", "no such resource "+path)
	}
}

func (ca *fakeCA) writeOrder(w http.ResponseWriter, id string, o *fakeOrder) {
	m := map[string]any{"status": o.status, "finalize": ca.url + "/finalize/" + id, "identifiers": o.names}
	var az []string
	for _, a := range o.authzs {
		az = append(az, ca.url+"/authz/"+a)
	}
	m["authorizations"] = az
	if o.status == statusValid {
		m["certificate"] = ca.url + "/cert/" + id
	}
	_ = json.NewEncoder(w).Encode(m)
}

func (ca *fakeCA) writeAuthz(w http.ResponseWriter, id string, a *fakeAuthz) {
	var chals []map[string]any
	for _, typ := range []string{ChallengeHTTP01, ChallengeDNS01, ChallengeTLSALPN01} {
		c := map[string]any{"type": typ, "url": ca.url + "/chal/" + id + "/" + typ, "token": a.token, "status": a.status}
		if a.chalErr != nil {
			c["error"] = map[string]any{"type": a.chalErr.Type, "detail": a.chalErr.Detail}
		}
		chals = append(chals, c)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status": a.status, "identifier": map[string]string{"type": "dns", "value": a.name}, "challenges": chals,
		"expires": time.Now().Add(time.Hour).Format(time.RFC3339),
	})
}

// validate checks every challenge type that the bench may have answered
// (the one it chose is the one that succeeds) and sets a's status.
func (ca *fakeCA) validate(a *fakeAuthz, key *jose.JSONWebKey) {
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		ca.t.Errorf("thumbprint: %v", err)
		return
	}
	ka := a.token + "." + b64.EncodeToString(tp)
	var errs []error
	if !ca.failValidate {
		for _, v := range []func(string, string) error{ca.checkHTTP01, ca.checkDNS01, ca.checkTLSALPN01} {
			err := v(a.name, ka)
			if err == nil {
				a.status = statusValid
				return
			}
			errs = append(errs, err)
		}
	}
	a.status = statusInvalid
	a.chalErr = &problem{Type: problemPrefix + "connection", Detail: fmt.Sprint(errors.Join(errs...))}
}

// resolve asks the bench's DNS server for name's A record.
func (ca *fakeCA) resolve(name string) (string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, ca.dnsAddr)
	if err != nil {
		return "", err
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String(), nil
		}
	}
	return "", fmt.Errorf("no A record for %s", name)
}

func (ca *fakeCA) checkHTTP01(name, ka string) error {
	ip, err := ca.resolve(name)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	token, _, _ := strings.Cut(ka, ".")
	res, err := c.Get("http://" + net.JoinHostPort(ip, ca.responderPort) + http01Prefix + token)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<10))
	if res.StatusCode != 200 || string(b) != ka {
		return fmt.Errorf("http-01: %d %q", res.StatusCode, b)
	}
	return nil
}

func (ca *fakeCA) checkDNS01(name, ka string) error {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn("_acme-challenge."+name), dns.TypeTXT)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, ca.dnsAddr)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(ka))
	want := b64.EncodeToString(sum[:])
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok && strings.Join(txt.Txt, "") == want {
			return nil
		}
	}
	return fmt.Errorf("dns-01: no TXT %q", want)
}

func (ca *fakeCA) checkTLSALPN01(name, ka string) error {
	ip, err := ca.resolve(name)
	if err != nil {
		return err
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second}, Config: &tls.Config{
		ServerName: name, NextProtos: []string{acmeTLS1}, InsecureSkipVerify: true, //nolint:gosec // RFC 8737 §3: self-signed
	}}
	conn, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort(ip, ca.responderPort))
	if err != nil {
		return err
	}
	defer conn.Close()
	cs := conn.(*tls.Conn).ConnectionState()
	if cs.NegotiatedProtocol != acmeTLS1 || len(cs.PeerCertificates) != 1 {
		return fmt.Errorf("tls-alpn-01: protocol %q, %d certificates", cs.NegotiatedProtocol, len(cs.PeerCertificates))
	}
	cert := cs.PeerCertificates[0]
	sum := sha256.Sum256([]byte(ka))
	want, _ := asn1.Marshal(sum[:])
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidACMEIdentifier) && e.Critical && string(e.Value) == string(want) &&
			len(cert.DNSNames) == 1 && cert.DNSNames[0] == name {
			return nil
		}
	}
	return errors.New("tls-alpn-01: no matching acmeIdentifier")
}

// issue returns a PEM chain (leaf, CA) for names and pub.
func (ca *fakeCA) issue(names []string, pub any) []byte {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     names,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.caCert, pub, ca.caKey)
	if err != nil {
		ca.t.Errorf("issue: %v", err)
		return nil
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.caCert.Raw})...)
}

// rootPool returns a pool trusting the fake CA's TLS listener.
func (ca *fakeCA) rootPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.caCert)
	return p
}
