package ca

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/zmap/zlint/v3/util"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func makeCSR(t *testing.T, key crypto.Signer, cn string, names ...string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: cn},
		DNSNames: names,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemCSR(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestParseCSR(t *testing.T) {
	t.Parallel()
	ks := testKeys()
	good := makeCSR(t, ks.p256, "", "example.com")
	tampered := slices.Clone(good)
	tampered[len(tampered)-5] ^= 0x01 // inside the signature BIT STRING

	tests := []struct {
		name     string
		input    []byte
		wantCode string // "" for success
		want     string // words of the message
	}{
		{"good p256 pem", pemCSR(good), "", ""},
		{"good p256 der", good, "", ""},
		{"good p256 pem with leading whitespace", append([]byte("\n  "), pemCSR(good)...), "", ""},
		{"good p384", pemCSR(makeCSR(t, ks.p384, "example.com")), "", ""},
		{"good rsa 2048", pemCSR(makeCSR(t, ks.rsa2048, "", "example.com")), "", ""},
		{"new certificate request pem type", pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: good}), "", ""},
		{"rsa 1024", pemCSR(makeCSR(t, ks.rsa1024, "", "example.com")), CSRKeyTooWeak, "the RSA key has 1024 bits; at least 2048"},
		{"p521", pemCSR(makeCSR(t, ks.p521, "", "example.com")), CSRKeyUnsupported, "the ECDSA curve P-521 is not accepted"},
		{"ed25519", pemCSR(makeCSR(t, ks.ed, "", "example.com")), CSRKeyUnsupported, "ed25519 keys are not allowed"},
		{"tampered signature", tampered, CSRBadSignature, "the CSR signature does not verify"},
		// crypto/x509 does not parse a key on a curve it lacks: the
		// request is valid, its key is refused (ACME run: "not a valid
		// PKCS#10 request" for secp256k1).
		{"p192", curveCSR(t, good, "1.2.840.10045.3.1.1"), CSRKeyUnsupported, "the ECDSA curve P-192 is not accepted; use P-256 or P-384"},
		{"secp256k1", curveCSR(t, good, "1.3.132.0.10"), CSRKeyUnsupported, "the ECDSA curve secp256k1 is not accepted; use P-256 or P-384"},
		{"an unnamed curve", curveCSR(t, good, "1.2.3.4"), CSRKeyUnsupported, "the ECDSA curve with OID 1.2.3.4 is not accepted"},
		{"garbage", []byte("hello, this is not a csr"), CSRMalformed, "not a valid PKCS#10"},
		{"empty", nil, CSRMalformed, "not a valid PKCS#10"},
		{"broken pem", []byte("-----BEGIN CERTIFICATE REQUEST-----\n!!!\n"), CSRMalformed, "PEM encoding is not valid"},
		{"certificate pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good}), CSRMalformed, `"CERTIFICATE", want "CERTIFICATE REQUEST"`},
		{"too large", make([]byte, MaxCSRSize+1), CSRTooLarge, "65537 bytes, more than the limit of 65536"},
		{"must-staple", pemCSR(mustStapleCSR(t, ks.p256)), CSRMustStaple, "the CSR asks for the OCSP must-staple (TLS feature) extension, but this CA runs no OCSP responder"},
		{"an ip address beside the dns name", pemCSR(sanCSR(t, ks.p256, func(r *x509.CertificateRequest) { r.IPAddresses = []net.IP{net.ParseIP("192.0.2.1")} })), "", ""},
		{"an ip address and a uri", pemCSR(sanCSR(t, ks.p256, func(r *x509.CertificateRequest) {
			r.IPAddresses = []net.IP{net.ParseIP("2001:db8::1")}
			r.URIs = []*url.URL{{Scheme: "https", Host: "example.com"}}
		})), CSRNonDNSName, "holds a URI, not only DNS names and IP addresses"},
		{"e-mail and uri", pemCSR(sanCSR(t, ks.p256, func(r *x509.CertificateRequest) {
			r.EmailAddresses = []string{"a@example.com"}
			r.URIs = []*url.URL{{Scheme: "https", Host: "example.com"}}
		})), CSRNonDNSName, "holds an e-mail address (rfc822Name), a URI, not only"},
		// crypto/x509 drops a directoryName from the names it parses:
		// read from the extension itself, it is refused too.
		{"a directoryName", pemCSR(sanCSR(t, ks.p256, func(r *x509.CertificateRequest) {
			r.DNSNames = nil
			r.ExtraExtensions = []pkix.Extension{{Id: oidSubjectAltName, Value: sanWithDirName(t, "example.com")}}
		})), CSRNonDNSName, "holds a directoryName"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			csr, err := ParseCSR(tc.input)
			if tc.wantCode == "" {
				if err != nil || csr == nil {
					t.Fatalf("ParseCSR = %v, %v; want a CSR", csr, err)
				}
				return
			}
			var ce *CSRError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a *CSRError", err)
			}
			if ce.Code != tc.wantCode || !strings.Contains(ce.Message, tc.want) {
				t.Errorf("CSRError = %s / %q, want %s / containing %q", ce.Code, ce.Message, tc.wantCode, tc.want)
			}
			if want := "invalid csr: " + tc.wantCode + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err, want)
			}
		})
	}
}

