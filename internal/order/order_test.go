package order_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/ratelimit"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

type recordingScheduler struct {
	mu  sync.Mutex
	ids []string
}

func (s *recordingScheduler) ScheduleIssue(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, id)
	return nil
}

type bundle struct {
	*ordertest.Stack
	svc   *order.Service
	sched *recordingScheduler
	acct  *store.Account
	other *store.Account
}

const interval = 5 * time.Minute

// dnsOrder creates an order of names by DNS for the applicant's account.
func (b *bundle) dnsOrder(t *testing.T, names ...string) *order.View {
	t.Helper()
	o, err := b.svc.Create(context.Background(), b.acct, order.CreateRequest{Domains: names, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{Stack: ordertest.New(t, ordertest.Options{CheckInterval: interval}), sched: &recordingScheduler{}}
	b.svc = b.restart(t)
	b.acct = b.NewAccount(t, "applicant")
	b.other = b.NewAccount(t, "other")
	return b
}

// restart builds a second service on the same store, as after a restart.
func (b *bundle) restart(t *testing.T) *order.Service {
	t.Helper()
	svc := b.NewService(t)
	svc.SetScheduler(b.sched)
	return svc
}

func codes(fs []diagnose.Finding) []diagnose.Code {
	var out []diagnose.Code
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func hasCode(fs []diagnose.Finding, c diagnose.Code) bool {
	for _, f := range fs {
		if f.Code == c {
			return true
		}
	}
	return false
}

func orderErr(t *testing.T, err error) *order.Error {
	t.Helper()
	var oe *order.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an *order.Error", err)
	}
	return oe
}

func TestCheckThrottleAndApproval(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.DNS.Add("a.applicant.com. 300 IN A 127.0.0.1")
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"A.Applicant.com."}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Domains[0].Instructions.Host; got != "_dnsauth.a.applicant.com" {
		t.Fatalf("host = %q", got)
	}
	if n := len(o.Domains[0].Instructions.Value); n < 26 {
		t.Fatalf("value %q carries fewer than 128 bits", o.Domains[0].Instructions.Value)
	}

	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != order.StatusPending || !hasCode(res.Domains[0].Findings, diagnose.CodeDNSRecordNotFound) {
		t.Fatalf("first check: status %s, findings %v", res.Status, codes(res.Domains[0].Findings))
	}
	if len(res.Domains[0].Evidence) != 1 {
		t.Fatalf("evidence: %d observations, want 1", len(res.Domains[0].Evidence))
	}

	// Early: throttled with the time left, and also after a restart.
	b.Clock.Add(time.Minute)
	for name, svc := range map[string]*order.Service{"same": b.svc, "restarted": b.restart(t)} {
		_, err = svc.Check(ctx, b.acct, o.ID)
		oe := orderErr(t, err)
		if oe.Kind != order.KindThrottled || oe.RetryAfter != 4*time.Minute || oe.Finding == nil || oe.Finding.Code != diagnose.CodeCheckTooFrequent {
			t.Fatalf("%s: early check: %+v", name, oe)
		}
	}

	b.DNS.Add(`_dnsauth.a.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	b.Clock.Add(4 * time.Minute)
	res, err = b.svc.Check(ctx, b.acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != order.StatusApproved || !hasCode(res.Domains[0].Findings, diagnose.CodeApprovedPendingIssuance) {
		t.Fatalf("after publishing: status %s, findings %v", res.Status, codes(res.Domains[0].Findings))
	}
	if len(b.sched.ids) != 1 || b.sched.ids[0] != o.ID {
		t.Fatalf("scheduled %v, want [%s]", b.sched.ids, o.ID)
	}
	checks, _, err := b.svc.Checks(ctx, b.acct, o.ID, "", 0)
	if err != nil || len(checks) != 2 {
		t.Fatalf("stored checks: %d, %v; want 2", len(checks), err)
	}
}

func TestIssueExactlyOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"a.applicant.com", "*.a.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	// The wildcard shares the host of its base name.
	for _, d := range o.Domains {
		if d.Instructions.Host != "_dnsauth.a.applicant.com" {
			t.Fatalf("%s: host %q", d.Domain, d.Instructions.Host)
		}
		b.DNS.Add(`_dnsauth.a.applicant.com. 300 IN TXT "` + d.Instructions.Value + `"`)
	}
	if _, err := b.svc.Certificate(ctx, b.acct, o.ID, true); orderErr(t, err).Code != "CERTIFICATE_NOT_READY" {
		t.Fatalf("certificate before approval: %v", err)
	}
	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check: %v, %+v", err, res)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = b.svc.Issue(ctx, o.ID) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("issue: %v", err)
		}
	}
	c1, err := b.svc.Certificate(ctx, b.acct, o.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if c1.PrivateKey == "" || c1.HasCSR {
		t.Fatalf("first download: key %t, has_csr %t; want the generated key", c1.PrivateKey != "", c1.HasCSR)
	}
	// Within the redelivery window the key comes again (a lost answer);
	// after it, never.
	c2, err := b.svc.Certificate(ctx, b.acct, o.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if c2.PrivateKey != c1.PrivateKey || c2.Serial != c1.Serial {
		t.Fatalf("second download within the window: key %q, serial %s vs %s", c2.PrivateKey, c2.Serial, c1.Serial)
	}
	b.Clock.Add(order.KeyRedeliveryWindow)
	if n, err := b.svc.EraseDeliveredKeys(ctx); err != nil || n != 1 {
		t.Fatalf("EraseDeliveredKeys = %d, %v; want 1", n, err)
	}
	c3, err := b.svc.Certificate(ctx, b.acct, o.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if c3.PrivateKey != "" || !c3.PrivateKeyErased || c3.Serial != c1.Serial {
		t.Fatalf("download after the window: key %q (erased %t), serial %s vs %s", c3.PrivateKey, c3.PrivateKeyErased, c3.Serial, c1.Serial)
	}
	blk, _ := pem.Decode([]byte(c1.Certificate))
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.applicant.com", "x.a.applicant.com"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: b.CA.Roots(), Intermediates: b.CA.Intermediates()}); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
	v, err := b.svc.Get(ctx, b.acct, o.ID)
	if err != nil || v.Status != order.StatusIssued {
		t.Fatalf("order after issuance: %v %+v", err, v)
	}
	// Already issued: a no-op.
	if err := b.svc.Issue(ctx, o.ID); err != nil {
		t.Fatalf("issue again: %v", err)
	}
}

func TestOtherAccountSeesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.dnsOrder(t, "a.applicant.com")
	calls := map[string]func() error{
		"get":         func() error { _, err := b.svc.Get(ctx, b.other, o.ID); return err },
		"check":       func() error { _, err := b.svc.Check(ctx, b.other, o.ID); return err },
		"checks":      func() error { _, _, err := b.svc.Checks(ctx, b.other, o.ID, "", 0); return err },
		"certificate": func() error { _, err := b.svc.Certificate(ctx, b.other, o.ID, true); return err },
	}
	for name, call := range calls {
		if oe := orderErr(t, call()); oe.Kind != order.KindNotFound || oe.Code != "ORDER_NOT_FOUND" {
			t.Errorf("%s: %+v", name, oe)
		}
	}
	list, _, err := b.svc.List(ctx, b.other, "", 0)
	if err != nil || len(list) != 0 {
		t.Fatalf("other's list: %v %d", err, len(list))
	}
	if _, err := b.svc.CreateAccount(ctx, b.acct, "x", false); orderErr(t, err).Kind != order.KindForbidden {
		t.Fatalf("non-admin created an account: %v", err)
	}
}

func csrPEM(t *testing.T, key any, names ...string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{}, DNSNames: names}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// longName is a 251-character name under applicant.com: a valid name, whose
// _dnsauth record host (260 characters) is not.
var longName = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 45) + ".applicant.com"

// TestLongNameByFile: a name too long for its DNS record can still be
// validated by file.
func TestLongNameByFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if len(longName) != 251 {
		t.Fatalf("longName has %d characters", len(longName))
	}
	if _, err := b.svc.Create(context.Background(), b.acct, order.CreateRequest{Domains: []string{longName}, Method: "file"}); err != nil {
		t.Errorf("by file: %v", err)
	}
	_, err := b.svc.Preflight(context.Background(), b.acct, order.PreflightRequest{Domain: longName, Method: "dns"})
	if oe := orderErr(t, err); oe.Code != "NAME_TOO_LONG" || !strings.Contains(oe.Message, "260 characters") {
		t.Errorf("pre-flight by dns: %+v, want NAME_TOO_LONG", oe)
	}
}

func TestCreateRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	good := csrPEM(t, ec, "a.applicant.com")
	blk, _ := pem.Decode([]byte(good))
	blk.Bytes[len(blk.Bytes)-3] ^= 0xff // break the signature
	tampered := string(pem.EncodeToMemory(blk))
	tests := []struct {
		name string
		req  order.CreateRequest
		code string
	}{
		{"no names", order.CreateRequest{Method: "dns"}, "NO_NAMES"},
		{"unknown method", order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "email"}, "UNKNOWN_METHOD"},
		{"public suffix", order.CreateRequest{Domains: []string{"co.uk"}, Method: "dns"}, "PUBLIC_SUFFIX"},
		{"special use", order.CreateRequest{Domains: []string{"a.test"}, Method: "dns"}, "RESERVED_NAME"},
		{"ip address by dns", order.CreateRequest{Domains: []string{"8.8.8.8"}, Method: "dns"}, "IP_ADDRESS"},
		{"ip address by dns through an override", order.CreateRequest{Domains: []string{"a.applicant.com", "8.8.8.8"}, Method: "file", Methods: map[string]string{"8.8.8.8": "dns"}}, "IP_ADDRESS"},
		{"reserved ip address", order.CreateRequest{Domains: []string{"192.0.2.1"}, Method: "file"}, "RESERVED_IP"},
		{"ip address not canonical", order.CreateRequest{Domains: []string{"2606:4700::ABCD"}, Method: "file"}, "INVALID_IP"},
		{"wildcard inside", order.CreateRequest{Domains: []string{"a.*.applicant.com"}, Method: "dns"}, "WILDCARD_POSITION"},
		{"wildcard by file", order.CreateRequest{Domains: []string{"*.applicant.com"}, Method: "file"}, "WILDCARD_METHOD"},
		{"label too long", order.CreateRequest{Domains: []string{"a234567890123456789012345678901234567890123456789012345678901234.applicant.com"}, Method: "dns"}, "LABEL_TOO_LONG"},
		{"duplicate", order.CreateRequest{Domains: []string{"a.applicant.com", "A.applicant.com."}, Method: "dns"}, "DUPLICATE_NAME"},
		// 251 characters: a name, but _dnsauth.<it> is not.
		{"too long for its dns record", order.CreateRequest{Domains: []string{longName}, Method: "dns"}, "NAME_TOO_LONG"},
		{"wildcard too long for its dns record", order.CreateRequest{Domains: []string{"*." + longName[4:]}, Method: "dns"}, "NAME_TOO_LONG"},
		{"too long for dns, one of two", order.CreateRequest{Domains: []string{"a.applicant.com", longName}, Method: "file", Methods: map[string]string{longName: "dns"}}, "NAME_TOO_LONG"},
		{"override for another name", order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns", Methods: map[string]string{"b.applicant.com": "file"}}, "METHOD_FOR_UNKNOWN_DOMAIN"},
		{"two overrides for one name", order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns", Methods: map[string]string{"a.applicant.com": "file", "a.applicant.com.": "dns"}}, "DUPLICATE_NAME"},
		{"csr names differ", order.CreateRequest{Domains: []string{"a.applicant.com", "b.applicant.com"}, Method: "dns", CSR: good}, "CSR_NAMES_MISMATCH"},
		{"csr with an ip address", order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "file", CSR: func() string {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"a.applicant.com", "8.8.8.8"}}, k)
			return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		}()}, "CSR_IP_ADDRESS"},
		{"csr rsa 1024", order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns", CSR: csrPEM(t, weak, "a.applicant.com")}, "CSR_KEY_TOO_WEAK"},
		{"csr bad signature", order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns", CSR: tampered}, "CSR_BAD_SIGNATURE"},
		{"csr garbage", order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns", CSR: "hello"}, "CSR_MALFORMED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.svc.Create(ctx, b.acct, tt.req)
			oe := orderErr(t, err)
			if oe.Kind != order.KindInvalid || oe.Code != tt.code || oe.Message == "" {
				t.Fatalf("got %s (%d) %q, want %s", oe.Code, oe.Kind, oe.Message, tt.code)
			}
		})
	}
	list, _, err := b.svc.List(ctx, b.acct, "", 0)
	if err != nil || len(list) != 0 {
		t.Fatalf("refused orders were stored: %d, %v", len(list), err)
	}
	if _, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns", CSR: good}); err != nil {
		t.Fatalf("a matching CSR was refused: %v", err)
	}
}

// TestCertificateOfACSROrder: the certificate of an order made with a CSR
// says so, and carries no key.
func TestCertificateOfACSROrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"csr.applicant.com"}, Method: "dns", CSR: csrPEM(t, ec, "csr.applicant.com")})
	if err != nil {
		t.Fatal(err)
	}
	b.DNS.Add(`_dnsauth.csr.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	if res, err := b.svc.Check(ctx, b.acct, o.ID); err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", res, err)
	}
	if err := b.svc.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	c, err := b.svc.Certificate(ctx, b.acct, o.ID, true)
	if err != nil || !c.HasCSR || c.PrivateKey != "" || c.PrivateKeyErased {
		t.Fatalf("certificate: %+v, %v; want has_csr and no key", c, err)
	}
}

func TestValueExpires(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.dnsOrder(t, "a.applicant.com")
	b.Clock.Add(order.DefaultValueValidity)
	// Shown expired before any check records it: not "pending" with the
	// instructions of a value that can no longer pass.
	v, err := b.svc.Get(ctx, b.acct, o.ID)
	if err != nil || v.Status != order.StatusExpired || v.Domains[0].Status != order.StatusExpired || !hasCode(v.Domains[0].Findings, diagnose.CodeValueExpired) || v.RecheckAt != nil {
		t.Fatalf("order shown after its value expired: %+v, %v", v, err)
	}
	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != order.StatusExpired || res.Domains[0].Status != order.StatusExpired || !hasCode(res.Domains[0].Findings, diagnose.CodeValueExpired) {
		t.Fatalf("got %s / %s %v", res.Status, res.Domains[0].Status, codes(res.Domains[0].Findings))
	}
}

// TestValueExpiringWarned: a check that leaves a domain pending when its
// value expires before the next check may run says so, with the time.
func TestValueExpiringWarned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.dnsOrder(t, "a.applicant.com")
	tests := []struct {
		name    string
		advance time.Duration // from the order's creation
		want    bool
	}{
		{"long before expiry: no warning", time.Hour, false},
		{"the next check comes after expiry: warned", order.DefaultValueValidity - order.DefaultCheckInterval/2, true},
	}
	created := b.Clock.Now()
	for _, tt := range tests {
		b.Clock.Set(created.Add(tt.advance))
		res, err := b.svc.Check(ctx, b.acct, o.ID)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := hasCode(res.Domains[0].Findings, diagnose.CodeValueExpiring)
		if got != tt.want || res.Domains[0].Status != order.StatusPending {
			t.Errorf("%s: status %s, findings %v; want VALUE_EXPIRING %v", tt.name, res.Domains[0].Status, codes(res.Domains[0].Findings), tt.want)
		}
		for _, f := range res.Domains[0].Findings {
			if f.Code == diagnose.CodeValueExpiring && f.ETA != nil {
				// An ETA is when a retry is expected to succeed (the
				// API's eta, the CLI's "expected by"): none will.
				t.Errorf("%s: VALUE_EXPIRING has an ETA, %s, as if a retry would pass then", tt.name, f.ETA)
			}
			if got && f.Blocking() && (f.Retryable || f.ETA != nil || !strings.HasPrefix(f.Fix, "This order's value expires at ")) {
				// The record to add would be checked after the value
				// expired (console run: "add the record", retryable).
				t.Errorf("%s: %s retryable %v, ETA %v, fix %q; want final, and a new order first", tt.name, f.Code, f.Retryable, f.ETA, f.Fix)
			}
		}
		if got {
			// Stored with the check: the order shows it too.
			v, err := b.svc.Get(ctx, b.acct, o.ID)
			if err != nil || !hasCode(v.Domains[0].Findings, diagnose.CodeValueExpiring) {
				t.Errorf("%s: the order shown lacks the warning: %v", tt.name, err)
			}
		}
	}
}

