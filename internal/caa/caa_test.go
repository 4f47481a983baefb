package caa

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// answer is what the fake resolver says for one name.
type answer struct {
	rcode  string // "" means NOERROR
	caa    []string
	cnames []string
	err    error
	block  bool // wait for ctx to end, then return its error
	// resolver marks the answer as given by dcv's own recursive resolver
	// (forward mode, Response.Resolver).
	resolver bool
}

// fakeResolver answers CAA lookups from a map keyed by fully qualified
// name; names not in the map are NXDOMAIN.
type fakeResolver struct {
	dnsclient.Resolver
	t       *testing.T
	answers map[string]answer

	mu      sync.Mutex
	queried []string
}

func (f *fakeResolver) Lookup(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, error) {
	f.mu.Lock()
	f.queried = append(f.queried, name)
	f.mu.Unlock()
	if qtype != typeCAA {
		f.t.Errorf("Lookup(%q, %d): want type CAA (257)", name, qtype)
	}
	if !strings.HasSuffix(name, ".") {
		f.t.Errorf("Lookup(%q): want a fully qualified name", name)
	}
	if _, ok := ctx.Deadline(); !ok {
		f.t.Errorf("Lookup(%q): ctx has no deadline", name)
	}
	a, ok := f.answers[name]
	if !ok {
		return &dnsclient.Response{Name: name, Type: "CAA", Rcode: "NXDOMAIN"}, nil
	}
	if a.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if a.err != nil {
		return nil, a.err
	}
	resp := &dnsclient.Response{Name: name, Type: "CAA", Rcode: a.rcode, CNAMEs: a.cnames, Resolver: a.resolver}
	if resp.Rcode == "" {
		resp.Rcode = "NOERROR"
	}
	for _, s := range a.caa {
		resp.Answer = append(resp.Answer, caaRecord(name, s))
	}
	return resp, nil
}

// caaRecord builds a record from presentation form: `0 issue "ca.example"`.
func caaRecord(owner, s string) dnsclient.Record {
	fields := strings.SplitN(s, " ", 3)
	var flag int
	for _, c := range fields[0] {
		flag = flag*10 + int(c-'0')
	}
	value := strings.TrimSuffix(strings.TrimPrefix(fields[2], `"`), `"`)
	return dnsclient.Record{
		Name: owner, Type: "CAA", TTL: 300, Data: s,
		Flag: uint8(flag), Tag: fields[1], Value: value,
	}
}

const us = "dcv.example"

