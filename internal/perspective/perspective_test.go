package perspective

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

const (
	testDomain = "a.example.com"
	testValue  = "k3VhQ2x5b1p0N2RvY3Vz"
	testHost   = "_dnsauth.a.example.com."
)

// newWorld is one view of the DNS: a resolver that knows example.com,
// with the validation record when txt is not empty, and a.example.com
// pointing at web when valid.
func newWorld(t testing.TB, txt string, web netip.Addr) *testenv.DNSServer {
	t.Helper()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com.")
	if txt != "" {
		s.Add(fmt.Sprintf(`%s 300 IN TXT "%s"`, testHost, txt))
	}
	if !web.IsValid() {
		web = netip.MustParseAddr("192.0.2.10") // DNS tests never connect to it
	}
	s.Add(fmt.Sprintf("a.example.com. 300 IN A %s", web))
	return s
}

// newValidator observes through the resolver at dnsAddr, from source.
func newValidator(t testing.TB, name, dnsAddr string, webPort int, source netip.Addr) *validation.Validator {
	t.Helper()
	return newValidatorCAA(t, name, dnsAddr, webPort, source, "")
}

// newValidatorCAA is newValidator checking CAA for identity ("" for none).
func newValidatorCAA(t testing.TB, name, dnsAddr string, webPort int, source netip.Addr, identity string) *validation.Validator {
	t.Helper()
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{dnsAddr}, Timeout: 2 * time.Second, Source: source})
	if err != nil {
		t.Fatal(err)
	}
	f, err := webfetch.New(webfetch.Config{Resolver: res, HTTPPort: webPort, AllowLoopback: true, Perspective: name, Source: source,
		ConnectTimeout: 2 * time.Second, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Perspective: name, Resolver: res, Fetcher: f, Timeout: 5 * time.Second, CAAIdentity: identity})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newAgentCA(t testing.TB) *ca.AgentCA {
	t.Helper()
	authority, err := ca.LoadOrCreate(ca.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := authority.AgentCA()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// agentSpec describes one remote perspective of a test.
type agentSpec struct {
	name, rir string
	txt       string // the record its DNS world holds; "" for none
	down      bool   // enrolled, but nothing listens
	// deadResolver: the agent answers, but its own resolver does not (its
	// DNS lookups fail on its side).
	deadResolver bool
	// stalled: the agent completes the TLS handshake with its enrolled
	// identity, then never answers a request (a hung process); with
	// acked, it acknowledges the request once, then hangs.
	stalled, acked bool
	// caaIdentity is the CAA identity the agent was started with.
	caaIdentity string
	// caa is a CAA record its DNS world holds, or "".
	caa string
	// tamper, when set, changes each observation the agent answers (an
	// agent of another version, or a buggy one).
	tamper func(*validation.Observation)
	// maxInFlight is the agent's MaxInFlight (0: the default).
	maxInFlight int
	// logger is the agent's Logger (nil: quiet).
	logger *slog.Logger
}

// testAgent is a running agent: its Remote and its outgoing address.
type testAgent struct {
	remote Remote
	source netip.Addr
	dns    *testenv.DNSServer
}

// startAgent enrols spec with agentCA and serves it on a fresh loopback
// address, with its own DNS world and its own outgoing address.
func startAgent(t testing.TB, agentCA *ca.AgentCA, spec agentSpec, web netip.Addr, webPort int) testAgent {
	t.Helper()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	creds, remote, err := Enrol(agentCA, spec.name, "https://"+ln.Addr().String(), spec.rir)
	if err != nil {
		t.Fatal(err)
	}
	world := newWorld(t, spec.txt, web)
	if spec.caa != "" {
		world.Add(spec.caa)
	}
	source := testenv.NewLoopbackAddr()
	ta := testAgent{remote: remote, source: source, dns: world}
	if spec.down {
		ln.Close()
		return ta
	}
	resolver := world.Addr
	if spec.deadResolver {
		resolver = netip.AddrPortFrom(testenv.NewLoopbackAddr(), 53).String() // nothing listens there
	}
	logger := quiet
	if spec.logger != nil {
		logger = spec.logger
	}
	a, err := NewAgent(AgentConfig{Credentials: creds, Validator: newValidatorCAA(t, spec.name, resolver, webPort, source, spec.caaIdentity), Logger: logger, Heartbeat: testHeartbeat,
		MaxInFlight: spec.maxInFlight})
	if err != nil {
		t.Fatal(err)
	}
	if spec.stalled {
		hung := make(chan struct{})
		srv := &http.Server{TLSConfig: a.TLSConfig(), ErrorLog: slog.NewLogLogger(quiet.Handler(), slog.LevelDebug),
			Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if spec.acked {
					w.WriteHeader(http.StatusProcessing)
				}
				<-hung
			})}
		go srv.ServeTLS(ln, "", "")
		t.Cleanup(func() { close(hung); srv.Close() })
		return ta
	}
	if spec.tamper != nil {
		h := a.Handler()
		srv := &http.Server{TLSConfig: a.TLSConfig(), ErrorLog: slog.NewLogLogger(quiet.Handler(), slog.LevelDebug),
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				var obs validation.Observation
				if rec.Code != http.StatusOK && rec.Code != http.StatusProcessing || json.Unmarshal(rec.Body.Bytes(), &obs) != nil {
					http.Error(w, rec.Body.String(), http.StatusInternalServerError)
					return
				}
				spec.tamper(&obs)
				json.NewEncoder(w).Encode(obs)
			})}
		go srv.ServeTLS(ln, "", "")
		t.Cleanup(func() { srv.Close() })
		return ta
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Serve(ctx, ln)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ta
}

// testHeartbeat is the test agents' heartbeat, within the acknowledgement
// timeouts the tests set.
const testHeartbeat = 50 * time.Millisecond

// quiet discards the logs of tests.
var quiet = slog.New(slog.DiscardHandler)

type staticRemotes []Remote

func (s staticRemotes) Remotes(context.Context) ([]Remote, error) { return s, nil }

// bundle is a primary and its agents.
type bundle struct {
	runner  *Runner
	agentCA *ca.AgentCA
	agents  []testAgent
}

type setupOpts struct {
	primaryTXT string
	agents     []agentSpec
	web        netip.Addr
	webPort    int
	min        int
	grace      time.Duration
	ack        time.Duration
	// primaryCAA is the primary's CAA identity ("" for none); caa a CAA
	// record of the primary's DNS world.
	primaryCAA, caa string
}

