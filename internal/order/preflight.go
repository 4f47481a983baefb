package order

import (
	"context"
	"fmt"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// maxPreflightValue bounds the value a pre-flight check compares: order
// values are 32 characters and ACME key authorizations under 100; anything
// much longer is not a value dcv issued.
const maxPreflightValue = 512

// PreflightRequest asks for a pre-flight check of one domain: a diagnosis
// without an order (`dcv check`, POST /api/v1/checks).
type PreflightRequest struct {
	// Domain is the name to check, in any form ident.Normalize accepts.
	Domain string `json:"domain"`
	// Method is "dns" or "file"; if empty, "dns".
	Method string `json:"method,omitempty"`
	// Value is the value expected in the TXT record or the file; if empty,
	// nothing is compared and the check diagnoses what can be (see
	// diagnose.Preflight).
	Value string `json:"value,omitempty"`
}

// PreflightResult is the diagnosis of a pre-flight check.
type PreflightResult struct {
	Domain string `json:"domain"`
	// Type is "dns" or "ip", as in DomainView.
	Type      string    `json:"type"`
	Method    string    `json:"method"`
	Value     string    `json:"value,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
	// Status is "approved" when a value was given and no finding blocks
	// (the domain would be validated now), "unverified" when none was
	// given and no finding blocks (nothing was compared: not a pass), else
	// "pending".
	Status string `json:"status"`
	// NoVerdict is set when only the CA's side blocks (CASideOnly): the
	// observation failed on dcv's side (its resolver, its perspectives),
	// nothing was learnt of the domain, and Status "pending" says nothing
	// of it.
	NoVerdict bool               `json:"no_verdict,omitempty"`
	Findings  []diagnose.Finding `json:"findings"`
	// Matrix says, per perspective, what was seen, as in a check.
	Matrix []diagnose.PerspectiveRow `json:"matrix"`
	// Evidence holds the raw observations, the primary's first (the
	// primary's alone in an applicant's view: PreflightResult.Redact).
	Evidence []validation.Observation `json:"evidence"`
}

// PreflightUnverified is the status of a pre-flight check without a value
// in which no finding blocks: nothing was compared, so it is no pass.
const PreflightUnverified = "unverified"

// Blocked reports whether a finding blocks.
func (r *PreflightResult) Blocked() bool {
	return r.Status != diagnose.StatusApproved && r.Status != PreflightUnverified
}

// Preflight runs a pre-flight check of req.Domain through obs and
// diagnoses it at now. It needs no store: `dcv check` calls it with a
// local validator, Service.Preflight with the service's observer. It
// returns a KindInvalid *Error for a refused name, an unknown method, a
// wildcard with the file method or an over-long value, and an error when
// obs cannot serve the request. names is which names may be checked.
func Preflight(ctx context.Context, obs Observer, names ident.Policy, req PreflightRequest, now time.Time) (*PreflightResult, error) {
	method := req.Method
	if method == "" {
		method = string(validation.MethodDNS)
	}
	if err := checkMethod(method); err != nil {
		return nil, err
	}
	parsed, err := names.ParseOrderNames([]string{req.Domain}, method)
	if err != nil {
		return nil, policyError(err)
	}
	domain := parsed[0]
	if host := validation.DNSPrefix + "." + ident.Base(domain); method == string(validation.MethodDNS) && len(host) > ident.MaxNameLength {
		return nil, invalid(ident.CodeNameTooLong, "%q is too long for DNS validation: its TXT record would be at %s, %d characters, and a DNS name has at most %d", domain, host, len(host), ident.MaxNameLength)
	}
	if len(req.Value) > maxPreflightValue {
		return nil, invalid("VALUE_TOO_LONG", "the value is longer than %d characters", maxPreflightValue)
	}
	res := &PreflightResult{Domain: domain, Type: ident.IdentifierType(domain), Method: method, Value: req.Value, CheckedAt: now.UTC()}
	observed, err := obs.Observe(ctx, validation.Request{Domain: domain, Method: validation.Method(method), Value: req.Value})
	if err != nil {
		return nil, fmt.Errorf("observing %s: %w", domain, err)
	}
	r := diagnose.Preflight(observed, now)
	res.Status, res.Findings, res.Evidence = r.Status, r.Findings, observed
	if req.Value == "" && res.Status == diagnose.StatusApproved {
		res.Status = PreflightUnverified
	}
	res.NoVerdict = res.Blocked() && res.CASideOnly()
	res.Matrix = diagnose.Matrix(observed)
	if res.Evidence == nil {
		res.Evidence = []validation.Observation{}
	}
	return res, nil
}

// Preflight runs a pre-flight check for acct with the service's observer
// (every perspective) and clock. Pre-flight checks are not stored: they
// belong to no order and approve nothing, so there is no state to keep and
// no audit trail to extend; the API rate-limits them instead. acct must be
// authenticated; an account that is not an admin gets the applicant's view
// (PreflightResult.Redact).
func (s *Service) Preflight(ctx context.Context, acct *store.Account, req PreflightRequest) (*PreflightResult, error) {
	if acct == nil {
		return nil, &Error{Kind: KindUnauthorized, Code: "UNAUTHORIZED", Message: "an API key is required"}
	}
	res, err := Preflight(perspective.WithTenant(ctx, tenantPreflight+acct.ID), s.cfg.Observer, s.cfg.Names, req, s.now())
	if err == nil && !acct.Admin {
		res.Redact()
		if err := s.hidePreflightResolvers(res); err != nil {
			return nil, err
		}
	}
	return res, err
}

// CASideOnly reports whether every blocking finding of r is a failure on
// the checking side (diagnose.CASide: the resolution the check was given,
// or an observation it could not make), and there is one: the check could
// not run, and says nothing of the domain.
func (r *PreflightResult) CASideOnly() bool {
	ca, applicant := diagnose.BlockingSides(r.Findings)
	return ca && !applicant
}
