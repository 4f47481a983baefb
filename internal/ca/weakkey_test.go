package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
	"github.com/zmap/zlint/v3/lints/community"
)

// keyWithScalar returns the key of curve whose private scalar is d.
func keyWithScalar(t testing.TB, curve elliptic.Curve, d *big.Int) *ecdsa.PrivateKey {
	t.Helper()
	b := make([]byte, (curve.Params().BitSize+7)/8)
	k, err := ecdsa.ParseRawPrivateKey(curve, d.FillBytes(b))
	if err != nil {
		t.Fatalf("scalar %s on %s: %v", d, curve.Params().Name, err)
	}
	return k
}

// orderMinus returns n-k for the group order n of curve.
func orderMinus(curve elliptic.Curve, k int64) *big.Int {
	return new(big.Int).Sub(curve.Params().N, big.NewInt(k))
}

func randomScalar(t testing.TB, curve elliptic.Curve) *big.Int {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return new(big.Int).SetBytes(b)
}

func TestWeakECDSAKey(t *testing.T) {
	t.Parallel()
	p256, p384 := elliptic.P256(), elliptic.P384()
	offCurve := &ecdsa.PublicKey{Curve: p256, X: big.NewInt(1), Y: big.NewInt(1)}
	tests := []struct {
		name   string
		key    func(t *testing.T) crypto.PublicKey
		wantD  *big.Int // nil: not weak
		wantNA bool     // a key zlint's lint does not apply to
	}{
		{name: "d=1 (the base point)", key: scalarKey(p256, big.NewInt(1)), wantD: big.NewInt(1)},
		{name: "d=2", key: scalarKey(p256, big.NewInt(2)), wantD: big.NewInt(2)},
		{name: "d=12345", key: scalarKey(p256, big.NewInt(12345)), wantD: big.NewInt(12345)},
		{name: "d=65536, the largest weak", key: scalarKey(p256, big.NewInt(smallKeyMax)), wantD: big.NewInt(smallKeyMax)},
		{name: "d=n-1", key: scalarKey(p256, orderMinus(p256, 1)), wantD: orderMinus(p256, 1)},
		{name: "d=n-65536", key: scalarKey(p256, orderMinus(p256, smallKeyMax)), wantD: orderMinus(p256, smallKeyMax)},
		{name: "d=65537 passes", key: scalarKey(p256, big.NewInt(smallKeyMax+1))},
		{name: "d=n-65537 passes", key: scalarKey(p256, orderMinus(p256, smallKeyMax+1))},
		{name: "d=2^32 passes", key: scalarKey(p256, big.NewInt(1<<32))},
		{name: "random passes", key: func(t *testing.T) crypto.PublicKey { return testKeys().p256.Public() }},
		{name: "p-384 d=1 is not searched", key: scalarKey(p384, big.NewInt(1))},
		{name: "rsa", key: func(t *testing.T) crypto.PublicKey { return testKeys().rsa2048.Public() }, wantNA: true},
		{name: "nil", key: func(t *testing.T) crypto.PublicKey { return nil }, wantNA: true},
		{name: "off-curve p-256 point", key: func(t *testing.T) crypto.PublicKey { return offCurve }, wantNA: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, weak := WeakECDSAKey(tt.key(t))
			if weak != (tt.wantD != nil) {
				t.Fatalf("WeakECDSAKey = %v, %v; want weak %v", d, weak, tt.wantD != nil)
			}
			if tt.wantD != nil && d.Cmp(tt.wantD) != 0 {
				t.Errorf("d = %s, want %s", d, tt.wantD)
			}
			if !weak && d != nil {
				t.Errorf("d = %s for a key that is not weak, want nil", d)
			}
		})
	}
}

func scalarKey(curve elliptic.Curve, d *big.Int) func(t *testing.T) crypto.PublicKey {
	return func(t *testing.T) crypto.PublicKey { return keyWithScalar(t, curve, d).Public() }
}

// TestP256SmallMultiplesTable checks the whole table against k*G computed
// one addition at a time with crypto/elliptic, which shares no code with the
// table's batched field arithmetic: every k in 1..2^16 has its entry, and
// there is nothing else.
func TestP256SmallMultiplesTable(t *testing.T) {
	t.Parallel()
	table := p256SmallMultiples()
	if len(table) != smallKeyMax {
		t.Fatalf("table has %d entries, want %d", len(table), smallKeyMax)
	}
	if !slices.IsSorted(table) {
		t.Fatal("table is not sorted")
	}
	c := elliptic.P256()
	gx, gy := c.Params().Gx, c.Params().Gy
	x, y := gx, gy
	var xb [p256FieldLen]byte
	for k := 1; k <= smallKeyMax; k++ {
		want := tableKey(x.FillBytes(xb[:]))<<tableScalarBits | uint64(k-1)
		if _, ok := slices.BinarySearch(table, want); !ok {
			t.Fatalf("no entry for %d*G (want %#x)", k, want)
		}
		x, y = c.Add(x, y, gx, gy)
	}
}

