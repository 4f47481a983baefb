package order

import "testing"

// The failed-validations limit counts an IPv6 address by its /64 (review:
// one account could cycle through its 2^64 addresses without reaching it).
func TestLimitKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"www.applicant.com", "www.applicant.com"},
		{"*.applicant.com", "applicant.com"},
		{"192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"::1", "::/64"},
	} {
		if got := limitKey(tc.in); got != tc.want {
			t.Errorf("limitKey(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
