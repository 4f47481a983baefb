package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/perspective"
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
	if st := authzStatus(z, now, a.validatedSince(now)); st != store.ACMEStatusPending && st != store.ACMEStatusValid && z.Challenges[ci].Status == store.ACMEStatusPending {
		// The challenge would stay pending for ever: answering its state
		// would tell the client to wait for a validation that never runs.
		// A challenge already decided is answered as it is, and so is
		// any challenge of a valid authorization (a client that posts to
		// one it reuses has nothing left to do).
		return nil, acmeErr(ACMEMalformed, "authorization %s is %s: its %s challenge can no longer be validated; place a new order for %s", z.ID, st, typ, z.Identifier)
	}
	if z.Status == store.ACMEStatusPending && z.Challenges[ci].Status == store.ACMEStatusPending && now.Before(z.ExpiresAt) {
		// The failed-validations limit holds here too: orders created
		// before the limit was reached must not validate past it.
		if err := a.checkFailedValidations(ctx, acct, z.Identifier, now); err != nil {
			return nil, err
		}
		if z, err = a.runChallenge(ctx, acct, z, ci, now); err != nil {
			return nil, err
		}
	}
	v := a.authzView(z, a.now())
	res := &ChallengeResult{Challenge: v.Challenges[ci], AuthzID: z.ID}
	if res.Challenge.Status == store.ACMEStatusProcessing {
		res.RetryAfter = acmeRetryAfter
	}
	return res, nil
}

// runChallenge validates challenge ci of z, pending at now, and returns
// the authorization as it then is.
//
// With a validation budget, the validation runs first and the request
// waits for it up to the budget: an outcome in time is stored with its
// start in one durable write (ACMEChallengeComplete), so the usual case
// costs one write, not two. When the budget runs out, the start is stored
// (the challenge is "processing", and a crash leaves it to resumeStale)
// and the outcome is recorded when it comes. In this process, a challenge
// POST on an authorization another POST is validating waits for that
// outcome and answers it, validating nothing itself (ACME.claims). Either
// write is a compare-and-set besides: of concurrent challenge POSTs on one
// authorization, one alone records its validation; the others report the
// state.
func (a *ACME) runChallenge(ctx context.Context, acct *store.ACMEAccount, z *store.ACMEAuthz, ci int, now time.Time) (*store.ACMEAuthz, error) {
	typ := z.Challenges[ci].Type
	staleBefore := a.staleBefore(now)
	if a.cfg.ValidationBudget <= 0 {
		err := a.st.ACMEChallengeStart(ctx, z.ID, typ, now, staleBefore)
		switch {
		case err == nil:
			a.launch(acct, z, typ)
		case !errors.Is(err, store.ErrConflict):
			return nil, fmt.Errorf("starting challenge: %w", err)
		}
		return a.loadAuthz(ctx, acct, z.ID)
	}
	claim := &challengeClaim{done: make(chan struct{})}
	if prev, taken := a.claims.LoadOrStore(z.ID, claim); taken {
		// Another POST validates the authorization right now: its
		// outcome, or "processing" past the budget, is this one's too.
		t := time.NewTimer(a.cfg.ValidationBudget + claimGrace)
		defer t.Stop()
		select {
		case <-prev.(*challengeClaim).done:
		case <-t.C:
		case <-ctx.Done():
		}
		return a.loadAuthz(ctx, acct, z.ID)
	}
	defer func() {
		close(claim.done)
		// Kept a moment after: a POST that read the authorization as
		// pending just before the outcome was stored finds the claim
		// done and answers the state, validating nothing (review).
		time.AfterFunc(claimGrace, func() { a.claims.CompareAndDelete(z.ID, claim) })
	}()
	done := make(chan store.ACMEChallengeResult, 1)
	a.validations.Add(1)
	go func() {
		defer a.validations.Done()
		done <- a.observeInTurn(acct, z, typ)
	}()
	t := time.NewTimer(a.cfg.ValidationBudget)
	defer t.Stop()
	select {
	case res := <-done:
		err := a.st.ACMEChallengeComplete(ctx, res, now, staleBefore)
		switch {
		case err == nil:
			a.recorded(ctx, acct, z, &res)
			// The outcome was recorded by this compare-and-set: apply it
			// to z rather than read the authorization again.
			applyResult(z, ci, now, &res)
			return z, nil
		case errors.Is(err, store.ErrConflict):
			// Another challenge of the authorization was started or
			// recorded meanwhile: report the state.
			return a.loadAuthz(ctx, acct, z.ID)
		default:
			return nil, fmt.Errorf("recording challenge: %w", err)
		}
	case <-t.C:
	case <-ctx.Done():
	}
	err := a.st.ACMEChallengeStart(ctx, z.ID, typ, now, staleBefore)
	switch {
	case err == nil:
		key := a.markRunning(z.ID, typ)
		a.validations.Add(1)
		go func() {
			defer a.validations.Done()
			defer a.running.Delete(key)
			res := <-done
			wctx, cancel := context.WithTimeout(context.Background(), acmeValidationTimeout)
			defer cancel()
			a.record(wctx, acct, z, &res)
		}()
	case !errors.Is(err, store.ErrConflict):
		return nil, fmt.Errorf("starting challenge: %w", err)
	}
	return a.loadAuthz(ctx, acct, z.ID)
}

