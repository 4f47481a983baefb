package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// b64 is the base64url encoding without padding of RFC 7515 §2
// ("Base64url Encoding").
var b64 = base64.RawURLEncoding

// es256SigSize is the size of an ES256 signature: RFC 7518 §3.4 turns R
// and S into 32-octet big-endian sequences and concatenates them, R first.
const es256SigSize = 64

// jwsSigner signs the JWS of RFC 8555 §6.2 with one P-256 account key:
// flattened JSON serialization, "alg" ES256, and either "jwk" (newAccount)
// or the account URL as "kid" (every other request). The protected-header
// pieces that do not change between requests are encoded once.
//
// A jwsSigner is safe for concurrent use once setKID has returned.
type jwsSigner struct {
	key *ecdsa.PrivateKey
	// jwk is the public key as a JWK in the member order of RFC 7638 §3.2,
	// so that its SHA-256 is the thumbprint.
	jwk []byte
	// thumbprint is base64url(SHA-256(jwk)) (RFC 7638 §3, RFC 8555 §8.1).
	thumbprint string
	// jwkHead and kidHead are the protected header up to the opening quote
	// of the "nonce" value, in jwk or kid form.
	jwkHead []byte
	kidHead []byte
}

func newJWSSigner(key *ecdsa.PrivateKey) (*jwsSigner, error) {
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("jws: account key is not P-256")
	}
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y (SEC 1 §2.3.3)
	if err != nil {
		return nil, fmt.Errorf("jws: encoding the account key: %w", err)
	}
	// RFC 7638 §3.2: the required members of an elliptic curve public key,
	// in lexicographic order, are crv, kty, x and y.
	jwk := fmt.Appendf(nil, `{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, b64.EncodeToString(pub[1:33]), b64.EncodeToString(pub[33:65]))
	sum := sha256.Sum256(jwk)
	s := &jwsSigner{key: key, jwk: jwk, thumbprint: b64.EncodeToString(sum[:])}
	s.jwkHead = append(append([]byte(`{"alg":"ES256","jwk":`), jwk...), `,"nonce":"`...)
	return s, nil
}

// setKID makes every later kid-form JWS name the account URL kid (RFC 8555
// §6.2: "the 'jwk' and 'kid' fields are mutually exclusive").
func (s *jwsSigner) setKID(kid string) {
	h := []byte(`{"alg":"ES256","kid":`)
	h = appendJSONString(h, kid)
	s.kidHead = append(h, `,"nonce":"`...)
}

// sign returns the flattened JWS of payload for url with nonce, in kid form
// if useKID, else in jwk form. A nil payload is the empty payload of a
// POST-as-GET request (RFC 8555 §6.3). nonce must be base64url (see
// validNonce); it is not escaped.
func (s *jwsSigner) sign(url, nonce string, payload []byte, useKID bool) ([]byte, error) {
	head := s.jwkHead
	if useKID {
		head = s.kidHead
	}
	if head == nil {
		return nil, fmt.Errorf("jws: no account URL (kid) yet")
	}
	prot := make([]byte, 0, len(head)+len(nonce)+len(url)+16)
	prot = append(prot, head...)
	prot = append(prot, nonce...)
	prot = append(prot, `","url":`...)
	prot = appendJSONString(prot, url)
	prot = append(prot, '}')

	const (
		open    = `{"protected":"`
		mid     = `","payload":"`
		sigOpen = `","signature":"`
		closing = `"}`
	)
	protLen, payLen := b64.EncodedLen(len(prot)), b64.EncodedLen(len(payload))
	out := make([]byte, 0, len(open)+protLen+len(mid)+payLen+len(sigOpen)+b64.EncodedLen(es256SigSize)+len(closing))
	out = append(out, open...)
	out = b64.AppendEncode(out, prot)
	protB64 := out[len(open):]
	out = append(out, mid...)
	out = b64.AppendEncode(out, payload)
	payB64 := out[len(open)+protLen+len(mid):]

	// RFC 7515 §5.1: the JWS Signing Input is
	// ASCII(BASE64URL(UTF8(JWS Protected Header)) || '.' || BASE64URL(JWS Payload)).
	h := sha256.New()
	h.Write(protB64)
	h.Write([]byte{'.'})
	h.Write(payB64)
	var digest [sha256.Size]byte
	sig, err := signES256(s.key, h.Sum(digest[:0]))
	if err != nil {
		return nil, fmt.Errorf("jws: %w", err)
	}

	out = append(out, sigOpen...)
	out = b64.AppendEncode(out, sig[:])
	return append(out, closing...), nil
}

// signES256 signs digest, a SHA-256 hash, and returns the signature as
// R || S (RFC 7518 §3.4). The signature is deterministic (RFC 6979), whose
// HMAC-DRBG runs on SHA-256: the hedged signatures of ecdsa.SignASN1 draw
// their nonce through HMAC-SHA-512, which made each signature a fifth
// dearer for the load generator. Both are sound ECDSA signatures; the
// server verifies them alike.
func signES256(key *ecdsa.PrivateKey, digest []byte) ([es256SigSize]byte, error) {
	var sig [es256SigSize]byte
	der, err := key.Sign(nil, digest, crypto.SHA256)
	if err != nil {
		return sig, fmt.Errorf("signing: %w", err)
	}
	if err := derSigToRS(der, sig[:]); err != nil {
		return sig, fmt.Errorf("decoding the signature: %w", err)
	}
	return sig, nil
}

// derSigToRS writes the ECDSA-Sig-Value der (RFC 3279 §2.2.3: "SEQUENCE {
// r INTEGER, s INTEGER }") into rs as two big-endian integers of
// len(rs)/2 octets each. Only the short DER lengths of P-256 signatures
// are accepted.
func derSigToRS(der, rs []byte) error {
	if len(der) < 2 || der[0] != 0x30 || int(der[1]) != len(der)-2 || der[1] >= 0x80 {
		return errors.New("not a DER SEQUENCE of the expected length")
	}
	rest := der[2:]
	size := len(rs) / 2
	for i := range 2 {
		if len(rest) < 2 || rest[0] != 0x02 || int(rest[1]) > len(rest)-2 || rest[1] >= 0x80 || rest[1] == 0 {
			return errors.New("not a DER INTEGER")
		}
		v := rest[2 : 2+int(rest[1])]
		rest = rest[2+int(rest[1]):]
		if v[0]&0x80 != 0 {
			return errors.New("negative INTEGER")
		}
		for len(v) > 0 && v[0] == 0 { // the sign octet of a high-bit value
			v = v[1:]
		}
		if len(v) > size || len(v) == 0 {
			return errors.New("INTEGER out of range")
		}
		copy(rs[i*size+size-len(v):(i+1)*size], v)
	}
	if len(rest) != 0 {
		return errors.New("trailing data after the INTEGERs")
	}
	return nil
}

// keyAuthorization is the key authorization of token: RFC 8555 §8.1,
// "keyAuthorization = token || '.' || base64url(Thumbprint(accountKey))".
func (s *jwsSigner) keyAuthorization(token string) string {
	return token + "." + s.thumbprint
}

// appendJSONString appends v to dst as a JSON string (RFC 8259 §7). The
// strings the bench sends (URLs, DNS names) are printable ASCII without
// quotes or backslashes; anything else goes through encoding/json.
func appendJSONString(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(v) // a string always marshals
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, v...)
	return append(dst, '"')
}

// validNonce reports whether n may be a Replay-Nonce: RFC 8555 §6.5.1, "The
// value of the Replay-Nonce header field MUST be an octet string encoded
// according to the base64url encoding".
func validNonce(n string) bool {
	if n == "" || len(n) > maxNonceLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// maxNonceLen bounds a Replay-Nonce kept for the next request: servers use
// 16 to 32 random octets (22 to 43 characters); 256 leaves room for any
// server-side encoding without letting a response grow every request.
const maxNonceLen = 256
