package sqlite

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// benchSortable is base32hex in lowercase: its alphabet is in ASCII order.
var benchSortable = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// benchID returns a time-ordered id like the ones package order makes:
// prefix, 10 characters of milliseconds since the epoch, 16 random
// characters.
func benchID(prefix string, now time.Time) string {
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(now.UnixMilli())<<14)
	r := make([]byte, 10)
	rand.Read(r)
	return prefix + benchSortable.EncodeToString(t[:7])[:10] + benchSortable.EncodeToString(r)
}

// benchJSON returns a JSON object of about n bytes.
func benchJSON(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"observations":[`)
	for i := 0; b.Len() < n-64; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"perspective":"p%d","address":"192.0.2.%d","latency_ms":%d,"value":"%x"}`, i, i%250, i*7, i*7919)
	}
	b.WriteString(`],"findings":[]}`)
	return []byte(b.String())
}

// procCounters are the process's I/O and CPU counters (Linux): bytes and
// system calls of read(2)/pread(2) and write(2)/pwrite(2), and CPU time.
type procCounters struct {
	rchar, wchar, syscr, syscw int64
	cpu                        time.Duration
}

func readProcCounters() (procCounters, bool) {
	var c procCounters
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return c, false
	}
	c.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return c, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "rchar":
			c.rchar = n
		case "wchar":
			c.wchar = n
		case "syscr":
			c.syscr = n
		case "syscw":
			c.syscw = n
		}
	}
	return c, true
}

// benchFlow is one ACME certificate's store calls, for BenchmarkACMEFlow.
type benchFlow struct {
	s          *Store
	accts      []string
	evidence   []byte
	chain, csr string
}

// newBenchFlow returns a flow on s, creating that many ACME accounts.
func newBenchFlow(tb testing.TB, s *Store, accounts int) *benchFlow {
	tb.Helper()
	f := &benchFlow{s: s, accts: make([]string, accounts), evidence: benchJSON(2048),
		chain: strings.Repeat("MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw\n", 32),
		csr:   strings.Repeat("MIICvDCCAaQCAQAwdzELMAkGA1UEBhMCVVMxDTALBgNVBAgMBFV0YWgxDzANBgNV\n", 16)}
	t0 := time.Now().UTC()
	for i := range f.accts {
		f.accts[i] = benchID("acme_", t0)
		err := s.ACMEAccountCreate(context.Background(), store.ACMEAccount{ID: f.accts[i], KeyThumbprint: "tp" + f.accts[i],
			KeyJWK: []byte(`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`),
			Status: store.ACMEAccountValid, CreatedAt: t0})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return f
}

// run runs the calls of certificate i.
func (f *benchFlow) run(i int64) error {
	ctx := context.Background()
	s := f.s
	acct := f.accts[i%int64(len(f.accts))]
	now := time.Now().UTC()
	getAcct := func() error {
		_, err := s.ACMEAccountGet(ctx, acct)
		return err
	}
	// newOrder
	if err := getAcct(); err != nil {
		return err
	}
	names := []string{fmt.Sprintf("h%d-%x.example.com", i, now.UnixNano()&0xffff), fmt.Sprintf("www.h%d.example.net", i)}
	o := &store.ACMEOrder{Order: store.Order{ID: benchID("ord_", now), AccountID: acct, Method: "acme", Status: "pending",
		CreatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour)}, Profile: "default"}
	for _, n := range names {
		if _, err := s.ACMEAuthzFindReusable(ctx, acct, n, now.Add(-30*24*time.Hour), now); err == nil {
			return fmt.Errorf("authorization of %s reusable", n)
		}
		z := store.ACMEAuthz{ID: benchID("az_", now), AccountID: acct, Identifier: n, Status: store.ACMEStatusPending,
			Token: benchID("", now), ExpiresAt: now.Add(7 * 24 * time.Hour), CreatedAt: now}
		for _, typ := range []string{"http-01", "dns-01", "tls-alpn-01"} {
			z.Challenges = append(z.Challenges, store.ACMEChallenge{Type: typ, Status: store.ACMEStatusPending})
		}
		o.Authzs = append(o.Authzs, z)
		o.Order.Authorizations = append(o.Order.Authorizations, store.Authorization{Domain: n, Method: "acme", Status: "pending",
			Value: z.ID, ExpiresAt: o.Order.ExpiresAt})
	}
	if err := s.ACMEOrderCreate(ctx, o, o.Authzs); err != nil {
		return err
	}
	// Fetch each authorization, then answer its challenge.
	for _, z := range o.Authzs {
		if err := getAcct(); err != nil {
			return err
		}
		if _, err := s.ACMEAuthzGet(ctx, z.ID); err != nil {
			return err
		}
	}
	for _, z := range o.Authzs {
		if err := getAcct(); err != nil {
			return err
		}
		if _, err := s.ACMEAuthzGet(ctx, z.ID); err != nil {
			return err
		}
		at := time.Now().UTC()
		err := s.ACMEChallengeComplete(ctx, store.ACMEChallengeResult{AuthzID: z.ID, Type: "http-01", Status: store.ACMEStatusValid,
			At: at, AuthzExpiresAt: at.Add(30 * 24 * time.Hour), Evidence: f.evidence}, now, now.Add(-time.Minute))
		if err != nil {
			return err
		}
	}
	// finalize
	if err := getAcct(); err != nil {
		return err
	}
	if _, err := s.ACMEOrderGet(ctx, o.Order.ID); err != nil {
		return err
	}
	// A serial as package ca makes them: the time, then random bits.
	serial := make([]byte, 10)
	rand.Read(serial)
	cert, err := s.ACMEOrderFinalize(ctx, o.Order.ID, f.csr, []byte("TBS"), time.Now().UTC(), func(so *store.Order) (*store.Certificate, error) {
		return &store.Certificate{Serial: fmt.Sprintf("4%011x", now.UnixMilli()) + hex.EncodeToString(serial), ChainPEM: f.chain, SPKIHash: fakeSPKI, NotBefore: now, NotAfter: now.Add(90 * 24 * time.Hour), CreatedAt: now}, nil
	})
	if err != nil {
		return err
	}
	// download
	if err := getAcct(); err != nil {
		return err
	}
	// The certificate's AccountID is the owner check: no order read.
	c, err := s.CertificateGetBySerial(ctx, cert.Serial)
	if err != nil {
		return err
	}
	if c.AccountID != acct {
		return fmt.Errorf("certificate %s of account %q, want %q", c.Serial, c.AccountID, acct)
	}
	return nil
}

