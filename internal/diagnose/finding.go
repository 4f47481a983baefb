// Package diagnose turns observations into findings a person can act on and
// into the verdict that decides issuance. It does no I/O: the same pure
// function produces the diagnosis the applicant reads and the verdict the CA
// acts on, so the two never disagree.
package diagnose

import "time"

// Severity orders findings. Only SeverityError blocks approval.
type Severity string

// Severities, worst first.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	default:
		return 2
	}
}

// Code is a stable finding code (UPPER_SNAKE). Codes are API: a code's
// meaning never changes.
type Code string

// Finding codes.
const (
	CodeDomainUnresolvable      Code = "DOMAIN_UNRESOLVABLE"
	CodeDNSRecordNotFound       Code = "DNS_RECORD_NOT_FOUND"
	CodeDNSRecordMismatch       Code = "DNS_RECORD_MISMATCH"
	CodeDNSWrongHost            Code = "DNS_WRONG_HOST"
	CodeDNSWrongType            Code = "DNS_WRONG_TYPE"
	CodeDNSServfail             Code = "DNS_SERVFAIL"
	CodeDNSTimeout              Code = "DNS_TIMEOUT"
	CodeFileNotFound            Code = "FILE_NOT_FOUND"
	CodeFileUnreachable         Code = "FILE_UNREACHABLE"
	CodeFileRedirected          Code = "FILE_REDIRECTED"
	CodeFileBadStatus           Code = "FILE_BAD_STATUS"
	CodeFileContentMismatch     Code = "FILE_CONTENT_MISMATCH"
	CodeAddressReserved         Code = "ADDRESS_RESERVED"
	CodeCAAForbids              Code = "CAA_FORBIDS"
	CodeCAACriticalUnknown      Code = "CAA_CRITICAL_UNKNOWN"
	CodeCAALookupFailed         Code = "CAA_LOOKUP_FAILED"
	CodeApprovedPendingIssuance Code = "APPROVED_PENDING_ISSUANCE"
	CodeCheckTooFrequent        Code = "CHECK_TOO_FREQUENT"
	CodeValueExpired            Code = "VALUE_EXPIRED"
	CodeIssued                  Code = "CERTIFICATE_ISSUED"
	CodeIssuanceFailed          Code = "ISSUANCE_FAILED"
)

// Finding is one diagnosed cause, with what was observed and how to fix it.
type Finding struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	// Message says what was observed, in English.
	Message string `json:"message"`
	// Fix says what the applicant (or operator) should do.
	Fix string `json:"fix"`
	// Retryable is true when the same check may pass later without a change
	// on the applicant's side (propagation, transient failures).
	Retryable bool `json:"retryable"`
	// ETA is when a retry is expected to succeed, when that can be known.
	ETA *time.Time `json:"eta"`
}

// Blocking reports whether the finding prevents approval.
func (f Finding) Blocking() bool { return f.Severity == SeverityError }
