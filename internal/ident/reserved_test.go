package ident

import (
	"net/netip"
	"testing"
)

func TestIsReserved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		addr string
		want bool
	}{
		{"public v4", "93.184.215.14", false},
		{"public v4 high", "223.255.255.1", false},
		{"this network", "0.1.2.3", true},
		{"rfc1918 10/8", "10.200.0.1", true},
		{"cgn", "100.64.0.1", true},
		{"cgn upper edge", "100.127.255.255", true},
		{"just above cgn", "100.128.0.1", false},
		{"loopback", "127.0.0.1", true},
		{"loopback other", "127.44.1.2", true},
		{"link local", "169.254.169.254", true},
		{"rfc1918 172.16/12", "172.31.255.255", true},
		{"just above 172.16/12", "172.32.0.1", false},
		{"ietf assignments", "192.0.0.8", true},
		{"test-net-1", "192.0.2.1", true},
		{"6to4 relay", "192.88.99.1", true},
		{"rfc1918 192.168/16", "192.168.1.1", true},
		{"benchmarking", "198.19.255.1", true},
		{"test-net-2", "198.51.100.7", true},
		{"test-net-3", "203.0.113.9", true},
		{"multicast", "224.0.0.251", true},
		{"class e", "250.1.1.1", true},
		{"broadcast", "255.255.255.255", true},
		{"public v6", "2606:4700::1111", false},
		{"unspecified v6", "::", true},
		{"loopback v6", "::1", true},
		{"mapped public v4", "::ffff:93.184.215.14", false},
		{"mapped private v4", "::ffff:10.0.0.1", true},
		{"mapped loopback", "::ffff:127.0.0.1", true},
		{"nat64 wkp public", "64:ff9b::5db8:d70e", false},
		{"nat64 wkp private", "64:ff9b::a00:1", true},
		{"nat64 local use", "64:ff9b:1::1", true},
		{"discard only", "100::1", true},
		{"teredo", "2001::1", true},
		{"ietf 2001::/23 end", "2001:1ff::1", true},
		{"just above 2001::/23", "2001:200::1", false},
		{"documentation v6", "2001:db8::1", true},
		{"documentation 3fff::/20", "3fff::1", true},
		{"6to4 public", "2002:5db8:d70e::1", false},
		{"6to4 private", "2002:c0a8:0101::1", true},
		{"unique local", "fd00::1", true},
		{"link local v6", "fe80::1", true},
		{"link local v6 with zone", "fe80::1%eth0", true},
		{"site local", "fec0::1", true},
		{"multicast v6", "ff02::1", true},
		{"srv6 sid", "5f00::1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := IsReserved(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("IsReserved(%s) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
	if !IsReserved(netip.Addr{}) {
		t.Error("IsReserved(zero Addr) = false, want true")
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true}, {"127.200.1.1", true}, {"::1", true},
		{"::ffff:127.0.0.1", false}, {"10.0.0.1", false}, {"::", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			t.Parallel()
			if got := IsLoopback(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("IsLoopback(%s) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
}

func TestTargetsRefused(t *testing.T) {
	t.Parallel()
	none, loop, priv, both := Targets{}, Targets{Loopback: true}, Targets{Private: true}, Targets{Loopback: true, Private: true}
	tests := []struct {
		addr string
		// want is Refused under none, loop, priv and both.
		want [4]bool
	}{
		{"93.184.215.14", [4]bool{false, false, false, false}},
		{"127.0.0.1", [4]bool{true, false, true, false}},
		{"::1", [4]bool{true, false, true, false}},
		{"10.1.2.3", [4]bool{true, true, false, false}},
		{"172.16.0.1", [4]bool{true, true, false, false}},
		{"192.168.1.1", [4]bool{true, true, false, false}},
		{"100.100.100.100", [4]bool{true, true, false, false}},
		{"fd12:3456::1", [4]bool{true, true, false, false}},
		{"::ffff:10.1.2.3", [4]bool{true, true, false, false}},
		// Never: instance metadata, link-local, documentation, multicast,
		// "this network", and private addresses behind NAT64 or 6to4.
		{"169.254.169.254", [4]bool{true, true, true, true}},
		{"fe80::1", [4]bool{true, true, true, true}},
		{"192.0.2.1", [4]bool{true, true, true, true}},
		{"224.0.0.251", [4]bool{true, true, true, true}},
		{"0.0.0.0", [4]bool{true, true, true, true}},
		{"64:ff9b::a00:1", [4]bool{true, true, true, true}},
		{"2002:c0a8:0101::1", [4]bool{true, true, true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			t.Parallel()
			a := netip.MustParseAddr(tc.addr)
			for i, tg := range []Targets{none, loop, priv, both} {
				if got := tg.Refused(a); got != tc.want[i] {
					t.Errorf("%+v.Refused(%s) = %v, want %v", tg, tc.addr, got, tc.want[i])
				}
			}
		})
	}
}
