package diagnose

import (
	"testing"
	"time"
)

func TestLifecycleFindings(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	retry := at("2025-06-01T18:05:00Z")
	later := at("2025-06-03T09:00:00+02:00")
	tests := []struct {
		name string
		got  Finding
		want Finding
	}{
		{
			name: "too frequent, same day",
			got:  CheckTooFrequent(retry, time.Time{}, at("2025-06-01T18:00:50Z")),
			want: Finding{Code: CodeCheckTooFrequent, Severity: SeverityWarning, Retryable: true, ETA: &retry,
				Message: "This order was checked recently (by you, or by dcv on its own), and one check is allowed per check interval; retry in 4 minutes 10 seconds (at 18:05:00 UTC).",
				Fix:     "Wait until then before checking again; in an order's first 3 days, dcv also checks it on its own and issues it once it passes."},
		},
		{
			name: "too frequent, rounded up, singular units",
			got:  CheckTooFrequent(retry, time.Time{}, at("2025-06-01T17:03:58.5Z")),
			want: Finding{Code: CodeCheckTooFrequent, Severity: SeverityWarning, Retryable: true, ETA: &retry,
				Message: "This order was checked recently (by you, or by dcv on its own), and one check is allowed per check interval; retry in 1 hour 1 minute 2 seconds (at 18:05:00 UTC).",
				Fix:     "Wait until then before checking again; in an order's first 3 days, dcv also checks it on its own and issues it once it passes."},
		},
		{
			// 18:04:59.6 shown as 18:04:59 would send the client back
			// 0.4 s early, to be refused again.
			name: "too frequent, the clock rounded up",
			got:  CheckTooFrequent(retry.Add(-400*time.Millisecond), time.Time{}, at("2025-06-01T18:04:58Z")),
			want: Finding{Code: CodeCheckTooFrequent, Severity: SeverityWarning, Retryable: true, ETA: ptr(retry.Add(-400 * time.Millisecond)),
				Message: "This order was checked recently (by you, or by dcv on its own), and one check is allowed per check interval; retry in 2 seconds (at 18:05:00 UTC).",
				Fix:     "Wait until then before checking again; in an order's first 3 days, dcv also checks it on its own and issues it once it passes."},
		},
		{
			// The value is gone before the next check may run: waiting
			// cannot help, and no ETA says it could.
			name: "too frequent, the value expires first",
			got:  CheckTooFrequent(retry, retry.Add(-time.Minute), at("2025-06-01T18:00:50Z")),
			want: Finding{Code: CodeCheckTooFrequent, Severity: SeverityWarning,
				Message: "This order was checked recently (by you, or by dcv on its own), and one check is allowed per check interval; the next is allowed at 18:05:00 UTC, but the validation value expires at 18:04:00 UTC, before then: no later check of this order can pass.",
				Fix:     "Create a new order to get a new value, and publish that value."},
		},
		{
			name: "too frequent, another day",
			got:  CheckTooFrequent(later, time.Time{}, at("2025-06-01T07:00:00Z")),
			want: Finding{Code: CodeCheckTooFrequent, Severity: SeverityWarning, Retryable: true, ETA: &later,
				Message: "This order was checked recently (by you, or by dcv on its own), and one check is allowed per check interval; retry in 2 days (at 2025-06-03 07:00:00 UTC).",
				Fix:     "Wait until then before checking again; in an order's first 3 days, dcv also checks it on its own and issues it once it passes."},
		},
		{
			name: "too frequent, already past",
			got:  CheckTooFrequent(retry, time.Time{}, retry.Add(time.Second)),
			want: Finding{Code: CodeCheckTooFrequent, Severity: SeverityWarning, Retryable: true, ETA: &retry,
				Message: "This order was checked recently (by you, or by dcv on its own); you can check again now.",
				Fix:     "Wait until then before checking again; in an order's first 3 days, dcv also checks it on its own and issues it once it passes."},
		},
		{
			name: "approved",
			got:  ApprovedPendingIssuance(),
			want: Finding{Code: CodeApprovedPendingIssuance, Severity: SeverityInfo,
				Message: "Domain control is validated; the certificate will be issued shortly."},
		},
		{
			name: "issued",
			got:  Issued("04:a1:b2"),
			want: Finding{Code: CodeIssued, Severity: SeverityInfo, Message: "The certificate was issued (serial 04:a1:b2)."},
		},
		{
			name: "issuance failed",
			got:  IssuanceFailed("the signing service is unavailable"),
			want: Finding{Code: CodeIssuanceFailed, Severity: SeverityError, Retryable: true,
				Message: "Domain control is validated, but the certificate could not be issued: the signing service is unavailable.",
				Fix:     "This is a problem on the certificate authority's side, not with your domain: nothing needs to change on your side. Contact the operator if it persists."},
		},
		{
			name: "value expired",
			got:  ValueExpired(at("2025-07-01T12:00:00+02:00")),
			want: Finding{Code: CodeValueExpired, Severity: SeverityError,
				Message: "The validation value expired on 2025-07-01 10:00:00 UTC: a value is usable for a limited time after the order is created, and the domain was not validated within it.",
				Fix:     "Create a new order to get a new value, publish that value, and check again."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkFindings(t, []Finding{tt.got}, []Finding{tt.want})
			if tt.got.Blocking() != (tt.want.Severity == SeverityError) {
				t.Errorf("Blocking() = %v", tt.got.Blocking())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
