// Package ratelimit enforces rate limits with the Generic Cell Rate
// Algorithm (GCRA): each key has a theoretical arrival time (TAT); a request
// of cost n is allowed when TAT + n*interval - now does not exceed the burst
// window, and it moves the TAT forward. A key's whole state is one time, so
// a backend stores one value per key: in memory now, Redis at scale.
package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Limit is one named limit: Count requests per Period, all of which may come
// at once (the burst is Count).
type Limit struct {
	// Name names the limit in messages, e.g. "new orders per account".
	Name string
	// Count is how many requests are allowed per Period; at least 1.
	Count int
	// Period is the window Count applies to; positive.
	Period time.Duration
}

// Valid reports whether the limit is usable.
func (l Limit) Valid() error {
	if l.Count < 1 || l.Period <= 0 {
		return fmt.Errorf("ratelimit: limit %q: count %d and period %v must be positive", l.Name, l.Count, l.Period)
	}
	if l.interval() < time.Microsecond {
		// The emission interval rounds to nothing (10/5ns): the limit
		// would allow everything.
		return fmt.Errorf("ratelimit: limit %q: %d per %v is more than one a microsecond; use a longer period", l.Name, l.Count, l.Period)
	}
	return nil
}

// interval is the emission interval: the time one unit of cost takes to be
// replenished.
func (l Limit) interval() time.Duration { return l.Period / time.Duration(l.Count) }

// Decision is the outcome of one request against a limit.
type Decision struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Remaining is how many more unit-cost requests would be allowed now.
	Remaining int
	// RetryAfter is, when not Allowed, how long until the request would be
	// allowed.
	RetryAfter time.Duration
}

// Limiter decides requests against limits. Implementations are safe for
// concurrent use.
type Limiter interface {
	// Spend takes cost units from key's allowance under l when they are
	// available, and reports the decision; a denied request spends nothing.
	// A negative cost gives units back (a request refused for another
	// reason after it was counted), up to a whole allowance.
	Spend(ctx context.Context, l Limit, key string, cost int, now time.Time) (Decision, error)
	// Check reports the decision Spend would make, spending nothing.
	Check(ctx context.Context, l Limit, key string, cost int, now time.Time) (Decision, error)
}

// decide is GCRA: given the stored TAT of a key (zero when none), it
// returns the decision and the new TAT (unchanged when denied).
func decide(l Limit, tat time.Time, cost int, now time.Time) (Decision, time.Time) {
	iv := l.interval()
	burst := l.Period // Count requests may arrive at once
	if tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(time.Duration(cost) * iv)
	allowAt := newTAT.Add(-burst)
	if allowAt.After(now) {
		return Decision{Allowed: false, RetryAfter: allowAt.Sub(now), Remaining: remaining(l, tat, now)}, tat
	}
	return Decision{Allowed: true, Remaining: remaining(l, newTAT, now)}, newTAT
}

// remaining is how many unit requests fit before the window is full.
func remaining(l Limit, tat, now time.Time) int {
	free := l.Period - tat.Sub(now)
	if free <= 0 {
		return 0
	}
	return int(free / l.interval())
}
