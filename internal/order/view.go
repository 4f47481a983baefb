package order

import (
	"encoding/json"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
)

// Order statuses. They are stored and sent over the wire: never rename one.
const (
	StatusPending  = "pending"  // waiting for every domain to be validated
	StatusApproved = "approved" // every domain validated; issuance queued
	StatusIssued   = "issued"   // the certificate is available
	StatusExpired  = "expired"  // a random value outlived its validity
	StatusInvalid  = "invalid"  // refused for good
)

// View is an order as the API shows it.
type View struct {
	ID string `json:"id"`
	// Account is the id of the account the order belongs to.
	Account     string     `json:"account"`
	Status      string     `json:"status"`
	Method      string     `json:"method"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastCheckAt *time.Time `json:"last_check_at,omitempty"`
	NextCheckAt *time.Time `json:"next_check_at,omitempty"`
	// RecheckAt is when dcv checks the pending order again on its own.
	RecheckAt *time.Time   `json:"recheck_at,omitempty"`
	Domains   []DomainView `json:"domains"`
	// HasCSR is true when the applicant supplied the CSR; otherwise dcv
	// generated the key and hands it out once with the certificate.
	HasCSR bool `json:"has_csr"`
	// Certificate is the path of the certificate once issued.
	Certificate string `json:"certificate,omitempty"`
	// Error describes an issuance failure (for an ACME order, the
	// problem that made it invalid).
	Error string `json:"error,omitempty"`
	// ReadOnly is set when the reader may read the order but not act on
	// it: an admin reading another account's order (which that account
	// checks and downloads), or an ACME order (which its ACME client
	// drives; its status and its domains' are then the ACME ones: pending,
	// ready, processing, valid, invalid).
	ReadOnly bool `json:"read_only,omitempty"`
}

// DomainView is one domain of an order.
type DomainView struct {
	Domain string `json:"domain"`
	// Type is what Domain is: "dns", a domain name, or "ip", an IP
	// address (RFC 8738's identifier types).
	Type string `json:"type"`
	// Unicode is the domain in Unicode (U-labels) when it is an
	// internationalised name; Domain is its ASCII form (A-labels), the
	// one in the certificate and the DNS.
	Unicode      string             `json:"unicode,omitempty"`
	Status       string             `json:"status"`
	Method       string             `json:"method"`
	Instructions Instructions       `json:"instructions"`
	ExpiresAt    time.Time          `json:"expires_at"`
	LastCheckAt  *time.Time         `json:"last_check_at,omitempty"`
	Findings     []diagnose.Finding `json:"findings"`
	// Challenge is, for a domain of an ACME order, the challenge that
	// validated it, failed, or is being validated; absent when its client
	// has answered none. Findings are then that validation's, and
	// LastCheckAt when it ended.
	Challenge *DomainChallenge `json:"challenge,omitempty"`
	// Matrix says what each perspective saw at the domain's last
	// observation (an order's: the latest of its last 40 stored checks
	// that observed its value; an ACME order's: its challenge's
	// validation); absent when there was none. Only an order read alone
	// has it, not a list.
	Matrix []diagnose.PerspectiveRow `json:"matrix,omitempty"`
}

// DomainChallenge is the ACME challenge that decided, or is deciding, a
// domain of an ACME order.
type DomainChallenge struct {
	// Type is http-01, dns-01 or tls-alpn-01.
	Type string `json:"type"`
	// Status is the challenge's: processing, valid or invalid.
	Status    string     `json:"status"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	// ValidatedAt is when a valid challenge was validated; a failed one
	// has StartedAt alone.
	ValidatedAt *time.Time `json:"validated_at,omitempty"`
}

// acmeDomain is an ACME authorization's part in its order's view.
type acmeDomain struct {
	Status    string
	Challenge *DomainChallenge
	Findings  []diagnose.Finding
	Matrix    []diagnose.PerspectiveRow
}

// Instructions say what the applicant must publish for one domain. DNS
// validation sets Type, Host and Value; file validation sets URL and Content.
type Instructions struct {
	Type    string `json:"type,omitempty"`
	Host    string `json:"host,omitempty"`
	Value   string `json:"value,omitempty"`
	URL     string `json:"url,omitempty"`
	Content string `json:"content,omitempty"`
}

// CheckResult is the answer to "View Domain Validation Status".
type CheckResult struct {
	Order string `json:"order"`
	// CheckID names the stored check; absent when nothing was observed
	// (the order is no longer pending: the answer is its state).
	CheckID   string     `json:"check_id,omitempty"`
	CheckedAt time.Time  `json:"checked_at"`
	Status    string     `json:"status"`
	NextCheck *time.Time `json:"next_check_at,omitempty"`
	// RecheckAt is when dcv checks a still-pending order again on its own.
	RecheckAt *time.Time    `json:"recheck_at,omitempty"`
	Domains   []DomainCheck `json:"domains"`
	// RevokedAt and RevocationReason are set, as in CertificateView, when
	// the order is issued and its certificate was revoked: it must not be
	// deployed (Status stays "issued", and each domain also carries the
	// CERTIFICATE_REVOKED finding).
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
}

// DomainCheck is one domain's part of a check.
type DomainCheck struct {
	Domain string `json:"domain"`
	// Type is "dns" or "ip", as in DomainView.
	Type string `json:"type"`
	// Unicode is the domain in Unicode (U-labels) when it is an
	// internationalised name, as in DomainView.
	Unicode  string             `json:"unicode,omitempty"`
	Status   string             `json:"status"`
	Findings []diagnose.Finding `json:"findings"`
	// Matrix says, per perspective, what was seen: resolver or address
	// used, value seen, latency, verdict; empty when the domain was not
	// observed by this check.
	Matrix []diagnose.PerspectiveRow `json:"matrix"`
	// Evidence holds the raw observations (one per perspective), or is
	// empty when the domain was not observed by this check.
	Evidence []json.RawMessage `json:"evidence"`
}

// CertificateView is an issued certificate.
type CertificateView struct {
	Order     string    `json:"order"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// Certificate is the PEM chain: leaf first, then the intermediate.
	Certificate string `json:"certificate"`
	// PrivateKey is the PEM private key dcv generated (when the order had
	// no CSR), present in the JSON downloads from the first one for
	// KeyRedeliveryWindow.
	PrivateKey string `json:"private_key,omitempty"`
	// PrivateKeyErased is set, in a JSON download, when dcv generated the
	// key but erased it, KeyRedeliveryWindow after its first download.
	PrivateKeyErased bool `json:"private_key_erased,omitempty"`
	// HasCSR is set when the order came with a CSR: its key is the
	// applicant's, and dcv never had it.
	HasCSR bool `json:"has_csr,omitempty"`
	// RevokedAt and RevocationReason are set when the certificate was
	// revoked (through ACME's revokeCert or the API): it must not be
	// deployed.
	// RevocationReason is the RFC 5280 §5.3.1 name (keyCompromise, ...).
	RevokedAt        *time.Time `json:"revoked_at,omitempty"`
	RevocationReason string     `json:"revocation_reason,omitempty"`
	// KeyBlocked is set in the answer of a keyCompromise revocation that
	// blocked the certificate's key: no certificate is issued for it
	// again, and its other certificates are being revoked.
	KeyBlocked bool `json:"key_blocked,omitempty"`
}

// AccountView is an account as the API shows it. APIKey is present only in
// the answer that created it.
type AccountView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
	APIKey    string    `json:"api_key,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
