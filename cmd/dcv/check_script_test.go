package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dcvhq/dcv/internal/testenv"
)

// scriptCondition adds the condition "root": the process may bind port 53
// (scripts that build a dnsworld start with "[!root] skip").
func scriptCondition(cond string) (bool, error) {
	if cond == "root" {
		return os.Geteuid() == 0, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// dnsWorlds holds the DNS hierarchy of each script that built one.
var dnsWorlds sync.Map // *testscript.TestScript -> *testenv.World

// dnsworld ZONE[:SERVERS]...: starts a DNS hierarchy on loopback port 53
// (root, then each zone delegated from its parent, with SERVERS servers,
// 1 if not given) and sets $ROOTHINTS to a root hints file for it and
// $TRUSTANCHOR to a trust anchor of a zone outside the world, so that its
// unsigned zones are not judged against the built-in IANA root keys. Tests
// never resolve from the built-in root hints. It needs root (port 53):
// scripts that use it start with "[!root] skip".
func cmdDNSWorld(t *testing.T, ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: dnsworld ZONE[:SERVERS]...")
	}
	if os.Geteuid() != 0 {
		ts.Fatalf("dnsworld needs root (port 53): guard the script with [!root] skip")
	}
	w := testenv.NewWorld(t)
	for _, a := range args {
		zone, n := a, 1
		if z, c, ok := strings.Cut(a, ":"); ok {
			zone = z
			if _, err := fmt.Sscanf(c, "%d", &n); err != nil {
				ts.Fatalf("dnsworld: bad server count in %q", a)
			}
		}
		parent := "."
		if i := strings.Index(strings.TrimSuffix(zone, "."), "."); i >= 0 {
			parent = zone[i+1:]
		}
		w.AddZone(zone, parent, n)
	}
	dnsWorlds.Store(ts, w)
	hints := ". 3600000 NS a.root-servers.invalid.\n"
	for _, a := range w.RootHints {
		hints += "a.root-servers.invalid. 3600000 A " + a.String() + "\n"
	}
	ts.Check(os.WriteFile(ts.MkAbs("roothints"), []byte(hints), 0o644))
	ts.Setenv("ROOTHINTS", ts.MkAbs("roothints"))
	anchor := "outside.invalid. IN DS 12345 13 2 " + strings.Repeat("AB", 32) + "\n"
	ts.Check(os.WriteFile(ts.MkAbs("anchor"), []byte(anchor), 0o644))
	ts.Setenv("TRUSTANCHOR", ts.MkAbs("anchor"))
}

// zone-add ZONE RR...: adds records to every server of ZONE of the
// script's DNS world.
func cmdZoneAdd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: zone-add ZONE RR...")
	}
	v, ok := dnsWorlds.Load(ts)
	if !ok {
		ts.Fatalf("zone-add: no dnsworld")
	}
	z := v.(*testenv.World).Zone(args[0])
	if z == nil {
		ts.Fatalf("zone-add: no zone %s", args[0])
	}
	z.Add(args[1:]...)
}

// servfail ZONE N TYPE: the N-th server (from 1) of ZONE of the
// script's DNS world answers SERVFAIL to questions of TYPE (CAA, TXT, ...),
// and normally to the others.
func cmdServfail(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: servfail ZONE N TYPE")
	}
	v, ok := dnsWorlds.Load(ts)
	if !ok {
		ts.Fatalf("servfail: no dnsworld")
	}
	z := v.(*testenv.World).Zone(args[0])
	if z == nil {
		ts.Fatalf("servfail: no zone %s", args[0])
	}
	var n int
	if _, err := fmt.Sscanf(args[1], "%d", &n); err != nil || n < 1 || n > len(z.Servers) {
		ts.Fatalf("servfail: no server %s of %s", args[1], args[0])
	}
	qtype, ok := dns.StringToType[strings.ToUpper(args[2])]
	if !ok {
		ts.Fatalf("servfail: unknown type %s", args[2])
	}
	z.Server(n - 1).SetHook(func(req *dns.Msg) *dns.Msg {
		if len(req.Question) != 1 || req.Question[0].Qtype != qtype {
			return nil
		}
		return new(dns.Msg).SetRcode(req, dns.RcodeServerFailure)
	})
}
