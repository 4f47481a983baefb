package dnsclient_test

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// BenchmarkForwarderLookup measures one uncached forward-mode lookup (one
// UDP exchange with a loopback miekg/dns server), for each of the types an
// issuance asks.
func BenchmarkForwarderLookup(b *testing.B) {
	s := testenv.NewDNSServer(b)
	s.AddZone("example.com")
	s.Add("www.example.com. 300 IN A 192.0.2.1",
		"www.example.com. 300 IN AAAA 2001:db8::1",
		`example.com. 300 IN CAA 0 issue "ca.example"`)
	f, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{s.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name  string
		qname string
		qtype uint16
	}{
		{"A", "www.example.com", dns.TypeA},
		{"AAAA", "www.example.com", dns.TypeAAAA},
		{"CAA", "example.com", dns.TypeCAA},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			start := processCPU(b)
			for b.Loop() {
				r, err := f.Lookup(b.Context(), bb.qname, bb.qtype)
				if err != nil || len(r.Answer) != 1 {
					b.Fatalf("Lookup: %v, %+v", err, r)
				}
			}
			reportCPU(b, start)
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		start := processCPU(b)
		defer reportCPU(b, start)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := f.Lookup(b.Context(), "www.example.com", dns.TypeA)
				if err != nil || len(r.Answer) != 1 {
					b.Errorf("Lookup: %v, %+v", err, r)
					return
				}
			}
		})
	})
}

// processCPU returns the CPU time (user and system) the process has used:
// wall time per lookup on loopback is mostly waiting, CPU is what the
// server pays. It includes the test server's share, which the changes
// measured here do not touch.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU time per lookup since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkForwarderAddresses measures the address lookups of one host as
// webfetch makes them: two Lookups in parallel, or one LookupPair.
func BenchmarkForwarderAddresses(b *testing.B) {
	s := testenv.NewDNSServer(b)
	s.AddZone("example.com")
	s.Add("www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN AAAA 2001:db8::1")
	f, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{s.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	qtypes := [2]uint16{dns.TypeAAAA, dns.TypeA}
	b.Run("two-lookups", func(b *testing.B) {
		b.ReportAllocs()
		start := processCPU(b)
		for b.Loop() {
			var wg sync.WaitGroup
			var errs [2]error
			for i, qt := range qtypes {
				wg.Go(func() { _, errs[i] = f.Lookup(b.Context(), "www.example.com", qt) })
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				b.Fatal(errs)
			}
		}
		reportCPU(b, start)
	})
	b.Run("pair", func(b *testing.B) {
		b.ReportAllocs()
		start := processCPU(b)
		for b.Loop() {
			if _, errs := f.LookupPair(b.Context(), "www.example.com", qtypes); errs[0] != nil || errs[1] != nil {
				b.Fatal(errs)
			}
		}
		reportCPU(b, start)
	})
}
