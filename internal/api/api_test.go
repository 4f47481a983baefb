package api_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store/sqlite"
	"github.com/dcvhq/dcv/internal/testenv"
)

// maxAnswer bounds what a test reads of one answer; the largest, a check
// with its evidence, is a few KiB.
const maxAnswer = 1 << 20

// stack is the API over the real order service of an ordertest.Stack:
// SQLite in a temporary directory, the CA, and a validator resolving
// through a loopback DNS server that holds com. and applicant.com.
type stack struct {
	srv   *httptest.Server
	ca    *ca.CA
	dns   *testenv.DNSServer
	clock *ordertest.Clock
	store *sqlite.Store
	svc   *order.Service
	// Keys of the admin account and of two applicant accounts.
	admin, alice, bob string
}

func setup(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	admin, err := w.Service.EnsureAdmin(ctx)
	if err != nil || admin == nil {
		t.Fatalf("EnsureAdmin = %v, %v", admin, err)
	}
	srv := httptest.NewServer(api.New(api.Config{Orders: w.Service, CA: w.CA, Version: "test"}))
	t.Cleanup(srv.Close)
	s := &stack{srv: srv, ca: w.CA, dns: w.DNS, clock: w.Clock, store: w.Store, svc: w.Service, admin: admin.APIKey}
	for _, name := range []string{"alice", "bob"} {
		var av order.AccountView
		s.wantJSON(t, s.do(t, "POST", "/api/v1/accounts", s.admin, `{"name":"`+name+`"}`), http.StatusCreated, &av)
		if av.APIKey == "" || av.Admin {
			t.Fatalf("created account %+v", av)
		}
		if name == "alice" {
			s.alice = av.APIKey
		} else {
			s.bob = av.APIKey
		}
	}
	return s
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with an API key (none if empty) and a JSON body (none
// if empty).
func (s *stack) do(t *testing.T, method, path, key, body string) answer {
	t.Helper()
	return s.doType(t, method, path, key, body, "application/json")
}

func (s *stack) doType(t *testing.T, method, path, key, body, contentType string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return s.send(t, req)
}

// send sends req to the API and reads the answer.
func (s *stack) send(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantJSON checks the status and decodes the body into v.
func (s *stack) wantJSON(t *testing.T, a answer, status int, v any) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
	if v != nil {
		if err := json.Unmarshal(a.body, v); err != nil {
			t.Fatalf("decoding %s: %v", a.body, err)
		}
	}
}

// wantError checks an error answer: its status, its code, and words of its
// message.
func wantError(t *testing.T, a answer, status int, code string, words ...string) api.ErrorBody {
	t.Helper()
	var eb api.ErrorBody
	if err := json.Unmarshal(a.body, &eb); err != nil {
		t.Fatalf("status %d, body %q is not an error body: %v", a.status, a.body, err)
	}
	if a.status != status || eb.Error.Code != code {
		t.Fatalf("got %d %s (%q), want %d %s", a.status, eb.Error.Code, eb.Error.Message, status, code)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	for _, w := range words {
		if !strings.Contains(eb.Error.Message, w) {
			t.Errorf("message %q lacks %q", eb.Error.Message, w)
		}
	}
	return eb
}

func (s *stack) orders(t *testing.T, key string) []order.View {
	t.Helper()
	var list struct {
		Orders []order.View `json:"orders"`
	}
	s.wantJSON(t, s.do(t, "GET", "/api/v1/orders", key, ""), http.StatusOK, &list)
	return list.Orders
}

// csrPEM returns a PEM CSR for names signed by key.
func csrPEM(t *testing.T, key crypto.Signer, names ...string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: names}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func orderBody(t *testing.T, req order.CreateRequest) string {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	s := setup(t)

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	// A CSR whose signature no longer verifies: the last octet of the
	// signature is changed.
	badSig := func() string {
		blk, _ := pem.Decode(csrPEM(t, ecKey, "a.applicant.com"))
		der := bytes.Clone(blk.Bytes)
		der[len(der)-1] ^= 0xff
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	}()
	var hundredOne []string
	for i := range 101 {
		hundredOne = append(hundredOne, fmt.Sprintf("n%d.applicant.com", i))
	}
	label60 := strings.Repeat("a", 60)
	long := strings.Repeat(label60+".", 4) + "applicant.com" // 257 octets
	valid := orderBody(t, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns"})
	dnsOrder := func(domains ...string) string {
		return orderBody(t, order.CreateRequest{Domains: domains, Method: "dns"})
	}

	tests := []struct {
		name        string
		method      string
		path        string
		key         string // "alice" when empty; "-" for none
		contentType string // application/json when empty; "-" for none
		body        string
		status      int
		code        string
		words       []string
		allow       string // the Allow header of a 405
	}{
		// Transport and JSON.
		{name: "malformed json", body: `{"domains": nope}`, status: 400, code: "MALFORMED_JSON", words: []string{"not valid JSON"}},
		{name: "truncated json", body: `{"domains": ["a.applicant.com"`, status: 400, code: "MALFORMED_JSON"},
		{name: "body over 256 KiB", body: `{"domains":["` + strings.Repeat("a", 300<<10) + `"],"method":"dns"}`, status: 413, code: "REQUEST_TOO_LARGE", words: []string{"262144 bytes"}},
		{name: "unknown field", body: `{"domains":["a.applicant.com"],"method":"dns","colour":"red"}`, status: 400, code: "UNKNOWN_FIELD", words: []string{"colour"}},
		{name: "wrong type", body: `{"domains":"a.applicant.com","method":"dns"}`, status: 400, code: "MALFORMED_JSON", words: []string{`"domains" must be a JSON array, not a JSON string`}},
		// An element of an array is named by its index, not the array's name.
		{name: "wrong type in an array", body: `{"domains":[1],"method":"dns"}`, status: 400, code: "MALFORMED_JSON", words: []string{`field "domains[0]" must be a JSON string, not a JSON number`}},
		{name: "wrong type later in an array", body: `{"domains":["a.applicant.com", {"name":"b"}],"method":"dns"}`, status: 400, code: "MALFORMED_JSON", words: []string{`field "domains[1]" must be a JSON string, not a JSON object`}},
		{name: "wrong type in an object", body: `{"domains":["a.applicant.com"],"method":"dns","methods":{"a.applicant.com":1}}`, status: 400, code: "MALFORMED_JSON", words: []string{`field "methods[a.applicant.com]" must be a JSON string, not a JSON number`}},
		{name: "two json objects", body: valid + valid, status: 400, code: "MALFORMED_JSON", words: []string{"exactly one JSON object"}},
		{name: "wrong content type", contentType: "text/plain", body: valid, status: 415, code: "UNSUPPORTED_MEDIA_TYPE", words: []string{"application/json"}},
		{name: "json null", body: "null", status: 400, code: "MALFORMED_JSON", words: []string{"null"}},
		{name: "multipart form", contentType: "multipart/form-data; boundary=x", body: valid, status: 415, code: "UNSUPPORTED_MEDIA_TYPE", words: []string{"application/json"}},
		{name: "empty body", contentType: "-", status: 400, code: "MALFORMED_JSON", words: []string{"empty"}},

		// Authentication and authorisation.
		{name: "no api key", key: "-", body: valid, status: 401, code: "UNAUTHORIZED", words: []string{"API key is required"}},
		{name: "invalid api key", key: "dcv_notakey", body: valid, status: 401, code: "UNAUTHORIZED", words: []string{"not valid"}},
		{name: "non-admin creates an account", path: "/api/v1/accounts", body: `{"name":"mallory","admin":true}`, status: 403, code: "ADMIN_REQUIRED"},

		// Domain rules.
		{name: "no names", body: dnsOrder(), status: 400, code: "NO_NAMES"},
		{name: "public suffix", body: dnsOrder("co.uk"), status: 400, code: "PUBLIC_SUFFIX", words: []string{"co.uk"}},
		{name: "reserved name", body: dnsOrder("www.shop.test"), status: 400, code: "RESERVED_NAME", words: []string{"shop.test", "RFC 6761"}},
		{name: "ip address by dns", body: dnsOrder("8.8.8.8"), status: 400, code: "IP_ADDRESS", words: []string{"8.8.8.8", "validate it by the file method", "--method file"}},
		{name: "wildcard position", body: dnsOrder("a.*.applicant.com"), status: 400, code: "WILDCARD_POSITION", words: []string{"a.*.applicant.com"}},
		{name: "wildcard with file", body: orderBody(t, order.CreateRequest{Domains: []string{"*.applicant.com"}, Method: "file"}), status: 400, code: "WILDCARD_METHOD", words: []string{"*.applicant.com"}},
		{name: "label too long", body: dnsOrder(strings.Repeat("a", 64) + ".applicant.com"), status: 400, code: "LABEL_TOO_LONG", words: []string{"64 characters"}},
		{name: "name too long", body: dnsOrder(long), status: 400, code: "NAME_TOO_LONG"},
		{name: "invalid character", body: dnsOrder("a!b.applicant.com"), status: 400, code: "INVALID_CHARACTER", words: []string{`'!'`}},
		{name: "duplicate name", body: dnsOrder("a.applicant.com", "A.Applicant.com."), status: 400, code: "DUPLICATE_NAME", words: []string{"A.Applicant.com."}},
		{name: "101 names", body: dnsOrder(hundredOne...), status: 400, code: "TOO_MANY_NAMES", words: []string{"101"}},
		{name: "unknown method", body: `{"domains":["a.applicant.com"],"method":"http-01"}`, status: 400, code: "UNKNOWN_METHOD", words: []string{"http-01"}},
		{name: "no method", body: `{"domains":["a.applicant.com"]}`, status: 400, code: "METHOD_REQUIRED", words: []string{"method is required", `"dns"`, `"file"`}},

		// CSRs.
		{name: "csr names differ", body: orderBody(t, order.CreateRequest{
			Domains: []string{"a.applicant.com", "b.applicant.com"}, Method: "dns",
			CSR: string(csrPEM(t, ecKey, "a.applicant.com", "c.applicant.com")),
		}), status: 400, code: "CSR_NAMES_MISMATCH", words: []string{"c.applicant.com", "b.applicant.com"}},
		{name: "csr with rsa 1024", body: orderBody(t, order.CreateRequest{
			Domains: []string{"a.applicant.com"}, Method: "dns", CSR: string(csrPEM(t, weakKey, "a.applicant.com")),
		}), status: 400, code: "CSR_KEY_TOO_WEAK", words: []string{"1024"}},
		{name: "csr with a bad signature", body: orderBody(t, order.CreateRequest{
			Domains: []string{"a.applicant.com"}, Method: "dns", CSR: badSig,
		}), status: 400, code: "CSR_BAD_SIGNATURE"},

		// Endpoints.
		{name: "unknown endpoint", method: "GET", path: "/api/v1/nope", contentType: "-", status: 404, code: "NOT_FOUND", words: []string{"/api/v1/nope"}},
		{name: "delete an order", method: "DELETE", path: "/api/v1/orders/ord_x", contentType: "-", status: 405, code: "METHOD_NOT_ALLOWED", words: []string{"DELETE", "GET"}, allow: "GET"},
		{name: "put the orders list", method: "PUT", path: "/api/v1/orders", contentType: "-", status: 405, code: "METHOD_NOT_ALLOWED", words: []string{"PUT"}, allow: "GET, POST"},
		{name: "get the checks endpoint", method: "DELETE", path: "/api/v1/orders/ord_x/checks", contentType: "-", status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, POST"},

		{name: "a field twice", body: `{"domains":["a.applicant.com"],"method":"dns","method":"file"}`, status: 400, code: "DUPLICATE_FIELD", words: []string{`"method" twice`}},
		{name: "a field twice, in two cases", body: `{"domains":["a.applicant.com"],"METHOD":"dns","method":"file"}`, status: 400, code: "DUPLICATE_FIELD", words: []string{`"METHOD" and "method"`, "without case"}},
		{name: "a domain of methods twice, in two cases", body: `{"domains":["a.applicant.com"],"method":"dns","methods":{"a.applicant.com":"file","A.applicant.com":"dns"}}`, status: 400, code: "DUPLICATE_NAME", words: []string{"methods names a.applicant.com twice"}},
		// An account name names one account, whatever its letter case.
		{name: "account name with a zero-width space", path: "/api/v1/accounts", key: "admin", body: `{"name":"Al\u200bice"}`, status: 409, code: "ACCOUNT_EXISTS", words: []string{"compared without"}},
		{name: "account name with a line separator", path: "/api/v1/accounts", key: "admin", body: `{"name":"a\u2028b"}`, status: 400, code: "INVALID_ACCOUNT_NAME", words: []string{"U+2028"}},
		{name: "account name with a bidirectional override", path: "/api/v1/accounts", key: "admin", body: `{"name":"abc\u202ecba"}`, status: 400, code: "INVALID_ACCOUNT_NAME", words: []string{"U+202E"}},
		{name: "account name with a control", path: "/api/v1/accounts", key: "admin", body: `{"name":"a\u0085b"}`, status: 400, code: "INVALID_ACCOUNT_NAME", words: []string{"U+0085"}},
		{name: "account name in use", path: "/api/v1/accounts", key: "admin", body: `{"name":" ALICE"}`, status: 409, code: "ACCOUNT_EXISTS", words: []string{`"ALICE"`}},

		// Endpoints without parameters refuse a body that is not empty.
		{name: "eab key, malformed body", path: "/api/v1/eab-keys", key: "admin", body: `{`, status: 400, code: "MALFORMED_JSON"},
		{name: "eab key, a field", path: "/api/v1/eab-keys", key: "admin", body: `{"x":1}`, status: 400, code: "UNKNOWN_FIELD", words: []string{`"x"`}},
		{name: "check, a field", path: "/api/v1/orders/ord_x/checks", body: `{"force":true}`, status: 400, code: "UNKNOWN_FIELD", words: []string{`"force"`}},
		{name: "a field name in another case", path: "/api/v1/orders", body: `{"Domains":["a.applicant.com"],"method":"dns"}`, status: 400, code: "UNKNOWN_FIELD", words: []string{`"Domains"`, "case-sensitive", `did you mean "domains"`}},
	}
	// The cases run in sequence, so that the list below sees all of them done.
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, path := cmp.Or(tc.method, "POST"), cmp.Or(tc.path, "/api/v1/orders")
			key := s.alice
			switch tc.key {
			case "":
			case "-":
				key = ""
			case "admin":
				key = s.admin
			default:
				key = tc.key
			}
			ct := cmp.Or(tc.contentType, "application/json")
			if ct == "-" {
				ct = ""
			}
			a := s.doType(t, method, path, key, tc.body, ct)
			wantError(t, a, tc.status, tc.code, tc.words...)
			if got := a.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if tc.status == http.StatusUnauthorized {
				if got := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
				}
			}
		})
	}
	// Nothing was stored.
	for who, key := range map[string]string{"alice": s.alice, "admin": s.admin} {
		if got := s.orders(t, key); len(got) != 0 {
			t.Errorf("%s has %d orders after refused requests, want 0", who, len(got))
		}
	}
}

func TestAPIOrderLifecycle(t *testing.T) {
	t.Parallel()
	s := setup(t)
	s.dns.Add("a.applicant.com. A 127.0.0.1")

	var o order.View
	a := s.do(t, "POST", "/api/v1/orders", s.alice, `{"domains":["a.applicant.com"],"method":"dns"}`)
	s.wantJSON(t, a, http.StatusCreated, &o)
	if loc := a.header.Get("Location"); loc != "/api/v1/orders/"+o.ID {
		t.Errorf("Location %q", loc)
	}
	if o.Status != order.StatusPending || len(o.Domains) != 1 || o.Domains[0].Instructions.Host != "_dnsauth.a.applicant.com" {
		t.Fatalf("created %+v", o)
	}

	t.Run("another account sees nothing", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/v1/orders/" + o.ID},
			{"POST", "/api/v1/orders/" + o.ID + "/checks"},
			{"GET", "/api/v1/orders/" + o.ID + "/checks"},
			{"GET", "/api/v1/orders/" + o.ID + "/certificate"},
		} {
			wantError(t, s.do(t, r.method, r.path, s.bob, ""), http.StatusNotFound, "ORDER_NOT_FOUND", o.ID)
		}
		if got := s.orders(t, s.bob); len(got) != 0 {
			t.Errorf("bob lists %d orders, want 0", len(got))
		}
	})

	t.Run("curl -d style body", func(t *testing.T) {
		// curl -d labels a JSON body as a form; it is read as JSON.
		var o2 order.View
		a := s.doType(t, "POST", "/api/v1/orders", s.alice, `{"domains":["b.applicant.com"],"method":"file"}`, "application/x-www-form-urlencoded")
		s.wantJSON(t, a, http.StatusCreated, &o2)
		if len(o2.Domains) != 1 || o2.Domains[0].Method != "file" {
			t.Fatalf("created %+v", o2)
		}
	})

	t.Run("certificate before issuance", func(t *testing.T) {
		wantError(t, s.do(t, "GET", "/api/v1/orders/"+o.ID+"/certificate", s.alice, ""), http.StatusConflict, "CERTIFICATE_NOT_READY", "pending")
	})

	t.Run("check, then an early check", func(t *testing.T) {
		var res order.CheckResult
		s.wantJSON(t, s.do(t, "POST", "/api/v1/orders/"+o.ID+"/checks", s.alice, ""), http.StatusOK, &res)
		if res.Status != order.StatusPending || len(res.Domains) != 1 || len(res.Domains[0].Findings) == 0 ||
			res.Domains[0].Findings[0].Code != diagnose.CodeDNSRecordNotFound {
			t.Fatalf("first check: %+v", res)
		}

		a := s.do(t, "POST", "/api/v1/orders/"+o.ID+"/checks", s.alice, "")
		eb := wantError(t, a, http.StatusTooManyRequests, string(diagnose.CodeCheckTooFrequent))
		// The fake clock did not move: the whole interval is left.
		if got := a.header.Get("Retry-After"); got != "300" {
			t.Errorf("Retry-After %q, want 300", got)
		}
		if eb.Error.RetryAfter != 300 {
			t.Errorf("retry_after %d, want 300", eb.Error.RetryAfter)
		}
		if len(eb.Findings) != 1 || eb.Findings[0].Code != diagnose.CodeCheckTooFrequent || eb.Findings[0].ETA == nil {
			t.Fatalf("findings %+v, want CHECK_TOO_FREQUENT with an eta", eb.Findings)
		}
		if want := s.clock.Now().Add(order.DefaultCheckInterval); !eb.Findings[0].ETA.Equal(want) {
			t.Errorf("eta %v, want %v", eb.Findings[0].ETA, want)
		}

		var checks struct {
			Checks []json.RawMessage `json:"checks"`
		}
		s.wantJSON(t, s.do(t, "GET", "/api/v1/orders/"+o.ID+"/checks", s.alice, ""), http.StatusOK, &checks)
		if len(checks.Checks) != 1 {
			t.Errorf("%d stored checks, want 1 (the throttled one is not stored)", len(checks.Checks))
		}
	})
}

