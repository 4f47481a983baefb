package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"

	"github.com/zmap/zlint/v3/util"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxCSRSize is the largest CSR, PEM or DER, that ParseCSR reads. An RSA 8192
// CSR with a hundred names is under 8 KiB; 64 KiB bounds the work an
// untrusted client can ask for while leaving generous room.
const MaxCSRSize = 64 << 10

// Key size limits for subscriber keys. BRs §6.1.5: RSA modulus at least 2048
// bits and divisible by 8; ECDSA on P-256, P-384 or P-521 (this CA accepts
// P-256 and P-384, the curves the WebPKI root programs allow). RSA moduli
// above 8192 bits are refused to bound signature verification cost.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// minRSAExponent is the least RSA public exponent accepted: 2^16+1, the
// bottom of the range BRs §6.1.6 recommend (zlint's
// w_rsa_public_exponent_not_in_range warns below it).
const minRSAExponent = 1<<16 + 1

// Codes of CSRError. They are stable API.
const (
	CSRMalformed      = "CSR_MALFORMED"
	CSRBadSignature   = "CSR_BAD_SIGNATURE"
	CSRKeyTooWeak     = "CSR_KEY_TOO_WEAK"
	CSRKeyUnsupported = "CSR_KEY_UNSUPPORTED"
	CSRTooLarge       = "CSR_TOO_LARGE"
	CSRMustStaple     = "CSR_MUST_STAPLE"
	// CSRNonDNSName: a subjectAltName that is neither a DNS name nor an
	// IP address (an e-mail address, URI, or any other GeneralName), which
	// a domain-validated certificate cannot hold and dcv would otherwise
	// drop without a word.
	CSRNonDNSName = "CSR_NON_DNS_NAME"
)

// AddressAsName returns the first dNSName subjectAltName of csr that is an
// IP address ("192.0.2.1" written as a DNS name): RFC 8738 wants an IP
// address in an iPAddress entry, and a certificate naming it as a dNSName
// would be refused by every relying party and lint.
func AddressAsName(csr *x509.CertificateRequest) (string, bool) {
	for _, n := range csr.DNSNames {
		if _, err := netip.ParseAddr(strings.Trim(n, "[]")); err == nil {
			return n, true
		}
	}
	return "", false
}

// oidTLSFeature is the TLS Feature extension (RFC 7633) that, with
// status_request, makes a certificate "must-staple".
var oidTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}

// WeakRSAModulus reports whether the RSA modulus n factors by Fermat's
// method within the rounds dcv tries (see CheckPublicKey), for keys that
// CheckPublicKey does not see (ACME account keys).
func WeakRSAModulus(n *big.Int) bool { return fermatFactorable(n, fermatRounds) }

// SPKIHash returns the SHA-256 hash of pub's DER SubjectPublicKeyInfo,
// which names a key whatever the certificate or request it is in.
func SPKIHash(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(der)
	return h[:], nil
}

// CSRError is why a CSR or a public key was refused. Code is one of the CSR*
// constants; Message is a sentence fit to show the applicant, without a
// capital at its start (it follows a prefix).
type CSRError struct {
	Code    string
	Message string
}

// Error returns the error as one line of text.
func (e *CSRError) Error() string { return "invalid csr: " + e.Code + ": " + e.Message }

