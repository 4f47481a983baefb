package ca

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
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
	// IPAddresses are the subjectAltName iPAddresses, in order, after the
	// DNS names (RFC 8738). Together with DNSNames, at least one and at
	// most 100. They must already be validated (ident.Policy.ParseIP).
	IPAddresses []netip.Addr
	// PublicKey is the subscriber's key; see CheckPublicKey.
	PublicKey crypto.PublicKey
	// Validity is this leaf's validity; if zero, Config.Validity. More than
	// MaxValidityAt(now) is an error.
	Validity time.Duration
	// MaxValidity, if set, bounds the validity the leaf gets, whatever
	// Validity and Config.Validity say (a policy for some identifiers:
	// certificates naming IP addresses kept short-lived).
	MaxValidity time.Duration
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
// Issue is Prepare then Sign, for a caller that need not record what it is
// about to sign. It is safe for concurrent use.
func (c *CA) Issue(req IssueRequest) (*Issued, error) {
	p, err := c.Prepare(req)
	if err != nil {
		return nil, err
	}
	return c.Sign(p, req)
}

// Prepared is a leaf built and linted, not yet signed. Its to-be-signed
// bytes fix all the certificate will say, serial and validity included, and
// the intermediate's signature of them is deterministic (RFC 6979): signing
// them again, after a crash, makes the very same certificate, byte for byte.
// A caller that keeps TBS durably before signing can therefore never leave a
// certificate behind that it does not know of, nor sign two for one order.
type Prepared struct {
	// TBS is the DER TBSCertificate.
	TBS []byte

	// by is the CA that built and linted TBS for req, in this process; nil
	// for bytes read back from storage (see Sign).
	by  *CA
	req *IssueRequest
	// serial, notBefore and notAfter are as encoded in TBS.
	serial              string
	notBefore, notAfter time.Time
}

// Serial returns the serial number in lowercase hex, 32 digits, of a leaf
// Prepare made.
func (p *Prepared) Serial() string { return p.serial }

// Prepare builds the leaf Issue describes and lints it, signing nothing: a
// lint failure is a *LintError, a refused public key a *CSRError.
func (c *CA) Prepare(req IssueRequest) (*Prepared, error) {
	if len(req.DNSNames)+len(req.IPAddresses) == 0 {
		return nil, errors.New("ca: issue: no DNS names and no IP addresses")
	}
	if n := len(req.DNSNames) + len(req.IPAddresses); n > maxDNSNames {
		return nil, fmt.Errorf("ca: issue: %d names, at most %d allowed", n, maxDNSNames)
	}
	for i, n := range req.DNSNames {
		if n == "" {
			return nil, fmt.Errorf("ca: issue: DNS name %d is empty", i)
		}
	}
	for i, a := range req.IPAddresses {
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			return nil, fmt.Errorf("ca: issue: IP address %d (%s) is not a plain IPv4 or IPv6 address", i, a)
		}
	}
	validity := cmp.Or(req.Validity, c.cfg.Validity)
	max := MaxValidityAt(c.cfg.Now())
	if validity == 0 {
		validity = min(DefaultValidity, max)
	}
	if req.MaxValidity > 0 {
		validity = min(validity, req.MaxValidity)
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
		IPAddresses:           netIPs(req.IPAddresses),
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
	if err := lintCertificate(linted, c.waiversFor(req.IPAddresses)); err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	return &Prepared{TBS: tbs, by: c, req: &req, serial: fmt.Sprintf("%032x", serial), notBefore: notBefore, notAfter: notAfter}, nil
}

// ErrStalePrepared is wrapped by Sign's error for to-be-signed bytes read back
// from storage that this CA may no longer sign: another intermediate is
// loaded, or their notBefore is more than MaxSignDelay in the past. Nothing is
// signed; the caller prepares the leaf anew.
var ErrStalePrepared = errors.New("ca: prepared certificate can no longer be signed")

// MaxSignDelay is how long after its notBefore a prepared leaf may still be
// signed. The CA/B Forum BRs (§7.1.2.7) require a notBefore within 48 hours
// of the signing; an hour is kept in hand for clocks.
const MaxSignDelay = 47 * time.Hour

// Sign has the intermediate sign p, deterministically, and returns the
// certificate with its chain. A p that Prepare made for req in this process
// is signed as it is. Any other (to-be-signed bytes read back from storage
// after a crash, wrapped in a Prepared with only TBS set) is parsed and
// checked first: issued by the loaded intermediate (else ErrStalePrepared),
// with a notBefore within MaxSignDelay (else ErrStalePrepared), exactly
// req's DNS names, IP addresses and public key, and a validity within what
// Issue allows now; it is then linted again, as Prepare does. The validity
// is the stored bytes' own: a profile's or the CA's validity changed since
// does not change the certificate that may have been signed before, but a
// validity above req.MaxValidity (a bound set since) is ErrStalePrepared.
func (c *CA) Sign(p *Prepared, req IssueRequest) (*Issued, error) {
	if p.by != c || p.req == nil || !sameRequest(*p.req, req) {
		if err := c.checkStored(p, req); err != nil {
			return nil, err
		}
	}
	der, err := c.signTBS(p.TBS)
	if err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	return c.issued(der, p.serial, p.notBefore, p.notAfter), nil
}