func TestAPIPublicEndpoints(t *testing.T) {
	t.Parallel()
	s := setup(t)

	t.Run("health", func(t *testing.T) {
		var h map[string]string
		s.wantJSON(t, s.do(t, "GET", "/api/v1/health", "", ""), http.StatusOK, &h)
		if h["status"] != "ok" || h["version"] != "test" {
			t.Errorf("health %v", h)
		}
	})

	t.Run("crl signed by the intermediate", func(t *testing.T) {
		a := s.do(t, "GET", "/ca/intermediate.crl", "", "")
		if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/pkix-crl" {
			t.Fatalf("status %d, Content-Type %q", a.status, a.header.Get("Content-Type"))
		}
		crl, err := x509.ParseRevocationList(a.body)
		if err != nil {
			t.Fatalf("parsing the CRL: %v", err)
		}
		if err := crl.CheckSignatureFrom(s.ca.Intermediate()); err != nil {
			t.Errorf("CRL signature: %v", err)
		}
		if !bytes.Equal(crl.RawIssuer, s.ca.Intermediate().RawSubject) {
			t.Errorf("CRL issuer %s, want %s", crl.Issuer, s.ca.Intermediate().Subject)
		}
		if len(crl.RevokedCertificateEntries) != 0 {
			t.Errorf("%d revoked entries, want 0", len(crl.RevokedCertificateEntries))
		}
		if !crl.NextUpdate.After(crl.ThisUpdate) {
			t.Errorf("nextUpdate %v not after thisUpdate %v", crl.NextUpdate, crl.ThisUpdate)
		}
	})

	t.Run("ca certificates", func(t *testing.T) {
		if a := s.do(t, "GET", "/ca/root.pem", "", ""); a.status != 200 || !bytes.Equal(a.body, s.ca.RootPEM()) {
			t.Errorf("root.pem: %d", a.status)
		}
		if a := s.do(t, "GET", "/ca/intermediate.cer", "", ""); a.status != 200 || !bytes.Equal(a.body, s.ca.IntermediateDER()) {
			t.Errorf("intermediate.cer: %d", a.status)
		}
	})
}

