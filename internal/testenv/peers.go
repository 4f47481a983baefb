package testenv

import (
	"fmt"
	"os"
	"testing"
)

// RequirePeersEnv names the environment variable that `make test` sets:
// with it, a missing real peer (Knot DNS, certbot, lego, uacme) fails the
// test instead of skipping it, since the test command installs them all.
const RequirePeersEnv = "DCV_REQUIRE_PEERS"

// MissingPeer reports that a real peer the test runs against is not
// installed: it fails the test when RequirePeersEnv is set (the test
// command installed it, so its absence is a broken setup) and skips it
// otherwise (a bare `go test` on a machine without the Debian package).
func MissingPeer(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequirePeersEnv) != "" {
		t.Fatalf("%s; %s is set, so the peer must be installed (make test installs it)", msg, RequirePeersEnv)
		return
	}
	t.Skip(msg)
}
