package order

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/store"
)

// keySweepPage is how many live certificates the sweep of a compromised
// key reads at a time.
const keySweepPage = 500

// keySweepTimeout bounds one sweep; one cut short is run again at the next
// start (its block stays unswept).
const keySweepTimeout = 10 * time.Minute

// keyBlocked reports whether pub was shown compromised (a keyCompromise
// revocation signed with it).
func (s *Service) keyBlocked(ctx context.Context, pub crypto.PublicKey) (bool, error) {
	h, err := ca.SPKIHash(pub)
	if err != nil {
		return false, nil // a key that cannot be encoded cannot have been blocked
	}
	return s.cfg.Store.KeyBlocked(ctx, h)
}

// compromisedKeyMessage is the refusal of a key shown compromised.
const compromisedKeyMessage = "this key is known to be compromised (a certificate of it was revoked for keyCompromise by its subscriber, the certificate authority, or a request signed by the key) and is certified no more: generate a new key"

// checkAccountKey refuses, as badPublicKey, a new account key that is
// compromised: one shown so, or an RSA key whose modulus Fermat's method
// factors.
func (a *ACME) checkAccountKey(ctx context.Context, pub crypto.PublicKey) error {
	if pub == nil {
		return nil
	}
	if k, ok := pub.(*rsa.PublicKey); ok && ca.WeakRSAModulus(k.N) {
		return acmeErr(ACMEBadPublicKey, "the RSA modulus of this key can be factored by Fermat's method (its two primes are too close to each other): generate a new key")
	}
	blocked, err := a.s.keyBlocked(ctx, pub)
	if err != nil {
		return err
	}
	if blocked {
		return acmeErr(ACMEBadPublicKey, "%s", compromisedKeyMessage)
	}
	return nil
}

// blockKey records the key of cert as compromised, proven by a
// keyCompromise revocation of serial signed with it, and revokes the other
// live certificates of the key in the background (CA/B Forum BR §4.9.1.1:
// within 24 hours).
func (a *ACME) blockKey(ctx context.Context, cert *x509.Certificate, serial string) error {
	h, err := ca.SPKIHash(cert.PublicKey)
	if err != nil {
		return fmt.Errorf("hashing the compromised key: %w", err)
	}
	if err := a.st.KeyBlock(ctx, store.KeyBlock{SPKIHash: h, Serial: serial, BlockedAt: a.now()}); err != nil {
		return err
	}
	a.s.cfg.Logger.Warn("key blocked as compromised", "spki_sha256", hex.EncodeToString(h), "serial", serial)
	a.sweepKey(h)
	// An ACME account whose key it is is revoked: its requests are refused
	// from now on (RFC 8555 §7.1.6, an account the server deactivated).
	jwk := jose.JSONWebKey{Key: cert.PublicKey}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil // no JWK form: no account can hold this key
	}
	acct, err := a.st.ACMEAccountGetByThumbprint(ctx, base64.RawURLEncoding.EncodeToString(sum))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("looking up the account of the compromised key: %w", err)
	case acct.Status != store.ACMEAccountValid:
		return nil
	}
	acct.Status = store.ACMEAccountRevoked
	// The store updates a valid account only: a concurrent update read
	// before this one cannot bring the account back.
	if err := a.st.ACMEAccountUpdate(ctx, *acct); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("revoking the account of the compromised key: %w", err)
	}
	a.s.cfg.Logger.Warn("acme account revoked: its key is compromised", "account", acct.ID)
	return nil
}