var dnsAuth = Params{Identity: us, Method: "ca-dnsauth", AccountURI: "https://dcv.example/acct/1"}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answers map[string]answer
		domain  string
		params  Params

		permitted   bool
		reason      string
		relevant    string
		tag         string
		allowed     []string
		criticalTag string
		trace       []string // names looked at, in order
		failedName  string
		failedRcode string
		failureKind dnsclient.Kind
	}{
		{
			name:      "no caa anywhere permits",
			domain:    "www.shop.co.uk",
			params:    dnsAuth,
			permitted: true,
			trace:     []string{"www.shop.co.uk", "shop.co.uk", "co.uk", "uk"},
		},
		{
			name:      "caa at the name itself",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "climbs to the parent",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "other.example"`}}},
			domain:   "a.b.shop.dev",
			params:   dnsAuth,
			reason:   ReasonNotListed,
			relevant: "shop.dev", tag: "issue", allowed: []string{"other.example"},
			trace: []string{"a.b.shop.dev", "b.shop.dev", "shop.dev"},
		},
		{
			name:     "climbs to the tld",
			answers:  map[string]answer{"dev.": {caa: []string{`0 issue ";"`}}},
			domain:   "www.shop.dev",
			params:   dnsAuth,
			reason:   ReasonEmptyIssuer,
			relevant: "dev", tag: "issue", allowed: []string{""},
			trace: []string{"www.shop.dev", "shop.dev", "dev"},
		},
		{
			name: "noerror without caa climbs",
			answers: map[string]answer{
				"www.shop.dev.": {cnames: []string{"cdn.host.example."}},
				"shop.dev.":     {caa: []string{`0 issue "dcv.example"`}},
			},
			domain:    "www.shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"www.shop.dev", "shop.dev"},
		},
		{
			name: "nxdomain climbs",
			answers: map[string]answer{
				"gone.shop.dev.": {rcode: "NXDOMAIN"},
				"shop.dev.":      {caa: []string{`0 issue "other.example"`}},
			},
			domain: "gone.shop.dev",
			params: dnsAuth,
			reason: ReasonNotListed, relevant: "shop.dev", tag: "issue", allowed: []string{"other.example"},
			trace: []string{"gone.shop.dev", "shop.dev"},
		},
		{
			name:      "caa found through a cname",
			answers:   map[string]answer{"www.shop.dev.": {cnames: []string{"lb.cdn.example."}, caa: []string{`0 issue "dcv.example"`}}},
			domain:    "www.shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "www.shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"www.shop.dev"},
		},
		{
			name:      "one of several issuers",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "other.example"`, `0 issue "dcv.example"`, `0 iodef "mailto:sec@shop.dev"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"other.example", "dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:      "identity case-insensitive",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "DCV.Example"`}}},
			domain:    "shop.dev",
			params:    Params{Identity: "dcv.EXAMPLE", Method: "ca-dnsauth"},
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:      "tag case-insensitive",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 ISSUE "dcv.example"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:    "issuer is a suffix of ours only",
			answers: map[string]answer{"shop.dev.": {caa: []string{`0 issue "example"`, `0 issue "x.dcv.example"`}}},
			domain:  "shop.dev",
			params:  dnsAuth,
			reason:  ReasonNotListed, relevant: "shop.dev", tag: "issue", allowed: []string{"example", "x.dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:      "iodef only permits",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 iodef "mailto:sec@shop.dev"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev",
			trace: []string{"shop.dev"},
		},
		{
			name:      "issuewild only permits a non-wildcard",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issuewild ";"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev",
			trace: []string{"shop.dev"},
		},
		{
			name:     "issuewild ignored for a non-wildcard",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "other.example"`, `0 issuewild "dcv.example"`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonNotListed,
			relevant: "shop.dev", tag: "issue", allowed: []string{"other.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:      "issuewild governs a wildcard",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "other.example"`, `0 issuewild "dcv.example"`}}},
			domain:    "*.shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issuewild", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "issuewild refuses a wildcard issue allows",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example"`, `0 issuewild ";"`}}},
			domain:   "*.shop.dev",
			params:   dnsAuth,
			reason:   ReasonEmptyIssuer,
			relevant: "shop.dev", tag: "issuewild", allowed: []string{""},
			trace: []string{"shop.dev"},
		},
		{
			name:      "issue governs a wildcard without issuewild",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example"`}}},
			domain:    "*.shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "issue refuses a wildcard without issuewild",
			answers:  map[string]answer{"dev.": {caa: []string{`0 issue "other.example"`}}},
			domain:   "*.shop.dev",
			params:   dnsAuth,
			reason:   ReasonNotListed,
			relevant: "dev", tag: "issue", allowed: []string{"other.example"},
			trace: []string{"shop.dev", "dev"},
		},
		{
			name:     "empty issuer",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue ";"`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonEmptyIssuer,
			relevant: "shop.dev", tag: "issue", allowed: []string{""},
			trace: []string{"shop.dev"},
		},
		{
			name:     "empty value",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue ""`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonEmptyIssuer,
			relevant: "shop.dev", tag: "issue", allowed: []string{""},
			trace: []string{"shop.dev"},
		},
		{
			name:     "empty issuer beside another issuer is not listed",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue ";"`, `0 issue "other.example"`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonNotListed,
			relevant: "shop.dev", tag: "issue", allowed: []string{"", "other.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:        "critical unknown tag flag 128",
			answers:     map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example"`, `128 tbs "whatever"`}}},
			domain:      "shop.dev",
			params:      dnsAuth,
			reason:      ReasonCriticalUnknown,
			criticalTag: "tbs", relevant: "shop.dev",
			trace: []string{"shop.dev"},
		},
		{
			name:        "critical unknown tag flag 1",
			answers:     map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example"`, `1 future "x"`}}},
			domain:      "shop.dev",
			params:      dnsAuth,
			reason:      ReasonCriticalUnknown,
			criticalTag: "future", relevant: "shop.dev",
			trace: []string{"shop.dev"},
		},
		{
			name:      "critical known tags are fine",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`128 issue "dcv.example"`, `129 IODEF "mailto:a@shop.dev"`, `1 issuemail ";"`, `128 issuevmc ";"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:      "unknown tag without critical flag is ignored",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example"`, `64 tbs "x"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:      "accounturi match",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; accounturi=https://dcv.example/acct/1"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "accounturi mismatch",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; accounturi=https://dcv.example/acct/2"`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonAccountMismatch,
			relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "accounturi needs an account",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; accounturi=https://dcv.example/acct/1"`}}},
			domain:   "shop.dev",
			params:   Params{Identity: us, Method: "ca-dnsauth"},
			reason:   ReasonAccountMismatch,
			relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			// An account URI from before dcv left out default ports
			// (review): the same URI.
			name:      "accounturi with the default port",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; accounturi=https://dcv.example:443/acct/1"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "accounturi with another port",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; accounturi=https://dcv.example:8443/acct/1"`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonAccountMismatch,
			relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "accounturi compared exactly",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; accounturi=https://DCV.example/acct/1"`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonAccountMismatch,
			relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:      "accounturi on another property does not bind ours",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; accounturi=https://dcv.example/acct/9"`, `0 issue "dcv.example"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example", "dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:      "validationmethods match",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; validationmethods=dns-01,ca-dnsauth"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "validationmethods mismatch",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; validationmethods=http-01,ca-fileauth"`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonMethodMismatch,
			relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "validationmethods empty list",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; validationmethods="`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonMethodMismatch,
			relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "validationmethods malformed list",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; validationmethods=ca-dnsauth,,dns-01"`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonMethodMismatch,
			relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:      "both parameters match, keys case-insensitive, unknown ignored",
			answers:   map[string]answer{"shop.dev.": {caa: []string{"0 issue \"dcv.example ;\tAccountURI = https://dcv.example/acct/1 ; policy=ev; ValidationMethods=ca-dnsauth\""}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "malformed value does not authorise",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example; accounturi"`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonMalformed,
			relevant: "shop.dev", tag: "issue",
			trace: []string{"shop.dev"},
		},
		{
			name:     "trailing dot on issuer is malformed",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example."`}}},
			domain:   "shop.dev",
			params:   dnsAuth,
			reason:   ReasonMalformed,
			relevant: "shop.dev", tag: "issue",
			trace: []string{"shop.dev"},
		},
		{
			name:      "malformed value beside a good one",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv example"`, `0 issue "dcv.example"`}}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:        "servfail fails closed",
			answers:     map[string]answer{"b.shop.dev.": {rcode: "SERVFAIL"}, "dev.": {caa: []string{`0 issue "dcv.example"`}}},
			domain:      "a.b.shop.dev",
			params:      dnsAuth,
			reason:      ReasonLookupFailed,
			failedName:  "b.shop.dev",
			failedRcode: "SERVFAIL",
			trace:       []string{"a.b.shop.dev", "b.shop.dev"},
		},
		{
			name:        "refused fails closed",
			answers:     map[string]answer{"shop.dev.": {rcode: "REFUSED"}},
			domain:      "shop.dev",
			params:      dnsAuth,
			reason:      ReasonLookupFailed,
			failedName:  "shop.dev",
			failedRcode: "REFUSED",
			trace:       []string{"shop.dev"},
		},
		{
			// An authoritative-only server used as the resolver refuses the
			// TLD: the suffix is taken as having no CAA set, and the trace
			// says so.
			name:      "refused at a public suffix is no CAA set",
			answers:   map[string]answer{"dev.": {rcode: "REFUSED", resolver: true}},
			domain:    "shop.dev",
			params:    dnsAuth,
			permitted: true,
			trace:     []string{"shop.dev", "dev"},
		},
		{
			name:      "refused at a private-section suffix too",
			answers:   map[string]answer{"github.io.": {rcode: "REFUSED", resolver: true}, "io.": {rcode: "REFUSED", resolver: true}},
			domain:    "me.github.io",
			params:    dnsAuth,
			permitted: true,
			trace:     []string{"me.github.io", "github.io", "io"},
		},
		{
			// In iterative mode the REFUSED is the suffix's own server (or
			// anyone on the path forging it): no permission (security review).
			name:        "refused at a public suffix by its own server fails closed",
			answers:     map[string]answer{"github.io.": {rcode: "REFUSED"}},
			domain:      "me.github.io",
			params:      dnsAuth,
			reason:      ReasonLookupFailed,
			failedName:  "github.io",
			failedRcode: "REFUSED",
			trace:       []string{"me.github.io", "github.io"},
		},
		{
			name:        "servfail at the tld fails closed",
			answers:     map[string]answer{"dev.": {rcode: "SERVFAIL"}},
			domain:      "shop.dev",
			params:      dnsAuth,
			reason:      ReasonLookupFailed,
			failedName:  "dev",
			failedRcode: "SERVFAIL",
			trace:       []string{"shop.dev", "dev"},
		},
		{
			name: "timeout fails closed",
			answers: map[string]answer{"shop.dev.": {err: &dnsclient.Error{
				Kind: dnsclient.KindTimeout, Name: "shop.dev.", Type: "CAA", Server: "127.0.0.53:53",
			}}},
			domain:      "www.shop.dev",
			params:      dnsAuth,
			reason:      ReasonLookupFailed,
			failedName:  "shop.dev",
			failureKind: dnsclient.KindTimeout,
			trace:       []string{"www.shop.dev", "shop.dev"},
		},
		{
			name:        "wrapped dns error keeps its kind",
			answers:     map[string]answer{"shop.dev.": {err: errorWrap{&dnsclient.Error{Kind: dnsclient.KindLoop, Name: "shop.dev.", Type: "CAA"}}}},
			domain:      "shop.dev",
			params:      dnsAuth,
			reason:      ReasonLookupFailed,
			failedName:  "shop.dev",
			failureKind: dnsclient.KindLoop,
			trace:       []string{"shop.dev"},
		},
		{
			name:        "other error fails closed",
			answers:     map[string]answer{"shop.dev.": {err: errors.New("resolver exploded")}},
			domain:      "shop.dev",
			params:      dnsAuth,
			reason:      ReasonLookupFailed,
			failedName:  "shop.dev",
			failureKind: dnsclient.KindUnknown,
			trace:       []string{"shop.dev"},
		},
		{
			name:        "nil response fails closed",
			answers:     nil,
			domain:      "nil.dev",
			params:      dnsAuth,
			reason:      ReasonLookupFailed,
			failedName:  "nil.dev",
			failureKind: dnsclient.KindUnknown,
			trace:       []string{"nil.dev"},
		},
		{
			name:      "trailing dot and case in name",
			answers:   map[string]answer{"shop.dev.": {caa: []string{`0 issue "dcv.example"`}}},
			domain:    "Shop.Dev.",
			params:    dnsAuth,
			permitted: true, relevant: "shop.dev", tag: "issue", allowed: []string{"dcv.example"},
			trace: []string{"shop.dev"},
		},
		{
			name:     "empty identity matches nothing",
			answers:  map[string]answer{"shop.dev.": {caa: []string{`0 issue ";"`, `0 issue "x.example"`}}},
			domain:   "shop.dev",
			params:   Params{},
			reason:   ReasonNotListed,
			relevant: "shop.dev", tag: "issue", allowed: []string{"", "x.example"},
			trace: []string{"shop.dev"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r dnsclient.Resolver = &fakeResolver{t: t, answers: tt.answers}
			if tt.name == "nil response fails closed" {
				r = nilResolver{}
			}
			res := Evaluate(context.Background(), r, tt.domain, tt.params)
			if res == nil {
				t.Fatal("Evaluate returned nil")
			}
			if res.Permitted != tt.permitted {
				t.Errorf("Permitted = %v, want %v (reason %q)", res.Permitted, tt.permitted, res.Reason)
			}
			if res.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", res.Reason, tt.reason)
			}
			if res.RelevantName != tt.relevant {
				t.Errorf("RelevantName = %q, want %q", res.RelevantName, tt.relevant)
			}
			if res.Tag != tt.tag {
				t.Errorf("Tag = %q, want %q", res.Tag, tt.tag)
			}
			if !slices.Equal(res.Allowed, tt.allowed) {
				t.Errorf("Allowed = %q, want %q", res.Allowed, tt.allowed)
			}
			if res.CriticalTag != tt.criticalTag {
				t.Errorf("CriticalTag = %q, want %q", res.CriticalTag, tt.criticalTag)
			}
			if res.FailedName != tt.failedName || res.FailedRcode != tt.failedRcode {
				t.Errorf("FailedName, FailedRcode = %q, %q; want %q, %q", res.FailedName, res.FailedRcode, tt.failedName, tt.failedRcode)
			}
			wantFailure := tt.reason == ReasonLookupFailed && tt.failedRcode == ""
			switch {
			case wantFailure && res.Failure == nil:
				t.Errorf("Failure = nil, want kind %v", tt.failureKind)
			case wantFailure && res.Failure.Kind != tt.failureKind:
				t.Errorf("Failure.Kind = %v, want %v", res.Failure.Kind, tt.failureKind)
			case !wantFailure && res.Failure != nil:
				t.Errorf("Failure = %v, want nil", res.Failure)
			}
			var names []string
			for _, s := range res.Trace {
				names = append(names, s.Name)
			}
			if !slices.Equal(names, tt.trace) {
				t.Errorf("trace = %q, want %q", names, tt.trace)
			}
			if tt.relevant != "" {
				want := tt.answers[tt.relevant+"."].caa
				if len(res.Records) != len(want) {
					t.Errorf("Records = %d records, want %d", len(res.Records), len(want))
				}
			} else if res.Records != nil {
				t.Errorf("Records = %v, want none", res.Records)
			}
			if res.Domain != strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(tt.domain), "."), "*.") {
				t.Errorf("Domain = %q for %q", res.Domain, tt.domain)
			}
			if res.Wildcard != strings.HasPrefix(tt.domain, "*.") {
				t.Errorf("Wildcard = %v for %q", res.Wildcard, tt.domain)
			}
		})
	}
}

