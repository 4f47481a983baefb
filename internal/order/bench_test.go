package order_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// benchInterval is the check interval of the benchmarks' service. It is
// short so that the clock, moved past it before each check, stays far from
// the values' 30-day expiry however many iterations run.
const benchInterval = time.Second

// benchWorld is the real stack of one check (see ordertest): SQLite in a
// temporary directory, the CA, and a validator (CAA included) resolving
// through a loopback DNS server holding com. and applicant.com. and fetching
// from a loopback web server that a.applicant.com points at.
type benchWorld struct {
	*ordertest.Stack
	acct *store.Account
}

func setupBench(b *testing.B) *benchWorld {
	b.Helper()
	s := ordertest.New(b, ordertest.Options{CheckInterval: benchInterval, Logger: slog.New(slog.DiscardHandler)})
	s.DNS.Add("a.applicant.com. A " + s.Web.IP.String())
	return &benchWorld{Stack: s, acct: s.NewAccount(b, "bench")}
}

// benchCheck times full checks of one pending domain: observation on the
// wire, diagnosis, and the store write of the check and its evidence. The
// domain never validates, so every iteration takes the same path.
func benchCheck(b *testing.B, method, want string, prepare func(w *benchWorld)) {
	w := setupBench(b)
	prepare(w)
	ctx := context.Background()
	o, err := w.Service.Create(ctx, w.acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: method})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.Clock.Add(benchInterval)
		res, err := w.Service.Check(ctx, w.acct, o.ID)
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
		w.Web.SetFile("a.applicant.com", validation.FilePath, 200, "stale-value-of-an-old-order\n")
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
		o, err := w.Service.Create(ctx, w.acct, order.CreateRequest{Domains: []string{"a.applicant.com"}, Method: "dns"})
		if err != nil {
			b.Fatal(err)
		}
		w.DNS.Add(`_dnsauth.a.applicant.com. TXT "` + o.Domains[0].Instructions.Value + `"`)
		res, err := w.Service.Check(ctx, w.acct, o.ID)
		if err != nil {
			b.Fatal(err)
		}
		if res.Status != order.StatusApproved {
			b.Fatalf("preparing order %d: status %s, findings %+v", i, res.Status, res.Domains[0].Findings)
		}
		w.DNS.Remove("_dnsauth.a.applicant.com.", dns.TypeTXT)
		ids[i] = o.ID
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, id := range ids {
		if err := w.Service.Issue(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	v, err := w.Service.Get(ctx, w.acct, ids[len(ids)-1])
	if err != nil || v.Status != order.StatusIssued {
		b.Fatalf("last order: %+v, %v", v, err)
	}
}
