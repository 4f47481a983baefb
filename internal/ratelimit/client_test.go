package ratelimit_test

import (
	"testing"

	"github.com/dcvhq/dcv/internal/ratelimit"
)

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:4711":             "192.0.2.7",
		"192.0.2.7":                  "192.0.2.7",
		"[::ffff:192.0.2.7]:4711":    "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"2001:db8:1:3::1":            "2001:db8:1:3::/64",
		"@":                          "@",
	} {
		if got := ratelimit.ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
