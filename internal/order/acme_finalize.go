package order

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
	jose "github.com/go-jose/go-jose/v4"
)

// Finalize implements the finalize request (RFC 8555 §7.4): it checks the
// CSR (names equal to the order's, key type and size, not the account key)
// and issues the certificate within the request, exactly once even when
// finalize is sent concurrently. acctKey is the account's public key.
func (a *ACME) Finalize(ctx context.Context, acct *store.ACMEAccount, acctKey crypto.PublicKey, orderID string, csrDER []byte) (*ACMEOrderView, error) {
	o, err := a.loadOrder(ctx, acct, orderID)
	if err != nil {
		return nil, err
	}
	now := a.now()
	v := a.orderView(o, now)
	if v.Status != ACMEOrderReady {
		// RFC 8555 §7.4: "A request to finalize an order will result in
		// error if the order is not in the "ready" state. In such cases,
		// the server MUST return a 403 (Forbidden) error with a problem
		// document of type "orderNotReady"."
		return nil, notReady(orderID, v.Status)
	}
	csr, err := ca.ParseCSR(csrDER)
	if err != nil {
		var ce *ca.CSRError
		if errors.As(err, &ce) {
			return nil, acmeErr(ACMEBadCSR, "%s", ce.Message)
		}
		return nil, acmeErr(ACMEBadCSR, "the CSR could not be parsed")
	}
	if k, ok := csr.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && acctKey != nil && k.Equal(acctKey) {
		return nil, acmeErr(ACMEBadCSR, "the CSR's key is the account key; use a separate key for the certificate")
	}
	spki, err := ca.SPKIHash(csr.PublicKey)
	if err != nil {
		return nil, acmeErr(ACMEBadCSR, "the CSR's public key cannot be encoded")
	}
	if blocked, err := a.st.KeyBlocked(ctx, spki); err != nil {
		return nil, err
	} else if blocked {
		return nil, acmeErr(ACMEBadCSR, "the CSR's key: %s", compromisedKeyMessage)
	}
	if len(csr.EmailAddresses)+len(csr.URIs) > 0 {
		return nil, acmeErr(ACMEBadCSR, "the CSR asks for e-mail addresses or URIs; only DNS names and IP addresses are certified")
	}
	if n, ok := ca.AddressAsName(csr); ok {
		return nil, acmeErr(ACMEBadCSR, "the CSR names the IP address %.64q as a DNS name (a dNSName subjectAltName): put it in the subjectAltName as an IP address (iPAddress), as RFC 8738 asks", n)
	}
	if err := csrMatches(ca.CSRNames(csr), v.Identifiers); err != nil {
		var oe *Error
		if errors.As(err, &oe) {
			return nil, acmeErr(ACMEBadCSR, "%s", oe.Message)
		}
		return nil, err
	}
	if err := a.recheckCAA(ctx, acct, o, now); err != nil {
		return nil, err
	}
	p, perr := a.orderProfile(o)
	if perr != nil {
		// Never signable again under this configuration: the order is made
		// invalid, as the issuance sweep makes it, so that a client stops
		// finalizing it and orders anew (an issued order keeps its status).
		if serr := a.st.OrderSetStatus(ctx, orderID, StatusInvalid, "", refusedProfilePrefix+perr.Detail); serr != nil && !errors.Is(serr, store.ErrConflict) {
			a.s.cfg.Logger.Error("recording issuance refusal", "order", orderID, "err", serr)
		}
		return nil, perr
	}
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
	// The leaf is built and linted first; the reservation keeps its
	// to-be-signed bytes, so that a crash before the certificate is stored
	// leaves the issuance sweep the same certificate to sign (see
	// Service.signOrder).
	req := a.s.issueRequest(&o.Order, csr.PublicKey, p.Validity)
	prep, err := a.s.cfg.Issuer.Prepare(req)
	var lintErr error
	if err != nil {
		var le *ca.LintError
		if !errors.As(err, &le) {
			return nil, fmt.Errorf("finalizing order %s: %w", orderID, err)
		}
		lintErr = err
	}
	var cert *store.Certificate
	if lintErr == nil {
		a.s.beginFinalize(orderID)
		defer a.s.endFinalize(orderID)
		cert, err = a.st.ACMEOrderFinalize(ctx, orderID, csrPEM, prep.TBS, now, func(so *store.Order) (*store.Certificate, error) {
			iss, err := a.s.cfg.Issuer.Sign(prep, req)
			if err != nil {
				return nil, err
			}
			a.s.logSigned(so.ID, domainsOf(&o.Order), iss)
			return &store.Certificate{Serial: iss.Serial, OrderID: so.ID, ChainPEM: iss.ChainPEM, NotBefore: iss.NotBefore, NotAfter: iss.NotAfter, CreatedAt: a.now(), SPKIHash: spki}, nil
		})
	}
	switch {
	case err == nil:
	case errors.Is(err, store.ErrKeyBlocked):
		// Blocked while this finalize ran (checked above, and again by the
		// write that would have stored the certificate).
		if serr := a.st.OrderSetStatus(ctx, orderID, StatusInvalid, "", refusedKeyPrefix+compromisedKeyMessage); serr != nil {
			a.s.cfg.Logger.Error("recording issuance refusal", "order", orderID, "err", serr)
		}
		return nil, acmeErr(ACMEBadCSR, "the CSR's key: %s", compromisedKeyMessage)
	case errors.Is(err, store.ErrConflict):
		// Finalized concurrently, or an authorization changed meanwhile.
		cur, gerr := a.Order(ctx, acct, orderID)
		if gerr != nil {
			return nil, gerr
		}
		return nil, notReady(orderID, cur.Status)
	case lintErr != nil:
		a.s.cfg.Logger.Error("acme issuance failed", "order", orderID, "err", lintErr)
		a.s.cfg.Metrics.IssuanceFailed(methodACME)
		if serr := a.st.OrderSetStatus(ctx, orderID, StatusInvalid, "", "issuance failed: "+lintErr.Error()); serr != nil {
			a.s.cfg.Logger.Error("recording issuance failure", "order", orderID, "err", serr)
		}
		return nil, acmeErr(ACMEServerInternal, "%s", issuanceFailedReason)
	default:
		return nil, fmt.Errorf("finalizing order %s: %w", orderID, err)
	}
	a.s.cfg.Logger.Info("acme certificate issued", "order", orderID)
	a.s.cfg.Metrics.CertificateIssued(methodACME)
	// The finalization changed only the order's status, CSR and
	// certificate (its authorizations were valid and stay so): answer from
	// the order loaded above instead of reading it again.
	o.Order.Status = StatusIssued
	o.Order.CSRPEM = csrPEM
	o.CertificateSerial = cert.Serial
	return a.orderView(o, a.now()), nil
}