func setup(t testing.TB, o setupOpts) *bundle {
	t.Helper()
	agentCA := newAgentCA(t)
	primaryWorld := newWorld(t, o.primaryTXT, o.web)
	if o.caa != "" {
		primaryWorld.Add(o.caa)
	}
	b := &bundle{agentCA: agentCA}
	var remotes staticRemotes
	for _, s := range o.agents {
		ta := startAgent(t, agentCA, s, o.web, o.webPort)
		b.agents = append(b.agents, ta)
		remotes = append(remotes, ta.remote)
	}
	r, err := NewRunner(Config{
		Primary:       newValidatorCAA(t, "primary", primaryWorld.Addr, o.webPort, netip.Addr{}, o.primaryCAA),
		Remotes:       remotes,
		Identity:      NewPrimaryIdentity(agentCA, nil),
		MinRemotes:    o.min,
		RemoteTimeout: 8 * time.Second,
		Grace:         o.grace,
		AckTimeout:    o.ack,
		Logger:        quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.runner = r
	t.Cleanup(r.Close) // before the agents shut down: they wait for idle connections
	return b
}

// five returns five agents in four RIR regions; the first seen of them
// hold the record, the others an older value or nothing.
func five(seen int) []agentSpec {
	specs := []agentSpec{
		{name: "us-1", rir: "ARIN"}, {name: "eu-1", rir: "RIPE"}, {name: "ap-1", rir: "APNIC"},
		{name: "eu-2", rir: "RIPE"}, {name: "sa-1", rir: "LACNIC"},
	}
	for i := range specs {
		switch {
		case i < seen:
			specs[i].txt = testValue
		case i%2 == 0:
			specs[i].txt = "old-value"
		}
	}
	return specs
}

func findingsOf(r diagnose.Result, code diagnose.Code) []diagnose.Finding {
	var out []diagnose.Finding
	for _, f := range r.Findings {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

func TestObserveQuorumDNS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		agents  []agentSpec
		status  string
		code    diagnose.Code // the one finding expected, "" for none
		sev     diagnose.Severity
		words   []string
		notWord []string
	}{
		{name: "all five see the record", agents: five(5), status: diagnose.StatusApproved},
		{name: "4 of 5 see the record", agents: five(4), status: diagnose.StatusApproved},
		{
			name: "2 of 5 see the record", agents: five(2), status: diagnose.StatusPending,
			code: diagnose.CodeRemotePerspectivesDisagree, sev: diagnose.SeverityError,
			words: []string{"only 2 of 5 remote perspectives corroborate it (4 needed)",
				`ap-1 (APNIC) saw another value, "old-value"`, "eu-2 (RIPE) saw no record (NXDOMAIN)",
				`sa-1 (LACNIC) saw another value, "old-value"`, "DNS caching", "expires in at most 5 minutes"},
			notWord: []string{"us-1", "eu-1 "},
		},
		{
			name: "one agent down, quorum holds",
			agents: func() []agentSpec {
				s := five(5)
				s[4].down = true
				return s
			}(),
			status: diagnose.StatusApproved,
			code:   diagnose.CodePerspectiveUnavailable, sev: diagnose.SeverityWarning,
			words: []string{"sa-1 (LACNIC) (unreachable)", "not with your domain", "the quorum was met without them"},
		},
		{
			name: "two agents down, quorum fails",
			agents: func() []agentSpec {
				s := five(5)
				s[3].down, s[4].down = true, true
				return s
			}(),
			status: diagnose.StatusPending,
			code:   diagnose.CodePerspectiveUnavailable, sev: diagnose.SeverityError,
			words: []string{"2 remote perspectives", "eu-2 (RIPE) (unreachable)", "sa-1 (LACNIC) (unreachable)", "not with your domain"},
		},
		{
			// An agent whose own resolver is down says nothing of the
			// domain: it is unavailable (the operator's problem), not a
			// perspective that disagrees.
			name: "two agents' own resolvers down",
			agents: func() []agentSpec {
				s := five(5)
				s[3].deadResolver, s[4].deadResolver = true, true
				return s
			}(),
			status: diagnose.StatusPending,
			code:   diagnose.CodePerspectiveUnavailable, sev: diagnose.SeverityError,
			words: []string{"eu-2 (RIPE) (its own network failed", "sa-1 (LACNIC) (its own network failed", "not with your domain"},
		},
		{
			name:   "corroboration from one RIR region only",
			agents: []agentSpec{{name: "eu-1", rir: "RIPE", txt: testValue}, {name: "eu-2", rir: "RIPE", txt: testValue}, {name: "us-1", rir: "ARIN"}},
			status: diagnose.StatusPending,
			code:   diagnose.CodeRemotePerspectivesDisagree, sev: diagnose.SeverityError,
			words: []string{"all in one registry region (RIPE)", "us-1 (ARIN) saw no record"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{primaryTXT: testValue, agents: tt.agents})
			obs, err := b.runner.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue})
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if len(obs) != 1+len(tt.agents) {
				t.Fatalf("Observe returned %d observations, want %d", len(obs), 1+len(tt.agents))
			}
			for i, s := range tt.agents {
				if o := obs[1+i]; o.Perspective != s.name || o.RIR != s.rir || o.RoundTrip <= 0 {
					t.Errorf("observation %d: perspective %q rir %q round trip %v, want %s %s >0", 1+i, o.Perspective, o.RIR, o.RoundTrip, s.name, s.rir)
				}
				if s.down && obs[1+i].Unavailable != validation.UnavailableConnect {
					t.Errorf("agent %s is down but Unavailable = %q", s.name, obs[1+i].Unavailable)
				}
			}
			r := diagnose.Domain(obs, time.Now())
			if r.Status != tt.status {
				t.Errorf("Status = %s, want %s; findings %+v", r.Status, tt.status, r.Findings)
			}
			if tt.code == "" {
				if len(r.Findings) != 0 {
					t.Errorf("findings = %+v, want none", r.Findings)
				}
				return
			}
			fs := findingsOf(r, tt.code)
			if len(fs) != 1 || len(r.Findings) != 1 {
				t.Fatalf("findings = %+v, want one %s", r.Findings, tt.code)
			}
			if fs[0].Severity != tt.sev {
				t.Errorf("severity = %s, want %s", fs[0].Severity, tt.sev)
			}
			for _, w := range tt.words {
				if !strings.Contains(fs[0].Message, w) {
					t.Errorf("message lacks %q:\n%s", w, fs[0].Message)
				}
			}
			for _, w := range tt.notWord {
				if strings.Contains(fs[0].Message, w) {
					t.Errorf("message names %q:\n%s", w, fs[0].Message)
				}
			}
			rows := diagnose.Matrix(obs)
			if len(rows) != len(obs) || rows[0].Perspective != "primary" || rows[0].Verdict != diagnose.VerdictPass {
				t.Errorf("Matrix = %+v", rows)
			}
		})
	}
}