// TestFieldArithmetic checks fe's Montgomery arithmetic against math/big.
func TestFieldArithmetic(t *testing.T) {
	t.Parallel()
	p := elliptic.P256().Params().P
	pm1 := new(big.Int).Sub(p, big.NewInt(1))
	values := []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), pm1, new(big.Int).Rsh(p, 1), new(big.Int).Lsh(big.NewInt(1), 255)}
	for range 200 {
		v, err := rand.Int(rand.Reader, p)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	toFE := func(v *big.Int) fe {
		var z fe
		var b [p256FieldLen]byte
		z.setBytes(v.FillBytes(b[:]))
		return z
	}
	fromFE := func(z fe) *big.Int {
		var plain fe
		plain.fromMont(&z)
		var b [p256FieldLen]byte
		for i, limb := range plain {
			for j := range 8 {
				b[p256FieldLen-1-8*i-j] = byte(limb >> (8 * j))
			}
		}
		return new(big.Int).SetBytes(b[:])
	}
	if got := fromFE(feOne); got.Cmp(big.NewInt(1)) != 0 {
		t.Fatalf("feOne is %s, want 1", got)
	}
	for i, a := range values {
		b := values[(i*7+3)%len(values)]
		fa, fb := toFE(a), toFE(b)
		if got := fromFE(fa); got.Cmp(a) != 0 {
			t.Fatalf("round trip of %s = %s", a, got)
		}
		var z fe
		z.mul(&fa, &fb)
		want := new(big.Int).Mul(a, b)
		if got := fromFE(z); got.Cmp(want.Mod(want, p)) != 0 {
			t.Errorf("%s * %s = %s, want %s", a, b, got, want)
		}
		z.sub(&fa, &fb)
		want = new(big.Int).Sub(a, b)
		if got := fromFE(z); got.Cmp(want.Mod(want, p)) != 0 {
			t.Errorf("%s - %s = %s, want %s", a, b, got, want)
		}
		if a.Sign() == 0 {
			continue
		}
		z.invert(&fa)
		if got, want := fromFE(z), new(big.Int).ModInverse(a, p); got.Cmp(want) != 0 {
			t.Errorf("1/%s = %s, want %s", a, got, want)
		}
	}
}

// TestSmallKeyAgreesWithZlint runs zlint's own e_ecdsa_small_private_key and
// smallKeyResult (the table for P-256, zlint's lint for other curves) on the
// same keys, and requires the same verdict: around every boundary of zlint's
// walk (table size 4096, stride 8193 and its multiples, the limit 2^16), on
// both signs, and on random keys.
func TestSmallKeyAgreesWithZlint(t *testing.T) {
	t.Parallel()
	p256, p384 := elliptic.P256(), elliptic.P384()
	var small []int64
	for k := int64(1); k <= 24; k++ {
		small = append(small, k)
	}
	for _, b := range []int64{4096, 8193, 2 * 8193, 7 * 8193, 8 * 8193, smallKeyMax} {
		small = append(small, b-1, b, b+1)
	}
	type key struct {
		name  string
		curve elliptic.Curve
		d     *big.Int
	}
	var keys []key
	for _, c := range []elliptic.Curve{p256, p384} {
		for _, k := range small {
			keys = append(keys,
				key{fmt.Sprintf("%s d=%d", c.Params().Name, k), c, big.NewInt(k)},
				key{fmt.Sprintf("%s d=n-%d", c.Params().Name, k), c, orderMinus(c, k)})
		}
		for i := range 4 {
			keys = append(keys, key{fmt.Sprintf("%s random %d", c.Params().Name, i), c, randomScalar(t, c)})
		}
	}
	// Random P-256 scalars up to 2^17, about half of them weak.
	for i := range 40 {
		k, err := rand.Int(rand.Reader, big.NewInt(2*smallKeyMax))
		if err != nil {
			t.Fatal(err)
		}
		k.Add(k, big.NewInt(1))
		if i%2 == 1 {
			k.Sub(p256.Params().N, k)
		}
		keys = append(keys, key{fmt.Sprintf("P-256 sampled %d", i), p256, k})
	}

	zl := community.NewEcdsaSmallPrivateKey()
	for _, k := range keys {
		pub := keyWithScalar(t, k.curve, k.d).PublicKey
		zc := &zx509.Certificate{PublicKeyAlgorithm: zx509.ECDSA, PublicKey: &pub}
		if !zl.CheckApplies(zc) {
			t.Fatalf("%s: zlint's lint does not apply", k.name)
		}
		want := zl.Execute(zc)
		got, err := smallKeyResult(zc)
		if err != nil {
			t.Fatalf("%s: %v", k.name, err)
		}
		if got.Status != want.Status {
			t.Errorf("%s: status %s, zlint says %s (%s)", k.name, got.Status, want.Status, want.Details)
		}
		if got.Status == lint.Error && !strings.Contains(got.Details, "private key is") {
			t.Errorf("%s: details %q do not name the private key", k.name, got.Details)
		}
	}
}

