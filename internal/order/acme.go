package order

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ratelimit"
	"github.com/dcvhq/dcv/internal/store"
)

// MaxAuthzReuseAt returns the longest time a valid authorization may serve
// new orders at t: CA/B Forum BRs §4.2.1 (ballot SC-081) limit the reuse of
// domain validation data to 398 days, then 200 days from 15 March 2026,
// 100 days from 15 March 2027 and 10 days from 15 March 2029. The reuse
// period in use is the configured one, shortened to this whenever it is
// longer, so that a server running past a milestone follows it.
func MaxAuthzReuseAt(t time.Time) time.Duration { return authzReuseLimits.At(t) }

// MaxAuthzReuse is the longest reuse period the configuration accepts, the
// longest the BRs ever allowed; the period in use is shortened to
// MaxAuthzReuseAt at each moment, so a setting or default longer than
// today's limit is not an error (it would stop a server on a milestone).
const MaxAuthzReuse = 398 * 24 * time.Hour

// authzReuseLimits are the steps of MaxAuthzReuseAt.
var authzReuseLimits = ca.SC081Schedule(398, 200, 100, 10)

// authzReuse is the reuse period at now: the configured one, at most
// MaxAuthzReuseAt(now).
func (a *ACME) authzReuse(now time.Time) time.Duration {
	return min(a.cfg.AuthzReuse, MaxAuthzReuseAt(now))
}

// ACME defaults and limits.
const (
	// DefaultAuthzReuse is how long a valid ACME authorization is reused for
	// new orders of the same account.
	DefaultAuthzReuse = 30 * 24 * time.Hour
	// DefaultPendingAuthzLifetime is how long a pending authorization (and
	// a pending order) can be completed.
	DefaultPendingAuthzLifetime = 7 * 24 * time.Hour
	// DefaultValidationBudget is how long a challenge POST waits for its
	// validation before answering "processing": most validations on a
	// working setup finish well within it, so clients see the result at
	// their first poll or earlier.
	DefaultValidationBudget = 2 * time.Second
	// acmeValidationTimeout bounds one challenge validation, detached from
	// the request that started it.
	acmeValidationTimeout = 90 * time.Second
	// acmeStaleValidation is when a validation still "processing" is taken
	// for lost (a crash) and may be started again; one started before the
	// process is lost at once (ACME.staleBefore).
	acmeStaleValidation = 2 * acmeValidationTimeout
	// acmeTokenBytes is the entropy of a challenge token: RFC 8555 §8.3
	// asks for at least 128 bits; 256 are used.
	acmeTokenBytes = 32
	// acmeRetryAfter is the Retry-After of a resource whose state is still
	// moving (RFC 8555 §8.2).
	acmeRetryAfter = time.Second
	// ARIRetryAfter is the Retry-After of a renewalInfo answer (RFC 9773
	// §4.3), shortened for short-lived certificates (ariRetryAfter).
	ARIRetryAfter = 6 * time.Hour
)

// ACMELimits are the rate limits of the ACME front door. A zero Limit is
// replaced by its default.
type ACMELimits struct {
	// NewOrdersPerAccount; default 300 per 3 hours.
	NewOrdersPerAccount ratelimit.Limit
	// FailedValidationsPerDomain, per account and domain; default 5 per hour.
	FailedValidationsPerDomain ratelimit.Limit
	// NewAccountsPerIP; default 300 per 3 hours (a private CA serves many
	// clients behind one NAT or proxy address).
	NewAccountsPerIP ratelimit.Limit
	// NewNoncesPerIP bounds the newNonce requests of one client address;
	// default 60000 per minute. A client needs one per flow at most (each
	// answer carries the next nonce): the limit keeps one address from
	// minting the millions of nonces that would push every client's
	// outstanding nonce out of the server's window.
	NewNoncesPerIP ratelimit.Limit
}