// BenchmarkACMEFlow runs the store calls of one ACME certificate per op,
// as package order makes them, on a file database that already holds a
// thousand certificates: new order (account, reuse lookup per name,
// ACMEOrderCreate of 2 names with 3 challenges each), per authorization a
// fetch (account, authorization) and a challenge (account, authorization,
// ACMEChallengeComplete with ~2 KB of evidence), finalize (account, order,
// ACMEOrderFinalize with a ~2 KB chain) and the download (account,
// certificate by serial with its owner). clients=1 runs the certificates one after
// another (no group commit); clients=8 runs 8 at a time. Besides ns/op it
// reports, per op: the process's CPU time, durable commits (one fsync of the
// WAL each), WAL frames appended (4 KiB pages), and the bytes and system
// calls of the process's writes and reads (WAL frames, checkpoints, page
// reads).
func BenchmarkACMEFlow(b *testing.B) {
	for _, clients := range []int{1, 8} {
		s, _ := openTemp(b)
		f := newBenchFlow(b, s, 16)
		var next atomic.Int64
		for range 1000 {
			if err := f.run(next.Add(1)); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			commits0, frames0 := statDurableCommits.Value(), statWALFrames.Value()
			pc0, procOK := readProcCounters()
			var ops atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ops.Add(1) <= int64(b.N) {
						if err := f.run(next.Add(1)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(statDurableCommits.Value()-commits0)/n, "commits/op")
			b.ReportMetric(float64(statWALFrames.Value()-frames0)/n, "walframes/op")
			if pc1, ok := readProcCounters(); ok && procOK {
				b.ReportMetric(float64(pc1.cpu-pc0.cpu)/n, "cpu-ns/op")
				b.ReportMetric(float64(pc1.wchar-pc0.wchar)/n, "wbytes/op")
				b.ReportMetric(float64(pc1.syscw-pc0.syscw)/n, "writes/op")
				b.ReportMetric(float64(pc1.rchar-pc0.rchar)/n, "rbytes/op")
				b.ReportMetric(float64(pc1.syscr-pc0.syscr)/n, "reads/op")
			}
		})
	}
}
