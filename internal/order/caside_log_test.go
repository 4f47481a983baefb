package order_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/testenv"
	"github.com/dcvhq/dcv/internal/validation"
)

// warnings returns the WARN lines of a text log.
func warnings(logs string) []string {
	var out []string
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "level=WARN") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// checkWarned checks that logs hold no WARN line when want is empty
// (what names the applicant-side failure for the message), and otherwise
// exactly one WARN line holding every string in want.
func checkWarned(t *testing.T, logs, what string, want []string) {
	t.Helper()
	ws := warnings(logs)
	if len(want) == 0 {
		if len(ws) != 0 {
			t.Errorf("%s logged at WARN:\n%s", what, strings.Join(ws, "\n"))
		}
		return
	}
	if len(ws) != 1 {
		t.Fatalf("%d WARN lines, want 1:\n%s", len(ws), logs)
	}
	for _, w := range want {
		if !strings.Contains(ws[0], w) {
			t.Errorf("WARN line %q lacks %q", ws[0], w)
		}
	}
}

// TestCASideCheckIsLogged: a check blocked only by the CA's own failure
// (no remote perspective enrolled where one is required) tells the
// applicant to contact the operator, and logs one WARN naming the order,
// the domain, the code and the message, for the operator to act on; a
// check blocked by the domain's fault logs nothing at WARN (operator run).
func TestCASideCheckIsLogged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		minRemotes int
		want       []string // in the WARN line; none when empty
	}{
		{"the CA's side", 1, []string{"code=PERSPECTIVE_UNAVAILABLE", "domain=logged.applicant.com", "message="}},
		{"the domain's fault", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			var logs testenv.SyncBuffer
			runner, err := perspective.NewRunner(perspective.Config{Primary: b.Validator, MinRemotes: tt.minRemotes})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := order.New(order.Config{Store: b.Store, Observer: runner, Issuer: b.Issuer, Clock: b.Clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			o, err := svc.Create(ctx, b.acct, order.CreateRequest{Domains: []string{"logged.applicant.com"}, Method: "dns"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.minRemotes > 0 {
				// Published: only the CA's side blocks.
				b.DNS.Add(`_dnsauth.logged.applicant.com. 300 IN TXT "` + o.Domains[0].Instructions.Value + `"`)
			}
			if res, err := svc.Check(ctx, b.acct, o.ID); err != nil || res.Status != order.StatusPending {
				t.Fatalf("check: %+v, %v", res, err)
			}
			want := tt.want
			if len(want) > 0 {
				want = append(want, "order="+o.ID)
			}
			checkWarned(t, logs.String(), "a check blocked by the domain", want)
		})
	}
}

// TestCASideACMEValidationIsLogged: an ACME validation that fails on the
// CA's own side (answered serverInternal) logs one WARN naming the
// authorization, the domain, the code and the message; one that fails on
// the applicant's side (no record published) logs nothing at WARN.
func TestCASideACMEValidationIsLogged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		minRemotes int
		publish    bool
		want       []string
	}{
		{"the CA's side", 1, true, []string{"code=PERSPECTIVE_UNAVAILABLE", "domain=acme-logged.applicant.com", "challenge=dns-01", "message="}},
		{"the applicant's side", 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var logs testenv.SyncBuffer
			w := ordertest.New(t, ordertest.Options{MinRemotes: tt.minRemotes, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			a := newTestACME(t, w, 5*time.Second)
			acct, thumb := registerACME(t, a, testJWK)
			const name = "acme-logged.applicant.com"
			ov, err := a.NewOrder(ctx, acct, order.ACMENewOrder{Identifiers: []order.ACMEIdentifier{{Type: "dns", Value: name}}})
			if err != nil {
				t.Fatal(err)
			}
			z, err := a.Authz(ctx, acct, ov.AuthzIDs[0])
			if err != nil {
				t.Fatal(err)
			}
			if tt.publish {
				digest := validation.KeyAuthorizationDigest(order.KeyAuthorization(z.Challenges[0].Token, thumb))
				w.DNS.Add(fmt.Sprintf(`_acme-challenge.%s. 60 IN TXT "%s"`, name, digest))
			}
			res, err := a.StartChallenge(ctx, acct, z.ID, "dns-01")
			if err != nil || res.Challenge.Status != "invalid" {
				t.Fatalf("challenge: %+v, %v; want invalid", res, err)
			}
			a.Wait()
			want := tt.want
			if len(want) > 0 {
				want = append(want, "authz="+z.ID)
			}
			checkWarned(t, logs.String(), "a validation failed by the applicant", want)
		})
	}
}
