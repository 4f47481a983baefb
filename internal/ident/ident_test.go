package ident

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "www.dcv.dev", want: "www.dcv.dev"},
		{name: "uppercase", in: "WWW.DCV.Dev", want: "www.dcv.dev"},
		{name: "surrounding whitespace", in: " \t shop.dcv.dev\n", want: "shop.dcv.dev"},
		{name: "trailing dot", in: "dcv.dev.", want: "dcv.dev"},
		{name: "wildcard", in: "*.dcv.dev", want: "*.dcv.dev"},
		{name: "wildcard uppercase trailing dot", in: "*.DCV.dev.", want: "*.dcv.dev"},
		{name: "digits and hyphens", in: "a-1.9b.dcv.dev", want: "a-1.9b.dcv.dev"},
		{name: "all-numeric label not last", in: "123.dcv.dev", want: "123.dcv.dev"},
		{name: "u-label", in: "bücher.de", want: "xn--bcher-kva.de"},
		{name: "u-label uppercase", in: "BÜCHER.de", want: "xn--bcher-kva.de"},
		{name: "a-label", in: "xn--bcher-kva.de", want: "xn--bcher-kva.de"},
		{name: "a-label uppercase", in: "XN--BCHER-KVA.DE", want: "xn--bcher-kva.de"},
		{name: "non-transitional sharp s", in: "faß.de", want: "xn--fa-hia.de"},
		{name: "ideographic full stop", in: "bücher。de", want: "xn--bcher-kva.de"},
		{name: "fullwidth letters mapped", in: "ｄｃｖ.dev", want: "dcv.dev"},
		{name: "wildcard idn", in: "*.bücher.de", want: "*.xn--bcher-kva.de"},
		{name: "catalan middle dot", in: "col·legi.cat", want: "xn--collegi-xma.cat"},
		{name: "katakana middle dot", in: "ラーメン・ガイド.jp", want: "xn--eckp2g4dsb9cwcf.jp"},
		{name: "greek", in: "παράδειγμα.gr", want: "xn--hxajbheg2az3al.gr"},
		{name: "label of 63", in: strings.Repeat("a", 63) + ".dcv.dev", want: strings.Repeat("a", 63) + ".dcv.dev"},
		{name: "name of 253", in: long(253), want: long(253)},
		{name: "under private suffix", in: "me.github.io", want: "me.github.io"},
		{name: "registrable under co.uk", in: "shop.co.uk", want: "shop.co.uk"},
		{name: "wildcard under registrable", in: "*.shop.co.uk", want: "*.shop.co.uk"},
		{name: "example-like but not reserved", in: "myexample.com", want: "myexample.com"},
		// RFC 6761 §6.5: example.com/.net/.org are not special to software.
		{name: "example.com is an ordinary name", in: "www.Example.com", want: "www.example.com"},
		{name: "arpa-like but not reserved", in: "xarpa.net", want: "xarpa.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tt.in)
			if err != nil {
				t.Fatalf("Normalize(%q) = error %v, want %q", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := Normalize(got)
			if err != nil || again != got {
				t.Fatalf("Normalize(%q) = %q, %v; not idempotent", got, again, err)
			}
		})
	}
}

// long returns a valid name of exactly n characters under "dcv.dev".
func long(n int) string {
	suffix := ".dcv.dev"
	var b strings.Builder
	for b.Len()+len(suffix) < n {
		room := n - len(suffix) - b.Len()
		if b.Len() > 0 {
			b.WriteByte('.')
			room--
		}
		b.WriteString(strings.Repeat("a", min(room, 63)))
	}
	return b.String() + suffix
}

func TestNormalizeRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		code  string
		words []string // key words the message must contain
	}{
		{name: "empty", in: "", code: CodeNameEmpty, words: []string{"empty"}},
		{name: "blank", in: "  \t", code: CodeNameEmpty, words: []string{"empty"}},
		{name: "root", in: ".", code: CodeNameEmpty, words: []string{`"."`, "root"}},
		{name: "too long", in: long(254), code: CodeNameTooLong, words: []string{"254", "253"}},
		{name: "wildcard too long", in: "*." + long(252), code: CodeNameTooLong, words: []string{"254"}},
		{name: "huge input", in: strings.Repeat("a.", 5000) + "dev", code: CodeNameTooLong, words: []string{"longer than 253"}},
		{name: "idn too long once encoded", in: strings.Repeat("ü", 60) + ".de", code: CodeLabelTooLong, words: []string{"at most 63"}},
		{name: "label too long", in: strings.Repeat("a", 64) + ".dcv.dev", code: CodeLabelTooLong, words: []string{"64 characters", "at most 63"}},
		{name: "double dot", in: "a..dcv.dev", code: CodeLabelEmpty, words: []string{`"a..dcv.dev"`, "empty label"}},
		{name: "leading dot", in: ".dcv.dev", code: CodeLabelEmpty, words: []string{"empty label"}},
		{name: "two trailing dots", in: "dcv.dev..", code: CodeLabelEmpty, words: []string{"empty label"}},
		{name: "underscore", in: "_acme.dcv.dev", code: CodeInvalidCharacter, words: []string{`"_acme.dcv.dev"`, "underscore"}},
		{name: "space inside", in: "a b.dcv.dev", code: CodeInvalidCharacter, words: []string{`' '`, "letters, digits and hyphens"}},
		{name: "slash", in: "dcv.dev/path", code: CodeInvalidCharacter, words: []string{`'/'`}},
		{name: "at sign", in: "me@dcv.dev", code: CodeInvalidCharacter, words: []string{`'@'`}},
		{name: "bad bracket", in: "[dcv.dev]", code: CodeInvalidCharacter, words: []string{`'['`}},
		{name: "leading hyphen", in: "-a.dcv.dev", code: CodeInvalidHyphen, words: []string{`"-a"`, "starts or ends"}},
		{name: "trailing hyphen", in: "a-.dcv.dev", code: CodeInvalidHyphen, words: []string{`"a-"`}},
		{name: "reserved hyphens", in: "ab--cd.dcv.dev", code: CodeInvalidHyphen, words: []string{"third and fourth"}},
		{name: "bad punycode", in: "xn--a.dcv.dev", code: CodeInvalidIDN, words: []string{`"xn--a.dcv.dev"`, "internationalised", `label "xn--a" is not a valid A-label`}},
		{name: "bad punycode names the label sent", in: "xn--zz.dcv.dev", code: CodeInvalidIDN, words: []string{`label "xn--zz" is not a valid A-label`}},
		{name: "punycode of ascii", in: "xn--dcv-.dev", code: CodeInvalidHyphen, words: []string{`"xn--dcv-"`}},
		{name: "punycode emoji", in: "xn--ls8h.dev", code: CodeInvalidIDN, words: []string{"U+1F4A9"}},
		{name: "punycode uppercase u-label", in: "xn--BCHER-KVA-.de", code: CodeInvalidHyphen, words: []string{"hyphen"}},
		{name: "punycode not nfc", in: "xn--u-ccb.dev", code: CodeInvalidIDN, words: []string{"internationalised"}},
		{name: "symbol not in idna2008", in: "a☃.dcv.dev", code: CodeInvalidIDN, words: []string{"U+2603", "RFC 5892"}},
		{name: "symbol as a-label", in: "xn--a-1xp.dcv.dev", code: CodeInvalidIDN, words: []string{"U+2603"}},
		{name: "middle dot out of context", in: "a·b.dcv.dev", code: CodeInvalidIDN, words: []string{"U+00B7"}},
		{name: "katakana middle dot alone", in: "a・b.dcv.dev", code: CodeInvalidIDN, words: []string{"U+30FB"}},
		{name: "disallowed ascii in idn", in: "a!ü.dcv.dev", code: CodeInvalidIDN, words: []string{"internationalised"}},
		{name: "underscore in idn", in: "a_b.bücher.de", code: CodeInvalidCharacter, words: []string{"underscore"}},
		{name: "bidi rule", in: "a\u05d0.dcv.dev", code: CodeInvalidIDN, words: []string{"internationalised"}},
		{name: "zwj out of context", in: "a\u200db.dcv.dev", code: CodeInvalidIDN, words: []string{"internationalised"}},
		{name: "ipv4", in: "192.0.2.1", code: CodeIPAddress, words: []string{`"192.0.2.1"`, "RFC 8738"}},
		{name: "ipv4 trailing dot", in: "192.0.2.1.", code: CodeIPAddress, words: []string{"RFC 8738"}},
		{name: "ipv6", in: "2001:db8::1", code: CodeIPAddress, words: []string{"RFC 8738"}},
		{name: "ipv6 bracketed", in: "[2001:db8::1]", code: CodeIPAddress, words: []string{"RFC 8738"}},
		{name: "ipv6 zone", in: "fe80::1%eth0", code: CodeIPAddress, words: []string{"RFC 8738"}},
		{name: "bracketed junk with colon", in: "[zz::1", code: CodeIPAddress, words: []string{"IP address"}},
		{name: "short ipv4", in: "127.1", code: CodeIPAddress, words: []string{"looks like an IP address"}},
		{name: "hex ipv4", in: "0x7f.0x1", code: CodeIPAddress, words: []string{"looks like an IP address"}},
		{name: "bare wildcard", in: "*", code: CodeWildcardPosition, words: []string{"bare wildcard"}},
		{name: "bare wildcard dot", in: "*.", code: CodeWildcardPosition, words: []string{"bare wildcard"}},
		{name: "inner wildcard", in: "a.*.com", code: CodeWildcardPosition, words: []string{`"a.*.com"`, "left-most label"}},
		{name: "partial wildcard", in: "*a.dcv.dev", code: CodeWildcardPosition, words: []string{"left-most label"}},
		{name: "double wildcard", in: "*.*.dcv.dev", code: CodeWildcardPosition, words: []string{"left-most label"}},
		{name: "trailing wildcard", in: "dcv.*", code: CodeWildcardPosition, words: []string{"left-most label"}},
		{name: "tld", in: "com", code: CodePublicSuffix, words: []string{`"com"`, "public suffix"}},
		{name: "tld trailing dot", in: "COM.", code: CodePublicSuffix, words: []string{"public suffix"}},
		{name: "second-level suffix", in: "co.uk", code: CodePublicSuffix, words: []string{`"co.uk"`, "public suffix"}},
		{name: "private suffix", in: "github.io", code: CodePublicSuffix, words: []string{"public suffix"}},
		{name: "idn tld", in: "рф", code: CodePublicSuffix, words: []string{"public suffix"}},
		{name: "wildcard tld", in: "*.com", code: CodePublicSuffix, words: []string{`"*.com"`, `"com"`, "every name"}},
		{name: "wildcard second-level suffix", in: "*.co.uk", code: CodePublicSuffix, words: []string{`"co.uk"`}},
		{name: "wildcard private suffix", in: "*.github.io", code: CodePublicSuffix, words: []string{`"github.io"`}},
		{name: "test", in: "foo.test", code: CodeReservedName, words: []string{`"foo.test" is under the special-use domain "test" (RFC 6761) and cannot get a certificate`}},
		{name: "test itself", in: "test", code: CodeReservedName, words: []string{`"test" is the special-use domain "test" (RFC 6761)`}},
		{name: "localhost", in: "localhost", code: CodeReservedName, words: []string{`"localhost"`, "RFC 6761"}},
		{name: "under localhost", in: "app.localhost", code: CodeReservedName, words: []string{"under", `"localhost"`}},
		{name: "invalid", in: "x.invalid", code: CodeReservedName, words: []string{`"invalid"`, "RFC 6761"}},
		{name: "example", in: "www.example", code: CodeReservedName, words: []string{`"example"`, "RFC 6761"}},
		{name: "local", in: "printer.local", code: CodeReservedName, words: []string{`"local"`, "RFC 6762"}},
		{name: "internal", in: "db.internal", code: CodeReservedName, words: []string{`"internal"`, "private-use"}},
		{name: "arpa", in: "1.0.0.127.in-addr.arpa", code: CodeReservedName, words: []string{`"arpa"`, "RFC 3172"}},
		{name: "home.arpa", in: "nas.home.arpa", code: CodeReservedName, words: []string{`"home.arpa"`, "RFC 8375"}},
		{name: "onion", in: "abc.onion", code: CodeReservedName, words: []string{`"onion"`, "RFC 7686"}},
		{name: "alt", in: "name.alt", code: CodeReservedName, words: []string{`"alt"`, "RFC 9476"}},
		{name: "wildcard reserved", in: "*.test", code: CodeReservedName, words: []string{`"*.test"`, "special-use"}},
		{name: "private-use lan", in: "router.lan", code: CodeReservedName, words: []string{`"lan"`}},
		{name: "single label", in: "intranetbox", code: CodeSingleLabel, words: []string{`"intranetbox"`, "single-label"}},
		{name: "single label trailing dot", in: "server.", code: CodeSingleLabel, words: []string{"single-label"}},
		// Validated, it would fail the certificate's lints for good
		// (e_dnsname_not_valid_tld): refused before (verification run).
		{name: "unknown TLD", in: "x.notatld", code: CodeUnknownTLD, words: []string{`".notatld"`, "not a top-level domain"}},
		{name: "unknown TLD localdomain", in: "box.localdomain", code: CodeUnknownTLD, words: []string{`".localdomain"`}},
		{name: "unknown TLD under a wildcard", in: "*.a.k8s", code: CodeUnknownTLD, words: []string{`".k8s"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tt.in)
			assertRefused(t, got, err, tt.code, tt.words)
		})
	}
}

// TestInternalNames: under Policy.InternalNames the names an organisation
// serves on its own network are accepted; names no network serves, the
// internal domains themselves and a wildcard over one stay refused, and
// everything else is judged as for a public CA.
func TestInternalNames(t *testing.T) {
	t.Parallel()
	internal := Policy{InternalNames: true}
	tests := []struct {
		name, in string
		want     string // the normal form, or "" when refused with code
		code     string
	}{
		{name: "private-use tld", in: "DB.Internal", want: "db.internal"},
		{name: "corp", in: "git.corp", want: "git.corp"},
		{name: "lan wildcard", in: "*.k8s.lan", want: "*.k8s.lan"},
		{name: "home.arpa", in: "nas.home.arpa", want: "nas.home.arpa"},
		{name: "an Active Directory domain under local", in: "dc1.ad.local", want: "dc1.ad.local"},
		{name: "test", in: "ci.test", want: "ci.test"},
		{name: "a tld IANA does not hold", in: "box.localdomain", want: "box.localdomain"},
		{name: "public names unchanged", in: "www.example.com", want: "www.example.com"},
		{name: "the internal domain itself", in: "home.arpa", code: CodeReservedName},
		{name: "a wildcard over an internal tld", in: "*.corp", code: CodeReservedName},
		{name: "single label", in: "intranetbox", code: CodeSingleLabel},
		{name: "localhost", in: "app.localhost", code: CodeReservedName},
		{name: "invalid", in: "x.invalid", code: CodeReservedName},
		{name: "example", in: "www.example", code: CodeReservedName},
		{name: "onion", in: "abc.onion", code: CodeReservedName},
		{name: "alt", in: "name.alt", code: CodeReservedName},
		{name: "reverse zones", in: "1.0.0.10.in-addr.arpa", code: CodeReservedName},
		{name: "a public suffix", in: "co.uk", code: CodePublicSuffix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := internal.Normalize(tt.in)
			if tt.code != "" {
				assertRefused(t, got, err, tt.code, nil)
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if _, err := Normalize(tt.in); err == nil && tt.want != "www.example.com" {
				t.Errorf("Normalize(%q) without the policy accepted it", tt.in)
			}
			if names, err := internal.ParseOrderNames([]string{tt.in}, MethodDNS); err != nil || names[0] != tt.want {
				t.Errorf("ParseOrderNames(%q) = %q, %v", tt.in, names, err)
			}
		})
	}
}

func assertRefused(t *testing.T, got string, err error, code string, words []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got %q, nil; want refusal %s", got, code)
	}
	if got != "" {
		t.Errorf("got name %q with an error; want \"\"", got)
	}
	var pe *PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *PolicyError", err, err)
	}
	if pe.Code != code {
		t.Errorf("Code = %s, want %s (message %q)", pe.Code, code, pe.Message)
	}
	if pe.Error() != pe.Message {
		t.Errorf("Error() = %q, want Message %q", pe.Error(), pe.Message)
	}
	for _, w := range words {
		if !strings.Contains(pe.Message, w) {
			t.Errorf("message %q lacks %q", pe.Message, w)
		}
	}
}

func TestNormalizeQuotesLongInputShort(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("a", 2000) + "_.dev"
	_, err := Normalize(in)
	var pe *PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PolicyError", err)
	}
	if len(pe.Message) > 300 {
		t.Errorf("message is %d bytes long; want the input shortened", len(pe.Message))
	}
	if !strings.Contains(pe.Message, "…") {
		t.Errorf("message %q does not show that the input was cut", pe.Message)
	}
}

func TestParseOrderNames(t *testing.T) {
	t.Parallel()
	tooMany := make([]string, MaxNames+1)
	exactly := make([]string, MaxNames)
	for i := range tooMany {
		tooMany[i] = "n" + strings.Repeat("x", i%50) + "-" + string(rune('a'+i%26)) + ".dcv.dev"
	}
	for i := range exactly {
		exactly[i] = "h" + itoa(i) + ".dcv.dev"
	}
	tests := []struct {
		name   string
		names  []string
		method string
		want   []string
		code   string
		words  []string
	}{
		{name: "dns", names: []string{"dcv.dev", "WWW.dcv.dev."}, method: "dns", want: []string{"dcv.dev", "www.dcv.dev"}},
		{name: "file", names: []string{"dcv.dev"}, method: "file", want: []string{"dcv.dev"}},
		{name: "wildcard with dns", names: []string{"*.dcv.dev", "dcv.dev"}, method: "dns", want: []string{"*.dcv.dev", "dcv.dev"}},
		{name: "exactly max", names: exactly, method: "dns", want: normalized(exactly)},
		{name: "wildcard with file", names: []string{"*.dcv.dev"}, method: "file", code: CodeWildcardMethod, words: []string{`"*.dcv.dev"`, `"dns"`, `"file"`}},
		{name: "unknown method", names: []string{"dcv.dev"}, method: "http", code: CodeUnknownMethod, words: []string{`"http"`, `"dns"`, `"file"`}},
		{name: "method is case-sensitive", names: []string{"dcv.dev"}, method: "DNS", code: CodeUnknownMethod, words: []string{`"DNS"`}},
		{name: "no names", names: nil, method: "dns", code: CodeNoNames, words: []string{"at least one"}},
		{name: "too many", names: tooMany, method: "dns", code: CodeTooManyNames, words: []string{"at most 100", "101"}},
		{name: "duplicate", names: []string{"dcv.dev", "dcv.dev"}, method: "dns", code: CodeDuplicateName, words: []string{`"dcv.dev"`, "more than once"}},
		{name: "duplicate after normalisation", names: []string{"dcv.dev", "DCV.Dev."}, method: "dns", code: CodeDuplicateName, words: []string{`"DCV.Dev."`, `"dcv.dev"`, "same name"}},
		{name: "duplicate idn", names: []string{"bücher.de", "xn--bcher-kva.de"}, method: "file", code: CodeDuplicateName, words: []string{`"xn--bcher-kva.de"`, `"bücher.de"`}},
		{name: "bad name", names: []string{"dcv.dev", "foo.test"}, method: "dns", code: CodeReservedName, words: []string{`"foo.test"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseOrderNames(tt.names, tt.method)
			if tt.code != "" {
				if got != nil {
					t.Errorf("got names %q with an error; want nil", got)
				}
				assertRefused(t, "", err, tt.code, tt.words)
				return
			}
			if err != nil {
				t.Fatalf("ParseOrderNames = %v", err)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("ParseOrderNames = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseOrderNamesReportsEveryRefusal(t *testing.T) {
	t.Parallel()
	_, err := ParseOrderNames([]string{"a.test", "dcv.dev", "b_c.dcv.dev", "*.dcv.dev"}, "file")
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("err = %v (%T), want a joined error", err, err)
	}
	var codes []string
	for _, e := range joined.Unwrap() {
		pe, ok := e.(*PolicyError)
		if !ok {
			t.Fatalf("%v (%T) is not a *PolicyError", e, e)
		}
		codes = append(codes, pe.Code)
	}
	want := []string{CodeReservedName, CodeInvalidCharacter, CodeWildcardMethod}
	if strings.Join(codes, " ") != strings.Join(want, " ") {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	var first *PolicyError
	if !errors.As(err, &first) || first.Name != "a.test" {
		t.Errorf("errors.As found %+v, want the refusal of \"a.test\"", first)
	}
}

func TestBaseAndIsWildcard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		base     string
		wildcard bool
	}{
		{name: "wildcard", in: "*.dcv.dev", base: "dcv.dev", wildcard: true},
		{name: "plain", in: "dcv.dev", base: "dcv.dev"},
		{name: "star label inside", in: "a.*.dev", base: "a.*.dev"},
		{name: "star without dot", in: "*dcv.dev", base: "*dcv.dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Base(tt.in); got != tt.base {
				t.Errorf("Base(%q) = %q, want %q", tt.in, got, tt.base)
			}
			if got := IsWildcard(tt.in); got != tt.wildcard {
				t.Errorf("IsWildcard(%q) = %v, want %v", tt.in, got, tt.wildcard)
			}
		})
	}
}