// TestPrefersJSON: the JSON answer, which carries the generated key, is
// given only to an Accept header that asks for JSON first.
func TestPrefersJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"*/*"}, false},
		{[]string{"application/json"}, true},
		{[]string{"application/json; charset=utf-8"}, true},
		{[]string{"application/json;q=0, application/pem-certificate-chain"}, false},
		{[]string{"application/json;q=0.1, application/pem-certificate-chain"}, false},
		{[]string{"application/pem-certificate-chain;q=0.5, application/json"}, true},
		{[]string{"application/pem-certificate-chain", "application/json"}, false},
		{[]string{"application/json;q=abc"}, false},
		{[]string{"text/html, Application/JSON;Q=0.9"}, true},
	}
	for _, tt := range tests {
		if got := api.PrefersJSONForTest(tt.accept); got != tt.want {
			t.Errorf("prefersJSON(%q) = %t, want %t", tt.accept, got, tt.want)
		}
	}
}

// TestListOrdersPages: the orders list comes a page at a time, newest
// first, with next_cursor and a Link rel="next" while more remain; a cursor
// that is not one of the caller's orders, and a limit out of range, are
// refused.
func TestListOrdersPages(t *testing.T) {
	t.Parallel()
	s := setup(t)
	var ids []string
	for i := range 3 {
		var v order.View
		s.wantJSON(t, s.do(t, "POST", "/api/v1/orders", s.bob, orderBody(t, order.CreateRequest{Domains: []string{fmt.Sprintf("p%d.applicant.com", i)}, Method: "dns"})), http.StatusCreated, &v)
		ids = append(ids, v.ID)
		s.clock.Add(time.Second)
	}
	var alices order.View
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders", s.alice, orderBody(t, order.CreateRequest{Domains: []string{"q.applicant.com"}, Method: "dns"})), http.StatusCreated, &alices)

	type page struct {
		Orders []order.View `json:"orders"`
		Next   string       `json:"next_cursor"`
	}
	var p1 page
	a := s.do(t, "GET", "/api/v1/orders?limit=2", s.bob, "")
	s.wantJSON(t, a, http.StatusOK, &p1)
	if len(p1.Orders) != 2 || p1.Orders[0].ID != ids[2] || p1.Orders[1].ID != ids[1] || p1.Next != ids[1] {
		t.Fatalf("first page: %d orders, next %q", len(p1.Orders), p1.Next)
	}
	if link := a.header.Get("Link"); link != `</api/v1/orders?cursor=`+ids[1]+`&limit=2>; rel="next"` {
		t.Errorf("Link %q", link)
	}
	var p2 page
	a = s.do(t, "GET", "/api/v1/orders?limit=2&cursor="+p1.Next, s.bob, "")
	s.wantJSON(t, a, http.StatusOK, &p2)
	if len(p2.Orders) != 1 || p2.Orders[0].ID != ids[0] || p2.Next != "" || a.header.Get("Link") != "" {
		t.Fatalf("last page: %+v, Link %q", p2, a.header.Get("Link"))
	}
	for _, tc := range []struct{ query, code string }{
		{"cursor=" + alices.ID, "INVALID_CURSOR"},
		{"cursor=ord_nope", "INVALID_CURSOR"},
		{"limit=0", "INVALID_LIMIT"},
		{"limit=1001", "INVALID_LIMIT"},
		{"limit=ten", "INVALID_LIMIT"},
	} {
		wantError(t, s.do(t, "GET", "/api/v1/orders?"+tc.query, s.bob, ""), http.StatusBadRequest, tc.code)
	}
}

