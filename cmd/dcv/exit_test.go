package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/testenv"
)

// fakeAPI is a dcv API that records the requests it gets and answers each
// with an empty pending order (or an empty page of orders).
type fakeAPI struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string // "METHOD PATH BODY"
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, r.Method+" "+r.URL.Path+" "+string(b))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, `{"orders":[]}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"ord_test","status":"pending","method":"dns"}`)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

// runDCV runs dcv with args in this process, as main does, and returns its
// exit status, the message main would print, and what it wrote on standard
// error. A server that starts is stopped after a few seconds (status 0).
func runDCV(t *testing.T, args ...string) (code int, msg, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := newRootCmd()
	cmd.SetArgs(args)
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	code, msg = exitStatus(cmd.ExecuteContext(ctx))
	return code, msg, errOut.String()
}

// TestExitStatus: a wrong flag value or a missing argument, found before
// any request is sent or anything is created, exits with the usage status
// (2), its message naming what is wrong; a failure that is no wrong value
// (an address in use, a data directory or CA hierarchy that cannot be used,
// a file that cannot be read) stays a failure (1).
func TestExitStatus(t *testing.T) {
	t.Parallel()
	busy, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	tests := []struct {
		name string
		args []string // $SERVER: the fake API; $DATA: a data directory not there yet; $BUSY: an address in use
		code int
		want string // in the message
	}{
		{"order list --limit 0", []string{"order", "list", "--limit", "0"}, exitUsage, "--limit 0 is outside [1, 1000]"},
		{"order list --limit 5000", []string{"order", "list", "--limit", "5000"}, exitUsage, "--limit 5000 is outside [1, 1000]"},
		{"order list --all --cursor", []string{"order", "list", "--all", "--cursor", "x"}, exitUsage, "--all and --cursor exclude each other"},
		{"order list --all --json", []string{"order", "list", "--all", "--json"}, exitUsage, "--all and --json exclude each other"},
		{"order list, malformed --server", []string{"order", "list", "--server", "not a url"}, exitUsage, `server "not a url" is not an http(s) URL`},
		{"order show, --server not http", []string{"order", "show", "ord_x", "--server", "ftp://127.0.0.1"}, exitUsage, "is not an http(s) URL"},
		{"cert get, --out is --key-out", []string{"cert", "get", "ord_x", "--out", "$DATA.pem", "--key-out", "$DATA.pem"}, exitUsage, "name the same file: the chain would overwrite the key"},
		{"cert get, --out is the default key file", []string{"cert", "get", "$DATA", "--out", "$DATA.key"}, exitUsage, "name the same file"},
		{"cert get, --key-out in no directory", []string{"cert", "get", "ord_x", "--key-out", "$DATA/key.pem"}, exitFailure, "does not exist"},
		{"cert get, --server without host", []string{"cert", "get", "ord_x", "--server", "http://", "--key-out", "$DATA.key"}, exitUsage, "is not an http(s) URL"},
		{"order create without a domain", []string{"order", "create", "--method", "dns"}, exitUsage, "dcv order create: no domain"},
		{"order create with --domain only", []string{"order", "create", "--domain", "m.example.com", "--csr", "$DATA.none"}, exitFailure, "no such file"},
		{"order check without an order", []string{"order", "check"}, exitUsage, "accepts 1 arg(s), received 0"},

		{"serve --cert-validity 200d", []string{"serve", "--cert-validity", "200d"}, exitUsage, "--cert-validity 200d is outside"},
		{"serve --value-validity 31d", []string{"serve", "--value-validity", "31d"}, exitUsage, "--value-validity 31d is outside [0 (the default), 30d]"},
		{"serve --check-interval -1s", []string{"serve", "--check-interval", "-1s"}, exitUsage, "--check-interval must not be negative"},
		{"serve --check-interval 40d", []string{"serve", "--check-interval", "40d"}, exitUsage, "--check-interval 40d is not shorter than --value-validity 30d"},
		{"serve --check-interval 2m --value-validity 2m", []string{"serve", "--check-interval", "2m", "--value-validity", "2m"}, exitUsage, "--check-interval 2m0s is not shorter than --value-validity 2m0s"},
		{"serve --file-max-redirects 11", []string{"serve", "--file-max-redirects", "11"}, exitUsage, "max redirects 11 not in 0..10"},
		{"serve --log-level loud", []string{"serve", "--log-level", "loud"}, exitUsage, `--log-level "loud": want debug, info, warn or error`},
		{"serve --listen notanaddr", []string{"serve", "--listen", "notanaddr"}, exitUsage, "--listen notanaddr: address notanaddr: missing port in address"},
		{"serve --listen notanaddr --public-url", []string{"serve", "--listen", "notanaddr", "--public-url", "http://ca.example"}, exitUsage, "--listen notanaddr: address notanaddr: missing port"},
		{"serve --listen port out of range", []string{"serve", "--listen", "127.0.0.1:99999"}, exitUsage, "--listen 127.0.0.1:99999: address 99999: invalid port"},
		{"serve --ca-listen notanaddr", []string{"serve", "--ca-listen", "notanaddr", "--public-url", "https://ca.example"}, exitUsage, "--ca-listen notanaddr: address notanaddr: missing port"},
		{"serve --metrics-listen notanaddr", []string{"serve", "--metrics-listen", "notanaddr"}, exitUsage, "--metrics-listen notanaddr: address notanaddr: missing port"},
		{"serve --pprof-listen not loopback", []string{"serve", "--pprof-listen", "192.0.2.1:6060"}, exitUsage, "--pprof-listen 192.0.2.1:6060: the host must be a loopback IP address"},
		{"serve --gc-percent 0", []string{"serve", "--gc-percent", "0"}, exitUsage, "--gc-percent 0: must be between 1 and"},
		{"serve --min-remote-perspectives -1", []string{"serve", "--min-remote-perspectives", "-1"}, exitUsage, "--min-remote-perspectives must not be negative"},
		{"serve --ip-max-validity 1m", []string{"serve", "--ip-max-validity", "1m"}, exitUsage, "must be 0 (no bound) or at least 1h"},
		{"serve --max-concurrent-observations 0", []string{"serve", "--max-concurrent-observations", "0"}, exitUsage, "--max-concurrent-observations must be at least 1"},
		{"serve --acme-authz-reuse 400d", []string{"serve", "--acme-authz-reuse", "400d"}, exitUsage, "--acme-authz-reuse 400d is outside (0, 398d]"},
		{"serve --acme-profiles", []string{"serve", "--acme-profiles", "long=200d"}, exitUsage, `profile "long": validity 200d is outside`},
		{"serve --acme-profiles with a space", []string{"serve", "--acme-profiles", "default=0,bad name=7d"}, exitUsage, `profile "bad name": a profile name is made of letters, digits`},
		{"serve --acme-default-profile", []string{"serve", "--acme-default-profile", "nosuch"}, exitUsage, "--acme-default-profile nosuch: no such profile (offered: default, shortlived)"},
		{"serve --acme-website", []string{"serve", "--acme-website", "ca.example"}, exitUsage, `--acme-website: "ca.example" is not an absolute http(s) URL`},
		{"serve --acme-rate-limits", []string{"serve", "--acme-rate-limits", "maybe"}, exitUsage, `--acme-rate-limits: "maybe" is neither on nor off`},
		{"serve --api-limit-new-orders", []string{"serve", "--api-limit-new-orders", "10"}, exitUsage, `--api-limit-new-orders: "10" is not COUNT/PERIOD`},
		{"serve --public-url", []string{"serve", "--public-url", "pki.example"}, exitUsage, "--public-url pki.example: want the server's base URL"},
		{"serve --listen every address", []string{"serve", "--listen", "0.0.0.0:0"}, exitUsage, "binds every address: give --public-url"},
		{"serve --tls-cert without --tls-key", []string{"serve", "--tls-cert", "$DATA.crt"}, exitUsage, "--tls-cert and --tls-key come together"},
		{"serve --ca-listen without https", []string{"serve", "--ca-listen", "127.0.0.1:0"}, exitUsage, "--ca-listen is for an https:// public URL"},
		{"serve --aia-url https", []string{"serve", "--aia-url", "https://ca.example/i.cer"}, exitUsage, "--aia-url https://ca.example/i.cer: must be an http:// URL"},
		{"serve --resolver", []string{"serve", "--resolver", "bogus"}, exitUsage, `--resolver: resolver "bogus"`},
		{"serve --resolver with --root-hints", []string{"serve", "--resolver", "127.0.0.1:53", "--root-hints", "$DATA.hints"}, exitUsage, "cannot be combined with --resolver"},
		{"serve --resolver-cache-max-ttl without --resolver", []string{"serve", "--resolver-cache-max-ttl", "30s"}, exitUsage, "--resolver-cache-max-ttl caches the answers of --resolver"},
		{"serve --resolver-cache-max-ttl 2m", []string{"serve", "--resolver", "127.0.0.1:53", "--resolver-cache-max-ttl", "2m"}, exitUsage, "--resolver-cache-max-ttl 2m0s: must be between 0 (off) and"},
		// An empty identity would skip CAA: every domain would pass.
		{"serve --caa-identity empty", []string{"serve", "--caa-identity", ""}, exitUsage, "--caa-identity: the issuer domain name is empty; it is the CA's issuer domain name that CAA issue records are matched against, and CAA cannot be skipped"},
		{"serve --caa-identity not a name", []string{"serve", "--caa-identity", "ca example"}, exitUsage, `--caa-identity: "ca example" is not an issuer domain name`},
		{"check --caa-identity empty", []string{"check", "--caa-identity", "", "a.example.com"}, exitUsage, "--caa-identity: the issuer domain name is empty"},
		// 10 per 5 ns rounds to no interval: it would allow everything.
		{"serve --api-limit-new-orders no limit", []string{"serve", "--api-limit-new-orders", "10/5ns"}, exitUsage, "--api-limit-new-orders 10/5ns: more than one request a microsecond is no limit"},
		{"cert revoke --reason bogus", []string{"cert", "revoke", "ord_x", "--reason", "bogus", "--api-key", "k"}, exitUsage, `--reason "bogus" is no RFC 5280 reason`},
		{"bench --concurrency 0", []string{"bench", "--directory", "http://127.0.0.1:9/acme/directory", "--concurrency", "0"}, exitUsage, "bench: --concurrency 0: must be positive"},
		{"bench --concurrency out of range", []string{"bench", "--directory", "http://127.0.0.1:9/acme/directory", "--concurrency", "100000"}, exitUsage, "bench: config: concurrency 100000 outside [1, 1024]"},
		{"serve --validation-http-port 0", []string{"serve", "--validation-http-port", "0"}, exitUsage, "validation port 0 is not in 1..65535"},
		{"agent --log-level loud", []string{"agent", "--credentials", "$DATA.cred", "--log-level", "loud"}, exitUsage, `--log-level "loud": want debug, info, warn or error`},
		{"agent --listen notanaddr", []string{"agent", "--credentials", "$DATA.cred", "--listen", "notanaddr"}, exitUsage, "--listen notanaddr: address notanaddr: missing port in address"},
		{"agent --source-address", []string{"agent", "--credentials", "$DATA.cred", "--source-address", "bogus"}, exitUsage, `--source-address: ParseAddr("bogus")`},
		{"agent, --credentials not there", []string{"agent", "--credentials", "$DATA.cred"}, exitFailure, "no such file"},

		{"serve, --listen in use", []string{"serve", "--listen", "$BUSY"}, exitFailure, "--listen: listen tcp " + busy.Addr().String()},
		{"serve, --root-hints not there", []string{"serve", "--root-hints", "$DATA.hints"}, exitFailure, "--root-hints: open"},
		{"serve, --tls-cert not there", []string{"serve", "--tls-cert", "$DATA.crt", "--tls-key", "$DATA.key", "--ca-listen", "127.0.0.1:0"}, exitFailure, "no such file"},
		{"serve, --acme-alt-chain not there", []string{"serve", "--acme-alt-chain", "$DATA.pem"}, exitFailure, "--acme-alt-chain: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			data := filepath.Join(t.TempDir(), "data")
			args := []string{}
			for _, a := range tt.args {
				a = strings.ReplaceAll(a, "$SERVER", api.URL)
				a = strings.ReplaceAll(a, "$DATA", data)
				a = strings.ReplaceAll(a, "$BUSY", busy.Addr().String())
				args = append(args, a)
			}
			if args[0] == "serve" {
				// A server that starts after all: on a free port, stopped
				// by runDCV.
				args = append(args, "--data", data)
				if !contains(args, "--listen") {
					args = append(args, "--listen", "127.0.0.1:0")
				}
			} else if isClient(args) {
				if !contains(args, "--server") {
					args = append(args, "--server", api.URL)
				}
				if !contains(args, "--api-key") {
					args = append(args, "--api-key", "k")
				}
			}
			code, msg, _ := runDCV(t, args...)
			if code != tt.code || !strings.Contains(msg, tt.want) {
				t.Errorf("dcv %s: exit status %d, %q; want %d, with %q", strings.Join(args, " "), code, msg, tt.code, tt.want)
			}
			if r := api.requests(); len(r) != 0 {
				t.Errorf("dcv %s sent %d requests: %q", strings.Join(args, " "), len(r), r)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("dcv %s: the data directory is there (%v)", strings.Join(args, " "), err)
			}
		})
	}
}