// blockingListener resets every connection from a blocked source address:
// a web server that geo-blocks some networks.
type blockingListener struct {
	net.Listener
	blocked []netip.Addr
}

func (l blockingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		if !slices.Contains(l.blocked, ap.Addr()) {
			return c, nil
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with RST
		}
		c.Close()
	}
}

func TestObserveGeoBlocking(t *testing.T) {
	t.Parallel()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	web, _ := netip.ParseAddrPort(ln.Addr().String())
	specs := five(5)
	// Reserve the agents' source addresses before the server starts, so
	// that it knows whom to block.
	agentCA := newAgentCA(t)
	var agents []testAgent
	var remotes staticRemotes
	for _, s := range specs {
		ta := startAgent(t, agentCA, s, web.Addr(), int(web.Port()))
		agents = append(agents, ta)
		remotes = append(remotes, ta.remote)
	}
	bl := blockingListener{Listener: ln, blocked: []netip.Addr{agents[1].source, agents[2].source}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == validation.FilePath {
			io.WriteString(w, testValue)
			return
		}
		http.NotFound(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(bl)
	t.Cleanup(func() { srv.Close() })

	primaryWorld := newWorld(t, "", web.Addr())
	r, err := NewRunner(Config{
		Primary:  newValidator(t, "primary", primaryWorld.Addr, int(web.Port()), netip.Addr{}),
		Remotes:  remotes,
		Identity: NewPrimaryIdentity(agentCA, nil),
		Logger:   quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	obs, err := r.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodFile, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	res := diagnose.Domain(obs, time.Now())
	if res.Status != diagnose.StatusPending || len(res.Findings) != 1 || res.Findings[0].Code != diagnose.CodeRemotePerspectivesDisagree {
		t.Fatalf("Domain = %+v, want pending with REMOTE_PERSPECTIVES_DISAGREE", res)
	}
	f := res.Findings[0]
	for _, w := range []string{"only 3 of 5", "eu-1 (RIPE) saw connection re", "ap-1 (APNIC) saw connection re", web.String(), "geo-blocking", "filters by source address"} {
		if !strings.Contains(f.Message, w) {
			t.Errorf("message lacks %q:\n%s", w, f.Message)
		}
	}
	if !strings.Contains(f.Fix, "from every country and network") {
		t.Errorf("fix = %q", f.Fix)
	}
}

func TestObserveFailsClosed(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{primaryTXT: testValue, agents: five(2)[:2], min: 4})
	obs, err := b.runner.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 5 || obs[3].Unavailable != validation.UnavailableNotConfigured || obs[4].Unavailable != validation.UnavailableNotConfigured {
		t.Fatalf("observations: %d, placeholders %q %q", len(obs), obs[len(obs)-2].Unavailable, obs[len(obs)-1].Unavailable)
	}
	r := diagnose.Domain(obs, time.Now())
	if r.Status != diagnose.StatusPending || len(r.Findings) != 1 || r.Findings[0].Code != diagnose.CodePerspectiveUnavailable ||
		!strings.Contains(r.Findings[0].Message, "Remote perspectives configured: 2; required: at least 4") {
		t.Errorf("Domain = %+v", r)
	}
}

func TestObservePrimaryFailsSkipsRemotes(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{primaryTXT: "", agents: five(5)[:3]})
	obs, err := b.runner.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range obs[1:] {
		if o.Unavailable != validation.UnavailableSkipped {
			t.Errorf("%s: Unavailable = %q, want skipped", o.Perspective, o.Unavailable)
		}
	}
	r := diagnose.Domain(obs, time.Now())
	if len(r.Findings) != 1 || r.Findings[0].Code != diagnose.CodeDNSRecordNotFound {
		t.Errorf("findings = %+v, want only the primary's DNS_RECORD_NOT_FOUND", r.Findings)
	}
}

func TestObserveCutsStragglers(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{primaryTXT: testValue, agents: five(5), grace: 100 * time.Millisecond})
	// sa-1's resolver never answers: its agent would wait for its
	// deadline, but the quorum is met without it.
	b.agents[4].dns.SetDelay(testHost, -1)
	start := time.Now()
	obs, err := b.runner.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("Observe took %v; the straggler was not cut after the grace period", el)
	}
	if got := obs[5].Unavailable; got != validation.UnavailableCut {
		t.Errorf("straggler Unavailable = %q, want %q", got, validation.UnavailableCut)
	}
	if r := diagnose.Domain(obs, time.Now()); r.Status != diagnose.StatusApproved {
		t.Errorf("Status = %s, findings %+v", r.Status, r.Findings)
	}
}

// TestObserveStalledAgent: an agent that never acknowledges a request, or
// hangs after acknowledging it, is given up once silent for the
// acknowledgement timeout, not after the remote timeout; an agent that
// acknowledges and then takes long, because the domain's DNS does not
// answer there, keeps saying so and is waited for, its view counted.
func TestObserveStalledAgent(t *testing.T) {
	t.Parallel()
	const ack = 300 * time.Millisecond
	tests := []struct {
		name        string
		eu          agentSpec
		slowDNS     bool
		unavailable string
		least, most time.Duration
		status      string
	}{
		{name: "a stalled agent", eu: agentSpec{name: "eu-1", rir: "RIPE", txt: testValue, stalled: true},
			unavailable: validation.UnavailableTimeout, least: ack, most: 3 * time.Second, status: diagnose.StatusPending},
		{name: "an agent that hangs after acknowledging", eu: agentSpec{name: "eu-1", rir: "RIPE", txt: testValue, stalled: true, acked: true},
			unavailable: validation.UnavailableTimeout, least: ack, most: 3 * time.Second, status: diagnose.StatusPending},
		{name: "an agent waiting for the domain's DNS", eu: agentSpec{name: "eu-1", rir: "RIPE", txt: testValue}, slowDNS: true,
			least: 2 * time.Second, most: 7 * time.Second, status: diagnose.StatusPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{primaryTXT: testValue, agents: []agentSpec{{name: "us-1", rir: "ARIN", txt: testValue}, tt.eu}, min: 2, ack: ack})
			if tt.slowDNS {
				b.agents[1].dns.SetDelay(testHost, -1) // its resolver times out after 2 s
			}
			start := time.Now()
			obs, err := b.runner.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue})
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el < tt.least || el > tt.most {
				t.Errorf("Observe took %v, want between %v and %v", el, tt.least, tt.most)
			}
			if got := obs[2].Unavailable; got != tt.unavailable {
				t.Errorf("eu-1 Unavailable = %q (%s), want %q", got, obs[2].UnavailableDetail, tt.unavailable)
			}
			if tt.unavailable != "" && !strings.Contains(obs[2].UnavailableDetail, "no sign of life") {
				t.Errorf("eu-1 detail %q does not say it went silent", obs[2].UnavailableDetail)
			}
			r := diagnose.Domain(obs, time.Now())
			if r.Status != tt.status {
				t.Errorf("Status = %s, findings %+v", r.Status, r.Findings)
			}
			want := diagnose.CodePerspectiveUnavailable
			if tt.unavailable == "" {
				want = diagnose.CodeRemotePerspectivesDisagree
			}
			if !slices.ContainsFunc(r.Findings, func(f diagnose.Finding) bool { return f.Code == want }) {
				t.Errorf("findings %+v, want %s", r.Findings, want)
			}
		})
	}
}