// TestAdminReadsAnyOrder: an admin (a console's support staff) reads any
// account's order and its stored checks, with every detail; another
// account still gets 404 for an order not its own, and an admin may not
// act on it (a check is the applicant's).
func TestAdminReadsAnyOrder(t *testing.T) {
	t.Parallel()
	s := setup(t)
	var v order.View
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders", s.alice, orderBody(t, order.CreateRequest{Domains: []string{"support.applicant.com"}, Method: "dns"})), http.StatusCreated, &v)
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders/"+v.ID+"/checks", s.alice, ""), http.StatusOK, nil)

	var got order.View
	s.wantJSON(t, s.do(t, "GET", "/api/v1/orders/"+v.ID, s.admin, ""), http.StatusOK, &got)
	if got.ID != v.ID {
		t.Fatalf("admin read %+v", got)
	}
	var checks struct {
		Checks []order.CheckResult `json:"checks"`
	}
	s.wantJSON(t, s.do(t, "GET", "/api/v1/orders/"+v.ID+"/checks", s.admin, ""), http.StatusOK, &checks)
	if len(checks.Checks) != 1 {
		t.Fatalf("admin read %d checks, want 1", len(checks.Checks))
	}
	wantError(t, s.do(t, "GET", "/api/v1/orders/"+v.ID, s.bob, ""), http.StatusNotFound, "ORDER_NOT_FOUND")
	// The admin sees the order: told it may not act on it, not that it
	// does not exist.
	wantError(t, s.do(t, "POST", "/api/v1/orders/"+v.ID+"/checks", s.admin, ""), http.StatusForbidden, "NOT_YOUR_ORDER")
	wantError(t, s.do(t, "GET", "/api/v1/orders/"+v.ID+"/certificate", s.admin, ""), http.StatusForbidden, "NOT_YOUR_ORDER")
}

