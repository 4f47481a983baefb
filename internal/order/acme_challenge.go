package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// KeyAuthorization returns the key authorization of a token for an account
// key thumbprint (RFC 8555 §8.1): token || '.' || base64url(Thumbprint(accountKey)).
func KeyAuthorization(token, thumbprint string) string { return token + "." + thumbprint }

// ChallengeResult is the answer to a challenge POST.
type ChallengeResult struct {
	Challenge ACMEChallengeView
	AuthzID   string
	// RetryAfter is set while the validation is still running.
	RetryAfter time.Duration
}

// StartChallenge implements the challenge POST (RFC 8555 §7.5.1): it starts
// the validation of a pending challenge, through the same perspective →
// validation → diagnose trip as every check, and waits for it up to the
// validation budget. A challenge already started or finished is returned as
// it is. The validation goes on in the background when the budget runs
// out; the answer is then "processing" with a Retry-After.
func (a *ACME) StartChallenge(ctx context.Context, acct *store.ACMEAccount, authzID, typ string) (*ChallengeResult, error) {
	z, err := a.loadAuthz(ctx, acct, authzID)
	if err != nil {
		return nil, err
	}
	ci := challengeIndex(z, typ)
	if ci < 0 {
		return nil, acmeNotFound("challenge", authzID+"/"+typ)
	}
	now := a.now()
	if z.Status == store.ACMEStatusPending && z.Challenges[ci].Status == store.ACMEStatusPending && now.Before(z.ExpiresAt) {
		err := a.st.ACMEChallengeStart(ctx, z.ID, typ, now, now.Add(-acmeStaleValidation))
		switch {
		case err == nil:
			done := a.launch(acct, z, typ, now)
			var rec *store.ACMEChallengeResult
			if a.cfg.ValidationBudget > 0 {
				t := time.NewTimer(a.cfg.ValidationBudget)
				select {
				case rec = <-done:
				case <-t.C:
				case <-ctx.Done():
				}
				t.Stop()
			}
			if rec != nil {
				// The outcome was recorded by this process's own
				// compare-and-set on a challenge it had started: apply
				// it to z rather than read the authorization again.
				applyResult(z, ci, now, rec)
				break
			}
			if z, err = a.loadAuthz(ctx, acct, authzID); err != nil {
				return nil, err
			}
		case errors.Is(err, store.ErrConflict):
			// Another challenge of the authorization is being validated, or
			// this one was started meanwhile: report the state.
			if z, err = a.loadAuthz(ctx, acct, authzID); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("starting challenge: %w", err)
		}
	}
	v := authzView(z, a.now())
	res := &ChallengeResult{Challenge: v.Challenges[ci], AuthzID: z.ID}
	if res.Challenge.Status == store.ACMEStatusProcessing {
		res.RetryAfter = acmeRetryAfter
	}
	return res, nil
}

// applyResult sets on z (loaded before the challenge started) what
// ACMEChallengeStart and ACMEChallengeFinish stored for challenge ci.
func applyResult(z *store.ACMEAuthz, ci int, started time.Time, r *store.ACMEChallengeResult) {
	c := &z.Challenges[ci]
	c.Status, c.StartedAt, c.Error, c.Evidence = r.Status, started, r.Error, r.Evidence
	c.ValidatedAt = time.Time{}
	z.Status = r.Status
	if r.Status == store.ACMEStatusValid {
		c.ValidatedAt = r.At
		z.ValidatedAt, z.ExpiresAt = r.At, r.AuthzExpiresAt
	}
}

func challengeIndex(z *store.ACMEAuthz, typ string) int {
	for i, c := range z.Challenges {
		if c.Type == typ {
			return i
		}
	}
	return -1
}

// resumeStale restarts a validation left "processing" by a crash, so that
// a polling client sees it finish.
func (a *ACME) resumeStale(acct *store.ACMEAccount, z *store.ACMEAuthz) {
	now := a.now()
	for _, c := range z.Challenges {
		if c.Status != store.ACMEStatusProcessing || c.StartedAt.After(now.Add(-acmeStaleValidation)) {
			continue
		}
		if err := a.st.ACMEChallengeStart(context.Background(), z.ID, c.Type, now, now.Add(-acmeStaleValidation)); err == nil {
			a.launch(acct, z, c.Type, now)
		}
	}
}

// launch runs one validation in the background and returns a channel that
// gets the result once it is recorded, or nil when recording it failed;
// the channel is closed after that.
func (a *ACME) launch(acct *store.ACMEAccount, z *store.ACMEAuthz, typ string, started time.Time) <-chan *store.ACMEChallengeResult {
	done := make(chan *store.ACMEChallengeResult, 1)
	a.validations.Add(1)
	go func() {
		defer a.validations.Done()
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), acmeValidationTimeout)
		defer cancel()
		done <- a.validate(ctx, acct, z, typ)
	}()
	return done
}

