package bench

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// checkLeaf checks that the DER certificate der names exactly names (in any
// order, as dNSName entries of its subjectAltName) and certifies pub, whose
// SubjectPublicKeyInfo DER is spki. It walks the certificate's
// structure only as far as these two fields (RFC 5280 §4.1): parsing it in
// full with crypto/x509 (every name, every extension, the public key's
// point) cost the load generator a twentieth of its CPU, and the server
// under test, not the bench, answers for the rest of the certificate.
func checkLeaf(der []byte, pub *ecdsa.PublicKey, spki []byte, names []string) error {
	got, gotSPKI, err := leafNamesAndKey(der)
	if err != nil {
		return &wrongCertError{reason: err.Error()}
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(names))) {
		return &wrongCertError{reason: fmt.Sprintf("names %v, ordered %v", got, names)}
	}
	if bytes.Equal(gotSPKI, spki) {
		return nil
	}
	// Another encoding of the same key is still the key.
	if k, err := x509.ParsePKIXPublicKey(gotSPKI); err == nil && pub.Equal(k) {
		return nil
	}
	return &wrongCertError{reason: "public key is not the CSR's"}
}

// leafNamesAndKey returns the dNSNames of the subjectAltName extension and
// the SubjectPublicKeyInfo DER of the certificate der.
func leafNamesAndKey(der []byte) (names []string, spki []byte, err error) {
	errMalformed := errors.New("malformed certificate")
	// Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, ... }
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !in.Empty() || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, nil, errMalformed
	}
	// TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1,
	// serialNumber, signature, issuer, validity, subject,
	// subjectPublicKeyInfo, issuerUniqueID [1] OPTIONAL, subjectUniqueID
	// [2] OPTIONAL, extensions [3] EXPLICIT OPTIONAL }
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipASN1(cbasn1.INTEGER) || // serialNumber
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // signature
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // issuer
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // validity
		!tbs.SkipASN1(cbasn1.SEQUENCE) { // subject
		return nil, nil, errMalformed
	}
	var rawSPKI cryptobyte.String
	if !tbs.ReadASN1Element(&rawSPKI, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific()) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(2).ContextSpecific()) {
		return nil, nil, errMalformed
	}
	var exts cryptobyte.String
	var hasExts bool
	if !tbs.ReadOptionalASN1(&exts, &hasExts, cbasn1.Tag(3).Constructed().ContextSpecific()) || !tbs.Empty() {
		return nil, nil, errMalformed
	}
	if !hasExts {
		return nil, nil, errors.New("certificate has no extensions (no subjectAltName)")
	}
	var list cryptobyte.String
	if !exts.ReadASN1(&list, cbasn1.SEQUENCE) || !exts.Empty() {
		return nil, nil, errMalformed
	}
	// Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
	// extnValue OCTET STRING }
	found := false
	for !list.Empty() {
		var ext cryptobyte.String
		var id asn1.ObjectIdentifier
		var value cryptobyte.String
		if !list.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&id) ||
			!ext.SkipOptionalASN1(cbasn1.BOOLEAN) || !ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return nil, nil, errMalformed
		}
		if !id.Equal(oidSubjectAltName) {
			continue
		}
		if found {
			return nil, nil, errors.New("certificate has two subjectAltName extensions")
		}
		found = true
		// GeneralNames ::= SEQUENCE OF GeneralName; dNSName [2] IA5String.
		var gns cryptobyte.String
		if !value.ReadASN1(&gns, cbasn1.SEQUENCE) || !value.Empty() {
			return nil, nil, errors.New("malformed subjectAltName")
		}
		for !gns.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !gns.ReadAnyASN1(&gn, &tag) {
				return nil, nil, errors.New("malformed subjectAltName")
			}
			if tag == cbasn1.Tag(2).ContextSpecific() {
				names = append(names, string(gn))
			}
		}
	}
	if !found {
		return nil, nil, errors.New("certificate has no subjectAltName")
	}
	return names, rawSPKI, nil
}