// ACMEConfig configures the ACME decisions. The zero value of each field but
// AccountURL is its documented default.
type ACMEConfig struct {
	// AccountURL returns the account URL of an ACME account id, matched
	// against CAA accounturi parameters (RFC 8657 §3). Required.
	AccountURL func(id string) string
	// AuthzReuse is how long a valid authorization serves new orders of the
	// same account. If zero, DefaultAuthzReuse; at most MaxAuthzReuse, and
	// shortened to MaxAuthzReuseAt at each moment.
	AuthzReuse time.Duration
	// PendingAuthzLifetime; if zero, DefaultPendingAuthzLifetime.
	PendingAuthzLifetime time.Duration
	// Profiles offered (directory meta.profiles). If nil, ca.DefaultProfiles().
	Profiles []ca.Profile
	// DefaultProfile is used when an order names none. If empty, the first
	// of Profiles.
	DefaultProfile string
	// TermsOfService, when set, is the URL of the terms a new account must
	// agree to (termsOfServiceAgreed).
	TermsOfService string
	// RequireEAB refuses new accounts without External Account Binding.
	RequireEAB bool
	// Limiter; if nil, an in-memory one.
	Limiter ratelimit.Limiter
	// Limits; zero fields take their defaults.
	Limits ACMELimits
	// ValidationBudget; if zero, DefaultValidationBudget. Negative means do
	// not wait at all.
	ValidationBudget time.Duration
	// AccountValidations bounds the validations of one account that run
	// at once (more wait in line); if zero, DefaultAccountValidations.
	AccountValidations int
	// OrdersPerPage is how many orders one page of an account's orders
	// list holds. If zero, 1000.
	OrdersPerPage int
}

// ACME holds the ACME (RFC 8555) decisions over the order service: account
// registration rules, authorization reuse, the challenge state machine,
// finalization, issuance and revocation. Package acme parses and renders;
// every choice is made here. It is safe for concurrent use.
type ACME struct {
	s   *Service
	st  store.Store
	cfg ACMEConfig
	// started is when this ACME began serving: a validation "processing"
	// since before it was left by an earlier process (one per data
	// directory), and is lost.
	started time.Time

	validations sync.WaitGroup
	// running holds the challenges whose validation this process runs
	// and has not recorded yet (markRunning).
	running sync.Map
	// claims holds, by authorization id, the challenge POST validating
	// the authorization in this process before anything is stored
	// (*challengeClaim): a second POST meanwhile waits for its outcome
	// instead of running a validation of its own, which no limit would
	// count (security review).
	claims sync.Map

	sweepMu  sync.Mutex
	sweeping map[string]bool // SPKI hashes being swept

	// slots bounds each account's validations at once.
	slots     accountSlots
	sweepBase context.Context // the sweeps' parent context (StartKeySweeper's)
}

// staleBefore is the start time before which a validation still
// "processing" at now is lost and may be started again: acmeStaleValidation
// ago, or this process's start, whichever is later (one process serves a
// data directory: an earlier one's validation will never be recorded).
func (a *ACME) staleBefore(now time.Time) time.Time {
	stale := now.Add(-acmeStaleValidation)
	if a.started.After(stale) {
		return a.started
	}
	return stale
}

