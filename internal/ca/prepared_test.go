package ca

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestSignIsDeterministic: the same prepared leaf signed twice, or its
// to-be-signed bytes read back from storage and signed, makes the same
// certificate byte for byte, so a crash between signing and storing cannot
// leave two certificates for one order.
func TestSignIsDeterministic(t *testing.T) {
	t.Parallel()
	c := newTestCA(t, loopbackURLs(t.TempDir()))
	req := IssueRequest{DNSNames: []string{"www.example.com", "example.com"}, PublicKey: testKeys().p256.Public()}
	p, err := c.Prepare(req)
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.Sign(p, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Sign(p, req)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := c.Sign(&Prepared{TBS: bytes.Clone(p.TBS)}, req)
	if err != nil {
		t.Fatalf("Sign of stored bytes: %v", err)
	}
	for name, iss := range map[string]*Issued{"signed again": again, "signed from storage": stored} {
		if !bytes.Equal(iss.DER, first.DER) || iss.ChainPEM != first.ChainPEM {
			t.Errorf("%s: another certificate than the first signature", name)
		}
		if iss.Serial != first.Serial || iss.Serial != p.Serial() || !iss.NotBefore.Equal(first.NotBefore) || !iss.NotAfter.Equal(first.NotAfter) {
			t.Errorf("%s: serial %s, %s–%s; want %s, %s–%s", name, iss.Serial, iss.NotBefore, iss.NotAfter, first.Serial, first.NotBefore, first.NotAfter)
		}
	}
}

// TestSignStoredChecks: to-be-signed bytes read back from storage are
// signed only for the request they were made for, by the intermediate that
// is loaded, within the 48 hours the BRs allow after their notBefore.
func TestSignStoredChecks(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(testNow.UnixNano())
	cfg := loopbackURLs(t.TempDir())
	cfg.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	c := newTestCA(t, cfg)
	otherCfg := loopbackURLs(t.TempDir())
	otherCfg.Now = cfg.Now
	other := newTestCA(t, otherCfg)

	req := IssueRequest{DNSNames: []string{"www.example.com", "example.com"}, PublicKey: testKeys().p256.Public()}
	p, err := c.Prepare(req)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		signer  *CA
		tbs     []byte
		req     IssueRequest
		after   time.Duration // clock advance
		stale   bool          // ErrStalePrepared
		wantErr string
	}{
		{name: "as prepared", signer: c, tbs: p.TBS, req: req},
		{name: "46 hours later", signer: c, tbs: p.TBS, req: req, after: 46 * time.Hour},
		{name: "48 hours later", signer: c, tbs: p.TBS, req: req, after: 48 * time.Hour, stale: true, wantErr: "more than 47h0m0s ago"},
		{name: "another intermediate", signer: other, tbs: p.TBS, req: req, stale: true, wantErr: "another issuer"},
		{name: "other names", signer: c, tbs: p.TBS, req: IssueRequest{DNSNames: []string{"example.com", "www.example.com"}, PublicKey: req.PublicKey}, wantErr: "is for [www.example.com example.com], not [example.com www.example.com]"},
		{name: "another key", signer: c, tbs: p.TBS, req: IssueRequest{DNSNames: req.DNSNames, PublicKey: testKeys().p384.Public()}, wantErr: "another public key"},
		{name: "an address more", signer: c, tbs: p.TBS, req: IssueRequest{DNSNames: req.DNSNames, IPAddresses: []netip.Addr{netip.MustParseAddr("8.8.8.8")}, PublicKey: req.PublicKey}, wantErr: "is for the addresses [], not [8.8.8.8]"},
		{name: "not DER", signer: c, tbs: []byte("not a certificate"), req: req, wantErr: "do not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Store(testNow.Add(tt.after).UnixNano())
			iss, err := tt.signer.Sign(&Prepared{TBS: tt.tbs}, tt.req)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Sign = %v", err)
				}
				if iss.Serial != p.Serial() {
					t.Errorf("serial %s, want %s", iss.Serial, p.Serial())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Sign = %v, want an error containing %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrStalePrepared); got != tt.stale {
				t.Errorf("errors.Is(ErrStalePrepared) = %v, want %v", got, tt.stale)
			}
		})
	}
}
