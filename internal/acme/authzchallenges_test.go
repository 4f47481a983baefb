package acme_test

import (
	"context"
	"testing"

	xacme "golang.org/x/crypto/acme"
)

// TestAuthzChallengesByStatus: RFC 8555 §7.1.4 lists in an authorization
// "For pending authorizations, the challenges that the client can fulfill
// ... For valid authorizations, the challenge that was validated. For
// invalid authorizations, the challenge that was attempted and failed."
func TestAuthzChallengesByStatus(t *testing.T) {
	t.Parallel()
	w := setup(t)
	c := w.client(t)
	ctx := context.Background()
	w.dns.Add("fails.applicant.com. 60 IN A " + w.web.IP.String())
	tests := []struct {
		name string
		// run takes the order's authorization to its status.
		run    func(t *testing.T, o *xacme.Order)
		status string
		want   []string // "type status" of each challenge listed
	}{
		{"pending", func(*testing.T, *xacme.Order) {}, "pending", []string{"http-01 pending", "dns-01 pending", "tls-alpn-01 pending"}},
		{"valid", func(t *testing.T, o *xacme.Order) { w.solve(t, c, o, "dns-01") }, "valid", []string{"dns-01 valid"}},
		{"invalid", func(t *testing.T, o *xacme.Order) {
			z, err := c.GetAuthorization(ctx, o.AuthzURLs[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range z.Challenges {
				if ch.Type == "http-01" {
					if _, err := c.Accept(ctx, ch); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, "invalid", []string{"http-01 invalid"}},
	}
	names := map[string]string{"pending": "pends.applicant.com", "valid": "passes.applicant.com", "invalid": "fails.applicant.com"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := c.AuthorizeOrder(ctx, xacme.DomainIDs(names[tt.name]))
			if err != nil {
				t.Fatal(err)
			}
			tt.run(t, o)
			z, err := c.GetAuthorization(ctx, o.AuthzURLs[0])
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ch := range z.Challenges {
				got = append(got, ch.Type+" "+ch.Status)
			}
			if z.Status != tt.status || len(got) != len(tt.want) {
				t.Fatalf("authorization %s with challenges %q; want %s with %q", z.Status, got, tt.status, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("challenges %q; want %q", got, tt.want)
				}
			}
		})
	}
}
