package order

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/store"
)

// RevokeRequest asks for the certificate of an order to be revoked.
type RevokeRequest struct {
	// Reason is the RFC 5280 §5.3.1 reason, by name (keyCompromise) or
	// code (1, in JSON a number or a string); empty is unspecified.
	Reason RevocationReason `json:"reason,omitempty"`
}

// RevocationReason is a revocation reason as a client gives it: a name or
// a code, which JSON may carry as a string or a number.
type RevocationReason string

// UnmarshalJSON takes a string or an integer.
func (r *RevocationReason) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*r = RevocationReason(strconv.Itoa(n))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return reasonTypeError{}
	}
	*r = RevocationReason(s)
	return nil
}

// reasonTypeError is the refusal of a reason that is neither a string nor
// an integer; the API words it as a field's error (FieldError).
type reasonTypeError struct{}

func (reasonTypeError) Error() string {
	return `"reason" must be an RFC 5280 reason name (keyCompromise) or code (1)`
}

// FieldError marks the error as a field's, for the API's words.
func (reasonTypeError) FieldError() {}

// ParseRevocationReason returns the RFC 5280 code of a reason given by
// name (any letter case) or code; "" is unspecified (0). ok is false for
// a name that is none, not for a code this CA refuses (Revoke decides).
func ParseRevocationReason(s string) (code int, ok bool) { return parseReason(s) }

// reasonPrivilegeWithdrawn is RFC 5280's privilegeWithdrawn: the CA's own
// reason (BRs §4.9.1.1), which only an admin gives.
const reasonPrivilegeWithdrawn = 9

// parseReason reads a revocation reason by RFC 5280 name (any letter case)
// or code; "" is unspecified (0).
func parseReason(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	for code := 0; code <= 10; code++ {
		if strings.EqualFold(reasonName(code), s) {
			return code, true
		}
	}
	return 0, false
}

// Revoke revokes the certificate of order id through the REST API, which
// a certificate issued there has no other way to (ACME's revokeCert needs
// its key, erased after delivery): its account may, with a subscriber's
// reason (unspecified, keyCompromise, affiliationChanged, superseded,
// cessationOfOperation: BRs §4.9.1.1, §7.2.2), and an admin may revoke any
// certificate, privilegeWithdrawn too. A keyCompromise blocks the key (no
// certificate is issued for it again, and the key sweeper revokes its
// other certificates) when the admin attests it, or when the account
// reports it for a key dcv generated and handed to it; for a key of the
// account's own CSR it is a claim, recorded as the reason, as ACME takes
// one signed without the key (a CSR proves no more than that someone once
// held the key). The next CRL lists it.
func (s *Service) Revoke(ctx context.Context, acct *store.Account, id string, req RevokeRequest) (*CertificateView, error) {
	code, ok := parseReason(string(req.Reason))
	allowed := slices.Clone(revocationReasons)
	if acct.Admin {
		allowed = append(allowed, reasonPrivilegeWithdrawn)
	}
	if !ok || !slices.Contains(allowed, code) {
		names := make([]string, len(allowed))
		for i, c := range allowed {
			names[i] = reasonName(c)
		}
		return nil, invalid("BAD_REVOCATION_REASON", "revocation reason %q is not accepted; use one of %s (RFC 5280 §5.3.1 names or codes)", req.Reason, strings.Join(names, ", "))
	}
	o, err := s.loadToRead(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	if o.AccountID != acct.ID && !acct.Admin {
		return nil, notFound(id)
	}
	c, err := s.cfg.Store.CertificateGetByOrder(ctx, o.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: KindConflict, Code: "CERTIFICATE_NOT_READY", Message: fmt.Sprintf("order %s has no certificate to revoke", o.ID)}
	}
	if err != nil {
		return nil, fmt.Errorf("loading certificate: %w", err)
	}
	now := s.now()
	if !now.Before(c.NotAfter) {
		return nil, &Error{Kind: KindConflict, Code: "CERTIFICATE_EXPIRED", Message: fmt.Sprintf("the certificate %s of order %s expired on %s: an expired certificate is no longer revoked (nor listed in the CRL)", c.Serial, o.ID, c.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))}
	}
	err = s.cfg.Store.CertificateRevoke(ctx, store.Revocation{Serial: c.Serial, Reason: code, RevokedAt: now})
	switch {
	case errors.Is(err, store.ErrConflict) && code == reasonKeyCompromise && mayBlock(acct, o):
		// Revoked before: a compromise reported now still blocks the
		// key (unless it is blocked already), and supersedes the reason
		// recorded (verification run: the admin could no longer block a
		// key its subscriber had reported).
		if done, err := s.keyCompromisedAgain(ctx, c, now); err != nil {
			return nil, err
		} else if done {
			return nil, &Error{Kind: KindConflict, Code: "ALREADY_REVOKED", Message: fmt.Sprintf("the certificate %s of order %s is already revoked for keyCompromise, and its key blocked", c.Serial, o.ID)}
		}
		s.cfg.Logger.Info("revoked certificate: keyCompromise recorded and its key blocked", "serial", c.Serial, "order", o.ID, "by", acct.ID, "admin", acct.Admin)
		s.eraseCompromisedKey(context.WithoutCancel(ctx), o)
		return s.revokedView(ctx, o, c)
	case errors.Is(err, store.ErrConflict):
		return nil, &Error{Kind: KindConflict, Code: "ALREADY_REVOKED", Message: fmt.Sprintf("the certificate %s of order %s is already revoked", c.Serial, o.ID)}
	case err != nil:
		return nil, fmt.Errorf("revoking certificate: %w", err)
	}
	s.cfg.Logger.Info("certificate revoked", "serial", c.Serial, "order", o.ID, "reason", reasonName(code), "by", acct.ID, "admin", acct.Admin)
	s.cfg.Metrics.Revoked(reasonName(code))
	if code == reasonKeyCompromise && mayBlock(acct, o) {
		// Attested by the operator, or reported by the account dcv gave
		// the key to: the key is blocked, and the key sweeper revokes its
		// other certificates (BRs §4.9.1.1, §6.1.1.3). Not cut short by a
		// client that goes away: the revocation is committed.
		if err := s.blockKey(context.WithoutCancel(ctx), c, now); err != nil {
			return nil, err
		}
	}
	if code == reasonKeyCompromise {
		s.eraseCompromisedKey(context.WithoutCancel(ctx), o)
	}
	return s.revokedView(ctx, o, c)
}

