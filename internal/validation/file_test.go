package validation_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

const fileValue = "q8Zr3Kd0XwP6mVt1LbN7cHs4Yf9Gj2Ea"

func TestFileContentMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"exact", fileValue, true},
		{"trailing lf", fileValue + "\n", true},
		{"trailing crlf", fileValue + "\r\n", true},
		{"trailing spaces and tabs", fileValue + " \t \r\n\n", true},
		{"leading space", " " + fileValue, false},
		{"leading newline", "\n" + fileValue, false},
		{"extra content", fileValue + "x", false},
		{"second line", fileValue + "\nother", false},
		{"case differs", strings.ToLower(fileValue), false},
		{"other trailing whitespace (vertical tab)", fileValue + "\v", false},
		{"trailing nbsp", fileValue + "\u00a0", false},
		{"empty body", "", false},
		{"html page", "<html>" + fileValue + "</html>", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := validation.FileContentMatches([]byte(tc.body), fileValue); got != tc.want {
				t.Errorf("FileContentMatches(%q) = %v, want %v", tc.body, got, tc.want)
			}
		})
	}
	if validation.FileContentMatches([]byte(" \n"), "") || validation.FileContentMatches(nil, "") {
		t.Error("an empty value matched")
	}
}

func TestFetchMatches(t *testing.T) {
	t.Parallel()
	ok := webfetch.Attempt{Status: 200, Body: []byte(fileValue + "\n")}
	tests := []struct {
		name string
		tr   *webfetch.Trace
		want bool
	}{
		{"match", &webfetch.Trace{Attempts: []webfetch.Attempt{ok}}, true},
		{"match after a failed address", &webfetch.Trace{Attempts: []webfetch.Attempt{
			{Err: &webfetch.Error{Kind: webfetch.ErrConnectionRefused}}, ok}}, true},
		{"nil trace", nil, false},
		{"no attempt", &webfetch.Trace{ResolveError: &webfetch.Error{Kind: webfetch.ErrDNSNXDomain}}, false},
		{"status 201", &webfetch.Trace{Attempts: []webfetch.Attempt{{Status: 201, Body: ok.Body}}}, false},
		{"truncated", &webfetch.Trace{Attempts: []webfetch.Attempt{{Status: 200, Body: ok.Body, BodyTruncated: true}}}, false},
		{"body read failed", &webfetch.Trace{Attempts: []webfetch.Attempt{{Status: 200, Body: ok.Body,
			Err: &webfetch.Error{Kind: webfetch.ErrTimeoutAfterConn}}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := validation.FetchMatches(tc.tr, fileValue); got != tc.want {
				t.Errorf("FetchMatches() = %v, want %v", got, tc.want)
			}
		})
	}
}

// fileWorld is a web server for example.com, a DNS server pointing at it and
// a Validator that resolves through the DNS server and fetches from the web
// server, all on loopback.
type fileWorld struct {
	web *testenv.WebServer
	v   *validation.Validator
}

func setupFile(t *testing.T) *fileWorld {
	t.Helper()
	w := testenv.NewWebServer(t)
	d := testenv.NewDNSServer(t)
	d.AddZone("example.com")
	d.Add("example.com. A "+w.IP.String(), "www.example.com. A "+w.IP.String())
	res, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: []string{d.Addr}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f, err := webfetch.New(webfetch.Config{
		Resolver: res, HTTPPort: w.HTTPPort, HTTPSPort: w.HTTPSPort, AllowLoopback: true,
		ConnectTimeout: time.Second, Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.New(validation.Config{Resolver: res, Fetcher: f, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &fileWorld{web: w, v: v}
}

func TestObserveFile(t *testing.T) {
	t.Parallel()
	type fetch struct {
		url    string
		status int
		kind   webfetch.ErrorKind // of the final attempt, or of ResolveError
	}
	const (
		httpURL  = "http://example.com" + validation.FilePath
		httpsURL = "https://example.com" + validation.FilePath
	)
	tests := []struct {
		name    string
		domain  string
		setup   func(w *testenv.WebServer)
		fetches []fetch
		matched bool // the last fetch matches
	}{
		{
			name:    "http serves the value",
			setup:   func(w *testenv.WebServer) { w.SetFile("example.com", validation.FilePath, 200, fileValue) },
			fetches: []fetch{{httpURL, 200, ""}},
			matched: true,
		},
		{
			name:    "http serves the value with a trailing crlf",
			setup:   func(w *testenv.WebServer) { w.SetFile("example.com", validation.FilePath, 200, fileValue+"\r\n") },
			fetches: []fetch{{httpURL, 200, ""}},
			matched: true,
		},
		{
			// The web server answered http: https on the same address may
			// be another site (a shared host's default one), so it is not
			// asked (security review).
			name: "http 404, https serves the value: https not asked",
			setup: func(w *testenv.WebServer) {
				w.Handle("example.com", validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					if r.TLS == nil {
						http.NotFound(rw, r)
						return
					}
					rw.Write([]byte(fileValue))
				})
			},
			fetches: []fetch{{httpURL, 404, ""}},
		},
		{
			name:    "wrong content over http: https not asked",
			setup:   func(w *testenv.WebServer) { w.SetFile("example.com", validation.FilePath, 200, "old-value") },
			fetches: []fetch{{httpURL, 200, ""}},
		},
		{
			name:    "leading whitespace does not match",
			setup:   func(w *testenv.WebServer) { w.SetFile("", validation.FilePath, 200, " "+fileValue) },
			fetches: []fetch{{httpURL, 200, ""}},
		},
		{
			name: "http redirect to https is recorded, not followed; https fetched itself",
			setup: func(w *testenv.WebServer) {
				w.Handle("example.com", validation.FilePath, func(rw http.ResponseWriter, r *http.Request) {
					if r.TLS == nil {
						http.Redirect(rw, r, httpsURL, http.StatusMovedPermanently)
						return
					}
					rw.Write([]byte(fileValue + "\n"))
				})
			},
			fetches: []fetch{{httpURL, 301, ""}, {httpsURL, 200, ""}},
			matched: true,
		},
		{
			name: "http reset, https serves the value",
			setup: func(w *testenv.WebServer) {
				w.SetMode(w.HTTPPort, testenv.ModeReset)
				w.SetFile("example.com", validation.FilePath, 200, fileValue)
			},
			fetches: []fetch{{httpURL, 0, webfetch.ErrConnectionReset}, {httpsURL, 200, ""}},
			matched: true,
		},
		{
			name:   "domain does not resolve",
			domain: "missing.example.com",
			setup:  func(*testenv.WebServer) {},
			fetches: []fetch{
				{"http://missing.example.com" + validation.FilePath, 0, webfetch.ErrDNSNXDomain},
				{"https://missing.example.com" + validation.FilePath, 0, webfetch.ErrDNSNXDomain},
			},
		},
		{
			name:   "wildcard is not a fetchable host",
			domain: "*.example.com",
			setup:  func(*testenv.WebServer) {},
			fetches: []fetch{
				{"http://*.example.com" + validation.FilePath, 0, webfetch.ErrInvalidURL},
				{"https://*.example.com" + validation.FilePath, 0, webfetch.ErrInvalidURL},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			world := setupFile(t)
			tc.setup(world.web)
			domain := tc.domain
			if domain == "" {
				domain = "example.com"
			}
			obs, err := world.v.Observe(t.Context(), validation.Request{Domain: domain, Method: validation.MethodFile, Value: fileValue})
			if err != nil {
				t.Fatal(err)
			}
			if obs.DNS != nil || obs.File == nil || obs.Method != validation.MethodFile || obs.Expected != fileValue {
				t.Fatalf("observation = %+v", obs)
			}
			if want := tc.fetches[0].url; obs.File.URL != want {
				t.Errorf("URL = %q, want %q", obs.File.URL, want)
			}
			if len(obs.File.Fetches) != len(tc.fetches) {
				t.Fatalf("%d fetches, want %d", len(obs.File.Fetches), len(tc.fetches))
			}
			for i, want := range tc.fetches {
				tr := obs.File.Fetches[i]
				var status int
				var kind webfetch.ErrorKind
				if tr.ResolveError != nil {
					kind = tr.ResolveError.Kind
				} else if a := tr.Final(); a != nil {
					status = a.Status
					if a.Err != nil {
						kind = a.Err.Kind
					}
				}
				if tr.URL != want.url || status != want.status || kind != want.kind {
					t.Errorf("fetch %d = %s %d %q, want %s %d %q", i, tr.URL, status, kind, want.url, want.status, want.kind)
				}
			}
			last := obs.File.Fetches[len(obs.File.Fetches)-1]
			if got := validation.FetchMatches(last, fileValue); got != tc.matched {
				t.Errorf("FetchMatches(last) = %v, want %v", got, tc.matched)
			}
		})
	}
}
