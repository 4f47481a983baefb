package store

import (
	"context"
	"time"
)

// ACME account statuses (RFC 8555 §7.1.2). Stored: never rename one.
const (
	ACMEAccountValid       = "valid"
	ACMEAccountDeactivated = "deactivated"
	ACMEAccountRevoked     = "revoked"
	// OrderErrorAccountClosed begins the Error of an order cancelled
	// because its ACME account left "valid" (see ACMEAccountUpdate); the
	// account's new status follows.
	OrderErrorAccountClosed = "account closed: "
)

// ACMEAccount is an RFC 8555 account. Its ID is also the id of an Account
// row (the tenant that owns its orders), created with it.
type ACMEAccount struct {
	ID string
	// KeyThumbprint is the RFC 7638 SHA-256 thumbprint of the account key,
	// base64url without padding. It is unique among accounts.
	KeyThumbprint string
	// KeyJWK is the account's public key as a JSON Web Key.
	KeyJWK []byte
	// Status: ACMEAccountValid, ACMEAccountDeactivated or ACMEAccountRevoked.
	Status string
	// Contact holds the contact URLs (mailto:...).
	Contact     []string
	TermsAgreed bool
	// EABKeyID is the External Account Binding key the account was bound
	// to at creation, or "".
	EABKeyID  string
	CreatedAt time.Time
}

// EABKey is an External Account Binding key (RFC 8555 §7.3.4) that an
// admin created. It binds at most one ACME account.
type EABKey struct {
	KeyID string
	// HMACKey is the MAC key shared with the applicant.
	HMACKey []byte
	// CreatedBy is the id of the admin account that created it.
	CreatedBy string
	// AccountID is the ACME account bound with it, or "" while unused.
	AccountID string
	CreatedAt time.Time
	BoundAt   time.Time
}

// ACME authorization and challenge statuses (RFC 8555 §7.1.6). Stored:
// never rename one.
const (
	ACMEStatusPending     = "pending"
	ACMEStatusProcessing  = "processing"
	ACMEStatusValid       = "valid"
	ACMEStatusInvalid     = "invalid"
	ACMEStatusDeactivated = "deactivated"
	ACMEStatusExpired     = "expired"
	ACMEStatusRevoked     = "revoked"
)

// ACMEAuthz is an ACME authorization of one identifier for one account. It
// may serve several orders of that account (reuse).
type ACMEAuthz struct {
	ID        string
	AccountID string
	// Identifier is the normalised DNS name, "*.example.com" for a wildcard.
	Identifier string
	// Status is one of the ACMEStatus* values (not processing).
	Status string
	// Token is the challenges' token (RFC 8555 §8.1), shared by the
	// challenges of this authorization.
	Token       string
	ExpiresAt   time.Time
	ValidatedAt time.Time
	CreatedAt   time.Time
	// Challenges, in the order offered.
	Challenges []ACMEChallenge
}

// ACMEChallenge is one challenge of an authorization, identified by its
// authorization and its type.
type ACMEChallenge struct {
	// Type is "http-01", "dns-01" or "tls-alpn-01".
	Type string
	// Status: pending, processing, valid or invalid.
	Status      string
	StartedAt   time.Time
	ValidatedAt time.Time
	// Error is the JSON problem document of a failed validation, or nil.
	Error []byte
	// Evidence is the JSON record of the last validation (observations and
	// findings), kept for audit whatever its outcome, or nil.
	Evidence []byte
}

// ACMEOrder is an ACME order: an Order (Method "acme", one Authorization
// row per identifier, which issuance reads) and its ACME part.
type ACMEOrder struct {
	Order Order
	// Profile is the certificate profile asked for, or "".
	Profile string
	// Replaces is the ARI certificate identifier (RFC 9773 §5) of the
	// certificate this order replaces, or "".
	Replaces string
	// ReplacesSerial is the serial of that certificate, or "".
	ReplacesSerial string
	// ValidatedSince is, when creating an order with ReplacesSerial, the
	// oldest validation an order replacing the same certificate may rest
	// on and still count as not invalid (see ACMEOrderCreate). Not stored.
	ValidatedSince time.Time
	// Authzs are the order's authorizations, in identifier order (see
	// ACMEStore.ACMEOrderGet for when their Challenges are loaded).
	Authzs []ACMEAuthz
	// CertificateSerial is the serial of the issued certificate, or "".
	CertificateSerial string
}

