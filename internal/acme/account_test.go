package acme_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	xacme "golang.org/x/crypto/acme"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/store"
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// thumbprintOf is the RFC 7638 thumbprint of k's public key, as the store
// keys accounts by it.
func thumbprintOf(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	b, err := (&jose.JSONWebKey{Key: k.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// assertNoAccount checks that no account was stored for key k.
func (w *world) assertNoAccount(t *testing.T, k *ecdsa.PrivateKey) {
	t.Helper()
	if a, err := w.st.ACMEAccountGetByThumbprint(context.Background(), thumbprintOf(t, k)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an account was stored for the refused key: %+v, %v", a, err)
	}
}

func (w *world) newClient(k crypto.Signer) *xacme.Client {
	return &xacme.Client{Key: k, DirectoryURL: w.srv.URL + "/acme/directory", HTTPClient: w.srv.Client()}
}

// createEABKey asks the REST API, as the admin, for an EAB key.
func (w *world) createEABKey(t *testing.T, apiKey string) (int, *xacme.ExternalAccountBinding) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/api/v1/eab-keys", nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v order.EABKeyView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil && resp.StatusCode == http.StatusCreated {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, nil
	}
	key, err := base64.RawURLEncoding.DecodeString(v.HMACKey)
	if err != nil || len(key) != 64 || !strings.HasPrefix(v.KeyID, "eab_") || strings.HasPrefix(v.HMACKey, "-") {
		t.Fatalf("EAB key %q (%d bytes, %v)", v.KeyID, len(key), err)
	}
	return resp.StatusCode, &xacme.ExternalAccountBinding{KID: v.KeyID, Key: key}
}

// TestExternalAccountBinding runs RFC 8555 §7.3.4 against a server that
// requires it: the directory says so, a key an admin created binds exactly
// one account, and every refusal leaves the store as it was.
func TestExternalAccountBinding(t *testing.T) {
	t.Parallel()
	w := setupWith(t, func(c *order.ACMEConfig) { c.RequireEAB = true })
	ctx := context.Background()

	d, err := w.newClient(newKey(t)).Discover(ctx)
	if err != nil || !d.ExternalAccountRequired {
		t.Fatalf("directory: externalAccountRequired %v, %v", d.ExternalAccountRequired, err)
	}
	if st, _ := w.createEABKey(t, "not-a-key"); st != http.StatusUnauthorized {
		t.Fatalf("EAB key without a valid API key: %d, want 401", st)
	}
	_, eab := w.createEABKey(t, w.admin)

	// Without EAB: externalAccountRequired, 403 (a 401 would need a
	// WWW-Authenticate header ACME has no scheme for).
	k := newKey(t)
	_, err = w.newClient(k).Register(ctx, &xacme.Account{}, xacme.AcceptTOS)
	assertProblem(t, err, "externalAccountRequired", http.StatusForbidden)
	assertDetail(t, err, "External Account Binding")
	w.assertNoAccount(t, k)

	// A MAC made with another key: unauthorized, and the EAB key stays unbound.
	wrong := &xacme.ExternalAccountBinding{KID: eab.KID, Key: slices.Repeat([]byte{7}, 32)}
	_, err = w.newClient(k).Register(ctx, &xacme.Account{ExternalAccountBinding: wrong}, xacme.AcceptTOS)
	assertProblem(t, err, "unauthorized", http.StatusForbidden)
	assertDetail(t, err, "MAC does not verify")
	w.assertNoAccount(t, k)

	// An unknown key id: unauthorized.
	unknown := &xacme.ExternalAccountBinding{KID: "eab_nosuchkey", Key: eab.Key}
	_, err = w.newClient(k).Register(ctx, &xacme.Account{ExternalAccountBinding: unknown}, xacme.AcceptTOS)
	assertProblem(t, err, "unauthorized", http.StatusForbidden)
	assertDetail(t, err, "does not exist")
	w.assertNoAccount(t, k)
	if ek, err := w.st.EABKeyGet(ctx, eab.KID); err != nil || ek.AccountID != "" {
		t.Fatalf("EAB key after refusals: %+v, %v; want unbound", ek, err)
	}

	// The right binding: 201, and the key is bound to the account.
	c := w.newClient(k)
	acct, err := c.Register(ctx, &xacme.Account{Contact: []string{"mailto:ops@applicant.com"}, ExternalAccountBinding: eab}, xacme.AcceptTOS)
	if err != nil {
		t.Fatalf("register with EAB: %v", err)
	}
	id := strings.TrimPrefix(acct.URI, w.srv.URL+"/acme/acct/")
	if ek, err := w.st.EABKeyGet(ctx, eab.KID); err != nil || ek.AccountID != id {
		t.Fatalf("EAB key %+v, %v; want bound to %s", ek, err, id)
	}
	if a, err := w.st.ACMEAccountGet(ctx, id); err != nil || a.EABKeyID != eab.KID {
		t.Fatalf("account %+v, %v; want EAB key %s", a, err, eab.KID)
	}

	// The same account key with its binding again: the existing account
	// (RFC 8555 §7.3.1), not a refusal of the now bound EAB key.
	_, err = w.newClient(k).Register(ctx, &xacme.Account{ExternalAccountBinding: eab}, xacme.AcceptTOS)
	if !errors.Is(err, xacme.ErrAccountAlreadyExists) {
		t.Fatalf("re-registering the bound key: %v, want the existing account", err)
	}

	// The same EAB key for another account key: refused, nothing stored.
	k2 := newKey(t)
	_, err = w.newClient(k2).Register(ctx, &xacme.Account{ExternalAccountBinding: eab}, xacme.AcceptTOS)
	assertProblem(t, err, "unauthorized", http.StatusForbidden)
	assertDetail(t, err, "already bound")
	w.assertNoAccount(t, k2)
	if ek, _ := w.st.EABKeyGet(ctx, eab.KID); ek.AccountID != id {
		t.Fatalf("EAB key rebound to %s", ek.AccountID)
	}

	// A binding whose payload is not the account key: unauthorized.
	_, eab2 := w.createEABKey(t, w.admin)
	k3 := newKey(t)
	nonce := w.nonce(t)
	inner := eabJWS(t, eab2, k2.Public(), w.srv.URL+"/acme/new-account")
	st, m := w.post(t, raw{alg: jose.ES256, key: k3, jwk: true, nonce: nonce, url: w.srv.URL + "/acme/new-account",
		payload: `{"termsOfServiceAgreed":true,"externalAccountBinding":` + inner + `}`})
	if st != http.StatusForbidden || m["type"] != "urn:ietf:params:acme:error:unauthorized" || !strings.Contains(m["detail"].(string), "not the account key") {
		t.Fatalf("binding of another key: %d %v", st, m)
	}
	w.assertNoAccount(t, k3)
	if ek, _ := w.st.EABKeyGet(ctx, eab2.KID); ek.AccountID != "" {
		t.Fatalf("EAB key bound by a refused request")
	}
}

// eabJWS builds an External Account Binding JWS by hand (RFC 8555 §7.3.4):
// HS256 under the EAB key, "kid" the key id, "url" the newAccount URL, and
// the given public key as payload.
func eabJWS(t *testing.T, eab *xacme.ExternalAccountBinding, pub crypto.PublicKey, url string) string {
	t.Helper()
	return eabJWSWith(t, jose.HS256, eab, pub, url)
}

// eabJWSWith is eabJWS with the MAC algorithm alg.
func eabJWSWith(t *testing.T, alg jose.SignatureAlgorithm, eab *xacme.ExternalAccountBinding, pub crypto.PublicKey, url string) string {
	t.Helper()
	payload, err := (&jose.JSONWebKey{Key: pub}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.SignerOptions{}).WithHeader("kid", eab.KID).WithHeader("url", url)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: eab.Key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	return j.FullSerialize()
}

// TestEABAlgorithms: a binding may use HS256, HS384 or HS512 with the keys
// dcv issues (512 bits); a key too short for the algorithm (one made when
// keys had 256 bits) and an algorithm that is no MAC are
// badSignatureAlgorithm listing the MAC algorithms that would do, and bind
// nothing.
func TestEABAlgorithms(t *testing.T) {
	t.Parallel()
	w := setupWith(t, func(c *order.ACMEConfig) { c.RequireEAB = true })
	tests := []struct {
		name  string
		alg   jose.SignatureAlgorithm
		short bool
		// wantAlgs, when set, is the badSignatureAlgorithm's list.
		wantAlgs []any
	}{
		{name: "HS256", alg: jose.HS256},
		{name: "HS384", alg: jose.HS384},
		{name: "HS512", alg: jose.HS512},
		{name: "HS256 with a 256-bit key", alg: jose.HS256, short: true},
		{name: "HS512 with a 256-bit key", alg: jose.HS512, short: true, wantAlgs: []any{"HS256"}},
		{name: "not a MAC", alg: jose.ES256, wantAlgs: []any{"HS256", "HS384", "HS512"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var eab *xacme.ExternalAccountBinding
			if tt.short {
				eab = &xacme.ExternalAccountBinding{KID: "eab_short_" + string(tt.alg), Key: slices.Repeat([]byte{9}, 32)}
				if err := w.st.EABKeyCreate(t.Context(), store.EABKey{KeyID: eab.KID, HMACKey: eab.Key, CreatedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
			} else {
				_, eab = w.createEABKey(t, w.admin)
			}
			k := newKey(t)
			url := w.srv.URL + "/acme/new-account"
			var inner string
			switch {
			case tt.alg == jose.ES256:
				// A binding signed like an account request: the header
				// says ES256.
				hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"` + eab.KID + `","url":"` + url + `"}`))
				inner = `{"protected":"` + hdr + `","payload":"e30","signature":"AAAA"}`
			case tt.wantAlgs != nil:
				// go-jose refuses to MAC with a key too short: by hand.
				jwk, _ := (&jose.JSONWebKey{Key: k.Public()}).MarshalJSON()
				hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + string(tt.alg) + `","kid":"` + eab.KID + `","url":"` + url + `"}`))
				pl := base64.RawURLEncoding.EncodeToString(jwk)
				mac := hmac.New(sha512.New, eab.Key)
				mac.Write([]byte(hdr + "." + pl))
				inner = `{"protected":"` + hdr + `","payload":"` + pl + `","signature":"` + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) + `"}`
			default:
				inner = eabJWSWith(t, tt.alg, eab, k.Public(), url)
			}
			st, m := w.post(t, raw{alg: jose.ES256, key: k, jwk: true, nonce: w.nonce(t), url: url,
				payload: `{"termsOfServiceAgreed":true,"externalAccountBinding":` + inner + `}`})
			if tt.wantAlgs == nil {
				if st != http.StatusCreated {
					t.Fatalf("newAccount: %d %v, want 201", st, m)
				}
				return
			}
			if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:badSignatureAlgorithm" || !reflect.DeepEqual(m["algorithms"], tt.wantAlgs) {
				t.Fatalf("newAccount: %d %v, want badSignatureAlgorithm with algorithms %v", st, m, tt.wantAlgs)
			}
			w.assertNoAccount(t, k)
		})
	}
}