func TestObservePinnedCertificate(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{primaryTXT: testValue, agents: five(1)[:1]})
	rm := b.agents[0].remote
	rm.CertSHA256 = strings.Repeat("00", 32) // enrolled again since, or removed
	r, err := NewRunner(Config{Primary: b.runner.cfg.Primary, Remotes: staticRemotes{rm}, Identity: NewPrimaryIdentity(b.agentCA, nil), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	obs, err := r.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	if obs[1].Unavailable != validation.UnavailableTLS || !strings.Contains(obs[1].UnavailableDetail, "not the enrolled one") {
		t.Errorf("Unavailable = %q (%s), want tls, not the enrolled one", obs[1].Unavailable, obs[1].UnavailableDetail)
	}
}

func TestAgentAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{primaryTXT: testValue, agents: five(1)[:1]})
	rm := b.agents[0].remote
	u, _ := ParseURL(rm.URL)
	other := newAgentCA(t) // another dcv's agent CA

	clientWith := func(cert func() (*tls.Certificate, error)) *http.Client {
		cfg := &tls.Config{RootCAs: b.agentCA.Pool(), ServerName: u.Hostname()}
		if cert != nil {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert() }
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	issued := func(a *ca.AgentCA, primary bool) func() (*tls.Certificate, error) {
		return func() (*tls.Certificate, error) {
			key, _, err := ca.GenerateKey()
			if err != nil {
				return nil, err
			}
			der, err := a.Issue(ca.AgentCertRequest{Primary: primary, Name: "rogue", Hosts: []string{"127.0.0.1"}, PublicKey: key.Public()})
			if err != nil {
				return nil, err
			}
			return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
		}
	}
	tests := []struct {
		name   string
		client *http.Client
		ok     bool
	}{
		{"no client certificate", clientWith(nil), false},
		{"certificate from another CA", clientWith(issued(other, true)), false},
		{"an agent's certificate, not the primary's", clientWith(issued(b.agentCA, false)), false},
		{"the primary's certificate", clientWith(func() (*tls.Certificate, error) { return NewPrimaryIdentity(b.agentCA, nil).clientCertificate(nil) }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, path := range []string{PathHealth, PathMetrics} {
				resp, err := tt.client.Get(rm.URL + path)
				if err == nil {
					body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
					resp.Body.Close()
					if !tt.ok {
						t.Fatalf("GET %s succeeded (%s) without valid credentials", path, resp.Status)
					}
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("GET %s = %s", path, resp.Status)
					}
					if path == PathMetrics && (!strings.Contains(string(body), `dcv_agent_info{perspective="us-1",rir="ARIN"} 1`) ||
						!strings.Contains(string(body), "\ndcv_agent_queued 0\n") || !regexp.MustCompile(`\ndcv_agent_certificate_expiry_seconds 1[0-9]{9}\n`).Match(body)) {
						t.Errorf("metrics lack dcv_agent_info, dcv_agent_queued or dcv_agent_certificate_expiry_seconds:\n%s", body)
					}
					continue
				}
				if tt.ok {
					t.Fatalf("GET %s: %v", path, err)
				}
				if kind := classify(t.Context(), err); kind != validation.UnavailableTLS {
					t.Errorf("GET %s failed with %v, classified %q, want a TLS failure", path, err, kind)
				}
			}
		})
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{primaryTXT: testValue, agents: []agentSpec{{name: "eu-1", rir: "RIPE", txt: testValue}, {name: "us-1", rir: "ARIN", down: true}}})
	id := NewPrimaryIdentity(b.agentCA, nil)
	var seenName string
	var seenExpiry time.Time
	id.OnAgentCertificate = func(name string, notAfter time.Time) { seenName, seenExpiry = name, notAfter }
	h, rt, err := Probe(t.Context(), id, b.agents[0].remote, 5*time.Second)
	if err != nil || h.Status != "ok" || h.Name != "eu-1" || h.RIR != "RIPE" || rt <= 0 {
		t.Fatalf("Probe(eu-1) = %+v, %v, %v", h, rt, err)
	}
	// Which credentials the agent runs with, and until when.
	if h.CertSHA256 != b.agents[0].remote.CertSHA256 || time.Until(h.CertNotAfter) < 300*24*time.Hour {
		t.Errorf("Probe(eu-1) certificate %s until %v; want the enrolled one, about a year", h.CertSHA256, h.CertNotAfter)
	}
	if seenName != "eu-1" || !seenExpiry.Equal(h.CertNotAfter) {
		t.Errorf("OnAgentCertificate told %q, %v; want eu-1, %v", seenName, seenExpiry, h.CertNotAfter)
	}
	if _, _, err := Probe(t.Context(), id, b.agents[1].remote, 5*time.Second); err == nil || !strings.Contains(err.Error(), "connect") {
		t.Errorf("Probe of a down agent = %v, want a connect error", err)
	}
}

// TestProbeDegraded: an agent whose last observation failed on its own
// side (its resolver down) answers its health probe "degraded", saying how;
// a later observation that does not clears it.
func TestProbeDegraded(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{primaryTXT: testValue, agents: []agentSpec{{name: "eu-1", rir: "RIPE", txt: testValue, deadResolver: true}}})
	id := NewPrimaryIdentity(b.agentCA, nil)
	if h, _, err := Probe(t.Context(), id, b.agents[0].remote, 5*time.Second); err != nil || h.Status != "ok" {
		t.Fatalf("Probe before any observation = %+v, %v; want ok", h, err)
	}
	if _, err := b.runner.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue}); err != nil {
		t.Fatal(err)
	}
	h, _, err := Probe(t.Context(), id, b.agents[0].remote, 5*time.Second)
	if err != nil || h.Status != "degraded" || !strings.Contains(h.Detail, "failed on its side") {
		t.Errorf("Probe after an observation its resolver failed = %+v, %v; want degraded, saying why", h, err)
	}
}

