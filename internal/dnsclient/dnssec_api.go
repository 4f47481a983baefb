package dnsclient

import (
	"context"

	"github.com/miekg/dns"
)

// DNSSECStatus is the outcome of DNSSEC validation of one answer (RFC 4035
// §4.3). The numbers are stored; they never change.
type DNSSECStatus int

// DNSSEC statuses.
const (
	// Indeterminate: no trust anchor covers the answer, or validation
	// could not be carried out.
	Indeterminate DNSSECStatus = iota
	// Secure: a chain of signed DNSKEY and DS records leads from a trust
	// anchor to the answer's signatures.
	Secure
	// Insecure: a signed proof shows that no chain of trust exists for the
	// answer (an unsigned delegation or an unsupported algorithm).
	Insecure
	// Bogus: a chain of trust should exist but validation failed.
	Bogus
)

// String returns "indeterminate", "secure", "insecure" or "bogus".
func (s DNSSECStatus) String() string {
	switch s {
	case Secure:
		return "secure"
	case Insecure:
		return "insecure"
	case Bogus:
		return "bogus"
	default:
		return "indeterminate"
	}
}

// Querier asks the authoritative servers of zone for name and qtype with the
// DO bit set (RFC 3225), and returns their response.
type Querier interface {
	QueryZone(ctx context.Context, zone, name string, qtype uint16) (*dns.Msg, error)
}

// Validating validates msg, an answer given by the servers of zone, and
// returns its status and, for Bogus and Insecure, the reason in plain words.
type Validating interface {
	Validate(ctx context.Context, q Querier, zone string, msg *dns.Msg) (DNSSECStatus, string)
}