func assertDetail(t *testing.T, err error, words ...string) {
	t.Helper()
	var ae *xacme.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an ACME problem", err)
	}
	for _, w := range words {
		if !strings.Contains(ae.Detail, w) {
			t.Errorf("detail %q lacks %q", ae.Detail, w)
		}
	}
}

// TestAccountLifecycle covers onlyReturnExisting (RFC 8555 §7.3.1), account
// update (§7.3.2) and deactivation (§7.3.6).
func TestAccountLifecycle(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	newAccount := w.srv.URL + "/acme/new-account"

	// onlyReturnExisting with an unknown key: accountDoesNotExist.
	k := newKey(t)
	st, m := w.post(t, raw{alg: jose.ES256, key: k, jwk: true, nonce: w.nonce(t), url: newAccount, payload: `{"onlyReturnExisting":true}`})
	if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:accountDoesNotExist" {
		t.Fatalf("onlyReturnExisting for an unknown key: %d %v", st, m)
	}
	w.assertNoAccount(t, k)

	c := w.client(t)
	acct, err := c.GetReg(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(acct.URI, w.srv.URL+"/acme/acct/")
	// onlyReturnExisting with a known key: 200 and the account's URL.
	st, h, m := w.send(t, raw{alg: jose.ES256, key: c.Key, jwk: true, nonce: w.nonce(t), url: newAccount, payload: `{"onlyReturnExisting":true}`})
	if st != http.StatusOK || h.Get("Location") != acct.URI || m["status"] != "valid" {
		t.Fatalf("onlyReturnExisting for a known key: %d %s %v", st, h.Get("Location"), m)
	}

	// Update: new contacts replace the old ones; the same address twice
	// is kept once.
	acct.Contact = []string{"mailto:certs@applicant.com", "mailto:noc@applicant.com", "mailto:certs@Applicant.COM"}
	got, err := c.UpdateReg(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	want := "mailto:certs@applicant.com mailto:noc@applicant.com"
	if strings.Join(got.Contact, " ") != want {
		t.Fatalf("contacts after update: %v", got.Contact)
	}
	// Refused updates: the problem, and the stored contacts unchanged.
	for _, tc := range []struct{ name, payload, typ, detail string }{
		{"invalid mailto", `{"contact":["mailto:not an address"]}`, "invalidContact", "not a valid e-mail address"},
		{"two addresses in one", `{"contact":["mailto:a@applicant.com,b@applicant.com"]}`, "invalidContact", "exactly one e-mail address"},
		{"not a URL", `{"contact":["ops@applicant.com"]}`, "invalidContact", "not a URL"},
		{"special-use domain", `{"contact":["mailto:a@example.invalid"]}`, "invalidContact", "cannot receive mail"},
		{"IP literal", `{"contact":["mailto:user@[192.0.2.1]"]}`, "invalidContact", "IP literal"},
		{"local part over 64", `{"contact":["mailto:` + strings.Repeat("a", 65) + `@applicant.com"]}`, "invalidContact", "longer than 64"},
		{"tel", `{"contact":["tel:+15555550100"]}`, "unsupportedContact", "only mailto:"},
		{"non-ASCII domain", `{"contact":["mailto:a@bücher.example.com"]}`, "invalidContact", "non-ASCII character ('ü'): write an internationalized domain as its xn-- form"},
		{"non-ASCII local part", `{"contact":["mailto:jürgen@applicant.com"]}`, "invalidContact", "non-ASCII character ('ü'): percent-encode it (RFC 6068 §2)"},
		{"status valid", `{"status":"valid"}`, "malformed", "deactivated"},
		{"contact not a list", `{"contact":"mailto:a@applicant.com"}`, "malformed", "contact"},
	} {
		st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: acct.URI, nonce: w.nonce(t), url: acct.URI, payload: tc.payload})
		if st != http.StatusBadRequest || m["type"] != "urn:ietf:params:acme:error:"+tc.typ || !strings.Contains(m["detail"].(string), tc.detail) {
			t.Errorf("%s: %d %v; want 400 %s with %q", tc.name, st, m, tc.typ, tc.detail)
		}
		if a, err := w.st.ACMEAccountGet(ctx, id); err != nil || strings.Join(a.Contact, " ") != want || a.Status != store.ACMEAccountValid {
			t.Fatalf("%s changed the account: %+v, %v", tc.name, a, err)
		}
	}
	// Another account's URL: unauthorized.
	other := w.client(t)
	st, m = w.post(t, raw{alg: jose.ES256, key: other.Key, kid: string(other.KID), nonce: w.nonce(t), url: acct.URI, payload: `{"status":"deactivated"}`})
	if st != http.StatusForbidden || m["type"] != "urn:ietf:params:acme:error:unauthorized" {
		t.Fatalf("deactivating another account: %d %v", st, m)
	}
	if a, _ := w.st.ACMEAccountGet(ctx, id); a.Status != store.ACMEAccountValid {
		t.Fatalf("another account deactivated this one")
	}

	// Deactivation; then the account's key authorizes nothing.
	o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs("deact.applicant.com"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeactivateReg(ctx); err != nil {
		t.Fatal(err)
	}
	if a, err := w.st.ACMEAccountGet(ctx, id); err != nil || a.Status != store.ACMEAccountDeactivated {
		t.Fatalf("account after deactivation: %+v, %v", a, err)
	}
	// Its pending order is cancelled (RFC 8555 §7.3.6, SHOULD).
	if so, err := w.st.OrderGet(ctx, o.URI[strings.LastIndexByte(o.URI, '/')+1:]); err != nil || so.Status != "invalid" || so.Error != store.OrderErrorAccountClosed+"deactivated" {
		t.Errorf("the account's pending order after deactivation: %+v, %v; want it invalid", so, err)
	}
	before, _ := w.st.OrderListByAccount(ctx, id, "", 100)
	for _, tc := range []struct{ name, url, payload string }{
		{"account", acct.URI, ""},
		{"new order", w.srv.URL + "/acme/new-order", `{"identifiers":[{"type":"dns","value":"late.applicant.com"}]}`},
		{"order", o.URI, ""},
		{"authorization", o.AuthzURLs[0], ""},
		{"reactivation", acct.URI, `{"status":"valid"}`},
	} {
		st, m := w.post(t, raw{alg: jose.ES256, key: c.Key, kid: acct.URI, nonce: w.nonce(t), url: tc.url, payload: tc.payload})
		// RFC 8555 §7.3.6: 401 (Unauthorized), type unauthorized.
		if st != http.StatusUnauthorized || m["type"] != "urn:ietf:params:acme:error:unauthorized" || !strings.Contains(m["detail"].(string), "deactivated") {
			t.Errorf("%s with a deactivated account: %d %v; want 401 unauthorized", tc.name, st, m)
		}
	}
	if after, _ := w.st.OrderListByAccount(ctx, id, "", 100); len(after) != len(before) {
		t.Fatalf("a deactivated account created an order")
	}
	// newAccount with the key makes no new account and is refused like
	// every other request the key signs (RFC 8555 §7.3.6), also with
	// onlyReturnExisting.
	for _, payload := range []string{`{"termsOfServiceAgreed":true}`, `{"onlyReturnExisting":true}`} {
		st, _, m = w.send(t, raw{alg: jose.ES256, key: c.Key, jwk: true, nonce: w.nonce(t), url: newAccount, payload: payload})
		if st != http.StatusUnauthorized || m["type"] != "urn:ietf:params:acme:error:unauthorized" || !strings.Contains(m["detail"].(string), "deactivated") {
			t.Errorf("newAccount %s with a deactivated key: %d %v; want 401 unauthorized", payload, st, m)
		}
	}
	if a, err := w.st.ACMEAccountGet(ctx, id); err != nil || a.Status != store.ACMEAccountDeactivated {
		t.Errorf("account after newAccount with its key: %+v, %v; want it deactivated", a, err)
	}
}

