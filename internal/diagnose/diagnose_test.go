package diagnose

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/validation"
)

func TestDomainVerdict(t *testing.T) {
	t.Parallel()
	const host = "_dnsauth.a.example.com"
	pass := dnsObs(resp(host, "NOERROR", txt(host, testValue)), nil)
	missing := dnsObs(resp(host, "NXDOMAIN"), nil)
	remote := func(o validation.Observation, name string) validation.Observation {
		o.Perspective = name
		return o
	}
	fixInv := "This is a problem on the certificate authority's side, not with your domain: check again later, or contact the operator if it persists."
	fixNF := "Add a TXT record with host `_dnsauth.a` and value `" + testValue + "`. If you just added it, your DNS provider may need a few minutes to publish it."
	tests := []struct {
		name   string
		obs    []validation.Observation
		status string
		want   []Finding
	}{
		{name: "primary passes", obs: []validation.Observation{pass}, status: StatusApproved},
		{
			name:   "no observation fails closed",
			status: StatusPending,
			want:   []Finding{retryF(CodeObservationInvalid, "dcv has no usable evidence for this domain: no observation was made.", fixInv)},
		},
		{
			name: "empty expected value never matches an empty record",
			obs: []validation.Observation{func() validation.Observation {
				o := dnsObs(resp(host, "NOERROR", txt(host, "")), nil)
				o.Expected = ""
				return o
			}()},
			status: StatusPending,
			want:   []Finding{retryF(CodeObservationInvalid, "dcv has no usable evidence for a.example.com: the expected value is empty.", fixInv)},
		},
		{
			name: "unknown method",
			obs: []validation.Observation{func() validation.Observation {
				o := pass
				o.Method = "acme-http-01"
				return o
			}()},
			status: StatusPending,
			want:   []Finding{retryF(CodeObservationInvalid, "dcv has no usable evidence for a.example.com: the validation method is unknown.", fixInv)},
		},
		{
			name: "method without its evidence",
			obs: []validation.Observation{func() validation.Observation {
				o := pass
				o.Method = validation.MethodFile
				return o
			}()},
			status: StatusPending,
			want:   []Finding{retryF(CodeObservationInvalid, "dcv has no usable evidence for a.example.com: the evidence of the validation method is missing.", fixInv)},
		},
		{
			name:   "a remote perspective that fails blocks, named",
			obs:    []validation.Observation{pass, remote(missing, "eu-west")},
			status: StatusPending,
			// The primary passes and the one remote does not: the quorum
			// (BR 3.2.2.9) fails, and the finding names who saw what.
			want: []Finding{retryF(CodeRemotePerspectivesDisagree,
				"dcv's primary perspective sees the expected value, but only 0 of 1 remote perspectives corroborate it (1 needed): eu-west saw no record (NXDOMAIN). The likely cause is DNS caching: resolvers near those perspectives still hold the previous answer, or one of your nameservers has not been updated yet.", "Nothing needs to change if the record is correct: check again after the cached answers expire. Make sure every nameserver of the domain serves the new record.")},
		},
		{
			name:   "the same failure everywhere is reported once",
			obs:    []validation.Observation{missing, remote(missing, "eu-west"), remote(missing, "")},
			status: StatusPending,
			want: []Finding{retryF(CodeDNSRecordNotFound,
				"No TXT record at _dnsauth.a.example.com: 192.0.2.53:53 answered NXDOMAIN.", fixNF)},
		},
		{
			name: "an unnamed remote perspective is numbered",
			obs: []validation.Observation{pass, remote(func() validation.Observation {
				o := missing
				o.DNS = &validation.DNSObservation{Host: host, Record: validation.Lookup{Response: resp(host, "NOERROR")}}
				return o
			}(), "")},
			status: StatusPending,
			want: []Finding{retryF(CodeRemotePerspectivesDisagree,
				"dcv's primary perspective sees the expected value, but only 0 of 1 remote perspectives corroborate it (1 needed): perspective 1 saw no record (NOERROR). The likely cause is DNS caching: resolvers near those perspectives still hold the previous answer, or one of your nameservers has not been updated yet.", "Nothing needs to change if the record is correct: check again after the cached answers expire. Make sure every nameserver of the domain serves the new record.")},
		},
		{
			name: "DCV and CAA both fail: worst first",
			obs: []validation.Observation{func() validation.Observation {
				o := missing
				o.CAA = &caa.Result{Identity: "ca.dcv.example", RelevantName: "example.com", Reason: caa.ReasonEmptyIssuer, Tag: "issue"}
				return o
			}()},
			status: StatusPending,
			want: []Finding{
				retryF(CodeDNSRecordNotFound, "No TXT record at _dnsauth.a.example.com: 192.0.2.53:53 answered NXDOMAIN.", fixNF),
				errF(CodeCAAForbids, `CAA records at example.com forbid all issuance (issue ";").`,
					"Replace the `issue \";\"` record at example.com with `example.com. CAA 0 issue \"ca.dcv.example\"`."),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Domain(tt.obs, testNow)
			if got.Status != tt.status {
				t.Errorf("Status = %q, want %q", got.Status, tt.status)
			}
			checkFindings(t, got.Findings, tt.want)
		})
	}
}

