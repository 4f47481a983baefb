package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// Check runs "View Domain Validation Status": it observes every domain of
// the order that is still pending, from every perspective, diagnoses each,
// stores the check with its evidence, and moves the order on. An order is
// checked at most once per CheckInterval: an early call returns a
// KindThrottled *Error carrying the CHECK_TOO_FREQUENT finding. An
// account that is not an admin gets the applicant's view of the result
// (CheckResult.Redact); the stored check keeps everything.
func (s *Service) Check(ctx context.Context, acct *store.Account, id string) (*CheckResult, error) {
	res, err := s.check(ctx, acct, id)
	if err == nil && !acct.Admin {
		res.Redact()
		s.hideOwnResolvers(res)
	}
	return res, err
}

func (s *Service) check(ctx context.Context, acct *store.Account, id string) (*CheckResult, error) {
	o, err := s.load(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	return s.checkOrder(ctx, o)
}

// Recheck is dcv's own check of a pending order, planned by its last
// check (CheckResult.RecheckAt) or its creation, and run by the job
// runner: the same check as the applicant's, recorded the same way, which
// issues the order once it passes. A check the applicant ran meanwhile
// holds the throttle: the next is then planned for when it lets go. An
// order no longer pending (or an ACME one, which its client drives) is
// planned no more.
func (s *Service) Recheck(ctx context.Context, id string) error {
	o, err := s.cfg.Store.OrderGet(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			// Not at every run: a little later (an order past RecheckFor
			// is then planned no more).
			err = errors.Join(err, s.planRecheck(ctx, id, s.now().Add(recheckFirstHour)))
		}
		return fmt.Errorf("rechecking order %s: %w", id, err)
	}
	now := s.now()
	if o.Status != StatusPending || o.Method == methodACME || now.Sub(o.CreatedAt) > RecheckFor {
		return s.planRecheck(ctx, id, time.Time{})
	}
	res, err := s.checkOrder(ctx, o)
	if err == nil {
		s.cfg.Logger.Info("dcv checked an order on its own", "order", id, "status", res.Status)
		return nil
	}
	// Not tried again at every run, nor past RecheckFor: at the time the
	// schedule gives, and not before the throttle lets go.
	at := s.recheckAfter(o, now, nil)
	var oe *Error
	switch {
	case errors.As(err, &oe) && oe.Kind == KindThrottled:
		// Another check holds the slot: it plans the next one when it
		// is recorded, or has done so already. The plan is moved only
		// if it is still due, to when the slot is free again.
		if !at.IsZero() && at.Before(oe.RetryAt) {
			at = oe.RetryAt
		}
		return s.planRecheckIfDue(ctx, id, now, at)
	case errors.As(err, &oe) && oe.Kind == KindConflict:
		return nil // a later check was recorded, with its plan
	}
	if perr := s.planRecheck(ctx, id, at); perr != nil {
		err = errors.Join(err, perr)
	}
	return fmt.Errorf("rechecking order %s: %w", id, err)
}

// planRecheck stores the plan of dcv's own next check of an order, even
// when ctx has ended (a check cut short by its deadline must not leave its
// order due at once).
func (s *Service) planRecheck(ctx context.Context, id string, at time.Time) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), planTimeout)
	defer cancel()
	return s.cfg.Store.OrderSetRecheck(wctx, id, at)
}

// planRecheckIfDue is planRecheck for an order whose plan is still due at
// now; one planned later meanwhile keeps its plan.
func (s *Service) planRecheckIfDue(ctx context.Context, id string, now, at time.Time) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), planTimeout)
	defer cancel()
	return s.cfg.Store.OrderSetRecheckIfDue(wctx, id, now, at)
}

// planTimeout bounds the writes that keep a check's outcome and plan once
// its observations are done.
const planTimeout = 10 * time.Second

// RecheckDue returns the pending orders whose own check has come due, the
// longest waiting first, at most limit: the job runner's work.
func (s *Service) RecheckDue(ctx context.Context, limit int) ([]string, error) {
	ids, err := s.cfg.Store.OrderListRecheckDue(ctx, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("listing the orders to check: %w", err)
	}
	return ids, nil
}