// Certificate returns the PEM chain (leaf first) of one of the account's
// certificates (RFC 8555 §7.4.2).
func (a *ACME) Certificate(ctx context.Context, acct *store.ACMEAccount, serial string) (string, error) {
	c, err := a.st.CertificateGetBySerial(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return "", acmeNotFound("certificate", serial)
	}
	if err != nil {
		return "", fmt.Errorf("loading certificate: %w", err)
	}
	if c.AccountID != acct.ID {
		return "", acmeNotFound("certificate", serial)
	}
	return c.ChainPEM, nil
}

// Revocation reasons accepted (RFC 5280 §5.3.1, as restricted for
// subscribers by CA/B Forum BRs §7.2.2): unspecified (0), keyCompromise
// (1), affiliationChanged (3), superseded (4), cessationOfOperation (5).
var revocationReasons = []int{0, reasonKeyCompromise, 3, 4, 5}

// RFC 5280 §5.3.1 CRLReasons that revocation treats apart.
const (
	reasonKeyCompromise        = 1
	reasonCessationOfOperation = 5
)

// isAccountKey reports whether key is the key of an ACME account.
func (a *ACME) isAccountKey(ctx context.Context, key crypto.PublicKey) bool {
	if key == nil {
		return false
	}
	jwk := jose.JSONWebKey{Key: key}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return false
	}
	_, err = a.st.ACMEAccountGetByThumbprint(ctx, base64.RawURLEncoding.EncodeToString(sum))
	return err == nil
}

