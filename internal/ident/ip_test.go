package ident

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseIP(t *testing.T) {
	public := Policy{}
	lab := Policy{IPs: Targets{Loopback: true}}
	internal := Policy{IPs: Targets{Private: true}}
	tests := []struct {
		name   string
		p      Policy
		in     string
		want   string
		code   string
		inText string
	}{
		{name: "ipv4", p: public, in: "8.8.8.8", want: "8.8.8.8"},
		{name: "ipv6 canonical", p: public, in: "2606:4700::1111", want: "2606:4700::1111"},
		{name: "ipv6 uppercase", p: public, in: "2606:4700::ABCD", code: CodeInvalidIP, inText: `"2606:4700::abcd"`},
		{name: "ipv6 uncompressed", p: public, in: "2606:4700:0:0:0:0:0:1", code: CodeInvalidIP, inText: `"2606:4700::1"`},
		{name: "ipv6 bracketed", p: public, in: "[2606:4700::1]", code: CodeInvalidIP, inText: `"2606:4700::1"`},
		{name: "ipv4 leading zero", p: public, in: "8.8.8.08", code: CodeInvalidIP, inText: "leading zero"},
		{name: "ipv4 leading zeros", p: public, in: "127.000.000.001", code: CodeInvalidIP, inText: "octal"},
		{name: "ipv4 bracketed", p: public, in: "[8.8.8.8]", code: CodeInvalidIP, inText: `send "8.8.8.8", the form`},
		{name: "final dot", p: public, in: "8.8.8.8.", code: CodeInvalidIP, inText: `ends with a dot, which an IP address has none of: send "8.8.8.8"`},
		{name: "ipv4 short", p: public, in: "127.1", code: CodeInvalidIP, inText: "dotted decimal"},
		{name: "with port", p: public, in: "8.8.8.8:443", code: CodeInvalidIP, inText: "without brackets, port or zone"},
		{name: "zone", p: public, in: "fe80::1%eth0", code: CodeInvalidIP, inText: "zone"},
		{name: "mapped", p: public, in: "::ffff:8.8.8.8", code: CodeInvalidIP, inText: "send the IPv4 address 8.8.8.8"},
		{name: "name", p: public, in: "example.com", code: CodeInvalidIP, inText: "not an IP address"},
		{name: "empty", p: public, in: "", code: CodeNameEmpty},
		{name: "long", p: public, in: strings.Repeat("1", 500), code: CodeInvalidIP, inText: "…"},
		{name: "loopback public", p: public, in: "127.0.0.1", code: CodeReservedIP, inText: "loopback address (RFC 1122, RFC 4291); this CA certifies public addresses only"},
		{name: "loopback lab", p: lab, in: "127.0.0.1", want: "127.0.0.1"},
		{name: "loopback v6 lab", p: lab, in: "::1", want: "::1"},
		{name: "private public", p: public, in: "10.1.2.3", code: CodeReservedIP, inText: "--allow-private-targets"},
		{name: "private internal", p: internal, in: "10.1.2.3", want: "10.1.2.3"},
		{name: "ula internal", p: internal, in: "fd00::1", want: "fd00::1"},
		{name: "link-local internal", p: internal, in: "169.254.169.254", code: CodeReservedIP, inText: "link-local"},
		{name: "documentation", p: internal, in: "192.0.2.1", code: CodeReservedIP, inText: "special-purpose"},
		{name: "multicast", p: public, in: "ff02::1", code: CodeReservedIP, inText: "multicast"},
		{name: "unspecified", p: public, in: "0.0.0.0", code: CodeReservedIP, inText: "unspecified"},
		// Blocks IsReserved lets a packet reach (it judges NAT64 and 6to4
		// by the embedded address) but the certificate lints refuse.
		{name: "nat64 of a public address", p: public, in: "64:ff9b::808:808", code: CodeReservedIP, inText: "special-purpose"},
		{name: "6to4 of a public address", p: public, in: "2002:808:808::1", code: CodeReservedIP, inText: "special-purpose"},
		{name: "as112", p: internal, in: "192.175.48.1", code: CodeReservedIP, inText: "special-purpose"},
		{name: "as112 v6", p: public, in: "2620:4f:8000::1", code: CodeReservedIP, inText: "special-purpose"},
		{name: "amt", p: public, in: "192.52.193.1", code: CodeReservedIP, inText: "special-purpose"},
		{name: "loopback on an internal CA", p: internal, in: "127.0.0.1", code: CodeReservedIP, inText: "this CA certifies public and private-use addresses only"},
		{name: "private on a lab", p: lab, in: "10.0.0.1", code: CodeReservedIP, inText: "this CA certifies public and loopback addresses only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, perr := tc.p.ParseIP(tc.in)
			if tc.code == "" {
				if perr != nil {
					t.Fatalf("ParseIP(%q) = %v", tc.in, perr)
				}
				if a.String() != tc.want {
					t.Fatalf("ParseIP(%q) = %s, want %s", tc.in, a, tc.want)
				}
				if !IsIP(a.String()) || IdentifierType(a.String()) != "ip" {
					t.Fatalf("IsIP(%s) false", a)
				}
				return
			}
			if perr == nil {
				t.Fatalf("ParseIP(%q) = %s, want %s", tc.in, a, tc.code)
			}
			if perr.Code != tc.code || !strings.Contains(perr.Message, tc.inText) {
				t.Fatalf("ParseIP(%q) = %s %q, want %s containing %q", tc.in, perr.Code, perr.Message, tc.code, tc.inText)
			}
		})
	}
}

