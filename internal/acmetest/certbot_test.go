package acmetest_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// certbotName is the --cert-name of every lineage the tests make.
const certbotName = "acmetest"

// certbotBase returns the options every certbot run shares: its own
// directories, dcv as the server, no prompt and no e-mail.
func certbotBase(w *world, dir string) []string {
	return []string{
		"--server", w.directory,
		"--config-dir", filepath.Join(dir, "config"),
		"--work-dir", filepath.Join(dir, "work"),
		"--logs-dir", filepath.Join(dir, "logs"),
		"--non-interactive",
	}
}

// TestCertbot obtains, renews and revokes a certificate with certbot
// (Debian package certbot) with its standalone http-01 server and with a
// manual dns-01 auth hook that writes to the test's DNS world.
func TestCertbot(t *testing.T) {
	t.Parallel()
	certbot := needClient(t, "certbot", "certbot")
	tests := []struct {
		name   string
		solver func(t *testing.T, w *world) []string
	}{
		{
			name: "http-01 standalone",
			solver: func(_ *testing.T, w *world) []string {
				return []string{"--standalone", "--preferred-challenges", "http",
					"--http-01-address", w.ip, "--http-01-port", strconv.Itoa(w.httpPort)}
			},
		},
		{
			name: "dns-01 manual with hooks",
			solver: func(t *testing.T, w *world) []string {
				h := w.newHookServer()
				dir := t.TempDir()
				auth := h.script(dir, "auth", `send txt "_acme-challenge.$CERTBOT_DOMAIN" "$CERTBOT_VALIDATION"`)
				cleanup := h.script(dir, "cleanup", `send untxt "_acme-challenge.$CERTBOT_DOMAIN"`)
				return []string{"--manual", "--preferred-challenges", "dns",
					"--manual-auth-hook", auth, "--manual-cleanup-hook", cleanup}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			dir := t.TempDir()
			base := certbotBase(w, dir)
			args := append(slices.Clone(base), "certonly", "--agree-tos", "--register-unsafely-without-email",
				"--cert-name", certbotName)
			for _, n := range testNames {
				args = append(args, "-d", n)
			}
			args = append(args, tt.solver(t, w)...)
			fullchain := filepath.Join(dir, "config", "live", certbotName, "fullchain.pem")

			w.run(dir, nil, false, certbot, args...)
			first := w.checkChain(readFile(t, fullchain), testNames...)

			// renew reads the authenticator and its options back from the
			// lineage's renewal configuration.
			w.run(dir, nil, false, certbot, append(slices.Clone(base), "renew", "--force-renewal", "--no-random-sleep-on-renew", "--cert-name", certbotName)...)
			renewedPEM := readFile(t, fullchain)
			renewed := w.checkChain(renewedPEM, testNames...)
			if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
				t.Fatalf("renewal returned the same certificate (serial %x)", first.SerialNumber)
			}

			w.run(dir, nil, false, certbot, append(slices.Clone(base), "revoke", "--cert-name", certbotName,
				"--reason", "superseded", "--no-delete-after-revoke")...)
			w.checkRevoked(renewed, parseCerts(t, renewedPEM)[1])
		})
	}
}

// TestCertbotShowsDiagnosis makes an http-01 challenge fail (the web server
// at the name's address answers 404 for the token) and requires certbot's
// output to carry dcv's diagnosis: the cause in the problem detail.
func TestCertbotShowsDiagnosis(t *testing.T) {
	t.Parallel()
	certbot := needClient(t, "certbot", "certbot")
	w := newWorld(t)
	h := w.newHookServer()
	h.serveHTTP01() // knows no token: every challenge URL is a 404
	dir := t.TempDir()
	noop := h.script(dir, "auth", `true`)
	args := append(certbotBase(w, dir), "certonly", "--agree-tos", "--register-unsafely-without-email",
		"--cert-name", certbotName, "-d", testNames[0],
		"--manual", "--preferred-challenges", "http", "--manual-auth-hook", noop)
	out := w.run(dir, nil, true, certbot, args...)
	// certbot prints the problem's type and detail; the detail is dcv's
	// diagnosis sentence (diagnose's FILE_NOT_FOUND message).
	for _, want := range []string{
		"Domain: " + testNames[0],
		"Type:   unauthorized",
		"Detail: The server at " + w.ip + " answered 404 Not Found for http://" + testNames[0] + "/.well-known/acme-challenge/",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("certbot output lacks %q:\n%s", want, out)
		}
	}
}