// TestTermsOfServiceRequired: with terms configured, the directory lists
// them and an account must agree to them.
func TestTermsOfServiceRequired(t *testing.T) {
	t.Parallel()
	const tos = "https://ca.example/terms/v1.pdf"
	w := setupWith(t, func(c *order.ACMEConfig) { c.TermsOfService = tos })
	ctx := context.Background()
	d, err := w.newClient(newKey(t)).Discover(ctx)
	if err != nil || d.Terms != tos {
		t.Fatalf("directory terms %q, %v", d.Terms, err)
	}
	k := newKey(t)
	st, h, m := w.send(t, raw{alg: jose.ES256, key: k, jwk: true, nonce: w.nonce(t), url: w.srv.URL + "/acme/new-account", payload: `{"contact":["mailto:ops@applicant.com"]}`})
	if st != http.StatusForbidden || m["type"] != "urn:ietf:params:acme:error:userActionRequired" || !strings.Contains(m["detail"].(string), tos) {
		t.Fatalf("account without agreeing: %d %v", st, m)
	}
	if link := strings.Join(h.Values("Link"), ", "); !strings.Contains(link, `<`+tos+`>;rel="terms-of-service"`) {
		t.Errorf("userActionRequired without the terms link: %q", link)
	}
	w.assertNoAccount(t, k)
	acct, err := w.newClient(k).Register(ctx, &xacme.Account{}, func(u string) bool { return u == tos })
	if err != nil {
		t.Fatalf("register agreeing to the terms: %v", err)
	}
	if a, err := w.st.ACMEAccountGet(ctx, strings.TrimPrefix(acct.URI, w.srv.URL+"/acme/acct/")); err != nil || !a.TermsAgreed {
		t.Fatalf("stored account %+v, %v; want terms agreed", a, err)
	}
}
