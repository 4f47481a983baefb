package webfetch

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// names returns a resolver answering each name (without trailing dot) with
// its addresses.
func names(m map[string][]netip.Addr) *fakeResolver {
	r := &fakeResolver{answers: map[string]*dnsclient.Response{}}
	for name, as := range m {
		one := addrs(name+".", as...)
		for k, v := range one.answers {
			r.answers[k] = v
		}
	}
	return r
}

func newRedirectFetcher(t *testing.T, w *testenv.WebServer, res *fakeResolver, max int) *Fetcher {
	t.Helper()
	f, err := New(Config{
		Resolver: res, HTTPPort: w.HTTPPort, HTTPSPort: w.HTTPSPort, AllowLoopback: true,
		ConnectTimeout: time.Second, Timeout: testTimeout, MaxRedirects: max,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// redirect answers with status and, when loc is not empty, a Location.
func redirect(status int, loc string) http.HandlerFunc {
	return func(rw http.ResponseWriter, _ *http.Request) {
		if loc != "" {
			rw.Header().Set("Location", loc)
		}
		rw.WriteHeader(status)
	}
}

func TestFetchRedirectPolicy(t *testing.T) {
	t.Parallel()
	type hop struct {
		url     string
		status  int
		kind    ErrorKind // of the attempt's error
		refused RedirectRule
	}
	base := "http://" + testHost
	tests := []struct {
		name  string
		max   int // MaxRedirects; 3 when zero
		setup func(w *testenv.WebServer)
		extra map[string][]netip.Addr // more names to resolve (the server's IP when nil)
		start string                  // path; "/f" when empty
		hops  []hop                   // every attempt, in order
	}{
		{
			name:  "301 to a path of the same host is followed",
			setup: func(w *testenv.WebServer) { w.Handle("", "/f", redirect(301, "/g")); w.SetFile("", "/g", 200, "v") },
			hops:  []hop{{base + "/f", 301, "", ""}, {base + "/g", 200, "", ""}},
		},
		{
			name: "302 http to https, then 308 to a sibling host of the registered domain",
			setup: func(w *testenv.WebServer) {
				w.Handle(testHost, "/f", func(rw http.ResponseWriter, r *http.Request) {
					if r.TLS == nil {
						redirect(302, "https://"+testHost+"/f")(rw, r)
						return
					}
					redirect(308, "https://other.example.test/f#frag")(rw, r)
				})
				w.SetFile("other.example.test", "/f", 200, "v")
			},
			extra: map[string][]netip.Addr{"other.example.test": nil},
			hops:  []hop{{base + "/f", 302, "", ""}, {"https://" + testHost + "/f", 308, "", ""}, {"https://other.example.test/f", 200, "", ""}},
		},
		{
			name:  "303 is not followed",
			setup: func(w *testenv.WebServer) { w.Handle("", "/f", redirect(303, "/g")) },
			hops:  []hop{{base + "/f", 303, "", RedirectStatus}},
		},
		{
			name:  "no location",
			setup: func(w *testenv.WebServer) { w.Handle("", "/f", redirect(302, "")) },
			hops:  []hop{{base + "/f", 302, "", RedirectNoLocation}},
		},
		{
			name:  "other registered domain",
			setup: func(w *testenv.WebServer) { w.Handle("", "/f", redirect(301, "//www.other.test/f")) },
			extra: map[string][]netip.Addr{"www.other.test": nil},
			hops:  []hop{{base + "/f", 301, "", RedirectOtherDomain}},
		},
		{
			name:  "port 8443",
			setup: func(w *testenv.WebServer) { w.Handle("", "/f", redirect(301, "https://"+testHost+":8443/f")) },
			hops:  []hop{{base + "/f", 301, "", RedirectPort}},
		},
		{
			name:  "scheme ftp",
			setup: func(w *testenv.WebServer) { w.Handle("", "/f", redirect(307, "ftp://"+testHost+"/f")) },
			hops:  []hop{{base + "/f", 307, "", RedirectScheme}},
		},
		{
			name: "two Location headers",
			setup: func(w *testenv.WebServer) {
				w.Handle("", "/f", func(rw http.ResponseWriter, _ *http.Request) {
					rw.Header().Add("Location", "/g")
					rw.Header().Add("Location", "https://"+testHost+"/h")
					rw.WriteHeader(302)
				})
			},
			hops: []hop{{base + "/f", 302, "", RedirectManyLocations}},
		},
		{
			name:  "ip address location",
			setup: func(w *testenv.WebServer) { w.Handle("", "/f", redirect(307, "http://"+w.IP.String()+"/f")) },
			hops:  []hop{{base + "/f", 307, "", RedirectBadLocation}},
		},
		{
			name: "loop",
			setup: func(w *testenv.WebServer) {
				w.Handle("", "/a", redirect(302, "/b"))
				w.Handle("", "/b", redirect(302, "http://"+strings.ToUpper(testHost)+":80/a#x"))
			},
			start: "/a",
			hops:  []hop{{base + "/a", 302, "", ""}, {base + "/b", 302, "", RedirectLoop}},
		},
		{
			name: "too many redirects",
			max:  2,
			setup: func(w *testenv.WebServer) {
				for i := 1; i <= 4; i++ {
					w.Handle("", fmt.Sprintf("/r%d", i), redirect(302, fmt.Sprintf("/r%d", i+1)))
				}
			},
			start: "/r1",
			hops:  []hop{{base + "/r1", 302, "", ""}, {base + "/r2", 302, "", ""}, {base + "/r3", 302, "", RedirectTooMany}},
		},
		{
			name:  "a hop to a reserved address is refused without a connection",
			setup: func(w *testenv.WebServer) { w.Handle("", "/f", redirect(302, "http://inner.example.test/f")) },
			extra: map[string][]netip.Addr{"inner.example.test": {netip.MustParseAddr("10.0.0.1")}},
			hops:  []hop{{base + "/f", 302, "", ""}, {"http://inner.example.test/f", 0, ErrReservedAddress, ""}},
		},
		{
			name:  "a hop whose host has no address",
			setup: func(w *testenv.WebServer) { w.Handle("", "/f", redirect(302, "http://gone.example.test/f")) },
			hops:  []hop{{base + "/f", 302, "", ""}, {"http://gone.example.test/f", 0, ErrNoAddress, ""}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := testenv.NewWebServer(t)
			tc.setup(w)
			m := map[string][]netip.Addr{testHost: {w.IP}}
			for n, as := range tc.extra {
				m[n] = as
				if as == nil {
					m[n] = []netip.Addr{w.IP}
				}
			}
			max := tc.max
			if max == 0 {
				max = 3
			}
			f := newRedirectFetcher(t, w, names(m), max)
			start := tc.start
			if start == "" {
				start = "/f"
			}
			tr := f.Fetch(t.Context(), base+start)
			if len(tr.Attempts) != len(tc.hops) {
				t.Fatalf("%d attempts, want %d: %+v", len(tr.Attempts), len(tc.hops), tr.Attempts)
			}
			for i, want := range tc.hops {
				a := tr.Attempts[i]
				var kind ErrorKind
				if a.Err != nil {
					kind = a.Err.Kind
				}
				if a.Hop != i || a.URL != want.url || a.Status != want.status || kind != want.kind || a.RedirectRefused != want.refused {
					t.Errorf("attempt %d = hop %d %s %d %q refused %q, want hop %d %s %d %q refused %q",
						i, a.Hop, a.URL, a.Status, kind, a.RedirectRefused, i, want.url, want.status, want.kind, want.refused)
				}
			}
			if fin := tr.Final(); fin != &tr.Attempts[len(tr.Attempts)-1] {
				t.Errorf("Final() = %+v, want the last attempt", fin)
			}
			if c := tr.Chains(); len(c) != 1 || len(c[0]) != len(tc.hops) {
				t.Errorf("Chains() = %d chains, want 1 of %d", len(c), len(tc.hops))
			}
		})
	}
}

// TestFetchRedirectBounds: an endless chain of new URLs and a loop both end
// at once with the rule broken.
func TestFetchRedirectBounds(t *testing.T) {
	t.Parallel()
	w := testenv.NewWebServer(t)
	w.Handle("", "/r", func(rw http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		redirect(302, fmt.Sprintf("/r?n=%d", n+1))(rw, r)
	})
	w.Handle("", "/self", redirect(301, "/self"))
	f := newRedirectFetcher(t, w, names(map[string][]netip.Addr{testHost: {w.IP}}), MaxRedirectsLimit)
	tests := []struct {
		name     string
		path     string
		attempts int
		rule     RedirectRule
	}{
		{"endless new urls", "/r?n=0", MaxRedirectsLimit + 1, RedirectTooMany},
		{"redirect to itself", "/self", 1, RedirectLoop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			tr := f.Fetch(t.Context(), "http://"+testHost+tc.path)
			if d := time.Since(start); d > testTimeout {
				t.Errorf("took %v, want under %v", d, testTimeout)
			}
			last := tr.Final()
			if len(tr.Attempts) != tc.attempts || last == nil || last.RedirectRefused != tc.rule {
				t.Fatalf("%d attempts, final %+v; want %d ending with %q", len(tr.Attempts), last, tc.attempts, tc.rule)
			}
		})
	}
}

func TestFetchEachAddress(t *testing.T) {
	t.Parallel()
	w1 := testenv.NewWebServer(t)
	w2 := testenv.NewWebServerPorts(t, w1.HTTPPort, w1.HTTPSPort)
	w1.SetFile("", "/f", 200, "v")
	w2.SetFile("", "/f", 404, "gone")
	dead := testenv.NewLoopbackAddr()
	tests := []struct {
		name   string
		each   bool
		addrs  []netip.Addr
		status []int // per attempt; 0 for a failure
	}{
		{"each address", true, []netip.Addr{w1.IP, w2.IP, dead}, []int{200, 404, 0}},
		{"until the first answer", false, []netip.Addr{dead, w1.IP, w2.IP}, []int{0, 200}},
		{"at most four", true, []netip.Addr{w1.IP, w2.IP, dead, testenv.NewLoopbackAddr(), testenv.NewLoopbackAddr()}, []int{200, 404, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFetcher(t, w1, addrs(testHost+".", tc.addrs...), true)
			fetch := f.Fetch
			if tc.each {
				fetch = f.FetchEach
			}
			tr := fetch(t.Context(), "http://"+testHost+"/f")
			if len(tr.Attempts) != len(tc.status) || len(tr.Chains()) != len(tc.status) {
				t.Fatalf("%d attempts, %d chains, want %d: %+v", len(tr.Attempts), len(tr.Chains()), len(tc.status), tr.Attempts)
			}
			for i, st := range tc.status {
				a := tr.Attempts[i]
				wantAddr := netip.AddrPortFrom(tc.addrs[i], uint16(w1.HTTPPort)).String()
				if a.Status != st || a.Address != wantAddr || (st == 0) != (a.Err != nil) {
					t.Errorf("attempt %d = %s %d %v, want %s %d", i, a.Address, a.Status, a.Err, wantAddr, st)
				}
			}
		})
	}
}

func TestAlternate(t *testing.T) {
	t.Parallel()
	p := netip.MustParseAddr
	in := []netip.Addr{p("2001:db8::1"), p("2001:db8::2"), p("2001:db8::3"), p("192.0.2.1"), p("192.0.2.2")}
	got := alternate(in, MaxEachAddresses)
	want := []netip.Addr{p("2001:db8::1"), p("192.0.2.1"), p("2001:db8::2"), p("192.0.2.2")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alternate = %v, want %v", got, want)
	}
	if got := alternate(in[3:], MaxEachAddresses); fmt.Sprint(got) != fmt.Sprint(in[3:]) {
		t.Errorf("alternate(v4 only) = %v", got)
	}
}

func TestUserAgentNamesPerspective(t *testing.T) {
	t.Parallel()
	w := testenv.NewWebServer(t)
	w.Handle("", "/f", func(rw http.ResponseWriter, r *http.Request) { fmt.Fprint(rw, r.UserAgent()) })
	f, err := New(Config{Resolver: addrs(testHost+".", w.IP), HTTPPort: w.HTTPPort, AllowLoopback: true, Perspective: "ap-south"})
	if err != nil {
		t.Fatal(err)
	}
	a := f.Fetch(t.Context(), "http://"+testHost+"/f").Final()
	if a == nil || string(a.Body) != "dcv-validation/1 (+perspective ap-south)" {
		t.Fatalf("attempt = %+v", a)
	}
}

func TestNewMaxRedirects(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, MaxRedirectsLimit + 1} {
		if _, err := New(Config{Resolver: &fakeResolver{}, MaxRedirects: n}); err == nil || !strings.Contains(err.Error(), "max redirects") {
			t.Errorf("New(MaxRedirects %d) error = %v", n, err)
		}
	}
	if _, err := New(Config{Resolver: &fakeResolver{}, MaxRedirects: MaxRedirectsLimit}); err != nil {
		t.Errorf("New(MaxRedirects %d) = %v", MaxRedirectsLimit, err)
	}
}

func TestChainsAndFinal(t *testing.T) {
	t.Parallel()
	refused := Attempt{Address: "a", Err: &Error{Kind: ErrConnectionRefused}}
	tests := []struct {
		name   string
		as     []Attempt
		chains []int // length of each chain
		final  int   // index of Final; -1 for nil
	}{
		{"none", nil, nil, -1},
		{"failed then answered", []Attempt{refused, {Status: 200}}, []int{1, 1}, 1},
		{"all failed", []Attempt{refused, refused}, []int{1, 1}, 1},
		{"redirect chain, then another address", []Attempt{{Status: 301}, {Hop: 1, Status: 302}, {Hop: 2, Status: 404}, {Status: 200}}, []int{3, 1}, 2},
		{"chain ending in a failed hop", []Attempt{refused, {Status: 301}, {Hop: 1, Err: &Error{Kind: ErrNoAddress}}}, []int{1, 2}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := &Trace{Attempts: tc.as}
			var lens []int
			for _, c := range tr.Chains() {
				lens = append(lens, len(c))
			}
			if fmt.Sprint(lens) != fmt.Sprint(tc.chains) {
				t.Errorf("chain lengths = %v, want %v", lens, tc.chains)
			}
			got := tr.Final()
			switch {
			case tc.final < 0 && got != nil:
				t.Errorf("Final() = %+v, want nil", got)
			case tc.final >= 0 && got != &tr.Attempts[tc.final]:
				t.Errorf("Final() = %+v, want attempt %d", got, tc.final)
			}
		})
	}
}