// challengeClaim is a challenge POST validating its authorization before
// anything is stored (ACME.claims); done is closed once the outcome, or
// the start past the budget, is stored.
type challengeClaim struct{ done chan struct{} }

// claimGrace is how much longer than the validation budget a second
// challenge POST waits for the first's outcome: the time to store it.
const claimGrace = 5 * time.Second

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
	stale := a.staleBefore(now)
	for _, c := range z.Challenges {
		if c.Status != store.ACMEStatusProcessing || !c.StartedAt.Before(stale) {
			continue
		}
		if _, mine := a.running.Load(runningKey(z.ID, c.Type)); mine {
			continue // still under way here (the clock may have stepped back)
		}
		if err := a.st.ACMEChallengeStart(context.Background(), z.ID, c.Type, now, stale); err == nil {
			a.launch(acct, z, c.Type)
		}
	}
}

// runningKey names a challenge in ACME.running.
func runningKey(authzID, typ string) string { return authzID + " " + typ }

// markRunning records that this process runs the validation of challenge
// typ of authzID, until its outcome is recorded (the caller deletes the key
// it returns): resumeStale never starts it again meanwhile, whatever the
// clock says.
func (a *ACME) markRunning(authzID, typ string) string {
	key := runningKey(authzID, typ)
	a.running.Store(key, struct{}{})
	return key
}

// launch runs one validation of a started challenge in the background and
// records it.
func (a *ACME) launch(acct *store.ACMEAccount, z *store.ACMEAuthz, typ string) {
	key := a.markRunning(z.ID, typ)
	a.validations.Add(1)
	go func() {
		defer a.validations.Done()
		defer a.running.Delete(key)
		res := a.observeInTurn(acct, z, typ)
		ctx, cancel := context.WithTimeout(context.Background(), acmeValidationTimeout)
		defer cancel()
		a.record(ctx, acct, z, &res)
	}()
}

// validationEvidence is what a challenge keeps as audit: every
// perspective's observation and the diagnosis.
type validationEvidence struct {
	Observations []validation.Observation `json:"observations"`
	Findings     []diagnose.Finding       `json:"findings"`
	Status       string                   `json:"status"`
}

// observe observes and diagnoses one challenge and returns the outcome to
// record; it writes nothing.
func (a *ACME) observe(ctx context.Context, acct *store.ACMEAccount, z *store.ACMEAuthz, typ string) store.ACMEChallengeResult {
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
	obs, err := a.s.cfg.Observer.Observe(perspective.WithTenant(ctx, tenantACME+acct.ID), req)
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
		res.AuthzExpiresAt = now.Add(a.authzReuse(now))
	} else {
		res.Status = store.ACMEStatusInvalid
		prob := a.findingProblem(r.Findings)
		if res.Error, err = json.Marshal(prob); err != nil {
			log.Error("encoding acme problem", "authz", z.ID, "err", err)
		}
	}
	return res
}

// record stores the outcome of a started challenge's validation.
func (a *ACME) record(ctx context.Context, acct *store.ACMEAccount, z *store.ACMEAuthz, res *store.ACMEChallengeResult) {
	if err := a.st.ACMEChallengeFinish(ctx, *res); err != nil {
		a.s.cfg.Logger.Error("recording acme validation", "authz", z.ID, "type", res.Type, "err", err)
		return
	}
	a.recorded(ctx, acct, z, res)
}