// TestExpiredWhileThrottled: a check asked for after the value expired,
// while the check interval since the last one still runs, answers that
// the value expired (what the order shows), not "checked too often".
func TestExpiredWhileThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o := b.dnsOrder(t, "a.applicant.com")
	b.Clock.Add(order.DefaultValueValidity - time.Minute)
	if _, err := b.svc.Check(ctx, b.acct, o.ID); err != nil {
		t.Fatal(err)
	}
	b.Clock.Add(2 * time.Minute) // expired, and within the check interval
	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil {
		t.Fatalf("check after expiry within the interval: %v, want the expiry", err)
	}
	if res.Status != order.StatusExpired || res.Domains[0].Status != order.StatusExpired || !hasCode(res.Domains[0].Findings, diagnose.CodeValueExpired) {
		t.Fatalf("got %s / %s %v, want expired with VALUE_EXPIRED", res.Status, res.Domains[0].Status, codes(res.Domains[0].Findings))
	}
}

// TestUnicodeShown: an internationalised name is ordered in its ASCII form
// and shown in its Unicode form too.
func TestUnicodeShown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o, err := b.svc.Create(context.Background(), b.acct, order.CreateRequest{Domains: []string{"Bücher.applicant.com", "www.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range o.Domains {
		got[d.Domain] = d.Unicode
	}
	if got["xn--bcher-kva.applicant.com"] != "bücher.applicant.com" || got["www.applicant.com"] != "" || len(got) != 2 {
		t.Errorf("domains %v, want the A-label with its Unicode form, and an ASCII name without", got)
	}
	// A check shows them so too (console run).
	res, err := b.svc.Check(context.Background(), b.acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]string{}
	for _, d := range res.Domains {
		got[d.Domain] = d.Unicode
	}
	if got["xn--bcher-kva.applicant.com"] != "bücher.applicant.com" || got["www.applicant.com"] != "" || len(got) != 2 {
		t.Errorf("checked domains %v, want the A-label with its Unicode form, and an ASCII name without", got)
	}
}

func TestConfigLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := order.New(order.Config{Store: b.Store, Observer: nil, Issuer: b.CA})
	if err == nil {
		t.Fatal("a service without observer was built")
	}
	r, _ := perspective.New(mustValidator(t))
	if _, err := order.New(order.Config{Store: b.Store, Observer: r, Issuer: b.CA, ValueValidity: 31 * 24 * time.Hour}); err == nil {
		t.Fatal("a 31-day value validity was accepted")
	}
}