// TestRedirectToTheSameHostStaysOnItsAddress: a hop to the same host (http
// to https) asks the address that redirected, never another address of the
// host, which FetchEach judges in a chain of its own; a hop to another host
// resolves it (security review: an address whose https served the value
// stood in for the one whose http redirected).
func TestRedirectToTheSameHostStaysOnItsAddress(t *testing.T) {
	t.Parallel()
	w1 := testenv.NewWebServer(t)
	w2 := testenv.NewWebServerPorts(t, w1.HTTPPort, w1.HTTPSPort)
	// w1 redirects to https, where nothing answers; w2 serves the value
	// over https (and 404 over http).
	w1.Handle("", "/f", redirect(301, "https://"+testHost+"/f"))
	w1.SetMode(w1.HTTPSPort, testenv.ModeReset)
	w2.Handle("", "/f", func(rw http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.NotFound(rw, r)
			return
		}
		fmt.Fprint(rw, "v")
	})
	f := newRedirectFetcher(t, w1, addrs(testHost+".", w1.IP, w2.IP), 2)
	tr := f.FetchEach(t.Context(), "http://"+testHost+"/f")
	chains := tr.Chains()
	if len(chains) != 2 {
		t.Fatalf("%d chains, want 2: %+v", len(chains), tr.Attempts)
	}
	c := chains[0]
	if len(c) != 2 {
		t.Fatalf("chain of w1 = %+v, want the redirect and its hop", c)
	}
	for _, a := range c {
		if ip, _, _ := strings.Cut(a.Address, ":"); ip != w1.IP.String() {
			t.Errorf("chain of w1 asked %s (%d %v), want only %s", a.Address, a.Status, a.Err, w1.IP)
		}
	}
	if last := c[len(c)-1]; last.Status != 0 || last.Err == nil {
		t.Errorf("hop = %d %v, want w1's https failure", last.Status, last.Err)
	}
}