// Revoke implements revokeCert (RFC 8555 §7.6). The request is authorized
// either by an account (acct non-nil) that issued the certificate or holds
// valid authorizations for all its names, or by the certificate's own key
// (acct nil, signer the key that signed the request).
func (a *ACME) Revoke(ctx context.Context, acct *store.ACMEAccount, signer crypto.PublicKey, certDER []byte, reason *int) error {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return acmeErr(ACMEMalformed, "the certificate could not be parsed")
	}
	code := 0
	if reason != nil {
		code = *reason
		if !slices.Contains(revocationReasons, code) {
			return acmeErr(ACMEBadRevocationReason, "revocation reason %d is not accepted; use 0 (unspecified), 1 (keyCompromise), 3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation)", code)
		}
	}
	serial := serialHex(cert.SerialNumber)
	stored, err := a.st.CertificateGetBySerial(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return acmeNotFound("certificate", serial)
	}
	if err != nil {
		return fmt.Errorf("loading certificate: %w", err)
	}
	if leaf := leafDER(stored.ChainPEM); !bytes.Equal(leaf, certDER) {
		return acmeNotFound("certificate", serial)
	}
	k, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	signedByKey := ok && signer != nil && k.Equal(signer)
	switch {
	case signedByKey:
		// Signed with the certificate's key (RFC 8555 §7.6), embedded or
		// as the key of the account that signed.
	case acct == nil && a.isAccountKey(ctx, signer):
		// RFC 8555 §6.2: a request signed by an account names it in
		// "kid"; "jwk" is for the certificate's key (§7.6).
		return acmeErr(ACMEUnauthorized, "the key in the JWS \"jwk\" is an ACME account's key, not the certificate's: a request signed by an account names the account in \"kid\" (its account URL) instead of carrying its key in \"jwk\" (RFC 8555 §6.2, §7.6)")
	case acct == nil:
		return acmeErr(ACMEUnauthorized, "the request is signed neither by an account nor by the certificate's key")
	default:
		if err := a.mayRevoke(ctx, acct, stored, cert); err != nil {
			return err
		}
		if stored.AccountID != acct.ID && code != reasonCessationOfOperation {
			// Another account, through its authorizations of every name:
			// it controls the names now, not the subscriber's key or
			// affairs. Its revocation says that the subscriber no longer
			// controls them (cessationOfOperation, as Boulder records it),
			// whatever reason it gave: a keyCompromise or superseded of
			// someone else's certificate would be its claim about their key.
			a.s.cfg.Logger.Info("revocation through authorizations: reason recorded as cessationOfOperation", "serial", serialHex(cert.SerialNumber), "asked", code)
			code = reasonCessationOfOperation
		}
	}
	// A keyCompromise revocation signed with the certificate's own key
	// (embedded, or an account's whose key it is) proves the compromise:
	// the key is blocked, and its other certificates revoked. A claim by
	// the subscriber's account with another key is taken as a reason only
	// (as Boulder does: it demonstrates nothing); a request signed with the
	// key proves it, and blocks the key, even after such a claim.
	proven := signedByKey && code == reasonKeyCompromise
	err = a.st.CertificateRevoke(ctx, store.Revocation{Serial: serial, Reason: code, RevokedAt: a.now()})
	switch {
	case errors.Is(err, store.ErrConflict) && proven:
		// Revoked before: the proof still blocks the key, unless a proof
		// did already (a stored reason of keyCompromise may have been an
		// account's mere claim, or a block that failed).
		h, herr := ca.SPKIHash(cert.PublicKey)
		if herr != nil {
			return fmt.Errorf("revoking certificate: %w", herr)
		}
		blocked, berr := a.st.KeyBlocked(ctx, h)
		if berr != nil {
			return fmt.Errorf("revoking certificate: %w", berr)
		}
		prev, gerr := a.st.RevocationGet(ctx, serial)
		if gerr != nil {
			return fmt.Errorf("revoking certificate: %w", gerr)
		}
		if blocked && prev.Reason == reasonKeyCompromise {
			return acmeErr(ACMEAlreadyRevoked, "certificate %s is already revoked for keyCompromise, and its key blocked", serial)
		}
		if prev.Reason != reasonKeyCompromise {
			// Key compromise, now proven, supersedes the reason recorded
			// (the CRL then says so).
			if err := a.st.RevocationSetReason(ctx, serial, reasonKeyCompromise); err != nil {
				return fmt.Errorf("revoking certificate: %w", err)
			}
		}
	case errors.Is(err, store.ErrConflict):
		return acmeErr(ACMEAlreadyRevoked, "certificate %s is already revoked", serial)
	case err != nil:
		return fmt.Errorf("revoking certificate: %w", err)
	}
	a.s.cfg.Logger.Info("certificate revoked", "serial", serial, "order", stored.OrderID, "reason", reasonName(code), "via", "acme")
	a.s.cfg.Metrics.Revoked(reasonName(code))
	if proven {
		// Not cut short by a client that goes away: the revocation is
		// committed, and its block must follow.
		if err := a.blockKey(context.WithoutCancel(ctx), cert, serial); err != nil {
			return fmt.Errorf("blocking the compromised key: %w", err)
		}
	}
	return nil
}

