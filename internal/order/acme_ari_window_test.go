package order

import (
	"testing"
	"time"
)

// TestRenewalWindow: the suggested window sits where a third of the
// validity is left (half, for a short-lived certificate), a day on each
// side at most (ACME run: 30 to 60 days into a 90-day certificate had
// clients renew with half its life ahead).
func TestRenewalWindow(t *testing.T) {
	t.Parallel()
	nb := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name       string
		life       time.Duration
		start, end time.Duration // from notBefore
	}{
		{"90 days", 90 * day, 59 * day, 61 * day},
		{"7 days", 7 * day, 3*day + 12*time.Hour - 5*time.Hour - 36*time.Minute, 3*day + 12*time.Hour + 5*time.Hour + 36*time.Minute},
		{"2 hours", 2 * time.Hour, time.Hour - 4*time.Minute, time.Hour + 4*time.Minute},
		{"199 days", 199 * day, 199*day - 199*day/3 - day, 199*day - 199*day/3 + day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start, end := renewalWindow(nb, nb.Add(tt.life))
			if !start.Equal(nb.Add(tt.start)) || !end.Equal(nb.Add(tt.end)) {
				t.Errorf("window %v to %v; want %v to %v", start.Sub(nb), end.Sub(nb), tt.start, tt.end)
			}
		})
	}
}