// Bounds of dcv's own checks of a pending order (see recheckAfter).
const (
	recheckFirstHour = 5 * time.Minute
	recheckFirstDay  = 30 * time.Minute
	recheckLater     = 2 * time.Hour
	recheckLeast     = time.Minute
	// RecheckFor is how long after its creation dcv checks an order on its
	// own: about 80 checks. An order left pending longer (abandoned, or
	// for a name its applicant does not control) is checked only when its
	// applicant asks, so that no one makes dcv query a server for a month.
	RecheckFor = 72 * time.Hour
)

// recheckAfter is when dcv checks a pending order again on its own after
// a check at now that left it pending with findings (none for a new
// order): at the earliest time they predict it passes (a record's
// propagation, a cache's expiry), or else after a wait that grows with the
// order's age (5 minutes in its first hour, 30 in its first day, 2 hours
// after; a prediction brings it forward to half that at most), never
// before the throttle lets go, nor after the order's values expire (that
// check says so). Zero, none, once the order is RecheckFor old.
func (s *Service) recheckAfter(o *store.Order, now time.Time, findings []diagnose.Finding) time.Time {
	wait := recheckLater
	switch age := now.Sub(o.CreatedAt); {
	case age < time.Hour:
		wait = recheckFirstHour
	case age < 24*time.Hour:
		wait = recheckFirstDay
	}
	// A predicted pass brings the check forward, to half the wait at
	// most: a prediction that keeps moving (a nameserver that never
	// catches up) does not multiply the checks.
	least := wait / 2
	for _, f := range findings {
		if f.ETA != nil && f.ETA.After(now) && f.ETA.Sub(now) < wait {
			wait = max(f.ETA.Sub(now), least)
		}
	}
	at := now.Add(max(wait, s.cfg.CheckInterval, recheckLeast))
	if at.Sub(o.CreatedAt) > RecheckFor {
		return time.Time{}
	}
	if !o.ExpiresAt.IsZero() && !at.Before(o.ExpiresAt) {
		// No check then can find the values valid: none is promised (the
		// order is shown expired once its values are).
		return time.Time{}
	}
	return at
}

// pendingExpiry is when the first value of o's pending domains expires;
// zero when none is pending.
func pendingExpiry(o *store.Order) time.Time {
	var first time.Time
	for _, a := range o.Authorizations {
		if a.Status == StatusPending && (first.IsZero() || a.ExpiresAt.Before(first)) {
			first = a.ExpiresAt
		}
	}
	return first
}

// caSideRetry is how soon an order blocked only by the certificate
// authority's own failure (caSideOnly) may be checked again.
const caSideRetry = time.Minute

// caSideOnly reports whether every blocking finding of the pending domains
// is the certificate authority's own failure (its resolver, its
// perspectives, an observation it could not make), and there is one.
func caSideOnly(ds []DomainCheck) bool {
	found := false
	for _, d := range ds {
		if d.Status != StatusPending {
			continue
		}
		ca, applicant := diagnose.BlockingSides(d.Findings)
		if applicant {
			return false
		}
		found = found || ca
	}
	return found
}

