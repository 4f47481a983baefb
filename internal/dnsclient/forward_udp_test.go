package dnsclient_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// udpServer answers each datagram on a fresh loopback address with the
// datagrams reply returns, sent in order, and records where queries came
// from. It works on raw bytes so that tests can send what no DNS server
// would.
type udpServer struct {
	addr string
	mu   sync.Mutex
	from []netip.AddrPort
}

func newUDPServer(t *testing.T, reply func(q *dns.Msg) [][]byte) *udpServer {
	t.Helper()
	pc, ln, err := testenv.ListenUDPTCP()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	s := &udpServer{addr: pc.LocalAddr().String()}
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed at cleanup
			}
			s.mu.Lock()
			s.from = append(s.from, from.(*net.UDPAddr).AddrPort())
			s.mu.Unlock()
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			for _, d := range reply(q) {
				_, _ = pc.WriteTo(d, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close() })
	return s
}

func (s *udpServer) sources() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]netip.AddrPort(nil), s.from...)
}

// answerA packs an answer to q with one A record, its ID xored with flip.
func answerA(t *testing.T, q *dns.Msg, flip uint16) []byte {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Id ^= flip
	rr, err := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.7")
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

func TestForwarderUDPAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		reply  func(t *testing.T, q *dns.Msg) [][]byte
		ok     bool // the lookup succeeds; else kind and detail
		kind   dnsclient.Kind
		detail string
	}{
		{
			name: "answer with another id is ignored",
			reply: func(t *testing.T, q *dns.Msg) [][]byte {
				return [][]byte{answerA(t, q, 1), answerA(t, q, 0)}
			},
			ok: true,
		},
		{
			name: "garbage with another id is ignored",
			reply: func(t *testing.T, q *dns.Msg) [][]byte {
				junk := append([]byte{byte(q.Id>>8) ^ 0x80, byte(q.Id)}, strings.Repeat("\xff", 30)...)
				return [][]byte{junk, answerA(t, q, 0)}
			},
			ok: true,
		},
		{
			name: "only answers with another id time out",
			reply: func(t *testing.T, q *dns.Msg) [][]byte {
				return [][]byte{answerA(t, q, 0x100)}
			},
			kind:   dnsclient.KindTimeout,
			detail: "udp:",
		},
		{
			name: "datagram shorter than a header",
			reply: func(t *testing.T, q *dns.Msg) [][]byte {
				return [][]byte{{byte(q.Id >> 8), byte(q.Id), 0x81}}
			},
			kind:   dnsclient.KindMalformed,
			detail: "udp: dns: short read",
		},
		{
			name: "answer with our id cut short",
			reply: func(t *testing.T, q *dns.Msg) [][]byte {
				b := answerA(t, q, 0)
				return [][]byte{b[:len(b)-3]}
			},
			kind:   dnsclient.KindMalformed,
			detail: "udp: dns:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newUDPServer(t, func(q *dns.Msg) [][]byte { return tt.reply(t, q) })
			f := newForwarder(t, 300*time.Millisecond, s.addr)
			r, err := f.Lookup(t.Context(), "www.example.test", dns.TypeA)
			if tt.ok {
				if err != nil {
					t.Fatalf("Lookup: %v", err)
				}
				if len(r.Answer) != 1 || r.Answer[0].Data != "192.0.2.7" || r.Server != s.addr {
					t.Errorf("answer %s from %s, want 192.0.2.7 from %s", summary(r), r.Server, s.addr)
				}
				return
			}
			de := lookupErr(t, err)
			if de.Kind != tt.kind || !strings.Contains(de.Detail, tt.detail) || de.Server != s.addr {
				t.Errorf("error %+v, want %s from %s mentioning %q", de, tt.kind, s.addr, tt.detail)
			}
		})
	}
}

// TestForwarderFreshSocketPerLookup checks that every query leaves from its
// own socket (a new random source port, RFC 5452 §9.2), bound to the
// configured source address.
func TestForwarderFreshSocketPerLookup(t *testing.T) {
	t.Parallel()
	s := newUDPServer(t, func(q *dns.Msg) [][]byte { return [][]byte{answerA(t, q, 0)} })
	src := testenv.NewLoopbackAddr()
	f, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{s.addr}, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for range n {
		if _, err := f.Lookup(t.Context(), "www.example.test", dns.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	from := s.sources()
	ports := map[uint16]bool{}
	for _, ap := range from {
		if ap.Addr() != src {
			t.Errorf("query from %v, want from source %v", ap, src)
		}
		ports[ap.Port()] = true
	}
	// Random ports may collide now and then, a reused socket always does.
	if len(from) != n || len(ports) < n/2 {
		t.Errorf("%d queries from %d source ports, want %d from about as many", len(from), len(ports), n)
	}
}

func TestForwarderCancelStopsWaiting(t *testing.T) {
	t.Parallel()
	s := newUDPServer(t, func(*dns.Msg) [][]byte { return nil }) // never answers
	f := newForwarder(t, 0, s.addr)                              // 3s per query: cancel must win
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := f.Lookup(ctx, "www.example.test", dns.TypeA)
	elapsed := time.Since(start)
	de := lookupErr(t, err)
	if de.Kind != dnsclient.KindTimeout || de.Server != s.addr {
		t.Errorf("error %+v, want timeout from %s", de, s.addr)
	}
	if elapsed > time.Second {
		t.Errorf("Lookup took %v after cancel at 200ms, want prompt", elapsed)
	}
}
