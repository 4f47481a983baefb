package validation_test

import (
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestKeyAuthorizationDigest checks the dns-01 TXT value (RFC 8555 §8.4)
// against x/crypto/acme's, an independent implementation.
func TestKeyAuthorizationDigest(t *testing.T) {
	t.Parallel()
	k := newACMEKeys(t)
	want, err := k.client.DNS01ChallengeRecord(acmeToken)
	if err != nil {
		t.Fatal(err)
	}
	if got := validation.KeyAuthorizationDigest(k.keyAuth); got != want {
		t.Fatalf("KeyAuthorizationDigest = %q, want %q", got, want)
	}
	if len(want) != 43 || strings.ContainsAny(want, "=+/") {
		t.Fatalf("digest %q is not unpadded base64url of 32 bytes", want)
	}
}

// TestDNS01OnTheWire observes dns-01 (RFC 8555 §8.4) through a real DNS
// server and the forwarding resolver on loopback: the host queried (the
// base domain of a wildcard), the probes made on a miss, and the diagnosis.
func TestDNS01OnTheWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		domain string
		// records are zone lines; "{digest}" is the expected TXT value,
		// "{other}" another account's.
		records []string
		host    string // the host queried
		probes  []string
		code    diagnose.Code
		msg     []string
		fix     []string
	}{
		{
			name:    "valid",
			domain:  "a.applicant.com",
			records: []string{`_acme-challenge.a.applicant.com. TXT "unrelated"`, `_acme-challenge.a.applicant.com. TXT "{digest}"`},
			host:    "_acme-challenge.a.applicant.com",
		},
		{
			name:    "valid wildcard at the base domain",
			domain:  "*.applicant.com",
			records: []string{`_acme-challenge.applicant.com. TXT "{digest}"`},
			host:    "_acme-challenge.applicant.com",
		},
		{
			name:    "wrong digest",
			domain:  "a.applicant.com",
			records: []string{"a.applicant.com. A 127.0.0.1", `_acme-challenge.a.applicant.com. TXT "{other}"`},
			host:    "_acme-challenge.a.applicant.com",
			probes:  []string{"doubled_zone:_acme-challenge.a.applicant.com.applicant.com", "doubled_domain:_acme-challenge.a.applicant.com.a.applicant.com", "bare_domain:a.applicant.com", "doubled_prefix:_acme-challenge._acme-challenge.a.applicant.com", "other_prefix:_dnsauth.a.applicant.com", "reversed:a._acme-challenge.applicant.com"},
			code:    diagnose.CodeDNSRecordMismatch,
			msg:     []string{"_acme-challenge.a.applicant.com", `"{other}"`, "another dns-01 challenge's"},
			fix:     []string{"Add a TXT record at host `_acme-challenge.a`", "{digest}", "beside the one there"},
		},
		{
			name:    "prefix twice",
			domain:  "a.applicant.com",
			records: []string{"a.applicant.com. A 127.0.0.1", `_acme-challenge._acme-challenge.a.applicant.com. TXT "{digest}"`},
			host:    "_acme-challenge.a.applicant.com",
			probes:  []string{"doubled_zone:_acme-challenge.a.applicant.com.applicant.com", "doubled_domain:_acme-challenge.a.applicant.com.a.applicant.com", "bare_domain:a.applicant.com", "doubled_prefix:_acme-challenge._acme-challenge.a.applicant.com", "other_prefix:_dnsauth.a.applicant.com", "reversed:a._acme-challenge.applicant.com"},
			code:    diagnose.CodeDNSWrongHost,
			msg:     []string{"found at _acme-challenge._acme-challenge.a.applicant.com", "the prefix _acme-challenge is there twice"},
			fix:     []string{"at host `_acme-challenge.a`", "leave `_acme-challenge.` out"},
		},
		{
			name:    "at the dns method's host",
			domain:  "a.applicant.com",
			records: []string{"a.applicant.com. A 127.0.0.1", `_dnsauth.a.applicant.com. TXT "{digest}"`},
			host:    "_acme-challenge.a.applicant.com",
			probes:  []string{"doubled_zone:_acme-challenge.a.applicant.com.applicant.com", "doubled_domain:_acme-challenge.a.applicant.com.a.applicant.com", "bare_domain:a.applicant.com", "doubled_prefix:_acme-challenge._acme-challenge.a.applicant.com", "other_prefix:_dnsauth.a.applicant.com", "reversed:a._acme-challenge.applicant.com"},
			code:    diagnose.CodeDNSWrongHost,
			msg:     []string{"found at _dnsauth.a.applicant.com", "dcv's DNS validation method", "not at _acme-challenge.a.applicant.com"},
			fix:     []string{"host `_acme-challenge.a`", "{digest}"},
		},
		{
			name:    "wildcard record missing",
			domain:  "*.applicant.com",
			records: []string{"applicant.com. A 127.0.0.1"},
			host:    "_acme-challenge.applicant.com",
			probes:  []string{"doubled_domain:_acme-challenge.applicant.com.applicant.com", "bare_domain:applicant.com", "doubled_prefix:_acme-challenge._acme-challenge.applicant.com", "other_prefix:_dnsauth.applicant.com"},
			code:    diagnose.CodeDNSRecordNotFound,
			msg:     []string{"No TXT record at _acme-challenge.applicant.com"},
			fix:     []string{"`_acme-challenge`", "{digest}"},
		},
		{
			name:    "zone appended twice",
			domain:  "a.applicant.com",
			records: []string{"a.applicant.com. A 127.0.0.1", `_acme-challenge.a.applicant.com.applicant.com. TXT "{digest}"`},
			host:    "_acme-challenge.a.applicant.com",
			probes:  []string{"doubled_zone:_acme-challenge.a.applicant.com.applicant.com", "doubled_domain:_acme-challenge.a.applicant.com.a.applicant.com", "bare_domain:a.applicant.com", "doubled_prefix:_acme-challenge._acme-challenge.a.applicant.com", "other_prefix:_dnsauth.a.applicant.com", "reversed:a._acme-challenge.applicant.com"},
			code:    diagnose.CodeDNSWrongHost,
			msg:     []string{"found at _acme-challenge.a.applicant.com.applicant.com"},
			fix:     []string{"`_acme-challenge.a`", "_acme-challenge.a.applicant.com."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := setupWire(t)
			k := newACMEKeys(t)
			digest := validation.KeyAuthorizationDigest(k.keyAuth)
			expand := strings.NewReplacer("{digest}", digest, "{other}", validation.KeyAuthorizationDigest(k.other)).Replace
			for _, r := range tc.records {
				w.dns.Add(expand(r))
			}

			obs, res := diagnoseOne(t, w.v, validation.Request{Domain: tc.domain, Method: validation.MethodDNS01, Value: digest, Token: acmeToken})
			if obs.DNS == nil || obs.File != nil || obs.TLSALPN != nil {
				t.Fatalf("dns-01 evidence: dns %v, file %v, tls-alpn %v; want the DNS lookup only", obs.DNS, obs.File, obs.TLSALPN)
			}
			if obs.DNS.Host != tc.host || strings.TrimSuffix(obs.DNS.Record.Name, ".") != tc.host || obs.DNS.Record.Type != "TXT" {
				t.Fatalf("looked up %s %s at host %s; want TXT at %s", obs.DNS.Record.Type, obs.DNS.Record.Name, obs.DNS.Host, tc.host)
			}
			var probes []string
			for _, p := range obs.DNS.Probes {
				probes = append(probes, p.Kind+":"+strings.TrimSuffix(p.Lookup.Name, "."))
			}
			if strings.Join(probes, " ") != strings.Join(tc.probes, " ") {
				t.Errorf("probes %v, want %v", probes, tc.probes)
			}
			if (tc.code == "") != (obs.DNS.Domain == nil) {
				t.Errorf("domain lookup %v: it is made on a miss only", obs.DNS.Domain)
			}
			checkVerdict(t, res, tc.code, expandAll(expand, tc.msg), expandAll(expand, tc.fix))
		})
	}
}

// TestDNS01AsksBesideTheHost: a dns-01 observation that misses the value
// asks a random name beside the record host too, as the dns method does,
// so that values a wildcard gives are told as the wildcard's, with the
// warning of what a record at the host does to it (verification run).
func TestDNS01AsksBesideTheHost(t *testing.T) {
	t.Parallel()
	w := setupWire(t)
	k := newACMEKeys(t)
	w.dns.Add("a.applicant.com. A 127.0.0.1", `_acme-challenge.a.applicant.com. TXT "other"`)
	obs, _ := diagnoseOne(t, w.v, validation.Request{Domain: "a.applicant.com", Method: validation.MethodDNS01, Value: validation.KeyAuthorizationDigest(k.keyAuth), Token: acmeToken})
	if obs.DNS == nil || obs.DNS.Wildcard == nil || !strings.HasPrefix(obs.DNS.Wildcard.Name, "_dnsauth-") || !strings.HasSuffix(obs.DNS.Wildcard.Name, ".a.applicant.com") {
		t.Fatalf("wildcard lookup %+v; want one of a random name beside _acme-challenge.a.applicant.com", obs.DNS.Wildcard)
	}
}