func mustValidator(t *testing.T) *validation.Validator {
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{"127.0.0.1:53"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCheckNamesAnotherOrdersValue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.DNS.Add("a.applicant.com. 300 IN A " + b.Web.IP.String())
	first, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "file"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "file"})
	if err != nil {
		t.Fatal(err)
	}
	// The applicant uploaded the first order's file, then checks the second.
	b.Web.SetFile("a.applicant.com", validation.FilePath, 200, first.Domains[0].Instructions.Content)
	res, err := b.svc.Check(ctx, b.acct, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	fs := res.Domains[0].Findings
	if len(fs) == 0 || fs[0].Code != diagnose.CodeFileContentMismatch || !strings.Contains(fs[0].Message, "value of another of your orders") {
		t.Fatalf("findings %+v, want FILE_CONTENT_MISMATCH naming another order", fs)
	}
	// A renewal: the first order was issued, and a third one is checked
	// with the first's file still in place.
	if err := b.Store.OrderSetStatus(ctx, first.ID, order.StatusIssued, order.StatusIssued, ""); err != nil {
		t.Fatal(err)
	}
	third, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "file"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = b.svc.Check(ctx, b.acct, third.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fs := res.Domains[0].Findings; len(fs) == 0 || fs[0].Code != diagnose.CodeFileContentMismatch || !strings.Contains(fs[0].Message, "an earlier one already issued") {
		t.Fatalf("renewal findings %+v, want FILE_CONTENT_MISMATCH naming the issued order's value", fs)
	}
}

// TestCheckNamesTheOrdersOtherDomain: a record holding the value of
// another domain of the same order is named as such, with the host it
// belongs at.
func TestCheckNamesTheOrdersOtherDomain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.DNS.Add("s.applicant.com. 300 IN A "+b.Web.IP.String(), "www.s.applicant.com. 300 IN A "+b.Web.IP.String())
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"s.applicant.com", "www.s.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	// www's value published at the apex's host.
	b.DNS.Add(`_dnsauth.s.applicant.com. 300 IN TXT "` + o.Domains[1].Instructions.Value + `"`)
	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	fs := res.Domains[0].Findings
	if len(fs) == 0 || fs[0].Code != diagnose.CodeDNSRecordMismatch || !strings.Contains(fs[0].Message, "the one for www.s.applicant.com, another domain of this order: it belongs at _dnsauth.www.s.applicant.com") {
		t.Fatalf("findings %+v, want DNS_RECORD_MISMATCH naming www's value", fs)
	}
}