// TestIssueRefusesWeakKey checks that a subject key with a tiny private
// scalar blocks issuance with a *LintError naming the lint, on P-256 (the
// table) and on P-384 (zlint's own lint).
func TestIssueRefusesWeakKey(t *testing.T) {
	t.Parallel()
	c := newTestCA(t, loopbackURLs(t.TempDir()))
	p256, p384 := elliptic.P256(), elliptic.P384()
	tests := []struct {
		name  string
		curve elliptic.Curve
		d     *big.Int
		want  string // words of the details
	}{
		{name: "p-256 d=12345", curve: p256, d: big.NewInt(12345), want: "private key is 12345:"},
		{name: "p-256 d=n-12345", curve: p256, d: orderMinus(p256, 12345), want: "private key is n-12345 "},
		{name: "p-256 d=65536", curve: p256, d: big.NewInt(smallKeyMax), want: "private key is 65536:"},
		{name: "p-384 d=12345", curve: p384, d: big.NewInt(12345), want: "12345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pub := keyWithScalar(t, tt.curve, tt.d).Public()
			iss, err := c.Issue(IssueRequest{DNSNames: []string{"www.example.com"}, PublicKey: pub})
			if err == nil {
				t.Fatalf("Issue = %s, want a lint error", iss.Serial)
			}
			var le *LintError
			if !errors.As(err, &le) {
				t.Fatalf("Issue error %v (%T), want a *LintError", err, err)
			}
			if len(le.Results) != 1 || le.Results[0].Lint != smallKeyLint || le.Results[0].Status != "error" {
				t.Fatalf("lint results %+v, want only %s (error)", le.Results, smallKeyLint)
			}
			if !strings.Contains(le.Results[0].Details, tt.want) {
				t.Errorf("details %q lack %q", le.Results[0].Details, tt.want)
			}
			if !strings.Contains(err.Error(), "certificate failed lint: "+smallKeyLint+" (error)") {
				t.Errorf("error %q does not name the lint", err)
			}
		})
	}
}

func TestParseCSRRefusesWeakKey(t *testing.T) {
	t.Parallel()
	p256, p384 := elliptic.P256(), elliptic.P384()
	tests := []struct {
		name     string
		curve    elliptic.Curve
		d        *big.Int
		wantCode string // "" for success
		want     string
	}{
		{name: "d=12345", curve: p256, d: big.NewInt(12345), wantCode: CSRKeyTooWeak, want: "the P-256 private key is 12345, so anyone can compute it"},
		{name: "d=n-12345", curve: p256, d: orderMinus(p256, 12345), wantCode: CSRKeyTooWeak, want: "the P-256 private key is the group order minus 12345, so anyone"},
		{name: "d=65537", curve: p256, d: big.NewInt(smallKeyMax + 1)},
		// Other curves go through zlint's own lint, up front too.
		{name: "p-384 d=5", curve: p384, d: big.NewInt(5), wantCode: CSRKeyTooWeak, want: "the CSR's key:"},
		{name: "p-384 d=65537", curve: p384, d: big.NewInt(smallKeyMax + 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			csr, err := ParseCSR(pemCSR(makeCSR(t, keyWithScalar(t, tt.curve, tt.d), "", "example.com")))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("ParseCSR: %v", err)
				}
				if csr == nil {
					t.Fatal("ParseCSR returned no csr")
				}
				return
			}
			var ce *CSRError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseCSR error %v, want a *CSRError", err)
			}
			if ce.Code != tt.wantCode || !strings.Contains(ce.Message, tt.want) {
				t.Errorf("ParseCSR = %s: %q, want %s with %q", ce.Code, ce.Message, tt.wantCode, tt.want)
			}
		})
	}
}

func BenchmarkWeakECDSAKey(b *testing.B) {
	pub := testKeys().p256.Public()
	p256SmallMultiples()
	b.ReportAllocs()
	for b.Loop() {
		if _, weak := WeakECDSAKey(pub); weak {
			b.Fatal("random key reported weak")
		}
	}
}

// BenchmarkP256SmallMultiplesBuild measures the one-time table build.
func BenchmarkP256SmallMultiplesBuild(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		buildP256SmallMultiples()
	}
}

func ExampleWeakECDSAKey() {
	// A P-256 key whose private scalar is 12345: anyone can recover it.
	raw := make([]byte, 32)
	big.NewInt(12345).FillBytes(raw)
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		panic(err)
	}
	if d, weak := WeakECDSAKey(k.Public()); weak {
		fmt.Println("refused: private key", d)
	}
	// Output: refused: private key 12345
}
