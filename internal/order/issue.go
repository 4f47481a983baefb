package order

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// ErrPermanent wraps issuance failures that a retry cannot mend (a lint
// failure, a broken stored key). The job runner stops retrying them.
var ErrPermanent = errors.New("permanent issuance failure")

// Issue is the durable issuance step of an approved order, run by the job
// runner. It is idempotent and exactly-once: the store signs inside its
// write transaction, so a crash or a concurrent run can neither lose the
// certificate nor issue a second one. An order already issued is a no-op.
func (s *Service) Issue(ctx context.Context, orderID string) error {
	// An ACME order reaches this step only when its finalize was cut short
	// (a crash between approval and signing); it keeps its profile.
	var validity time.Duration
	s.mu.Lock()
	profile, acmeLate := s.acmeValidity, s.acmeLate
	s.mu.Unlock()
	o, err := s.cfg.Store.OrderGet(ctx, orderID)
	if err != nil {
		return fmt.Errorf("issuing order %s: %w", orderID, err)
	}
	// Asked after the order is read: a finalize marks itself before it
	// reserves the order, so an order read approved by a finalize under
	// way is seen as such.
	if s.finalizeUnderWay(orderID) {
		// Its finalize signs it: a second signature of its bytes would
		// race the finalize's own outcome (a signing failure sends the
		// order back to pending, and its client may finalize again with
		// another CSR). Retried later, as any failure that passes.
		return fmt.Errorf("issuing order %s: its finalize is under way and issues it", orderID)
	}
	if profile != nil && o.Method == methodACME {
		if validity, err = profile(ctx, orderID); err != nil {
			if errors.Is(err, ErrPermanent) && o.Status == StatusApproved {
				return s.failIssuance(ctx, o, err)
			}
			return fmt.Errorf("issuing order %s: %w", orderID, err)
		}
	}
	if o.Status == StatusApproved {
		// A key blocked since the order was made is refused before
		// anything is signed (the write that would store the certificate
		// checks again, against a block racing this one).
		if pub, err := publicKey(o); err == nil {
			if h, err := ca.SPKIHash(pub); err == nil {
				if blocked, err := s.cfg.Store.KeyBlocked(ctx, h); err != nil {
					return fmt.Errorf("issuing order %s: %w", orderID, err)
				} else if blocked {
					return s.refuseBlockedKey(ctx, o)
				}
			}
		}
	}
	switch {
	case o.Status != StatusApproved:
	case o.Method != methodACME:
		if err := s.recheckCAA(ctx, o); err != nil {
			return err
		}
	case acmeLate != nil:
		// A finalize cut short by a crash, finished now, maybe hours later:
		// its authorizations and CAA are checked again as finalize would.
		if err := acmeLate(ctx, orderID); err != nil {
			return err
		}
	}
	// Signed before the write that stores it, with no lock held; the bytes
	// signed are kept first (signOrder), so a crash in between leaves the
	// same certificate to sign again, never a second one.
	var (
		iss     *ca.Issued
		spki    []byte
		signErr error
		stored  bool // by this run: not found already issued
	)
	if o.Status == StatusApproved {
		iss, spki, signErr = s.signOrder(ctx, o, validity)
		if errors.Is(signErr, store.ErrConflict) {
			signErr = nil // issued or refused meanwhile: CertificateIssue says which
		}
	}
	if signErr == nil {
		_, err = s.cfg.Store.CertificateIssue(ctx, orderID, func(so *store.Order) (*store.Certificate, error) {
			if iss == nil {
				// Approved since it was loaded: the job runs again.
				signErr = fmt.Errorf("order %s was approved while its issuance started; it is issued at the next attempt", orderID)
				return nil, signErr
			}
			if so.CSRPEM != o.CSRPEM || !slices.Equal(domainsOf(so), domainsOf(o)) {
				// Changed while it was signed (an ACME finalize undone,
				// then sent again with another CSR): what was signed is
				// not this order's certificate. The job runs again.
				signErr = fmt.Errorf("order %s changed while its certificate was signed; it is issued at the next attempt", orderID)
				return nil, signErr
			}
			stored = true
			return &store.Certificate{
				Serial:    iss.Serial,
				OrderID:   so.ID,
				ChainPEM:  iss.ChainPEM,
				NotBefore: iss.NotBefore,
				NotAfter:  iss.NotAfter,
				CreatedAt: s.now(),
				SPKIHash:  spki,
			}, nil
		})
	} else {
		err = signErr
	}
	switch {
	case err == nil:
		if stored {
			s.cfg.Logger.Info("certificate issued", "order", orderID)
			via := "api"
			if o.Method == methodACME {
				via = methodACME // finished by the sweep after a finalize cut short
			}
			s.cfg.Metrics.CertificateIssued(via)
		}
		return nil
	case errors.Is(err, store.ErrKeyBlocked):
		return s.refuseBlockedKey(ctx, o)
	case errors.Is(err, store.ErrConflict):
		// Not approved (any more): nothing to issue.
		return fmt.Errorf("%w: %w", ErrPermanent, errNotApproved)
	case signErr != nil && errors.Is(signErr, ErrPermanent):
		return s.failIssuance(ctx, o, signErr)
	default:
		return fmt.Errorf("issuing order %s: %w", orderID, err)
	}
}