// mayRevoke reports whether acct may revoke cert: it ordered it, or holds
// valid authorizations for every name in it (RFC 8555 §7.6).
func (a *ACME) mayRevoke(ctx context.Context, acct *store.ACMEAccount, stored *store.Certificate, cert *x509.Certificate) error {
	if stored.AccountID == acct.ID {
		return nil
	}
	now := a.now()
	ids := leafIdentifiers(cert)
	if len(ids) == 0 {
		// No identifier to hold an authorization for: never a pass by an
		// empty loop.
		return acmeErr(ACMEUnauthorized, "this account did not order the certificate, which names nothing this account could hold an authorization for")
	}
	for _, n := range ids {
		_, err := a.st.ACMEAuthzFindReusable(ctx, acct.ID, n, now.Add(-a.authzReuse(now)), now)
		if err != nil {
			return acmeErr(ACMEUnauthorized, "this account did not order the certificate and holds no valid authorization for %s", n)
		}
	}
	return nil
}

func serialHex(n *big.Int) string { return fmt.Sprintf("%032x", n) }

// derIntegerBytes is the content of the DER INTEGER of n, non-negative: its
// big-endian bytes, with a zero byte before a first byte whose top bit is
// set (X.690 §8.3).
func derIntegerBytes(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

// leafDER returns the first certificate of a PEM chain.
func leafDER(chain string) []byte {
	b, _ := pem.Decode([]byte(chain))
	if b == nil {
		return nil
	}
	return b.Bytes
}

// RevokedList returns the CRL entries of every revoked, unexpired
// certificate (RFC 5280 §5.3.1 reason codes; unspecified is omitted, as
// §5.3.1 recommends).
func (s *Service) RevokedList(ctx context.Context) ([]x509.RevocationListEntry, error) {
	rs, err := s.cfg.Store.RevocationListUnexpired(ctx, s.now())
	if err != nil {
		return nil, fmt.Errorf("listing revocations: %w", err)
	}
	out := make([]x509.RevocationListEntry, 0, len(rs))
	for _, r := range rs {
		n, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return nil, fmt.Errorf("stored serial %q is not hex", r.Serial)
		}
		out = append(out, x509.RevocationListEntry{SerialNumber: n, RevocationTime: r.RevokedAt, ReasonCode: r.Reason})
	}
	return out, nil
}

