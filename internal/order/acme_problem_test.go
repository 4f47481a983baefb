package order

import (
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
)

// TestFindingType: the RFC 8555 §6.7 error type a failed challenge gets
// from the worst finding. Failures on the CA's side are serverInternal, so
// that they are not taken for the applicant's (nor counted as theirs).
func TestFindingType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code diagnose.Code
		want string
	}{
		{diagnose.CodeDomainUnresolvable, ACMEDNS},
		{diagnose.CodeDNSSECBogus, ACMEDNS},
		{diagnose.CodeDNSLameDelegation, ACMEDNS},
		{diagnose.CodeDNSRecordNotFound, ACMEUnauthorized},
		{diagnose.CodeDNSRecordNotPropagated, ACMEUnauthorized},
		{diagnose.CodeFileNotFound, ACMEUnauthorized},
		{diagnose.CodeFileContentMismatch, ACMEIncorrectResponse},
		{diagnose.CodeDNSRecordMismatch, ACMEIncorrectResponse},
		{diagnose.CodeTLSALPNWrongCertificate, ACMEIncorrectResponse},
		{diagnose.CodeCAANameserversDisagree, ACMECAA},
		{diagnose.CodeFileUnreachable, ACMEConnection},
		{diagnose.CodeTLSALPNNotNegotiated, ACMETLS},
		{diagnose.CodeCAAForbids, ACMECAA},
		{diagnose.CodeCAALookupFailed, ACMECAA},
		{diagnose.CodePerspectiveUnavailable, ACMEServerInternal},
		{diagnose.CodeResolverUnavailable, ACMEServerInternal},
		{diagnose.CodeObservationInvalid, ACMEServerInternal},
		{diagnose.CodeRemotePerspectivesDisagree, ACMEUnauthorized},
	}
	for _, tt := range tests {
		if got := findingType(tt.code); got != tt.want {
			t.Errorf("findingType(%s) = %s, want %s", tt.code, got, tt.want)
		}
	}
}

// TestRetryAfterRoundsUp checks that a rate-limited client is never told
// to come back before the limit lets it: the wait is rounded up to whole
// seconds, never to the nearest.
func TestRetryAfterRoundsUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want time.Duration
	}{
		{0, time.Second},
		{time.Millisecond, time.Second},
		{time.Second, time.Second},
		{time.Second + time.Nanosecond, 2 * time.Second},
		{30*time.Second + 400*time.Millisecond, 31 * time.Second},
		{35*time.Second + 600*time.Millisecond, 36 * time.Second},
		{36 * time.Second, 36 * time.Second},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in); got != tt.want {
			t.Errorf("retryAfter(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestOrdersFailure: an order whose authorizations failed says what failed
// for each identifier: one failure is the problem itself; several are
// subproblems (RFC 8555 §6.7.1) under their shared type, else "compound".
func TestOrdersFailure(t *testing.T) {
	t.Parallel()
	a := &ACMEError{Type: ACMEDNS, Detail: "a.example.com does not exist", Identifier: "a.example.com"}
	b := &ACMEError{Type: ACMEDNS, Detail: "b.example.com does not exist", Identifier: "b.example.com"}
	c := &ACMEError{Type: ACMEIncorrectResponse, Detail: "other value", Identifier: "c.example.com"}
	tests := []struct {
		name     string
		failed   []*ACMEError
		wantType string
		detail   string
		subs     int
	}{
		{"one", []*ACMEError{a}, ACMEDNS, "a.example.com does not exist", 0},
		{"one whose detail does not name it", []*ACMEError{c}, ACMEIncorrectResponse, "c.example.com: other value", 0},
		// Each reason is repeated in the detail, which some clients show
		// alone (interop run).
		{"two of one type", []*ACMEError{a, b}, ACMEDNS, "the authorizations of 2 identifiers failed: a.example.com does not exist; b.example.com does not exist (see subproblems)", 2},
		{"types differ", []*ACMEError{a, b, c}, ACMECompound, "the authorizations of 3 identifiers failed: a.example.com does not exist; b.example.com does not exist; c.example.com: other value (see subproblems)", 3},
		{"more than three", []*ACMEError{a, b, c, a}, ACMECompound, "the authorizations of 4 identifiers failed: a.example.com does not exist; b.example.com does not exist; c.example.com: other value; and 1 more (see subproblems)", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ordersFailure(tt.failed)
			if got.Type != tt.wantType || got.Detail != tt.detail || len(got.Subproblems) != tt.subs || got.Identifier != "" {
				t.Errorf("ordersFailure = %s %q with %d subproblems, identifier %q; want %s %q with %d, the identifier in subproblems only", got.Type, got.Detail, len(got.Subproblems), got.Identifier, tt.wantType, tt.detail, tt.subs)
			}
		})
	}
}