// checkOrder checks the pending domains of o: the check of Check and of
// Recheck.
func (s *Service) checkOrder(ctx context.Context, o *store.Order) (*CheckResult, error) {
	// The account's observations take their turn with other accounts'
	// when more wait than may run at once.
	ctx = perspective.WithTenant(ctx, tenantAPI+o.AccountID)
	now := s.now()
	if o.Status != StatusPending {
		// Nothing left to observe: report the state without spending the
		// throttle or storing an empty check.
		return s.stateResult(o, now), nil
	}
	ok, retryAt, err := s.cfg.Store.OrderReserveCheck(ctx, o.ID, now, now.Add(s.cfg.CheckInterval))
	if err != nil {
		return nil, fmt.Errorf("reserving the check: %w", err)
	}
	if !ok {
		if exp := pendingExpiry(o); !exp.IsZero() && !now.Before(exp) {
			// The value expired since the last check: that is the answer
			// (what the order shows), not the throttle; the next check
			// records it.
			return s.stateResult(o, now), nil
		}
		f := diagnose.CheckTooFrequent(retryAt, pendingExpiry(o), now)
		if started, running := s.checking.Load(o.ID); running {
			// Not finished yet: a retry at the time said would start a
			// second check, which the first then supersedes (console run).
			f.Message += fmt.Sprintf(" A check of this order started at %s is still running: its answer carries the result, also shown by the order once it ends.",
				started.(time.Time).UTC().Format(time.RFC3339))
		}
		return nil, &Error{Kind: KindThrottled, Code: string(diagnose.CodeCheckTooFrequent), Message: f.Message, RetryAt: retryAt, RetryAfter: retryAt.Sub(now), Finding: &f}
	}
	s.checking.Store(o.ID, now)
	defer s.checking.CompareAndDelete(o.ID, now)

	// Values of the account's other orders, pending ones first, then
	// issued ones (a renewal's file or record left with the value of the
	// order it renews): a record or file holding one of them is a near
	// miss worth naming.
	var others []string
	for _, st := range []string{StatusPending, StatusIssued} {
		if len(others) >= validation.MaxOtherValues {
			break
		}
		vs, err := s.cfg.Store.AuthorizationValuesByAccount(ctx, o.AccountID, st, o.ID, validation.MaxOtherValues-len(others))
		if err != nil {
			return nil, fmt.Errorf("listing the account's other values: %w", err)
		}
		others = append(others, vs...)
	}
	res := &CheckResult{Order: o.ID, CheckID: newID("chk_", now), CheckedAt: now, Domains: make([]DomainCheck, len(o.Authorizations))}
	next := now.Add(s.cfg.CheckInterval)
	res.NextCheck = &next
	updates := make([]store.Authorization, len(o.Authorizations))
	// observed marks the domains this check observed (or found expired):
	// they get its time and findings. An approved domain keeps the time it
	// was observed, which says how old its CAA check is.
	observed := make([]bool, len(o.Authorizations))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelObservations)
	for i, a := range o.Authorizations {
		updates[i] = a
		res.Domains[i] = DomainCheck{Domain: a.Domain, Type: ident.IdentifierType(a.Domain), Unicode: ident.Unicode(a.Domain), Status: a.Status, Findings: []diagnose.Finding{}, Matrix: []diagnose.PerspectiveRow{}, Evidence: []json.RawMessage{}}
		if a.Status != StatusPending {
			continue
		}
		observed[i] = true
		if !now.Before(a.ExpiresAt) {
			updates[i].Status = StatusExpired
			res.Domains[i].Status = StatusExpired
			res.Domains[i].Findings = []diagnose.Finding{diagnose.ValueExpired(a.ExpiresAt)}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			req := validation.Request{Domain: a.Domain, Method: validation.Method(a.Method), Value: a.Value, OtherValues: others, OrderValues: orderValues(o, a)}
			// The previous check's findings: a cause it predicted to pass
			// by now is not predicted again.
			var prev []diagnose.Finding
			if len(a.Findings) > 0 {
				_ = json.Unmarshal(a.Findings, &prev) // unreadable: none
			}
			res.Domains[i] = s.checkDomain(ctx, req, now, prev)
			updates[i].Status = res.Domains[i].Status
		}()
	}
	wg.Wait()

	if orderStatus(updates) == StatusApproved {
		// The order is about to be issued. A domain approved by an
		// earlier check (while others were pending) has its CAA records
		// looked up again, from every perspective: a record published
		// since that forbids issuance sends it back to pending, with the
		// diagnosis. The BRs (§3.2.2.8) allow a CAA check up to 8 hours
		// old, but the applicant's own check, and a pre-flight check,
		// would show the record forbidding issuance: what this check
		// says and what dcv issues come from the same observations.
		for i, a := range o.Authorizations {
			if a.Status != StatusApproved || ident.IsIP(a.Domain) {
				continue // an IP address has no CAA records to look up again
			}
			observed[i] = true
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				req := validation.Request{Domain: a.Domain, Method: validation.Method(a.Method), Value: a.Value, CAAOnly: true}
				res.Domains[i] = s.checkDomain(ctx, req, now, nil)
				updates[i].Status = res.Domains[i].Status
			})
		}
		wg.Wait()
	}

	res.Status = orderStatus(updates)
	if res.Status == StatusPending && caSideOnly(res.Domains) {
		// Blocked by the CA's own failure alone (its resolver, its
		// perspectives): the applicant did nothing wrong and may check
		// again soon, not after the whole interval.
		if soon := now.Add(min(caSideRetry, s.cfg.CheckInterval)); soon.Before(next) {
			next = soon
			res.NextCheck = &next
		}
	}
	// An ETA is when a retry may pass: not before the next check allowed.
	for i := range res.Domains {
		for j, f := range res.Domains[i].Findings {
			if f.ETA != nil && f.ETA.Before(next) {
				res.Domains[i].Findings[j].ETA = &next
			}
		}
	}
	for i := range updates {
		if res.Status == StatusApproved && res.Domains[i].Status == StatusApproved {
			res.Domains[i].Findings = append(res.Domains[i].Findings, diagnose.ApprovedPendingIssuance())
			diagnose.Sort(res.Domains[i].Findings)
		} else if !observed[i] {
			continue // not observed: its findings and time stay
		}
		b, err := json.Marshal(res.Domains[i].Findings)
		if err != nil {
			return nil, fmt.Errorf("encoding findings: %w", err)
		}
		updates[i].Findings = b
		if observed[i] {
			updates[i].LastCheckAt = now
		}
	}
	for i, a := range o.Authorizations {
		if res.Status == StatusPending && res.Domains[i].Status == StatusPending && a.ExpiresAt.Before(next) {
			// No check may run again while the value is good: say so
			// now, not at a check that can only find it expired.
			res.Domains[i].Findings = diagnose.WithValueExpiring(res.Domains[i].Findings, a.ExpiresAt, next, now)
			b, err := json.Marshal(res.Domains[i].Findings)
			if err != nil {
				return nil, fmt.Errorf("encoding findings: %w", err)
			}
			updates[i].Findings = b
		}
	}
	var recheck time.Time
	if res.Status == StatusPending {
		var fs []diagnose.Finding
		for _, d := range res.Domains {
			if d.Status == StatusPending {
				fs = append(fs, d.Findings...)
			}
		}
		recheck = s.recheckAfter(o, now, fs)
		res.RecheckAt = timePtr(recheck)
	}
	body, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encoding check: %w", err)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// Cancelled, not timed out: the server stops, or the applicant
		// went away. The observations were cut short by dcv, not by the
		// domain, and their findings would blame the domain for it: none
		// is recorded (Recheck plans dcv's next check). The slot stays
		// taken, or a client could observe without limit by hanging up.
		return nil, fmt.Errorf("check of order %s cancelled: nothing recorded: %w", o.ID, ctx.Err())
	}
	// Recorded even when the caller's time ran out while observing: the
	// check took the throttle's slot, and its evidence is kept. Not when
	// a later check took the slot meanwhile (this one outlasted the check
	// interval) or the order was issued: what they found stands.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), planTimeout)
	defer cancel()
	err = s.cfg.Store.CheckRecord(rctx, store.CheckRecordParams{
		Check:          store.Check{ID: res.CheckID, OrderID: o.ID, CheckedAt: now, Result: body},
		Authorizations: updates,
		OrderStatus:    res.Status,
		RecheckAt:      recheck,
		ReservedAt:     now,
		NextCheckAt:    next,
	})
	if errors.Is(err, store.ErrConflict) {
		if cur, gerr := s.cfg.Store.OrderGet(rctx, o.ID); gerr == nil && canceled(cur) {
			// Canceled while it ran, not superseded (console run).
			return nil, &Error{Kind: KindConflict, Code: "ORDER_NOT_PENDING",
				Message: fmt.Sprintf("order %s was %s, while this check ran: nothing was recorded", o.ID, cur.Error)}
		}
		return nil, &Error{Kind: KindConflict, Code: "CHECK_SUPERSEDED",
			Message: fmt.Sprintf("this check of order %s took longer than the check interval, and a later check, or the order's issuance, came first: its result stands (show the order)", o.ID)}
	}
	if err != nil {
		return nil, fmt.Errorf("recording check: %w", err)
	}
	if res.Status == StatusPending && caSideOnly(res.Domains) {
		s.logCASide(o.ID, res.Domains)
	}
	s.countCheck(o, res.Domains, observed)
	if res.Status == StatusApproved {
		s.schedule(ctx, o.ID)
	}
	return res, nil
}

