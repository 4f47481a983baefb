package order

import (
	"context"
	"crypto/x509"
	"encoding/hex"
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
	// code ("1"); empty is unspecified.
	Reason string `json:"reason,omitempty"`
}

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
// certificate, privilegeWithdrawn too. An admin's keyCompromise blocks the
// key: no certificate is issued for it again, and the key sweeper revokes
// its other certificates; an account's is a claim, recorded as its reason
// (as ACME takes one signed without the key). The next CRL lists it.
func (s *Service) Revoke(ctx context.Context, acct *store.Account, id string, req RevokeRequest) (*CertificateView, error) {
	code, ok := parseReason(req.Reason)
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
	if errors.Is(err, store.ErrConflict) {
		return nil, &Error{Kind: KindConflict, Code: "ALREADY_REVOKED", Message: fmt.Sprintf("the certificate %s of order %s is already revoked", c.Serial, o.ID)}
	}
	if err != nil {
		return nil, fmt.Errorf("revoking certificate: %w", err)
	}
	s.cfg.Logger.Info("certificate revoked", "serial", c.Serial, "order", o.ID, "reason", reasonName(code), "by", acct.ID, "admin", acct.Admin)
	s.cfg.Metrics.Revoked(reasonName(code))
	if code == reasonKeyCompromise && acct.Admin {
		// The operator attests the compromise: the key is blocked, and
		// the key sweeper revokes its other certificates. Not cut short
		// by a client that goes away: the revocation is committed.
		if err := s.blockKey(context.WithoutCancel(ctx), c, now); err != nil {
			return nil, err
		}
	}
	return s.Certificate(ctx, &store.Account{ID: o.AccountID}, o.ID, false)
}

// blockKey blocks the key of certificate c as compromised.
func (s *Service) blockKey(ctx context.Context, c *store.Certificate, now time.Time) error {
	leaf, err := x509.ParseCertificate(leafDER(c.ChainPEM))
	if err != nil {
		return fmt.Errorf("parsing certificate %s: %w", c.Serial, err)
	}
	h, err := ca.SPKIHash(leaf.PublicKey)
	if err != nil {
		return fmt.Errorf("hashing the compromised key: %w", err)
	}
	if err := s.cfg.Store.KeyBlock(ctx, store.KeyBlock{SPKIHash: h, Serial: c.Serial, BlockedAt: now}); err != nil {
		return fmt.Errorf("blocking the compromised key: %w", err)
	}
	s.cfg.Logger.Warn("key blocked as compromised", "spki_sha256", hex.EncodeToString(h), "serial", c.Serial)
	return nil
}