// recorded counts a recorded failed validation against the account's
// failed-validations limit for the domain, unless it failed on the
// certificate authority's side (serverInternal: a remote perspective
// unavailable, no observation), which is no fault of the applicant's.
func (a *ACME) recorded(ctx context.Context, acct *store.ACMEAccount, z *store.ACMEAuthz, res *store.ACMEChallengeResult) {
	m := a.s.cfg.Metrics
	if res.Status == store.ACMEStatusValid {
		m.ACMEValidation(res.Type, "valid")
		return
	}
	var prob struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(res.Error, &prob) == nil && prob.Type == ACMEServerInternal {
		m.ACMEValidation(res.Type, "ca_side")
		a.logCASide(z, res)
		return
	}
	if prob.Type == ACMERateLimited {
		// No validation ran (observeInTurn): nothing was learnt of the
		// domain to count against it (review).
		m.ACMEValidation(res.Type, "rate_limited")
		return
	}
	m.ACMEValidation(res.Type, "invalid")
	l := a.cfg.Limits.FailedValidationsPerDomain
	if _, err := a.cfg.Limiter.Spend(ctx, l, acct.ID+"|"+limitKey(z.Identifier), 1, res.At); err != nil {
		a.s.cfg.Logger.Error("rate limit", "limit", l.Name, "err", err)
	}
}

// logCASide logs, at WARN, a recorded validation that failed on the
// certificate authority's side (answered serverInternal): the client is
// told it is not the applicant's fault, and the operator is told here what
// failed, from the validation's evidence (unredacted). An ACME
// authorization may serve several orders: it names the validation.
func (a *ACME) logCASide(z *store.ACMEAuthz, res *store.ACMEChallengeResult) {
	var ev struct {
		Findings []diagnose.Finding `json:"findings"`
	}
	_ = json.Unmarshal(res.Evidence, &ev) // unreadable: no finding named
	f, ok := caSideFinding(ev.Findings)
	if !ok {
		f.Message = "the validation failed without a diagnosis"
	} else {
		a.s.cfg.Metrics.CASide(string(f.Code))
	}
	a.s.cfg.Logger.Warn("acme validation failed on the CA's own side: the client is told to contact the operator",
		"authz", z.ID, "domain", z.Identifier, "challenge", res.Type, "code", f.Code, "message", f.Message)
}

// findingProblem is findingProblem as an ACME client reads it: an applicant,
// to whom dcv's own resolvers are "dcv's resolver".
func (a *ACME) findingProblem(fs []diagnose.Finding) *ACMEError {
	p := findingProblem(fs)
	p.Detail, p.Fix = a.s.hideText(p.Detail), a.s.hideText(p.Fix)
	return p
}

// findingProblem turns the worst blocking finding into the challenge's
// error: the detail is its message followed by "Fix: " and its fix (ACME
// clients print only the detail), and its code and fix are also the
// dcvCode and dcvFix extension members, so an ACME client shows the
// applicant the same cause and fix as the console.
func findingProblem(fs []diagnose.Finding) *ACMEError {
	for _, f := range fs {
		if !f.Blocking() {
			continue
		}
		detail := f.Message
		if f.Fix != "" {
			detail += " Fix: " + f.Fix
		}
		return &ACMEError{Type: findingType(f.Code), Detail: detail, Code: f.Code, Fix: f.Fix}
	}
	return acmeErr(ACMEServerInternal, "the validation failed without a diagnosis")
}

// findingType maps a finding code to the RFC 8555 §6.7 error type that
// best names it.
func findingType(c diagnose.Code) string {
	switch c {
	case diagnose.CodeDomainUnresolvable, diagnose.CodeDNSTimeout, diagnose.CodeDNSServfail, diagnose.CodeDNSLookupFailed,
		diagnose.CodeDNSSECBogus, diagnose.CodeDNSLameDelegation:
		return ACMEDNS
	case diagnose.CodeDNSWrongHost, diagnose.CodeDNSWrongType, diagnose.CodeDNSRecordNotFound,
		diagnose.CodeFileNotFound, diagnose.CodeFileBadStatus, diagnose.CodeFileRedirected,
		// The address that decided did not serve the key authorization.
		diagnose.CodeAddressDiscrepancy:
		return ACMEUnauthorized
	case diagnose.CodeDNSRecordMismatch, diagnose.CodeFileContentMismatch, diagnose.CodeTLSALPNBadExtension, diagnose.CodeTLSALPNWrongCertificate:
		// The response came, and is not the one asked for: the same
		// type for the three challenges (RFC 8555 §6.7).
		return ACMEIncorrectResponse
	case diagnose.CodeFileUnreachable, diagnose.CodeAddressReserved, diagnose.CodeTLSALPNUnreachable:
		return ACMEConnection
	case diagnose.CodeTLSALPNNotNegotiated:
		return ACMETLS
	case diagnose.CodeCAAForbids, diagnose.CodeCAACriticalUnknown, diagnose.CodeCAALookupFailed, diagnose.CodeCAANameserversDisagree:
		return ACMECAA
	}
	if diagnose.CASide(c) {
		// The certificate authority's problem, not the applicant's.
		return ACMEServerInternal
	}
	return ACMEUnauthorized
}