// NewACME validates cfg and returns the ACME decisions of s.
func NewACME(s *Service, cfg ACMEConfig) (*ACME, error) {
	if s == nil || cfg.AccountURL == nil {
		return nil, errors.New("order: acme: a service and AccountURL are required")
	}
	cfg.AuthzReuse = cmp.Or(cfg.AuthzReuse, DefaultAuthzReuse)
	if cfg.AuthzReuse < 0 || cfg.AuthzReuse > MaxAuthzReuse {
		return nil, fmt.Errorf("order: acme: authorization reuse period %v is outside (0, %v] (CA/B Forum BRs §4.2.1)", cfg.AuthzReuse, MaxAuthzReuse)
	}
	cfg.PendingAuthzLifetime = cmp.Or(cfg.PendingAuthzLifetime, DefaultPendingAuthzLifetime)
	if cfg.PendingAuthzLifetime < 0 {
		return nil, errors.New("order: acme: negative pending authorization lifetime")
	}
	if cfg.Profiles == nil {
		cfg.Profiles = ca.DefaultProfiles()
	}
	if len(cfg.Profiles) == 0 {
		return nil, errors.New("order: acme: no certificate profile")
	}
	if err := ca.CheckProfiles(cfg.Profiles, s.now()); err != nil {
		return nil, fmt.Errorf("order: acme: %w", err)
	}
	cfg.OrdersPerPage = cmp.Or(cfg.OrdersPerPage, listLimit)
	if cfg.OrdersPerPage < 1 {
		return nil, fmt.Errorf("order: acme: %d orders per page", cfg.OrdersPerPage)
	}
	cfg.DefaultProfile = cmp.Or(cfg.DefaultProfile, cfg.Profiles[0].Name)
	if _, ok := profileByName(cfg.Profiles, cfg.DefaultProfile); !ok {
		return nil, fmt.Errorf("order: acme: default profile %q is not offered", cfg.DefaultProfile)
	}
	if cfg.Limiter == nil {
		cfg.Limiter = ratelimit.NewMemory()
	}
	l := &cfg.Limits
	l.NewOrdersPerAccount = defLimit(l.NewOrdersPerAccount, ratelimit.Limit{Name: "new orders per account", Count: 300, Period: 3 * time.Hour})
	l.FailedValidationsPerDomain = defLimit(l.FailedValidationsPerDomain, ratelimit.Limit{Name: "failed validations per domain per account", Count: 5, Period: time.Hour})
	l.NewAccountsPerIP = defLimit(l.NewAccountsPerIP, ratelimit.Limit{Name: "new accounts per IP address", Count: 300, Period: 3 * time.Hour})
	l.NewNoncesPerIP = defLimit(l.NewNoncesPerIP, ratelimit.Limit{Name: "new nonces per IP address", Count: 60000, Period: time.Minute})
	for _, lim := range []ratelimit.Limit{l.NewOrdersPerAccount, l.FailedValidationsPerDomain, l.NewAccountsPerIP, l.NewNoncesPerIP} {
		if err := lim.Valid(); err != nil {
			return nil, fmt.Errorf("order: acme: %w", err)
		}
	}
	if cfg.ValidationBudget == 0 {
		cfg.ValidationBudget = DefaultValidationBudget
	}
	a := &ACME{s: s, st: s.cfg.Store, cfg: cfg, started: s.now(), slots: accountSlots{max: DefaultAccountValidations, wait: accountSlotWait}}
	if cfg.AccountValidations > 0 {
		a.slots.max = cfg.AccountValidations
	}
	s.mu.Lock()
	s.acmeValidity = a.validity
	s.acmeState = a.restState
	s.acmeLate = a.lateIssuanceCheck
	s.mu.Unlock()
	return a, nil
}

// validity is the certificate validity of an ACME order's profile, for an
// issuance that the sweep finishes after a crash (the finalize request
// passes it itself).
func (a *ACME) validity(ctx context.Context, orderID string) (time.Duration, error) {
	o, err := a.st.ACMEOrderGet(ctx, orderID)
	if err != nil {
		return 0, fmt.Errorf("loading acme order %s: %w", orderID, err)
	}
	p, perr := a.orderProfile(o)
	if perr != nil {
		return 0, fmt.Errorf("%w: %w", ErrPermanent, profileWithdrawn(perr.Detail))
	}
	return p.Validity, nil
}

// restState is ACME order orderID's state as the REST view of it shows:
// its status, the problem that made it invalid ("type: detail"), and its
// authorizations' states by id (with full, each with its deciding
// challenge and that validation's findings and matrix).
func (a *ACME) restState(ctx context.Context, orderID string, full bool) (status, problem string, authz map[string]acmeDomain, err error) {
	get := a.st.ACMEOrderGet
	if full {
		get = a.st.ACMEOrderGetWithChallenges
	}
	o, err := get(ctx, orderID)
	if err != nil {
		return "", "", nil, fmt.Errorf("loading acme order %s: %w", orderID, err)
	}
	now := a.now()
	v := a.orderView(o, now)
	if v.Error != nil {
		problem = v.Error.Type + ": " + v.Error.Detail
	}
	authz = make(map[string]acmeDomain, len(o.Authzs))
	for i := range o.Authzs {
		z := &o.Authzs[i]
		d := acmeDomain{Status: authzStatus(z, now, a.validatedSince(now))}
		if full {
			a.decidingChallenge(z, &d)
		}
		authz[z.ID] = d
	}
	return v.Status, problem, authz, nil
}

