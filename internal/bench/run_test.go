package bench

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/testenv"
)

// Ports of the responder and DNS server in the tests, on a fresh loopback
// address each: below the kernel's ephemeral range (32768 and up), so that
// no client socket of this machine holds them between the test choosing an
// address and Run binding it.
const (
	testResponderPort = "5002"
	testDNSPort       = "8053"
)

// freeAddrs returns a loopback ip:port for the responder and one for the
// DNS server, each on an address that no other test of this process uses.
func freeAddrs(t *testing.T) (responder, dnsAddr string) {
	t.Helper()
	return net.JoinHostPort(testenv.NewLoopbackAddr().String(), testResponderPort),
		net.JoinHostPort(testenv.NewLoopbackAddr().String(), testDNSPort)
}

// TestRunAgainstFakeCA runs the whole load against a server that checks
// every JWS, nonce and key authorization, and validates for real through
// the bench's responder and DNS server.
func TestRunAgainstFakeCA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		challenge string
		tls       bool
		setup     func(*fakeCA)
		// wantErr is the error type every flow ends in; empty: none fails.
		wantErr   string
		wantSteps []string
		wantPolls bool
	}{
		{
			name: "http-01, synchronous", challenge: ChallengeHTTP01,
			wantSteps: []string{StepAccount, StepNewOrder, StepAuthz, StepChallenge, StepFinalize, StepTotal},
		},
		{
			name: "http-01 over https, asynchronous validation and issuance", challenge: ChallengeHTTP01, tls: true,
			setup:     func(ca *fakeCA) { ca.asyncChal, ca.asyncFinalize = true, true },
			wantSteps: []string{StepAccount, StepNewOrder, StepAuthz, StepChallenge, StepValidationWait, StepPoll, StepFinalize, StepTotal},
			wantPolls: true,
		},
		{
			name: "dns-01, a badNonce now and then", challenge: ChallengeDNS01,
			setup:     func(ca *fakeCA) { ca.badNonceEvery = 4 },
			wantSteps: []string{StepAccount, StepNewOrder, StepAuthz, StepChallenge, StepFinalize, StepTotal},
		},
		{
			name: "tls-alpn-01", challenge: ChallengeTLSALPN01,
			wantSteps: []string{StepAccount, StepNewOrder, StepAuthz, StepChallenge, StepFinalize, StepTotal},
		},
		{
			name: "certificate with other names", challenge: ChallengeHTTP01,
			setup:   func(ca *fakeCA) { ca.wrongNames = true },
			wantErr: "finalize+download: wrong certificate",
		},
		{
			name: "validation fails", challenge: ChallengeHTTP01,
			setup:   func(ca *fakeCA) { ca.failValidate, ca.asyncChal = true, true },
			wantErr: "validation-wait: authorization invalid: problem connection",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newFakeCA(t, tt.tls)
			responder, dnsAddr := freeAddrs(t)
			_, port, _ := net.SplitHostPort(responder)
			ca.dnsAddr, ca.responderPort = dnsAddr, port
			if tt.setup != nil {
				tt.setup(ca)
			}
			cfg := Config{
				DirectoryURL:  ca.directoryURL(),
				Concurrency:   2,
				Duration:      300 * time.Millisecond,
				Challenge:     tt.challenge,
				ResponderAddr: responder,
				DNSAddr:       dnsAddr,
				PollInterval:  2 * time.Millisecond,
				FlowTimeout:   10 * time.Second,
			}
			if tt.tls {
				cfg.RootCAs = ca.rootPool()
			}
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rep.Accounts != 2 || rep.BenchCPU < 0 {
				t.Errorf("accounts %d, bench CPU %s", rep.Accounts, rep.BenchCPU)
			}
			if tt.wantErr != "" {
				if rep.Certificates != 0 || rep.Failed == 0 || len(rep.Errors) != 1 || rep.Errors[0].Type != tt.wantErr {
					t.Fatalf("certificates %d, failed %d, errors %+v; want every flow to fail with %q", rep.Certificates, rep.Failed, rep.Errors, tt.wantErr)
				}
				return
			}
			if rep.Certificates == 0 || rep.Failed != 0 {
				t.Fatalf("certificates %d, failed %d, errors %+v", rep.Certificates, rep.Failed, rep.Errors)
			}
			var steps []string
			for _, s := range rep.Steps {
				steps = append(steps, s.Name)
			}
			if !slices.Equal(steps, tt.wantSteps) {
				t.Errorf("steps %v, want %v", steps, tt.wantSteps)
			}
			if (rep.Polls > 0) != tt.wantPolls {
				t.Errorf("polls %d, want some: %v", rep.Polls, tt.wantPolls)
			}
			// The nonce of each answer is used for the next request:
			// newNonce is asked only for each account's first request
			// (the scripted badNonce problems carry a nonce too).
			if n := ca.count("/nonce"); n != rep.Accounts {
				t.Errorf("%d newNonce requests, want %d (one per account)", n, rep.Accounts)
			}
			var text strings.Builder
			if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "certificates ") {
				t.Errorf("WriteText: %v\n%s", err, text.String())
			}
		})
	}
}

