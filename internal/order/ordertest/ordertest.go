// Package ordertest builds, for tests only, the real stack an order.Service
// runs on: SQLite in a temporary directory, the CA, a loopback DNS server
// holding com. and applicant.com., a loopback web server, a forwarding
// resolver, a hardened fetcher, the validator, the primary perspective and
// the service, with a clock the test moves by hand.
//
// It is an ordinary package so that the tests of other packages (jobs, api,
// acme) can import it, but nothing outside _test.go files may: it opens
// servers, writes to t.TempDir and fails the test on any error.
package ordertest

import (
	"cmp"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/metrics"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/store/sqlite"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// CAAIdentity is the issuer domain name the stack's validator matches
// against CAA records. The zones hold no CAA record unless a test adds one.
const CAAIdentity = "dcv.example.net"

// Zones are the zones the stack's DNS server holds from the start.
var Zones = []string{"com.", "applicant.com."}

// Start is the time a stack's Clock shows until the test moves it.
var Start = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// The stack's bounds on the wire. A healthy loopback answer takes
// milliseconds; the bounds only cut a test short when something is wrong.
const (
	// dnsTimeout bounds one DNS query to the loopback server.
	dnsTimeout = time.Second
	// fetchTimeout bounds one fetch from the loopback web server.
	fetchTimeout = 3 * time.Second
	// observeTimeout bounds one observation of one domain.
	observeTimeout = 5 * time.Second
)

// Clock is a clock the test sets by hand (testenv.Clock).
type Clock = testenv.Clock

// NewClock returns a Clock showing t.
func NewClock(t time.Time) *Clock { return testenv.NewClock(t) }

// Options changes the stack New builds. The zero value is the default
// stack: the Clock drives the validator and the service, the service
// signs with the CA, and the order package's defaults hold.
type Options struct {
	// WallClock makes the validator and the service read the wall clock;
	// Stack.Clock is then nil. For tests whose other parts (a job queue,
	// an ACME client) run on the wall clock.
	WallClock bool
	// Issuer, when not nil, returns the issuer the service signs with,
	// given the stack's CA (a test wraps or replaces it). If nil, the CA.
	Issuer func(authority *ca.CA) order.Issuer
	// CheckInterval is the service's; if zero, order.DefaultCheckInterval.
	CheckInterval time.Duration
	// Logger is the service's; if nil, slog.Default().
	Logger *slog.Logger
	// TLSALPN configures the validator's tls-alpn-01 observations.
	TLSALPN validation.TLSALPNConfig
	// Metrics is the service's; nil counts nothing.
	Metrics *metrics.Metrics
	// MaxPendingOrders is the service's.
	MaxPendingOrders int
	// WrapObserver, when not nil, wraps the service's observer (the
	// Runner), for a test that looks at each observation's request.
	WrapObserver func(order.Observer) order.Observer
	// OwnResolvers is the service's (the addresses of dcv's own
	// resolvers, hidden in applicants' views).
	OwnResolvers []string
	// MinRemotes is the runner's least number of remote perspectives.
	// None are enrolled, so with MinRemotes > 0 every observation fails
	// closed on the certificate authority's side (PERSPECTIVE_UNAVAILABLE).
	MinRemotes int
	// HTTPPort is the port validations fetch http:// URLs from; if zero,
	// the stack's web server's (a test serving ::1 itself sets its own).
	HTTPPort int
	// IPMaxValidity is the service's.
	IPMaxValidity time.Duration
	// Names is the service's identifier policy. When it permits IP
	// addresses of reserved blocks, the CA waives their lint, as dcv
	// serve's does.
	Names ident.Policy
}

// Stack is the real stack of an order.Service, every piece exposed so that
// a test can drive the world (DNS, Web, Clock) and build more on it.
type Stack struct {
	// Dir is the test's temporary directory holding the database and the
	// CA's files.
	Dir string
	// DBPath is the SQLite database file, for a second pool on it.
	DBPath    string
	Store     *sqlite.Store
	CA        *ca.CA
	Issuer    order.Issuer
	DNS       *testenv.DNSServer
	Web       *testenv.WebServer
	Resolver  *dnsclient.Forwarder
	Fetcher   *webfetch.Fetcher
	Validator *validation.Validator
	Runner    *perspective.Runner
	// Clock drives the validator and the service; nil with
	// Options.WallClock.
	Clock *Clock
	// Service is the order service over all of the above, without a
	// scheduler.
	Service *order.Service

	opts Options
}

// New builds the stack; everything it starts stops when the test ends. It
// calls t.Fatal on any error.
func New(t testing.TB, opts Options) *Stack {
	t.Helper()
	dir := t.TempDir()
	s := &Stack{Dir: dir, DBPath: filepath.Join(dir, "dcv.db"), opts: opts}
	var err error
	s.Store, err = sqlite.Open(context.Background(), s.DBPath)
	if err != nil {
		t.Fatalf("ordertest: %v", err)
	}
	t.Cleanup(func() { s.Store.Close() })
	s.CA, err = ca.LoadOrCreate(ca.Config{
		Dir:          filepath.Join(dir, "ca"),
		AIAIssuerURL: "http://127.0.0.1:8080/ca/intermediate.cer",
		CRLURL:       "http://127.0.0.1:8080/ca/intermediate.crl",
		IPs:          opts.Names.IPs,
	})
	if err != nil {
		t.Fatalf("ordertest: %v", err)
	}
	s.Issuer = s.CA
	if opts.Issuer != nil {
		s.Issuer = opts.Issuer(s.CA)
	}
	s.DNS = testenv.NewDNSServer(t)
	for _, z := range Zones {
		s.DNS.AddZone(z)
	}
	s.Web = testenv.NewWebServer(t)
	s.Resolver, err = dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{s.DNS.Addr}, Timeout: dnsTimeout})
	if err != nil {
		t.Fatalf("ordertest: %v", err)
	}
	s.Fetcher, err = webfetch.New(webfetch.Config{
		Resolver: s.Resolver, HTTPPort: cmp.Or(opts.HTTPPort, s.Web.HTTPPort), HTTPSPort: s.Web.HTTPSPort,
		AllowLoopback: true, Timeout: fetchTimeout,
	})
	if err != nil {
		t.Fatalf("ordertest: %v", err)
	}
	vcfg := validation.Config{
		Resolver: s.Resolver, Fetcher: s.Fetcher, CAAIdentity: CAAIdentity,
		TLSALPN: opts.TLSALPN, Timeout: observeTimeout,
	}
	if !opts.WallClock {
		s.Clock = NewClock(Start)
		vcfg.Clock = s.Clock
	}
	s.Validator, err = validation.New(vcfg)
	if err != nil {
		t.Fatalf("ordertest: %v", err)
	}
	s.Runner, err = perspective.NewRunner(perspective.Config{Primary: s.Validator, MinRemotes: opts.MinRemotes})
	if err != nil {
		t.Fatalf("ordertest: %v", err)
	}
	s.Service = s.NewService(t)
	return s
}

