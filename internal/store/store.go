// Package store defines dcv's persistence: the records it keeps and the
// repository interface its backends implement (store/sqlite is the embedded
// default). Only package order talks to a Store.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write conflicts with the current state (a
// duplicate key, or a state that is no longer the expected one).
var ErrConflict = errors.New("store: conflict")

// PendingLimitError is returned by OrderCreate when the account already
// has the most pending orders it may have.
type PendingLimitError struct {
	// Pending is how many live pending orders the account has.
	Pending int
	// NextExpiry is when the first of them expires (its values), freeing
	// a place.
	NextExpiry time.Time
}

func (e *PendingLimitError) Error() string {
	return fmt.Sprintf("store: %d pending orders, the most allowed", e.Pending)
}

// ErrNameTaken is returned by AccountCreate for a name in use; it is an
// ErrConflict.
var ErrNameTaken = fmt.Errorf("%w: the name is in use", ErrConflict)

// ErrKeyBlocked is returned by the writes that store a certificate whose
// key is blocked as compromised (see Certificate.SPKIHash).
var ErrKeyBlocked = errors.New("store: the certificate's key is blocked as compromised")

// Account is a tenant of the API.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
}

// Order is a certificate order: its domains' authorizations and its state.
type Order struct {
	ID        string
	AccountID string
	Method    string // "dns" | "file"
	// Status: "pending", "approved", "issued", "expired", "invalid".
	Status string
	// CSRPEM is the applicant's CSR, when one was given.
	CSRPEM string
	// KeyPEM is the private key dcv generated when no CSR was given; it is
	// handed out with the certificate, for a short while after its first
	// download, then erased (see OrderTakeKey).
	KeyPEM string
	// KeyDelivered is true once KeyPEM was first handed out.
	KeyDelivered bool
	CreatedAt    time.Time
	ExpiresAt    time.Time
	// LastCheckAt is when the last check ran; NextCheckAt is the earliest
	// time the next check may run (the throttle). Zero when never checked.
	LastCheckAt time.Time
	NextCheckAt time.Time
	// Error holds an issuance failure, for the applicant and the operator.
	Error string
	// RecheckAt is when dcv checks the pending order on its own (see
	// OrderSetRecheck); zero when not planned. OrderCreate ignores it.
	RecheckAt time.Time
	// Authorizations, one per domain, in the order's domain order.
	Authorizations []Authorization
}

// Authorization is the state of one domain of an order.
type Authorization struct {
	Domain string
	// Method is the domain's validation method ("dns" | "file"); the
	// order's Method is the default the applicant chose.
	Method string
	// Status: "pending", "approved", "issued", "expired", "invalid".
	Status      string
	Value       string
	ExpiresAt   time.Time
	LastCheckAt time.Time
	// Findings is the JSON array of the last check's findings for this domain.
	Findings []byte
}

// Check is one stored check of an order, kept for audit whatever its
// outcome.
type Check struct {
	ID        string
	OrderID   string
	CheckedAt time.Time
	// Result is the JSON check result as returned to the client, evidence included.
	Result []byte
}

// CAARecheck is CAA looked up again before issuance, for a domain
// validated long before (CA/B Forum BRs §3.2.2.8), kept for audit whatever
// its outcome.
type CAARecheck struct {
	ID string
	// OrderID is the order being issued: an API order's or an ACME order's.
	OrderID   string
	Domain    string
	CheckedAt time.Time
	// Allowed is whether CAA allowed issuance.
	Allowed bool
	// Evidence is the JSON of the observations and their diagnosis.
	Evidence []byte
}

// Certificate is an issued certificate.
type Certificate struct {
	Serial  string // lowercase hex
	OrderID string
	// AccountID is the account of the order the certificate was issued
	// for, read with it so that an owner check needs no second read. Only
	// ACMEStore.CertificateGetBySerial fills it; other methods do not set
	// it, and writes ignore it (it is the order's, not stored twice).
	AccountID string
	ChainPEM  string // leaf first, then intermediates
	NotBefore time.Time
	NotAfter  time.Time
	CreatedAt time.Time
	// SPKIHash is the SHA-256 hash of the leaf's SubjectPublicKeyInfo. It
	// is not stored: a write that stores the certificate refuses it with
	// ErrKeyBlocked, in the same transaction, when the key is blocked
	// (KeyBlock), so that no certificate of a key blocked before it can be
	// committed. When empty, the write takes it from the leaf of ChainPEM.
	SPKIHash []byte
}

