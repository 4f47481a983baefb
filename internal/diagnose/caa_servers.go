package diagnose

import (
	"fmt"
	"strings"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
)

// CodeCAANameserversDisagree: the authoritative servers of a zone on the
// CAA climb serve different CAA records at a name (caa.Disagreement).
// Blocking, and retryable, when the versions decide differently: the
// verdict would depend on which server a lookup reached. A warning when
// every version decides alike. Like the others, the code is API.
const CodeCAANameserversDisagree Code = "CAA_NAMESERVERS_DISAGREE"

const (
	msgCAADisagree         msg = "msgCAADisagree"
	msgCAADisagreeHarmless msg = "msgCAADisagreeHarmless"
	fixCAADisagree         msg = "fixCAADisagree"
	wordCAAServer          msg = "wordCAAServer"
	wordCAANone            msg = "wordCAANone"
)

func init() {
	extend(CodeCAACriticalUnknown,
		map[Code]string{CodeCAANameserversDisagree: "Nameservers disagree on CAA"},
		map[msg]string{
			msgCAADisagree:         "The nameservers of the %[1]s zone serve different CAA records at %[2]s: %[3]s. A lookup reaches one of them at random (remote perspectives, other ones), and these versions do not decide alike whether %[4]s may issue, so dcv does not issue until every nameserver serves the same records.",
			msgCAADisagreeHarmless: "The nameservers of the %[1]s zone serve different CAA records at %[2]s: %[3]s. Every version decides alike whether %[4]s may issue, so this does not change the outcome.",
			fixCAADisagree:         "If you changed the CAA records of %[2]s recently, wait until every nameserver of %[1]s serves the change (the one with the highest SOA serial has the newest version), then check again; otherwise correct the records on the servers that differ, so that all serve the same ones.",
			wordCAAServer:          "%[1]s serves %[2]s",
			wordCAANone:            "no CAA record",
		},
		CodeCAANameserversDisagree)
}

// caaFindings is what r says about CAA: its refusal, or, when it permits
// but the zone's servers serve different records that decide alike, a
// warning saying so; none otherwise.
func (d *diagnoser) caaFindings(r *caa.Result) []Finding {
	switch {
	case r == nil:
		return nil
	case !r.Permitted:
		return []Finding{d.caa(r)}
	case r.Disagreement != nil:
		return []Finding{d.caaDisagree(r)}
	}
	return nil
}

// caaDisagree renders r.Disagreement: blocking (and retryable: servers
// catch up) when its versions decide differently, a warning otherwise.
func (d *diagnoser) caaDisagree(r *caa.Result) Finding {
	g := r.Disagreement
	zone := Truncate(trimDot(g.Zone), maxNameShown)
	name := Truncate(trimDot(g.Name), maxNameShown)
	parts := make([]string, 0, len(g.Servers))
	for _, s := range g.Servers {
		records := d.c.f(wordCAANone)
		if len(s.Records) > 0 {
			rs := make([]string, len(s.Records))
			for i, rec := range s.Records {
				rs[i] = Truncate(fmt.Sprintf("%d %s %q", rec.Flag, rec.Tag, rec.Value), maxDetailShown)
			}
			records = strings.Join(rs, d.c.f(wordListSep))
		}
		sv := dnsclient.ServerView{NS: s.NS, Address: s.Address, SOASerial: s.Serial}
		parts = append(parts, d.c.f(wordCAAServer, d.serversWithSerials([]dnsclient.ServerView{sv}), records))
	}
	f := Finding{
		Code:     CodeCAANameserversDisagree,
		Severity: SeverityWarning,
		Message:  d.c.f(msgCAADisagreeHarmless, zone, name, strings.Join(parts, "; "), Truncate(r.Identity, maxNameShown)),
		Fix:      d.c.f(fixCAADisagree, zone, name),
	}
	if g.Blocking {
		f.Severity = SeverityError
		f.Message = d.c.f(msgCAADisagree, zone, name, strings.Join(parts, "; "), Truncate(r.Identity, maxNameShown))
		f.Retryable = true
	}
	return f
}
