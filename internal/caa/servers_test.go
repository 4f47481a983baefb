package caa

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dcvhq/dcv/internal/dnsclient"
)

// viewResolver is a fakeResolver that can also ask "every authoritative
// server" of a name: servers maps a fully qualified name to what each of
// its zone's two servers serves there (CAA records in presentation form;
// nil: none). Names not in servers are not asked.
type viewResolver struct {
	*fakeResolver
	servers map[string][2][]string

	mu    sync.Mutex
	asked []string
}

func (v *viewResolver) Authoritative(ctx context.Context, name string, qtype uint16) (*dnsclient.ZoneView, error) {
	v.mu.Lock()
	v.asked = append(v.asked, name)
	v.mu.Unlock()
	if qtype != typeCAA {
		v.t.Errorf("Authoritative(%q, %d): want type CAA", name, qtype)
	}
	sets, ok := v.servers[name]
	if !ok {
		return nil, &dnsclient.Error{Kind: dnsclient.KindUnknown, Name: name, Detail: "not in the test"}
	}
	view := &dnsclient.ZoneView{Zone: "example.com.", NS: []string{"ns1.example.com.", "ns2.example.com."}}
	for i, set := range sets {
		resp := &dnsclient.Response{Name: name, Type: "CAA", Rcode: "NOERROR"}
		for _, s := range set {
			resp.Answer = append(resp.Answer, caaRecord(name, s))
		}
		view.Servers = append(view.Servers, dnsclient.ServerView{
			NS: view.NS[i], Address: []string{"192.0.2.1:53", "192.0.2.2:53"}[i], Answer: resp, SOASerial: uint32(2026112700 + i),
		})
	}
	return view, nil
}

// TestEvaluateComparesServers: with a resolver that can ask every
// authoritative server, a verdict that depends on which server a lookup
// reaches is refused (servers_disagree); servers that differ only in what
// decides nothing leave the verdict, with the disagreement noted.
func TestEvaluateComparesServers(t *testing.T) {
	t.Parallel()
	const (
		ours   = `0 issue "` + us + `"`
		others = `0 issue "other.ca"`
		iodef  = `0 iodef "mailto:sec@example.com"`
	)
	tests := []struct {
		name     string
		answers  map[string]answer
		servers  map[string][2][]string
		permit   bool
		reason   string
		disagree string // the name of the disagreement; "" for none
		blocking bool
	}{
		{
			name:    "every server serves what the resolver answered",
			answers: map[string]answer{"example.com.": {caa: []string{ours}}},
			servers: map[string][2][]string{"www.example.com.": {nil, nil}, "example.com.": {{ours}, {ours}}},
			permit:  true,
		},
		{
			name:    "a server forbids where the resolver found nothing",
			answers: map[string]answer{},
			servers: map[string][2][]string{"www.example.com.": {nil, {others}}, "example.com.": {nil, nil}},
			reason:  ReasonServersDisagree, disagree: "www.example.com", blocking: true,
		},
		{
			name:    "a server lacks the relevant records the resolver found",
			answers: map[string]answer{"example.com.": {caa: []string{others}}},
			servers: map[string][2][]string{"www.example.com.": {nil, nil}, "example.com.": {{others}, nil}},
			reason:  ReasonServersDisagree, disagree: "example.com", blocking: true,
		},
		{
			name:    "a server permits where the resolver's answer forbids",
			answers: map[string]answer{"www.example.com.": {caa: []string{others}}},
			servers: map[string][2][]string{"www.example.com.": {{others}, {ours}}},
			reason:  ReasonServersDisagree, disagree: "www.example.com", blocking: true,
		},
		{
			name:     "the servers differ in an iodef only",
			answers:  map[string]answer{"example.com.": {caa: []string{ours}}},
			servers:  map[string][2][]string{"www.example.com.": {nil, nil}, "example.com.": {{ours}, {ours, iodef}}},
			permit:   true,
			disagree: "example.com",
		},
		{
			name:    "servers that cannot be asked leave the lookup's verdict",
			answers: map[string]answer{"example.com.": {caa: []string{ours}}},
			servers: map[string][2][]string{},
			permit:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &viewResolver{fakeResolver: &fakeResolver{t: t, answers: tt.answers}, servers: tt.servers}
			res := Evaluate(context.Background(), r, "www.example.com", dnsAuth)
			if res.Permitted != tt.permit || (!tt.permit && res.Reason != tt.reason) {
				t.Errorf("permitted %v, reason %q; want %v, %q", res.Permitted, res.Reason, tt.permit, tt.reason)
			}
			switch d := res.Disagreement; {
			case tt.disagree == "" && d != nil:
				t.Errorf("disagreement %+v, want none", d)
			case tt.disagree != "" && (d == nil || d.Name != tt.disagree || d.Blocking != tt.blocking || len(d.Servers) != 2):
				t.Errorf("disagreement %+v, want one at %s, blocking %v, with both servers", d, tt.disagree, tt.blocking)
			}
			// Only the applicant's zones are compared: never the TLD.
			if slices.ContainsFunc(r.asked, func(n string) bool { return !strings.HasSuffix(n, "example.com.") }) {
				t.Errorf("asked the servers of %v; want only names within example.com", r.asked)
			}
		})
	}
}

