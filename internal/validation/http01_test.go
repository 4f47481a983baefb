package validation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	xacme "golang.org/x/crypto/acme"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// acmeToken is the challenge token of every ACME wire case: 43 base64url
// characters, as RFC 8555 §8.1 tokens are.
const acmeToken = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"

// acmeKeys are an account's key authorization of acmeToken and another
// account's, computed by x/crypto/acme (an implementation independent of
// dcv's) so that the cases do not check dcv against itself.
type acmeKeys struct {
	client         *xacme.Client
	keyAuth, other string
}

func newACMEKeys(t *testing.T) acmeKeys {
	t.Helper()
	mk := func() *xacme.Client {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return &xacme.Client{Key: k}
	}
	c, o := mk(), mk()
	ka, err := c.HTTP01ChallengeResponse(acmeToken)
	if err != nil {
		t.Fatal(err)
	}
	other, err := o.HTTP01ChallengeResponse(acmeToken)
	if err != nil {
		t.Fatal(err)
	}
	return acmeKeys{client: c, keyAuth: ka, other: other}
}

// diagnoseOne observes req and diagnoses it, failing the test on an error.
func diagnoseOne(t *testing.T, v *validation.Validator, req validation.Request) (validation.Observation, diagnose.Result) {
	t.Helper()
	obs, err := v.Observe(context.Background(), req)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if obs.Method != req.Method || obs.Domain != req.Domain || obs.Expected != req.Value {
		t.Fatalf("observation names %s %s %q; want %s %s %q", obs.Method, obs.Domain, obs.Expected, req.Method, req.Domain, req.Value)
	}
	return obs, diagnose.Domain([]validation.Observation{obs}, time.Now())
}

