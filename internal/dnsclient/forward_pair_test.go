package dnsclient_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// outcome renders what a lookup gave, for comparing LookupPair with Lookup.
func outcome(r *dnsclient.Response, err error) string {
	if err != nil {
		var de *dnsclient.Error
		if !errors.As(err, &de) {
			return "error " + err.Error()
		}
		return fmt.Sprintf("error %v from %s for %s %s upstream=%v", de.Kind, de.Server, de.Name, de.Type, de.Upstream)
	}
	return fmt.Sprintf("%s from %s dnssec=%q cached=%v", summary(r), r.Server, r.DNSSEC, r.Cached)
}

var pairTypes = [2]uint16{dns.TypeAAAA, dns.TypeA}

// TestForwarderLookupPairLikeLookup checks that LookupPair gives what two
// Lookups give, across answers, CNAME chains, the TCP fallback and server
// failover.
func TestForwarderLookupPairLikeLookup(t *testing.T) {
	t.Parallel()
	names := []string{"both.example.com", "v4.example.com", "nx.example.com", "cname.example.com",
		"partial.example.com", "big.example.com"}
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	s.Add(`both.example.com. 300 IN A 192.0.2.1`, `both.example.com. 300 IN AAAA 2001:db8::1`,
		`v4.example.com. 300 IN A 192.0.2.4`,
		`cname.example.com. 300 IN CNAME both.example.com.`,
		`partial.example.com. 300 IN CNAME elsewhere.example.net.`,
		`big.example.com. 300 IN A 192.0.2.5`)
	for i := range 100 { // 2.8 KB of AAAA: truncated over UDP
		s.Add(fmt.Sprintf(`big.example.com. 300 IN AAAA 2001:db8::%x`, i+1))
	}
	dropping := testenv.NewDNSServer(t)
	dropping.AddZone("example.com")
	for _, n := range names {
		dropping.SetDelay(n, -1)
	}
	// aaaaFail answers A for any name and SERVFAIL to anything else.
	aaaaFail := serveFunc(t, func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		if req.Question[0].Qtype != dns.TypeA {
			m.Rcode = dns.RcodeServerFailure
		} else {
			rr, _ := dns.NewRR(req.Question[0].Name + " 60 IN A 192.0.2.99")
			m.Answer = append(m.Answer, rr)
		}
		_ = w.WriteMsg(m)
	})
	closed := closedAddr(t)
	tests := []struct {
		name    string
		servers []string
	}{
		{"one server", []string{s.Addr}},
		{"aaaa fails over", []string{aaaaFail, s.Addr}},
		{"aaaa servfail kept", []string{aaaaFail}},
		{"first times out", []string{dropping.Addr, s.Addr}},
		{"first unreachable", []string{closed, s.Addr}},
		{"all time out", []string{dropping.Addr}},
	}
	for _, tt := range tests {
		for _, name := range names {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				f := newForwarder(t, 200*time.Millisecond, tt.servers...)
				resps, errs := f.LookupPair(t.Context(), name, pairTypes)
				for i, qt := range pairTypes {
					got := outcome(resps[i], errs[i])
					want := outcome(f.Lookup(t.Context(), name, qt))
					if got != want {
						t.Errorf("LookupPair %s:\n got %s\nwant %s", dns.TypeToString[qt], got, want)
					}
				}
			})
		}
	}
}

// pairServer is a udpServer that holds the first query of each pair and
// answers both when the second arrives, with what answers gives. The
// queries of one socket arrive in the order sent: AAAA, then A. ids
// returns the IDs of the queries so far.
func pairServer(t *testing.T, answers func(t *testing.T, first, second *dns.Msg) [][]byte) (s *udpServer, ids func() []uint16) {
	var (
		mu   sync.Mutex
		held *dns.Msg
		seen []uint16
	)
	s = newUDPServer(t, func(q *dns.Msg) [][]byte {
		if q.Question[0].Name == "." {
			// The question that tells a silent resolver from a slow
			// domain after a timeout (see Forwarder.resolversSilent): a
			// live resolver answers it, apart from the pair.
			return [][]byte{answerFor(t, q, nil)}
		}
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, q.Id)
		if held == nil {
			held = q
			return nil
		}
		first := held
		held = nil
		return answers(t, first, q)
	})
	return s, func() []uint16 {
		mu.Lock()
		defer mu.Unlock()
		return append([]uint16(nil), seen...)
	}
}