// countCheck counts, in the metrics, each domain of order o this check
// observed, with its status and blocking findings, and a domain blocked
// only by the CA's own failure as such.
func (s *Service) countCheck(o *store.Order, ds []DomainCheck, observed []bool) {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	for i, d := range ds {
		if i < len(observed) && !observed[i] {
			continue
		}
		var blocking []string
		for _, f := range d.Findings {
			if f.Blocking() {
				blocking = append(blocking, string(f.Code))
			}
		}
		method := o.Method
		if i < len(o.Authorizations) && o.Authorizations[i].Method != "" {
			method = o.Authorizations[i].Method
		}
		m.DomainChecked(method, d.Status, blocking)
		if f, ok := caSideFinding(d.Findings); ok && d.Status == StatusPending && !slices.ContainsFunc(d.Findings, func(f diagnose.Finding) bool { return f.Blocking() && !diagnose.CASide(f.Code) }) {
			m.CASide(string(f.Code))
		}
	}
}

// logCASide logs, at WARN, a recorded check of order orderID blocked only
// by the certificate authority's own failure (caSideOnly): the applicant is
// told to check again later or to contact the operator, who is told here
// what failed (the first such finding, unredacted: the message names dcv's
// own resolvers and perspectives). An applicant's failures are not the
// operator's to act on, and are not logged.
func (s *Service) logCASide(orderID string, ds []DomainCheck) {
	n := 0
	var domain string
	var first diagnose.Finding
	for _, d := range ds {
		if d.Status != StatusPending {
			continue
		}
		if f, ok := caSideFinding(d.Findings); ok {
			if n == 0 {
				domain, first = d.Domain, f
			}
			n++
		}
	}
	if n == 0 {
		return
	}
	s.cfg.Logger.Warn("check blocked by the CA's own failure: the applicant is told to contact the operator",
		"order", orderID, "domain", domain, "code", first.Code, "message", first.Message, "domains_blocked", n)
}

