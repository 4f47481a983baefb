package dnsclient_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/testenv"
)

// knotd is where Debian's knot package installs the server.
const knotd = "/usr/sbin/knotd"

// knotDeadline bounds knotd's whole life in the test; it starts and signs a
// small zone in well under a second.
const knotDeadline = 15 * time.Second

// knotConf is the configuration of a knotd that serves and automatically
// signs one zone (ECDSA P-256, NSEC), with every file in the test's
// temporary directory so that parallel runs do not meet.
const knotConf = `server:
    rundir: "%[1]s/run"
    listen: %[2]s@53
database:
    storage: "%[1]s/storage"
control:
    listen: "%[1]s/run/knot.sock"
log:
  - target: stderr
    any: info
policy:
  - id: ecdsa
    algorithm: ecdsap256sha256
zone:
  - domain: %[3]s
    storage: "%[1]s"
    file: "%[3]szone"
    dnssec-signing: on
    dnssec-policy: ecdsa
    zonefile-sync: -1
`

// startKnot runs knotd on a fresh loopback address, port 53, serving zone
// with records, and returns the address once it serves the zone signed.
func startKnot(t *testing.T, zone string, records []string) string {
	t.Helper()
	if _, err := os.Stat(knotd); err != nil {
		testenv.MissingPeer(t, "Knot DNS is not installed (%s missing; apt-get install -y knot): %v", knotd, err)
	}
	dir := t.TempDir()
	for _, sub := range []string{"run", "storage"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	addr := testenv.NewLoopbackAddr().String()
	zoneFile := strings.Join(append([]string{
		fmt.Sprintf("%s 3600 IN SOA ns1.%s hostmaster.%s 1 7200 3600 1209600 300", zone, zone, zone),
		fmt.Sprintf("%s 3600 IN NS ns1.%s", zone, zone),
		fmt.Sprintf("ns1.%s 3600 IN A %s", zone, addr),
	}, records...), "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, zone+"zone"), []byte(zoneFile), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, knotConf, dir, addr, zone), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), knotDeadline)
	cmd := exec.CommandContext(ctx, knotd, "-c", conf)
	var logs testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting knotd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		cancel()
		if t.Failed() {
			t.Logf("knotd log:\n%s", logs.String())
		}
	})

	// Wait until knotd answers the DNSKEY query with a signed DNSKEY set.
	server := net.JoinHostPort(addr, "53")
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(zone, dns.TypeDNSKEY)
	q.SetEdns0(1232, true)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("knotd exited before serving %s: %v\n%s", zone, err, logs.String())
		case <-ctx.Done():
			t.Fatalf("knotd did not serve %s signed within %v\n%s", zone, knotDeadline, logs.String())
		default:
		}
		if m, _, err := c.ExchangeContext(ctx, q, server); err == nil && m.Rcode == dns.RcodeSuccess && hasSignedDNSKEY(m) {
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasSignedDNSKEY(m *dns.Msg) bool {
	keys, sigs := 0, 0
	for _, rr := range m.Answer {
		switch x := rr.(type) {
		case *dns.DNSKEY:
			keys++
		case *dns.RRSIG:
			if x.TypeCovered == dns.TypeDNSKEY {
				sigs++
			}
		}
	}
	return keys > 0 && sigs > 0
}

// knotKSKDS asks knotd for the zone's DNSKEY set and returns the SHA-256 DS
// of its key signing key (flags 257).
func knotKSKDS(t *testing.T, addr, zone string) *dns.DS {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(zone, dns.TypeDNSKEY)
	q.SetEdns0(1232, true)
	c := &dns.Client{Timeout: 2 * time.Second}
	m, _, err := c.Exchange(q, net.JoinHostPort(addr, "53"))
	if err != nil {
		t.Fatalf("asking knotd for DNSKEY: %v", err)
	}
	for _, rr := range m.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok && k.Flags == 257 {
			ds := k.ToDS(dns.SHA256)
			ds.Hdr.Ttl = 3600
			return ds
		}
	}
	t.Fatalf("knotd serves no KSK for %s: %v", zone, m)
	return nil
}

// TestKnotInterop validates, through the iterative resolver, a TXT record
// of a zone that Knot DNS serves and signs itself (automatic DNSSEC
// signing), delegated from a test root and TLD signed here; then breaks the
// DS at the parent and expects the DS reason.
func TestKnotInterop(t *testing.T) {
	t.Parallel()
	const zone = "knot.test."
	knotAddr := startKnot(t, zone, []string{`_dnsauth.knot.test. 300 IN TXT "from-knot"`})
	ds := knotKSKDS(t, knotAddr, zone)

	w := testenv.NewWorld(t)
	tld := w.AddZone("test.", "", 1)
	tld.Add(zone+" 3600 IN NS ns1."+zone, "ns1."+zone+" 3600 IN A "+knotAddr)
	tldSigner := testenv.NewZoneSigner(t, "test.", testenv.SignOptions{})
	signServed(t, tld, tldSigner, ds)
	rootSigner := testenv.NewZoneSigner(t, ".", testenv.SignOptions{})
	signServed(t, w.RootZone, rootSigner, tldSigner.DS())
	anchors := []dns.RR{rootSigner.DS()}

	lookup := func(t *testing.T) *dnsclient.Response {
		t.Helper()
		r := newValidatingResolver(t, w, anchors)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := r.Lookup(ctx, "_dnsauth."+zone, dns.TypeTXT)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		return resp
	}

	resp := lookup(t)
	if resp.DNSSEC != "secure" || len(resp.Answer) != 1 || resp.Answer[0].Data != "from-knot" {
		t.Fatalf("through knotd: DNSSEC %q (%q), answer %+v; want secure TXT from-knot", resp.DNSSEC, resp.DNSSECReason, resp.Answer)
	}

	// A DS at the parent that matches no key of knotd's.
	wrong := dns.Copy(ds).(*dns.DS)
	wrong.Digest = strings.Repeat("0F", 32)
	signServed(t, tld, tldSigner, wrong)
	resp = lookup(t)
	if resp.DNSSEC != "bogus" || !strings.HasPrefix(resp.DNSSECReason, dnsclient.ReasonDSMismatch) ||
		!strings.Contains(resp.DNSSECReason, fmt.Sprintf("key tag %d", ds.KeyTag)) || !strings.Contains(resp.DNSSECReason, "matches no DNSKEY in "+zone) {
		t.Fatalf("with a wrong DS: DNSSEC %q (%q); want bogus, DS reason for key tag %d", resp.DNSSEC, resp.DNSSECReason, ds.KeyTag)
	}
}
