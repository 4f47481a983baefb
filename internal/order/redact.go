package order

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// Redact turns a check into the applicant's view of it: it removes what
// describes the certificate authority's own infrastructure rather than the
// applicant's domain. From each remote perspective's row of the matrix go
// the agent's URL, the address it resolved or connected through and the
// technical reason it was unavailable (dial and TLS errors); the remote
// perspectives' raw observations go from the evidence. What each remote
// perspective saw stays in its row (verdict, what was seen, latency,
// region), and the findings still say why it matters; the primary
// perspective's row and evidence, which show the applicant's own
// nameservers and web server, stay whole. The stored check keeps
// everything, for the operator and the audit trail.
func (r *CheckResult) Redact() {
	for i := range r.Domains {
		d := &r.Domains[i]
		for j := range d.Matrix {
			if j > 0 {
				redactRow(&d.Matrix[j])
			}
		}
		if len(d.Evidence) > 1 {
			d.Evidence = d.Evidence[:1]
		}
	}
}

// Redact turns a pre-flight check into the applicant's view of it, as
// CheckResult.Redact does: the remote perspectives' observations leave the
// evidence, and their matrix rows keep what they saw.
func (r *PreflightResult) Redact() {
	for j := range r.Matrix {
		if j > 0 {
			redactRow(&r.Matrix[j])
		}
	}
	if len(r.Evidence) > 1 {
		r.Evidence = r.Evidence[:1]
	}
}

func redactRow(row *diagnose.PerspectiveRow) {
	row.Agent, row.Via, row.Detail = "", "", ""
	if row.Verdict == diagnose.VerdictUnavailable {
		// Checks stored before Detail existed kept the detail after the
		// words of Seen.
		if k := strings.Index(row.Seen, ": "); k >= 0 {
			row.Seen = row.Seen[:k]
		}
	}
}

// redactStored returns the applicant's view of a stored check's JSON.
func (s *Service) redactStored(b json.RawMessage) (json.RawMessage, error) {
	var r CheckResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	r.Redact()
	s.hideOwnResolvers(&r)
	return json.Marshal(&r)
}

// ownResolverText stands for the address of one of dcv's own recursive
// resolvers (forward mode) in an applicant's view: the CA's
// infrastructure, like its agents' URLs. Answers and errors keep saying
// that dcv's resolver gave them.
const ownResolverText = "dcv's resolver"

// resolverReplacer returns what turns the addresses of dcv's own resolvers
// into ownResolverText, or nil for none. Sentences that already say an
// address is dcv's own resolver lose the address alone (NewReplacer tries
// its pairs in order at each position).
func resolverReplacer(addrs []string) *strings.Replacer {
	if len(addrs) == 0 {
		return nil
	}
	var pairs []string
	for _, r := range addrs {
		pairs = append(pairs,
			r+", dcv's own recursive resolver, ", "dcv's own recursive resolver ",
			r+" is dcv's own recursive resolver", "That server is dcv's own recursive resolver",
			r, ownResolverText)
	}
	return strings.NewReplacer(pairs...)
}

// hideOwnResolvers replaces the addresses of dcv's own resolvers in r's
// findings, matrix and evidence.
func (s *Service) hideOwnResolvers(r *CheckResult) {
	h := s.hideResolvers
	if h == nil {
		return
	}
	for i := range r.Domains {
		d := &r.Domains[i]
		hideInFindings(h, d.Findings)
		hideInRows(h, d.Matrix)
		for j, e := range d.Evidence {
			d.Evidence[j] = json.RawMessage(h.Replace(string(e)))
		}
	}
}

// hidePreflightResolvers is hideOwnResolvers for a pre-flight check.
func (s *Service) hidePreflightResolvers(r *PreflightResult) error {
	h := s.hideResolvers
	if h == nil {
		return nil
	}
	hideInFindings(h, r.Findings)
	hideInRows(h, r.Matrix)
	for i := range r.Evidence {
		b, err := json.Marshal(&r.Evidence[i])
		if err != nil {
			return fmt.Errorf("encoding evidence: %w", err)
		}
		var o validation.Observation
		if err := json.Unmarshal([]byte(h.Replace(string(b))), &o); err != nil {
			return fmt.Errorf("decoding evidence: %w", err)
		}
		r.Evidence[i] = o
	}
	return nil
}

// viewFor is the view of o for acct: an applicant's without dcv's own
// resolvers' addresses in the findings and the order's error, and without
// a certificate link for a reader who may not download it.
func (s *Service) viewFor(acct *store.Account, o *store.Order) *View {
	v := s.view(o)
	if o.AccountID != acct.ID || o.Method == methodACME {
		// An admin reading another account's order: its certificate is
		// that account's to download (NOT_YOUR_ORDER), not a link to
		// follow, and its checks that account's to run.
		v.Certificate, v.ReadOnly = "", true
	}
	if s.hideResolvers != nil && !acct.Admin {
		v.Error = s.hideText(v.Error)
		for i := range v.Domains {
			hideInFindings(s.hideResolvers, v.Domains[i].Findings)
		}
	}
	return v
}

// hideText is t with dcv's own resolvers' addresses replaced, for an
// applicant.
func (s *Service) hideText(t string) string {
	if s.hideResolvers == nil {
		return t
	}
	return s.hideResolvers.Replace(t)
}

func hideInFindings(h *strings.Replacer, fs []diagnose.Finding) {
	for i := range fs {
		fs[i].Message, fs[i].Fix = h.Replace(fs[i].Message), h.Replace(fs[i].Fix)
	}
}

func hideInRows(h *strings.Replacer, rows []diagnose.PerspectiveRow) {
	for i := range rows {
		rows[i].Via, rows[i].Seen, rows[i].Detail = h.Replace(rows[i].Via), h.Replace(rows[i].Seen), h.Replace(rows[i].Detail)
	}
}