// failIssuance records a permanent issuance failure of order o and returns
// err. An API order waits, approved, for an operator; an ACME order is
// invalid, as finalize makes it, so that its client stops polling.
func (s *Service) failIssuance(ctx context.Context, o *store.Order, err error) error {
	s.cfg.Logger.Error("issuance failed", "order", o.ID, "err", err)
	via := "api"
	if o.Method == methodACME {
		via = methodACME
	}
	s.cfg.Metrics.IssuanceFailed(via)
	status := StatusApproved
	if o.Method == methodACME {
		status = StatusInvalid
	}
	text := issuanceFailedPrefix + err.Error()
	if pw := profileWithdrawn(""); errors.As(err, &pw) {
		text = refusedProfilePrefix + string(pw)
	}
	if serr := s.cfg.Store.OrderSetStatus(ctx, o.ID, status, "", text); serr != nil {
		s.cfg.Logger.Error("recording issuance failure", "order", o.ID, "err", serr)
	}
	return err
}

// PendingIssuance returns the ids of approved orders still waiting for their
// certificate, for the sweep that re-queues issuance after a crash.
func (s *Service) PendingIssuance(ctx context.Context) ([]string, error) {
	ids, err := s.cfg.Store.OrderListApprovedIDs(ctx, listLimit)
	if err != nil {
		return nil, fmt.Errorf("listing approved orders: %w", err)
	}
	// A permanent failure (an error text) waits for an operator, not for
	// a retry: the store leaves those out, before the limit.
	return ids, nil
}

// ReleaseInterruptedChecks gives back, when a process starts, the check
// slots that checks of a killed process took and never recorded (see
// store.Store.OrderReleaseUnrecordedChecks): the applicant may check again
// at once instead of waiting out the check interval without a diagnosis.
// A check cut short in a running process (its client went away) keeps its
// slot, or observing would be free by hanging up. It returns how many
// orders it changed.
func (s *Service) ReleaseInterruptedChecks(ctx context.Context) (int, error) {
	return s.cfg.Store.OrderReleaseUnrecordedChecks(ctx)
}

// RetryFailedIssuance makes the approved API orders whose issuance failed
// for good (a lint refused the certificate: the CA's configuration) wait
// for their certificate again, when a process starts: the operator who
// mended the configuration restarts dcv serve, and the issuance at start
// tries them once more (failing the same way, they wait again). It
// returns how many orders it changed.
func (s *Service) RetryFailedIssuance(ctx context.Context) (int, error) {
	return s.cfg.Store.OrderRetryFailedIssuance(ctx, issuanceFailedPrefix)
}

// issuanceFailedPrefix begins the error text of an order whose issuance
// failed for good (failIssuance).
const issuanceFailedPrefix = "issuance failed: "

// KeyRedeliveryWindow is how long after its first download the private
// key dcv generated is handed out again: a download whose answer was lost
// (a crash, a dropped connection, a file that could not be written) can be
// repeated. Then the key is erased.
const KeyRedeliveryWindow = 10 * time.Minute

