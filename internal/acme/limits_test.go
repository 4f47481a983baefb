package acme_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	xacme "golang.org/x/crypto/acme"

	"github.com/dcvhq/dcv/internal/clientaddr"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/ratelimit"
)

// retryAt matches the "(at <RFC 3339 time>)" a rateLimited detail ends with.
var retryAt = regexp.MustCompile(`\(at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)`)

// assertRateLimited checks a 429 rateLimited answer (RFC 8555 §6.6): a
// Retry-After of about wantRetry seconds, and a detail that names the limit
// and says when to retry, consistently with the header.
func assertRateLimited(t *testing.T, st int, h http.Header, m map[string]any, limit string, wantRetry time.Duration) {
	t.Helper()
	if st != http.StatusTooManyRequests || m["type"] != "urn:ietf:params:acme:error:rateLimited" {
		t.Fatalf("got %d %v; want 429 rateLimited", st, m)
	}
	ra, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || (time.Duration(ra)*time.Second-wantRetry).Abs() > 2*time.Second {
		t.Fatalf("Retry-After %q, want about %v", h.Get("Retry-After"), wantRetry)
	}
	d, _ := m["detail"].(string)
	if !strings.Contains(d, "too many "+limit) || !strings.Contains(d, "retry after") {
		t.Errorf("detail %q does not name the limit %q and when to retry", d, limit)
	}
	at := retryAt.FindStringSubmatch(d)
	if at == nil {
		t.Fatalf("detail %q has no retry time", d)
	}
	when, _ := time.Parse(time.RFC3339, at[1])
	if got := time.Until(when); (got - time.Duration(ra)*time.Second).Abs() > 3*time.Second {
		t.Errorf("detail says retry at %s (in %v), Retry-After says %ds", at[1], got, ra)
	}
}

