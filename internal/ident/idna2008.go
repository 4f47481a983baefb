package ident

import (
	"strings"
	"unicode"
)

// UTS #46 lookup processing, which x/net/idna implements, accepts runes
// that IDNA2008 does not (those marked NV8 in UTS #46: symbols and
// punctuation such as "☃"). A CA issues for IDNA2008 names only, so
// checkIDNA2008 adds the rune classes of RFC 5892 on every U-label.

// exceptionsPVALID are RFC 5892 §2.6 exceptions that are PVALID although
// their general category is not LetterDigits.
var exceptionsPVALID = map[rune]bool{
	0x06FD: true, 0x06FE: true, // ARABIC SIGN SINDHI AMPERSAND, POSTPOSITION MEN
	0x0F0B: true, // TIBETAN MARK INTERSYLLABIC TSHEG
	0x3007: true, // IDEOGRAPHIC NUMBER ZERO
}

// exceptionsDisallowed are RFC 5892 §2.6 exceptions that are DISALLOWED
// although their general category is in LetterDigits.
var exceptionsDisallowed = map[rune]bool{
	0x0640: true, 0x07FA: true, // ARABIC TATWEEL, NKO LAJANYALAN
	0x302E: true, 0x302F: true, // HANGUL SINGLE/DOUBLE DOT TONE MARK
	0x3031: true, 0x3032: true, 0x3033: true, 0x3034: true, 0x3035: true, // VERTICAL KANA REPEAT MARKS
	0x303B: true, // VERTICAL IDEOGRAPHIC ITERATION MARK
}

// oldHangulJamo is RFC 5892 §2.9: DISALLOWED.
var oldHangulJamo = &unicode.RangeTable{R16: []unicode.Range16{
	{Lo: 0x1100, Hi: 0x11FF, Stride: 1},
	{Lo: 0xA960, Hi: 0xA97F, Stride: 1},
	{Lo: 0xD7B0, Hi: 0xD7FF, Stride: 1},
}}

// checkIDNA2008 reports the first rune of the U-label u that IDNA2008 does
// not allow there (RFC 5892 §2 and the CONTEXTO rules of Appendix A.3-A.7),
// or -1. Joiners (CONTEXTJ) are checked by x/net/idna already.
func checkIDNA2008(u string) rune {
	runes := []rune(u)
	for i, r := range runes {
		switch {
		case r == '-' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
		case r == 0x200C || r == 0x200D: // CONTEXTJ, validated by x/net/idna
		case exceptionsDisallowed[r], unicode.Is(oldHangulJamo, r):
			return r
		case exceptionsPVALID[r]:
		case r == 0x00B7: // MIDDLE DOT (A.3): between two "l"
			if i == 0 || i == len(runes)-1 || runes[i-1] != 'l' || runes[i+1] != 'l' {
				return r
			}
		case r == 0x0375: // GREEK LOWER NUMERAL SIGN (A.4): before Greek
			if i == len(runes)-1 || !unicode.Is(unicode.Greek, runes[i+1]) {
				return r
			}
		case r == 0x05F3 || r == 0x05F4: // HEBREW GERESH, GERSHAYIM (A.5, A.6): after Hebrew
			if i == 0 || !unicode.Is(unicode.Hebrew, runes[i-1]) {
				return r
			}
		case r == 0x30FB: // KATAKANA MIDDLE DOT (A.7): with Hiragana, Katakana or Han
			if !strings.ContainsFunc(u, func(c rune) bool {
				return c != 0x30FB && unicode.In(c, unicode.Hiragana, unicode.Katakana, unicode.Han)
			}) {
				return r
			}
		case unicode.In(r, unicode.Ll, unicode.Lo, unicode.Lm, unicode.Mn, unicode.Mc, unicode.Nd):
			// LetterDigits (RFC 5892 §2.1). Lu cannot occur: UTS #46 maps it.
		default:
			return r
		}
	}
	return -1
}