// TestFileDomainsShareOneValue: names served from one web root (apex and
// www) pass together, so an order's file-validated domains share a value;
// DNS-validated ones get their own.
func TestFileDomainsShareOneValue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{
		Domains: []string{"applicant.com", "www.applicant.com", "mail.applicant.com"},
		Method:  "file", Methods: map[string]string{"mail.applicant.com": "dns"},
	})
	if err != nil {
		t.Fatal(err)
	}
	apex, www, mail := o.Domains[0].Instructions, o.Domains[1].Instructions, o.Domains[2].Instructions
	if apex.Content == "" || apex.Content != www.Content {
		t.Fatalf("file contents %q and %q differ", apex.Content, www.Content)
	}
	if mail.Value == "" || mail.Value == apex.Content {
		t.Fatalf("dns value %q reuses the file value %q", mail.Value, apex.Content)
	}
	// One web root serving one file validates both names.
	for _, n := range []string{"applicant.com", "www.applicant.com"} {
		b.DNS.Add(n + ". 300 IN A " + b.Web.IP.String())
	}
	b.Web.SetFile("", validation.FilePath, 200, apex.Content)
	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Domains[:2] {
		if d.Status != order.StatusApproved {
			t.Errorf("%s: %s %v", d.Domain, d.Status, codes(d.Findings))
		}
	}
}

