package acmetest_test

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestUacme obtains, renews and revokes a certificate with uacme (Debian
// package uacme), whose hook script answers http-01 through the test's
// web server.
func TestUacme(t *testing.T) {
	t.Parallel()
	uacme := needClient(t, "uacme", "uacme")
	w := newWorld(t)
	dir, conf, base := uacmeHTTP01(t, w)
	cert := filepath.Join(conf, testNames[0], "cert.pem")

	w.run(dir, nil, false, uacme, append(slices.Clone(base), "--yes", "new")...)
	w.run(dir, nil, false, uacme, append(append(slices.Clone(base), "issue"), testNames...)...)
	first := w.checkChain(readFile(t, cert), testNames...)

	// --force renews a certificate that is not close to expiry.
	w.run(dir, nil, false, uacme, append(append(slices.Clone(base), "--force", "issue"), testNames...)...)
	renewedPEM := readFile(t, cert)
	renewed := w.checkChain(renewedPEM, testNames...)
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatalf("renewal returned the same certificate (serial %x)", first.SerialNumber)
	}

	w.run(dir, nil, false, uacme, append(slices.Clone(base), "revoke", cert)...)
	w.checkRevoked(renewed, parseCerts(t, renewedPEM)[1])
}

// uacmeHTTP01 prepares uacme runs against w whose hook answers http-01
// through the test's web server: the folder to run in, uacme's
// configuration folder, and the options every run shares.
func uacmeHTTP01(t *testing.T, w *world) (dir, conf string, base []string) {
	t.Helper()
	h := w.newHookServer()
	h.serveHTTP01()
	dir = t.TempDir()
	// uacme runs "HOOK METHOD TYPE IDENT TOKEN KEY_AUTH"; for "begin", exit
	// status 0 accepts the challenge type and anything else declines it, so
	// only http-01 is taken.
	hook := h.script(t.TempDir(), "uacme-hook", `case "$1" in
begin)
	[ "$2" = http-01 ] || exit 1
	send http "$4" "$5" ;;
esac`)
	conf = filepath.Join(dir, "conf")
	// --no-ocsp: no OCSP checks (dcv publishes a CRL, no OCSP responder).
	return dir, conf, []string{"--acme-url", w.directory, "--confdir", conf, "--hook", hook, "--no-ocsp", "--verbose"}
}
