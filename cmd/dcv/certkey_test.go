package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCertGetKeyOutWithoutKey: an explicit --key-out that cannot be
// written, because the order came with a CSR or its key was erased, is a
// failure (exit 1) once the chain is saved; without --key-out the chain
// alone is a success.
func TestCertGetKeyOutWithoutKey(t *testing.T) {
	t.Parallel()
	const chain = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	tests := []struct {
		name   string
		answer string // the certificate's JSON fields beside the chain
		keyOut bool
		code   int
		want   string // in the message (exit 1) or on standard error
	}{
		{name: "csr, --key-out", answer: `"has_csr":true`, keyOut: true, code: exitFailure, want: "came with a CSR, whose key is yours"},
		{name: "erased, --key-out", answer: `"private_key_erased":true`, keyOut: true, code: exitFailure, want: "was erased 10m0s after its first download"},
		{name: "erased, default key file", answer: `"private_key_erased":true`, want: "no private key: the key dcv generated for this order was erased"},
		{name: "erased by a keyCompromise revocation", answer: `"private_key_erased":true,"revoked_at":"2026-11-27T19:10:36Z","revocation_reason":"keyCompromise"`, code: exitRevoked,
			want: "at the latest when the certificate was revoked for keyCompromise (at 2026-11-27T19:10:36Z)"},
		{name: "csr, default key file", answer: `"has_csr":true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := certServer(t, `"certificate":"`+strings.ReplaceAll(chain, "\n", `\n`)+`",`+tt.answer)
			dir := t.TempDir()
			args := []string{"cert", "get", "ord_1", "--out", filepath.Join(dir, "chain.pem"), "--server", srv.URL, "--api-key", "k"}
			if tt.keyOut {
				args = append(args, "--key-out", filepath.Join(dir, "k.pem"))
			}
			code, msg, stderr := runDCV(t, args...)
			if code != tt.code || !strings.Contains(msg+stderr, tt.want) {
				t.Fatalf("exit %d, %q, stderr %q; want %d with %q", code, msg, stderr, tt.code, tt.want)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "chain.pem")); err != nil || string(b) != chain {
				t.Errorf("chain: %q, %v; want it saved all the same", b, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "k.pem")); err == nil {
				t.Error("a key file was written")
			}
		})
	}
}

// TestCertGetKeyBesideChain: without --key-out, the generated key is saved
// as ORDER_ID.key in --out's directory, beside the chain, not in the
// working directory.
func TestCertGetKeyBesideChain(t *testing.T) {
	t.Parallel()
	const chain = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	const key = "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"order":"ord_1","serial":"01","not_before":"2026-11-27T00:00:00Z","not_after":"2027-02-25T00:00:00Z","certificate":`+
			`"`+strings.ReplaceAll(chain, "\n", `\n`)+`","private_key":"`+strings.ReplaceAll(key, "\n", `\n`)+`"}`)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if code, msg, stderr := runDCV(t, "cert", "get", "ord_1", "--out", filepath.Join(dir, "chain.pem"), "--server", srv.URL, "--api-key", "k"); code != 0 {
		t.Fatalf("exit %d, %q, stderr %q", code, msg, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "ord_1.key")); err != nil || string(b) != key {
		t.Fatalf("key beside the chain: %q, %v", b, err)
	}
}

// TestCertRevokeSaysWhetherTheKeyIsBlocked: after a keyCompromise, dcv cert
// revoke says that the key is blocked when the answer says so, and that it
// is not only for the key of the account's own CSR (black-box run: the
// admin was told nothing of the key).
func TestCertRevokeSaysWhetherTheKeyIsBlocked(t *testing.T) {
	t.Parallel()
	const (
		blocked    = "its key is blocked as compromised"
		notBlocked = "its key is not blocked: the key is your CSR's"
	)
	tests := []struct {
		name    string
		answer  string
		want    string
		notWant []string
	}{
		{"blocked", `"revocation_reason":"keyCompromise","key_blocked":true`, blocked, []string{notBlocked}},
		{"the CSR's key, a claim", `"revocation_reason":"keyCompromise","has_csr":true`, notBlocked, []string{blocked}},
		{"no key_blocked field (an older server)", `"revocation_reason":"keyCompromise"`, "", []string{blocked, notBlocked}},
		{"another reason", `"revocation_reason":"superseded"`, "", []string{blocked, notBlocked}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := certServer(t, `"certificate":"","revoked_at":"2026-11-27T19:10:36Z",`+tt.answer)
			cmd := newRootCmd()
			cmd.SetArgs([]string{"cert", "revoke", "ord_1", "--reason", "keyCompromise", "--server", srv.URL, "--api-key", "k"})
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			if err := cmd.ExecuteContext(t.Context()); err != nil || !strings.Contains(out.String(), "revoked at") || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("%v, output %q, stderr %q; want %q", err, out.String(), errOut.String(), tt.want)
			}
			for _, nw := range tt.notWant {
				if strings.Contains(out.String(), nw) {
					t.Errorf("output %q says %q", out.String(), nw)
				}
			}
		})
	}
}

// certServer is an API server that answers every request with the
// certificate of order ord_1, serial 01, with fields (JSON members after
// its validity).
func certServer(t *testing.T, fields string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"order":"ord_1","serial":"01","not_before":"2026-11-27T00:00:00Z","not_after":"2027-02-25T00:00:00Z",`+fields+`}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}