// NewService returns another service over the same store, CA, observer and
// clock, as after a restart. It has no scheduler.
func (s *Stack) NewService(t testing.TB) *order.Service {
	t.Helper()
	var obs order.Observer = s.Runner
	if s.opts.WrapObserver != nil {
		obs = s.opts.WrapObserver(obs)
	}
	cfg := order.Config{
		Store: s.Store, Observer: obs, Issuer: s.Issuer,
		CheckInterval: s.opts.CheckInterval, Logger: s.opts.Logger, Metrics: s.opts.Metrics,
		OwnResolvers: s.opts.OwnResolvers, MaxPendingOrders: s.opts.MaxPendingOrders, Names: s.opts.Names, IPMaxValidity: s.opts.IPMaxValidity,
	}
	if s.Clock != nil {
		cfg.Clock = s.Clock
	}
	svc, err := order.New(cfg)
	if err != nil {
		t.Fatalf("ordertest: %v", err)
	}
	return svc
}

// NewAdmin creates an admin account named name and returns it
// authenticated.
func (s *Stack) NewAdmin(t testing.TB, name string) *store.Account {
	t.Helper()
	a, _ := s.AccountWithKey(t, name, true)
	return a
}

// AccountWithKey creates an account named name (an admin when admin is
// true) through the service and returns it as its API key authenticates,
// with the key, for tests that send the key over HTTP.
func (s *Stack) AccountWithKey(t testing.TB, name string, admin bool) (*store.Account, string) {
	t.Helper()
	ctx := context.Background()
	av, err := s.Service.CreateAccount(ctx, nil, name, admin)
	if err != nil {
		t.Fatalf("ordertest: creating account %s: %v", name, err)
	}
	a, err := s.Service.Authenticate(ctx, av.APIKey)
	if err != nil {
		t.Fatalf("ordertest: authenticating account %s: %v", name, err)
	}
	return a, av.APIKey
}

// IssuedOrder orders a certificate for name by acct (with the PEM CSR csr,
// or a key dcv generates when csr is ""), publishes its DNS record, checks
// it and issues it, and returns the order as created.
func (s *Stack) IssuedOrder(t testing.TB, acct *store.Account, name, csr string) *order.View {
	t.Helper()
	ctx := context.Background()
	o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{name}, Method: "dns", CSR: csr})
	if err != nil {
		t.Fatalf("ordertest: ordering %s: %v", name, err)
	}
	s.DNS.Add(`_dnsauth.` + name + `. TXT "` + o.Domains[0].Instructions.Value + `"`)
	if cr, err := s.Service.Check(ctx, acct, o.ID); err != nil || cr.Status != order.StatusApproved {
		t.Fatalf("ordertest: checking %s: %+v, %v", name, cr, err)
	}
	if err := s.Service.Issue(ctx, o.ID); err != nil {
		t.Fatalf("ordertest: issuing %s: %v", name, err)
	}
	return o
}

// NewAccount creates a non-admin account named name through the service
// and returns it as its API key authenticates.
func (s *Stack) NewAccount(t testing.TB, name string) *store.Account {
	t.Helper()
	a, _ := s.AccountWithKey(t, name, false)
	return a
}