// ParseCSR parses a PKCS#10 certificate request given as PEM ("CERTIFICATE
// REQUEST" or "NEW CERTIFICATE REQUEST") or DER, checks its public key
// against CheckPublicKey, refuses a P-256 key whose private key anyone can
// compute (WeakECDSAKey; CSRKeyTooWeak) and verifies its self-signature.
// Every error is a *CSRError. The names in the CSR are not checked (see
// CSRNames).
func ParseCSR(pemOrDER []byte) (*x509.CertificateRequest, error) {
	if len(pemOrDER) > MaxCSRSize {
		return nil, &CSRError{CSRTooLarge, fmt.Sprintf("the CSR is %d bytes, more than the limit of %d", len(pemOrDER), MaxCSRSize)}
	}
	der := pemOrDER
	if trimmed := bytes.TrimSpace(pemOrDER); bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		block, _ := pem.Decode(trimmed)
		if block == nil {
			return nil, &CSRError{CSRMalformed, "the PEM encoding is not valid"}
		}
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, &CSRError{CSRMalformed, fmt.Sprintf("the PEM block is %q, want \"CERTIFICATE REQUEST\"", block.Type)}
		}
		der = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		// crypto/x509 refuses an ECDSA key on a curve it does not
		// implement (secp256k1, brainpool) as a parse error: a valid
		// request with a key this CA does not accept.
		if curve, ok := unsupportedCurve(der); ok {
			return nil, &CSRError{CSRKeyUnsupported, fmt.Sprintf("the ECDSA curve %s is not accepted; use P-256 or P-384", curve)}
		}
		// The parser's own words (an ASN.1 detail) help no applicant.
		return nil, &CSRError{CSRMalformed, "the CSR is not a valid PKCS#10 request: send a PEM \"CERTIFICATE REQUEST\" block (openssl req -new) or its DER bytes"}
	}
	if err := CheckPublicKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if d, weak := WeakECDSAKey(csr.PublicKey); weak {
		return nil, &CSRError{CSRKeyTooWeak, weakKeyMessage(d)}
	}
	if detail, weak, err := weakKeyByLint(csr.PublicKey); err != nil {
		return nil, err
	} else if weak {
		return nil, &CSRError{CSRKeyTooWeak, "the CSR's key: " + detail}
	}
	for _, e := range csr.Extensions {
		if e.Id.Equal(oidTLSFeature) {
			return nil, &CSRError{CSRMustStaple, "the CSR asks for the OCSP must-staple (TLS feature) extension, but this CA runs no OCSP responder and issues no must-staple certificates: request one without it"}
		}
	}
	if kinds := nonDNSNames(csr); len(kinds) > 0 {
		return nil, &CSRError{CSRNonDNSName, "the CSR's subjectAltName holds " + strings.Join(kinds, ", ") + ", not only DNS names and IP addresses: this CA validates and certifies DNS names and IP addresses alone, and issues nothing else a CSR asks for; request one whose subjectAltNames are the order's identifiers"}
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, &CSRError{CSRBadSignature, "the CSR signature does not verify with its own public key: " + err.Error()}
	}
	return csr, nil
}

// oidECPublicKey is id-ecPublicKey (RFC 5480 §2.1.1).
var oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}

// curveNames names the elliptic curves a CSR may carry that crypto/x509
// does not parse, by their OIDs (SEC 2, RFC 5639).
var curveNames = map[string]string{
	"1.3.132.0.10":          "secp256k1",
	"1.2.840.10045.3.1.1":   "P-192",
	"1.3.132.0.33":          "P-224",
	"1.3.36.3.3.2.8.1.1.7":  "brainpoolP256r1",
	"1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
	"1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
}

// unsupportedCurve returns the name of the named curve of der's public key
// (its OID when unnamed here) when der is a PKCS#10 request (RFC 2986 §4)
// whose key is ECDSA on a curve other than P-256, P-384 and P-521, which
// crypto/x509 parses.
func unsupportedCurve(der []byte) (string, bool) {
	in := cryptobyte.String(der)
	var req, info, spki, alg cryptobyte.String
	var algOID, curveOID asn1.ObjectIdentifier
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&info, cbasn1.SEQUENCE) ||
		!info.SkipASN1(cbasn1.INTEGER) || !info.SkipASN1(cbasn1.SEQUENCE) ||
		!info.ReadASN1(&spki, cbasn1.SEQUENCE) || !spki.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&algOID) || !algOID.Equal(oidECPublicKey) ||
		!alg.ReadASN1ObjectIdentifier(&curveOID) {
		return "", false
	}
	switch id := curveOID.String(); id {
	case "1.2.840.10045.3.1.7", "1.3.132.0.34", "1.3.132.0.35": // P-256, P-384, P-521
		return "", false
	default:
		if name, ok := curveNames[id]; ok {
			return name, true
		}
		return "with OID " + id, true
	}
}

// oidSubjectAltName is the subjectAltName extension (RFC 5280 §4.2.1.6).
var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// generalNameKinds names the GeneralName choices of RFC 5280 §4.2.1.6 by
// context tag; 2 (dNSName) and 7 (iPAddress) are the only ones a TLS server
// certificate of dcv holds.
var generalNameKinds = map[int]string{
	0: "an otherName", 1: "an e-mail address (rfc822Name)", 3: "an x400Address", 4: "a directoryName",
	5: "an ediPartyName", 6: "a URI", 8: "a registeredID",
}

