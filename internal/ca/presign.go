package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The intermediate key signs only what zlint has passed. A leaf or a CRL is
// built by crypto/x509 as usual, with the intermediate as its issuer, but
// through a tbsCapture in place of the intermediate key: crypto/x509 hands it
// the to-be-signed bytes, and it signs nothing. Those bytes are then signed
// by a throwaway key (the lint key, made when the CA is loaded and never
// written anywhere) into a complete object that zlint lints. Only if it
// passes does the intermediate key sign the very same bytes; the signature is
// checked against the intermediate's public key (as crypto/x509 would) before
// the object is returned. A lint failure therefore leaves nothing signed by
// the CA: no certificate exists that the CA would have to account for.

// sigAlgECDSAWithSHA256 is the DER AlgorithmIdentifier of ecdsa-with-SHA256
// (RFC 5758 §3.2, parameters absent), the only signature algorithm dcv's
// P-256 intermediate uses. zlint checks that it equals the one inside the
// to-be-signed bytes (e_cert_sig_alg_not_match_tbs_sig_alg) and its
// encoding (e_mp_ecdsa_signature_encoding_correct).
var sigAlgECDSAWithSHA256 = []byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}

// errCaptured stops crypto/x509 once tbsCapture has the to-be-signed bytes.
var errCaptured = errors.New("ca: to-be-signed bytes captured")

// tbsCapture is a crypto.MessageSigner that records the message it is asked
// to sign and refuses to sign it. Its Public is the issuer's public key, so
// that crypto/x509 accepts it for that issuer.
type tbsCapture struct {
	pub crypto.PublicKey
	tbs []byte
}

// Public returns the issuer's public key.
func (t *tbsCapture) Public() crypto.PublicKey { return t.pub }

// Sign is never called: crypto.SignMessage prefers SignMessage.
func (t *tbsCapture) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("ca: tbsCapture: Sign called instead of SignMessage")
}

// SignMessage records msg and returns errCaptured.
func (t *tbsCapture) SignMessage(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 {
		return nil, fmt.Errorf("ca: tbsCapture: hash %v, want SHA-256", opts.HashFunc())
	}
	t.tbs = msg
	return nil, errCaptured
}

// captureTBS runs build (a crypto/x509 Create function) with a tbsCapture
// for the intermediate and returns the to-be-signed bytes it produced.
func (c *CA) captureTBS(build func(crypto.Signer) error) ([]byte, error) {
	tc := &tbsCapture{pub: c.inter.PublicKey}
	err := build(tc)
	switch {
	case err == nil:
		return nil, errors.New("ca: crypto/x509 returned an object without signing it")
	case !errors.Is(err, errCaptured):
		return nil, err
	case tc.tbs == nil:
		return nil, errors.New("ca: crypto/x509 gave no to-be-signed bytes")
	}
	return tc.tbs, nil
}

// newLintKey returns the throwaway P-256 key that signs the objects zlint
// lints, with the same algorithm as the intermediate's key.
func newLintKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca: lint key: %w", err)
	}
	return key, nil
}

// lintable returns tbs signed by the lint key: the object zlint lints, whose
// signature has the intermediate's algorithm and the same length bounds.
func (c *CA) lintable(tbs []byte) ([]byte, error) {
	digest := sha256.Sum256(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, c.lintKey, digest[:])
	if err != nil {
		return nil, fmt.Errorf("signing with the lint key: %w", err)
	}
	return assembleSigned(tbs, sig)
}

// signTBS signs tbs, which zlint has passed, with the intermediate key,
// checks the signature with the intermediate's public key, and returns the
// signed object. An ECDSA key signs deterministically (RFC 6979, with no
// random source), so the same bytes always make the same object: a
// certificate signed again after a crash is the one signed before it. The
// usual argument against deterministic signatures (a fault that corrupts one
// signature reveals the key when compared with a correct signature of the
// same message) is answered by the check below: a signature that does not
// verify is never released.
func (c *CA) signTBS(tbs []byte) ([]byte, error) {
	digest := sha256.Sum256(tbs)
	var random io.Reader = rand.Reader
	if _, ok := c.interKey.(*ecdsa.PrivateKey); ok {
		random = nil
	}
	sig, err := c.interKey.Sign(random, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing with the intermediate key: %w", err)
	}
	// As crypto/x509 does: a signer that misbehaves (a faulty key store,
	// a glitch) must not yield an object that does not verify.
	if err := c.inter.CheckSignature(x509.ECDSAWithSHA256, tbs, sig); err != nil {
		return nil, fmt.Errorf("the intermediate key's signature does not verify: %w", err)
	}
	return assembleSigned(tbs, sig)
}

// assembleSigned returns SEQUENCE { tbs, ecdsa-with-SHA256, BIT STRING sig },
// the shape of a certificate and of a CRL (RFC 5280 §4.1, §5.1).
func assembleSigned(tbs, sig []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(sigAlgECDSAWithSHA256)
		b.AddASN1BitString(sig)
	})
	return b.Bytes()
}
