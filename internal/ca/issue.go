package ca

import (
	"cmp"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// maxDNSNames bounds the subjectAltName list of one leaf. The BRs set no
// limit; 100 matches common WebPKI practice and keeps signing and linting
// cheap.
const maxDNSNames = 100

// IssueRequest is what to certify.
type IssueRequest struct {
	// DNSNames are the subjectAltName dNSNames, in order; at least one, at
	// most 100. They must already be validated and normalised (package
	// ident); zlint refuses malformed ones.
	DNSNames []string
	// PublicKey is the subscriber's key; see CheckPublicKey.
	PublicKey crypto.PublicKey
	// Validity is this leaf's validity; if zero, Config.Validity. More than
	// MaxValidityAt(now) is an error.
	Validity time.Duration
}

// Issued is a signed, lint-clean leaf.
type Issued struct {
	// Serial is the serial number in lowercase hex, 32 digits.
	Serial string
	// DER is the leaf certificate.
	DER []byte
	// ChainPEM is the leaf then the intermediate, PEM-encoded (the
	// application/pem-certificate-chain of RFC 8555 §9.1).
	ChainPEM string
	// NotBefore and NotAfter are the validity bounds as encoded in the
	// certificate (whole seconds, both inclusive).
	NotBefore, NotAfter time.Time
}

// Issue makes a TLS server (subscriber, domain-validated) certificate
// following the CA/B Forum Baseline Requirements §7.1.2.7, lints it with
// zlint, and has the intermediate sign it only if no lint reports a warning,
// an error or a fatal result (else a *LintError, and the intermediate key has
// signed nothing). A refused public
// key is reported as a *CSRError. Issue does not validate domain control nor
// record anything: the caller must store the result.
//
// The profile:
//   - serial: 16 octets, the issuance time then 80 bits from crypto/rand
//     (see newLeafSerial);
//   - notBefore: Now() minus one minute, so that relying parties whose clock
//     is slightly behind accept the certificate at once; notAfter: notBefore +
//     validity - 1s, because RFC 5280 §4.1.2.5 makes both bounds inclusive
//     ("The validity period for a certificate is the period of time from
//     notBefore through notAfter, inclusive.");
//   - subject: empty. BRs §7.1.2.7.1 lists commonName as "NOT RECOMMENDED"
//     and zlint warns about it (w_subject_common_name_included), so the
//     names live only in subjectAltName;
//   - subjectAltName: the DNS names in the given order, critical because
//     the subject is empty (RFC 5280 §4.2.1.6: "If the subject field
//     contains an empty sequence, then the issuing CA MUST include a
//     subjectAltName extension that is marked as critical.");
//   - keyUsage (critical): digitalSignature, plus keyEncipherment for RSA
//     keys (BRs §7.1.2.7.11);
//   - extKeyUsage: id-kp-serverAuth only (BRs §7.1.2.7.10);
//   - basicConstraints: cA FALSE, critical;
//   - authorityKeyIdentifier: the intermediate's key id; no
//     subjectKeyIdentifier (BRs §7.1.2.7.6: NOT RECOMMENDED);
//   - certificatePolicies: 2.23.140.1.2.1 (BRs §7.1.6.1, domain validated);
//   - authorityInfoAccess caIssuers / OCSP and cRLDistributionPoints from
//     Config when set;
//   - signature: ECDSA with SHA-256 by the intermediate's P-256 key.
//
// Issue is safe for concurrent use.
func (c *CA) Issue(req IssueRequest) (*Issued, error) {
	if len(req.DNSNames) == 0 {
		return nil, errors.New("ca: issue: no DNS names")
	}
	if len(req.DNSNames) > maxDNSNames {
		return nil, fmt.Errorf("ca: issue: %d DNS names, at most %d allowed", len(req.DNSNames), maxDNSNames)
	}
	for i, n := range req.DNSNames {
		if n == "" {
			return nil, fmt.Errorf("ca: issue: DNS name %d is empty", i)
		}
	}
	validity := cmp.Or(req.Validity, c.cfg.Validity)
	max := MaxValidityAt(c.cfg.Now())
	if validity == 0 {
		validity = min(DefaultValidity, max)
	}
	switch {
	case validity < 0:
		return nil, fmt.Errorf("ca: issue: negative validity %s", validity)
	case validity > max:
		// The configuration was checked when it was loaded; a milestone of
		// the BRs may have passed since.
		return nil, fmt.Errorf("ca: issue: validity %s exceeds the maximum of %s for a certificate issued now (CA/B Forum BRs §6.3.2): configure a shorter one", Days(validity), Days(max))
	case validity < time.Second:
		return nil, fmt.Errorf("ca: issue: validity %s is shorter than one second", validity)
	}
	if err := CheckPublicKey(req.PublicKey); err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}

	now := c.cfg.Now()
	serial, err := newLeafSerial(now)
	if err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	notBefore := now.UTC().Truncate(time.Second).Add(-backdate)
	notAfter := notBefore.Add(validity - time.Second)

	ku := x509.KeyUsageDigitalSignature
	if _, ok := req.PublicKey.(*rsa.PublicKey); ok {
		ku |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		DNSNames:              req.DNSNames,
		KeyUsage:              ku,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		Policies:              []x509.OID{oidPolicyDV},
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}
	if c.cfg.AIAIssuerURL != "" {
		tmpl.IssuingCertificateURL = []string{c.cfg.AIAIssuerURL}
	}
	if c.cfg.OCSPURL != "" {
		tmpl.OCSPServer = []string{c.cfg.OCSPURL}
	}
	if c.cfg.CRLURL != "" {
		tmpl.CRLDistributionPoints = []string{c.cfg.CRLURL}
	}
	// The intermediate key signs only bytes that zlint passed (presign.go).
	tbs, err := c.captureTBS(func(s crypto.Signer) error {
		_, err := x509.CreateCertificate(rand.Reader, tmpl, c.inter, req.PublicKey, s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ca: issue: building: %w", err)
	}
	linted, err := c.lintable(tbs)
	if err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	if err := lintCertificate(linted, c.waivers); err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	der, err := c.signTBS(tbs)
	if err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	leafPEM := pemCert(der)
	var chain strings.Builder
	chain.Grow(len(leafPEM) + len(c.interPEM))
	chain.Write(leafPEM)
	chain.Write(c.interPEM)
	return &Issued{
		Serial:    fmt.Sprintf("%032x", serial),
		DER:       der,
		ChainPEM:  chain.String(),
		NotBefore: notBefore,
		NotAfter:  notAfter,
	}, nil
}