func normalized(in []string) []string {
	out := make([]string, len(in))
	for i, n := range in {
		out[i] = strings.ToLower(n)
	}
	return out
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"dcv.dev", "*.dcv.dev", "WWW.DCV.DEV.", "bücher.de", "xn--bcher-kva.de", "faß.de",
		"192.0.2.1", "[::1]", "a..b", "_x.dcv.dev", "*.com", "foo.test", "ｄｃｖ。dev",
		"a\u200db.dev", "xn--a.dev", "ab--c.dev", "*", "", " \t", strings.Repeat("a", 64) + ".dev",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Code == "" || pe.Message == "" {
				t.Fatalf("Normalize(%q) error %v is not a complete *PolicyError", s, err)
			}
			return
		}
		if len(n) > MaxNameLength || !isASCII(n) || n != strings.ToLower(n) {
			t.Fatalf("Normalize(%q) = %q: not a short lowercase ASCII name", s, n)
		}
		again, err := Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", s, n, n, again, err)
		}
	})
}

// TestUnicode: an internationalised name's Unicode form, for people; none
// for a name without A-labels.
func TestUnicode(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"A-label", "xn--bcher-kva.example", "bücher.example"},
		{"A-label below", "www.xn--bcher-kva.example", "www.bücher.example"},
		{"wildcard", "*.xn--bcher-kva.example", "*.bücher.example"},
		{"ASCII only", "www.example.com", ""},
		{"a label merely containing xn--", "axn--b.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Unicode(tt.in); got != tt.want {
				t.Errorf("Unicode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
