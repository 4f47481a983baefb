package diagnose

import "strings"

// Message ids of a CNAME chain that loops or is too long.
const (
	msgDomainCNAMELoopAt  msg = "msgDomainCNAMELoopAt"
	msgDomainCNAMETooLong msg = "msgDomainCNAMETooLong"
	fixDomainCNAMETooLong msg = "fixDomainCNAMETooLong"
	msgRecordCNAMETooLong msg = "msgRecordCNAMETooLong"
	fixRecordCNAMETooLong msg = "fixRecordCNAMETooLong"
	wordCAACNAMELoopAt    msg = "wordCAACNAMELoopAt"
	wordCAACNAMETooLong   msg = "wordCAACNAMETooLong"
	fixCAACNAMEChain      msg = "fixCAACNAMEChain"
	noteCNAMELoopChain    msg = "noteCNAMELoopChain"
)

// detailCNAMETooLong starts the dnsclient error detail of a CNAME chain
// longer than the resolver follows (see detailCNAMELoop).
const detailCNAMETooLong = "cname chain longer than "

func init() {
	extend("", nil, map[msg]string{
		msgDomainCNAMELoopAt:  "%[1]s could not be resolved: its CNAME chain loops: it comes back to %[2]s.",
		msgDomainCNAMETooLong: "%[1]s could not be resolved: its CNAME chain is longer than the %[2]s links dcv follows.",
		fixDomainCNAMETooLong: "Shorten the CNAME chain starting at %[1]s: point its CNAME closer to the name with the A or AAAA records, so that it is reached in at most %[2]s steps.",
		msgRecordCNAMETooLong: "The TXT lookup of %[1]s failed: its CNAME chain is longer than the %[2]s links dcv follows.",
		fixRecordCNAMETooLong: "Shorten the CNAME chain starting at %[1]s: point its CNAME closer to the name that holds the TXT record, so that it is reached in at most %[2]s steps.",
		wordCAACNAMELoopAt:    "its CNAME chain loops: it comes back to %[1]s",
		wordCAACNAMETooLong:   "its CNAME chain is longer than the %[1]s links dcv follows",
		noteCNAMELoopChain:    "The chain: %[1]s.",
		fixCAACNAMEChain:      "Fix the CNAME records starting at %[1]s so that the chain ends, in a few steps, at a name that exists: CAA is looked up along it, and a chain that loops or does not end answers nothing.",
	})
}

// cnameChainDetail tells, from a resolver error's detail, a CNAME chain
// that loops (at is where it comes back) from one longer than dcv follows
// (limit is that length); both empty when the detail says neither.
func cnameChainDetail(detail string) (at, limit string) {
	if i := strings.Index(detail, detailCNAMELoop); i >= 0 {
		at, _, _ = strings.Cut(detail[i+len(detailCNAMELoop):], " ")
		return Truncate(trimDot(at), maxNameShown), ""
	}
	if i := strings.Index(detail, detailCNAMETooLong); i >= 0 {
		limit, _, _ = strings.Cut(detail[i+len(detailCNAMETooLong):], " ")
		return "", Truncate(limit, maxDetailShown)
	}
	return "", ""
}

// loopChain is the chain of a CNAME loop as a resolver error's detail
// gives it ("cname chain loops at X (a -> b -> X)"), its links joined by
// arrows, or "" when the detail has none.
func loopChain(detail string) string {
	i := strings.Index(detail, detailCNAMELoop)
	if i < 0 {
		return ""
	}
	rest := detail[i+len(detailCNAMELoop):]
	open, end := strings.Index(rest, " ("), strings.LastIndex(rest, ")")
	if open < 0 || end < open {
		return ""
	}
	links := strings.Split(rest[open+2:end], " -> ")
	if len(links) < 2 || len(links) > maxLoopLinks {
		return ""
	}
	for i, l := range links {
		links[i] = Truncate(l, maxNameShown)
	}
	return strings.Join(links, " → ")
}

// maxLoopLinks bounds the links of a CNAME loop shown (the resolver
// follows at most a few).
const maxLoopLinks = 12

// loopChainNote is the sentence naming the links of a CNAME loop, or "".
func (d *diagnoser) loopChainNote(detail string) string {
	if c := loopChain(detail); c != "" {
		return d.c.f(noteCNAMELoopChain, c)
	}
	return ""
}