// errorWrap hides a *dnsclient.Error behind another error.
type errorWrap struct{ err error }

func (e errorWrap) Error() string { return "wrapped: " + e.err.Error() }
func (e errorWrap) Unwrap() error { return e.err }

// nilResolver breaks the Resolver contract by returning nothing at all.
type nilResolver struct{ dnsclient.Resolver }

func (nilResolver) Lookup(context.Context, string, uint16) (*dnsclient.Response, error) {
	return nil, nil
}

func TestEvaluateTraceKeepsResponses(t *testing.T) {
	t.Parallel()
	f := &fakeResolver{t: t, answers: map[string]answer{
		"www.shop.dev.": {cnames: []string{"lb.cdn.example.", "edge.cdn.example."}},
		"shop.dev.":     {caa: []string{`0 issue "dcv.example"`}},
	}}
	res := Evaluate(context.Background(), f, "www.shop.dev", dnsAuth)
	if len(res.Trace) != 2 {
		t.Fatalf("trace has %d steps, want 2", len(res.Trace))
	}
	first := res.Trace[0]
	if first.Response == nil || !slices.Equal(first.Response.CNAMEs, []string{"lb.cdn.example.", "edge.cdn.example."}) {
		t.Errorf("first step response = %+v, want the CNAME chain", first.Response)
	}
	if first.Err != nil {
		t.Errorf("first step error = %v, want nil", first.Err)
	}
	if got := res.Trace[1].Response.Answer; len(got) != 1 || got[0].Value != "dcv.example" {
		t.Errorf("second step answer = %+v", got)
	}
	if !slices.Equal(f.queried, []string{"www.shop.dev.", "shop.dev."}) {
		t.Errorf("queried %q", f.queried)
	}
}