// TestRateLimits drives each ACME limit (GCRA, package ratelimit) past a
// tiny configured allowance: the request over it is 429 rateLimited with
// Retry-After, and stores nothing.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	limits := order.ACMELimits{
		NewOrdersPerAccount:        ratelimit.Limit{Count: 2, Period: time.Hour},
		FailedValidationsPerDomain: ratelimit.Limit{Count: 1, Period: time.Hour},
		NewAccountsPerIP:           ratelimit.Limit{Count: 3, Period: 3 * time.Hour},
	}
	setupLimited := func(t *testing.T) *world {
		t.Helper()
		return setupWith(t, func(c *order.ACMEConfig) { c.Limits = limits })
	}
	newOrderPayload := func(n string) string { return `{"identifiers":[{"type":"dns","value":"` + n + `"}]}` }

	t.Run("new orders per account", func(t *testing.T) {
		t.Parallel()
		w := setupLimited(t)
		c, other := w.client(t), w.client(t)
		ctx := context.Background()
		for _, n := range []string{"o1.applicant.com", "o2.applicant.com"} {
			if _, err := c.AuthorizeOrder(ctx, xacme.DomainIDs(n)); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := w.st.OrderListByAccount(ctx, acctID(w, c), "", 100)
		st, h, m := w.send(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: newOrderPayload("o3.applicant.com")})
		// Two per hour: the next one is allowed in half an hour.
		assertRateLimited(t, st, h, m, "new orders per account", 30*time.Minute)
		if !strings.Contains(m["detail"].(string), "at most 2 per hour") {
			t.Errorf("detail %q does not state the allowance", m["detail"])
		}
		if after, _ := w.st.OrderListByAccount(ctx, acctID(w, c), "", 100); len(after) != len(before) {
			t.Fatalf("the limited order was stored")
		}
		// The limit is per account.
		if _, err := other.AuthorizeOrder(ctx, xacme.DomainIDs("o3.applicant.com")); err != nil {
			t.Fatalf("another account's order: %v", err)
		}
	})

	t.Run("new nonces per IP address", func(t *testing.T) {
		t.Parallel()
		// A limit of its own: the other tests' clients take nonces too.
		w := setupWith(t, func(c *order.ACMEConfig) {
			c.Limits = order.ACMELimits{NewNoncesPerIP: ratelimit.Limit{Count: 3, Period: time.Minute}}
		})
		head := func() *http.Response {
			t.Helper()
			req, _ := http.NewRequest(http.MethodHead, w.srv.URL+"/acme/new-nonce", nil)
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		for range 3 {
			if resp := head(); resp.StatusCode != http.StatusOK || resp.Header.Get("Replay-Nonce") == "" {
				t.Fatalf("newNonce within the limit: %s, nonce %q", resp.Status, resp.Header.Get("Replay-Nonce"))
			}
		}
		// Over it: refused, and without a nonce (the refusals would mint
		// what the limit withholds).
		resp := head()
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Replay-Nonce") != "" || ra < 15 || ra > 21 {
			t.Errorf("newNonce over the limit: %s, nonce %q, Retry-After %q; want 429, no nonce, about 20 s", resp.Status, resp.Header.Get("Replay-Nonce"), resp.Header.Get("Retry-After"))
		}
		// Nor do refusals mint them past it: a POST to no resource, or
		// one that is no JWS (security review: 2000 nonces in 117 ms).
		for _, path := range []string{"/acme/no-such-resource", "/acme/new-order"} {
			req, _ := http.NewRequest(http.MethodPost, w.srv.URL+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/jose+json")
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.Header.Get("Replay-Nonce") != "" {
				t.Errorf("POST %s over the nonce limit: %s, nonce %q; want a refusal without a nonce", path, resp.Status, resp.Header.Get("Replay-Nonce"))
			}
		}
	})

	t.Run("a refusal after a spent nonce replaces it, past the limit too", func(t *testing.T) {
		t.Parallel()
		w := setupWith(t, func(c *order.ACMEConfig) {
			c.Limits = order.ACMELimits{NewNoncesPerIP: ratelimit.Limit{Count: 2, Period: time.Minute}}
		})
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		st, h, m := w.send(t, raw{alg: jose.ES256, key: key, jwk: true, nonce: w.nonce(t), url: w.srv.URL + "/acme/new-account", payload: `{"termsOfServiceAgreed":true}`})
		if st != http.StatusCreated {
			t.Fatalf("newAccount: %d %v", st, m)
		}
		kid, next := h.Get("Location"), h.Get("Replay-Nonce")
		w.nonce(t) // the second and last of the minute
		// The newOrder spends next, and its refusal (a name refused)
		// hands out the one that replaces it.
		st, h, _ = w.send(t, raw{alg: jose.ES256, key: key, kid: kid, nonce: next, url: w.srv.URL + "/acme/new-order", payload: `{"identifiers":[{"type":"dns","value":"localhost"}]}`})
		if st != http.StatusBadRequest || h.Get("Replay-Nonce") == "" {
			t.Errorf("refused newOrder past the nonce limit: %d, nonce %q; want 400 with a nonce replacing the one spent", st, h.Get("Replay-Nonce"))
		}
	})

	t.Run("refusals count as new nonces", func(t *testing.T) {
		t.Parallel()
		w := setupWith(t, func(c *order.ACMEConfig) {
			c.Limits = order.ACMELimits{NewNoncesPerIP: ratelimit.Limit{Count: 2, Period: time.Minute}}
		})
		var got []bool
		for range 3 {
			req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/acme/no-such-resource", strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/jose+json")
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got = append(got, resp.Header.Get("Replay-Nonce") != "")
		}
		if !slices.Equal(got, []bool{true, true, false}) {
			t.Errorf("refusals with a nonce: %v; want the first 2 (the limit), not the third", got)
		}
	})

	t.Run("failed validations per domain per account", func(t *testing.T) {
		t.Parallel()
		w := setupLimited(t)
		c, other := w.client(t), w.client(t)
		ctx := context.Background()
		w.dns.Add("fail.applicant.com. 60 IN A " + w.web.IP.String())
		if got, err := c.Accept(ctx, http01Of(t, c, "fail.applicant.com")); err != nil || got.Status != xacme.StatusInvalid {
			t.Fatalf("failing challenge: %+v, %v", got, err)
		}
		before, _ := w.st.OrderListByAccount(ctx, acctID(w, c), "", 100)
		st, h, m := w.send(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: newOrderPayload("fail.applicant.com")})
		assertRateLimited(t, st, h, m, "failed validations per domain per account", time.Hour)
		if !strings.Contains(m["detail"].(string), "(for fail.applicant.com)") {
			t.Errorf("detail %q does not name the domain", m["detail"])
		}
		// The wildcard of the same base domain counts against it too.
		st, h, m = w.send(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: newOrderPayload("*.fail.applicant.com")})
		assertRateLimited(t, st, h, m, "failed validations per domain per account", time.Hour)
		if after, _ := w.st.OrderListByAccount(ctx, acctID(w, c), "", 100); len(after) != len(before) {
			t.Fatalf("a limited order was stored")
		}
		// The refused orders spent none of the order allowance (2 per hour,
		// one used by the failed order): the second order still passes.
		if _, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("ok1.applicant.com")); err != nil {
			t.Fatalf("second order of the hour: %v", err)
		}
		// Another account is not limited for the domain.
		if _, err := other.AuthorizeOrder(ctx, xacme.DomainIDs("fail.applicant.com")); err != nil {
			t.Fatalf("another account's order: %v", err)
		}
	})

	t.Run("failures on the CA's side are not the applicant's", func(t *testing.T) {
		t.Parallel()
		// A remote perspective is required and none is enrolled: every
		// validation fails on the certificate authority's side.
		w := setupStack(t, ordertest.Options{MinRemotes: 1}, func(c *order.ACMEConfig) { c.Limits = limits })
		c := w.client(t)
		ctx := context.Background()
		const name = "ca-side.applicant.com"
		w.dns.Add(name + ". 60 IN A " + w.web.IP.String())
		for i := range 2 {
			ch := http01Of(t, c, name)
			ka, _ := c.HTTP01ChallengeResponse(ch.Token)
			w.web.SetFile(name, c.HTTP01ChallengePath(ch.Token), 200, ka)
			got, err := c.Accept(ctx, ch)
			if err != nil || got.Status != xacme.StatusInvalid {
				t.Fatalf("validation %d: %+v, %v; want invalid", i+1, got, err)
			}
			// The problem names the operator's side, not the applicant's.
			var p *xacme.Error
			if !errors.As(got.Error, &p) || p.ProblemType != "urn:ietf:params:acme:error:serverInternal" || !strings.Contains(p.Detail, "certificate authority's side") {
				t.Fatalf("validation %d: error %v, want serverInternal on the certificate authority's side", i+1, got.Error)
			}
			// ... and spends nothing of the failed-validations limit (1 per
			// hour): the second attempt is validated, not refused.
		}
	})

	t.Run("failed validations limit at the challenge", func(t *testing.T) {
		t.Parallel()
		w := setupLimited(t)
		c := w.client(t)
		ctx := context.Background()
		w.dns.Add("fail2.applicant.com. 60 IN A " + w.web.IP.String())
		// Two orders for the domain before any validation: both allowed.
		chals := []*xacme.Challenge{http01Of(t, c, "fail2.applicant.com"), http01Of(t, c, "fail2.applicant.com")}
		if got, err := c.Accept(ctx, chals[0]); err != nil || got.Status != xacme.StatusInvalid {
			t.Fatalf("failing challenge: %+v, %v", got, err)
		}
		// The limit (1 per hour) is reached: the second order's challenge
		// is refused without being validated, and stays pending.
		st, h, m := w.send(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: chals[1].URI, payload: `{}`})
		assertRateLimited(t, st, h, m, "failed validations per domain per account", time.Hour)
		if got, err := c.GetChallenge(ctx, chals[1].URI); err != nil || got.Status != xacme.StatusPending {
			t.Fatalf("the refused challenge: %+v, %v; want it pending", got, err)
		}
	})

	t.Run("new accounts per IP", func(t *testing.T) {
		t.Parallel()
		w := setupLimited(t)
		for range 3 {
			w.client(t)
		}
		k := newKey(t)
		st, h, m := w.send(t, raw{alg: jose.ES256, key: k, jwk: true, nonce: w.nonce(t), url: w.srv.URL + "/acme/new-account", payload: `{"termsOfServiceAgreed":true}`})
		// Three per three hours: the next one in an hour.
		assertRateLimited(t, st, h, m, "new accounts per IP address", time.Hour)
		w.assertNoAccount(t, k)
	})

	// Behind a reverse proxy every request comes from the proxy's address:
	// a trusted proxy's X-Forwarded-For names the client counted, while an
	// untrusted peer's header is ignored (a client cannot pick the address
	// it is counted by).
	for _, tt := range []struct {
		name    string
		trusted string
		limited bool // the 4th account, from a 4th forwarded address
	}{
		{"new accounts per forwarded IP behind a trusted proxy", "127.0.0.0/8,::1", false},
		{"new accounts per IP: X-Forwarded-For of an untrusted peer ignored", "192.0.2.0/24", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prefixes, err := clientaddr.ParsePrefixes(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			w := setupFront(t, ordertest.Options{}, func(c *order.ACMEConfig) { c.Limits = limits }, clientaddr.New(prefixes).Handler)
			for i := range 4 {
				c := &xacme.Client{Key: newKey(t), DirectoryURL: w.srv.URL + "/acme/directory",
					HTTPClient: &http.Client{Transport: forwardedFor{base: w.srv.Client().Transport, addr: fmt.Sprintf("198.51.100.%d", i+1)}},
					RetryBackoff: func(n int, _ *http.Request, resp *http.Response) time.Duration {
						if n > 3 || resp == nil || resp.StatusCode == http.StatusTooManyRequests {
							return 0 // a 429 is the answer looked for
						}
						return 10 * time.Millisecond
					}}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := c.Register(ctx, &xacme.Account{}, xacme.AcceptTOS)
				cancel()
				var p *xacme.Error
				limited := errors.As(err, &p) && p.ProblemType == "urn:ietf:params:acme:error:rateLimited"
				if err != nil && !limited {
					t.Fatalf("account %d: %v", i+1, err)
				}
				if want := tt.limited && i == 3; limited != want {
					t.Errorf("account %d from 198.51.100.%d: rate limited %v, want %v", i+1, i+1, limited, want)
				}
			}
		})
	}
}

// forwardedFor is a transport that adds X-Forwarded-For: addr to every
// request, as a reverse proxy in front of dcv does.
type forwardedFor struct {
	base http.RoundTripper
	addr string
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Add("X-Forwarded-For", f.addr)
	return f.base.RoundTrip(r)
}

// http01Of orders name with c and returns the http-01 challenge of its
// authorization.
func http01Of(t *testing.T, c *xacme.Client, name string) *xacme.Challenge {
	t.Helper()
	ctx := context.Background()
	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs(name))
	if err != nil {
		t.Fatal(err)
	}
	z, err := c.GetAuthorization(ctx, o.AuthzURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range z.Challenges {
		if ch.Type == "http-01" {
			return ch
		}
	}
	t.Fatalf("no http-01 challenge for %s", name)
	return nil
}