// checkVerdict asserts the diagnosis: approved without a blocking finding
// when code is "", else pending with code as the worst finding, whose
// message and fix contain the given words.
func checkVerdict(t *testing.T, res diagnose.Result, code diagnose.Code, msg, fix []string) {
	t.Helper()
	if code == "" {
		if res.Status != diagnose.StatusApproved {
			t.Fatalf("status %s, findings %+v; want approved", res.Status, res.Findings)
		}
		for _, f := range res.Findings {
			if f.Blocking() {
				t.Fatalf("approved with a blocking finding %+v", f)
			}
		}
		return
	}
	if res.Status != diagnose.StatusPending || len(res.Findings) == 0 {
		t.Fatalf("status %s, findings %+v; want pending with %s", res.Status, res.Findings, code)
	}
	f := res.Findings[0]
	if f.Code != code {
		t.Fatalf("worst finding %s (%q), want %s; all: %+v", f.Code, f.Message, code, res.Findings)
	}
	if f.Severity != diagnose.SeverityError {
		t.Errorf("severity %s, want error", f.Severity)
	}
	for _, want := range msg {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
	if f.Fix == "" {
		t.Errorf("%s has no fix", f.Code)
	}
	for _, want := range fix {
		if !strings.Contains(f.Fix, want) {
			t.Errorf("fix %q lacks %q", f.Fix, want)
		}
	}
}

// TestHTTP01OnTheWire observes http-01 (RFC 8555 §8.3) through a real DNS
// server, web server, resolver and fetcher on loopback, and checks both the
// evidence (the URL fetched, the answer kept) and the diagnosis.
func TestHTTP01OnTheWire(t *testing.T) {
	t.Parallel()
	const domain = "a.applicant.com"
	url := "http://" + domain + "/.well-known/acme-challenge/" + acmeToken
	if got := validation.HTTP01URL(domain, acmeToken); got != url {
		t.Fatalf("HTTP01URL = %q, want %q", got, url)
	}
	tests := []struct {
		name string
		// serve publishes the answer; k holds the key authorizations.
		serve  func(w *wireWorld, k acmeKeys)
		status int // of the fetch's final answer; 0 for none
		code   diagnose.Code
		msg    []string // "{web}" is the web server's IP, "{ka}" the key authorization, "{other}" the other one
		fix    []string
	}{
		{
			name:   "valid",
			serve:  func(w *wireWorld, k acmeKeys) { w.web.SetFile(domain, validation.HTTP01Path+acmeToken, 200, k.keyAuth) },
			status: 200,
		},
		{
			name: "valid with a final line break",
			serve: func(w *wireWorld, k acmeKeys) {
				w.web.SetFile(domain, validation.HTTP01Path+acmeToken, 200, k.keyAuth+"\n")
			},
			status: 200,
		},
		{
			// RFC 8555 §8.3: "The server SHOULD ignore whitespace characters
			// at the end of the body".
			name: "valid with trailing whitespace",
			serve: func(w *wireWorld, k acmeKeys) {
				w.web.SetFile(domain, validation.HTTP01Path+acmeToken, 200, k.keyAuth+" \t\r\n")
			},
			status: 200,
		},
		{
			name: "leading whitespace",
			serve: func(w *wireWorld, k acmeKeys) {
				w.web.SetFile(domain, validation.HTTP01Path+acmeToken, 200, " "+k.keyAuth)
			},
			status: 200,
			code:   diagnose.CodeFileContentMismatch,
			msg:    []string{url, `" {ka}"`},
			fix:    []string{"exactly the key authorization `{ka}`"},
		},
		{
			name:   "wrong key authorization",
			serve:  func(w *wireWorld, k acmeKeys) { w.web.SetFile(domain, validation.HTTP01Path+acmeToken, 200, k.other) },
			status: 200,
			code:   diagnose.CodeFileContentMismatch,
			msg:    []string{url, "{web}", "{other}", "the token with the thumbprint of another account key"},
			fix:    []string{"Use this account key's thumbprint", url},
		},
		{
			name:   "404",
			serve:  func(*wireWorld, acmeKeys) {},
			status: 404,
			code:   diagnose.CodeFileNotFound,
			msg:    []string{"{web}", "404 Not Found", url},
			fix:    []string{url, "port 80", ".well-known/acme-challenge/", domain},
		},
		{
			name: "403 from a firewall",
			serve: func(w *wireWorld, _ acmeKeys) {
				w.web.SetFile(domain, validation.HTTP01Path+acmeToken, http.StatusForbidden, "denied")
			},
			status: 403,
			code:   diagnose.CodeFileBadStatus,
			msg:    []string{"{web}", "403 Forbidden", url},
			fix:    []string{url, "status 200", "allow-list /.well-known/acme-challenge/"},
		},
		{
			name: "redirect",
			serve: func(w *wireWorld, _ acmeKeys) {
				w.web.Handle(domain, validation.HTTP01Path+acmeToken, func(rw http.ResponseWriter, r *http.Request) {
					http.Redirect(rw, r, "https://"+domain+r.URL.Path, http.StatusMovedPermanently)
				})
			},
			status: 301,
			code:   diagnose.CodeFileRedirected,
			msg:    []string{url + " → https://" + domain, "301 Moved Permanently"},
			fix:    []string{"exempt /.well-known/acme-challenge/ from the redirect"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := setupWire(t)
			k := newACMEKeys(t)
			w.dns.Add(domain + ". A " + w.web.IP.String())
			tc.serve(w, k)
			expand := strings.NewReplacer("{web}", w.web.IP.String(), "{ka}", k.keyAuth, "{other}", k.other).Replace

			obs, res := diagnoseOne(t, w.v, validation.Request{Domain: domain, Method: validation.MethodHTTP01, Value: k.keyAuth, Token: acmeToken})
			if obs.File == nil || obs.DNS != nil || obs.TLSALPN != nil {
				t.Fatalf("http-01 evidence: file %v, dns %v, tls-alpn %v; want the file fetch only", obs.File, obs.DNS, obs.TLSALPN)
			}
			if obs.File.URL != url || len(obs.File.Fetches) != 1 || obs.File.Fetches[0].URL != url {
				t.Fatalf("fetched %q (%d fetches); want one fetch of %q", obs.File.URL, len(obs.File.Fetches), url)
			}
			final := obs.File.Fetches[0].Final()
			if final == nil || final.Status != tc.status {
				t.Fatalf("final attempt %+v; want status %d", final, tc.status)
			}
			if want := fmt.Sprintf("%s:%d", w.web.IP, w.web.HTTPPort); final.Address != want {
				t.Errorf("address %s, want %s", final.Address, want)
			}
			checkVerdict(t, res, tc.code, expandAll(expand, tc.msg), expandAll(expand, tc.fix))
		})
	}
}

func expandAll(f func(string) string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// TestHTTP01FollowsRedirects: with an http-01 fetcher that follows
// redirects (RFC 8555 §8.3, as dcv serve configures it), an http→https
// redirect to another host serving the key authorization validates, while
// the file method's fetcher (no redirects) keeps refusing it.
func TestHTTP01FollowsRedirects(t *testing.T) {
	t.Parallel()
	const domain, other = "r.applicant.com", "acme-responder.example-host.net"
	w := setupWire(t)
	k := newACMEKeys(t)
	w.dns.AddZone("net.")
	w.dns.AddZone("example-host.net.")
	w.dns.Add(domain+". 300 IN A "+w.web.IP.String(), other+". 300 IN A "+w.web.IP.String())
	w.web.Handle(domain, validation.HTTP01Path+acmeToken, func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://"+other+r.URL.Path, http.StatusFound)
	})
	w.web.SetFile(other, validation.HTTP01Path+acmeToken, 200, k.keyAuth)
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{w.dns.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	base := webfetch.Config{Resolver: res, HTTPPort: w.web.HTTPPort, HTTPSPort: w.web.HTTPSPort, AllowLoopback: true}
	files, err := webfetch.New(base)
	if err != nil {
		t.Fatal(err)
	}
	base.MaxRedirects, base.AnyDomainRedirects = webfetch.MaxRedirectsLimit, true
	follow, err := webfetch.New(base)
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res, Fetcher: files, HTTP01Fetcher: follow})
	if err != nil {
		t.Fatal(err)
	}
	req := validation.Request{Domain: domain, Method: validation.MethodHTTP01, Token: acmeToken, Value: k.keyAuth}
	obs, r := diagnoseOne(t, v, req)
	checkVerdict(t, r, "", nil, nil)
	if n := len(obs.File.Fetches[0].Attempts); n != 2 {
		t.Errorf("%d attempts, want the redirect and its target", n)
	}
	// Without the http-01 fetcher, the same redirect is refused.
	strict, err := validation.New(validation.Config{Resolver: res, Fetcher: files})
	if err != nil {
		t.Fatal(err)
	}
	_, r = diagnoseOne(t, strict, req)
	checkVerdict(t, r, diagnose.CodeFileRedirected, nil, nil)
}
