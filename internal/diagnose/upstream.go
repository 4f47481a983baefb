package diagnose

import "github.com/dcvhq/dcv/internal/dnsclient"

// Sentences for lookups that failed at dcv's own recursive resolver (forward
// mode): the CA's problem, never the applicant's.
const (
	msgUpstreamRecord msg = "msgUpstreamRecord"
	msgUpstreamCAA    msg = "msgUpstreamCAA"
	fixUpstream       msg = "fixUpstream"
)

func init() {
	extend("", nil, map[msg]string{
		msgUpstreamRecord: "dcv could not look up %[1]s: its own DNS resolver %[2]s could not be reached. This is a problem on the certificate authority's side, not with your domain.",
		msgUpstreamCAA:    "dcv could not look up the CAA records of %[1]s: its own DNS resolver %[2]s could not be reached. This is a problem on the certificate authority's side, not with your domain; dcv does not issue without a CAA answer.",
		fixUpstream:       "Nothing to change on your side: check again later. If it persists, tell the certificate authority's operator that its resolver is down.",
	})
}

// upstream reports whether e is a failure of dcv's own resolver.
func upstream(e *dnsclient.Error) bool { return e != nil && e.Upstream }
