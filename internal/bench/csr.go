package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
)

// Object identifiers of a certificate signing request.
var (
	// oidExtensionRequest is PKCS#9 extensionRequest (RFC 2985 §5.4.2).
	oidExtensionRequest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}
	// oidSubjectAltName is id-ce-subjectAltName (RFC 5280 §4.2.1.6).
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	// oidECDSAWithSHA256 is ecdsa-with-SHA256 (RFC 5758 §3.2).
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// emptyName is the DER of an empty RDNSequence: the CSRs name their
// subject only in subjectAltName, as RFC 8555 §7.4 allows.
var emptyName = []byte{0x30, 0x00}

// csrMaker builds PKCS#10 certificate signing requests (RFC 2986) for one
// P-256 key: an empty subject and the DNS names in a subjectAltName
// extension request, signed with ECDSA and SHA-256.
//
// It exists because x509.CreateCertificateRequest verifies the signature
// it has just made, which cost the load generator an ECDSA verification
// (about a twentieth of its CPU) per certificate on the machine it shares
// with the server under test. The server still parses the CSR and checks
// its signature in full.
type csrMaker struct {
	key  *ecdsa.PrivateKey
	spki asn1.RawValue // SubjectPublicKeyInfo, DER
}

func newCSRMaker(key *ecdsa.PrivateKey) (*csrMaker, error) {
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encoding the certificate key: %w", err)
	}
	return &csrMaker{key: key, spki: asn1.RawValue{FullBytes: spki}}, nil
}

// The ASN.1 structures of RFC 2986 §4, as encoding/asn1 marshals them.
type (
	certificationRequestInfo struct {
		Version    int
		Subject    asn1.RawValue
		SPKI       asn1.RawValue
		Attributes []csrAttribute `asn1:"tag:0"`
	}
	csrAttribute struct {
		Type   asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}
	csrExtension struct {
		ID    asn1.ObjectIdentifier
		Value []byte
	}
	algorithmIdentifier struct {
		Algorithm asn1.ObjectIdentifier
	}
	certificationRequest struct {
		Info      asn1.RawValue
		Algorithm algorithmIdentifier
		Signature asn1.BitString
	}
)

// make returns the DER of a CSR for names.
func (m *csrMaker) make(names []string) ([]byte, error) {
	// GeneralNames (RFC 5280 §4.2.1.6): dNSName is [2] IMPLICIT IA5String.
	gns := make([]asn1.RawValue, len(names))
	for i, n := range names {
		gns[i] = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(n)}
	}
	san, err := asn1.Marshal(gns)
	if err != nil {
		return nil, fmt.Errorf("encoding subjectAltName: %w", err)
	}
	exts, err := asn1.Marshal([]csrExtension{{ID: oidSubjectAltName, Value: san}})
	if err != nil {
		return nil, fmt.Errorf("encoding extensions: %w", err)
	}
	info, err := asn1.Marshal(certificationRequestInfo{
		Subject:    asn1.RawValue{FullBytes: emptyName},
		SPKI:       m.spki,
		Attributes: []csrAttribute{{Type: oidExtensionRequest, Values: []asn1.RawValue{{FullBytes: exts}}}},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding certificationRequestInfo: %w", err)
	}
	digest := sha256.Sum256(info)
	// Deterministic (RFC 6979), as in signES256, for the same saving.
	sig, err := m.key.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing the CSR: %w", err)
	}
	return asn1.Marshal(certificationRequest{
		Info:      asn1.RawValue{FullBytes: info},
		Algorithm: algorithmIdentifier{Algorithm: oidECDSAWithSHA256},
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
}