// certificateNotReady says why an order has no certificate: not yet (pending,
// approved), or never (expired, invalid: order again).
func certificateNotReady(o *store.Order) string {
	switch o.Status {
	case StatusPending:
		return fmt.Sprintf("order %s has no certificate yet (status pending): every domain must be validated first; run a check", o.ID)
	case StatusApproved:
		if strings.HasPrefix(o.Error, issuanceFailedPrefix) {
			return fmt.Sprintf("order %s has no certificate: every domain is validated, but the CA could not sign its certificate, and its operator has to act (a configuration to mend, then dcv serve restarted); it is issued then", o.ID)
		}
		return fmt.Sprintf("order %s has no certificate yet (status approved): every domain is validated and the certificate is being issued; download it again in a few seconds", o.ID)
	case StatusExpired:
		return fmt.Sprintf("order %s expired without a certificate (a random value outlived its validity before its domain was validated), and will never have one: order again", o.ID)
	case StatusInvalid:
		why := ""
		if o.Error != "" {
			why = " (" + o.Error + ")"
		}
		return fmt.Sprintf("order %s was refused without a certificate%s, and will never have one: order again", o.ID, why)
	}
	return fmt.Sprintf("order %s has no certificate (status %s)", o.ID, o.Status)
}

// Certificate returns the certificate of one of the account's orders. With
// takeKey, the private key dcv generated is included: at the first download
// and for KeyRedeliveryWindow after it, then it is erased from the store.
func (s *Service) Certificate(ctx context.Context, acct *store.Account, id string, takeKey bool) (*CertificateView, error) {
	o, err := s.load(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.CertificateGetByOrder(ctx, o.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: KindConflict, Code: "CERTIFICATE_NOT_READY", Message: certificateNotReady(o)}
	}
	if err != nil {
		return nil, fmt.Errorf("loading certificate: %w", err)
	}
	v := &CertificateView{Order: o.ID, Serial: c.Serial, NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), Certificate: c.ChainPEM, HasCSR: o.CSRPEM != ""}
	switch rv, err := s.cfg.Store.RevocationGet(ctx, c.Serial); {
	case err == nil:
		at := rv.RevokedAt.UTC()
		v.RevokedAt, v.RevocationReason = &at, reasonName(rv.Reason)
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("loading the certificate's revocation: %w", err)
	}
	if takeKey && o.CSRPEM == "" {
		k, err := s.cfg.Store.OrderTakeKey(ctx, o.ID, s.now(), KeyRedeliveryWindow)
		switch {
		case err == nil:
			v.PrivateKey = k
		case errors.Is(err, store.ErrNotFound):
			v.PrivateKeyErased = true // generated (no CSR), then erased
		default:
			return nil, fmt.Errorf("taking key: %w", err)
		}
	}
	return v, nil
}

