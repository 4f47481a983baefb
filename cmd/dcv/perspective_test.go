package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/store/sqlite"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
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
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	agentURL := "https://" + ln.Addr().String()
	ln.Close() // no agent at first: it cannot be asked which credentials it uses
	if code, msg, _ := runDCV(t, "perspective", "add", "eu-1", "--url", agentURL, "--rir", "RIPE", "--data", data, "--init", "--out", file("a")); code != 0 {
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
		if c.Name != "eu-1" || c.URL != agentURL || c.RIR != "RIPE" {
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
	// A second renewal while the agent cannot be seen to present the
	// renewed certificate would retire the one it may use: refused without
	// --force, and nothing changes.
	if code, msg, _ := runDCV(t, "perspective", "renew", "eu-1", "--data", data, "--out", file("c")); code != exitFailure || !strings.Contains(msg, "could not be asked") || !strings.Contains(msg, "--force") {
		t.Fatalf("second perspective renew: %d %q, want a refusal naming --force", code, msg)
	}
	if _, err := os.Stat(file("c")); err == nil {
		t.Fatal("a refused renewal wrote credentials")
	}
	// Once the agent runs with the renewed credentials, the next renewal
	// needs no --force (black-box run: every later one did).
	startAgentWith(t, file("b"), agentURL)
	if code, msg, _ := runDCV(t, "perspective", "renew", "eu-1", "--data", data, "--out", file("c")); code != 0 {
		t.Fatalf("renewal with the agent on the renewed credentials: %d %s", code, msg)
	}
	if cur, next := pins(); cur != certOf("b") || next != certOf("c") {
		t.Fatalf("after two renewals: pins %s, %s; want the two renewed ones", cur, next)
	}

	// The agent still on b: a third renewal is refused, --force does it.
	if code, msg, _ := runDCV(t, "perspective", "renew", "eu-1", "--data", data, "--out", file("e")); code != exitFailure || !strings.Contains(msg, "still presents the credentials from before") {
		t.Fatalf("renewal with the agent on older credentials: %d %q", code, msg)
	}
	code, msg, _ := runDCV(t, "perspective", "renew", "eu-1", "--data", data, "--out", file("e"), "--force")
	if code != 0 {
		t.Fatalf("renew --force: %d %s", code, msg)
	}
	if cur, next := pins(); cur != certOf("c") || next != certOf("e") {
		t.Fatalf("after renew --force: pins %s, %s; want c and e", cur, next)
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
	if cur, next := pins(); cur != certOf("c") || next != certOf("e") {
		t.Error("a refused renewal changed the pins")
	}
}

// startAgentWith serves an agent with the credentials in file on the
// address of url until the test ends.
func startAgentWith(t *testing.T, file, url string) {
	t.Helper()
	creds, err := perspective.LoadCredentials(file)
	if err != nil {
		t.Fatal(err)
	}
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{"127.0.0.1:1"}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a, err := perspective.NewAgent(perspective.AgentConfig{Credentials: creds, Validator: v, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", strings.TrimPrefix(url, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
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
		{"renewed, not in use", renewed, perspective.Health{CertSHA256: "old", CertNotAfter: now.AddDate(0, 0, 10)}, []string{"renewed credentials not in use yet", "expires in 10 days"}, []string{"dcv perspective renew"}},
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

// TestAgentCALostWithPerspectivesEnrolled: with perspectives enrolled, a
// missing agent CA is refused, saying what to do, not made anew (which
// would cut the primary off from every agent); without any, it is made.
func TestAgentCALostWithPerspectivesEnrolled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if code, msg, _ := runDCV(t, "perspective", "add", "eu-1", "--url", "https://127.0.0.1:1", "--rir", "RIPE", "--data", data, "--init", "--out", filepath.Join(dir, "a")); code != 0 {
		t.Fatalf("perspective add: %d %s", code, msg)
	}
	for _, f := range []string{"agent-ca.key", "agent-ca.pem"} {
		if err := os.Remove(filepath.Join(data, "ca", f)); err != nil {
			t.Fatal(err)
		}
	}
	// The list still names them (whom to remove), and fails.
	var out bytes.Buffer
	if err := perspectiveList(context.Background(), data, &out); err == nil || !strings.Contains(out.String(), "eu-1") || !strings.Contains(out.String(), "not asked") {
		t.Errorf("perspective list without the agent CA: %v, printed %q", err, out.String())
	}
	for _, args := range [][]string{
		{"perspective", "list", "--data", data},
		{"perspective", "add", "us-1", "--url", "https://127.0.0.1:2", "--rir", "ARIN", "--data", data, "--out", filepath.Join(dir, "b")},
	} {
		code, msg, _ := runDCV(t, args...)
		if code == 0 || !strings.Contains(msg, "agent CA") || !strings.Contains(msg, "restore it from a backup") {
			t.Errorf("%v: %d %q, want a refusal saying to restore the agent CA", args, code, msg)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "ca", "agent-ca.key")); err == nil {
		t.Error("a new agent CA was made")
	}
	if code, msg, _ := runDCV(t, "perspective", "remove", "eu-1", "--data", data); code != 0 {
		t.Fatalf("perspective remove: %d %s", code, msg)
	}
	if code, msg, _ := runDCV(t, "perspective", "list", "--data", data); code != 0 {
		t.Fatalf("perspective list with none enrolled: %d %s", code, msg)
	}
}
