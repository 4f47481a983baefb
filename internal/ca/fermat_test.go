package ca

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// fermatStep returns the step (0 for a = floor(sqrt(n))+1) at which
// Fermat's method factors n, square-rooting every step, or -1 if it does not
// within limit steps: the plain method fermatFactorable must agree with.
func fermatStep(n *big.Int, limit int) int {
	a := new(big.Int).Sqrt(n)
	a.Add(a, big.NewInt(1))
	b2, b := new(big.Int), new(big.Int)
	for i := range limit {
		b2.Mul(a, a).Sub(b2, n)
		b.Sqrt(b2)
		if b.Mul(b, b).Cmp(b2) == 0 {
			return i
		}
		a.Add(a, big.NewInt(1))
	}
	return -1
}

// fermatModulus returns an odd n = (a0-b)(a0+b) that Fermat's method
// factors at step k exactly: b is the least with the right parity such that
// floor(sqrt(a0^2 - b^2)) = a0 - k - 1.
func fermatModulus(t *testing.T, a0 *big.Int, k int64) *big.Int {
	t.Helper()
	kk := big.NewInt(k)
	lo := new(big.Int).Lsh(a0, 1)
	lo.Sub(lo, kk).Mul(lo, kk) // k(2a0 - k) = a0^2 - (a0-k)^2
	b := new(big.Int).Sqrt(lo)
	b.Add(b, big.NewInt(1))
	if new(big.Int).Sub(a0, b).Bit(0) == 0 {
		b.Add(b, big.NewInt(1))
	}
	n := new(big.Int).Mul(a0, a0)
	n.Sub(n, new(big.Int).Mul(b, b))
	if got := fermatStep(n, int(k)+2); got != int(k) {
		t.Fatalf("fermatModulus(k=%d) factors at step %d", k, got)
	}
	return n
}

// zlintFermat runs zlint's own e_rsa_fermat_factorization on a certificate
// for the RSA modulus n.
func zlintFermat(t *testing.T, n *big.Int) lint.LintStatus {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rsa.PublicKey{N: n, E: 65537}, testKeys().p256)
	if err != nil {
		t.Fatal(err)
	}
	zc, err := zx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	all, err := lintRegistry()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := all.Filter(lint.FilterOptions{IncludeNames: []string{fermatLint}})
	if err != nil {
		t.Fatal(err)
	}
	r := zlint.LintCertificateEx(zc, reg).Results[fermatLint]
	if r == nil {
		t.Fatal("zlint did not run", fermatLint)
	}
	if got := fermatResult(zc); got.Status != r.Status {
		t.Errorf("fermatResult = %v, zlint's lint %v", got.Status, r.Status)
	}
	return r.Status
}

// TestFermatFactorableMatchesZlint checks fermatFactorable, which stands in
// for zlint's e_rsa_fermat_factorization on every leaf, against the lint
// itself and against square-rooting every step, on moduli that factor at
// chosen steps around the hundredth, where the two must part.
func TestFermatFactorableMatchesZlint(t *testing.T) {
	t.Parallel()
	a0, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 1023))
	if err != nil {
		t.Fatal(err)
	}
	a0.SetBit(a0, 1023, 1)
	for _, k := range []int64{0, 1, 2, 7, 50, 98, 99, 100, 101, 150} {
		n := fermatModulus(t, a0, k)
		want := k < fermatRounds
		if got := fermatFactorable(n, fermatRounds); got != want {
			t.Errorf("step %d: fermatFactorable = %v, want %v", k, got, want)
		}
		wantStatus := lint.Pass
		if want {
			wantStatus = lint.Error
		}
		if got := zlintFermat(t, n); got != wantStatus {
			t.Errorf("step %d: zlint's %s = %v, want %v", k, fermatLint, got, wantStatus)
		}
	}
}

// TestFermatFactorable checks the residue filter against square-rooting
// every step on numbers of every kind: real RSA moduli, random odd
// numbers, squares, and small numbers whose steps reach every residue.
func TestFermatFactorable(t *testing.T) {
	t.Parallel()
	var ns []*big.Int
	ns = append(ns, testKeys().rsa2048.N, testKeys().rsa1024.N, closePrimes(t))
	for range 20 {
		n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 2048))
		if err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n.SetBit(n, 0, 1))
	}
	for i := int64(1); i < 3000; i += 2 {
		ns = append(ns, big.NewInt(i), big.NewInt(i*i))
	}
	p := testKeys().rsa2048.Primes[0]
	ns = append(ns, new(big.Int).Mul(p, p), big.NewInt(0), big.NewInt(-15), big.NewInt(4))
	for _, n := range ns {
		want := n.Sign() > 0 && n.Bit(0) == 1 && (new(big.Int).Sqrt(n).Mul(new(big.Int).Sqrt(n), new(big.Int).Sqrt(n)).Cmp(n) == 0 || fermatStep(n, fermatRounds) >= 0)
		if got := fermatFactorable(n, fermatRounds); got != want {
			t.Errorf("fermatFactorable(%v) = %v, want %v", n, got, want)
		}
	}
}

// TestIsSquare checks the residue filter's tables: every square passes,
// and each non-square the filter lets through is square-rooted.
func TestIsSquare(t *testing.T) {
	t.Parallel()
	var scratch big.Int
	for i := range int64(200000) {
		x := big.NewInt(i)
		r := new(big.Int).Sqrt(x)
		want := r.Mul(r, r).Cmp(x) == 0
		if got := isSquare(x, &scratch); got != want {
			t.Fatalf("isSquare(%d) = %v, want %v", i, got, want)
		}
	}
	big1 := new(big.Int).Lsh(big.NewInt(1), 3000)
	for _, d := range []int64{-1, 0, 1} {
		s := new(big.Int).Add(big1, big.NewInt(d))
		sq := new(big.Int).Mul(s, s)
		if !isSquare(sq, &scratch) {
			t.Errorf("isSquare of a 6000-bit square = false")
		}
		if isSquare(sq.Add(sq, big.NewInt(1)), &scratch) {
			t.Errorf("isSquare of a 6000-bit square + 1 = true")
		}
	}
}

func BenchmarkFermatFactorable(b *testing.B) {
	for _, k := range []struct {
		name string
		n    *big.Int
	}{{"RSA-2048", testKeys().rsa2048.N}} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if fermatFactorable(k.n, fermatRounds) {
					b.Fatal("factorable")
				}
			}
		})
	}
}