// reasonName is the RFC 5280 §5.3.1 name of CRLReason code.
func reasonName(code int) string {
	names := map[int]string{0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged", 4: "superseded",
		5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL", 9: "privilegeWithdrawn", 10: "aACompromise"}
	if n, ok := names[code]; ok {
		return n
	}
	return fmt.Sprintf("reason %d", code)
}

// EraseDeliveredKeys erases, for the periodic sweep, the generated keys
// whose redelivery window has passed (a key downloaded once is not kept
// until someone asks for it again), and those no one will download: of
// orders expired or refused, and of certificates expired unfetched.
func (s *Service) EraseDeliveredKeys(ctx context.Context) (int, error) {
	now := s.now()
	return s.cfg.Store.OrderEraseKeys(ctx, now.Add(-KeyRedeliveryWindow), now)
}

// recheckCAA looks CAA up again, from every perspective, for each domain
// of the approved order o last observed more than CAARecheckAfter ago: an
// issuance that comes long after approval (retries, an operator clearing a
// failure) must still rest on a CAA check within the 8 hours of CA/B Forum
// BRs §3.2.2.8. A refusal sends the order back to pending, saying why and
// to run a check (which rechecks CAA and approves it again), and is
// permanent for this job.
func (s *Service) recheckCAA(ctx context.Context, o *store.Order) error {
	ctx = perspective.WithTenant(ctx, tenantAPI+o.AccountID)
	now := s.now()
	for _, a := range o.Authorizations {
		if a.Status != StatusApproved || now.Sub(a.LastCheckAt) <= CAARecheckAfter || ident.IsIP(a.Domain) {
			continue // an IP address has no CAA records
		}
		obs, err := s.cfg.Observer.Observe(ctx, validation.Request{Domain: a.Domain, Method: validation.Method(a.Method), Value: a.Value, CAAOnly: true})
		if err != nil {
			s.cfg.Logger.Error("caa recheck failed", "order", o.ID, "domain", a.Domain, "err", err)
			obs = nil // diagnose fails closed
		}
		r := diagnose.Domain(obs, now)
		if err := s.recordCAARecheck(ctx, o.ID, a.Domain, obs, r, now); err != nil {
			return fmt.Errorf("issuing order %s: %w", o.ID, err)
		}
		if r.Status == diagnose.StatusApproved {
			continue
		}
		why := "CAA could not be looked up again"
		caSide := true
		for _, f := range r.Findings {
			if !f.Blocking() {
				continue
			}
			if why == "CAA could not be looked up again" {
				why = f.Message
			}
			if !diagnose.CASide(f.Code) {
				caSide = false
			}
		}
		if caSide {
			// The CA's own failure (a perspective or dcv's resolver
			// unavailable): nothing for the applicant to do. Nothing is
			// signed; the job is retried, and the order stays approved.
			return fmt.Errorf("issuing order %s: the CAA recheck of %s failed on the CA's side: %s", o.ID, a.Domain, why)
		}
		msg := fmt.Sprintf("issuance waited: %s was validated more than %s before, and CAA, looked up again, does not allow issuance: %s Run a check once fixed.", a.Domain, CAARecheckAfter, why)
		if err := s.cfg.Store.OrderSetStatus(ctx, o.ID, StatusPending, "", msg); err != nil {
			return fmt.Errorf("issuing order %s: %w", o.ID, err)
		}
		// Pending again: dcv checks it on its own, as any pending order.
		if err := s.cfg.Store.OrderSetRecheck(ctx, o.ID, s.recheckAfter(o, now, nil)); err != nil {
			s.cfg.Logger.Error("planning the check of an order sent back to pending", "order", o.ID, "err", err)
		}
		s.cfg.Logger.Warn("issuance refused by the caa recheck", "order", o.ID, "domain", a.Domain)
		return fmt.Errorf("%w: %s", ErrPermanent, msg)
	}
	return nil
}

// caaEvidenceTimeout bounds the write of a CAA recheck's evidence.
const caaEvidenceTimeout = 10 * time.Second

// recordCAARecheck keeps a CAA recheck of domain for order orderID, its
// observations and their diagnosis, as the evidence the issuance or its
// refusal rests on (CA/B Forum BRs §3.2.2.8, §5.4.1). An issuance waits
// while its recheck cannot be kept.
func (s *Service) recordCAARecheck(ctx context.Context, orderID, domain string, obs []validation.Observation, r diagnose.Result, now time.Time) error {
	ev := validationEvidence{Observations: obs, Findings: r.Findings, Status: r.Status}
	if ev.Findings == nil {
		ev.Findings = []diagnose.Finding{}
	}
	evidence, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding the CAA recheck of %s: %w", domain, err)
	}
	rc := store.CAARecheck{ID: newID("caa_", now), OrderID: orderID, Domain: domain, CheckedAt: now, Allowed: r.Status == diagnose.StatusApproved, Evidence: evidence}
	// Kept even when the lookups used up the caller's time, or its client
	// went away: a refusal keeps its evidence, and its diagnosis reaches
	// the client instead of a timeout.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), caaEvidenceTimeout)
	defer cancel()
	if err := s.cfg.Store.CAARecheckRecord(wctx, rc); err != nil {
		return fmt.Errorf("keeping the CAA recheck of %s as evidence: %w", domain, err)
	}
	return nil
}

// domainsOf returns the DNS names of order o, in its order.
func domainsOf(o *store.Order) []string {
	names := make([]string, 0, len(o.Authorizations))
	for _, a := range o.Authorizations {
		names = append(names, a.Domain)
	}
	return names
}

