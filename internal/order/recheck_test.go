package order

import (
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/store"
)

// TestRecheckAfter: dcv's own next check of a pending order comes at the
// time its findings predict it passes, or after a wait that grows with the
// order's age; never before the throttle lets go, nor after the order's
// values expire.
func TestRecheckAfter(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	eta := func(d time.Duration) diagnose.Finding {
		at := created.Add(d)
		return diagnose.Finding{Code: diagnose.CodeDNSRecordNotPropagated, ETA: &at}
	}
	tests := []struct {
		name     string
		age      time.Duration
		interval time.Duration
		expires  time.Duration // after creation; 0 for 30 days
		findings []diagnose.Finding
		want     time.Duration // after the check; 0 for none
	}{
		{name: "a new order: 5 minutes", interval: time.Minute, want: 5 * time.Minute},
		{name: "in its first day: 30 minutes", age: 2 * time.Hour, want: 30 * time.Minute},
		{name: "later: 2 hours", age: 48 * time.Hour, want: 2 * time.Hour},
		{name: "an ETA sooner than the wait", age: 2 * time.Hour, findings: []diagnose.Finding{eta(2*time.Hour + 22*time.Minute)}, want: 22 * time.Minute},
		{name: "the soonest ETA", age: 2 * time.Hour, findings: []diagnose.Finding{eta(2*time.Hour + 25*time.Minute), eta(2*time.Hour + 19*time.Minute)}, want: 19 * time.Minute},
		{name: "an ETA sooner than half the wait: half the wait", age: 2 * time.Hour, findings: []diagnose.Finding{eta(2*time.Hour + 9*time.Minute)}, want: 15 * time.Minute},
		{name: "later, an ETA brings it to an hour at most", age: 48 * time.Hour, findings: []diagnose.Finding{eta(48*time.Hour + 10*time.Minute)}, want: time.Hour},
		{name: "an ETA later than the wait: the wait", age: 2 * time.Hour, findings: []diagnose.Finding{eta(5 * time.Hour)}, want: 30 * time.Minute},
		{name: "an ETA already past: the wait", age: 2 * time.Hour, findings: []diagnose.Finding{eta(time.Hour)}, want: 30 * time.Minute},
		{name: "not before the throttle", age: 2 * time.Hour, interval: time.Hour, want: time.Hour},
		{name: "an ETA within the throttle: the throttle", age: 2 * time.Hour, interval: 20 * time.Minute, findings: []diagnose.Finding{eta(2*time.Hour + time.Minute)}, want: 20 * time.Minute},
		// A check then could not find the values valid: none promised.
		{name: "none when the values expire first", age: 2 * time.Hour, expires: 2*time.Hour + 10*time.Minute, want: 0},
		{name: "none when the values expire within the throttle", age: 2 * time.Hour, expires: 2*time.Hour + 3*time.Minute, want: 0},
		{name: "one before the values expire", age: 2 * time.Hour, expires: 2*time.Hour + 40*time.Minute, want: 30 * time.Minute},
		{name: "the last within RecheckFor", age: RecheckFor - 2*time.Hour, want: 2 * time.Hour},
		{name: "none past RecheckFor", age: RecheckFor - time.Hour, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Service{cfg: Config{CheckInterval: DefaultCheckInterval}}
			if tt.interval > 0 {
				s.cfg.CheckInterval = tt.interval
			}
			expires := created.Add(30 * 24 * time.Hour)
			if tt.expires > 0 {
				expires = created.Add(tt.expires)
			}
			now := created.Add(tt.age)
			got := s.recheckAfter(&store.Order{CreatedAt: created, ExpiresAt: expires}, now, tt.findings)
			switch {
			case tt.want == 0 && !got.IsZero():
				t.Errorf("recheck %v after the check, want none", got.Sub(now))
			case tt.want != 0 && got.Sub(now) != tt.want:
				t.Errorf("recheck %v after the check, want %v", got.Sub(now), tt.want)
			}
		})
	}
}