// TestListChecksPages: an order's stored checks come a page at a time,
// newest first, with next_cursor and a Link rel="next" while more remain;
// a cursor that is not a check of the order, and a limit out of range, are
// refused.
func TestListChecksPages(t *testing.T) {
	t.Parallel()
	s := setup(t)
	var o order.View
	s.wantJSON(t, s.do(t, "POST", "/api/v1/orders", s.bob, orderBody(t, order.CreateRequest{Domains: []string{"pages.applicant.com"}, Method: "dns"})), http.StatusCreated, &o)
	var ids []string
	for range 3 {
		var res order.CheckResult
		s.wantJSON(t, s.do(t, "POST", "/api/v1/orders/"+o.ID+"/checks", s.bob, ""), http.StatusOK, &res)
		ids = append([]string{res.CheckID}, ids...)
		s.clock.Add(order.DefaultCheckInterval)
	}
	type page struct {
		Checks []order.CheckResult `json:"checks"`
		Next   string              `json:"next_cursor"`
	}
	base := "/api/v1/orders/" + o.ID + "/checks"
	var p1 page
	a := s.do(t, "GET", base+"?limit=2", s.bob, "")
	s.wantJSON(t, a, http.StatusOK, &p1)
	if len(p1.Checks) != 2 || p1.Checks[0].CheckID != ids[0] || p1.Checks[1].CheckID != ids[1] || p1.Next != ids[1] {
		t.Fatalf("first page: %d checks, next %q; want %v", len(p1.Checks), p1.Next, ids[:2])
	}
	if link := a.header.Get("Link"); link != `<`+base+`?cursor=`+ids[1]+`&limit=2>; rel="next"` {
		t.Errorf("Link %q", link)
	}
	var p2 page
	a = s.do(t, "GET", base+"?limit=2&cursor="+p1.Next, s.bob, "")
	s.wantJSON(t, a, http.StatusOK, &p2)
	if len(p2.Checks) != 1 || p2.Checks[0].CheckID != ids[2] || p2.Next != "" || a.header.Get("Link") != "" {
		t.Fatalf("last page: %d checks, next %q, Link %q", len(p2.Checks), p2.Next, a.header.Get("Link"))
	}
	if bytes.Contains(a.body, []byte("next_cursor")) {
		t.Errorf("the last page names a next_cursor: %s", a.body)
	}
	var all page
	s.wantJSON(t, s.do(t, "GET", base, s.bob, ""), http.StatusOK, &all)
	if len(all.Checks) != 3 || all.Next != "" {
		t.Fatalf("default page: %d checks, next %q", len(all.Checks), all.Next)
	}
	for _, tc := range []struct{ query, code string }{
		{"cursor=" + o.ID, "INVALID_CURSOR"},
		{"cursor=chk_nope", "INVALID_CURSOR"},
		{"limit=0", "INVALID_LIMIT"},
		{"limit=101", "INVALID_LIMIT"},
		{"limit=ten", "INVALID_LIMIT"},
	} {
		wantError(t, s.do(t, "GET", base+"?"+tc.query, s.bob, ""), http.StatusBadRequest, tc.code)
	}
}