// TestStatusFollowsBlocking checks the verdict rule on every finding Domain
// can produce in the other tests' worlds: approved iff no error finding.
func TestStatusFollowsBlocking(t *testing.T) {
	t.Parallel()
	obs := []validation.Observation{
		dnsObs(resp("_dnsauth.a.example.com", "NXDOMAIN"), nil),
		dnsObs(resp("_dnsauth.a.example.com", "NOERROR", txt("_dnsauth.a.example.com", testValue)), nil),
		fileObs(trace(httpURL, answer("192.0.2.10:80", 200, testValue))),
		fileObs(trace(httpURL, answer("192.0.2.10:80", 404, ""))),
	}
	for i, o := range obs {
		r := Domain([]validation.Observation{o}, testNow)
		blocking := slices.ContainsFunc(r.Findings, Finding.Blocking)
		if (r.Status == StatusApproved) == blocking {
			t.Errorf("observation %d: Status %q with blocking=%v", i, r.Status, blocking)
		}
	}
}

func TestSort(t *testing.T) {
	t.Parallel()
	in := []Finding{
		{Code: CodeIssued, Severity: SeverityInfo, Message: "i"},
		{Code: "ZZZ_NEW", Severity: SeverityError, Message: "z"},
		{Code: CodeCAAForbids, Severity: SeverityError, Message: "caa"},
		{Code: CodeCheckTooFrequent, Severity: SeverityWarning, Message: "w"},
		{Code: "AAA_NEW", Severity: SeverityError, Message: "a"},
		{Code: CodeDNSRecordNotFound, Severity: SeverityError, Message: "nf1"},
		{Code: CodeDomainUnresolvable, Severity: SeverityError, Message: "du"},
		{Code: CodeDNSRecordNotFound, Severity: SeverityError, Message: "nf2"},
	}
	Sort(in)
	var got []string
	for _, f := range in {
		got = append(got, f.Message)
	}
	want := []string{"du", "nf1", "nf2", "caa", "a", "z", "w", "i"}
	if !slices.Equal(got, want) {
		t.Errorf("Sort order = %v, want %v", got, want)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"cut", "abcdef", 5, "abcd…"},
		{"multibyte counted as runes", "ééééé", 5, "ééééé"},
		{"control escaped", "a\nb\tc\x00", 20, `a\nb\tc\x00`},
		{"escape not split", "ab\x00cdef", 4, "ab…"},
		{"escape fits exactly at the end", "ab\x00", 6, `ab\x00`},
		{"bidi override escaped", "x\u202ey", 20, `x\u202ey`},
		{"zero-width space and BOM", "\u200b\ufeff", 20, `\u200b\ufeff`},
		{"invalid UTF-8", "a\xffb", 20, `a\xffb`},
		{"DEL", "\x7f", 20, `\x7f`},
		{"n below 1", "abc", 0, "…"},
		{"empty", "", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Truncate(tt.in, tt.n); got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

// packageConsts returns the names of the package's constants declared with
// the given type, from its non-test sources.
func packageConsts(t *testing.T, typ string) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); ok && id.Name == typ {
					for _, n := range vs.Names {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("no constants of type %s found", typ)
	}
	return names
}

func TestCatalogComplete(t *testing.T) {
	t.Parallel()
	codes := packageConsts(t, "Code")
	if len(codes) != len(codeOrder) {
		t.Errorf("%d Code constants declared, codeOrder lists %d", len(codes), len(codeOrder))
	}
	seen := map[Code]bool{}
	for _, c := range Codes() {
		if seen[c] {
			t.Errorf("code %s listed twice", c)
		}
		seen[c] = true
		if Title(c) == string(c) || Title(c) == "" {
			t.Errorf("code %s has no English title", c)
		}
		if strings.ToUpper(string(c)) != string(c) || strings.ContainsAny(string(c), " -") {
			t.Errorf("code %q is not UPPER_SNAKE", c)
		}
	}
	if len(catalogEN.titles) != len(codeOrder) {
		t.Errorf("catalog has %d titles for %d codes", len(catalogEN.titles), len(codeOrder))
	}
	ids := packageConsts(t, "msg")
	for _, id := range ids {
		text, ok := catalogEN.text[msg(id)]
		if !ok || strings.TrimSpace(text) == "" {
			t.Errorf("message %s has no English template", id)
		}
	}
	if len(catalogEN.text) != len(ids) {
		t.Errorf("catalog has %d templates for %d message ids", len(catalogEN.text), len(ids))
	}
	for id, text := range catalogEN.text {
		if strings.Contains(text, "%s") || strings.Contains(text, "%d") {
			t.Errorf("template %s uses an unindexed verb; use %%[n]s so translations can reorder", id)
		}
	}
}

func TestCatalogMissingTemplate(t *testing.T) {
	t.Parallel()
	c := &catalog{text: map[msg]string{}}
	if got := c.f("msgNope", "a", 1); got != "msgNope[a 1]" {
		t.Errorf("missing template renders %q", got)
	}
	if got := Title("NOT_A_CODE"); got != "NOT_A_CODE" {
		t.Errorf("Title of unknown code = %q", got)
	}
}

func BenchmarkDomain(b *testing.B) {
	host := "_dnsauth.a.example.com"
	obs := []validation.Observation{dnsObs(resp(host, "NOERROR",
		txt(host, "google-site-verification=abc"), txt(host, `"`+testValue+`"`), txt(host, testValue[:5], testValue[5:]+"x")), nil)}
	obs[0].CAA = &caa.Result{Identity: "ca.dcv.example", RelevantName: "example.com", Reason: caa.ReasonNotListed, Tag: "issue", Allowed: []string{"letsencrypt.org"}}
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if r := Domain(obs, now); r.Status != StatusPending {
			b.Fatal(r.Status)
		}
	}
}