func TestBRMinimumRemotes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		at   string
		want int
	}{
		{"before the phase-in", "2025-12-01T00:00:00Z", 2},
		{"from 2026-03-15", "2026-03-15T00:00:00Z", 3},
		{"today, 2026-11-26", "2026-11-26T12:00:00Z", 4},
		{"the day before 2026-12-15", "2026-12-14T23:59:59Z", 4},
		{"from 2026-12-15", "2026-12-15T00:00:00Z", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at, err := time.Parse(time.RFC3339, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := BRMinimumRemotes(at); got != tt.want {
				t.Errorf("BRMinimumRemotes(%s) = %d, want %d", tt.at, got, tt.want)
			}
			r, err := NewRunner(Config{Primary: &validation.Validator{}, PublicCA: true, MinRemotes: 3})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.MinRemotes(at); got != max(3, tt.want) {
				t.Errorf("MinRemotes with --public-ca and 3 = %d, want %d", got, max(3, tt.want))
			}
		})
	}
}

func TestEnrolRefuses(t *testing.T) {
	t.Parallel()
	agentCA := newAgentCA(t)
	tests := []struct {
		name, pname, url, rir, words string
	}{
		{"bad name", "EU_1", "https://agent.example:8443", "RIPE", "perspective name"},
		{"bad rir", "eu-1", "https://agent.example:8443", "EUROPE", "rir"},
		{"plain http", "eu-1", "http://agent.example:8443", "RIPE", "https://host"},
		{"a path", "eu-1", "https://agent.example:8443/x", "RIPE", "https://host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Enrol(agentCA, tt.pname, tt.url, tt.rir)
			if err == nil || !strings.Contains(err.Error(), tt.words) {
				t.Errorf("Enrol = %v, want an error about %q", err, tt.words)
			}
		})
	}
}

func TestCredentialsRoundTrip(t *testing.T) {
	t.Parallel()
	agentCA := newAgentCA(t)
	creds, _, err := Enrol(agentCA, "eu-1", "https://127.0.0.1:8443", "RIPE")
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/eu-1.credentials"
	if err := creds.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if err := creds.WriteFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second WriteFile = %v, want a refusal to replace", err)
	}
	got, err := LoadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *creds {
		t.Errorf("LoadCredentials returned other credentials")
	}
}

// TestCredentialsValidity: an agent starts only with a certificate of its
// credentials' CA that is valid now, and is warned a month before it
// expires.
func TestCredentialsValidity(t *testing.T) {
	t.Parallel()
	agentCA := newAgentCA(t)
	creds, _, err := Enrol(agentCA, "eu-1", "https://127.0.0.1:8443", "RIPE")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := Enrol(newAgentCA(t), "eu-1", "https://127.0.0.1:8443", "RIPE")
	if err != nil {
		t.Fatal(err)
	}
	foreign := *creds
	foreign.CAPEM = other.CAPEM
	notAfter, _, err := creds.CheckValidity(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(creds.CAPEM))
	caCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	caNotAfter := caCert.NotAfter
	tests := []struct {
		name string
		c    *Credentials
		at   time.Time
		err  string
		soon bool
	}{
		{name: "valid now", c: creds, at: time.Now()},
		{name: "expires within a month", c: creds, at: notAfter.Add(-10 * 24 * time.Hour), soon: true},
		{name: "expired", c: creds, at: notAfter.Add(time.Second), err: "expired at " + notAfter.UTC().Format(time.RFC3339) + ": renew the perspective's credentials on the primary (dcv perspective renew NAME)"},
		{name: "not yet valid", c: creds, at: time.Now().Add(-48 * time.Hour), err: "not valid before"},
		{name: "another CA", c: &foreign, at: time.Now(), err: "not issued by the credentials' CA"},
		{name: "the CA expired", c: creds, at: caNotAfter.Add(time.Second), err: "agent CA certificate: expired at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, soon, err := tt.c.CheckValidity(tt.at)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("CheckValidity = %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("CheckValidity = %v, want %q", err, tt.err)
			case soon != tt.soon:
				t.Errorf("soon = %v, want %v", soon, tt.soon)
			}
		})
	}
}

// benchmarkObserve measures one DNS check with n remote perspectives
// besides the primary. Every resolver delays its TXT answers by latency,
// standing in for the network between a perspective and the domain's
// nameservers (zero: loopback only).
func benchmarkObserve(b *testing.B, n int, latency time.Duration) {
	b2 := setup(b, setupOpts{primaryTXT: testValue, agents: five(5)[:n]})
	if latency > 0 {
		b2.runner.cfg.Primary = newValidator(b, "primary", func() string {
			w := newWorld(b, testValue, netip.Addr{})
			w.SetDelay(testHost, latency)
			return w.Addr
		}(), 0, netip.Addr{})
		for _, a := range b2.agents {
			a.dns.SetDelay(testHost, latency)
		}
	}
	req := validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue}
	if _, err := b2.runner.Observe(b.Context(), req); err != nil { // warm the connections
		b.Fatal(err)
	}
	for b.Loop() {
		obs, err := b2.runner.Observe(b.Context(), req)
		if err != nil || len(obs) != 1+n {
			b.Fatalf("Observe: %d observations, %v", len(obs), err)
		}
		if r := diagnose.Domain(obs, time.Now()); r.Status != diagnose.StatusApproved {
			b.Fatalf("Status = %s", r.Status)
		}
	}
}

// BenchmarkObserve1 is the primary alone; BenchmarkObserve5 the primary
// and five remote perspectives. The Latency variants add 20 ms to every
// DNS answer, as a real network would.
func BenchmarkObserve1(b *testing.B)        { benchmarkObserve(b, 0, 0) }
func BenchmarkObserve5(b *testing.B)        { benchmarkObserve(b, 5, 0) }
func BenchmarkObserve1Latency(b *testing.B) { benchmarkObserve(b, 0, 20*time.Millisecond) }
func BenchmarkObserve5Latency(b *testing.B) { benchmarkObserve(b, 5, 20*time.Millisecond) }