// TestEvaluateServersBlockingAfterHarmless: a disagreement that changes
// nothing at a name low on the climb (an iodef only one server serves)
// must not hide one further up that decides otherwise.
func TestEvaluateServersBlockingAfterHarmless(t *testing.T) {
	t.Parallel()
	const (
		ours   = `0 issue "` + us + `"`
		others = `0 issue "other.ca"`
		iodef  = `0 iodef "mailto:sec@example.com"`
	)
	r := &viewResolver{
		fakeResolver: &fakeResolver{t: t, answers: map[string]answer{"example.com.": {caa: []string{ours}}}},
		servers: map[string][2][]string{
			"www.example.com.": {nil, {iodef}},
			"example.com.":     {{ours}, {others}},
		},
	}
	res := Evaluate(context.Background(), r, "www.example.com", dnsAuth)
	if res.Permitted || res.Reason != ReasonServersDisagree {
		t.Fatalf("permitted %v, reason %q, disagreement %+v; want servers_disagree (ns2 forbids dcv at example.com)",
			res.Permitted, res.Reason, res.Disagreement)
	}
	if d := res.Disagreement; d == nil || d.Name != "example.com" || !d.Blocking {
		t.Errorf("disagreement %+v, want the blocking one at example.com", d)
	}
}

// TestEvaluateServersEmptyAtRelevantName: a server that does not serve yet
// the records the resolver found at the relevant name sends the climb
// further up; when that climb decides alike (no CAA above: any CA may
// issue), the versions do not decide otherwise and issuance is not blocked.
// When it decides otherwise, or cannot be looked up, it blocks.
func TestEvaluateServersEmptyAtRelevantName(t *testing.T) {
	t.Parallel()
	const (
		ours   = `0 issue "` + us + `"`
		others = `0 issue "other.ca"`
	)
	tests := []struct {
		name    string
		answers map[string]answer
		permit  bool
		block   bool
	}{
		{"nothing above: permitted either way",
			map[string]answer{"example.com.": {caa: []string{ours}}}, true, false},
		{"the TLD forbids dcv above",
			map[string]answer{"example.com.": {caa: []string{ours}}, "com.": {caa: []string{others}}}, false, true},
		{"the TLD cannot be looked up",
			map[string]answer{"example.com.": {caa: []string{ours}}, "com.": {rcode: "SERVFAIL"}}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &viewResolver{
				fakeResolver: &fakeResolver{t: t, answers: tt.answers},
				servers: map[string][2][]string{
					"www.example.com.": {nil, nil},
					"example.com.":     {{ours}, nil},
				},
			}
			res := Evaluate(context.Background(), r, "www.example.com", dnsAuth)
			if res.Permitted != tt.permit || (tt.block && res.Reason != ReasonServersDisagree) {
				t.Errorf("permitted %v, reason %q; want %v (blocking %v)", res.Permitted, res.Reason, tt.permit, tt.block)
			}
			if d := res.Disagreement; d == nil || d.Name != "example.com" || d.Blocking != tt.block {
				t.Errorf("disagreement %+v, want one at example.com, blocking %v", d, tt.block)
			}
		})
	}
}

