package caa

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseIssueValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		issuer string
		params string // "k=v k=v"
		bad    bool
	}{
		{name: "issuer only", in: "ca.example", issuer: "ca.example"},
		{name: "uppercase issuer", in: "CA.Example", issuer: "ca.example"},
		{name: "surrounding space", in: " \tca.example\t ", issuer: "ca.example"},
		{name: "empty", in: ""},
		{name: "semicolon only", in: ";"},
		{name: "spaces and semicolon", in: "  ;  "},
		{name: "issuer and semicolon", in: "ca.example;", issuer: "ca.example"},
		{name: "parameters only", in: "; a=b", params: "a=b"},
		{name: "one parameter", in: "ca.example; accounturi=https://ca.example/acct/1", issuer: "ca.example", params: "accounturi=https://ca.example/acct/1"},
		{name: "spaces around", in: "ca.example ; a = b ;c=d ", issuer: "ca.example", params: "a=b c=d"},
		{name: "empty parameter value", in: "ca.example; a=", issuer: "ca.example", params: "a="},
		{name: "key lowercased", in: "ca.example; ValidationMethods=dns-01", issuer: "ca.example", params: "validationmethods=dns-01"},
		{name: "hyphenated key", in: "ca.example; x-y=1", issuer: "ca.example", params: "x-y=1"},
		{name: "hyphenated issuer", in: "my-ca.example", issuer: "my-ca.example"},
		{name: "digits", in: "1ca.example9", issuer: "1ca.example9"},
		{name: "value with visible punctuation", in: "ca.example; u=a:b/c?d=e&f", issuer: "ca.example", params: "u=a:b/c?d=e&f"},
		{name: "trailing semicolon after parameters", in: "ca.example; a=b;", bad: true},
		{name: "trailing dot", in: "ca.example.", bad: true},
		{name: "leading dot", in: ".ca.example", bad: true},
		{name: "empty label", in: "ca..example", bad: true},
		{name: "leading hyphen", in: "-ca.example", bad: true},
		{name: "trailing hyphen", in: "ca-.example", bad: true},
		{name: "space inside issuer", in: "ca example", bad: true},
		{name: "underscore", in: "ca_1.example", bad: true},
		{name: "parameter without value", in: "ca.example; a", bad: true},
		{name: "parameter without key", in: "ca.example; =b", bad: true},
		{name: "space inside value", in: "ca.example; a=b c", bad: true},
		{name: "missing semicolon", in: "ca.example a=b", bad: true},
		{name: "double semicolon", in: "ca.example;; a=b", bad: true},
		{name: "key with underscore", in: "ca.example; a_b=c", bad: true},
		{name: "duplicate key", in: "ca.example; a=1; A=2", bad: true},
		{name: "non-ascii", in: "cä.example", bad: true},
		{name: "control in value", in: "ca.example; a=b\x00", bad: true},
		{name: "newline", in: "ca.example\n", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := parseIssueValue(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("parseIssueValue(%q) = %+v, want an error", tt.in, v)
				}
				if !errors.Is(err, errMalformed) || !strings.HasPrefix(err.Error(), "malformed caa issue value: ") {
					t.Errorf("error %q does not wrap errMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseIssueValue(%q) = %v", tt.in, err)
			}
			if v.Issuer != tt.issuer {
				t.Errorf("Issuer = %q, want %q", v.Issuer, tt.issuer)
			}
			if got := formatParams(v.Params); got != tt.params {
				t.Errorf("Params = %q, want %q", got, tt.params)
			}
		})
	}
}

func TestParseMethodList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
		bad  bool
	}{
		{name: "one", in: "dns-01", want: "dns-01"},
		{name: "several", in: "dns-01,http-01,ca-dnsauth", want: "dns-01 http-01 ca-dnsauth"},
		{name: "empty", in: "", want: ""},
		{name: "empty item", in: "dns-01,,http-01", bad: true},
		{name: "trailing comma", in: "dns-01,", bad: true},
		{name: "bad hyphen", in: "dns-", bad: true},
		{name: "space", in: "dns-01, http-01", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseMethodList(tt.in)
			if tt.bad {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("parseMethodList(%q) = %q, %v; want a malformed error", tt.in, got, err)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != tt.want {
				t.Fatalf("parseMethodList(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func formatParams(ps []param) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, p.Key+"="+p.Value)
	}
	return strings.Join(parts, " ")
}

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{
		"", ";", "ca.example", "ca.example; accounturi=https://ca.example/a/1",
		"ca.example; validationmethods=dns-01,http-01", " ca.example ; a = b ; c=d ",
		"ca.example; a=b;", "ca..example", "-x", "a;b", "ca.example; a=1; A=2", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseIssueValue(s)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("parseIssueValue(%q): error %v does not wrap errMalformed", s, err)
			}
			return
		}
		// A parsed value printed back canonically parses to the same value.
		canon := v.Issuer
		for _, p := range v.Params {
			canon += "; " + p.Key + "=" + p.Value
		}
		if len(v.Params) == 0 && v.Issuer == "" {
			canon = ";"
		}
		again, err := parseIssueValue(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if again.Issuer != v.Issuer || fmt.Sprint(again.Params) != fmt.Sprint(v.Params) {
			t.Fatalf("%q parsed as %+v, its canonical form %q as %+v", s, v, canon, again)
		}
		if v.Issuer != strings.ToLower(v.Issuer) || strings.ContainsAny(v.Issuer, " \t;") {
			t.Fatalf("issuer %q of %q is not a lowercase domain", v.Issuer, s)
		}
	})
}

func TestCheckIssuerDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string // want: a piece of the error, "" for none
	}{
		{name: "two labels", in: "ca.example.net"},
		{name: "one label", in: "ca"},
		{name: "digits and hyphens", in: "ca-1.example9.net"},
		{name: "empty", in: "", want: "is empty"},
		{name: "space", in: "ca example", want: "is not an issuer domain name"},
		{name: "final dot", in: "ca.example.", want: "is not an issuer domain name"},
		{name: "leading hyphen", in: "-ca.example", want: "is not an issuer domain name"},
		{name: "parameters", in: "ca.example; accounturi=x", want: "is not an issuer domain name"},
		{name: "long label", in: strings.Repeat("a", 64) + ".example", want: "label longer than 63"},
		{name: "long name", in: strings.Repeat("a.", 127) + "ab", want: "longer than 253"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckIssuerDomain(tt.in)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("CheckIssuerDomain(%q) = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}