// Revocation is the revocation of one certificate.
type Revocation struct {
	Serial string
	// Reason is the RFC 5280 §5.3.1 CRLReason code.
	Reason    int
	RevokedAt time.Time
	// NotAfter is the revoked certificate's expiry.
	NotAfter time.Time
}

// ACMEChallengeResult is the outcome of one challenge validation.
type ACMEChallengeResult struct {
	AuthzID string
	Type    string
	// Status is ACMEStatusValid or ACMEStatusInvalid.
	Status string
	At     time.Time
	// AuthzExpiresAt is the authorization's new expiry when valid (the end
	// of its reuse period).
	AuthzExpiresAt time.Time
	Error          []byte
	Evidence       []byte
}

// ACMEStore is the ACME part of the repository. Every method is atomic.
type ACMEStore interface {
	// ACMEAccountCreate stores a new ACME account and its Account row (no
	// API key). With a.EABKeyID set, it binds that EAB key in the same
	// transaction: ErrNotFound if it does not exist, ErrConflict if it is
	// already bound. A key thumbprint in use is ErrConflict.
	ACMEAccountCreate(ctx context.Context, a ACMEAccount) error
	// ACMEAccountGet returns an ACME account, or ErrNotFound.
	ACMEAccountGet(ctx context.Context, id string) (*ACMEAccount, error)
	// ACMEAccountGetByThumbprint returns the account with this key, or ErrNotFound.
	ACMEAccountGetByThumbprint(ctx context.Context, thumbprint string) (*ACMEAccount, error)
	// ACMEAccountUpdate sets Contact, TermsAgreed and Status of account a.ID,
	// if it is still valid: ErrNotFound if it does not exist or is no
	// longer valid (deactivated, or revoked meanwhile: a status that left
	// "valid" never comes back, whatever a concurrent update read). An
	// update that takes the account out of "valid" also cancels, in the
	// same write, its orders still pending (RFC 8555 §7.3.6: the server
	// "SHOULD cancel any pending operations authorized by the account's
	// key"): they become invalid, with Error OrderErrorAccountClosed
	// followed by the new status. Orders being finalized are left to end.
	ACMEAccountUpdate(ctx context.Context, a ACMEAccount) error
	// ACMEAccountKeyChange replaces the account's key if its current
	// thumbprint is oldThumbprint (else ErrConflict, or ErrNotFound for no
	// account); a newThumbprint in use by any account is ErrConflict.
	ACMEAccountKeyChange(ctx context.Context, id, oldThumbprint, newThumbprint string, newJWK []byte) error

	// EABKeyCreate stores a new EAB key; a duplicate KeyID is ErrConflict.
	EABKeyCreate(ctx context.Context, k EABKey) error
	// EABKeyGet returns an EAB key, or ErrNotFound.
	EABKeyGet(ctx context.Context, keyID string) (*EABKey, error)
	// EABKeyList returns up to limit EAB keys, newest first: those whose
	// KeyID sorts before before, or the newest when before is "".
	EABKeyList(ctx context.Context, before string, limit int) ([]EABKey, error)
	// EABKeyDelete deletes an EAB key that binds no account: ErrNotFound
	// when there is no such key, ErrConflict when it binds one (a binding
	// in progress and a delete are serialized: one of them wins).
	EABKeyDelete(ctx context.Context, keyID string) error

	// ACMEOrderCreate stores o.Order with its Authorization rows, the ACME
	// part of o, and the authorizations of newAuthzs (with their
	// challenges); o.Authzs may also name existing authorizations by ID
	// (reuse). With o.ReplacesSerial set, another order replacing the same
	// certificate that is not invalid at o.Order.CreatedAt, as
	// ACMEOrderListLive tells it (validatedSince o.ValidatedSince), is
	// ErrConflict (RFC 9773 §5: a certificate is "already replaced" only by
	// an order that is not "invalid").
	ACMEOrderCreate(ctx context.Context, o *ACMEOrder, newAuthzs []ACMEAuthz) error
	// ACMEOrderGet returns an ACME order with its authorizations, or
	// ErrNotFound. The authorizations' Challenges are loaded (all of them)
	// only when some authorization of the order is neither pending nor
	// valid, whose challenges' Error explains the failure; otherwise every
	// Challenges is nil, and ACMEAuthzGet reads an authorization's
	// challenges.
	ACMEOrderGet(ctx context.Context, id string) (*ACMEOrder, error)
	// ACMEOrderGetWithChallenges is ACMEOrderGet with every
	// authorization's Challenges loaded, each with its Error and Evidence:
	// an operator's or applicant's view of how each identifier was
	// validated, or why it failed, read from one snapshot.
	ACMEOrderGetWithChallenges(ctx context.Context, id string) (*ACMEOrder, error)
	// ACMEOrderListLive returns the ids of the account's ACME orders that
	// are not invalid at now, newest first (by CreatedAt, then id), at most
	// limit (RFC 8555 §7.1.2.1: the orders list "SHOULD NOT include orders
	// that are invalid"). An order is invalid when its status is "invalid"
	// or "expired", or, still "pending", when it has expired or one of its
	// authorizations is neither valid nor pending, has expired, or is valid
	// but was validated before validatedSince (the reuse limit). With
	// after, the id of an order of the account, the list goes on after it
	// (the next page); an id of no order of the account lists none.
	ACMEOrderListLive(ctx context.Context, accountID string, now, validatedSince time.Time, after string, limit int) ([]string, error)
	// ACMEOrderFinalize issues an order's certificate exactly once, in
	// three steps so that no write lock is held while signing. (1) A short
	// write reserves the order: it must be "pending" and every one of its
	// authorizations "valid" and not expired at now, else ErrConflict and
	// nothing changes; it stores csrPEM and tbs, the to-be-signed bytes of
	// the certificate sign will sign (see OrderSigningTBSPut), and moves the
	// order to "approved".
	// (2) sign runs with no lock held. (3) A short write stores the
	// certificate and sets the order and its Authorization rows to
	// "issued"; if a certificate exists already (the issuance sweep
	// finished the order meanwhile) that one is returned. An error from
	// sign puts the order back to "pending" with its previous CSR, and no
	// to-be-signed bytes, and is returned as is. An order left "approved" by a crash between (1) and
	// (3) is issued once by the sweep of approved orders (CertificateIssue).
	ACMEOrderFinalize(ctx context.Context, orderID, csrPEM string, tbs []byte, now time.Time, sign func(*Order) (*Certificate, error)) (*Certificate, error)

	// ACMEAuthzGet returns an authorization with its challenges, or ErrNotFound.
	ACMEAuthzGet(ctx context.Context, id string) (*ACMEAuthz, error)
	// ACMEAuthzFindReusable returns the account's most recently validated
	// authorization of identifier that is valid, validated at or after
	// validatedSince and expires after now; ErrNotFound if none.
	ACMEAuthzFindReusable(ctx context.Context, accountID, identifier string, validatedSince, now time.Time) (*ACMEAuthz, error)
	// ACMEAuthzDeactivate sets a pending or valid authorization to
	// deactivated; ErrConflict in any other status, ErrNotFound if none.
	ACMEAuthzDeactivate(ctx context.Context, id string) error
	// ACMEChallengeStart moves a challenge to processing at now if its
	// authorization is pending and unexpired at now, and either the
	// challenge is pending and no challenge of the authorization is
	// processing, or it is processing but started before staleBefore (a
	// validation lost by a crash). Otherwise ErrConflict, nothing changed.
	ACMEChallengeStart(ctx context.Context, authzID, typ string, now, staleBefore time.Time) error
	// ACMEChallengeFinish records a validation outcome: the processing
	// challenge gets r.Status, r.Error and r.Evidence, and its
	// authorization becomes valid (ValidatedAt r.At, ExpiresAt
	// r.AuthzExpiresAt) or invalid. ErrConflict if the challenge is not
	// processing or its authorization not pending.
	ACMEChallengeFinish(ctx context.Context, r ACMEChallengeResult) error
	// ACMEChallengeComplete records a validation that finished before its
	// start was stored, as one durable write: atomically, what
	// ACMEChallengeStart(ctx, r.AuthzID, r.Type, started, staleBefore) and
	// then ACMEChallengeFinish(ctx, r) would do, under the conditions of
	// both. ErrConflict, nothing changed, if either would refuse (another
	// validation of the authorization was started or recorded meanwhile).
	ACMEChallengeComplete(ctx context.Context, r ACMEChallengeResult, started, staleBefore time.Time) error

	// CertificateGetBySerial returns a certificate by serial, with the
	// AccountID of its order, or ErrNotFound.
	CertificateGetBySerial(ctx context.Context, serial string) (*Certificate, error)
	// CertificateRevoke records a revocation; ErrNotFound for an unknown
	// serial, ErrConflict if already revoked.
	CertificateRevoke(ctx context.Context, r Revocation) error
	// RevocationGet returns a certificate's revocation, or ErrNotFound.
	RevocationGet(ctx context.Context, serial string) (*Revocation, error)
	// RevocationListUnexpired returns the revocations of certificates whose
	// NotAfter is not before now, oldest revocation first.
	RevocationListUnexpired(ctx context.Context, now time.Time) ([]Revocation, error)
	// CRLNumberNext returns the number of the CRL about to be signed:
	// atLeast, or one more than the last number it returned if that is not
	// below atLeast. The number is stored durably before it is returned, so
	// numbers increase across restarts whatever the clock does (RFC 5280
	// §5.2.3).
	CRLNumberNext(ctx context.Context, atLeast int64) (int64, error)
	// RevocationSetReason changes the reason of a recorded revocation (to
	// keyCompromise, once the compromise is proven); ErrNotFound when the
	// certificate is not revoked.
	RevocationSetReason(ctx context.Context, serial string, reason int) error
	// CertificatesLive returns up to limit certificates that are neither
	// revoked for keyCompromise (reason 1) nor expired at now, with a
	// serial above after, by serial (their AccountID is not filled): those
	// a compromised key's sweep revokes, or whose reason it upgrades.
	CertificatesLive(ctx context.Context, now time.Time, after string, limit int) ([]Certificate, error)

	// KeyBlock records a compromised key; an existing block of the same
	// key is kept as it is.
	KeyBlock(ctx context.Context, b KeyBlock) error
	// KeyBlocked reports whether the key whose SubjectPublicKeyInfo has
	// SHA-256 hash spkiHash is blocked.
	KeyBlocked(ctx context.Context, spkiHash []byte) (bool, error)
	// KeyBlocksUnswept returns the blocks whose sweep has not finished.
	KeyBlocksUnswept(ctx context.Context) ([]KeyBlock, error)
	// KeyBlockSwept records that the sweep of the key's certificates
	// finished at at.
	KeyBlockSwept(ctx context.Context, spkiHash []byte, at time.Time) error
}

// KeyBlock is a public key shown compromised: a keyCompromise revocation
// of Serial was signed with it.
type KeyBlock struct {
	// SPKIHash is the SHA-256 hash of the DER SubjectPublicKeyInfo.
	SPKIHash  []byte
	Serial    string
	BlockedAt time.Time
	// SweptAt is when the other certificates of the key were revoked; zero
	// until then.
	SweptAt time.Time
}