// TestCheckRechecksCAAOfEarlierApprovals: a domain approved by an earlier
// check, a minute or a day before the check that approves the order's last
// domain, has its CAA records looked up again in that check (CA/B Forum BR
// §3.2.2.8 allows 8 hours; the check's own diagnosis must agree with the
// issuance): a record published since that names another CA sends it back
// to pending with CAA_FORBIDS; one that names dcv lets the order be
// approved.
func TestCheckRechecksCAAOfEarlierApprovals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		caa      string
		status   string
		aStatus  string
		wantCode diagnose.Code
	}{
		{"CAA now names another CA", `0 issue "other-ca.example"`, order.StatusPending, order.StatusPending, diagnose.CodeCAAForbids},
		{"CAA names dcv", `0 issue "` + ordertest.CAAIdentity + `"`, order.StatusApproved, order.StatusApproved, diagnose.CodeApprovedPendingIssuance},
	}
	for _, later := range []time.Duration{interval + time.Minute, 24 * time.Hour} {
		for _, tt := range tests {
			t.Run(later.String()+" later: "+tt.name, func(t *testing.T) {
				t.Parallel()
				checkRechecksCAA(t, later, tt.caa, tt.status, tt.aStatus, tt.wantCode)
			})
		}
	}
}

// checkRechecksCAA approves a.applicant.com, then, later, publishes
// b.applicant.com's record and the CAA record caa at a, checks, and wants
// the order in status, a in aStatus with the finding wantCode.
func checkRechecksCAA(t *testing.T, later time.Duration, caa, status, aStatus string, wantCode diagnose.Code) {
	tt := struct {
		caa, status, aStatus string
		wantCode             diagnose.Code
	}{caa, status, aStatus, wantCode}
	b := setup(t)
	ctx := context.Background()
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"a.applicant.com", "b.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	b.DNS.Add(`_dnsauth.a.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil || res.Status != order.StatusPending || res.Domains[0].Status != order.StatusApproved {
		t.Fatalf("first check: %+v, %v; want a.applicant.com approved", res, err)
	}
	// Later b is published, and a's CAA has changed.
	b.Clock.Add(later)
	b.DNS.Add(`_dnsauth.b.applicant.com. 300 IN TXT "`+o.Domains[1].Instructions.Value+`"`, "a.applicant.com. 300 IN CAA "+tt.caa)
	res, err = b.svc.Check(ctx, b.acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != tt.status || res.Domains[0].Status != tt.aStatus || res.Domains[1].Status != order.StatusApproved {
		t.Fatalf("second check: order %s, a %s, b %s; want %s, %s, approved", res.Status, res.Domains[0].Status, res.Domains[1].Status, tt.status, tt.aStatus)
	}
	if !hasCode(res.Domains[0].Findings, tt.wantCode) || len(res.Domains[0].Evidence) == 0 {
		t.Errorf("a.applicant.com: findings %v, %d observations; want %s with the CAA evidence", codes(res.Domains[0].Findings), len(res.Domains[0].Evidence), tt.wantCode)
	}
	// The order as shown agrees with the check.
	v, err := b.svc.Get(ctx, b.acct, o.ID)
	if err != nil || v.Status != tt.status || v.Domains[0].Status != tt.aStatus {
		t.Errorf("order view: %+v, %v", v, err)
	}
}