// sweepKey revokes, in the background, every live certificate of the key
// of SPKI hash h with reason keyCompromise (upgrading the reason of one
// already revoked otherwise: key compromise supersedes it), then records
// the sweep as finished. A sweep of h already running is not doubled.
func (a *ACME) sweepKey(h []byte) {
	a.sweepMu.Lock()
	if a.sweeping == nil {
		a.sweeping = map[string]bool{}
	}
	if a.sweeping[string(h)] {
		a.sweepMu.Unlock()
		return
	}
	a.sweeping[string(h)] = true
	base := a.sweepBase
	a.sweepMu.Unlock()
	if base == nil {
		base = context.Background()
	}
	a.validations.Add(1)
	go func() {
		defer a.validations.Done()
		defer func() {
			a.sweepMu.Lock()
			delete(a.sweeping, string(h))
			a.sweepMu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(base, keySweepTimeout)
		defer cancel()
		n, err := a.sweep(ctx, h)
		log := a.s.cfg.Logger.With("spki_sha256", hex.EncodeToString(h), "revoked", n)
		if err != nil {
			log.Error("revoking the certificates of a compromised key; retried by the next sweep", "err", err)
			return
		}
		log.Info("certificates of a compromised key revoked")
	}()
}

func (a *ACME) sweep(ctx context.Context, h []byte) (int, error) {
	revoked, after, skipped := 0, "", 0
	for {
		page, err := a.st.CertificatesLive(ctx, a.now(), after, keySweepPage)
		if err != nil {
			return revoked, err
		}
		for _, c := range page {
			after = c.Serial
			leaf, err := x509.ParseCertificate(leafDER(c.ChainPEM))
			if err != nil {
				// One unreadable row must not stop the others' revocation.
				a.s.cfg.Logger.Error("key sweep: a stored certificate does not parse; skipped", "serial", c.Serial, "err", err)
				skipped++
				continue
			}
			ch, err := ca.SPKIHash(leaf.PublicKey)
			if err != nil || string(ch) != string(h) {
				continue
			}
			err = a.st.CertificateRevoke(ctx, store.Revocation{Serial: c.Serial, Reason: reasonKeyCompromise, RevokedAt: a.now()})
			if errors.Is(err, store.ErrConflict) {
				// Revoked before for another reason: keyCompromise, now
				// proven, supersedes it.
				err = a.st.RevocationSetReason(ctx, c.Serial, reasonKeyCompromise)
			} else if err == nil {
				a.s.cfg.Metrics.Revoked(reasonName(reasonKeyCompromise))
			}
			if err != nil {
				return revoked, err
			}
			revoked++
		}
		if len(page) < keySweepPage {
			break
		}
	}
	if skipped > 0 {
		// Not finished: a skipped certificate may be of this key. The
		// next sweep tries again (and the operator has the log).
		return revoked, fmt.Errorf("%d stored certificates could not be read", skipped)
	}
	return revoked, a.st.KeyBlockSwept(ctx, h, a.now())
}

// ResumeKeySweeps starts, in the background, the revocation of the
// certificates of each compromised key whose sweep has not finished (cut
// short by a restart, a timeout or an error). Wait waits for the sweeps.
func (a *ACME) ResumeKeySweeps(ctx context.Context) error {
	bs, err := a.st.KeyBlocksUnswept(ctx)
	if err != nil {
		return fmt.Errorf("listing the compromised keys left to sweep: %w", err)
	}
	for _, b := range bs {
		a.sweepKey(b.SPKIHash)
	}
	return nil
}

// DefaultKeySweeperInterval is how often StartKeySweeper looks for
// unfinished sweeps.
const DefaultKeySweeperInterval = 5 * time.Minute

// StartKeySweeper resumes unfinished sweeps at once, then every interval,
// in the background until ctx ends; the sweeps it starts, and those a
// revocation starts, stop with ctx. Wait waits for it to stop. serve runs
// it for the life of the server.
func (a *ACME) StartKeySweeper(ctx context.Context, interval time.Duration) {
	a.sweepMu.Lock()
	a.sweepBase = ctx
	a.sweepMu.Unlock()
	a.validations.Add(1)
	go func() {
		defer a.validations.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if err := a.ResumeKeySweeps(ctx); err != nil && ctx.Err() == nil {
				a.s.cfg.Logger.Error("key sweeper", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}
