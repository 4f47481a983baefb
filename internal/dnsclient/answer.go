package dnsclient

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// collectAnswer fills resp from msg's answer section at end, the last name
// of the CNAME chain: records of qtype go to Answer, others (but the chain's
// CNAMEs and the RRSIGs) to Other. A negative answer takes its NegativeTTL
// from the authority section's SOA. It enforces maxTXTBytes.
func collectAnswer(resp *Response, msg *dns.Msg, end string, qtype uint16) *Error {
	txtBytes := 0
	for _, rr := range msg.Answer {
		h := rr.Header()
		if !strings.EqualFold(h.Name, end) || h.Rrtype == dns.TypeRRSIG ||
			(h.Rrtype == dns.TypeCNAME && qtype != dns.TypeCNAME) {
			continue
		}
		rec := toRecord(rr)
		if h.Rrtype == dns.TypeTXT {
			txtBytes += len(rec.Data)
			if txtBytes > maxTXTBytes {
				return &Error{Kind: KindTooLarge, Detail: fmt.Sprintf("more than %d bytes of txt data", maxTXTBytes)}
			}
		}
		if h.Rrtype == qtype {
			resp.Answer = append(resp.Answer, rec)
		} else {
			resp.Other = append(resp.Other, rec)
		}
	}
	if len(resp.Answer) == 0 {
		for _, rr := range msg.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				// RFC 2308 §5: the negative TTL is the minimum of the SOA
				// record's TTL and its MINIMUM field.
				resp.NegativeTTL = min(soa.Hdr.Ttl, soa.Minttl)
				resp.Zone = strings.ToLower(soa.Hdr.Name)
				break
			}
		}
	}
	return nil
}