// TestAgentOwnFailure: which failures of an agent's observation are its
// own (resolver unreachable, source address unusable), not the domain's.
func TestAgentOwnFailure(t *testing.T) {
	t.Parallel()
	dnsObs := func(e *dnsclient.Error) *validation.Observation {
		return &validation.Observation{DNS: &validation.DNSObservation{Record: validation.Lookup{Err: e}}}
	}
	fileObs := func(tr *webfetch.Trace) *validation.Observation {
		return &validation.Observation{File: &validation.FileObservation{Fetches: []*webfetch.Trace{tr}}}
	}
	caaOnly := func(e *dnsclient.Error) *validation.Observation {
		return &validation.Observation{CAAOnly: true, CAA: &caa.Result{Reason: caa.ReasonLookupFailed, Failure: e}}
	}
	// dnsRcode and caaRcode answer rcode, from the agent's own recursive
	// resolver (forward mode) when resolver is set.
	dnsRcode := func(rcode string, resolver bool) *validation.Observation {
		r := &dnsclient.Response{Name: "_dnsauth.a.example.com.", Rcode: rcode, Server: "192.0.2.53:53", Resolver: resolver}
		return &validation.Observation{DNS: &validation.DNSObservation{Record: validation.Lookup{Response: r}}}
	}
	caaRcode := func(rcode string, resolver bool) *validation.Observation {
		r := &dnsclient.Response{Name: "a.example.com.", Rcode: rcode, Server: "192.0.2.53:53", Resolver: resolver}
		return &validation.Observation{DNS: &validation.DNSObservation{}, CAA: &caa.Result{Reason: caa.ReasonLookupFailed, FailedName: "a.example.com.", FailedRcode: rcode,
			Trace: []caa.Step{{Name: "a.example.com.", Response: r}}}}
	}
	tests := []struct {
		name string
		obs  *validation.Observation
		own  bool
	}{
		{"dns: the agent's resolver unreachable", dnsObs(&dnsclient.Error{Kind: dnsclient.KindNetwork, Upstream: true, Detail: "connection refused"}), true},
		{"dns: the domain's nameserver unreachable", dnsObs(&dnsclient.Error{Kind: dnsclient.KindNetwork, Detail: "connection refused"}), false},
		{"dns: source address not assigned", dnsObs(&dnsclient.Error{Kind: dnsclient.KindNetwork, Detail: "bind: cannot assign requested address"}), true},
		{"dns: no error", dnsObs(nil), false},
		{"file: the agent's resolver unreachable", fileObs(&webfetch.Trace{Host: "a.example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSError, Upstream: true}}), true},
		{"file: the name does not exist", fileObs(&webfetch.Trace{Host: "a.example.com", ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSNXDomain}}), false},
		{"file: source address not assigned", fileObs(&webfetch.Trace{Attempts: []webfetch.Attempt{{Err: &webfetch.Error{Kind: webfetch.ErrConnectionRefused, Detail: "dial tcp 10.1.2.3:0->192.0.2.1:80: bind: cannot assign requested address"}}}}), true},
		{"file: no source address of the site's family", fileObs(&webfetch.Trace{Attempts: []webfetch.Attempt{{Err: &webfetch.Error{Kind: webfetch.ErrSourceAddress, Address: "[2001:db8::1]:80", Detail: "not dialled"}}}}), true},
		{"file: IPv6 not dialled, IPv4 refuses: the domain's", fileObs(&webfetch.Trace{Attempts: []webfetch.Attempt{
			{Err: &webfetch.Error{Kind: webfetch.ErrSourceAddress, Address: "[2001:db8::1]:80", Detail: "not dialled"}},
			{Err: &webfetch.Error{Kind: webfetch.ErrConnectionRefused, Address: "192.0.2.1:80", Detail: "connection refused"}}}}), false},
		{"tls-alpn: no source address of the domain's family", &validation.Observation{TLSALPN: &validation.TLSALPNObservation{Error: &webfetch.Error{Kind: webfetch.ErrSourceAddress, Address: "[2001:db8::1]:443", Detail: "not dialled"}}}, true},
		{"tls-alpn: refused", &validation.Observation{TLSALPN: &validation.TLSALPNObservation{Error: &webfetch.Error{Kind: webfetch.ErrConnectionRefused, Address: "192.0.2.1:443"}}}, false},
		{"file: redirected to a host of the other family only", fileObs(&webfetch.Trace{Attempts: []webfetch.Attempt{
			{Address: "192.0.2.1:80", Status: 301},
			{Hop: 1, Err: &webfetch.Error{Kind: webfetch.ErrSourceAddress, Address: "[2001:db8::2]:443", Detail: "not dialled"}}}}), true},
		{"file: redirected to a host that refuses: the domain's", fileObs(&webfetch.Trace{Attempts: []webfetch.Attempt{
			{Address: "192.0.2.1:80", Status: 301},
			{Hop: 1, Err: &webfetch.Error{Kind: webfetch.ErrSourceAddress, Address: "[2001:db8::2]:443", Detail: "not dialled"}},
			{Hop: 1, Err: &webfetch.Error{Kind: webfetch.ErrConnectionRefused, Address: "192.0.2.2:443", Detail: "connection refused"}}}}), false},
		{"file: the server's own words naming the errno: the domain's", fileObs(&webfetch.Trace{Attempts: []webfetch.Attempt{{Err: &webfetch.Error{Kind: webfetch.ErrProtocol, Address: "192.0.2.1:80",
			Detail: `net/http: HTTP/1.x transport connection broken: malformed HTTP response "cannot assign requested address"`}}}}), false},
		{"file: an agent from before source_address: bind failed", fileObs(&webfetch.Trace{Attempts: []webfetch.Attempt{{Err: &webfetch.Error{Kind: webfetch.ErrNetwork, Address: "192.0.2.1:80",
			Detail: "dial tcp 10.1.2.3:0->192.0.2.1:80: bind: cannot assign requested address"}}}}), true},
		{"file: the web server refuses", fileObs(&webfetch.Trace{Attempts: []webfetch.Attempt{{Err: &webfetch.Error{Kind: webfetch.ErrConnectionRefused, Detail: "connection refused"}}}}), false},
		{"caa recheck: the agent's resolver unreachable", caaOnly(&dnsclient.Error{Kind: dnsclient.KindNetwork, Upstream: true, Detail: "connection refused"}), true},
		{"caa recheck: the domain's nameserver times out", caaOnly(&dnsclient.Error{Kind: dnsclient.KindTimeout, Detail: "i/o timeout"}), false},
		{"dns: the agent's resolver refuses", dnsRcode("REFUSED", true), true},
		{"dns: the domain's nameserver refuses (iterative agent)", dnsRcode("REFUSED", false), false},
		{"dns: the agent's resolver answers NXDOMAIN", dnsRcode("NXDOMAIN", true), false},
		{"caa: the agent's resolver refuses", caaRcode("REFUSED", true), true},
		{"caa: the domain's nameserver refuses", caaRcode("REFUSED", false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if detail, own := agentOwnFailure(tt.obs); own != tt.own || own && detail == "" {
				t.Errorf("agentOwnFailure = %q, %v; want %v", detail, own, tt.own)
			}
		})
	}
}

// TestUnsatisfiable: the enrolled sets with which no check can pass are
// named before any check, by the rule Observe applies.
func TestUnsatisfiable(t *testing.T) {
	t.Parallel()
	agentCA := newAgentCA(t)
	primary := newValidator(t, "primary", "127.0.0.1:53", 80, netip.Addr{}) // never asked
	remote := func(name, rir string) Remote { return Remote{Name: name, URL: "https://127.0.0.1:1", RIR: rir} }
	tests := []struct {
		name    string
		min     int
		remotes staticRemotes
		want    string // words of the reason, "" for none
	}{
		{"no remote required, none enrolled", 0, nil, ""},
		{"too few", 2, staticRemotes{remote("eu-1", "RIPE")}, "1 remote perspectives are enrolled and 2 are required"},
		{"one region", 2, staticRemotes{remote("eu-1", "RIPE"), remote("eu-2", "RIPE")}, "all in one RIR region"},
		{"two regions", 2, staticRemotes{remote("eu-1", "RIPE"), remote("us-1", "ARIN")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewRunner(Config{Primary: primary, Remotes: tt.remotes, Identity: NewPrimaryIdentity(agentCA, nil), MinRemotes: tt.min, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			why, err := r.Unsatisfiable(t.Context(), time.Now())
			if err != nil || (tt.want == "") != (why == "") || !strings.Contains(why, tt.want) {
				t.Errorf("Unsatisfiable = %q, %v; want %q", why, err, tt.want)
			}
		})
	}
}

// TestRemotesCheckThePrimarysCAAIdentity: every perspective checks CAA for
// the identity of the primary, whatever its agent was started with (an
// agent left on the default identity made every domain whose CAA names
// the CA disagree, blamed on the applicant's DNS: operator run).
func TestRemotesCheckThePrimarysCAAIdentity(t *testing.T) {
	t.Parallel()
	const caaRR = `example.com. 300 IN CAA 0 issue "ca.primary.example"`
	specs := []agentSpec{
		{name: "us-1", rir: "ARIN", txt: testValue, caaIdentity: "dcv.invalid", caa: caaRR},
		{name: "eu-1", rir: "RIPE", txt: testValue, caaIdentity: "other.example", caa: caaRR},
	}
	b := setup(t, setupOpts{primaryTXT: testValue, agents: specs, min: 2, primaryCAA: "ca.primary.example", caa: caaRR})
	obs, err := b.runner.Observe(t.Context(), validation.Request{Domain: "a.example.com", Method: validation.MethodDNS, Value: testValue})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range obs[1:] {
		if o.Unavailable != "" || o.CAA == nil || o.CAA.Identity != "ca.primary.example" || !o.CAA.Permitted {
			t.Errorf("%s: unavailable %q (%s), CAA %+v; want a permitted check for ca.primary.example", o.Perspective, o.Unavailable, o.UnavailableDetail, o.CAA)
		}
	}
	if r := diagnose.Domain(obs, time.Now()); r.Status != diagnose.StatusApproved {
		t.Errorf("status %s, findings %+v; want approved", r.Status, r.Findings)
	}
}

// TestRemoteAnswerBoundToTheRequest: an agent's observation counts only
// when it is of the request made, its CAA verdict included (RFC 8657: the
// account and the method decide); one of another account, method or name
// is no corroboration (security review).
func TestRemoteAnswerBoundToTheRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(*validation.Observation)
	}{
		{"a CAA check for another account", func(o *validation.Observation) { o.CAA.AccountURI = "https://ca.example/acct/other" }},
		{"a CAA check for another method", func(o *validation.Observation) { o.CAA.Method = "http-01" }},
		{"a CAA check for another name", func(o *validation.Observation) { o.CAA.Domain = "other.example.com" }},
		{"a CAA check for the wildcard", func(o *validation.Observation) { o.CAA.Wildcard = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{primaryTXT: testValue, min: 2, primaryCAA: "ca.primary.example", agents: []agentSpec{
				{name: "us-1", rir: "ARIN", txt: testValue},
				{name: "eu-1", rir: "RIPE", txt: testValue, tamper: tt.tamper},
			}})
			req := validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue, AccountURI: "https://ca.example/acct/1"}
			obs, err := b.runner.Observe(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if o := obs[2]; o.Unavailable != validation.UnavailableProtocol || !strings.Contains(o.UnavailableDetail, "CAA check is not of the request made") {
				t.Errorf("eu-1: unavailable %q (%s), want its answer refused", o.Unavailable, o.UnavailableDetail)
			}
			if r := diagnose.Domain(obs, time.Now()); r.Status == diagnose.StatusApproved {
				t.Errorf("approved on a tampered corroboration")
			}
		})
	}
}

// TestLargeOrderReachesTheAgents: a dns-method order of ident.MaxNames
// names sends the other names' values to every agent; the request stays
// within what agents accept (8 KiB refused orders of 70 names or more,
// security review).
func TestLargeOrderReachesTheAgents(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{primaryTXT: testValue, agents: five(5)})
	var ov []validation.DomainValue
	for i := range 99 {
		// The longest names a domain may have.
		label := strings.Repeat("a", 60)
		ov = append(ov, validation.DomainValue{Domain: fmt.Sprintf("%s.%s.%s.x%02d.example.com", label, label, label, i), Value: testValue})
	}
	obs, err := b.runner.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue, OrderValues: ov})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range obs[1:] {
		if o.Unavailable != "" {
			t.Errorf("%s: unavailable %q (%s)", o.Perspective, o.Unavailable, o.UnavailableDetail)
		}
	}
	if r := diagnose.Domain(obs, time.Now()); r.Status != diagnose.StatusApproved {
		t.Errorf("status %s, findings %+v", r.Status, r.Findings)
	}
}

