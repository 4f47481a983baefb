package acme_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	xacme "golang.org/x/crypto/acme"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/store"
)

func acctID(w *world, c *xacme.Client) string {
	return strings.TrimPrefix(string(c.KID), w.srv.URL+"/acme/acct/")
}

// TestOrderValidityRefused: notBefore and notAfter (RFC 8555 §7.4) are
// refused with a sentence that says what to do instead, and store nothing.
func TestOrderValidityRefused(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	for _, tc := range []struct{ name, extra string }{
		{"notBefore", `"notBefore":"2030-01-01T00:00:00Z"`},
		{"notAfter", `"notAfter":"2030-02-01T00:00:00Z"`},
		{"both", `"notBefore":"2030-01-01T00:00:00Z","notAfter":"2030-02-01T00:00:00Z"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := w.st.OrderListByAccount(ctx, acctID(w, c), "", 100)
			payload := `{"identifiers":[{"type":"dns","value":"v.applicant.com"}],` + tc.extra + `}`
			st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: w.srv.URL + "/acme/new-order", payload: payload})
			d, _ := m["detail"].(string)
			if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:malformed" ||
				!strings.Contains(d, "notBefore and notAfter are not supported") || !strings.Contains(d, "profile") {
				t.Fatalf("got %d %v; want 400 malformed naming notBefore and the profiles", st, m)
			}
			if after, _ := w.st.OrderListByAccount(ctx, acctID(w, c), "", 100); len(after) != len(before) {
				t.Fatalf("the refused order was stored")
			}
		})
	}
}

// TestAccountOrdersList: the account's orders URL (RFC 8555 §7.1.2.1)
// lists its orders, newest first, and no other account's.
func TestAccountOrdersList(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c, other := w.client(t), w.client(t)
	ctx := context.Background()
	acct, err := c.GetReg(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	var authzs []string
	for _, n := range []string{"l1.applicant.com", "l2.applicant.com", "l3.applicant.com"} {
		o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs(n))
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{o.URI}, want...)
		authzs = append(authzs, o.AuthzURLs[0])
	}
	// An order made invalid (its authorization deactivated) is not listed
	// (the list "SHOULD NOT include orders that are invalid").
	if err := c.RevokeAuthorization(ctx, authzs[1]); err != nil {
		t.Fatal(err)
	}
	want = slices.Delete(want, 1, 2)
	if _, err := other.AuthorizeOrder(ctx, xacme.DomainIDs("theirs.applicant.com")); err != nil {
		t.Fatal(err)
	}
	ordersURL := acct.OrdersURL
	if ordersURL != acct.URI+"/orders" {
		t.Fatalf("account orders URL %q", ordersURL)
	}
	resp := w.postAsGet(t, c, ordersURL)
	var list struct{ Orders []string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if strings.Join(list.Orders, " ") != strings.Join(want, " ") {
		t.Fatalf("orders %v, want newest first %v", list.Orders, want)
	}
	// Another account cannot list them.
	st, m := w.post(t, raw{alg: jose.ES256, key: other.Key, kid: string(other.KID), nonce: w.nonce(t), url: ordersURL})
	if st != http.StatusForbidden || m["type"] != "urn:ietf:params:acme:error:unauthorized" {
		t.Fatalf("listing another account's orders: %d %v", st, m)
	}
	// The list is read with POST-as-GET (RFC 8555 §7.1.2.1), like every
	// resource: a payload, even {}, is refused.
	st, m = w.post(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: ordersURL, payload: `{}`})
	if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:malformed" || !strings.Contains(fmt.Sprint(m["detail"]), "POST-as-GET") {
		t.Fatalf("listing orders with a payload: %d %v", st, m)
	}
}

// TestAuthzDeactivation: RFC 8555 §7.5.2, a client deactivates a pending
// authorization; its order becomes invalid; deactivating again, or another
// account's authorization, is refused and changes nothing.
func TestAuthzDeactivation(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c, other := w.client(t), w.client(t)
	ctx := context.Background()
	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("da.applicant.com", "db.applicant.com"))
	if err != nil {
		t.Fatal(err)
	}
	u := o.AuthzURLs[0]
	id := u[strings.LastIndexByte(u, '/')+1:]

	// Another account: 404, still pending.
	st, m := w.post(t, raw{alg: jose.ES256, key: other.Key, kid: string(other.KID), nonce: w.nonce(t), url: u, payload: `{"status":"deactivated"}`})
	if st != http.StatusNotFound || m["type"] != "urn:ietf:params:acme:error:malformed" {
		t.Fatalf("deactivating another account's authorization: %d %v", st, m)
	}
	// A status other than deactivated: malformed.
	st, m = w.post(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: u, payload: `{"status":"valid"}`})
	if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:malformed" || !strings.Contains(m["detail"].(string), "deactivated") {
		t.Fatalf("setting an authorization valid: %d %v", st, m)
	}
	if z, err := w.st.ACMEAuthzGet(ctx, id); err != nil || z.Status != store.ACMEStatusPending {
		t.Fatalf("authorization after refusals: %+v, %v", z, err)
	}

	if err := c.RevokeAuthorization(ctx, u); err != nil {
		t.Fatal(err)
	}
	z, err := c.GetAuthorization(ctx, u)
	if err != nil || z.Status != xacme.StatusDeactivated {
		t.Fatalf("authorization after deactivation: %+v, %v", z, err)
	}
	if got, err := c.GetOrder(ctx, o.URI); err != nil || got.Status != xacme.StatusInvalid {
		t.Fatalf("order of a deactivated authorization: %+v, %v; want invalid", got, err)
	}
	// Again: malformed, and it stays deactivated.
	st, m = w.post(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: u, payload: `{"status":"deactivated"}`})
	if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:malformed" || !strings.Contains(m["detail"].(string), "cannot be deactivated") {
		t.Fatalf("deactivating twice: %d %v", st, m)
	}
	if z, _ := w.st.ACMEAuthzGet(ctx, id); z.Status != store.ACMEStatusDeactivated {
		t.Fatalf("stored status %s", z.Status)
	}
	// Its challenge can no longer be started.
	var ch *xacme.Challenge
	for _, cc := range z.Challenges {
		if cc.Type == "dns-01" {
			ch = cc
		}
	}
	// Answering it "pending" would have the client wait for a validation
	// that never runs: malformed, naming the state.
	got, err := c.Accept(ctx, ch)
	if err == nil {
		t.Fatalf("challenge of a deactivated authorization: %+v, want malformed", got)
	}
	assertProblem(t, err, "malformed", http.StatusBadRequest)
	assertDetail(t, err, "is deactivated", "can no longer be validated", "place a new order for da.applicant.com")
	if z, _ := w.st.ACMEAuthzGet(ctx, id); z.Status != store.ACMEStatusDeactivated || z.Challenges[1].Status != store.ACMEStatusPending {
		t.Fatalf("a deactivated authorization was validated: %+v", z)
	}
	// A new order for the name gets a fresh authorization.
	o2, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("da.applicant.com"))
	if err != nil || o2.AuthzURLs[0] == u || o2.Status != xacme.StatusPending {
		t.Fatalf("new order after deactivation: %+v, %v", o2, err)
	}
}

// TestAccountOrdersPages: a list longer than a page is paginated with
// Link rel="next" (RFC 8555 §7.1.2.1), whose URL, query included, is the
// JWS url of the next request; the pages together are the whole list.
func TestAccountOrdersPages(t *testing.T) {
	t.Parallel()
	w := setupWith(t, func(c *order.ACMEConfig) { c.OrdersPerPage = 2 })
	c := w.client(t)
	ctx := context.Background()
	acct, err := c.GetReg(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range []string{"p1.applicant.com", "p2.applicant.com", "p3.applicant.com"} {
		o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs(n))
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{o.URI}, want...)
	}
	var got []string
	next := acct.OrdersURL
	for pages := 0; next != ""; pages++ {
		if pages == 3 {
			t.Fatalf("more pages than orders: %v", got)
		}
		resp := w.postAsGet(t, c, next)
		var list struct{ Orders []string }
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		if len(list.Orders) > 2 {
			t.Fatalf("page of %d orders, want at most 2", len(list.Orders))
		}
		got = append(got, list.Orders...)
		next = ""
		for _, l := range resp.Header.Values("Link") {
			if u, ok := strings.CutSuffix(l, `>;rel="next"`); ok {
				next = strings.TrimPrefix(u, "<")
			}
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("pages together %v, want %v", got, want)
	}
	// A cursor that is no order of this account would end the list with
	// an empty page, as if there were no more orders: malformed.
	other := w.client(t)
	oo, err := other.AuthorizeOrder(ctx, xacme.DomainIDs("other.applicant.com"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, cursor string }{
		{"not an id", "%21bad"},
		{"no such order", "garbage"},
		{"another account's order", oo.URI[strings.LastIndexByte(oo.URI, '/')+1:]},
	} {
		st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: string(c.KID), nonce: w.nonce(t), url: acct.OrdersURL + "?cursor=" + tc.cursor})
		if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:malformed" {
			t.Errorf("cursor %s: %d %v, want 400 malformed", tc.name, st, m)
		}
	}
}