// caSideFinding returns the first blocking finding of fs that is the
// certificate authority's own failure (diagnose.CASide).
func caSideFinding(fs []diagnose.Finding) (diagnose.Finding, bool) {
	for _, f := range fs {
		if f.Blocking() && diagnose.CASide(f.Code) {
			return f, true
		}
	}
	return diagnose.Finding{}, false
}

// checkDomain observes and diagnoses one domain. A domain is approved
// exactly when diagnose finds no blocking finding.
func (s *Service) checkDomain(ctx context.Context, req validation.Request, now time.Time, prev []diagnose.Finding) DomainCheck {
	dc := DomainCheck{Domain: req.Domain, Type: ident.IdentifierType(req.Domain), Unicode: ident.Unicode(req.Domain), Status: StatusPending, Evidence: []json.RawMessage{}}
	obs, err := s.cfg.Observer.Observe(ctx, req)
	if err != nil {
		// diagnose fails closed on no observation: the domain stays pending
		// with a finding that names the operator's problem.
		s.cfg.Logger.Error("observation failed", "domain", req.Domain, "err", err)
		obs = nil
	}
	for _, ob := range obs {
		b, err := json.Marshal(ob)
		if err != nil {
			s.cfg.Logger.Error("encoding observation", "domain", req.Domain, "err", err)
			continue
		}
		dc.Evidence = append(dc.Evidence, b)
	}
	dc.Matrix = diagnose.Matrix(obs)
	r := diagnose.Domain(obs, now, diagnose.WithPrevious(prev))
	dc.Findings = r.Findings
	if dc.Findings == nil {
		dc.Findings = []diagnose.Finding{}
	}
	if r.Status == diagnose.StatusApproved {
		dc.Status = StatusApproved
	}
	return dc
}

// orderStatus derives the order's status from its domains': any expired
// domain expires the order (its certificate can no longer be issued as
// ordered); all approved approves it.
func orderStatus(as []store.Authorization) string {
	approved := 0
	for _, a := range as {
		switch a.Status {
		case StatusExpired:
			return StatusExpired
		case StatusInvalid:
			return StatusInvalid
		case StatusApproved, StatusIssued:
			approved++
		}
	}
	if approved == len(as) {
		return StatusApproved
	}
	return StatusPending
}