// IsIP knows an address with a zone (client input), and uppercase hex.
func TestIsIPForms(t *testing.T) {
	for in, want := range map[string]bool{"fe80::1%eth0": true, "2001:DB8::1": true, "::ffff:1.2.3.4": true, "192.0.2.1": true, "a.b": false, "fe80::1%": false, "cafe.example": false} {
		if got := IsIP(in); got != want {
			t.Errorf("IsIP(%q) = %v, want %v", in, got, want)
		}
	}
}

// A name Normalize accepts is never taken for an IP address identifier.
func TestIdentifierTypeOfNames(t *testing.T) {
	for _, n := range []string{"example.com", "*.example.com", "xn--bcher-kva.example", "1.2.3.example"} {
		if IsIP(n) || IdentifierType(n) != "dns" {
			t.Errorf("%s taken for an IP address", n)
		}
	}
}

// An order's identifiers may be IP addresses: by file, not by a DNS record.
func TestParseOrderNamesWithAddresses(t *testing.T) {
	lab := Policy{IPs: Targets{Loopback: true}}
	tests := []struct {
		name   string
		method string // "" for ParseOrderIdentifiers
		in     []string
		want   []string
		code   string
	}{
		{name: "file", method: MethodFile, in: []string{"www.example.com", " 127.0.0.1 ", "::1"}, want: []string{"www.example.com", "127.0.0.1", "::1"}},
		{name: "dns", method: MethodDNS, in: []string{"127.0.0.1"}, code: CodeIPAddress},
		{name: "dns, final dot", method: MethodDNS, in: []string{"127.0.0.1."}, code: CodeIPAddress},
		{name: "twice", method: MethodFile, in: []string{"127.0.0.1", "127.0.0.1"}, code: CodeDuplicateName},
		{name: "not canonical", method: MethodFile, in: []string{"[::1]"}, code: CodeInvalidIP},
		{name: "leading zero", method: MethodFile, in: []string{"010.0.0.1"}, code: CodeInvalidIP},
		{name: "identifiers", in: []string{"*.example.com", "127.0.0.1"}, want: []string{"*.example.com", "127.0.0.1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var err error
			if tc.method == "" {
				got, err = lab.ParseOrderIdentifiers(tc.in)
			} else {
				got, err = lab.ParseOrderNames(tc.in, tc.method)
			}
			if tc.code != "" {
				var pe *PolicyError
				if !errors.As(err, &pe) || pe.Code != tc.code {
					t.Fatalf("= %v, %v; want %s", got, err, tc.code)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("= %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if n, err := lab.NormalizeIdentifier(" 127.0.0.1"); err != nil || n != "127.0.0.1" {
		t.Errorf("NormalizeIdentifier = %q, %v", n, err)
	}
	if _, err := ParseOrderNames([]string{"example.com"}, ""); err == nil {
		t.Error(`ParseOrderNames with method "" accepted`)
	}
	// Brackets around no address are no address sent by DNS record.
	var pe *PolicyError
	if _, err := lab.ParseOrderNames([]string{"[zz:zz]"}, MethodDNS); !errors.As(err, &pe) || pe.Code != CodeInvalidIP {
		t.Errorf("[zz:zz] by dns: %v, want %s", err, CodeInvalidIP)
	}
}

func BenchmarkIsIPName(b *testing.B) {
	for b.Loop() {
		IsIP("www.applicant.com")
	}
}