func TestEvaluateTimeoutFromContext(t *testing.T) {
	t.Parallel()
	f := &fakeResolver{t: t, answers: map[string]answer{"shop.dev.": {block: true}}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := Evaluate(ctx, f, "www.shop.dev", dnsAuth)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Evaluate took %v; want it to stop at ctx's deadline", d)
	}
	if res.Permitted || res.Reason != ReasonLookupFailed || res.FailedName != "shop.dev" {
		t.Fatalf("Permitted, Reason, FailedName = %v, %q, %q; want false, lookup_failed, shop.dev", res.Permitted, res.Reason, res.FailedName)
	}
	if res.Failure == nil || res.Failure.Kind != dnsclient.KindTimeout || res.Failure.Type != "CAA" {
		t.Fatalf("Failure = %+v, want a CAA timeout", res.Failure)
	}
	if last := res.Trace[len(res.Trace)-1]; last.Err != res.Failure {
		t.Errorf("last step error = %v, want the failure", last.Err)
	}
}

func TestRefusedSuffixNoted(t *testing.T) {
	t.Parallel()
	f := &fakeResolver{t: t, answers: map[string]answer{"dev.": {rcode: "REFUSED", resolver: true}}}
	r := Evaluate(context.Background(), f, "shop.dev", Params{Identity: "dcv.example"})
	if !r.Permitted || len(r.Trace) != 2 {
		t.Fatalf("permitted %v, trace %+v", r.Permitted, r.Trace)
	}
	if r.Trace[0].Note != "" || r.Trace[1].Note != NoteRefusedSuffix {
		t.Fatalf("notes %q, %q; want none, then %q", r.Trace[0].Note, r.Trace[1].Note, NoteRefusedSuffix)
	}
}