// issueRequest is the leaf order o asks for: its DNS names as dNSNames
// and its IP address identifiers (RFC 8738) as iPAddresses, each in the
// order's order; a leaf naming an address is valid at most
// Config.IPMaxValidity.
func (s *Service) issueRequest(o *store.Order, pub crypto.PublicKey, validity time.Duration) ca.IssueRequest {
	req := ca.IssueRequest{PublicKey: pub, Validity: validity}
	for _, a := range o.Authorizations {
		if ip, err := netip.ParseAddr(a.Domain); err == nil {
			req.IPAddresses = append(req.IPAddresses, ip)
			continue
		}
		req.DNSNames = append(req.DNSNames, a.Domain)
	}
	if len(req.IPAddresses) > 0 {
		req.MaxValidity = s.cfg.IPMaxValidity
	}
	return req
}

// leafIdentifiers are the identifiers a certificate names: its dNSNames,
// lowercased, then its IP addresses in text form.
func leafIdentifiers(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	for _, n := range c.DNSNames {
		out = append(out, strings.ToLower(n))
	}
	for _, a := range ca.LeafIPs(c) {
		out = append(out, a.String())
	}
	return out
}

// signOrder signs the certificate of approved order o. The leaf is built
// and linted (a lint failure is ErrPermanent), its to-be-signed bytes are
// kept in the store, then signed. When the store kept other bytes before
// (a signing cut short by a crash), those are signed instead, after the
// issuer checked them against the order: since signing is deterministic,
// the certificate is then the one that may have been signed before the
// crash, with the same serial, and not a second one. Bytes the CA can no
// longer sign (another intermediate, a notBefore too old) are dropped,
// with an error in the log naming their serial, and the new leaf is signed.
// An order issued or no longer approved meanwhile is store.ErrConflict.
func (s *Service) signOrder(ctx context.Context, o *store.Order, validity time.Duration) (*ca.Issued, []byte, error) {
	pub, err := publicKey(o)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	spki, err := ca.SPKIHash(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	req := s.issueRequest(o, pub, validity)
	prep, err := s.cfg.Issuer.Prepare(req)
	if err != nil {
		return nil, nil, permanentIfLint(err)
	}
	for dropped := false; ; dropped = true {
		kept, err := s.cfg.Store.OrderSigningTBSPut(ctx, o.ID, prep.TBS)
		if err != nil {
			return nil, nil, err
		}
		p := prep
		if !bytes.Equal(kept, prep.TBS) {
			p = &ca.Prepared{TBS: kept}
		}
		iss, err := s.cfg.Issuer.Sign(p, req)
		if errors.Is(err, ca.ErrStalePrepared) && !dropped {
			s.cfg.Logger.Error("a certificate that may have been signed before a restart cannot be signed again; a new one is signed", "order", o.ID, "err", err)
			if err := s.cfg.Store.OrderSigningTBSDrop(ctx, o.ID, kept); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err != nil {
			return nil, nil, permanentIfLint(err)
		}
		s.logSigned(o.ID, domainsOf(o), iss)
		return iss, spki, nil
	}
}

// permanentIfLint marks a lint failure, which no retry mends, ErrPermanent.
func permanentIfLint(err error) error {
	var le *ca.LintError
	if errors.As(err, &le) {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return err
}

// logSigned records, before the certificate is stored, that it was signed:
// a crash between the two leaves this line as the record of a certificate
// that no one received (the order is issued again after the restart).
func (s *Service) logSigned(orderID string, names []string, iss *ca.Issued) {
	s.cfg.Logger.Info("certificate signed", "order", orderID, "serial", iss.Serial, "names", names, "not_after", iss.NotAfter)
}

// refuseBlockedKey makes an order whose CSR key was shown compromised after
// the order was made invalid, saying why: it is certified no more.
func (s *Service) refuseBlockedKey(ctx context.Context, o *store.Order) error {
	s.cfg.Logger.Warn("issuance refused: the key is blocked as compromised", "order", o.ID)
	again := ", then order again with its CSR"
	if o.Method == methodACME {
		again = ", then a new order with a CSR of the new key"
	}
	if serr := s.cfg.Store.OrderSetStatus(ctx, o.ID, StatusInvalid, StatusInvalid, refusedKeyPrefix+compromisedKeyMessage+again); serr != nil {
		s.cfg.Logger.Error("recording issuance refusal", "order", o.ID, "err", serr)
	}
	return fmt.Errorf("%w: %w", ErrPermanent, store.ErrKeyBlocked)
}
