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

// TestCertbotShowsDiagnosis makes a challenge fail and requires certbot's
// output to carry dcv's diagnosis: the cause in the problem detail.
func TestCertbotShowsDiagnosis(t *testing.T) {
	t.Parallel()
	certbot := needClient(t, "certbot", "certbot")
	tests := []struct {
		name string
		// names are the names ordered; testNames[0] alone when empty.
		names []string
		// solver returns certbot's challenge arguments for a hook server
		// and the words of dcv's diagnosis the output must show.
		solver func(t *testing.T, w *world, h *hookServer) (args, want []string)
	}{
		{
			name: "http-01 token answered 404",
			solver: func(t *testing.T, w *world, h *hookServer) ([]string, []string) {
				h.serveHTTP01() // knows no token: every challenge URL is a 404
				noop := h.script(t.TempDir(), "auth", `true`)
				return []string{"--manual", "--preferred-challenges", "http", "--manual-auth-hook", noop},
					// diagnose's FILE_NOT_FOUND message
					[]string{"Type:   unauthorized",
						"Detail: The server at " + w.ip + " answered 404 Not Found for http://" + testNames[0] + "/.well-known/acme-challenge/"}
			},
		},
		{
			// The applicant typed the full name into a DNS panel that adds
			// the zone: the record is at _acme-challenge.<name>.<zone>.
			name: "dns-01 record at the doubled host",
			solver: func(t *testing.T, _ *world, h *hookServer) ([]string, []string) {
				auth := h.script(t.TempDir(), "auth", `send txt "_acme-challenge.$CERTBOT_DOMAIN.applicant.com" "$CERTBOT_VALIDATION"`)
				return []string{"--manual", "--preferred-challenges", "dns", "--manual-auth-hook", auth},
					// diagnose's doubled-zone near miss, with its fix
					[]string{"Type:   unauthorized",
						"Detail: The value was found at _acme-challenge." + testNames[0] + ".applicant.com: your DNS provider appended the zone name",
						"type `_acme-challenge.a`"}
			},
		},
		{
			// A name and its wildcard validate at one host, each with its
			// own value; a hook that replaces the record instead of adding
			// one leaves the value of the last challenge it prepared.
			name:  "dns-01 hook replacing the record of a name and its wildcard",
			names: []string{testNames[0], "*." + testNames[0]},
			solver: func(t *testing.T, _ *world, h *hookServer) ([]string, []string) {
				auth := h.script(t.TempDir(), "auth", `d=${CERTBOT_DOMAIN#\*.}
send untxt "_acme-challenge.$d"
send txt "_acme-challenge.$d" "$CERTBOT_VALIDATION"`)
				return []string{"--manual", "--preferred-challenges", "dns", "--manual-auth-hook", auth},
					// the dns-01 note on another challenge's value, and its
					// fix; a value that is not the one asked for is
					// incorrectResponse, as for a file
					[]string{"Type:   incorrectResponse",
						"A value there is another dns-01 challenge's",
						"beside the one there while its challenge is pending"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			h := w.newHookServer()
			solver, want := tt.solver(t, w, h)
			dir := t.TempDir()
			args := append(certbotBase(w, dir), "certonly", "--agree-tos", "--register-unsafely-without-email",
				"--cert-name", certbotName)
			names := tt.names
			if len(names) == 0 {
				names = testNames[:1]
			}
			for _, n := range names {
				args = append(args, "-d", n)
			}
			out := w.run(dir, nil, true, certbot, append(args, solver...)...)
			for _, s := range append([]string{"Domain: " + testNames[0]}, want...) {
				if !strings.Contains(out, s) {
					t.Errorf("certbot output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}
