package diagnose

import "github.com/dcvhq/dcv/internal/dnsclient"

// Message ids of a nameserver that sent a truncated answer over UDP and
// then failed the TCP retry.
const (
	msgRecordTCPClosed  msg = "msgRecordTCPClosed"
	msgRecordTCPRefused msg = "msgRecordTCPRefused"
	msgRecordTCPTimeout msg = "msgRecordTCPTimeout"
	msgRecordTCPFailed  msg = "msgRecordTCPFailed"
	fixRecordTCP        msg = "fixRecordTCP"
	lameNoTCP           msg = "lameNoTCP"
	noteLameNoTCP       msg = "noteLameNoTCP"
)

func init() {
	extend("", nil, map[msg]string{
		msgRecordTCPClosed:  "The %[3]s lookup of %[1]s failed: %[2]s answered over UDP with a truncated answer (the TC flag, which asks to ask again over TCP), then closed the TCP connection without answering.",
		msgRecordTCPRefused: "The %[3]s lookup of %[1]s failed: %[2]s answered over UDP with a truncated answer (the TC flag, which asks to ask again over TCP), then refused the TCP connection.",
		msgRecordTCPTimeout: "The %[3]s lookup of %[1]s failed: %[2]s answered over UDP with a truncated answer (the TC flag, which asks to ask again over TCP), then gave no answer over TCP within the deadline.",
		msgRecordTCPFailed:  "The %[3]s lookup of %[1]s failed: %[2]s answered over UDP with a truncated answer (the TC flag, which asks to ask again over TCP), then failed to answer over TCP.",
		fixRecordTCP:        "The nameserver %[1]s must answer over TCP as well as UDP (RFC 7766): resolvers ask again over TCP whenever an answer comes truncated. Check that its DNS software accepts TCP queries on port 53 and that no firewall or load balancer in front of it blocks or cuts TCP connections to port 53; then check again.",
		lameNoTCP:           "%[1]s sends a truncated answer over UDP, then does not answer over TCP",
		noteLameNoTCP:       "A nameserver must answer over TCP as well as UDP (RFC 7766): check that the DNS software of %[1]s accepts TCP queries on port 53 and that no firewall blocks or cuts TCP connections to it.",
	})
}

// Lookups tcpFallback words: which records were looked up.
const (
	lookupTXT     = "TXT"
	lookupCAA     = "CAA"
	lookupAddress = "address (A/AAAA)"
)

// tcpFallback diagnoses a lookup (lookupTXT, lookupCAA, lookupAddress) at
// host whose server answered over UDP with a truncated answer and then
// failed the TCP retry (RFC 7766 §5): the server was reached, and what it
// must do is answer over TCP. The finding is DNS_LOOKUP_FAILED, or
// DNS_TIMEOUT for a TCP retry that timed out, for the caller to recode.
// ok is false for other errors, and for a failure of dcv's own resolver
// (forward mode), which is the certificate authority's side.
func (d *diagnoser) tcpFallback(e *dnsclient.Error, host, lookup string) (Finding, bool) {
	if e == nil || e.TCPFallback == "" || e.Resolver || (e.Kind != dnsclient.KindNetwork && e.Kind != dnsclient.KindTimeout) {
		return Finding{}, false
	}
	server := d.server(e.Server)
	f := Finding{Code: CodeDNSLookupFailed, Severity: SeverityError, Fix: d.c.f(fixRecordTCP, server)}
	switch e.TCPFallback {
	case dnsclient.TCPFallbackClosed:
		f.Message = d.c.f(msgRecordTCPClosed, host, server, lookup)
	case dnsclient.TCPFallbackRefused:
		f.Message = d.c.f(msgRecordTCPRefused, host, server, lookup)
	case dnsclient.TCPFallbackTimeout:
		// Slowness may pass; a server that cannot answer over TCP
		// does not.
		f.Code, f.Retryable = CodeDNSTimeout, true
		f.Message = d.c.f(msgRecordTCPTimeout, host, server, lookup)
	default:
		f.Message = d.c.f(msgRecordTCPFailed, host, server, lookup)
	}
	return f, true
}
