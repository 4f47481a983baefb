package ca

import (
	"math/big"
	"math/bits"
)

// fermatRounds is how many steps of Fermat's factorization a modulus must
// survive: primes closer than about 2^(bits/4) apart fall within them, as
// a careless key generator makes (the check zlint and Boulder make, with
// the same number of steps).
const fermatRounds = 100

// fermatFactorable reports whether n factors by Fermat's method within
// rounds steps: for a = floor(sqrt(n))+1, floor(sqrt(n))+2, ... (rounds
// values, the ones zlint's e_rsa_fermat_factorization tries), whether
// a^2 - n is a perfect square b^2, so that n = (a-b)(a+b). A modulus that
// is itself a perfect square (p*p) is factorable too.
//
// Each step's a^2 - n is first tested against the residues squares have
// modulo 64, 63, 65 and 11, which only about one number in 120 passes;
// those residues follow from the previous step's with word arithmetic
// ((a+1)^2 - n = a^2 - n + 2a + 1), and only a number that passes is
// computed and square-rooted. The verdict is that of square-rooting every
// step, as zlint does, for a fraction of the cost: a 2048-bit modulus
// takes one or two square roots instead of a hundred.
func fermatFactorable(n *big.Int, rounds int) bool {
	if n.Sign() <= 0 || n.Bit(0) == 0 {
		return false
	}
	var scratch big.Int
	a := new(big.Int).Sqrt(n)
	b2 := new(big.Int).Mul(a, a)
	if b2.Cmp(n) == 0 {
		return true
	}
	a.Add(a, bigOne)
	b2.Mul(a, a).Sub(b2, n)
	// b2's and a's residues modulo 2^w (w the word size, 32 or 64 bits:
	// either keeps residues modulo 64 exact) and modulo
	// squareResidueModulus, carried from step to step.
	low, aLow := lowWord(b2), lowWord(a)
	r, aR := remWord(b2), remWord(a)
	for i := range rounds {
		if squareMod64[low%64] && squareMod63[r%63] && squareMod65[r%65] && squareMod11[r%11] {
			ai := new(big.Int).Add(a, big.NewInt(int64(i)))
			if isSquare(b2.Mul(ai, ai).Sub(b2, n), &scratch) {
				return true
			}
		}
		low += 2*aLow + 1
		aLow++
		r = (r + 2*aR + 1) % squareResidueModulus
		aR = (aR + 1) % squareResidueModulus
	}
	return false
}

// lowWord returns x's least significant word (x not negative).
func lowWord(x *big.Int) uint {
	if w := x.Bits(); len(w) > 0 {
		return uint(w[0])
	}
	return 0
}

// remWord returns x modulo squareResidueModulus (x not negative).
func remWord(x *big.Int) uint {
	var r uint
	words := x.Bits()
	for i := len(words) - 1; i >= 0; i-- {
		r = bits.Rem(r, uint(words[i]), squareResidueModulus)
	}
	return r
}

var bigOne = big.NewInt(1)

// squareResidueModulus is 63*65*11: the residue of a number modulo it gives
// its residues modulo 63, 65 and 11 with one pass over its words.
const squareResidueModulus = 63 * 65 * 11

// squareMod64, squareMod63, squareMod65 and squareMod11 mark the residues
// that squares have modulo 64, 63, 65 and 11.
var (
	squareMod64 = squareResidues(64)
	squareMod63 = squareResidues(63)
	squareMod65 = squareResidues(65)
	squareMod11 = squareResidues(11)
)

// squareResidues returns, for each residue modulo m, whether a square has it.
func squareResidues(m uint) []bool {
	t := make([]bool, m)
	for i := range m {
		t[i*i%m] = true
	}
	return t
}

// isSquare reports whether x (not negative) is a perfect square. A number
// whose residue modulo 64, 63, 65 or 11 no square has is not one (about
// 119 in 120 numbers); the rest are square-rooted in scratch.
func isSquare(x, scratch *big.Int) bool {
	words := x.Bits()
	if len(words) == 0 {
		return true // zero
	}
	if !squareMod64[uint(words[0])%64] {
		return false
	}
	if r := remWord(x); !squareMod63[r%63] || !squareMod65[r%65] || !squareMod11[r%11] {
		return false
	}
	scratch.Sqrt(x)
	return scratch.Mul(scratch, scratch).Cmp(x) == 0
}
