package order_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/store/sqlite"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// benchInterval is the check interval of the benchmarks' service. It is
// short so that the clock, moved past it before each check, stays far from
// the values' 30-day expiry however many iterations run.
const benchInterval = time.Second

// benchClock is a clock the benchmarks move by hand.
type benchClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *benchClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *benchClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// benchWorld is the real stack of one check: SQLite in a temporary
// directory, the CA, and a validator (CAA included) resolving through a
// loopback DNS server holding com. and applicant.com. and fetching from a
// loopback web server that a.applicant.com points at.
type benchWorld struct {
	svc   *order.Service
	acct  *store.Account
	dns   *testenv.DNSServer
	web   *testenv.WebServer
	clock *benchClock
}

func setupBench(b *testing.B) *benchWorld {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "dcv.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	authority, err := ca.LoadOrCreate(ca.Config{
		Dir:          filepath.Join(dir, "ca"),
		AIAIssuerURL: "http://127.0.0.1:8080/ca/intermediate.cer",
		CRLURL:       "http://127.0.0.1:8080/ca/intermediate.crl",
	})
	if err != nil {
		b.Fatal(err)
	}
	d := testenv.NewDNSServer(b)
	d.AddZone("com.")
	d.AddZone("applicant.com.")
	web := testenv.NewWebServer(b)
	d.Add("a.applicant.com. A " + web.IP.String())
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{d.Addr}, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	fetcher, err := webfetch.New(webfetch.Config{Resolver: res, HTTPPort: web.HTTPPort, HTTPSPort: web.HTTPSPort, AllowLoopback: true, Timeout: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	clock := &benchClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	v, err := validation.New(validation.Config{Resolver: res, Fetcher: fetcher, CAAIdentity: "ca.dcv-test.net", Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	runner, err := perspective.New(v)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := order.New(order.Config{
		Store: st, Observer: runner, Issuer: authority, Clock: clock,
		CheckInterval: benchInterval, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	av, err := svc.CreateAccount(ctx, nil, "bench", false)
	if err != nil {
		b.Fatal(err)
	}
	acct, err := svc.Authenticate(ctx, av.APIKey)
	if err != nil {
		b.Fatal(err)
	}
	return &benchWorld{svc: svc, acct: acct, dns: d, web: web, clock: clock}
}

// benchCheck times full checks of one pending domain: observation on the
// wire, diagnosis, and the store write of the check and its evidence. The
// domain never validates, so every iteration takes the same path.
func benchCheck(b *testing.B, method, want string, prepare func(w *benchWorld)) {
	w := setupBench(b)
	prepare(w)
	ctx := context.Background()
	o, err := w.svc.Create(ctx, w.acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: method})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.clock.add(benchInterval)
		res, err := w.svc.Check(ctx, w.acct, o.ID)
		if err != nil {
			b.Fatal(err)
		}
		if f := res.Domains[0].Findings; res.Status != order.StatusPending || len(f) == 0 || string(f[0].Code) != want {
			b.Fatalf("check: status %s, findings %+v; want pending with %s", res.Status, f, want)
		}
	}
}

// BenchmarkCheckDNS: the TXT record is missing, so each check also makes
// the lookups that tell where the record went (domain, doubled names, bare
// domain) and the CAA climb.
func BenchmarkCheckDNS(b *testing.B) {
	benchCheck(b, "dns", "DNS_RECORD_NOT_FOUND", func(*benchWorld) {})
}

// BenchmarkCheckFile: the file holds a stale value, so each check fetches it
// over http and https, then evaluates CAA.
func BenchmarkCheckFile(b *testing.B) {
	benchCheck(b, "file", "FILE_CONTENT_MISMATCH", func(w *benchWorld) {
		w.web.SetFile("a.applicant.com", validation.FilePath, 200, "stale-value-of-an-old-order\n")
	})
}

// BenchmarkIssue times the issuance of one certificate: the key read back,
// signing, zlint, and the SQLite transaction that stores the certificate
// and marks the order issued. Approved orders are prepared, untimed, by real
// checks.
func BenchmarkIssue(b *testing.B) {
	w := setupBench(b)
	ctx := context.Background()
	ids := make([]string, b.N)
	for i := range b.N {
		o, err := w.svc.Create(ctx, w.acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns"})
		if err != nil {
			b.Fatal(err)
		}
		w.dns.Add(`_dnsauth.a.applicant.com. TXT "` + o.Domains[0].Instructions.Value + `"`)
		res, err := w.svc.Check(ctx, w.acct, o.ID)
		if err != nil {
			b.Fatal(err)
		}
		if res.Status != order.StatusApproved {
			b.Fatalf("preparing order %d: status %s, findings %+v", i, res.Status, res.Domains[0].Findings)
		}
		w.dns.Remove("_dnsauth.a.applicant.com.", dns.TypeTXT)
		ids[i] = o.ID
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, id := range ids {
		if err := w.svc.Issue(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	v, err := w.svc.Get(ctx, w.acct, ids[len(ids)-1])
	if err != nil || v.Status != order.StatusIssued {
		b.Fatalf("last order: %+v, %v", v, err)
	}
}
