package diagnose

// Codes added after the contract in finding.go. Like the others, they are
// API: their meaning never changes.
const (
	// CodeDNSLookupFailed: the TXT lookup failed for a reason other than
	// SERVFAIL or a timeout (REFUSED, unreachable nameservers, a malformed
	// answer, a CNAME loop, an answer over the size limits).
	CodeDNSLookupFailed Code = "DNS_LOOKUP_FAILED"
	// CodeObservationInvalid: the evidence handed to diagnose is missing or
	// inconsistent (no observation, no expected value, no method evidence).
	// It is an operator problem and always blocks: diagnose fails closed.
	CodeObservationInvalid Code = "OBSERVATION_INVALID"
	// CodeValueExpiring: a warning on a domain still pending whose value
	// expires before the order's next check may run: unless this check
	// passed, the order can no longer be validated.
	CodeValueExpiring Code = "VALUE_EXPIRING"
)

// codeOrder lists every code, most fundamental first. Sort uses it to order
// findings of equal severity: a domain that does not resolve explains more
// than the record that is missing under it. The catalog test checks that
// every code here has a catalog entry.
var codeOrder = []Code{
	CodeObservationInvalid,
	CodeIssuanceFailed,
	CodeValueExpired,
	CodeValueExpiring,
	CodeDomainUnresolvable,
	CodeDNSTimeout,
	CodeDNSServfail,
	CodeDNSLookupFailed,
	CodeDNSWrongHost,
	CodeDNSWrongType,
	CodeDNSRecordMismatch,
	CodeDNSRecordNotFound,
	CodeAddressReserved,
	CodeFileUnreachable,
	CodeFileRedirected,
	CodeFileBadStatus,
	CodeFileNotFound,
	CodeFileContentMismatch,
	CodeCAALookupFailed,
	CodeCAACriticalUnknown,
	CodeCAAForbids,
	CodeCheckTooFrequent,
	CodeApprovedPendingIssuance,
	CodeIssued,
}

var codeRank = func() map[Code]int {
	m := make(map[Code]int, len(codeOrder))
	for i, c := range codeOrder {
		m[c] = i
	}
	return m
}()

// Codes returns every finding code this version knows, most fundamental
// first. The slice is a copy.
func Codes() []Code { return append([]Code(nil), codeOrder...) }

// Title returns a short English title for code (for lists and headings), or
// the code itself when it is unknown.
func Title(c Code) string {
	if t, ok := catalogEN.titles[c]; ok {
		return t
	}
	return string(c)
}