// nonDNSNames lists, once each, the kinds of the subjectAltName entries of
// csr that are neither a dNSName nor an iPAddress, read from the extension
// itself: crypto/x509
// keeps IP addresses, e-mail addresses and URIs, and silently drops every
// other type. A subjectAltName that does not parse is left to the parser.
func nonDNSNames(csr *x509.CertificateRequest) []string {
	var kinds []string
	add := func(k string) {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, ext := range csr.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &seq); err != nil || len(rest) != 0 || seq.Tag != asn1.TagSequence {
			continue
		}
		for b := seq.Bytes; len(b) > 0; {
			var gn asn1.RawValue
			var err error
			if b, err = asn1.Unmarshal(b, &gn); err != nil {
				break
			}
			if gn.Class != asn1.ClassContextSpecific || gn.Tag == 2 || gn.Tag == 7 {
				continue
			}
			if k, ok := generalNameKinds[gn.Tag]; ok {
				add(k)
			} else {
				add("an entry of unknown type")
			}
		}
	}
	return kinds
}

// CheckPublicKey reports, as a *CSRError, whether pub may be certified: RSA
// with a modulus of MinRSABits to MaxRSABits bits divisible by 8 and an odd
// exponent of at least 3, or ECDSA on P-256 or P-384 (BRs §6.1.5, §6.1.6).
// Ed25519, DSA and all other keys are CSRKeyUnsupported.
func CheckPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		switch {
		case bits < MinRSABits:
			return &CSRError{CSRKeyTooWeak, fmt.Sprintf("the RSA key has %d bits; at least %d are required", bits, MinRSABits)}
		case bits > MaxRSABits:
			return &CSRError{CSRKeyUnsupported, fmt.Sprintf("the RSA key has %d bits; at most %d are accepted", bits, MaxRSABits)}
		case bits%8 != 0:
			return &CSRError{CSRKeyUnsupported, fmt.Sprintf("the RSA key has %d bits, which is not a multiple of 8", bits)}
		case k.E < 3 || k.E%2 == 0:
			return &CSRError{CSRKeyUnsupported, fmt.Sprintf("the RSA public exponent %d is not an odd number of at least 3", k.E)}
		case k.E < minRSAExponent:
			// BRs §6.1.6: "SHOULD be in the range between 2^16+1 and
			// 2^256-1"; zlint warns below it, and a warning blocks.
			return &CSRError{CSRKeyTooWeak, fmt.Sprintf("the RSA public exponent %d is below %d, which the CA/B Forum BRs (§6.1.6) ask for: generate a key with the usual exponent 65537", k.E, minRSAExponent)}
		case !util.PrimeNoSmallerThan752(k.N):
			// zlint's w_rsa_mod_factors_smaller_than_752 (a warning, which
			// blocks), asked up front.
			return &CSRError{CSRKeyTooWeak, "the RSA modulus has a prime factor smaller than 752: generate a new key"}
		case fermatFactorable(k.N, fermatRounds):
			return &CSRError{CSRKeyTooWeak, "the RSA modulus can be factored by Fermat's method (its two primes are too close to each other): generate a new key"}
		}
		return nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384():
			return nil
		}
		return &CSRError{CSRKeyUnsupported, fmt.Sprintf("the ECDSA curve %s is not accepted; use P-256 or P-384", k.Curve.Params().Name)}
	case nil:
		return &CSRError{CSRKeyUnsupported, "the public key algorithm is not recognised; use ECDSA P-256 or P-384, or RSA"}
	default:
		return &CSRError{CSRKeyUnsupported, fmt.Sprintf("%s keys are not allowed by the baseline requirements; use ECDSA P-256 or P-384, or RSA", keyTypeName(pub))}
	}
}

func keyTypeName(pub crypto.PublicKey) string {
	s := fmt.Sprintf("%T", pub)
	s = strings.TrimPrefix(s, "*")
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	return s
}

// CSRNames returns the identifiers a CSR asks for: its DNS subjectAltNames,
// lowercased, its IP address subjectAltNames in their canonical text form
// (RFC 5952 for IPv6), and its subject common name if non-empty (an IP
// address in canonical form, a name lowercased), deduplicated and sorted.
// It does not validate them; that is package ident's job.
func CSRNames(csr *x509.CertificateRequest) []string {
	names := make([]string, 0, len(csr.DNSNames)+len(csr.IPAddresses)+1)
	for _, n := range csr.DNSNames {
		names = append(names, strings.ToLower(n))
	}
	for _, ip := range csr.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			names = append(names, a.Unmap().String())
		}
	}
	if cn := csr.Subject.CommonName; cn != "" {
		if a, err := netip.ParseAddr(cn); err == nil && a.Zone() == "" {
			names = append(names, a.Unmap().String())
		} else {
			names = append(names, strings.ToLower(cn))
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
