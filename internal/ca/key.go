package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
)

// GenerateKey returns a new ECDSA P-256 key and its PKCS#8 PEM encoding
// ("PRIVATE KEY" block).
func GenerateKey() (crypto.Signer, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating p-256 key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding p-256 key: %w", err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// serialLen is the length in bytes of every serial number this package
// writes.
const serialLen = 16

// newSerial returns a positive serial number of exactly 127 bits, 126 of
// them from crypto/rand.
//
// BRs §7.1: "CAs SHALL generate non-sequential Certificate serial numbers
// greater than zero (0) containing at least 64 bits of output from a CSPRNG."
// RFC 5280 §4.1.2.2 limits serials to 20 octets. Clearing the top bit keeps
// the DER INTEGER positive without a leading zero octet; setting the next bit
// fixes the length at 16 octets, so the value is never zero and never shorter
// than 64 bits whatever the random bytes are.
func newSerial() (*big.Int, error) {
	var b [serialLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("generating serial: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40
	return new(big.Int).SetBytes(b[:]), nil
}