// validationEvidence is what a challenge keeps as audit: every
// perspective's observation and the diagnosis.
type validationEvidence struct {
	Observations []validation.Observation `json:"observations"`
	Findings     []diagnose.Finding       `json:"findings"`
	Status       string                   `json:"status"`
}

// validate observes, diagnoses and records one challenge. It returns what
// it recorded, or nil when recording failed.
func (a *ACME) validate(ctx context.Context, acct *store.ACMEAccount, z *store.ACMEAuthz, typ string) *store.ACMEChallengeResult {
	log := a.s.cfg.Logger
	m := validation.Method(typ)
	keyAuth := KeyAuthorization(z.Token, acct.KeyThumbprint)
	value := keyAuth
	if m == validation.MethodDNS01 {
		value = validation.KeyAuthorizationDigest(keyAuth)
	}
	req := validation.Request{
		Domain:     z.Identifier,
		Method:     m,
		Value:      value,
		Token:      z.Token,
		AccountURI: a.cfg.AccountURL(acct.ID),
	}
	obs, err := a.s.cfg.Observer.Observe(ctx, req)
	if err != nil {
		// diagnose fails closed on no observation.
		log.Error("acme observation failed", "authz", z.ID, "type", typ, "err", err)
		obs = nil
	}
	now := a.now()
	r := diagnose.Domain(obs, now)
	ev := validationEvidence{Observations: obs, Findings: r.Findings, Status: r.Status}
	if ev.Findings == nil {
		ev.Findings = []diagnose.Finding{}
	}
	evidence, err := json.Marshal(ev)
	if err != nil {
		log.Error("encoding acme evidence", "authz", z.ID, "err", err)
		evidence = nil
	}
	res := store.ACMEChallengeResult{AuthzID: z.ID, Type: typ, At: now, Evidence: evidence}
	if r.Status == diagnose.StatusApproved {
		res.Status = store.ACMEStatusValid
		res.AuthzExpiresAt = now.Add(a.cfg.AuthzReuse)
	} else {
		res.Status = store.ACMEStatusInvalid
		prob := findingProblem(r.Findings)
		if res.Error, err = json.Marshal(prob); err != nil {
			log.Error("encoding acme problem", "authz", z.ID, "err", err)
		}
		l := a.cfg.Limits.FailedValidationsPerDomain
		if _, err := a.cfg.Limiter.Spend(ctx, l, acct.ID+"|"+baseName(z.Identifier), 1, now); err != nil {
			log.Error("rate limit", "limit", l.Name, "err", err)
		}
	}
	if err := a.st.ACMEChallengeFinish(ctx, res); err != nil {
		log.Error("recording acme validation", "authz", z.ID, "type", typ, "err", err)
		return nil
	}
	return &res
}

// findingProblem turns the worst blocking finding into the challenge's
// error: its message is the detail, its code and fix the dcvCode and dcvFix
// extension members, so an ACME client shows the applicant the same cause
// and fix as the console.
func findingProblem(fs []diagnose.Finding) *ACMEError {
	for _, f := range fs {
		if !f.Blocking() {
			continue
		}
		return &ACMEError{Type: findingType(f.Code), Detail: f.Message, Code: f.Code, Fix: f.Fix}
	}
	return acmeErr(ACMEServerInternal, "the validation failed without a diagnosis")
}

// findingType maps a finding code to the RFC 8555 §6.7 error type that
// best names it.
func findingType(c diagnose.Code) string {
	switch c {
	case diagnose.CodeDomainUnresolvable, diagnose.CodeDNSTimeout, diagnose.CodeDNSServfail, diagnose.CodeDNSLookupFailed:
		return ACMEDNS
	case diagnose.CodeDNSWrongHost, diagnose.CodeDNSWrongType, diagnose.CodeDNSRecordMismatch, diagnose.CodeDNSRecordNotFound,
		diagnose.CodeFileNotFound, diagnose.CodeFileBadStatus, diagnose.CodeFileRedirected:
		return ACMEUnauthorized
	case diagnose.CodeFileContentMismatch, diagnose.CodeTLSALPNBadExtension, diagnose.CodeTLSALPNWrongCertificate:
		return ACMEIncorrectResponse
	case diagnose.CodeFileUnreachable, diagnose.CodeAddressReserved, diagnose.CodeTLSALPNUnreachable:
		return ACMEConnection
	case diagnose.CodeTLSALPNNotNegotiated:
		return ACMETLS
	case diagnose.CodeCAAForbids, diagnose.CodeCAACriticalUnknown, diagnose.CodeCAALookupFailed:
		return ACMECAA
	case diagnose.CodeObservationInvalid:
		return ACMEServerInternal
	}
	return ACMEUnauthorized
}