// TestRunSetupFailures checks that Run fails before the load when the
// directory cannot be used.
func TestRunSetupFailures(t *testing.T) {
	t.Parallel()
	ca := newFakeCA(t, false)
	closed := net.JoinHostPort(testenv.NewLoopbackAddr().String(), "80") // nothing listens there
	tests := []struct {
		name, dir, wantErr string
	}{
		{name: "directory not found", dir: ca.url + "/nowhere", wantErr: "directory: acme: HTTP 405"},
		{name: "no server", dir: "http://" + closed + "/dir", wantErr: "connection refused"},
		{name: "not http", dir: "ftp://" + closed + "/dir", wantErr: "scheme is not http or https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			responder, dnsAddr := freeAddrs(t)
			_, err := Run(context.Background(), Config{DirectoryURL: tt.dir, Concurrency: 1, Duration: time.Millisecond, ResponderAddr: responder, DNSAddr: dnsAddr})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// TestRunBacksOffWhenTheServerIsGone: a server that stops answering in the
// middle of a run is not dialled thousands of times a second: flows that
// cannot connect back off (operator run: 136k attempts after a stop).
func TestRunBacksOffWhenTheServerIsGone(t *testing.T) {
	t.Parallel()
	ca := newFakeCA(t, false)
	responder, dnsAddr := freeAddrs(t)
	_, port, _ := net.SplitHostPort(responder)
	ca.dnsAddr, ca.responderPort = dnsAddr, port
	go func() {
		time.Sleep(300 * time.Millisecond)
		ca.srv.Close()
	}()
	rep, err := Run(context.Background(), Config{
		DirectoryURL: ca.directoryURL(), Concurrency: 2, Duration: 1500 * time.Millisecond,
		Challenge: ChallengeHTTP01, ResponderAddr: responder, DNSAddr: dnsAddr,
		PollInterval: 2 * time.Millisecond, FlowTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// About 1.2 s without a server, for 2 workers waiting 50, 100, 200,
	// 400, 800 ms: a dozen failed flows at most.
	if rep.Certificates == 0 || rep.Failed == 0 || rep.Failed > 30 {
		t.Errorf("certificates %d, failed flows %d; want some of each, and few failures once the server is gone", rep.Certificates, rep.Failed)
	}
}

func TestUnreachableWait(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		down int
		want time.Duration
	}{{1, 50 * time.Millisecond}, {2, 100 * time.Millisecond}, {6, 1600 * time.Millisecond}, {7, 2 * time.Second}, {100, 2 * time.Second}} {
		if got := unreachableWait(tt.down); got != tt.want {
			t.Errorf("unreachableWait(%d) = %v, want %v", tt.down, got, tt.want)
		}
	}
}
