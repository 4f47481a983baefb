package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// maxCRLValidity is the longest nextUpdate - thisUpdate this package signs:
// BRs §4.9.7, for CRLs covering Subscriber Certificates, "the value of the
// nextUpdate field MUST NOT be more than ten days beyond the value of the
// thisUpdate field".
const maxCRLValidity = 10 * 24 * time.Hour

// CRL returns a DER-encoded X.509 v2 CRL (RFC 5280 §5) signed by the
// intermediate, listing revoked. number is the CRL number, which RFC 5280
// §5.2.3 requires to be a "monotonically increasing sequence number" of at
// most 20 octets; keeping it increasing across calls is the caller's job.
// nextUpdate must follow thisUpdate by at most ten days (BRs §4.9.7). The CRL
// is linted like a certificate before the intermediate signs it; a warning or
// error yields a *LintError.
func (c *CA) CRL(number *big.Int, revoked []x509.RevocationListEntry, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	switch {
	case number == nil || number.Sign() < 0:
		return nil, errors.New("ca: crl: number must be non-negative")
	case number.BitLen() > 159:
		return nil, errors.New("ca: crl: number longer than 20 octets (RFC 5280 §5.2.3)")
	case !nextUpdate.After(thisUpdate):
		return nil, fmt.Errorf("ca: crl: nextUpdate %s is not after thisUpdate %s", nextUpdate, thisUpdate)
	case nextUpdate.Sub(thisUpdate) > maxCRLValidity:
		return nil, fmt.Errorf("ca: crl: nextUpdate is %s after thisUpdate, more than the %s allowed (BRs §4.9.7)", nextUpdate.Sub(thisUpdate), maxCRLValidity)
	}
	tmpl := &x509.RevocationList{
		Number:                    number,
		ThisUpdate:                thisUpdate.UTC(),
		NextUpdate:                nextUpdate.UTC(),
		RevokedCertificateEntries: revoked,
		SignatureAlgorithm:        x509.ECDSAWithSHA256,
	}
	// As for leaves, the intermediate key signs only bytes that zlint
	// passed (presign.go).
	tbs, err := c.captureTBS(func(s crypto.Signer) error {
		_, err := x509.CreateRevocationList(rand.Reader, tmpl, c.inter, s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ca: crl: building: %w", err)
	}
	linted, err := c.lintable(tbs)
	if err != nil {
		return nil, fmt.Errorf("ca: crl: %w", err)
	}
	if err := lintCRL(linted); err != nil {
		return nil, fmt.Errorf("ca: crl: %w", err)
	}
	der, err := c.signTBS(tbs)
	if err != nil {
		return nil, fmt.Errorf("ca: crl: %w", err)
	}
	return der, nil
}
