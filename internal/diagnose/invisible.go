package diagnose

import (
	"strings"
)

// Message ids of a TXT value with invisible characters around or in the
// expected value.
const (
	noteInvisible     msg = "noteInvisible"
	noteInvisibleMany msg = "noteInvisibleMany"
	wordBefore        msg = "wordBefore"
	wordAfter         msg = "wordAfter"
	wordBeforeAfter   msg = "wordBeforeAfter"
	wordInside        msg = "wordInside"
	wordAnd           msg = "wordAnd"
	charZeroWidth     msg = "charZeroWidth"
	charNBSP          msg = "charNBSP"
	charBOM           msg = "charBOM"
	charZWNJ          msg = "charZWNJ"
	charZWJ           msg = "charZWJ"
	charWordJoiner    msg = "charWordJoiner"
	charNarrowNBSP    msg = "charNarrowNBSP"
	charSoftHyphen    msg = "charSoftHyphen"
	charLeftToRight   msg = "charLeftToRight"
	charRightToLeft   msg = "charRightToLeft"
	charIdeographicSp msg = "charIdeographicSp"
)

func init() {
	extend("", nil, map[msg]string{
		noteInvisible:     "One value is the expected value with %[1]s %[2]s it: an invisible character, usually copied along from a web page, an e-mail or a document. Delete it: type the value again, or paste it as plain text.",
		noteInvisibleMany: "One value is the expected value with %[1]s %[2]s it: invisible characters, usually copied along from a web page, an e-mail or a document. Delete them: type the value again, or paste it as plain text.",
		wordBefore:        "before",
		wordAfter:         "after",
		wordBeforeAfter:   "before and after",
		wordInside:        "inside",
		wordAnd:           "%[1]s and %[2]s",
		charZeroWidth:     "a zero-width space (U+200B)",
		charNBSP:          "a non-breaking space (U+00A0)",
		charBOM:           "a byte order mark (U+FEFF)",
		charZWNJ:          "a zero-width non-joiner (U+200C)",
		charZWJ:           "a zero-width joiner (U+200D)",
		charWordJoiner:    "a word joiner (U+2060)",
		charNarrowNBSP:    "a narrow non-breaking space (U+202F)",
		charSoftHyphen:    "a soft hyphen (U+00AD)",
		charLeftToRight:   "a left-to-right mark (U+200E)",
		charRightToLeft:   "a right-to-left mark (U+200F)",
		charIdeographicSp: "an ideographic space (U+3000)",
	})
}

// invisibleChars are the characters that show as nothing, or as a plain
// space, where a value is pasted, with the words that name them.
var invisibleChars = map[rune]msg{
	'\u200b': charZeroWidth,
	'\u00a0': charNBSP,
	'\ufeff': charBOM,
	'\u200c': charZWNJ,
	'\u200d': charZWJ,
	'\u2060': charWordJoiner,
	'\u202f': charNarrowNBSP,
	'\u00ad': charSoftHyphen,
	'\u200e': charLeftToRight,
	'\u200f': charRightToLeft,
	'\u3000': charIdeographicSp,
}

// unescapeTXT turns a TXT character-string in presentation form (RFC 1035
// §5.1: \DDD for a byte outside printable ASCII, \X for a quote or a
// backslash), as dnsclient renders it, back into its bytes: UTF-8 text
// shows its characters again (“ is \226\128\156).
func unescapeTXT(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0'); n <= 255 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// invisibleNote reports whether v (unescaped) is value with invisible
// characters before, after or inside it, possibly with white space and
// quotation marks too, and returns the note that names them and where.
func (d *diagnoser) invisibleNote(v, value string) (string, bool) {
	var names []string
	seen := map[rune]bool{}
	var clean strings.Builder
	for _, r := range v {
		if m, ok := invisibleChars[r]; ok {
			if !seen[r] {
				seen[r] = true
				names = append(names, d.c.f(m))
			}
			continue
		}
		clean.WriteRune(r)
	}
	if len(names) == 0 || trimQuotesSpace(clean.String()) != value {
		return "", false
	}
	where := wordInside
	if i := strings.Index(v, value); i >= 0 {
		before := strings.ContainsFunc(v[:i], isInvisible)
		after := strings.ContainsFunc(v[i+len(value):], isInvisible)
		switch {
		case before && after:
			where = wordBeforeAfter
		case before:
			where = wordBefore
		case after:
			where = wordAfter
		}
	}
	list := names[0]
	for _, n := range names[1:] {
		list = d.c.f(wordAnd, list, n)
	}
	m := noteInvisible
	if len(names) > 1 {
		m = noteInvisibleMany
	}
	return d.c.f(m, list, d.c.f(where)), true
}

func isInvisible(r rune) bool {
	_, ok := invisibleChars[r]
	return ok
}
