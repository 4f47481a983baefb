package ca

import (
	"crypto/elliptic"
	"encoding/binary"
	"math/big"
	"math/bits"
	"slices"
	"sync"
)

// p256SmallMultiples returns, sorted, one entry per k in 1..smallKeyMax:
// the low 48 bits of the X coordinate of k*G, shifted left by
// tableScalarBits, ored with k-1. P and -P share X, so an entry stands for
// both k*G and -k*G. The table (512 KiB) is built on first use, in about 45
// ms of CPU, and then only read.
var p256SmallMultiples = sync.OnceValue(buildP256SmallMultiples)

// buildLanes is the number of points the table build advances together. Each
// round adds buildLanes*G to every lane in affine coordinates, with one field
// inversion shared by the whole round (Montgomery's trick), so a point costs
// a few multiplications instead of an inversion.
const buildLanes = 256

// buildP256SmallMultiples computes k*G for k in 1..smallKeyMax. It handles
// public values only, so its arithmetic need not be constant time.
func buildP256SmallMultiples() []uint64 {
	// Lane i starts at (i+1)*G; after r rounds it holds (r*buildLanes+i+1)*G.
	xs, ys := make([]fe, buildLanes), make([]fe, buildLanes)
	for i := range buildLanes {
		xs[i], ys[i] = p256BaseMultFE(uint64(i + 1))
	}
	sx, sy := p256BaseMultFE(buildLanes) // the step S = buildLanes*G

	table := make([]uint64, 0, smallKeyMax)
	dx := make([]fe, buildLanes)     // x_S - x_i, or 1 for a lane added apart
	prefix := make([]fe, buildLanes) // dx[0]*...*dx[i]
	apart := make([]bool, buildLanes)
	for r := 0; ; r++ {
		for i := range xs {
			var x fe
			x.fromMont(&xs[i])
			table = append(table, (x[0]&(1<<48-1))<<tableScalarBits|uint64(r*buildLanes+i))
		}
		if len(table) == smallKeyMax {
			break
		}
		for i := range xs {
			dx[i].sub(&sx, &xs[i])
			// x_i = x_S only for the lane at S itself (k = buildLanes),
			// whose sum is a doubling; it is computed apart.
			apart[i] = dx[i] == fe{}
			if apart[i] {
				dx[i] = feOne
			}
			if i == 0 {
				prefix[i] = dx[i]
			} else {
				prefix[i].mul(&prefix[i-1], &dx[i])
			}
		}
		var inv, invI, lam, t, x3 fe
		inv.invert(&prefix[buildLanes-1])
		for i := buildLanes - 1; i >= 0; i-- {
			// Here inv is 1/(dx[0]*...*dx[i]).
			if i > 0 {
				invI.mul(&inv, &prefix[i-1])
				inv.mul(&inv, &dx[i])
			} else {
				invI = inv
			}
			if apart[i] {
				xs[i], ys[i] = p256BaseMultFE(uint64((r+1)*buildLanes + i + 1))
				continue
			}
			// Affine addition (x_i, y_i) + (x_S, y_S):
			// lam = (y_S - y_i) / (x_S - x_i), x3 = lam^2 - x_i - x_S,
			// y3 = lam*(x_i - x3) - y_i.
			t.sub(&sy, &ys[i])
			lam.mul(&t, &invI)
			x3.mul(&lam, &lam)
			x3.sub(&x3, &xs[i])
			x3.sub(&x3, &sx)
			t.sub(&xs[i], &x3)
			t.mul(&t, &lam)
			ys[i].sub(&t, &ys[i])
			xs[i] = x3
		}
	}
	slices.Sort(table)
	return table
}

// p256BaseMultFE is p256BaseMult with the coordinates as field elements.
func p256BaseMultFE(k uint64) (x, y fe) {
	bx, by := p256BaseMult(k)
	x.setBytes(bx)
	y.setBytes(by)
	return x, y
}