// NextCRLNumber returns the number of a CRL signed at now: its time in
// microseconds, or one more than the last number taken if that is not
// lower (RFC 5280 §5.2.3, monotonically increasing). The number is stored
// before it is returned, so a restart, even after the clock stepped back,
// never takes a lower one.
func (s *Service) NextCRLNumber(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.cfg.Store.CRLNumberNext(ctx, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("numbering the crl: %w", err)
	}
	return n, nil
}

// RenewalInfo is an RFC 9773 renewalInfo answer.
type RenewalInfo struct {
	Start, End time.Time
	// RetryAfter is when the client should ask again.
	RetryAfter time.Duration
}

// RenewalInfo returns the suggested renewal window of a certificate named
// by its RFC 9773 §4.1 identifier (see renewalWindow), or a window already
// open for a revoked certificate.
func (a *ACME) RenewalInfo(ctx context.Context, certID string) (*RenewalInfo, error) {
	c, _, err := a.certByID(ctx, certID)
	if err != nil {
		return nil, err
	}
	now := a.now()
	if _, err := a.st.RevocationGet(ctx, c.Serial); err == nil {
		// RFC 9773 §4.2: a window in the past asks for renewal right away.
		return &RenewalInfo{Start: now.Add(-time.Hour), End: now.Add(-time.Minute), RetryAfter: ARIRetryAfter}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("loading revocation: %w", err)
	}
	start, end := renewalWindow(c.NotBefore, c.NotAfter)
	return &RenewalInfo{Start: start, End: end, RetryAfter: ariRetryAfter(c.NotAfter.Sub(c.NotBefore))}, nil
}

// shortLifeARI is the validity below which a certificate is renewed at
// half its life rather than with a third of it left.
const shortLifeARI = 10 * 24 * time.Hour

// renewalWindow is the suggested renewal window of a certificate valid
// from notBefore to notAfter: around the time a third of its life is left
// (half, for a life under shortLifeARI, which leaves more room to retry),
// a day wide on each side at most, and a thirtieth of the life for a
// shorter one. A client picks a time in it at random (RFC 9773 §4.2), so
// the CA's load spreads, and certificates are not renewed with half their
// life still ahead.
func renewalWindow(notBefore, notAfter time.Time) (start, end time.Time) {
	life := notAfter.Sub(notBefore)
	left := life / 3
	if life < shortLifeARI {
		left = life / 2
	}
	ideal := notAfter.Add(-left)
	half := min(24*time.Hour, life/30)
	return ideal.Add(-half), ideal.Add(half)
}

// ariRetryAfter is the Retry-After of a renewalInfo answer for a
// certificate valid for life: ARIRetryAfter, or a tenth of the lifetime
// for a short-lived one (at least a minute), so that a client that obeys
// it still asks often enough, before the window ends, to learn of a
// window moved by a revocation.
func ariRetryAfter(life time.Duration) time.Duration {
	return max(time.Minute, min(ARIRetryAfter, life/10))
}

// certByID resolves an RFC 9773 §4.1 certificate identifier:
// base64url(authorityKeyIdentifier) "." base64url(serial DER bytes).
func (a *ACME) certByID(ctx context.Context, certID string) (*store.Certificate, *x509.Certificate, error) {
	akiB64, serB64, ok := strings.Cut(certID, ".")
	aki, err1 := decodeB64(akiB64)
	ser, err2 := decodeB64(serB64)
	if !ok || err1 != nil || err2 != nil || len(aki) == 0 || len(ser) == 0 || len(ser) > 20 {
		return nil, nil, acmeErr(ACMEMalformed, "%q is not a certificate identifier (base64url keyIdentifier \".\" base64url serial)", certID)
	}
	n := new(big.Int).SetBytes(ser)
	if ser[0]&0x80 != 0 || !bytes.Equal(ser, derIntegerBytes(n)) {
		// RFC 9773 §4.1: the bytes of the serial's DER INTEGER, which is
		// minimal; one ID per certificate.
		return nil, nil, acmeErr(ACMEMalformed, "%q is not a certificate identifier: its serial is not the DER encoding of a serial number (negative, or with a superfluous leading zero byte)", certID)
	}
	serial := serialHex(n)
	c, err := a.st.CertificateGetBySerial(ctx, serial)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, acmeNotFound("certificate", certID)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("loading certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(leafDER(c.ChainPEM))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing stored certificate %s: %w", serial, err)
	}
	if !bytes.Equal(leaf.AuthorityKeyId, aki) {
		return nil, nil, acmeNotFound("certificate", certID)
	}
	return c, leaf, nil
}

