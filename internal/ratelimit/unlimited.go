package ratelimit

import (
	"context"
	"time"
)

// Unlimited is a Limiter that allows every request: for a private CA that
// wants no ACME limits, and for load tests (`dcv serve --acme-rate-limits
// off`). It keeps nothing.
type Unlimited struct{}

var _ Limiter = Unlimited{}

// Spend allows the request.
func (Unlimited) Spend(_ context.Context, l Limit, _ string, _ int, _ time.Time) (Decision, error) {
	return Decision{Allowed: true, Remaining: l.Count}, nil
}

// Check allows the request.
func (Unlimited) Check(_ context.Context, l Limit, _ string, _ int, _ time.Time) (Decision, error) {
	return Decision{Allowed: true, Remaining: l.Count}, nil
}