// mustStapleCSR is a CSR asking for the TLS Feature extension with
// status_request (RFC 7633), as certbot --must-staple sends.
// sanCSR makes a CSR for example.com, changed by edit before signing.
func sanCSR(t *testing.T, key crypto.Signer, edit func(*x509.CertificateRequest)) []byte {
	t.Helper()
	r := &x509.CertificateRequest{DNSNames: []string{"example.com"}}
	edit(r)
	der, err := x509.CreateCertificateRequest(rand.Reader, r, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// sanWithDirName is a subjectAltName value holding dNSName name and a
// directoryName (CN=x).
func sanWithDirName(t *testing.T, name string) []byte {
	t.Helper()
	dn, err := asn1.Marshal(pkix.Name{CommonName: "x"}.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	v, err := asn1.Marshal([]asn1.RawValue{
		{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(name)},
		{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dn},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustStapleCSR(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		DNSNames:        []string{"example.com"},
		ExtraExtensions: []pkix.Extension{{Id: oidTLSFeature, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x05}}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// closePrimes returns a 2048-bit modulus whose two primes are neighbours,
// as a broken key generator makes: Fermat's method factors it at once.
func closePrimes(t *testing.T) *big.Int {
	t.Helper()
	p, err := rand.Prime(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	q := new(big.Int).Add(p, big.NewInt(2))
	for !q.ProbablyPrime(20) {
		q.Add(q, big.NewInt(2))
	}
	n := new(big.Int).Mul(p, q)
	if n.BitLen() != 2048 {
		return closePrimes(t)
	}
	return n
}

func TestCheckPublicKeyRSABounds(t *testing.T) {
	t.Parallel()
	// Keys built from their numbers: generating an 8200-bit key is slow and
	// the check looks only at N and E.
	// modulus is the least odd number of bits bits with no prime factor
	// below 752 (which zlint, and CheckPublicKey, refuse).
	modulus := func(bits int) *big.Int {
		n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
		n.SetBit(n, 0, 1)
		for !util.PrimeNoSmallerThan752(n) {
			n.Add(n, big.NewInt(2))
		}
		return n
	}
	tests := []struct {
		name     string
		key      *rsa.PublicKey
		wantCode string
	}{
		{"2048", &rsa.PublicKey{N: modulus(2048), E: 65537}, ""},
		{"8192", &rsa.PublicKey{N: modulus(8192), E: 65537}, ""},
		{"2040", &rsa.PublicKey{N: modulus(2040), E: 65537}, CSRKeyTooWeak},
		{"8200", &rsa.PublicKey{N: modulus(8200), E: 65537}, CSRKeyUnsupported},
		{"2049 not multiple of 8", &rsa.PublicKey{N: modulus(2049), E: 65537}, CSRKeyUnsupported},
		{"even exponent", &rsa.PublicKey{N: modulus(2048), E: 65536}, CSRKeyUnsupported},
		{"exponent 1", &rsa.PublicKey{N: modulus(2048), E: 1}, CSRKeyUnsupported},
		// BRs §6.1.6 recommend 2^16+1 or more; zlint warns below.
		{"exponent 3", &rsa.PublicKey{N: modulus(2048), E: 3}, CSRKeyTooWeak},
		{"exponent 65535", &rsa.PublicKey{N: modulus(2048), E: 65535}, CSRKeyTooWeak},
		{"exponent 65539", &rsa.PublicKey{N: modulus(2048), E: 65539}, ""},
		// zlint's w_rsa_mod_factors_smaller_than_752.
		{"a factor of 3", &rsa.PublicKey{N: new(big.Int).Mul(big.NewInt(3), modulus(2047)), E: 65537}, CSRKeyTooWeak},
		{"a factor of 751", &rsa.PublicKey{N: new(big.Int).Mul(big.NewInt(751), modulus(2039)), E: 65537}, CSRKeyTooWeak},
		{"primes too close (Fermat)", &rsa.PublicKey{N: closePrimes(t), E: 65537}, CSRKeyTooWeak},
		{"a generated key", &testKeys().rsa2048.PublicKey, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckPublicKey(tc.key)
			var ce *CSRError
			switch {
			case tc.wantCode == "" && err != nil:
				t.Errorf("CheckPublicKey = %v, want nil", err)
			case tc.wantCode != "" && (!errors.As(err, &ce) || ce.Code != tc.wantCode):
				t.Errorf("CheckPublicKey = %v, want code %s", err, tc.wantCode)
			}
		})
	}
}

func TestCSRNames(t *testing.T) {
	t.Parallel()
	key := testKeys().p256
	tests := []struct {
		name  string
		cn    string
		sans  []string
		ips   []net.IP
		wantN []string
	}{
		{"sans sorted and lowercased", "", []string{"WWW.Example.com", "a.example.com"}, nil, []string{"a.example.com", "www.example.com"}},
		{"cn duplicate of a san", "Example.COM", []string{"example.com", "www.example.com"}, nil, []string{"example.com", "www.example.com"}},
		{"cn only", "only.example.com", nil, nil, []string{"only.example.com"}},
		{"nothing", "", nil, nil, []string{}},
		{"ip addresses in canonical form", "", []string{"example.com"}, []net.IP{net.ParseIP("192.0.2.1"), net.ParseIP("2001:DB8:0:0::1")}, []string{"192.0.2.1", "2001:db8::1", "example.com"}},
		{"ip common name", "2001:0DB8::1", nil, []net.IP{net.ParseIP("2001:db8::1")}, []string{"2001:db8::1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
				Subject: pkix.Name{CommonName: tc.cn}, DNSNames: tc.sans, IPAddresses: tc.ips,
			}, key)
			if err != nil {
				t.Fatal(err)
			}
			csr, err := ParseCSR(der)
			if err != nil {
				t.Fatal(err)
			}
			if got := CSRNames(csr); !slices.Equal(got, tc.wantN) {
				t.Errorf("CSRNames = %q, want %q", got, tc.wantN)
			}
		})
	}
}

func ExampleCSRNames() {
	csr := &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "WWW.Example.com"},
		DNSNames: []string{"www.example.com", "Example.com"},
	}
	fmt.Println(CSRNames(csr))
	// Output: [example.com www.example.com]
}

// curveCSR returns the DER of der, a P-256 request, with the curve of its
// key replaced by the OID curve: a request whose key crypto/x509 cannot
// parse (its point and signature are P-256's, which is never reached).
func curveCSR(t *testing.T, der []byte, curve string) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var req, info, sigAlg cryptobyte.String
	var version int64
	var subject, spki, rest cryptobyte.String
	var sig asn1.BitString
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&info, cbasn1.SEQUENCE) ||
		!req.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) || !req.ReadASN1BitString(&sig) ||
		!info.ReadASN1Integer(&version) || !info.ReadASN1Element(&subject, cbasn1.SEQUENCE) ||
		!info.ReadASN1(&spki, cbasn1.SEQUENCE) {
		t.Fatal("curveCSR: not a request")
	}
	rest = info
	var alg cryptobyte.String
	var point asn1.BitString
	if !spki.ReadASN1(&alg, cbasn1.SEQUENCE) || !spki.ReadASN1BitString(&point) {
		t.Fatal("curveCSR: no public key")
	}
	var oid asn1.ObjectIdentifier
	for part := range strings.SplitSeq(curve, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			t.Fatal(err)
		}
		oid = append(oid, n)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(version)
			b.AddBytes(subject)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidECPublicKey)
					b.AddASN1ObjectIdentifier(oid)
				})
				b.AddASN1BitString(point.Bytes)
			})
			b.AddBytes(rest)
		})
		b.AddBytes(sigAlg)
		b.AddASN1BitString(sig.Bytes)
	})
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
