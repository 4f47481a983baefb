package order

import (
	"encoding/json"
	"strings"

	"github.com/dcvhq/dcv/internal/diagnose"
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
func redactStored(b json.RawMessage) (json.RawMessage, error) {
	var r CheckResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	r.Redact()
	return json.Marshal(&r)
}