// CheckRecordParams is what one check writes, atomically.
type CheckRecordParams struct {
	Check Check
	// Authorizations are the new states of the checked domains (matched by
	// Domain); domains not listed are unchanged.
	Authorizations []Authorization
	// OrderStatus is the order's new status; "approved" also clears the
	// order's error text (left by a CAA recheck that sent it back).
	OrderStatus string
	// RecheckAt is when dcv checks the order again on its own; zero for
	// never (an order no longer pending).
	RecheckAt time.Time
	// NextCheckAt, when not zero, replaces the order's NextCheckAt (the
	// throttle's next slot) if it is earlier: a check that found only the
	// certificate authority's own failure gives the slot back sooner.
	NextCheckAt time.Time
	// ReservedAt, when not zero, is the time the check took the order's
	// slot (OrderReserveCheck's now): the check is recorded only if the
	// order is still pending and no later check has taken the slot since
	// (its LastCheckAt is still ReservedAt). Otherwise nothing changes and
	// the error is ErrConflict: a slow check must not overwrite what a
	// later one found, nor an order issued meanwhile.
	ReservedAt time.Time
}

// Store is the repository. Implementations MUST be safe for concurrent use
// and MUST make each method atomic.
type Store interface {
	PerspectiveStore
	ACMEStore

	// Ping makes a cheap read of the database (a row of a table, not a
	// constant): nil when the database answers it before ctx ends. Health
	// checks call it.
	Ping(ctx context.Context) error

	// AccountCreate stores a new account and the SHA-256 hash of its API key.
	AccountCreate(ctx context.Context, a Account, keyHash []byte) error
	// AccountGetByKeyHash returns the account owning an API key hash, or ErrNotFound.
	AccountGetByKeyHash(ctx context.Context, keyHash []byte) (*Account, error)
	// AccountGet returns the account id, or ErrNotFound.
	AccountGet(ctx context.Context, id string) (*Account, error)
	// AccountAdminExists reports whether an admin account exists.
	AccountAdminExists(ctx context.Context) (bool, error)
	// AccountList returns the accounts by id, those after the account
	// after ("" for the first), at most limit: an admin's listing.
	AccountList(ctx context.Context, after string, limit int) ([]*Account, error)
	// AccountFirstAdminID returns the id of the oldest admin account, or
	// ErrNotFound.
	AccountFirstAdminID(ctx context.Context) (string, error)
	// APIKeyReplace replaces every API key of an account with the one
	// whose hash is given, in one write (the old keys stop working when
	// it commits), and returns the account; ErrNotFound when there is no
	// such account.
	APIKeyReplace(ctx context.Context, accountID string, keyHash []byte, at time.Time) (*Account, error)

	// OrderCreate stores a new order with its authorizations. With
	// maxPending > 0, an account that already has maxPending pending
	// orders through the API (not ACME's) whose values have not expired
	// at o.CreatedAt gets a *PendingLimitError instead, atomically with
	// the count.
	OrderCreate(ctx context.Context, o *Order, maxPending int) error
	// OrderCancel refuses a pending order for good, for its account: it
	// becomes invalid with errText, and so do its pending authorizations
	// (their values no longer usable). An order that is not pending
	// (approved and being issued, issued, invalid, or an ACME order) is
	// ErrConflict, and is left as it is.
	OrderCancel(ctx context.Context, id, errText string) error
	// OrderGet returns an order with its authorizations, or ErrNotFound.
	OrderGet(ctx context.Context, id string) (*Order, error)
	// OrderListByAccount returns an account's orders, newest first, those
	// after the order after ("" for the newest, an order of the account
	// otherwise), at most limit.
	OrderListByAccount(ctx context.Context, accountID, after string, limit int) ([]*Order, error)
	// OrderListAll returns the orders of every account, newest first (by
	// id, which begins with the creation time), those after the order
	// after ("" for the newest), at most limit: an admin's listing.
	OrderListAll(ctx context.Context, after string, limit int) ([]*Order, error)
	// OrderListApprovedIDs returns the ids of the orders in status
	// "approved" with no error text (waiting for their certificate, not
	// for an operator after a permanent failure), oldest first, at most
	// limit. Issuance's crash-recovery sweep is its only reader, so a
	// backend need index only those orders.
	OrderListApprovedIDs(ctx context.Context, limit int) ([]string, error)
	// OrderSetRecheck plans dcv's own next check of a pending order at at
	// (zero: none). An unknown order is ErrNotFound.
	OrderSetRecheck(ctx context.Context, id string, at time.Time) error
	// OrderSetRecheckIfDue is OrderSetRecheck for an order whose planned
	// check is not after now; another is left as it is (no error).
	OrderSetRecheckIfDue(ctx context.Context, id string, now, at time.Time) error
	// OrderListRecheckDue returns the ids of the pending orders whose
	// planned check is not after now, the longest waiting first, at most
	// limit.
	OrderListRecheckDue(ctx context.Context, now time.Time, limit int) ([]string, error)
	// OrderReserveCheck takes the order's check slot: if NextCheckAt is zero
	// or not after now, it sets LastCheckAt = now and NextCheckAt = next and
	// returns ok. Otherwise it changes nothing and returns the current
	// NextCheckAt.
	OrderReserveCheck(ctx context.Context, id string, now, next time.Time) (ok bool, retryAt time.Time, err error)
	// OrderReleaseUnrecordedChecks gives back the check slots that pending
	// orders took for checks never recorded (a process killed while
	// checking): LastCheckAt goes back to the last recorded check's time
	// (zero for none) and NextCheckAt to zero, so that the applicant may
	// check at once. It returns how many orders it changed. Only for a
	// process starting, when no check runs.
	OrderReleaseUnrecordedChecks(ctx context.Context) (int, error)
	// OrderRetryFailedIssuance clears the error text of the approved
	// orders whose error begins with prefix (a permanent issuance
	// failure), so that the issuance sweep lists them again, and returns
	// how many it changed.
	OrderRetryFailedIssuance(ctx context.Context, prefix string) (int, error)
	// OrderSetStatus sets an order's status (and the status of its pending
	// authorizations when authzStatus is not empty) and its error text. An
	// order that has its certificate keeps its status: ErrConflict.
	OrderSetStatus(ctx context.Context, id, status, authzStatus, errText string) error
	// OrderTakeKey returns the generated private key of an issued order:
	// the first call marks it delivered at now, the calls within keep of
	// that return it again, a later call erases it. ErrNotFound when there
	// is none (given a CSR, or erased), ErrConflict before issuance.
	OrderTakeKey(ctx context.Context, id string, now time.Time, keep time.Duration) (string, error)
	// OrderEraseKeys erases the generated keys no one needs any more, and
	// returns how many: those first delivered at or before deliveredBefore,
	// those of orders that will never be issued (expired, invalid), and
	// those of orders whose certificate expired by now, never downloaded.
	OrderEraseKeys(ctx context.Context, deliveredBefore, now time.Time) (int, error)
	// OrderEraseKey erases the generated key of order id now, if it holds
	// one (its certificate revoked for key compromise), and reports
	// whether it did; an unknown order is ErrNotFound.
	OrderEraseKey(ctx context.Context, id string) (bool, error)

	// CheckRecord stores a check and the states it produced, atomically.
	CheckRecord(ctx context.Context, p CheckRecordParams) error
	// CheckListByOrder returns an order's checks, newest first, those after
	// the check after ("" for the newest), at most limit. An after that is
	// not a check of the order is ErrNotFound.
	CheckListByOrder(ctx context.Context, orderID, after string, limit int) ([]Check, error)
	// AuthorizationValuesByAccount returns the random values of an account's
	// authorizations in status, newest order first, at most limit, except
	// those of order exceptOrder: the near misses a check looks for.
	AuthorizationValuesByAccount(ctx context.Context, accountID, status, exceptOrder string, limit int) ([]string, error)

	// CAARecheckRecord stores a CAA recheck; a duplicate id is ErrConflict,
	// evidence that is not JSON an error.
	CAARecheckRecord(ctx context.Context, r CAARecheck) error
	// CAARechecksByOrder returns the CAA rechecks made for an order, oldest
	// first; none for an unknown order.
	CAARechecksByOrder(ctx context.Context, orderID string) ([]CAARecheck, error)

	// OrderSigningTBSPut keeps tbs as the to-be-signed bytes of the
	// certificate about to be signed for an order, unless the order keeps
	// some already, and returns the bytes kept: tbs, or those kept before.
	// The order must be "approved" without a certificate, else
	// ErrConflict. The write survives a crash of the process before it
	// returns; it is durable at the latest with the certificate's write.
	OrderSigningTBSPut(ctx context.Context, orderID string, tbs []byte) ([]byte, error)
	// OrderSigningTBSDrop forgets an order's to-be-signed bytes if they are
	// tbs (bytes that can no longer be signed).
	OrderSigningTBSDrop(ctx context.Context, orderID string, tbs []byte) error

	// CertificateIssue issues an order's certificate exactly once. Inside
	// one write transaction it loads the order; if its status is "approved"
	// and it has no certificate, it calls sign, stores the certificate, sets
	// the order and its authorizations to "issued" and commits. If the order
	// already has a certificate, it returns that one without calling sign. If
	// the order is in another status, it returns ErrConflict. An error from
	// sign rolls back and is returned as is. Storing the certificate
	// forgets the order's to-be-signed bytes (OrderSigningTBSPut).
	CertificateIssue(ctx context.Context, orderID string, sign func(*Order) (*Certificate, error)) (*Certificate, error)
	// CertificateGetByOrder returns an order's certificate, or ErrNotFound.
	CertificateGetByOrder(ctx context.Context, orderID string) (*Certificate, error)

	// Close releases the store.
	Close() error
}
