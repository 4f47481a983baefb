package order_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
)

// testJWK is an ACME account key (P-256, public), for tests that sign
// nothing with it.
const testJWK = `{"crv":"P-256","kty":"EC","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}`

// newTestACME returns the ACME decisions of w's service with the given
// validation budget (0: the default; negative: answer "processing" at
// once); the test waits for its validations when it ends.
func newTestACME(t *testing.T, w *ordertest.Stack, budget time.Duration) *order.ACME {
	t.Helper()
	a, err := order.NewACME(w.Service, order.ACMEConfig{AccountURL: func(id string) string { return "https://ca.dcv-test.net/acct/" + id }, ValidationBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Wait)
	return a
}

// newACMEAccount registers a fresh P-256 account key with a and returns
// the account, the key and the key's thumbprint.
func newACMEAccount(t *testing.T, a *order.ACME) (*store.ACMEAccount, *ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`,
		base64.RawURLEncoding.EncodeToString(key.X.FillBytes(make([]byte, 32))), base64.RawURLEncoding.EncodeToString(key.Y.FillBytes(make([]byte, 32))))
	acct, thumb := registerACME(t, a, jwk)
	return acct, key, thumb
}

// adminOf returns the admin account of w's service, as its API key
// authenticates it.
func adminOf(t *testing.T, w *ordertest.Stack) *store.Account {
	t.Helper()
	ctx := context.Background()
	av, err := w.Service.EnsureAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := w.Service.Authenticate(ctx, av.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	return admin
}

// registerACME registers the account of jwk with a and returns it with
// the key's thumbprint (RFC 7638), which key authorizations use.
func registerACME(t *testing.T, a *order.ACME, jwk string) (*store.ACMEAccount, string) {
	t.Helper()
	sum := sha256.Sum256([]byte(jwk))
	thumb := base64.RawURLEncoding.EncodeToString(sum[:])
	acct, _, err := a.Register(context.Background(), order.ACMERegistration{KeyJWK: []byte(jwk), KeyThumbprint: thumb, TermsAgreed: true})
	if err != nil {
		t.Fatal(err)
	}
	return acct, thumb
}

// TestACMELongNames: a name whose _acme-challenge host would exceed 253
// characters is offered http-01 and tls-alpn-01 but not dns-01; a wildcard
// of that length, which only dns-01 can prove, is refused with
// rejectedIdentifier naming the host, and nothing is stored.
func TestACMELongNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	a := newTestACME(t, w, 5*time.Second)
	acct, _ := registerACME(t, a, testJWK)
	// 240 characters: _acme-challenge.<it> has 256.
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 34) + ".applicant.com"
	if len(long) != 240 {
		t.Fatalf("long has %d characters", len(long))
	}
	ov, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: long}}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := a.Authz(ctx, acct, ov.AuthzIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, c := range z.Challenges {
		types = append(types, c.Type)
	}
	if !slices.Equal(types, []string{"http-01", "tls-alpn-01"}) {
		t.Errorf("challenges offered: %v, want http-01 and tls-alpn-01", types)
	}

	wild := "*." + long
	_, err = a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: "ok.applicant.com"}, {Type: "dns", Value: wild}}})
	var ae *order.ACMEError
	if !errors.As(err, &ae) || ae.Type != order.ACMERejectedIdentifier || !strings.Contains(ae.Detail, "_acme-challenge."+long) || !strings.Contains(ae.Detail, "256 characters") {
		t.Fatalf("wildcard order: %+v, want rejectedIdentifier naming the host", err)
	}
	list, _, err := a.OrderIDs(ctx, acct, "")
	if err != nil || len(list) != 1 {
		t.Errorf("orders stored: %d, %v; want only the first", len(list), err)
	}
}

// TestACMEValidationLostInACrash: a validation left "processing" by a
// process that died is started again by the next one at the client's first
// poll, not 3 minutes later: one process serves a data directory, so no
// earlier validation will ever be recorded.
func TestACMEValidationLostInACrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	first := newTestACME(t, w, 0)
	acct, thumb := registerACME(t, first, testJWK)
	const name = "crash.applicant.com"
	ov, err := first.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: name}}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := first.Authz(ctx, acct, ov.AuthzIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	// The first process started the validation, stored as "processing",
	// and died before its outcome was recorded.
	if err := w.Store.ACMEChallengeStart(ctx, z.ID, "dns-01", w.Clock.Now(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// The next process, a second later, with the record published.
	w.Clock.Add(time.Second)
	digest := validation.KeyAuthorizationDigest(order.KeyAuthorization(z.Challenges[0].Token, thumb))
	w.DNS.Add(fmt.Sprintf(`_acme-challenge.%s. 60 IN TXT "%s"`, name, digest))
	second := newTestACME(t, w, 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := second.Authz(ctx, acct, z.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == "valid" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("authorization %s 5 s after the restart, want valid", got.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestACMEClockStepsBack: a validation this process runs is never started
// again while it runs, even when the wall clock steps back (NTP, a resumed
// virtual machine) and it looks older than the process: the client's
// polls find it processing, and it is recorded once.
func TestACMEClockStepsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var logs testenv.SyncBuffer
	w := ordertest.New(t, ordertest.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	a := newTestACME(t, w, -1) // the POST answers "processing" at once
	acct, thumb := registerACME(t, a, testJWK)
	const name = "step.applicant.com"
	ov, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: name}}})
	if err != nil {
		t.Fatal(err)
	}
	z, err := a.Authz(ctx, acct, ov.AuthzIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	digest := validation.KeyAuthorizationDigest(order.KeyAuthorization(z.Challenges[0].Token, thumb))
	w.DNS.Add(fmt.Sprintf(`_acme-challenge.%s. 60 IN TXT "%s"`, name, digest))
	w.DNS.SetDelay("_acme-challenge."+name, 700*time.Millisecond) // a slow nameserver
	w.Clock.Add(-10 * time.Second)                                // the clock steps back
	if _, err := a.StartChallenge(ctx, acct, z.ID, "dns-01"); err != nil {
		t.Fatal(err)
	}
	for range 10 { // a client polling every 100 ms
		time.Sleep(100 * time.Millisecond)
		if _, err := a.Authz(ctx, acct, z.ID); err != nil {
			t.Fatal(err)
		}
	}
	a.Wait()
	if n := strings.Count(logs.String(), "recording acme validation"); n > 0 {
		t.Errorf("%d validations of one challenge ran at once and lost their record:\n%s", n, logs.String())
	}
	if got, err := a.Authz(ctx, acct, z.ID); err != nil || got.Status != "valid" {
		t.Errorf("authorization: %+v, %v; want valid", got, err)
	}
}

// TestNextCRLNumber: CRL numbers are the signing time in microseconds, or
// one more than the last when CRLs come faster or the clock steps back.
func TestNextCRLNumber(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := ordertest.New(t, ordertest.Options{})
	now := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	var last int64
	for i, at := range []time.Time{now, now, now.Add(time.Second), now.Add(-time.Hour)} {
		n, err := w.Service.NextCRLNumber(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if n <= last || (i == 0 && n != now.UnixMicro()) || (i == 2 && n != now.Add(time.Second).UnixMicro()) {
			t.Errorf("number %d at %v: %d after %d", i, at, n, last)
		}
		last = n
	}
}
