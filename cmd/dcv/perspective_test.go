package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/store/sqlite"
)

// TestPerspectiveRenew: dcv perspective renew writes new credentials for an
// enrolled perspective, with its URL and region, and pins their certificate
// beside the one enrolled; a second renewal, which retires the first, wants
// --force; an unknown name or an existing file is refused and changes
// nothing.
func TestPerspectiveRenew(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	file := func(n string) string { return filepath.Join(dir, n) }
	if code, msg, _ := runDCV(t, "perspective", "add", "eu-1", "--url", "https://127.0.0.1:8443", "--rir", "RIPE", "--data", data, "--init", "--out", file("a")); code != 0 {
		t.Fatalf("perspective add: %d %s", code, msg)
	}
	pins := func() (string, string) {
		st, err := sqlite.Open(context.Background(), filepath.Join(data, "dcv.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		p, err := st.PerspectiveGet(context.Background(), "eu-1")
		if err != nil {
			t.Fatal(err)
		}
		return p.CertSHA256, p.NextCertSHA256
	}
	certOf := func(name string) string {
		c, err := perspective.LoadCredentials(file(name))
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "eu-1" || c.URL != "https://127.0.0.1:8443" || c.RIR != "RIPE" {
			t.Fatalf("credentials %s are for %s %s %s", name, c.Name, c.URL, c.RIR)
		}
		cert, err := c.TLSCertificate()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(cert.Certificate[0])
		return hex.EncodeToString(sum[:])
	}
	enrolled, _ := pins()
	if enrolled != certOf("a") {
		t.Fatal("the enrolled pin is not the first credentials' certificate")
	}

	if code, msg, _ := runDCV(t, "perspective", "renew", "eu-1", "--data", data, "--out", file("b")); code != 0 {
		t.Fatalf("perspective renew: %d %s", code, msg)
	}
	if cur, next := pins(); cur != enrolled || next != certOf("b") {
		t.Fatalf("after a renewal: pins %s, %s; want the enrolled one and the renewed one", cur, next)
	}
	// A second renewal would retire the certificate the agent may still
	// present: refused without --force, and nothing changes.
	if code, msg, _ := runDCV(t, "perspective", "renew", "eu-1", "--data", data, "--out", file("c")); code != exitFailure || !strings.Contains(msg, "--force") {
		t.Fatalf("second perspective renew: %d %q, want a refusal naming --force", code, msg)
	}
	if _, err := os.Stat(file("c")); err == nil {
		t.Fatal("a refused renewal wrote credentials")
	}
	if code, msg, _ := runDCV(t, "perspective", "renew", "eu-1", "--data", data, "--out", file("c"), "--force"); code != 0 {
		t.Fatalf("second perspective renew --force: %d %s", code, msg)
	}
	if cur, next := pins(); cur != certOf("b") || next != certOf("c") {
		t.Fatalf("after two renewals: pins %s, %s; want the two renewed ones", cur, next)
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"perspective", "renew", "us-1", "--data", data, "--out", file("d")}, "no perspective named us-1"},
		{[]string{"perspective", "renew", "eu-1", "--data", data, "--out", file("a"), "--force"}, "exists; choose another --out"},
	} {
		code, msg, _ := runDCV(t, tc.args...)
		if code != exitFailure || !strings.Contains(msg, tc.msg) {
			t.Errorf("%v: %d %q, want %d with %q", tc.args, code, msg, exitFailure, tc.msg)
		}
	}
	if _, err := os.Stat(file("d")); err == nil {
		t.Error("a refused renewal wrote credentials")
	}
	if cur, next := pins(); cur != certOf("b") || next != certOf("c") {
		t.Error("a refused renewal changed the pins")
	}
}

// TestCredentialsState: dcv perspective list says which credentials each
// agent runs with, until when, and what to do before they expire or when
// renewed ones are not in use yet.
func TestCredentialsState(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	rm := perspective.Remote{Name: "eu-1", CertSHA256: "old", NextCertSHA256: ""}
	renewed := perspective.Remote{Name: "eu-1", CertSHA256: "old", NextCertSHA256: "new"}
	tests := []struct {
		name  string
		rm    perspective.Remote
		h     perspective.Health
		words []string
		not   []string
	}{
		{"enrolled, far from expiry", rm, perspective.Health{CertSHA256: "old", CertNotAfter: now.AddDate(0, 6, 0)}, []string{"valid until 2027-05-27"}, []string{"renew", "renewed"}},
		{"enrolled, expiring", rm, perspective.Health{CertSHA256: "old", CertNotAfter: now.AddDate(0, 0, 10)}, []string{"expires in 10 days: dcv perspective renew eu-1"}, nil},
		{"renewed, not in use", renewed, perspective.Health{CertSHA256: "old", CertNotAfter: now.AddDate(0, 0, 10)}, []string{"renewed credentials not in use yet", "expires in 10 days"}, nil},
		{"renewed, in use", renewed, perspective.Health{CertSHA256: "new", CertNotAfter: now.AddDate(1, 0, 0)}, []string{"the renewed one"}, []string{"expires in", "not in use"}},
	}
	for _, tc := range tests {
		got := credentialsState(tc.rm, &tc.h, now)
		for _, w := range tc.words {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(got, w) {
				t.Errorf("%s: %q has %q", tc.name, got, w)
			}
		}
	}
}