// fe is an element of the P-256 base field GF(p) in the Montgomery domain
// (a*2^256 mod p), as four little-endian 64-bit limbs, always fully
// reduced (less than p), so that equal elements have equal limbs.
type fe [4]uint64

// feP is the P-256 prime p = 2^256 - 2^224 + 2^192 + 2^96 - 1.
var feP = fe{0xffffffffffffffff, 0x00000000ffffffff, 0, 0xffffffff00000001}

// feOne is 1 in the Montgomery domain, 2^256 mod p = 2^256 - p.
var feOne = fe{1, 0xffffffff00000000, 0xffffffffffffffff, 0x00000000fffffffe}

// feRR is 2^512 mod p, which mul turns a plain value into its Montgomery
// form with.
var feRR = func() fe {
	p := elliptic.P256().Params().P
	rr := new(big.Int).Lsh(big.NewInt(1), 512)
	rr.Mod(rr, p)
	var b [p256FieldLen]byte
	var z fe
	z.fromBE(rr.FillBytes(b[:]))
	return z
}()

// fromBE sets z to the big-endian value b, without conversion.
func (z *fe) fromBE(b []byte) {
	for i := range z {
		z[i] = binary.BigEndian.Uint64(b[p256FieldLen-8*(i+1):])
	}
}

// setBytes sets z to the Montgomery form of the big-endian coordinate b,
// which must be less than p (a coordinate of a valid point is).
func (z *fe) setBytes(b []byte) {
	var a fe
	a.fromBE(b)
	z.mul(&a, &feRR)
}

// fromMont sets z to the plain value of the Montgomery element a.
func (z *fe) fromMont(a *fe) { z.mul(a, &fe{1}) }

// mul sets z = a*b*2^-256 mod p (Montgomery multiplication, coarsely
// integrated operand scanning). Since p = -1 mod 2^64, the Montgomery
// factor -p^-1 mod 2^64 is 1.
func (z *fe) mul(a, b *fe) {
	var t [6]uint64
	for i := range 4 {
		// t += a*b[i]
		var c, cc uint64
		for j := range 4 {
			hi, lo := bits.Mul64(a[j], b[i])
			lo, cc = bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			hi += cc
			t[j], c = lo, hi
		}
		t[4], t[5] = bits.Add64(t[4], c, 0)
		// t = (t + m*p) / 2^64 with m = t[0], which clears t's low limb.
		m := t[0]
		hi, lo := bits.Mul64(m, feP[0])
		_, cc = bits.Add64(lo, t[0], 0)
		c = hi + cc
		for j := 1; j < 4; j++ {
			hi, lo := bits.Mul64(m, feP[j])
			lo, cc = bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			hi += cc
			t[j-1], c = lo, hi
		}
		t[3], cc = bits.Add64(t[4], c, 0)
		t[4] = t[5] + cc
	}
	// Here t < 2p: subtract p if t >= p.
	var r fe
	var borrow uint64
	for j := range 4 {
		r[j], borrow = bits.Sub64(t[j], feP[j], borrow)
	}
	if _, borrow = bits.Sub64(t[4], 0, borrow); borrow != 0 {
		r = fe{t[0], t[1], t[2], t[3]}
	}
	*z = r
}

// sub sets z = a-b mod p.
func (z *fe) sub(a, b *fe) {
	var r fe
	var borrow, carry uint64
	for j := range 4 {
		r[j], borrow = bits.Sub64(a[j], b[j], borrow)
	}
	if borrow != 0 {
		for j := range 4 {
			r[j], carry = bits.Add64(r[j], feP[j], carry)
		}
	}
	*z = r
}

// invert sets z = 1/a mod p, by Fermat's little theorem (a^(p-2)); a must
// not be zero.
func (z *fe) invert(a *fe) {
	e := feP
	e[0] -= 2 // p-2; p's low limb is all ones, so no borrow
	r := feOne
	for i := 3; i >= 0; i-- {
		for bit := 63; bit >= 0; bit-- {
			r.mul(&r, &r)
			if e[i]>>bit&1 == 1 {
				r.mul(&r, a)
			}
		}
	}
	*z = r
}
