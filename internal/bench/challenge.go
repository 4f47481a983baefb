package bench

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// dns01Value is the TXT value of a dns-01 challenge: RFC 8555 §8.4, "the
// base64url encoding of the SHA-256 digest of the key authorization".
func dns01Value(keyAuth string) string {
	sum := sha256.Sum256([]byte(keyAuth))
	return b64.EncodeToString(sum[:])
}

// oidACMEIdentifier is id-pe-acmeIdentifier (RFC 8737 §6.1).
var oidACMEIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}

// tlsALPN01Validity is the validity of a tls-alpn-01 certificate: the
// validator only looks at its extensions, and a flow lasts at most
// FlowTimeout.
const tlsALPN01Validity = time.Hour

// tlsALPN01Cert returns the self-signed certificate of a tls-alpn-01
// challenge for name, with key. RFC 8737 §3: the certificate "MUST contain
// an acmeIdentifier extension and a subjectAlternativeName extension"; the
// latter "MUST contain a single dNSName entry where the value is the domain
// name being validated", the former "MUST contain the SHA-256 digest [...]
// of the key authorization" and "MUST be critical". Its extnValue is the
// DER of Authorization ::= OCTET STRING (SIZE (32)) (§6.1).
func tlsALPN01Cert(key *ecdsa.PrivateKey, name, keyAuth string) (*tls.Certificate, error) {
	sum := sha256.Sum256([]byte(keyAuth))
	ext, err := asn1.Marshal(sum[:])
	if err != nil {
		return nil, fmt.Errorf("tls-alpn-01: encoding acmeIdentifier: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, fmt.Errorf("tls-alpn-01: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       now.Add(-time.Minute),
		NotAfter:        now.Add(tlsALPN01Validity),
		DNSNames:        []string{name},
		ExtraExtensions: []pkix.Extension{{Id: oidACMEIdentifier, Critical: true, Value: ext}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("tls-alpn-01: certificate for %s: %w", name, err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