// lameViewResolver is a viewResolver whose second server fails the CAA
// question (or only the SOA one) as lame says, at every name; without an
// Answer or AnswerErr in lame, its CAA answer is the viewResolver's.
type lameViewResolver struct {
	*viewResolver
	lame dnsclient.ServerView // Lame, LameReason, Answer/AnswerErr of ns2
}

func (v *lameViewResolver) Authoritative(ctx context.Context, name string, qtype uint16) (*dnsclient.ZoneView, error) {
	view, err := v.viewResolver.Authoritative(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	sv := &view.Servers[1]
	sv.Lame, sv.LameReason = v.lame.Lame, v.lame.LameReason
	if v.lame.Answer != nil || v.lame.AnswerErr != nil {
		sv.Answer, sv.AnswerErr = v.lame.Answer, v.lame.AnswerErr
	}
	return view, nil
}

// TestEvaluateFailingServers: a server of the applicant's zone that fails
// the CAA question (SERVFAIL, a timeout) while another one answers is
// recorded at each name of the climb, without changing the verdict; one
// whose CAA answer was fine (its SOA failed) is not, nor a server of the
// TLD.
func TestEvaluateFailingServers(t *testing.T) {
	t.Parallel()
	const ours = `0 issue "` + us + `"`
	tests := []struct {
		name string
		lame dnsclient.ServerView
		want string // the reason recorded at each name; "" for none
	}{
		{"SERVFAIL", dnsclient.ServerView{Lame: true, LameReason: "servfail", Answer: &dnsclient.Response{Rcode: "SERVFAIL"}}, "servfail"},
		{"timeout", dnsclient.ServerView{Lame: true, LameReason: "timeout", AnswerErr: &dnsclient.Error{Kind: dnsclient.KindTimeout, Detail: "i/o timeout"}}, "timeout"},
		{"REFUSED", dnsclient.ServerView{Lame: true, LameReason: "refused", Answer: &dnsclient.Response{Rcode: "REFUSED"}}, "refused"},
		{"the CAA answer fine, the SOA query timed out", dnsclient.ServerView{Lame: true, LameReason: "timeout"}, ""},
		{"not lame", dnsclient.ServerView{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &lameViewResolver{lame: tt.lame, viewResolver: &viewResolver{
				fakeResolver: &fakeResolver{t: t, answers: map[string]answer{"example.com.": {caa: []string{ours}}}},
				servers:      map[string][2][]string{"www.example.com.": {nil, nil}, "example.com.": {{ours}, {ours}}},
			}}
			res := Evaluate(context.Background(), r, "www.example.com", dnsAuth)
			if !res.Permitted || res.Disagreement != nil {
				t.Errorf("permitted %v, reason %q, disagreement %+v; want permitted without a disagreement", res.Permitted, res.Reason, res.Disagreement)
			}
			var want []FailingServer
			if tt.want != "" {
				for _, n := range []string{"www.example.com", "example.com"} {
					want = append(want, FailingServer{Name: n, Zone: "example.com", NS: "ns2.example.com", Address: "192.0.2.2:53", Reason: tt.want})
				}
			}
			if !slices.Equal(res.FailingServers, want) {
				t.Errorf("FailingServers = %+v, want %+v", res.FailingServers, want)
			}
		})
	}
}
