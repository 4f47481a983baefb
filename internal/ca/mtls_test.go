package ca

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAgentCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := newTestCA(t, loopbackURLs(dir))
	a, err := c.AgentCA()
	if err != nil {
		t.Fatalf("AgentCA: %v", err)
	}
	again, err := c.AgentCA()
	if err != nil || string(again.CertPEM()) != string(a.CertPEM()) {
		t.Fatalf("AgentCA reloaded another CA (%v)", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, AgentCAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode = %v, %v; want 0600", AgentCAKeyFile, fi.Mode().Perm(), err)
	}
	key, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		req     AgentCertRequest
		usage   x509.ExtKeyUsage
		uri     string
		wantErr string
	}{
		{name: "agent, server side", req: AgentCertRequest{Name: "eu-1", Hosts: []string{"127.0.0.5"}, PublicKey: key.Public()}, usage: x509.ExtKeyUsageServerAuth, uri: "urn:dcv:agent:eu-1"},
		{name: "agent, client side", req: AgentCertRequest{Name: "eu-1", Hosts: []string{"agent.example"}, PublicKey: key.Public()}, usage: x509.ExtKeyUsageClientAuth, uri: "urn:dcv:agent:eu-1"},
		{name: "primary", req: AgentCertRequest{Primary: true, PublicKey: key.Public(), Validity: time.Hour}, usage: x509.ExtKeyUsageClientAuth, uri: RolePrimaryURI},
		{name: "bad name", req: AgentCertRequest{Name: "EU 1", Hosts: []string{"a"}, PublicKey: key.Public()}, wantErr: "name"},
		{name: "no host", req: AgentCertRequest{Name: "eu-1", PublicKey: key.Public()}, wantErr: "no host"},
		{name: "too long", req: AgentCertRequest{Name: "eu-1", Hosts: []string{"a"}, PublicKey: key.Public(), Validity: 3 * 365 * 24 * time.Hour}, wantErr: "validity"},
		{name: "not P-256", req: AgentCertRequest{Name: "eu-1", Hosts: []string{"a"}, PublicKey: "nope"}, wantErr: "P-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			der, err := a.Issue(tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Issue = %v, want an error about %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			opts := x509.VerifyOptions{Roots: a.Pool(), KeyUsages: []x509.ExtKeyUsage{tt.usage}, CurrentTime: cert.NotBefore.Add(2 * time.Minute)}
			if tt.usage == x509.ExtKeyUsageServerAuth {
				opts.DNSName = tt.req.Hosts[0]
			}
			if _, err := cert.Verify(opts); err != nil {
				t.Errorf("Verify for %v: %v", tt.usage, err)
			}
			if len(cert.URIs) != 1 || cert.URIs[0].String() != tt.uri {
				t.Errorf("URIs = %v, want %s", cert.URIs, tt.uri)
			}
			// The TLS server hierarchy does not vouch for it.
			if _, err := cert.Verify(x509.VerifyOptions{Roots: c.Roots(), Intermediates: c.Intermediates(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: opts.CurrentTime}); err == nil {
				t.Errorf("an agent certificate verifies against the TLS hierarchy")
			}
		})
	}
}

func TestAgentCAIncomplete(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := newTestCA(t, loopbackURLs(dir))
	if _, err := c.AgentCA(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, AgentCACertFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AgentCA(); err == nil || !strings.Contains(err.Error(), "incomplete agent CA") {
		t.Errorf("AgentCA with only the key = %v, want an incomplete agent CA error", err)
	}
}
