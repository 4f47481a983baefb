package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/dcvhq/dcv/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"dcv": main})
}

type scriptWorld struct {
	dns *testenv.DNSServer
	web *testenv.WebServer
}

// TestScripts runs the end-to-end scripts in testdata/script: each gets a
// DNS server (dcv's --resolver) and a web server (dcv's validation ports) on
// its own loopback addresses, and a free loopback address for dcv serve.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			w := &scriptWorld{dns: testenv.NewDNSServer(t), web: testenv.NewWebServer(t)}
			env.Values["world"] = w
			// The TLDs too: CAA evaluation climbs to them.
			// corp. and internal. serve an organisation's internal names
			// (internal_ca.txtar).
			for _, z := range []string{"com.", "net.", "org.", "applicant.com.", "applicant.net.", "applicant.org.", "corp.", "internal."} {
				w.dns.AddZone(z)
			}
			ln, err := testenv.ListenTCP(0)
			if err != nil {
				return err
			}
			listen := ln.Addr().String()
			ln.Close()
			env.Setenv("LISTEN", listen)
			env.Setenv("DCV_SERVER", "http://"+listen)
			env.Setenv("DNS", w.dns.Addr)
			env.Setenv("WEBIP", w.web.IP.String())
			env.Setenv("HTTP_PORT", strconv.Itoa(w.web.HTTPPort))
			env.Setenv("HTTPS_PORT", strconv.Itoa(w.web.HTTPSPort))
			return nil
		},
		Condition: scriptCondition,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"dns-add":    cmdDNSAdd,
			"web-file":   cmdWebFile,
			"waitserver": cmdWaitServer,
			"envfile":    cmdEnvFile,
			"jsonvar":    cmdJSONVar,
			"verifycert": cmdVerifyCert,
			"waitissued": cmdWaitIssued,
			"sleep":      cmdSleep,
			"freeaddr":   cmdFreeAddr,
			"dnsworld":   func(ts *testscript.TestScript, neg bool, args []string) { cmdDNSWorld(t, ts, neg, args) },
			"zone-add":   cmdZoneAdd,
			"servfail":   cmdServfail,
		},
	})
}

func world(ts *testscript.TestScript) *scriptWorld { return ts.Value("world").(*scriptWorld) }

// dns-add RR...: adds records (presentation format) to the DNS world.
func cmdDNSAdd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: dns-add RR...")
	}
	for _, rr := range args {
		world(ts).dns.Add(rr)
	}
}

// web-file HOST PATH STATUS BODY: the web server answers STATUS with BODY.
func cmdWebFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: web-file HOST PATH STATUS BODY")
	}
	status, err := strconv.Atoi(args[2])
	ts.Check(err)
	world(ts).web.SetFile(args[0], args[1], status, args[3])
}

// waitserver ADDR: waits until dcv answers its health endpoint.
func cmdWaitServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitserver ADDR")
	}
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get("http://" + args[0] + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("dcv did not start on %s", args[0])
}

// envfile VAR FILE: sets VAR to FILE's content, trimmed.
func cmdEnvFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile VAR FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	ts.Setenv(args[0], strings.TrimSpace(string(b)))
}

// jsonvar VAR PATH: sets VAR from the last command's JSON stdout; PATH is
// dotted, with numbers indexing arrays (domains.0.instructions.value).
func cmdJSONVar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonvar VAR PATH")
	}
	var v any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &v))
	for _, p := range strings.Split(args[1], ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				ts.Fatalf("jsonvar: bad index %q", p)
			}
			v = x[i]
		default:
			ts.Fatalf("jsonvar: %q not found", args[1])
		}
	}
	s, ok := v.(string)
	if !ok {
		ts.Fatalf("jsonvar: %s is %T, not a string", args[1], v)
	}
	ts.Setenv(args[0], s)
}

// verifycert [-internal] CHAIN ROOT NAME...: the chain verifies against ROOT for every
// NAME, and zlint reports no error, warning or notice-worthy failure.
func cmdVerifyCert(ts *testscript.TestScript, neg bool, args []string) {
	// -internal: the names are internal ones (--allow-internal-names),
	// which the BRs' TLD lint refuses by design.
	internal := len(args) > 0 && args[0] == "-internal"
	if internal {
		args = args[1:]
	}
	if neg || len(args) < 3 {
		ts.Fatalf("usage: verifycert [-internal] CHAIN ROOT NAME...")
	}
	certs := parsePEMCerts(ts, ts.ReadFile(args[0]))
	roots := x509.NewCertPool()
	for _, c := range parsePEMCerts(ts, ts.ReadFile(args[1])) {
		roots.AddCert(c)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	for _, name := range args[2:] {
		if _, err := certs[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter}); err != nil {
			ts.Fatalf("certificate does not verify for %s: %v", name, err)
		}
	}
	zc, err := zx509.ParseCertificate(certs[0].Raw)
	ts.Check(err)
	for name, r := range zlint.LintCertificate(zc).Results {
		// RFC 5280's lint wants a subject key identifier on every
		// certificate; the BRs (7.1.2.7.6) advise against one on a
		// subscriber certificate, and zlint checks that too. No certificate
		// passes both: dcv follows the BRs.
		if name == "w_ext_subject_key_identifier_missing_sub_cert" || (internal && (name == "e_dnsname_not_valid_tld" || name == "w_sub_cert_aia_contains_internal_names")) {
			continue
		}
		if r.Status == lint.Error || r.Status == lint.Warn || r.Status == lint.Fatal {
			ts.Fatalf("zlint %s: %s %s", name, r.Status, r.Details)
		}
	}
}

func parsePEMCerts(ts *testscript.TestScript, s string) []*x509.Certificate {
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		ts.Check(err)
		out = append(out, c)
	}
	if len(out) == 0 {
		ts.Fatalf("no certificate in PEM")
	}
	return out
}

// waitissued ORDER: waits until the order's status is "issued", polling the
// API with $DCV_SERVER and $DCV_API_KEY.
func cmdWaitIssued(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitissued ORDER")
	}
	deadline := time.Now().Add(15 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		req, err := http.NewRequest(http.MethodGet, ts.Getenv("DCV_SERVER")+"/api/v1/orders/"+args[0], nil)
		ts.Check(err)
		req.Header.Set("Authorization", "Bearer "+ts.Getenv("DCV_API_KEY"))
		resp, err := http.DefaultClient.Do(req)
		ts.Check(err)
		var o struct {
			Status string `json:"status"`
			Error  string `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&o)
		resp.Body.Close()
		ts.Check(err)
		if o.Status == "issued" {
			return
		}
		last = fmt.Sprintf("status %s, error %q", o.Status, o.Error)
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("order %s not issued within 15s (%s)", args[0], last)
}

// sleep DURATION: waits, for throttles that run on the real clock.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// freeaddr VAR: sets VAR to a free ip:port on a fresh loopback address.
func cmdFreeAddr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeaddr VAR")
	}
	ln, err := testenv.ListenTCP(0)
	ts.Check(err)
	ts.Setenv(args[0], ln.Addr().String())
	ts.Check(ln.Close())
}