// TestRequestBodyMediaTypes: a request body is read only when it is
// application/json (the type compared without case, parameters allowed),
// unlabelled, or labelled as curl -d does, and not content-encoded; any other is 415 with a message
// that says what was sent, and nothing is stored.
func TestRequestBodyMediaTypes(t *testing.T) {
	t.Parallel()
	s := setup(t)
	body := orderBody(t, order.CreateRequest{Domains: []string{"media.applicant.com"}, Method: "dns"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(body))
	_ = zw.Close()

	tests := []struct {
		name, contentType, encoding, body string
		status                            int
		words                             []string
	}{
		{name: "application/json", contentType: "application/json", body: body, status: 201},
		{name: "letter case and a charset", contentType: "Application/JSON; Charset=UTF-8", body: body, status: 201},
		{name: "parameters and spaces", contentType: "application/json ; foo=bar", body: body, status: 201},
		{name: "no content type", body: body, status: 201},
		{name: "identity coding", contentType: "application/json", encoding: "identity", body: body, status: 201},
		{name: "curl -d's form label", contentType: "application/x-www-form-urlencoded", body: body, status: 201},
		{name: "text", contentType: "text/plain", body: body, status: 415, words: []string{"text/plain"}},
		{name: "a type that begins like json", contentType: "application/jsonp", body: body, status: 415, words: []string{"application/jsonp"}},
		{name: "json patch", contentType: "application/json-patch+json", body: body, status: 415, words: []string{"application/json-patch+json"}},
		{name: "not a type/subtype", contentType: "json", body: body, status: 415, words: []string{"is json", "application/json"}},
		{name: "not a media type", contentType: "application/json; charset", body: body, status: 415, words: []string{`"application/json; charset"`, "not a media type"}},
		{name: "utf-16", contentType: "application/json; charset=utf-16", body: body, status: 415, words: []string{"utf-16", "UTF-8"}},
		{name: "gzip", contentType: "application/json", encoding: "gzip", body: gz.String(), status: 415, words: []string{"gzip", "must not be content-encoded"}},
		{name: "gzip, upper case", contentType: "application/json", encoding: "GZIP", body: gz.String(), status: 415, words: []string{"GZIP", "must not be content-encoded"}},
		{name: "two codings", contentType: "application/json", encoding: "identity, br", body: body, status: 415, words: []string{"br", "must not be content-encoded"}},
	}
	created := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", s.srv.URL+"/api/v1/orders", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+s.bob)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			a := s.send(t, req)
			if tt.status == http.StatusCreated {
				s.wantJSON(t, a, http.StatusCreated, nil)
				created++
				return
			}
			wantError(t, a, tt.status, "UNSUPPORTED_MEDIA_TYPE", tt.words...)
		})
	}
	// The refused requests stored nothing.
	if got := s.orders(t, s.bob); len(got) != created {
		t.Errorf("bob has %d orders, want %d", len(got), created)
	}
	// The endpoints without parameters refuse them too, when not empty.
	for _, path := range []string{"/api/v1/eab-keys", "/api/v1/orders/ord_x/checks"} {
		wantError(t, s.doType(t, "POST", path, s.admin, "{}", "text/plain"), http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "text/plain")
	}
}