// TestIssueRefusesABlockedKey: an order made with a CSR whose key is shown
// compromised afterwards is not issued: the write that would store the
// certificate refuses it, and the order becomes invalid saying why. A new
// order with that CSR is refused at once.
func TestIssueRefusesABlockedKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr := csrPEM(t, key, "k.applicant.com")
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"k.applicant.com"}, Method: "dns", CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := ca.SPKIHash(&key.PublicKey)
	if err := b.Store.KeyBlock(ctx, store.KeyBlock{SPKIHash: h, Serial: "00", BlockedAt: b.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	b.DNS.Add(`_dnsauth.k.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	if res, err := b.svc.Check(ctx, b.acct, o.ID); err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", res, err)
	}
	if err := b.svc.Issue(ctx, o.ID); !errors.Is(err, order.ErrPermanent) || !errors.Is(err, store.ErrKeyBlocked) {
		t.Fatalf("Issue = %v, want a permanent refusal of the blocked key", err)
	}
	v, err := b.svc.Get(ctx, b.acct, o.ID)
	if err != nil || v.Status != order.StatusInvalid || !strings.Contains(v.Error, "compromised") || v.Certificate != "" {
		t.Fatalf("order after the refusal: %+v, %v", v, err)
	}
	_, err = b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"k.applicant.com"}, Method: "dns", CSR: csr})
	if oe := orderErr(t, err); oe.Code != "CSR_KEY_COMPROMISED" {
		t.Errorf("a new order with the key: %+v", oe)
	}
}

// TestIssueRechecksCAAWhenLate: an issuance that runs more than
// order.CAARecheckAfter after the domains were observed (retries, an
// operator clearing a failure) looks CAA up again first: a record that now
// forbids issuance sends the order back to pending, saying why; once fixed,
// a check approves it again and it is issued.
func TestIssueRechecksCAAWhenLate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"late.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	b.DNS.Add(`_dnsauth.late.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	if res, err := b.svc.Check(ctx, b.acct, o.ID); err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", res, err)
	}
	b.Clock.Add(8 * time.Hour)
	b.DNS.Add(`late.applicant.com. 300 IN CAA 0 issue "other-ca.example"`)
	if err := b.svc.Issue(ctx, o.ID); !errors.Is(err, order.ErrPermanent) {
		t.Fatalf("late Issue = %v, want a permanent refusal", err)
	}
	v, err := b.svc.Get(ctx, b.acct, o.ID)
	if err != nil || v.Status != order.StatusPending || !strings.Contains(v.Error, "other-ca.example") || v.Certificate != "" {
		t.Fatalf("order after the refusal: %+v, %v", v, err)
	}
	// Pending again, it is planned for dcv's own check.
	b.Clock.Add(30 * time.Minute)
	if ids, err := b.svc.RecheckDue(ctx, 10); err != nil || len(ids) != 1 || ids[0] != o.ID {
		t.Errorf("due 30 minutes after the refusal: %v, %v; want the order", ids, err)
	}
	// The refusal rests on a recheck kept as evidence.
	rc, err := b.Store.CAARechecksByOrder(ctx, o.ID)
	if err != nil || len(rc) != 1 || rc[0].Allowed || rc[0].Domain != "late.applicant.com" || !strings.Contains(string(rc[0].Evidence), "other-ca.example") {
		t.Fatalf("CAA rechecks kept: %+v, %v; want one refusal naming other-ca.example", rc, err)
	}
	b.DNS.Remove("late.applicant.com.", dns.TypeCAA)
	if res, err := b.svc.Check(ctx, b.acct, o.ID); err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check after the fix: %+v, %v", res, err)
	}
	if err := b.svc.Issue(ctx, o.ID); err != nil {
		t.Fatalf("Issue after the fix: %v", err)
	}
	if v, err := b.svc.Get(ctx, b.acct, o.ID); err != nil || v.Status != order.StatusIssued {
		t.Fatalf("order after the fix: %+v, %v", v, err)
	}
}

// TestLateIssueCAASideFailure: when the CAA recheck of a late issuance
// fails on the CA's side (a remote perspective unavailable), nothing is
// signed, the job is to be retried (not a permanent failure), and the
// order stays approved: nothing for the applicant to do.
func TestLateIssueCAASideFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"ca-side.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	b.DNS.Add(`_dnsauth.ca-side.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	if res, err := b.svc.Check(ctx, b.acct, o.ID); err != nil || res.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", res, err)
	}
	b.Clock.Add(8 * time.Hour)
	// The same store, served by a runner that needs a remote perspective
	// none of which is enrolled.
	runner, err := perspective.NewRunner(perspective.Config{Primary: b.Validator, MinRemotes: 1})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := order.New(order.Config{Store: b.Store, Observer: runner, Issuer: b.Issuer, Clock: b.Clock})
	if err != nil {
		t.Fatal(err)
	}
	err = svc.Issue(ctx, o.ID)
	if err == nil || errors.Is(err, order.ErrPermanent) || !strings.Contains(err.Error(), "CA's side") {
		t.Fatalf("Issue = %v, want a retryable failure on the CA's side", err)
	}
	if v, err := b.svc.Get(ctx, b.acct, o.ID); err != nil || v.Status != order.StatusApproved || v.Error != "" || v.Certificate != "" {
		t.Fatalf("order after the failure: %+v, %v; want approved, no error text", v, err)
	}
}

// TestAccountNames: names in any script are accepted, with the joiners and
// direction marks their scripts and emoji need; names are compared without
// case, compatibility forms or invisible characters, so a look-alike of a
// name in use is refused; characters that break lines or reorder text are
// refused.
func TestAccountNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tests := []struct {
		name string
		want string // error code, "" for created
	}{
		{"Zoë", ""},
		{"Zoe\u0308", "ACCOUNT_EXISTS"}, // the same, decomposed
		{"李雷", ""},
		{"فناوری\u200cهای نوین", ""}, // Persian needs the zero-width non-joiner
		{"👩\u200d💻 team", ""},        // an emoji ZWJ sequence
		{"Ca\u200brol", ""},
		{"José", ""},
		{"Jose\u200d\u0301", "ACCOUNT_EXISTS"}, // a joiner keeps the accent from composing
		{"Jose\u034f\u0301", "ACCOUNT_EXISTS"},
		{"Carol", "ACCOUNT_EXISTS"}, // the zero-width space above is not compared
		{"ＣＡＲＯＬ", "ACCOUNT_EXISTS"},
		{"abc\u202ecba", "INVALID_ACCOUNT_NAME"},
		{"a\u2066b", "INVALID_ACCOUNT_NAME"},
		{"a\u2029b", "INVALID_ACCOUNT_NAME"},
		{"a\ue000b", "INVALID_ACCOUNT_NAME"},
		{"\u200d\u200d", "INVALID_ACCOUNT_NAME"},
	}
	for _, tt := range tests {
		_, err := b.svc.CreateAccount(ctx, nil, tt.name, false)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CreateAccount(%q) = %v, want it created", tt.name, err)
		case tt.want != "" && (err == nil || orderErr(t, err).Code != tt.want):
			t.Errorf("CreateAccount(%q) = %v, want %s", tt.name, err, tt.want)
		}
	}
}

