package acmetest_test

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestLegoIPAddressAsDNSName: lego 4.9 (Debian's) sends an IP address as
// an identifier of type "dns"; its user is told, in lego's own output,
// that the address is to be sent as type "ip" and that the client does not
// support IP address certificates.
func TestLegoIPAddressAsDNSName(t *testing.T) {
	t.Parallel()
	lego := needClient(t, "lego", "lego")
	w := newWorld(t)
	path := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, lego, "--server", w.directory, "--accept-tos", "--email", "admin@applicant.com", "--path", path,
		"--domains", w.ip, "--http", "--http.port", net.JoinHostPort(w.ip, strconv.Itoa(w.httpPort)), "run")
	out, err := cmd.CombinedOutput()
	if err == nil {
		// A later lego sends the address as type "ip" and gets its
		// certificate.
		w.checkChain(readFile(t, filepath.Join(path, "certificates", w.ip+".crt")), w.ip)
		return
	}
	if !strings.Contains(string(out), `is an IP address, sent as an identifier of type "dns"`) || !strings.Contains(string(out), "RFC 8738") {
		t.Fatalf("lego failed without being told why: %v\n%s", err, out)
	}
}

// TestUacmeIPAddress obtains a certificate for an IP address alone with
// uacme (Debian package uacme), whose hook answers http-01.
func TestUacmeIPAddress(t *testing.T) {
	t.Parallel()
	uacme := needClient(t, "uacme", "uacme")
	w := newWorld(t)
	dir, conf, base := uacmeHTTP01(t, w)
	w.run(dir, nil, false, uacme, append(slices.Clone(base), "--yes", "new")...)
	w.run(dir, nil, false, uacme, append(slices.Clone(base), "issue", w.ip)...)
	leaf := w.checkChain(readFile(t, filepath.Join(conf, w.ip, "cert.pem")), w.ip)
	if len(leaf.DNSNames) != 0 || len(leaf.IPAddresses) != 1 || leaf.Subject.String() != "" {
		t.Fatalf("leaf names %v, addresses %v, subject %q; want the address alone, an empty subject", leaf.DNSNames, leaf.IPAddresses, leaf.Subject)
	}
}