// TestServeFailureIsNoUsageError: what the data directory or the CA holds
// is no wrong flag value: exit status 1.
func TestServeFailureIsNoUsageError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, data string)
		want  string
	}{
		{"data directory is a file", func(t *testing.T, data string) {
			writeTestFile(t, data, "not a directory")
		}, "creating data directory"},
		{"CA hierarchy broken", func(t *testing.T, data string) {
			if err := os.MkdirAll(filepath.Join(data, "ca"), 0o700); err != nil {
				t.Fatal(err)
			}
			writeTestFile(t, filepath.Join(data, "ca", "root.key"), "not a key")
		}, "incomplete hierarchy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			tt.setup(t, data)
			code, msg, _ := runDCV(t, "serve", "--data", data, "--listen", "127.0.0.1:0", "--resolver", "127.0.0.1:53")
			if code != exitFailure || !strings.Contains(msg, tt.want) {
				t.Errorf("exit status %d, %q; want %d, with %q", code, msg, exitFailure, tt.want)
			}
		})
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func contains(args []string, flag string) bool {
	for _, a := range args {
		if a == flag {
			return true
		}
	}
	return false
}

// isClient reports whether args run a client command (one that talks to
// a dcv server).
func isClient(args []string) bool {
	return args[0] == "order" || args[0] == "cert" || args[0] == "account"
}

// TestCheckCouldNotRun: dcv check whose resolver cannot be reached learns
// nothing of the domain: exit 1 (a failure), not 3 (the domain blocks).
func TestCheckCouldNotRun(t *testing.T) {
	t.Parallel()
	dead, err := testenv.ListenTCP(0)
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.Addr().String()
	dead.Close() // nothing listens there now: refused
	code, msg, _ := runDCV(t, "check", "a.example.com", "--value", "v", "--resolver", addr)
	if code != exitFailure || !strings.Contains(msg, "could not be observed from this machine") {
		t.Errorf("exit status %d, %q; want %d, saying the check could not run", code, msg, exitFailure)
	}
}