// decidingChallenge gives d the challenge of z that decided it (valid or
// invalid: an authorization stops at its first failure, RFC 8555 §7.1.6),
// else the one being validated, with the findings and matrix of its
// validation's evidence.
func (a *ACME) decidingChallenge(z *store.ACMEAuthz, d *acmeDomain) {
	var c *store.ACMEChallenge
	for i := range z.Challenges {
		ch := &z.Challenges[i]
		switch ch.Status {
		case store.ACMEStatusValid, store.ACMEStatusInvalid:
			if c == nil || c.Status == store.ACMEStatusProcessing || ch.ValidatedAt.After(c.ValidatedAt) {
				c = ch
			}
		case store.ACMEStatusProcessing:
			if c == nil {
				c = ch
			}
		}
	}
	if c == nil {
		return
	}
	dc := &DomainChallenge{Type: c.Type, Status: c.Status}
	if !c.StartedAt.IsZero() {
		t := c.StartedAt
		dc.StartedAt = &t
	}
	if !c.ValidatedAt.IsZero() && c.Status != store.ACMEStatusProcessing {
		t := c.ValidatedAt
		dc.ValidatedAt = &t
	}
	d.Challenge = dc
	if c.Status == store.ACMEStatusProcessing || len(c.Evidence) == 0 {
		return
	}
	var ev validationEvidence
	if err := json.Unmarshal(c.Evidence, &ev); err != nil {
		a.s.cfg.Logger.Error("decoding acme evidence", "authz", z.ID, "type", c.Type, "err", err)
		return
	}
	d.Findings = ev.Findings
	if d.Findings == nil {
		d.Findings = []diagnose.Finding{}
	}
	d.Matrix = diagnose.Matrix(ev.Observations)
}

// profileWithdrawn is the error of an ACME order whose profile is no
// longer offered: the order is refused with invalidProfile (see
// refusedProfilePrefix).
type profileWithdrawn string

func (e profileWithdrawn) Error() string { return string(e) }

// orderProfile returns the profile order o was created with. One this CA
// no longer offers (removed from --acme-profiles since) is invalidProfile:
// signing under another profile's validity would give the client a
// certificate it did not ask for (a 90-day one for a 7-day profile).
func (a *ACME) orderProfile(o *store.ACMEOrder) (ca.Profile, *ACMEError) {
	if p, ok := profileByName(a.cfg.Profiles, o.Profile); ok || o.Profile == "" {
		return p, nil
	}
	return ca.Profile{}, acmeErr(ACMEInvalidProfile, "order %s was created with the profile %q, which this certificate authority no longer offers (see meta.profiles in the directory): create a new order", o.Order.ID, o.Profile)
}

func defLimit(l, def ratelimit.Limit) ratelimit.Limit {
	if l.Count == 0 && l.Period == 0 {
		return def
	}
	return cmpLimitName(l, def.Name)
}

func cmpLimitName(l ratelimit.Limit, name string) ratelimit.Limit {
	l.Name = cmp.Or(l.Name, name)
	return l
}

func profileByName(ps []ca.Profile, name string) (ca.Profile, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return ca.Profile{}, false
}

// Profiles returns the certificate profiles offered.
func (a *ACME) Profiles() []ca.Profile { return append([]ca.Profile(nil), a.cfg.Profiles...) }

// TermsOfService returns the terms URL new accounts must agree to, or "".
func (a *ACME) TermsOfService() string { return a.cfg.TermsOfService }

// RequireEAB reports whether new accounts need External Account Binding.
func (a *ACME) RequireEAB() bool { return a.cfg.RequireEAB }

// Wait blocks until the validations running in the background have
// finished (for an orderly shutdown, and for tests).
func (a *ACME) Wait() { a.validations.Wait() }

func (a *ACME) now() time.Time { return a.s.now() }

// ACMEError is an ACME decision's refusal, typed by the RFC 8555 §6.7 error
// type it answers with. Package acme renders it as a problem document.
type ACMEError struct {
	// Type is the error type without its "urn:ietf:params:acme:error:"
	// prefix, e.g. "badCSR", "orderNotReady", "rateLimited".
	Type string `json:"type"`
	// Detail is one sentence a person can act on.
	Detail string `json:"detail"`
	// Identifier names the identifier a subproblem is about: a DNS name,
	// unless IdentifierType says otherwise.
	Identifier string `json:"identifier,omitempty"`
	// IdentifierType is Identifier's type when it is not "dns" (an
	// unsupported one, named back to the client as it sent it).
	IdentifierType string `json:"identifierType,omitempty"`
	// Subproblems are per-identifier causes (RFC 8555 §6.7.1).
	Subproblems []*ACMEError `json:"subproblems,omitempty"`
	// Code and Fix are set for a failed validation: the diagnose finding's
	// code and fix (the "dcvCode" and "dcvFix" extension members).
	Code diagnose.Code `json:"dcvCode,omitempty"`
	Fix  string        `json:"dcvFix,omitempty"`
	// RetryAfter is set for rateLimited.
	RetryAfter time.Duration `json:"-"`
	// Status, when set, is the HTTP status to answer with instead of the
	// one of Type (a deactivated account's requests are 401, RFC 8555
	// §7.3.6, where other unauthorized ones are 403).
	Status int `json:"-"`
}