// TestRecheck: dcv checks a pending order on its own, as the check's
// answer and the throttle's message promise. A new order is planned for a
// first check once the applicant has had time to publish; a check that
// leaves it pending plans the next; the planned check approves it once the
// record is there, and queues its issuance. A check the applicant ran
// meanwhile holds the throttle: the plan then moves to when it lets go.
func TestRecheck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"auto.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	due := func() []string {
		t.Helper()
		ids, err := b.svc.RecheckDue(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if ids := due(); len(ids) != 0 {
		t.Fatalf("due at once: %v, want none before the applicant has had time to publish", ids)
	}
	// The order says when.
	if o.RecheckAt == nil || !o.RecheckAt.Equal(b.Clock.Now().Add(interval)) {
		t.Errorf("created order's recheck_at %v, want in %v", o.RecheckAt, interval)
	}
	if v, err := b.svc.Get(ctx, b.acct, o.ID); err != nil || v.RecheckAt == nil || !v.RecheckAt.Equal(*o.RecheckAt) {
		t.Errorf("order view's recheck_at %+v, %v; want %v", v, err, o.RecheckAt)
	}
	b.Clock.Add(interval)
	if ids := due(); len(ids) != 1 || ids[0] != o.ID {
		t.Fatalf("due after %v: %v, want the new order", interval, ids)
	}
	// The applicant checks first: nothing published yet.
	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil || res.Status != order.StatusPending || res.RecheckAt == nil || !res.RecheckAt.Equal(b.Clock.Now().Add(interval)) {
		t.Fatalf("check: %+v, %v; want pending, rechecked in %v", res, err, interval)
	}
	if ids := due(); len(ids) != 0 {
		t.Fatalf("due right after a check: %v", ids)
	}
	b.DNS.Add(`_dnsauth.auto.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
	b.Clock.Add(interval)
	if ids := due(); len(ids) != 1 {
		t.Fatalf("due after the plan: %v", ids)
	}
	if err := b.svc.Recheck(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	v, err := b.svc.Get(ctx, b.acct, o.ID)
	if err != nil || v.Status != order.StatusApproved {
		t.Fatalf("after dcv's own check: %+v, %v; want approved", v, err)
	}
	if b.sched.count(o.ID) != 1 {
		t.Errorf("issuance queued %d times, want once", b.sched.count(o.ID))
	}
	if ids := due(); len(ids) != 0 {
		t.Errorf("an approved order still due: %v", ids)
	}

	// The throttle held by the applicant's check moves the plan.
	p, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"held.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	b.Clock.Add(interval)
	if _, err := b.svc.Check(ctx, b.acct, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.Store.OrderSetRecheck(ctx, p.ID, b.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Recheck(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if ids := due(); len(ids) != 0 {
		t.Fatalf("due while the throttle holds: %v", ids)
	}
	b.Clock.Add(interval)
	if ids := due(); len(ids) != 1 || ids[0] != p.ID {
		t.Fatalf("due once the throttle lets go: %v", ids)
	}

	// Past RecheckFor, an order still due (a plan of before, or a check
	// cut short) is checked no more on dcv's own, and no longer due.
	b.Clock.Add(order.RecheckFor)
	before, err := b.Store.CheckListByOrder(ctx, p.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Recheck(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	after, err := b.Store.CheckListByOrder(ctx, p.ID, "", 100)
	if err != nil || len(after) != len(before) {
		t.Errorf("checks after RecheckFor: %d, want %d (none more), %v", len(after), len(before), err)
	}
	if ids := due(); len(ids) != 0 {
		t.Errorf("due after RecheckFor: %v", ids)
	}
	// The applicant's own check says nothing of dcv's checks any more.
	res, err = b.svc.Check(ctx, b.acct, p.ID)
	if err != nil || res.RecheckAt != nil {
		t.Errorf("check after RecheckFor: recheck_at %v, %v; want none", res.RecheckAt, err)
	}
}

// count is how many times id was queued.
func (s *recordingScheduler) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.ids {
		if x == id {
			n++
		}
	}
	return n
}

// TestRecheckCutShort: dcv's own check cut short by its deadline leaves
// its order planned for later, not due again at the next run.
func TestRecheckCutShort(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o, err := b.svc.Create(context.Background(), b.acct, order.CreateRequest{Domains: []string{"slow.applicant.com"}, Method: "dns"})
	if err != nil {
		t.Fatal(err)
	}
	b.Clock.Add(interval)
	// The domain's server answers slower than the run's time lasts.
	b.DNS.SetDelay("_dnsauth.slow.applicant.com", 3*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_ = b.svc.Recheck(ctx, o.ID)
	ids, err := b.svc.RecheckDue(context.Background(), 10)
	if err != nil || len(ids) != 0 {
		t.Fatalf("due after a check cut short: %v, %v; want none until its next time", ids, err)
	}
	// What it observed until then is kept, with the throttle's slot it took.
	if cs, err := b.Store.CheckListByOrder(context.Background(), o.ID, "", 10); err != nil || len(cs) != 1 {
		t.Errorf("checks kept: %d, %v; want 1", len(cs), err)
	}
	b.Clock.Add(interval)
	if ids, err := b.svc.RecheckDue(context.Background(), 10); err != nil || len(ids) != 1 {
		t.Fatalf("due at its next time: %v, %v", ids, err)
	}
}

// TestNewOrderLimit: an account that is not an admin makes at most
// NewOrderLimit orders through the API (each is observed, by dcv on its
// own too); past it, RATE_LIMITED with when to retry. An admin is not
// limited.
func TestNewOrderLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	svc, err := order.New(order.Config{Store: b.Store, Observer: b.Runner, Issuer: b.Issuer, Clock: b.Clock,
		NewOrderLimit: ratelimit.Limit{Name: "new orders per account", Count: 2, Period: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	create := func(acct *store.Account, name string) error {
		_, err := svc.Create(ctx, acct, order.CreateRequest{Domains: []string{name}, Method: "dns"})
		return err
	}
	for _, n := range []string{"l1.applicant.com", "l2.applicant.com"} {
		if err := create(b.acct, n); err != nil {
			t.Fatalf("order %s: %v", n, err)
		}
	}
	err = create(b.acct, "l3.applicant.com")
	if oe := orderErr(t, err); oe.Kind != order.KindThrottled || oe.Code != "RATE_LIMITED" || oe.RetryAfter <= 0 || !strings.Contains(oe.Message, "at most 2 per hour") {
		t.Fatalf("third order: %+v, want RATE_LIMITED", oe)
	}
	if err := create(b.other, "o1.applicant.com"); err != nil {
		t.Errorf("another account's order: %v, want it made (limits are per account)", err)
	}
	admin := b.NewAccount(t, "operator")
	admin.Admin = true
	for _, n := range []string{"a1.applicant.com", "a2.applicant.com", "a3.applicant.com"} {
		if err := create(admin, n); err != nil {
			t.Errorf("an admin's order %s: %v, want no limit", n, err)
		}
	}
	b.Clock.Add(time.Hour)
	if err := create(b.acct, "l3.applicant.com"); err != nil {
		t.Errorf("an hour later: %v", err)
	}
}

// TestCASideFailureGivesTheSlotBack: a check blocked only by the CA's own
// failure (here no remote perspective enrolled where one is required) may
// be followed by another after a minute, not the whole check interval: the
// applicant did nothing wrong. A check that finds the domain's fault keeps
// the interval.
func TestCASideFailureGivesTheSlotBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		minRemotes int
		next       time.Duration // after the check's time
	}{
		{"the CA's side", 1, time.Minute},
		{"the domain's fault", 0, order.DefaultCheckInterval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			runner, err := perspective.NewRunner(perspective.Config{Primary: b.Validator, MinRemotes: tt.minRemotes})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := order.New(order.Config{Store: b.Store, Observer: runner, Issuer: b.Issuer, Clock: b.Clock})
			if err != nil {
				t.Fatal(err)
			}
			o, err := svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"slot.applicant.com"}, Method: "dns"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.minRemotes > 0 {
				// Published: only the CA's side blocks.
				b.DNS.Add(`_dnsauth.slot.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
			}
			res, err := svc.Check(ctx, b.acct, o.ID)
			if err != nil || res.Status != order.StatusPending || res.NextCheck == nil {
				t.Fatalf("check: %+v, %v", res, err)
			}
			if got := res.NextCheck.Sub(res.CheckedAt); got != tt.next {
				t.Errorf("next check %v after the check, want %v", got, tt.next)
			}
			b.Clock.Add(time.Minute)
			_, err = svc.Check(ctx, b.acct, o.ID)
			if throttled := err != nil && orderErr(t, err).Code == string(diagnose.CodeCheckTooFrequent); throttled != (tt.next > time.Minute) {
				t.Errorf("a check a minute later: %v; want throttled %v", err, tt.next > time.Minute)
			}
		})
	}
}

// TestETANotBeforeNextCheck: a finding's ETA is when a retry may pass, so
// it is never before the next check the throttle allows: a web server's
// Retry-After of a minute, with a check interval of five, gives the time
// of the next check allowed.
func TestETANotBeforeNextCheck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.DNS.Add("busy.applicant.com. 300 IN A " + b.Web.IP.String())
	b.Web.Handle("busy.applicant.com", validation.FilePath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	o, err := b.svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"busy.applicant.com"}, Method: "file"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.svc.Check(ctx, b.acct, o.ID)
	if err != nil || res.NextCheck == nil {
		t.Fatalf("check: %+v, %v", res, err)
	}
	found := false
	for _, f := range res.Domains[0].Findings {
		if f.ETA == nil {
			continue
		}
		found = true
		if f.ETA.Before(*res.NextCheck) {
			t.Errorf("%s: ETA %s before the next check allowed, %s", f.Code, f.ETA, res.NextCheck)
		}
	}
	if !found {
		t.Fatalf("no finding with an ETA: %+v", res.Domains[0].Findings)
	}
}
