// Package perspective runs a validation method from every vantage point the
// CA has: the primary (this process) today, remote dcv agents later, and
// decides whether their observations corroborate (CA/B Forum BR 3.2.2.9).
package perspective

import (
	"context"
	"errors"

	"github.com/dcvhq/dcv/internal/validation"
)

// Runner observes from the primary perspective. It is safe for concurrent use.
type Runner struct {
	primary *validation.Validator
}

// New returns a Runner observing through the primary validator.
func New(primary *validation.Validator) (*Runner, error) {
	if primary == nil {
		return nil, errors.New("perspective: a primary validator is required")
	}
	return &Runner{primary: primary}, nil
}

// Observe returns the observations of every perspective; the primary's
// comes first.
func (r *Runner) Observe(ctx context.Context, req validation.Request) ([]validation.Observation, error) {
	obs, err := r.primary.Observe(ctx, req)
	if err != nil {
		return nil, err
	}
	return []validation.Observation{obs}, nil
}