// Error returns the error as one line of text.
func (e *ACMEError) Error() string { return "acme " + e.Type + ": " + e.Detail }

// ACME error types used (RFC 8555 §6.7, RFC 9773 §7.4, the profiles draft).
const (
	ACMEMalformed               = "malformed"
	ACMEUnauthorized            = "unauthorized"
	ACMEAccountDoesNotExist     = "accountDoesNotExist"
	ACMEBadCSR                  = "badCSR"
	ACMEBadPublicKey            = "badPublicKey"
	ACMEOrderNotReady           = "orderNotReady"
	ACMERejectedIdentifier      = "rejectedIdentifier"
	ACMEUnsupportedIdentifier   = "unsupportedIdentifier"
	ACMERateLimited             = "rateLimited"
	ACMEExternalAccountRequired = "externalAccountRequired"
	ACMEInvalidContact          = "invalidContact"
	ACMEUnsupportedContact      = "unsupportedContact"
	ACMEUserActionRequired      = "userActionRequired"
	ACMEBadRevocationReason     = "badRevocationReason"
	ACMEAlreadyRevoked          = "alreadyRevoked"
	ACMEAlreadyReplaced         = "alreadyReplaced"
	ACMEInvalidProfile          = "invalidProfile"
	ACMEConflict                = "conflict" // key in use (RFC 8555 §7.3.5: 409)
	ACMENotFound                = "notFound" // no such resource (404); not an RFC type
	ACMEServerInternal          = "serverInternal"
	ACMECompound                = "compound" // several, in subproblems (RFC 8555 §6.7)
	ACMEConnection              = "connection"
	ACMEDNS                     = "dns"
	ACMECAA                     = "caa"
	ACMETLS                     = "tls"
	ACMEIncorrectResponse       = "incorrectResponse"
)

func acmeErr(typ, format string, args ...any) *ACMEError {
	return &ACMEError{Type: typ, Detail: fmt.Sprintf(format, args...)}
}

func acmeNotFound(what, id string) *ACMEError {
	return acmeErr(ACMENotFound, "%s %q was not found", what, id)
}

// randomB64 returns n random bytes in base64url without padding.
func randomB64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("order: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// spend applies a rate limit, returning a rateLimited error naming it.
// AllowNewNonce spends one newNonce request of clientIP (see
// ACMELimits.NewNoncesPerIP), or answers rateLimited.
func (a *ACME) AllowNewNonce(ctx context.Context, clientIP string) error {
	return a.spend(ctx, a.cfg.Limits.NewNoncesPerIP, clientIP, a.now())
}

func (a *ACME) spend(ctx context.Context, l ratelimit.Limit, key string, now time.Time) error {
	d, err := a.cfg.Limiter.Spend(ctx, l, key, 1, now)
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", l.Name, err)
	}
	return limited(l, d, now)
}

func limited(l ratelimit.Limit, d ratelimit.Decision, now time.Time) error {
	if d.Allowed {
		return nil
	}
	retry := retryAfter(d.RetryAfter)
	e := acmeErr(ACMERateLimited, "too many %s: at most %d per %s; retry after %s (at %s)",
		l.Name, l.Count, fmtPeriod(l.Period), retry, now.Add(retry).UTC().Format(time.RFC3339))
	e.RetryAfter = retry
	return e
}

// retryAfter is the wait a rate-limited client is told (Retry-After and
// the message): d rounded up to whole seconds, at least one. Rounded to
// the nearest second, a client that waited exactly as told could come a
// fraction of a second early and be refused again.
func retryAfter(d time.Duration) time.Duration {
	return max(time.Second, (d + time.Second - 1).Truncate(time.Second))
}

func fmtPeriod(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d%time.Hour == 0 && d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}

// baseName strips a wildcard label.
func baseName(n string) string { return strings.TrimPrefix(n, "*.") }

// limitKey is what the failed-validations limit counts an identifier
// under: a name without "*.", an IPv4 address itself, and an IPv6 address
// by its /64, which one subscriber holds whole (RFC 4291 §2.5.1: an
// interface identifier is 64 bits), so that cycling through its 2^64
// addresses does not escape the limit.
func limitKey(n string) string {
	if a, err := netip.ParseAddr(n); err == nil && a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return baseName(n)
}

// methodACME is the Method of the orders behind ACME orders.
const methodACME = "acme"