// netIPs converts addresses to crypto/x509's form: 4 bytes for IPv4, 16
// for IPv6, as the iPAddress GeneralName encodes them (RFC 5280 §4.2.1.6).
func netIPs(as []netip.Addr) []net.IP {
	if len(as) == 0 {
		return nil
	}
	out := make([]net.IP, len(as))
	for i, a := range as {
		out[i] = net.IP(a.AsSlice())
	}
	return out
}

// LeafIPs returns the subjectAltName IP addresses of c as encoded: 4
// bytes, an IPv4 address; 16, an IPv6 one.
func LeafIPs(c *x509.Certificate) []netip.Addr {
	var out []netip.Addr
	for _, ip := range c.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a)
		}
	}
	return out
}

// sameRequest reports whether a and b ask for the same leaf.
func sameRequest(a, b IssueRequest) bool {
	if a.Validity != b.Validity || a.MaxValidity != b.MaxValidity || !slices.Equal(a.DNSNames, b.DNSNames) || !slices.Equal(a.IPAddresses, b.IPAddresses) {
		return false
	}
	k, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b.PublicKey)
}

// checkStored checks to-be-signed bytes that were not prepared by c for req
// in this process (see Sign), and fills p's serial and validity from them.
func (c *CA) checkStored(p *Prepared, req IssueRequest) error {
	linted, err := c.lintable(p.TBS)
	if err != nil {
		return fmt.Errorf("ca: issue: stored to-be-signed bytes: %w", err)
	}
	leaf, err := x509.ParseCertificate(linted)
	if err != nil {
		return fmt.Errorf("ca: issue: stored to-be-signed bytes do not parse: %w", err)
	}
	serial := fmt.Sprintf("%032x", leaf.SerialNumber)
	now := c.cfg.Now()
	switch {
	case !bytes.Equal(leaf.RawIssuer, c.inter.RawSubject) || !bytes.Equal(leaf.AuthorityKeyId, c.inter.SubjectKeyId):
		return fmt.Errorf("%w: certificate %s names another issuer than the loaded intermediate (%s)", ErrStalePrepared, serial, c.inter.Subject)
	case now.Sub(leaf.NotBefore) > MaxSignDelay:
		return fmt.Errorf("%w: certificate %s has a notBefore of %s, more than %s ago (CA/B Forum BRs §7.1.2.7)", ErrStalePrepared, serial, leaf.NotBefore.UTC().Format(time.RFC3339), MaxSignDelay)
	case leaf.NotBefore.After(now.Add(backdate)):
		return fmt.Errorf("ca: issue: stored certificate %s has a notBefore of %s, in the future", serial, leaf.NotBefore.UTC().Format(time.RFC3339))
	case !slices.Equal(leaf.DNSNames, req.DNSNames):
		return fmt.Errorf("ca: issue: stored certificate %s is for %v, not %v", serial, leaf.DNSNames, req.DNSNames)
	case !slices.Equal(LeafIPs(leaf), req.IPAddresses):
		return fmt.Errorf("ca: issue: stored certificate %s is for the addresses %v, not %v", serial, LeafIPs(leaf), req.IPAddresses)
	}
	if k, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(req.PublicKey) {
		return fmt.Errorf("ca: issue: stored certificate %s is for another public key", serial)
	}
	if validity := leaf.NotAfter.Sub(leaf.NotBefore) + time.Second; req.MaxValidity > 0 && validity > req.MaxValidity {
		// Prepared under an older, longer policy: built again.
		return fmt.Errorf("%w: certificate %s has a validity of %s, more than the %s now allowed", ErrStalePrepared, serial, Days(validity), Days(req.MaxValidity))
	}
	if validity := leaf.NotAfter.Sub(leaf.NotBefore) + time.Second; validity > MaxValidityAt(leaf.NotBefore) {
		return fmt.Errorf("ca: issue: stored certificate %s has a validity of %s, more than the maximum of %s", serial, Days(validity), Days(MaxValidityAt(leaf.NotBefore)))
	}
	if err := lintCertificate(linted, c.waiversFor(LeafIPs(leaf))); err != nil {
		return fmt.Errorf("ca: issue: %w", err)
	}
	p.serial, p.notBefore, p.notAfter = serial, leaf.NotBefore, leaf.NotAfter
	return nil
}

// issued returns the signed leaf der with its chain.
func (c *CA) issued(der []byte, serial string, notBefore, notAfter time.Time) *Issued {
	leafPEM := pemCert(der)
	var chain strings.Builder
	chain.Grow(len(leafPEM) + len(c.interPEM))
	chain.Write(leafPEM)
	chain.Write(c.interPEM)
	return &Issued{Serial: serial, DER: der, ChainPEM: chain.String(), NotBefore: notBefore, NotAfter: notAfter}
}