// checkReplaces validates newOrder's "replaces" (RFC 9773 §5): the
// certificate exists, was ordered by the same account and shares a name
// with the new order. It returns the certificate's serial.
func (a *ACME) checkReplaces(ctx context.Context, acct *store.ACMEAccount, certID string, names []string) (string, error) {
	c, leaf, err := a.certByID(ctx, certID)
	if ae := (*ACMEError)(nil); errors.As(err, &ae) && ae.Type == ACMENotFound {
		// A 404 would say the newOrder URL is not found: the request is
		// there, its "replaces" is wrong.
		return "", acmeErr(ACMEMalformed, "\"replaces\" names the certificate %s, which this certificate authority did not issue: name the certificate this order renews (its renewalInfo identifier), or leave \"replaces\" out", certID)
	}
	if err != nil {
		return "", err
	}
	if c.AccountID != acct.ID {
		return "", acmeErr(ACMEUnauthorized, "the certificate %s was not ordered by this account", certID)
	}
	for _, n := range leafIdentifiers(leaf) {
		if slices.Contains(names, n) {
			return c.Serial, nil
		}
	}
	return "", acmeErr(ACMEMalformed, "the order shares no identifier with the certificate it replaces")
}

// CAARecheckAfter is the age of a validation past which its CAA records
// are looked up again before issuance. CA/B Forum BR §3.2.2.8 wants CAA
// checked within 8 hours of issuance (or the record's TTL, if longer); an
// authorization reused for up to its reuse period carries a CAA check as
// old as itself. An hour of margin covers a finalize that runs long.
const CAARecheckAfter = 7 * time.Hour

