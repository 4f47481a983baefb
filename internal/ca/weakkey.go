package ca

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// smallKeyLint is the zlint lint that refuses an ECDSA subject key whose
// private scalar is tiny, and so can be found from the public key by anyone.
// For P-256 keys, lintCertificate replaces its per-leaf run with
// weakP256Key, which gives the same verdict at a fraction of the cost; keys
// on other curves still go through the lint itself.
const smallKeyLint = "e_ecdsa_small_private_key"

// smallKeyBits is the threshold of smallKeyLint in zlint v3.7.3 (its Bits
// setting, 16 by default, which dcv does not change): a key is weak if its
// private scalar d, or n-d where n is the group order, is in 1..2^smallKeyBits.
const smallKeyBits = 16

// smallKeyMax is the largest scalar smallKeyLint refuses, 2^smallKeyBits.
const smallKeyMax = 1 << smallKeyBits

// WeakECDSAKey reports whether pub is an ECDSA P-256 public key d*G whose
// private scalar d is in 1..65536 or in n-65536..n-1 (n the group order), so
// that anyone can compute d from the public key. If it is, it returns d, the
// private scalar itself. This is the verdict of zlint's
// e_ecdsa_small_private_key lint (at its default threshold of 2^16), which
// Issue applies to every leaf; WeakECDSAKey lets a caller refuse such a key
// before signing. ParseCSR applies it.
//
// Only P-256 keys are searched. Any other key, and a P-256 key that is not a
// valid point on the curve, reports false; Issue still runs zlint's own lint
// on keys of other curves. The first call builds a table of 2^16 points,
// which takes tens of milliseconds and half a megabyte kept for the life of
// the process; later calls cost one lookup. WeakECDSAKey is safe for
// concurrent use.
func WeakECDSAKey(pub crypto.PublicKey) (d *big.Int, weak bool) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, false
	}
	small, neg, weak := weakP256Key(k)
	if !weak {
		return nil, false
	}
	d = new(big.Int).SetUint64(small)
	if neg {
		d.Sub(elliptic.P256().Params().N, d)
	}
	return d, true
}

// weakP256Key reports whether pub is a valid P-256 point equal to k*G
// (neg false) or to -k*G (neg true, private scalar n-k) for some k in
// 1..smallKeyMax. Keys on other curves report false.
func weakP256Key(pub *ecdsa.PublicKey) (k uint64, neg, weak bool) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return 0, false, false
	}
	// Bytes fails for a point that is not on the curve; zlint's lint does
	// not apply to such a key either (CheckApplies is false).
	enc, err := pub.Bytes()
	if err != nil || len(enc) != 1+2*p256FieldLen {
		return 0, false, false
	}
	x, y := enc[1:1+p256FieldLen], enc[1+p256FieldLen:]
	table := p256SmallMultiples()
	key := tableKey(x)
	i, _ := slices.BinarySearch(table, key<<tableScalarBits)
	for ; i < len(table) && table[i]>>tableScalarBits == key; i++ {
		// A match of the low 48 bits of X is only a candidate: confirm it
		// by computing the point and comparing both coordinates.
		cand := table[i]&(1<<tableScalarBits-1) + 1
		gx, gy := p256BaseMult(cand)
		if string(gx) != string(x) {
			continue
		}
		if string(gy) == string(y) {
			return cand, false, true
		}
		if isP256Negation(gy, y) {
			return cand, true, true
		}
	}
	return 0, false, false
}

// p256FieldLen is the length in bytes of a P-256 coordinate.
const p256FieldLen = 32

// tableScalarBits is how many low bits of a table entry hold k-1.
const tableScalarBits = smallKeyBits

// tableKey returns the low 48 bits of the big-endian X coordinate x, the
// part of X kept in the table.
func tableKey(x []byte) uint64 {
	var b [8]byte
	copy(b[2:], x[len(x)-6:])
	return binary.BigEndian.Uint64(b[:])
}

// isP256Negation reports whether the big-endian coordinates a and b satisfy
// a + b = p, that is, whether (x, a) and (x, b) are negations of each other.
func isP256Negation(a, b []byte) bool {
	var s big.Int
	s.Add(new(big.Int).SetBytes(a), new(big.Int).SetBytes(b))
	return s.Cmp(elliptic.P256().Params().P) == 0
}

// p256BaseMult returns the big-endian affine coordinates of k*G on P-256,
// for 0 < k < n.
func p256BaseMult(k uint64) (x, y []byte) {
	var s [p256FieldLen]byte
	binary.BigEndian.PutUint64(s[p256FieldLen-8:], k)
	priv, err := ecdh.P256().NewPrivateKey(s[:])
	if err != nil {
		// Unreachable: 0 < k < 2^64 < n.
		panic(fmt.Sprintf("ca: p-256 scalar %d: %v", k, err))
	}
	enc := priv.PublicKey().Bytes()
	return enc[1 : 1+p256FieldLen], enc[1+p256FieldLen:]
}

// weakKeyMessage explains a WeakECDSAKey hit to the applicant, for a
// CSRError.
func weakKeyMessage(d *big.Int) string {
	if d.Cmp(big.NewInt(smallKeyMax)) > 0 {
		small := new(big.Int).Sub(elliptic.P256().Params().N, d)
		return fmt.Sprintf("the P-256 private key is the group order minus %s, so anyone can compute it from the public key; generate a new random key", small)
	}
	return fmt.Sprintf("the P-256 private key is %s, so anyone can compute it from the public key; generate a new random key", d)
}

// weakKeyByLint runs zlint's small-private-key lint (smallKeyLint) on an
// ECDSA key of a curve other than P-256 (which WeakECDSAKey answers
// faster), as Issue does on every leaf, so that a CSR with such a key is
// refused up front rather than failing lint at issuance. It reports the
// lint's details when the key is weak; any other key is not weak.
func weakKeyByLint(pub crypto.PublicKey) (detail string, weak bool, err error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve == elliptic.P256() {
		return "", false, nil
	}
	reg, err := smallKeyLintRegistry()
	if err != nil {
		return "", false, fmt.Errorf("building key lint registry: %w", err)
	}
	zc := &zx509.Certificate{PublicKeyAlgorithm: zx509.ECDSA, PublicKey: k}
	r := zlint.LintCertificateEx(zc, reg).Results[smallKeyLint]
	if r == nil || r.Status < lint.Warn {
		return "", false, nil
	}
	return r.Details, true, nil
}