// TestAgentQueuesWhenBusy: requests beyond an agent's MaxInFlight wait in
// line for a slot, acknowledged, instead of being refused: a burst (an
// order of 100 names checked at once, another applicant's slow servers)
// no longer fails every observation past the agent's capacity (security
// review). A line longer than MaxInFlight is refused.
func TestAgentQueuesWhenBusy(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{primaryTXT: testValue, min: 2, agents: []agentSpec{
		{name: "us-1", rir: "ARIN", txt: testValue, maxInFlight: 2},
		{name: "eu-1", rir: "RIPE", txt: testValue, maxInFlight: 2},
	}})
	for _, a := range b.agents {
		a.dns.SetDelay(testHost, 300*time.Millisecond) // each observation holds its slot a while
	}
	// Four at once: two observe, two wait; a fifth and sixth would find
	// the line full.
	const n = 4
	results := make([]diagnose.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			obs, err := b.runner.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = diagnose.Domain(obs, time.Now())
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.Status != diagnose.StatusApproved {
			t.Errorf("observation %d: %s %+v", i, r.Status, r.Findings)
		}
	}
}

// TestRemotesValidateAnIPAddress: every perspective validates an IP address
// identifier (RFC 8738) over http-01 at the address itself, and none is
// asked for a CAA check (an address has no CAA records), also when the
// primary checks CAA for its identity: the agents' answers corroborate it
// (review: they were refused as "no CAA check", so no IP could pass with
// agents enrolled).
func TestRemotesValidateAnIPAddress(t *testing.T) {
	t.Parallel()
	ln, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	web, _ := netip.ParseAddrPort(ln.Addr().String())
	const token, keyAuth = "tok-ip", "tok-ip.thumbprint"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == validation.HTTP01Path+token && r.Host == web.Addr().String() {
			io.WriteString(w, keyAuth)
			return
		}
		http.NotFound(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	b := setup(t, setupOpts{agents: five(0)[:2], web: web.Addr(), webPort: int(web.Port()), min: 2, primaryCAA: "ca.primary.example"})
	obs, err := b.runner.Observe(t.Context(), validation.Request{Domain: web.Addr().String(), Method: validation.MethodHTTP01, Value: keyAuth, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 3 {
		t.Fatalf("%d observations, want the primary's and two agents'", len(obs))
	}
	for _, o := range obs {
		if o.Unavailable != "" || o.CAA != nil {
			t.Errorf("%s: unavailable %q (%s), CAA %+v; want an observation without CAA", o.Perspective, o.Unavailable, o.UnavailableDetail, o.CAA)
		}
	}
	if r := diagnose.Domain(obs, time.Now()); r.Status != diagnose.StatusApproved {
		t.Errorf("status %s, findings %+v; want approved", r.Status, r.Findings)
	}
}

// TestRenewedCredentialsAccepted: after dcv perspective renew, the primary
// accepts the agent's certificate whether it is the one pinned before or
// the renewed one, so that the agent switches without downtime; any other
// certificate of the same name stays refused.
func TestRenewedCredentialsAccepted(t *testing.T) {
	t.Parallel()
	agentCA := newAgentCA(t)
	ta := startAgent(t, agentCA, agentSpec{name: "eu-1", rir: "RIPE", txt: testValue}, netip.Addr{}, 0)
	_, other, err := Enrol(agentCA, "eu-1", ta.remote.URL, "RIPE")
	if err != nil {
		t.Fatal(err)
	}
	primaryWorld := newWorld(t, testValue, netip.Addr{})
	tests := []struct {
		name   string
		remote Remote
		ok     bool
	}{
		{"the agent's certificate pinned", ta.remote, true},
		{"the agent's certificate renewed beside another", Remote{Name: "eu-1", URL: ta.remote.URL, RIR: "RIPE", CertSHA256: other.CertSHA256, NextCertSHA256: ta.remote.CertSHA256}, true},
		{"the agent's certificate pinned, another renewed", Remote{Name: "eu-1", URL: ta.remote.URL, RIR: "RIPE", CertSHA256: ta.remote.CertSHA256, NextCertSHA256: other.CertSHA256}, true},
		{"another certificate only", Remote{Name: "eu-1", URL: ta.remote.URL, RIR: "RIPE", CertSHA256: other.CertSHA256}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRunner(Config{
				Primary: newValidator(t, "primary", primaryWorld.Addr, 0, netip.Addr{}), Remotes: staticRemotes{tc.remote},
				Identity: NewPrimaryIdentity(agentCA, nil), MinRemotes: 1, RemoteTimeout: 8 * time.Second, Logger: quiet,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			obs, err := r.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue})
			if err != nil {
				t.Fatal(err)
			}
			if got := obs[1].Unavailable == ""; got != tc.ok {
				t.Errorf("agent's observation usable %v (%s %s), want %v", got, obs[1].Unavailable, obs[1].UnavailableDetail, tc.ok)
			}
		})
	}
}

// TestAgentLogsObservations: an agent logs each observation at debug level,
// naming the domain and the method, for an operator following one
// perspective (black-box run: it logged nothing past its start).
func TestAgentLogsObservations(t *testing.T) {
	t.Parallel()
	agentCA := newAgentCA(t)
	var buf testenv.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ta := startAgent(t, agentCA, agentSpec{name: "eu-1", rir: "RIPE", txt: testValue, logger: logger}, netip.Addr{}, 0)
	primaryWorld := newWorld(t, testValue, netip.Addr{})
	r, err := NewRunner(Config{
		Primary: newValidator(t, "primary", primaryWorld.Addr, 0, netip.Addr{}), Remotes: staticRemotes{ta.remote},
		Identity: NewPrimaryIdentity(agentCA, nil), MinRemotes: 1, RemoteTimeout: 8 * time.Second, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Observe(t.Context(), validation.Request{Domain: testDomain, Method: validation.MethodDNS, Value: testValue}); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "msg=observation domain="+testDomain+" method=dns") {
		t.Errorf("agent log %q has no line for the observation", out)
	}
}

// TestOutdatedAgent: an agent from before IP address identifiers, which
// refuses an address's URL or looks the address up as a name, is told to
// be upgraded (an unusable answer, not the agent's network, review), and
// nothing of a name's observation is taken for it.
func TestOutdatedAgent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		obs  *validation.Observation
		want bool
	}{
		{"http-01 of an address, refused as a URL", &validation.Observation{Domain: "192.0.2.1", File: &validation.FileObservation{Fetches: []*webfetch.Trace{{ResolveError: &webfetch.Error{Kind: webfetch.ErrInvalidURL, Detail: `host "192.0.2.1" is an ip address, not a dns name`}}}}}, true},
		{"tls-alpn-01 of an address looked up as a name", &validation.Observation{Domain: "192.0.2.1", TLSALPN: &validation.TLSALPNObservation{Lookups: []validation.Lookup{{}}, Error: &webfetch.Error{Kind: webfetch.ErrDNSNXDomain}}}, true},
		{"tls-alpn-01 of an address refused", &validation.Observation{Domain: "192.0.2.1", TLSALPN: &validation.TLSALPNObservation{Error: &webfetch.Error{Kind: webfetch.ErrConnectionRefused}}}, false},
		{"a name's URL refused", &validation.Observation{Domain: "a.example.com", File: &validation.FileObservation{Fetches: []*webfetch.Trace{{ResolveError: &webfetch.Error{Kind: webfetch.ErrInvalidURL}}}}}, false},
	}
	for _, tc := range tests {
		if detail, got := outdatedAgent(tc.obs); got != tc.want || got && !strings.Contains(detail, "upgrade it") {
			t.Errorf("%s: outdated %v (%q), want %v", tc.name, got, detail, tc.want)
		}
		if _, own := agentOwnFailure(tc.obs); own {
			t.Errorf("%s: taken for the agent's own network failure", tc.name)
		}
	}
}