// recheckCAA looks up again, from every perspective, the CAA records of
// each authorization of o validated more than CAARecheckAfter before now,
// as they apply to the challenge that validated it and to the account
// (RFC 8657). A refusal is the caa problem with dcv's diagnosis, as at
// validation; an observation that fails is the CA's serverInternal.
func (a *ACME) recheckCAA(ctx context.Context, acct *store.ACMEAccount, o *store.ACMEOrder, now time.Time) error {
	var stale []store.ACMEAuthz
	for _, z := range o.Authzs {
		if ident.IsIP(z.Identifier) {
			continue // CAA concerns domain names only
		}
		// No recorded time counts as old: the recheck fails safe.
		if z.ValidatedAt.IsZero() || now.Sub(z.ValidatedAt) > CAARecheckAfter {
			stale = append(stale, z)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, acmeValidationTimeout)
	defer cancel()
	probs := make([]*ACMEError, len(stale))
	errs := make([]error, len(stale))
	var wg sync.WaitGroup
	for i, z := range stale {
		wg.Go(func() { probs[i], errs[i] = a.recheckAuthzCAA(ctx, acct, o.Order.ID, z.ID, now) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	probs = slices.DeleteFunc(probs, func(p *ACMEError) bool { return p == nil })
	switch len(probs) {
	case 0:
		return nil
	case 1:
		return probs[0]
	}
	// The worst type: the CA's own failure first, then a refusal.
	typ := probs[0].Type
	for _, p := range probs {
		if p.Type == ACMEServerInternal {
			typ = ACMEServerInternal
		}
	}
	top := acmeErr(typ, "looking CAA up again before issuance did not allow %d names of this order: see each name's problem", len(probs))
	top.Subproblems = probs
	return top
}

// recheckAuthzCAA rechecks the CAA records of one authorization; it
// returns the problem that refuses issuance, or an error when the
// authorization cannot be read or the recheck not kept as evidence.
func (a *ACME) recheckAuthzCAA(ctx context.Context, acct *store.ACMEAccount, orderID, id string, now time.Time) (*ACMEError, error) {
	z, err := a.st.ACMEAuthzGet(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("loading authorization %s for its CAA recheck: %w", id, err)
	}
	method := ""
	for _, c := range z.Challenges {
		if c.Status == store.ACMEStatusValid {
			method = c.Type
		}
	}
	if method == "" {
		return nil, fmt.Errorf("authorization %s is valid without a valid challenge", id)
	}
	obs, err := a.s.cfg.Observer.Observe(perspective.WithTenant(ctx, tenantACME+acct.ID), validation.Request{
		Domain: z.Identifier, Method: validation.Method(method), Value: z.Token,
		AccountURI: a.cfg.AccountURL(acct.ID), CAAOnly: true,
	})
	if err != nil {
		a.s.cfg.Logger.Error("caa recheck failed", "authz", id, "err", err)
		obs = nil // diagnose fails closed
	}
	r := diagnose.Domain(obs, now)
	if err := a.s.recordCAARecheck(ctx, orderID, z.Identifier, obs, r, now); err != nil {
		return nil, err
	}
	if r.Status == diagnose.StatusApproved {
		return nil, nil
	}
	prob := a.findingProblem(r.Findings)
	prob.Identifier = z.Identifier
	age := "too long"
	if !z.ValidatedAt.IsZero() {
		age = now.Sub(z.ValidatedAt).Round(time.Minute).String()
	}
	prob.Detail = fmt.Sprintf("%s was validated %s ago, so its CAA records were looked up again before issuance: %s", z.Identifier, age, prob.Detail)
	return prob, nil
}

// Reasons of an ACME order made invalid at issuance (its stored error
// text), which its view turns into the problem the client reads.
const (
	refusedKeyPrefix     = "issuance refused: the CSR's key: "
	refusedCAAPrefix     = "issuance refused by CAA: "
	refusedExpiredPrefix = "issuance refused: "
	refusedProfilePrefix = "issuance refused by the profile: "
)

// lateIssuanceCheck is the ACME part of an issuance that the job runner
// finishes, after a crash cut a finalize short between its reservation and
// its certificate, maybe hours before: the account and every authorization
// must still be valid now, and the CAA records of those validated more
// than CAARecheckAfter before are looked up again (and kept as evidence),
// as finalize does. A refusal makes the order invalid, saying why, and is
// permanent (ErrPermanent); a failure on the CA's side is an error to retry.
func (a *ACME) lateIssuanceCheck(ctx context.Context, orderID string) error {
	o, err := a.st.ACMEOrderGet(ctx, orderID)
	if err != nil {
		return fmt.Errorf("loading acme order %s: %w", orderID, err)
	}
	acct, err := a.st.ACMEAccountGet(ctx, o.Order.AccountID)
	if err != nil {
		return fmt.Errorf("loading the account of acme order %s: %w", orderID, err)
	}
	now := a.now()
	refuse := func(msg string) error {
		a.s.cfg.Logger.Warn("late issuance refused", "order", orderID, "reason", msg)
		if err := a.st.OrderSetStatus(ctx, orderID, StatusInvalid, "", msg); err != nil {
			return fmt.Errorf("refusing the issuance of acme order %s: %w", orderID, err)
		}
		return fmt.Errorf("%w: %s", ErrPermanent, msg)
	}
	if acct.Status != store.ACMEAccountValid {
		// Deactivated, or revoked for its key's compromise, since the
		// finalize: it accepts no further requests, nor this one's end.
		return refuse(fmt.Sprintf("%sthe account %s is %s: it was valid at finalize, but is no longer; the certificate is not issued", refusedExpiredPrefix, acct.ID, acct.Status))
	}
	if !now.Before(o.Order.ExpiresAt) {
		return refuse(fmt.Sprintf("%sthe order expired on %s before its certificate could be signed; order again", refusedExpiredPrefix, o.Order.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	for i := range o.Authzs {
		z := &o.Authzs[i]
		if st := authzStatus(z, now, a.validatedSince(now)); st != store.ACMEStatusValid {
			return refuse(fmt.Sprintf("%sthe authorization of %s is %s: it was valid at finalize, but the certificate could not be signed before it ceased to be; order again", refusedExpiredPrefix, z.Identifier, st))
		}
	}
	err = a.recheckCAA(ctx, acct, o, now)
	var ae *ACMEError
	if !errors.As(err, &ae) {
		return err
	}
	// Refused for good only by what CAA says; a lookup that failed may
	// succeed at the next try (River's retries), until the order expires.
	probs := ae.Subproblems
	if len(probs) == 0 {
		probs = []*ACMEError{ae}
	}
	var refused []string
	for _, p := range probs {
		switch p.Code {
		case diagnose.CodeCAAForbids, diagnose.CodeCAACriticalUnknown:
			refused = append(refused, p.Detail)
		}
	}
	if len(refused) == 0 {
		return fmt.Errorf("issuing acme order %s: CAA could not be looked up again: %s", orderID, ae.Detail)
	}
	return refuse(refusedCAAPrefix + strings.Join(refused, " "))
}

// invalidOrderProblem is the problem of an order made invalid at issuance
// or expired, from its stored reason: the applicant's to fix when the key or
// CAA refused it, the CA operator's otherwise.
func invalidOrderProblem(o *store.Order) *ACMEError {
	switch {
	case o.Status == StatusExpired:
		return acmeErr(ACMEMalformed, "the order expired")
	case strings.HasPrefix(o.Error, refusedKeyPrefix):
		return acmeErr(ACMEBadCSR, "the CSR's key: %s", strings.TrimPrefix(o.Error, refusedKeyPrefix))
	case strings.HasPrefix(o.Error, refusedProfilePrefix):
		return acmeErr(ACMEInvalidProfile, "%s", strings.TrimPrefix(o.Error, refusedProfilePrefix))
	case strings.HasPrefix(o.Error, refusedCAAPrefix):
		return acmeErr(ACMECAA, "%s", strings.TrimPrefix(o.Error, refusedCAAPrefix))
	case strings.HasPrefix(o.Error, refusedExpiredPrefix):
		return acmeErr(ACMEUnauthorized, "%s", strings.TrimPrefix(o.Error, refusedExpiredPrefix))
	case strings.HasPrefix(o.Error, store.OrderErrorAccountClosed):
		return acmeErr(ACMEUnauthorized, "the order was cancelled when its account became %s (RFC 8555 §7.3.6)", strings.TrimPrefix(o.Error, store.OrderErrorAccountClosed))
	}
	return acmeErr(ACMEServerInternal, "%s", issuanceFailedReason)
}

// notReady is finalize's orderNotReady, worded by the order's status: an
// order already finalized, or being finalized by a concurrent request, is
// not told to validate its authorizations.
func notReady(orderID, status string) *ACMEError {
	switch status {
	case ACMEOrderProcessing:
		return acmeErr(ACMEOrderNotReady, "order %s is processing: it is being finalized already (by another request); poll the order for its certificate", orderID)
	case ACMEOrderValid:
		return acmeErr(ACMEOrderNotReady, "order %s is valid: it was finalized already; its certificate is at the order's certificate URL", orderID)
	case ACMEOrderInvalid:
		return acmeErr(ACMEOrderNotReady, "order %s is invalid and cannot be finalized: create a new order", orderID)
	}
	return acmeErr(ACMEOrderNotReady, "order %s is %s, not ready: every authorization must be valid before finalizing", orderID, status)
}
