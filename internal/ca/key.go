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
	"time"
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

// serialRandomLen is how many octets of a leaf serial come from
// crypto/rand: 80 bits, above the BRs' 64.
const serialRandomLen = 10

// newLeafSerial returns a positive serial number of exactly 127 bits for a
// subscriber certificate issued at now: 46 bits of milliseconds since the
// Unix epoch, then 80 bits from crypto/rand. The serials of later
// certificates sort after earlier ones (as numbers and as the lowercase hex
// of a fixed 32 digits that the store keeps), so a database indexed by
// serial appends where it would otherwise write one random page per
// certificate; the random part keeps them non-sequential (BRs §7.1) and
// unpredictable. The time they reveal is the issuance time the
// certificate's notBefore already shows to the minute. Like newSerial's,
// the top bit is clear and the next one set, so the length never varies.
func newLeafSerial(now time.Time) (*big.Int, error) {
	var b [serialLen]byte
	if _, err := rand.Read(b[serialLen-serialRandomLen:]); err != nil {
		return nil, fmt.Errorf("generating serial: %w", err)
	}
	ms := uint64(max(now.UnixMilli(), 0)) & (1<<46 - 1)
	for i := serialLen - serialRandomLen - 1; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	b[0] = 0x40 | b[0]&0x3f
	return new(big.Int).SetBytes(b[:]), nil
}