// revokedView is the answer of a revocation of order o's certificate c: the
// certificate as Certificate shows it, with KeyBlocked set, after a
// keyCompromise, when its key is blocked, by this revocation or an earlier
// one (black-box run: the admin who confirmed a compromise was not told
// that the key was blocked).
func (s *Service) revokedView(ctx context.Context, o *store.Order, c *store.Certificate) (*CertificateView, error) {
	v, err := s.Certificate(ctx, &store.Account{ID: o.AccountID}, o.ID, false)
	if err != nil || v.RevocationReason != reasonName(reasonKeyCompromise) {
		return v, err
	}
	h, err := certKeyHash(c)
	if err != nil {
		return nil, err
	}
	if v.KeyBlocked, err = s.cfg.Store.KeyBlocked(ctx, h); err != nil {
		return nil, fmt.Errorf("reading whether the key is blocked: %w", err)
	}
	return v, nil
}

// eraseCompromisedKey erases the key dcv generated for order o, if it
// still holds it, once its certificate is revoked for key compromise: it
// is not handed out again, even within its redelivery window (console
// run). A failure is logged: the revocation stands, and the key sweeper
// erases the key with its window.
func (s *Service) eraseCompromisedKey(ctx context.Context, o *store.Order) {
	if o.CSRPEM != "" {
		return // the applicant's own key: dcv never had it
	}
	if _, err := s.cfg.Store.OrderEraseKey(ctx, o.ID); err != nil {
		s.cfg.Logger.Error("erasing the key of a certificate revoked for key compromise", "order", o.ID, "err", err)
	}
}

// mayBlock reports whether acct's keyCompromise for order o blocks the
// key: an admin's, or the order's account's when dcv generated the key
// (no CSR) and handed it to that account alone.
func mayBlock(acct *store.Account, o *store.Order) bool {
	return acct.Admin || (o.AccountID == acct.ID && o.CSRPEM == "")
}

// keyCompromisedAgain handles a keyCompromise for certificate c revoked
// before: it records keyCompromise as the reason and blocks the key. done
// reports that both were so already (nothing to do).
func (s *Service) keyCompromisedAgain(ctx context.Context, c *store.Certificate, now time.Time) (done bool, err error) {
	prev, err := s.cfg.Store.RevocationGet(ctx, c.Serial)
	if err != nil {
		return false, fmt.Errorf("loading the revocation: %w", err)
	}
	h, err := certKeyHash(c)
	if err != nil {
		return false, err
	}
	blocked, err := s.cfg.Store.KeyBlocked(ctx, h)
	if err != nil {
		return false, err
	}
	if blocked && prev.Reason == reasonKeyCompromise {
		return true, nil
	}
	ctx = context.WithoutCancel(ctx)
	if prev.Reason != reasonKeyCompromise {
		if err := s.cfg.Store.RevocationSetReason(ctx, c.Serial, reasonKeyCompromise); err != nil {
			return false, fmt.Errorf("recording keyCompromise: %w", err)
		}
	}
	if !blocked {
		if err := s.blockKey(ctx, c, now); err != nil {
			return false, err
		}
	}
	return false, nil
}

// blockKey blocks the key of certificate c as compromised.
func (s *Service) blockKey(ctx context.Context, c *store.Certificate, now time.Time) error {
	h, err := certKeyHash(c)
	if err != nil {
		return fmt.Errorf("hashing the compromised key: %w", err)
	}
	if err := s.cfg.Store.KeyBlock(ctx, store.KeyBlock{SPKIHash: h, Serial: c.Serial, BlockedAt: now}); err != nil {
		return fmt.Errorf("blocking the compromised key: %w", err)
	}
	s.cfg.Logger.Warn("key blocked as compromised", "spki_sha256", hex.EncodeToString(h), "serial", c.Serial)
	return nil
}

// certKeyHash returns the SPKI hash (ca.SPKIHash) of the key of stored
// certificate c, which names the key in the blocked keys.
func certKeyHash(c *store.Certificate) ([]byte, error) {
	leaf, err := x509.ParseCertificate(leafDER(c.ChainPEM))
	if err != nil {
		return nil, fmt.Errorf("parsing certificate %s: %w", c.Serial, err)
	}
	return ca.SPKIHash(leaf.PublicKey)
}