// answerFor packs an answer to q with one address, A or AAAA by its type;
// with the question of other when other is not nil.
func answerFor(t *testing.T, q, other *dns.Msg) []byte {
	m := new(dns.Msg)
	m.SetReply(q)
	if other != nil {
		m.Question = other.Question
	}
	data := "A 192.0.2.7"
	if q.Question[0].Qtype == dns.TypeAAAA {
		data = "AAAA 2001:db8::7"
	}
	rr, err := dns.NewRR(m.Question[0].Name + " 60 IN " + data)
	if err != nil {
		t.Error(err)
		return nil
	}
	m.Answer = append(m.Answer, rr)
	b, err := m.Pack()
	if err != nil {
		t.Error(err)
	}
	return b
}

func TestForwarderLookupPairWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answers func(t *testing.T, first, second *dns.Msg) [][]byte
		want    [2]string // outcome of AAAA, A, up to " from"
	}{
		{
			name: "answers in reverse order, after one with another id",
			answers: func(t *testing.T, first, second *dns.Msg) [][]byte {
				other := first.Copy()
				other.Id = first.Id ^ second.Id ^ 0xffff
				if other.Id == first.Id || other.Id == second.Id {
					other.Id++
				}
				return [][]byte{answerFor(t, other, nil), answerFor(t, second, nil), answerFor(t, first, nil)}
			},
			want: [2]string{"www.example.test. AAAA NOERROR an:www.example.test./AAAA/60/2001:db8::7",
				"www.example.test. A NOERROR an:www.example.test./A/60/192.0.2.7"},
		},
		{
			name: "each id answered with the other question",
			answers: func(t *testing.T, first, second *dns.Msg) [][]byte {
				return [][]byte{answerFor(t, first, second), answerFor(t, second, first)}
			},
			want: [2]string{"error malformed", "error malformed"},
		},
		{
			name: "one answered twice, the other never",
			answers: func(t *testing.T, first, second *dns.Msg) [][]byte {
				return [][]byte{answerFor(t, second, nil), answerFor(t, second, nil)}
			},
			want: [2]string{"error timeout", "www.example.test. A NOERROR an:www.example.test./A/60/192.0.2.7"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ids := pairServer(t, tt.answers)
			f := newForwarder(t, 300*time.Millisecond, s.addr)
			resps, errs := f.LookupPair(t.Context(), "www.example.test", pairTypes)
			for i, want := range tt.want {
				if got := outcome(resps[i], errs[i]); !strings.HasPrefix(got, want) {
					t.Errorf("%s: got %s, want %s...", dns.TypeToString[pairTypes[i]], got, want)
				}
			}
			// The pair's two queries come first, from one socket with
			// different ids; one not answered in time comes again, from
			// the same socket with its id (the retransmission); the
			// question after a timeout (". NS", not in ids) comes from a
			// socket of its own.
			from, qids := s.sources(), ids()
			if len(qids) < 2 || len(qids) > 4 || len(from) < len(qids) || from[0] != from[1] || qids[0] == qids[1] {
				t.Fatalf("queries from %v with ids %v, want 2 from one socket with different ids", from, qids)
			}
			for k := 2; k < len(qids); k++ {
				if from[k] != from[0] || qids[k] != qids[0] && qids[k] != qids[1] {
					t.Errorf("query %d from %s with id %d, want a retransmission of the pair's", k, from[k], qids[k])
				}
			}
		})
	}
}

func TestForwarderLookupPairCache(t *testing.T) {
	t.Parallel()
	s := testenv.NewDNSServer(t)
	s.AddZone("example.com")
	s.Add(`both.example.com. 300 IN A 192.0.2.1`, `both.example.com. 300 IN AAAA 2001:db8::1`)
	f, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{s.Addr}, CacheMaxTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cached  bool
		queries int // the server's count after the call
	}{
		{"first asks both", false, 2},
		{"second is cached", true, 2},
	}
	for _, tt := range tests { // in order: the cache carries over
		t.Run(tt.name, func(t *testing.T) {
			resps, errs := f.LookupPair(t.Context(), "both.example.com", pairTypes)
			for i := range resps {
				if errs[i] != nil || resps[i].Cached != tt.cached || len(resps[i].Answer) != 1 {
					t.Errorf("%s: %s, want one record, cached=%v", dns.TypeToString[pairTypes[i]], outcome(resps[i], errs[i]), tt.cached)
				}
			}
			if got := s.QueryCount(); got != tt.queries {
				t.Errorf("server saw %d queries, want %d", got, tt.queries)
			}
		})
	}
}