// stateResult reports an order that needs no observation.
func (s *Service) stateResult(o *store.Order, now time.Time) *CheckResult {
	v := s.view(o)
	// The view's status: the stored one, or expired once a pending
	// value is.
	res := &CheckResult{Order: o.ID, CheckedAt: now, Status: v.Status}
	var issued []diagnose.Finding
	if o.Status == StatusIssued {
		serial, rv := s.certificateOf(o.ID)
		issued = issuedFindings(serial, rv)
		if rv != nil {
			at := rv.RevokedAt.UTC()
			res.RevokedAt, res.RevocationReason = &at, reasonName(rv.Reason)
		}
	}
	for _, d := range v.Domains {
		fs := d.Findings
		switch o.Status {
		case StatusIssued:
			fs = slices.Clone(issued)
		case StatusApproved:
			if strings.HasPrefix(o.Error, issuanceFailedPrefix) {
				fs = []diagnose.Finding{diagnose.IssuanceFailed(issuanceFailedReason)}
			}
		case StatusInvalid:
			if canceled(o) {
				// Not the findings of before, as if still to follow
				// (console run).
				fs = []diagnose.Finding{diagnose.OrderCanceled(o.Error)}
			}
		}
		res.Domains = append(res.Domains, DomainCheck{Domain: d.Domain, Type: d.Type, Unicode: d.Unicode, Status: d.Status, Findings: fs, Matrix: []diagnose.PerspectiveRow{}, Evidence: []json.RawMessage{}})
	}
	return res
}

// issuedFindings are the findings of a domain of issued order orderID:
// CERTIFICATE_ISSUED, and CERTIFICATE_REVOKED once its certificate was
// revoked.
func (s *Service) issuedFindings(orderID string) []diagnose.Finding {
	return issuedFindings(s.certificateOf(orderID))
}

// certificateOf returns the serial of order orderID's certificate ("" when
// none is readable) and its revocation (nil when it is not revoked, or
// none is readable).
func (s *Service) certificateOf(orderID string) (serial string, rv *store.Revocation) {
	serial = s.serialOf(orderID)
	return serial, s.revocationOf(serial)
}

// issuedFindings are the findings of a domain whose certificate serial was
// issued: CERTIFICATE_ISSUED, and CERTIFICATE_REVOKED when rv is set.
func issuedFindings(serial string, rv *store.Revocation) []diagnose.Finding {
	fs := []diagnose.Finding{diagnose.Issued(serial)}
	if rv != nil {
		fs = append(fs, diagnose.Revoked(serial, rv.RevokedAt, reasonName(rv.Reason)))
		diagnose.Sort(fs)
	}
	return fs
}

// revocationOf returns the revocation of the certificate serial, or nil
// (none, or none readable: the view is not refused for it).
func (s *Service) revocationOf(serial string) *store.Revocation {
	if serial == "" {
		return nil
	}
	rv, err := s.cfg.Store.RevocationGet(context.Background(), serial)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.cfg.Logger.Error("reading a certificate's revocation", "serial", serial, "err", err)
		}
		return nil
	}
	return rv
}

func (s *Service) serialOf(orderID string) string {
	c, err := s.cfg.Store.CertificateGetByOrder(context.Background(), orderID)
	if err != nil {
		return ""
	}
	return c.Serial
}

func (s *Service) schedule(ctx context.Context, orderID string) {
	s.mu.Lock()
	sch := s.scheduler
	s.mu.Unlock()
	if sch == nil {
		return
	}
	// A failure here loses nothing: the approved order stays in the store
	// and the issuance sweep queues it again.
	if err := sch.ScheduleIssue(ctx, orderID); err != nil {
		s.cfg.Logger.Error("scheduling issuance; the sweep will retry", "order", orderID, "err", err)
	}
}

var errNotApproved = errors.New("order is not approved")

// issuanceFailedReason is what the applicant is told of a permanent
// issuance failure; the detail (a lint name, a key error) is for the
// operator, in the order's error and the logs.
const issuanceFailedReason = "the CA could not sign the certificate; its operator has to act"

// orderValues returns the values of o's other dns-method domains than a,
// for the diagnosis of a record holding one of them at a's host.
func orderValues(o *store.Order, a store.Authorization) []validation.DomainValue {
	if a.Method != string(validation.MethodDNS) {
		return nil
	}
	var out []validation.DomainValue
	for _, b := range o.Authorizations {
		if b.Method == a.Method && b.Domain != a.Domain && b.Value != a.Value {
			out = append(out, validation.DomainValue{Domain: b.Domain, Value: b.Value})
		}
	}
	return out
}
