// Package order is the only place that decides: it creates orders, throttles
// and runs checks, moves orders through their states, and runs the durable
// issuance step. Front doors (api, acme, console) call it; it calls
// perspective to observe, diagnose to judge, ca to sign and store to keep.
package order

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/metrics"
	"github.com/dcvhq/dcv/internal/ratelimit"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// Limits and defaults.
const (
	// DefaultCheckInterval is the least time between two checks of one order.
	DefaultCheckInterval = 5 * time.Minute
	// DefaultValueValidity is how long a random value stays usable.
	DefaultValueValidity = 30 * 24 * time.Hour
	// MaxValueValidity is the longest a random value may be valid: the
	// Baseline Requirements (3.2.2.4.7, 3.2.2.4.18) allow 30 days.
	MaxValueValidity = 30 * 24 * time.Hour
	// maxParallelObservations bounds the domains observed at once by one
	// check, so a 100-name order does not open 100 sockets at a time.
	maxParallelObservations = 16
	// valueBytes is the entropy of a random value: 160 bits (at least 128
	// are required).
	valueBytes = 20
	// listLimit bounds list answers.
	listLimit = 1000
	// DefaultListLimit and MaxListLimit are the orders a page of List
	// holds when no limit is asked for, and at most.
	DefaultListLimit = 100
	MaxListLimit     = 1000
	// DefaultCheckListLimit and MaxCheckListLimit are the checks a page of
	// Checks holds when no limit is asked for, and at most.
	DefaultCheckListLimit = 20
	MaxCheckListLimit     = 100
	// MaxCheckPageBytes bounds the stored results a page of Checks holds:
	// a check of a 100-name order with its evidence is a few MB, so a page
	// ends early (with a cursor) rather than grow past what a client reads
	// (16 MiB for dcv's). A page holds at least one check whatever its size.
	MaxCheckPageBytes = 8 << 20
	// checkBatch is the checks read from the store at a time while a page
	// fills, so that no more than a batch past the page's bound is read.
	checkBatch = 5
)

// Clock tells the time; tests inject their own.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Observer observes one domain from every perspective. obs[0] is the
// primary's observation. perspective.Runner implements it.
type Observer interface {
	Observe(ctx context.Context, req validation.Request) ([]validation.Observation, error)
}

// Issuer signs certificates. *ca.CA implements it.
type Issuer interface {
	// Prepare builds and lints the leaf req asks for, signing nothing.
	Prepare(req ca.IssueRequest) (*ca.Prepared, error)
	// Sign signs a leaf Prepare made for req, or to-be-signed bytes read
	// back from the store (checked against req first); the same bytes
	// always make the same certificate.
	Sign(p *ca.Prepared, req ca.IssueRequest) (*ca.Issued, error)
}

// Scheduler queues the durable issuance step of an order. It must be
// idempotent: scheduling an order twice runs its issuance once.
type Scheduler interface {
	ScheduleIssue(ctx context.Context, orderID string) error
}

// Config configures a Service.
type Config struct {
	Store    store.Store // required
	Observer Observer    // required
	Issuer   Issuer      // required
	// Clock; if nil, the wall clock.
	Clock Clock
	// CheckInterval; if zero, DefaultCheckInterval.
	CheckInterval time.Duration
	// ValueValidity; if zero, DefaultValueValidity; at most MaxValueValidity.
	ValueValidity time.Duration
	// IPMaxValidity, if set, is the longest a certificate naming an IP
	// address is valid, whatever its profile or the CA's validity: an
	// address changes hands more readily than a domain, and its
	// certificate is not revoked when it does.
	IPMaxValidity time.Duration
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// Metrics counts checks, issuance and revocations; nil counts nothing.
	Metrics *metrics.Metrics
	// NewOrderLimit bounds the orders an account that is not an admin
	// makes through the API; if zero, DefaultNewOrderLimit. Every order is
	// observed, by dcv on its own too: the limit bounds the queries anyone
	// can make dcv send to a domain's servers.
	NewOrderLimit ratelimit.Limit
	// MaxPendingOrders is the most pending orders (whose values have not
	// expired) an account that is not an admin may have through the API
	// at once: each is observed by dcv on its own for days. If zero,
	// DefaultMaxPendingOrders; if negative, no limit.
	MaxPendingOrders int
	// Limiter keeps the limit's counts; if nil, in memory (per process).
	Limiter ratelimit.Limiter
	// Names is which names may get a certificate: the zero Policy is a
	// public CA's; InternalNames serves an organisation's own network.
	Names ident.Policy
	// OwnResolvers are the addresses of dcv's own recursive resolvers
	// (forward mode), as answers name them: an applicant's view names
	// them "dcv's resolver" (see ownResolverText).
	OwnResolvers []string
}

// Tenants of observations (perspective.WithTenant): when more wait than
// may run at once, each account's take their turn with the others'.
const (
	tenantAPI       = "api/"
	tenantACME      = "acme/"
	tenantPreflight = "preflight/"
)

// DefaultMaxPendingOrders is Config.MaxPendingOrders' default.
const DefaultMaxPendingOrders = 5000

// DefaultNewOrderLimit is the API's limit of new orders per account.
var DefaultNewOrderLimit = ratelimit.Limit{Name: "new orders per account", Count: 1000, Period: time.Hour}

// Service implements orders. It is safe for concurrent use.
type Service struct {
	cfg Config
	// hideResolvers replaces OwnResolvers in an applicant's view; nil
	// when there are none.
	hideResolvers *strings.Replacer

	mu        sync.Mutex
	scheduler Scheduler
	// acmeValidity gives the profile validity of an ACME order (set by
	// NewACME); nil without ACME.
	acmeValidity func(ctx context.Context, orderID string) (time.Duration, error)
	// checking holds, by order id, the start of each check this process
	// runs (time.Time): a check refused as too frequent meanwhile says
	// that one is still running (console run).
	checking sync.Map

	// acmeLate checks an ACME order whose issuance the sweep finishes
	// (set by NewACME); nil without ACME.
	acmeLate func(ctx context.Context, orderID string) error

	// acmeState gives an ACME order's status, its problem and its
	// authorizations' state by id, as ACME shows them (set by NewACME);
	// nil without ACME.
	// With full, each authorization's state has its deciding challenge,
	// findings and matrix too.
	acmeState func(ctx context.Context, orderID string, full bool) (status, problem string, authz map[string]acmeDomain, err error)

	// finalizing counts, by order id, the ACME finalize requests running
	// in this process, each from before its reservation to after its
	// certificate's write: the issuance sweep leaves those orders to them.
	// One process serves a data directory (serve.lock), so that is every
	// finalize under way. Counted: a concurrent finalize that loses the
	// reservation ends while the winner still signs.
	finalizingMu sync.Mutex
	finalizing   map[string]int
}

// beginFinalize marks a finalize of order id under way; endFinalize, its
// end.
func (s *Service) beginFinalize(id string) {
	s.finalizingMu.Lock()
	defer s.finalizingMu.Unlock()
	if s.finalizing == nil {
		s.finalizing = map[string]int{}
	}
	s.finalizing[id]++
}

func (s *Service) endFinalize(id string) {
	s.finalizingMu.Lock()
	defer s.finalizingMu.Unlock()
	if s.finalizing[id]--; s.finalizing[id] <= 0 {
		delete(s.finalizing, id)
	}
}

// finalizeUnderWay reports whether a finalize of order id runs.
func (s *Service) finalizeUnderWay(id string) bool {
	s.finalizingMu.Lock()
	defer s.finalizingMu.Unlock()
	return s.finalizing[id] > 0
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Observer == nil || cfg.Issuer == nil {
		return nil, errors.New("order: store, observer and issuer are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = wallClock{}
	}
	if cfg.CheckInterval == 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.CheckInterval < 0 {
		return nil, errors.New("order: the check interval must not be negative")
	}
	if cfg.ValueValidity == 0 {
		cfg.ValueValidity = DefaultValueValidity
	}
	if cfg.ValueValidity < 0 || cfg.ValueValidity > MaxValueValidity {
		return nil, fmt.Errorf("order: value validity %v is outside (0, %v]", cfg.ValueValidity, MaxValueValidity)
	}
	if cfg.NewOrderLimit == (ratelimit.Limit{}) {
		cfg.NewOrderLimit = DefaultNewOrderLimit
	}
	if err := cfg.NewOrderLimit.Valid(); err != nil {
		return nil, fmt.Errorf("order: %w", err)
	}
	if cfg.Limiter == nil {
		cfg.Limiter = ratelimit.NewMemory()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg}
	s.hideResolvers = resolverReplacer(cfg.OwnResolvers)
	return s, nil
}

// SetScheduler sets where approved orders are queued for issuance. The job
// runner is built after the service (its workers call Issue), hence a setter.
func (s *Service) SetScheduler(sch Scheduler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scheduler = sch
}

func (s *Service) now() time.Time { return s.cfg.Clock.Now().UTC() }

// randomToken returns n random bytes in lowercase unpadded base32, which
// survives DNS case changes and copy-paste.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("order: crypto/rand failed: " + err.Error())
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// sortableTime encodes times in IDs: base32hex (RFC 4648 §7) in lowercase,
// whose alphabet is in ASCII order, so IDs sort by creation time.
var sortableTime = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newID returns prefix, 10 characters of now (milliseconds since the Unix
// epoch, 50 bits: sortable until the year 37 000) and 16 characters of
// randomness (80 bits, so IDs stay unguessable). Records created one after
// another get IDs in ascending order, so SQLite appends their index
// entries at the right edge of each B-tree instead of dirtying a random
// page of every index per insert (each such page is one more WAL frame
// written and checkpointed).
func newID(prefix string, now time.Time) string {
	ms := uint64(max(now.UnixMilli(), 0))
	var t [8]byte
	// 50 bits in the top of 7 bytes (56 bits): 10 base32 digits = 50 bits.
	binary.BigEndian.PutUint64(t[:], ms<<14)
	return prefix + sortableTime.EncodeToString(t[:7])[:10] + randomToken(10)
}

// Ping makes a cheap read of the store (store.Store.Ping): nil when the
// database answers before ctx ends. The health check calls it.
func (s *Service) Ping(ctx context.Context) error {
	return s.cfg.Store.Ping(ctx)
}

// HashAPIKey returns the stored form of an API key. Keys carry 256 random
// bits, so one SHA-256 is enough: nothing to guess, nothing to stretch.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// ListAccounts returns, for an admin, a page of the accounts by id: limit
// of them (DefaultListLimit when 0, at most MaxListLimit) after the account
// cursor (the next of the page before, "" for the first); next is the
// cursor of the following page, "" when none remains. ACME accounts' orders
// belong to accounts too (ids acme_…).
func (s *Service) ListAccounts(ctx context.Context, caller *store.Account, cursor string, limit int) (views []*AccountView, next string, err error) {
	if !caller.Admin {
		return nil, "", &Error{Kind: KindForbidden, Code: "ADMIN_REQUIRED", Message: "only an admin lists the accounts"}
	}
	switch {
	case limit == 0:
		limit = DefaultListLimit
	case limit < 1 || limit > MaxListLimit:
		return nil, "", invalid("INVALID_LIMIT", "limit must be between 1 and %d", MaxListLimit)
	}
	as, err := s.cfg.Store.AccountList(ctx, cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(as) > limit {
		as = as[:limit]
		next = as[limit-1].ID
	}
	views = make([]*AccountView, 0, len(as))
	for _, a := range as {
		views = append(views, &AccountView{ID: a.ID, Name: a.Name, Admin: a.Admin, CreatedAt: a.CreatedAt.UTC()})
	}
	return views, next, nil
}

// CreateAccount creates an account and returns it with its API key, shown
// this once. Only an admin may create accounts; a nil caller means the
// server itself (first start).
func (s *Service) CreateAccount(ctx context.Context, caller *store.Account, name string, admin bool) (*AccountView, error) {
	if caller != nil && !caller.Admin {
		return nil, &Error{Kind: KindForbidden, Code: "ADMIN_REQUIRED", Message: "only an admin account may create accounts"}
	}
	if err := CheckAccountName(name); err != nil {
		return nil, err
	}
	name = norm.NFC.String(strings.TrimSpace(name))
	key := "dcv_" + randomToken(32)
	a := store.Account{ID: newID("acct_", s.now()), Name: name, Admin: admin, CreatedAt: s.now()}
	if err := s.cfg.Store.AccountCreate(ctx, a, HashAPIKey(key)); errors.Is(err, store.ErrNameTaken) {
		return nil, &Error{Kind: KindConflict, Code: "ACCOUNT_EXISTS", Message: fmt.Sprintf("an account named %q exists already (names are compared without letter case or Unicode compatibility differences): choose another name", name)}
	} else if err != nil {
		return nil, fmt.Errorf("creating account: %w", err)
	}
	return &AccountView{ID: a.ID, Name: a.Name, Admin: a.Admin, CreatedAt: a.CreatedAt, APIKey: key}, nil
}

// RotateAPIKey gives an account a new API key, shown this once, and ends
// every key it had (a key leaked, or an employee gone): the caller's own
// account when accountID is "" or its own id, another only for an admin.
func (s *Service) RotateAPIKey(ctx context.Context, caller *store.Account, accountID string) (*AccountView, error) {
	if accountID == "" {
		accountID = caller.ID
	}
	if accountID != caller.ID && !caller.Admin {
		return nil, &Error{Kind: KindForbidden, Code: "ADMIN_REQUIRED", Message: "only an admin account may replace another account's API key"}
	}
	key := "dcv_" + randomToken(32)
	a, err := s.cfg.Store.APIKeyReplace(ctx, accountID, HashAPIKey(key), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: KindNotFound, Code: "ACCOUNT_NOT_FOUND", Message: fmt.Sprintf("account %q was not found", accountID)}
	}
	if err != nil {
		return nil, fmt.Errorf("replacing the API key: %w", err)
	}
	return &AccountView{ID: a.ID, Name: a.Name, Admin: a.Admin, CreatedAt: a.CreatedAt, APIKey: key}, nil
}

// CheckAccountName refuses an account name that is empty, too long, not
// UTF-8, or holds a character that would break a line or a log (controls,
// line and paragraph separators), reorder the text around it
// (bidirectional embeddings, overrides and isolates, the "Trojan Source"
// characters), or mean nothing (private use, surrogates, noncharacters,
// unassigned code points). Joiners, direction marks and other invisible
// characters that scripts and emoji need are kept, and names are compared
// without them (store.ErrNameTaken), so they cannot make a look-alike.
// (an *Error of KindInvalid; the CLI refuses with it before sending).
func CheckAccountName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return invalid("INVALID_ACCOUNT_NAME", "the account name is empty (or only spaces): give it a name")
	}
	if len(name) > 128 || !utf8.ValidString(name) {
		return invalid("INVALID_ACCOUNT_NAME", "the account name must be 1 to 128 bytes of UTF-8")
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs, unicode.Noncharacter_Code_Point) ||
			(r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == utf8.RuneError ||
			!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cf)
	}); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return invalid("INVALID_ACCOUNT_NAME", "the account name holds U+%04X, a control, line-breaking, text-reordering or unassigned character: use printable characters", r)
	}
	if !strings.ContainsFunc(name, func(r rune) bool { return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) }) {
		return invalid("INVALID_ACCOUNT_NAME", "the account name shows nothing: give it at least one letter, digit or symbol")
	}
	return nil
}

// EnsureAdmin creates the admin account on first start and returns its view
// (with the key); it returns nil when an admin already exists.
func (s *Service) EnsureAdmin(ctx context.Context) (*AccountView, error) {
	ok, err := s.cfg.Store.AccountAdminExists(ctx)
	if err != nil {
		return nil, fmt.Errorf("looking for the admin account: %w", err)
	}
	if ok {
		return nil, nil
	}
	return s.CreateAccount(ctx, nil, "admin", true)
}

// ResetAdminKey gives the oldest admin account a new API key, shown this
// once, and ends its old ones: the way back in for an operator who lost
// the admin key (dcv serve --reset-admin-key, on the data directory).
func (s *Service) ResetAdminKey(ctx context.Context) (*AccountView, error) {
	id, err := s.cfg.Store.AccountFirstAdminID(ctx)
	if err != nil {
		return nil, fmt.Errorf("looking for the admin account: %w", err)
	}
	return s.RotateAPIKey(ctx, &store.Account{ID: id, Admin: true}, id)
}

// Authenticate returns the account of an API key.
func (s *Service) Authenticate(ctx context.Context, key string) (*store.Account, error) {
	if key == "" {
		return nil, &Error{Kind: KindUnauthorized, Code: "UNAUTHORIZED", Message: "an API key is required (Authorization: Bearer <key>)"}
	}
	a, err := s.cfg.Store.AccountGetByKeyHash(ctx, HashAPIKey(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: KindUnauthorized, Code: "UNAUTHORIZED", Message: "the API key is not valid"}
	}
	if err != nil {
		return nil, fmt.Errorf("authenticating: %w", err)
	}
	return a, nil
}

// CreateRequest is a new order.
type CreateRequest struct {
	Domains []string `json:"domains"`
	// Method is the validation method of every domain: "dns" or "file".
	Method string `json:"method"`
	// Methods optionally overrides Method per domain (keys as requested,
	// normalised like the domains), so one order can mix methods.
	Methods map[string]string `json:"methods,omitempty"`
	// CSR is an optional PEM certificate request; its names must equal the
	// order's domains. Without it dcv generates a P-256 key.
	CSR string `json:"csr,omitempty"`
}

// Create validates and stores a new order. Nothing is stored when the
// request is refused.
func (s *Service) Create(ctx context.Context, acct *store.Account, req CreateRequest) (*View, error) {
	domains, methods, err := orderNames(req, s.cfg.Names)
	if err != nil {
		return nil, err
	}
	now := s.now()
	o := &store.Order{
		ID:        newID("ord_", now),
		AccountID: acct.ID,
		Method:    req.Method,
		Status:    StatusPending,
		CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.ValueValidity),
	}
	if strings.TrimSpace(req.CSR) != "" {
		csr, err := ca.ParseCSR([]byte(req.CSR))
		if err != nil {
			var ce *ca.CSRError
			if errors.As(err, &ce) {
				return nil, invalid(ce.Code, "%s", ce.Message)
			}
			return nil, invalid("CSR_MALFORMED", "the CSR could not be parsed")
		}
		if n, ok := ca.AddressAsName(csr); ok {
			return nil, invalid("CSR_IP_ADDRESS", "the CSR names the IP address %.64q as a DNS name (a dNSName subjectAltName): put it in the subjectAltName as an IP address (iPAddress)", n)
		}
		if err := csrMatches(ca.CSRNames(csr), domains); err != nil {
			return nil, err
		}
		if blocked, err := s.keyBlocked(ctx, csr.PublicKey); err != nil {
			return nil, err
		} else if blocked {
			return nil, invalid("CSR_KEY_COMPROMISED", "the CSR's key: %s", compromisedKeyMessage)
		}
		o.CSRPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
	} else {
		_, keyPEM, err := ca.GenerateKey()
		if err != nil {
			return nil, fmt.Errorf("generating a key: %w", err)
		}
		o.KeyPEM = string(keyPEM)
	}
	// Every file-validated domain of an order shares one value: the file
	// sits at the same path on each name, and names served from one web
	// root (example.com and www.example.com) must be able to pass together.
	// DNS records live at different hosts and get one value each.
	fileValue := randomToken(valueBytes)
	for i, d := range domains {
		value := fileValue
		if methods[i] != string(validation.MethodFile) {
			value = randomToken(valueBytes)
		}
		o.Authorizations = append(o.Authorizations, store.Authorization{
			Domain:    d,
			Method:    methods[i],
			Status:    StatusPending,
			Value:     value,
			ExpiresAt: o.ExpiresAt,
		})
	}
	if !acct.Admin {
		l := s.cfg.NewOrderLimit
		d, err := s.cfg.Limiter.Spend(ctx, l, "order|"+acct.ID, 1, now)
		if err != nil {
			return nil, fmt.Errorf("rate limit %s: %w", l.Name, err)
		}
		if !d.Allowed {
			retry := retryAfter(d.RetryAfter)
			return nil, &Error{Kind: KindThrottled, Code: "RATE_LIMITED", RetryAt: now.Add(retry), RetryAfter: retry,
				Message: fmt.Sprintf("too many %s: at most %d per %s; retry after %s (at %s)", l.Name, l.Count, fmtPeriod(l.Period), retry, now.Add(retry).UTC().Format(time.RFC3339))}
		}
	}
	maxPending := 0 // an admin's orders are not counted
	if !acct.Admin {
		maxPending = cmp.Or(s.cfg.MaxPendingOrders, DefaultMaxPendingOrders)
		if maxPending < 0 {
			maxPending = 0
		}
	}
	if err := s.cfg.Store.OrderCreate(ctx, o, maxPending); err != nil {
		if pe := (*store.PendingLimitError)(nil); errors.As(err, &pe) {
			// Refused before it was made: it gives back the new-order
			// allowance it took (review: an account retrying at the cap
			// burnt it, and was then rate-limited after a cancel).
			if _, rerr := s.cfg.Limiter.Spend(ctx, s.cfg.NewOrderLimit, "order|"+acct.ID, -1, now); rerr != nil {
				s.cfg.Logger.Error("rate limit refund", "limit", s.cfg.NewOrderLimit.Name, "err", rerr)
			}
			e := &Error{Kind: KindThrottled, Code: "TOO_MANY_PENDING_ORDERS",
				Message: fmt.Sprintf("account %s has %d pending orders, the most it may have: cancel those it no longer needs (dcv order cancel ID; dcv order list shows them), or wait until one expires", acct.ID, pe.Pending)}
			if pe.NextExpiry.After(now) {
				e.RetryAfter = retryAfter(pe.NextExpiry.Sub(now))
				e.RetryAt = now.Add(e.RetryAfter)
				e.Message += fmt.Sprintf(" (the first at %s)", pe.NextExpiry.UTC().Format(time.RFC3339))
			}
			return nil, e
		}
		return nil, fmt.Errorf("storing order: %w", err)
	}
	// dcv checks it on its own too, once the applicant has had time to
	// publish; a failure to plan leaves the applicant's own checks.
	at := s.recheckAfter(o, now, nil)
	if err := s.cfg.Store.OrderSetRecheck(ctx, o.ID, at); err != nil {
		s.cfg.Logger.Error("planning the order's first check", "order", o.ID, "err", err)
	} else {
		o.RecheckAt = at
	}
	return s.view(o), nil
}

func checkMethod(m string) error {
	if m == "" {
		return invalid("METHOD_REQUIRED", "method is required: \"dns\" (a TXT record) or \"file\" (a file on the web site)")
	}
	if m != string(validation.MethodDNS) && m != string(validation.MethodFile) {
		return invalid("UNKNOWN_METHOD", "method must be \"dns\" or \"file\", not %q", m)
	}
	return nil
}

// CheckCreateRequest reports what Create would refuse of req's domains and
// methods (an *Error of KindInvalid), without a store: the CLI refuses
// them before sending anything, with the server's codes and words. The
// CSR is not looked at. Names are judged under the most permissive policy
// a server may have (internal names, private and loopback addresses
// permitted): whether the server takes them is the server's to say.
func CheckCreateRequest(req CreateRequest) error {
	_, _, err := orderNames(req, ident.Policy{InternalNames: true, IPs: ident.Targets{Loopback: true, Private: true}})
	return err
}

// orderNames returns req's domains, normalized under names, and the method
// of each, or the *Error refusing them.
func orderNames(req CreateRequest, names ident.Policy) (domains, methods []string, err error) {
	if err := checkMethod(req.Method); err != nil {
		return nil, nil, err
	}
	// Wildcards need DNS validation, IP addresses the file: judge each
	// identifier with its own method.
	domains, err = names.ParseOrderIdentifiers(req.Domains)
	if err != nil {
		return nil, nil, policyError(err)
	}
	methods, err = domainMethods(domains, req.Method, req.Methods, names)
	if err != nil {
		return nil, nil, err
	}
	return domains, methods, nil
}

func policyError(err error) error {
	var pe *ident.PolicyError
	if errors.As(err, &pe) {
		return invalid(pe.Code, "%s", pe.Message)
	}
	return invalid("INVALID_DOMAIN", "%s", err.Error())
}

// domainMethods returns the method of each domain: def, or its override.
// Every override must name a domain of the order, once (two spellings of
// one name, "A.example." and "a.example", are refused rather than one
// picked at random); a wildcard cannot use file validation.
func domainMethods(domains []string, def string, overrides map[string]string, names ident.Policy) ([]string, error) {
	byName := make(map[string]string, len(overrides))
	spelled := make(map[string]string, len(overrides))
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		m := overrides[name]
		n, err := names.NormalizeIdentifier(name)
		if err != nil {
			return nil, policyError(err)
		}
		if earlier, ok := spelled[n]; ok {
			return nil, invalid(ident.CodeDuplicateName, "methods names %s twice, as %q and %q: give each domain one method", n, earlier, name)
		}
		spelled[n] = name
		if !slices.Contains(domains, n) {
			return nil, invalid("METHOD_FOR_UNKNOWN_DOMAIN", "methods names %q, which is not among the order's domains", name)
		}
		if err := checkMethod(m); err != nil {
			return nil, err
		}
		byName[n] = m
	}
	out := make([]string, len(domains))
	for i, d := range domains {
		out[i] = cmp.Or(byName[d], def)
		if out[i] == string(validation.MethodFile) && ident.IsWildcard(d) {
			return nil, invalid("WILDCARD_METHOD", "%q is a wildcard: only DNS validation can prove control of every name under %s", d, ident.Base(d))
		}
		if out[i] == string(validation.MethodDNS) && ident.IsIP(d) {
			return nil, invalid(ident.CodeIPAddress, "%q is an IP address: it has no name to publish a TXT record under; validate it by the file method (dcv order create --method file, or --domain-method %s=file; in the API \"methods\": {%q: \"file\"})", d, d, d)
		}
		if host := validation.DNSPrefix + "." + ident.Base(d); out[i] == string(validation.MethodDNS) && len(host) > ident.MaxNameLength {
			alt := "validate it by file"
			if ident.IsWildcard(d) {
				alt = "order a shorter name"
			}
			return nil, invalid(ident.CodeNameTooLong, "%q is too long for DNS validation: its TXT record would be at %s, %d characters, and a DNS name has at most %d; %s", d, host, len(host), ident.MaxNameLength, alt)
		}
	}
	return out, nil
}

func csrMatches(csrNames, domains []string) error {
	want := slices.Clone(domains)
	slices.Sort(want)
	got := slices.Clone(csrNames)
	slices.Sort(got)
	if slices.Equal(got, want) {
		return nil
	}
	var extra, missing []string
	for _, n := range got {
		if !slices.Contains(want, n) {
			extra = append(extra, n)
		}
	}
	for _, n := range want {
		if !slices.Contains(got, n) {
			missing = append(missing, n)
		}
	}
	msg := "the CSR's names differ from the order's identifiers"
	if len(extra) > 0 {
		msg += "; in the CSR but not the order: " + strings.Join(extra, ", ")
	}
	if len(missing) > 0 {
		msg += "; in the order but not the CSR: " + strings.Join(missing, ", ")
	}
	return invalid("CSR_NAMES_MISMATCH", "%s", msg)
}

// loadToRead is load for a request that only reads: an admin may read
// any account's order (a console's support staff reading an applicant's
// checks, with every detail); another account its own.
func (s *Service) loadToRead(ctx context.Context, acct *store.Account, id string) (*store.Order, error) {
	if acct != nil && acct.Admin {
		o, err := s.cfg.Store.OrderGet(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound(id)
		}
		if err != nil {
			return nil, fmt.Errorf("loading order: %w", err)
		}
		return o, nil
	}
	return s.load(ctx, acct, id)
}

// load returns an account's order, to act on. Another account's order is
// not found, so that ids of others are not revealed; but an admin, who may
// read every order, is told it may not act on it (NOT_YOUR_ORDER).
func (s *Service) load(ctx context.Context, acct *store.Account, id string) (*store.Order, error) {
	o, err := s.cfg.Store.OrderGet(ctx, id)
	if err == nil && o.AccountID != acct.ID && acct.Admin {
		// An admin sees the order exists: it may read it, not act on it.
		msg := fmt.Sprintf("order %s belongs to another account: an admin may read it (its view and stored checks) and revoke its certificate, but only that account checks it or downloads its certificate", id)
		if o.Method == methodACME {
			msg = fmt.Sprintf("order %s is an ACME order of another account: an admin may read it and revoke its certificate, but its ACME client answers its challenges, finalizes it and downloads its certificate", id)
		}
		return nil, &Error{Kind: KindForbidden, Code: "NOT_YOUR_ORDER", Message: msg}
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.AccountID != acct.ID) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("loading order: %w", err)
	}
	return o, nil
}

// Get returns one of the account's orders; an admin may read any order.
func (s *Service) Get(ctx context.Context, acct *store.Account, id string) (*View, error) {
	o, err := s.loadToRead(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	v := s.viewFor(acct, o)
	if o.Method == methodACME {
		return s.acmeOverlay(ctx, acct, o, v, true), nil
	}
	s.lastMatrices(ctx, acct, o, v)
	return v, nil
}

// cancelText and cancelTextAdmin are the error of an order its account,
// or an admin, canceled.
const (
	cancelText      = "canceled by its account"
	cancelTextAdmin = "canceled by an administrator"
)

// canceled reports whether o was canceled (Cancel), by its error text.
func canceled(o *store.Order) bool {
	return o.Status == StatusInvalid && (strings.HasPrefix(o.Error, cancelText) || strings.HasPrefix(o.Error, cancelTextAdmin))
}

// Cancel refuses one of the account's pending orders for good (an admin:
// any account's): dcv stops checking it, its values are no longer
// usable, and it no longer counts against MaxPendingOrders. An order that
// is not pending is refused with ORDER_NOT_PENDING, saying what to do
// instead; an ACME order is its client's (ACME_ORDER).
func (s *Service) Cancel(ctx context.Context, acct *store.Account, id string) (*View, error) {
	o, err := s.loadToRead(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	if o.AccountID != acct.ID && !acct.Admin {
		return nil, notFound(id)
	}
	if o.Method == methodACME {
		return nil, &Error{Kind: KindConflict, Code: "ACME_ORDER", Message: fmt.Sprintf("order %s is an ACME order: its ACME client drives it (it may deactivate its authorizations); an unfinished one expires on its own", id)}
	}
	notPending := func(status string) error {
		how := map[string]string{
			StatusApproved: "every domain is validated and its certificate is being issued; once issued, revoke it if it is not wanted (dcv cert revoke)",
			StatusIssued:   "its certificate is issued; revoke it if it is not wanted (dcv cert revoke)",
			StatusInvalid:  "it is refused already",
			StatusExpired:  "its values expired already",
		}[status]
		return &Error{Kind: KindConflict, Code: "ORDER_NOT_PENDING", Message: fmt.Sprintf("order %s is %s, not pending: %s", id, status, how)}
	}
	now := s.now()
	if o.Status == StatusPending && !now.Before(o.ExpiresAt) {
		return nil, notPending(StatusExpired)
	}
	if canceled(o) {
		return nil, &Error{Kind: KindConflict, Code: "ORDER_NOT_PENDING", Message: fmt.Sprintf("order %s is %s already", id, o.Error)}
	}
	if o.Status != StatusPending {
		return nil, notPending(o.Status)
	}
	by := cancelText
	if o.AccountID != acct.ID {
		by = cancelTextAdmin // review: an admin's cancel said its account's
	}
	err = s.cfg.Store.OrderCancel(ctx, id, fmt.Sprintf("%s at %s", by, now.UTC().Format(time.RFC3339)))
	if errors.Is(err, store.ErrConflict) {
		// Approved (or issued) meanwhile, by a check.
		cur, gerr := s.cfg.Store.OrderGet(ctx, id)
		if gerr != nil {
			return nil, fmt.Errorf("loading order: %w", gerr)
		}
		return nil, notPending(cur.Status)
	}
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, acct, id)
}

// acmeOverlay gives v, the view of ACME order o, the state ACME shows (the
// REST rows of its authorizations stay as created: ACME keeps its own);
// other orders' views are returned as they are.
//
// With full, each domain also gets, from its authorization, the challenge
// that validated it or failed (or is being validated), with the findings
// and the per-perspective matrix of that validation: what the ACME client
// was told, with the fix, for the operator or applicant reading the
// order. A reader other than an admin gets the applicant's view of them
// (see CheckResult.Redact).
func (s *Service) acmeOverlay(ctx context.Context, acct *store.Account, o *store.Order, v *View, full bool) *View {
	s.mu.Lock()
	state := s.acmeState
	s.mu.Unlock()
	if o.Method != methodACME || state == nil {
		return v
	}
	status, problem, authz, err := state(ctx, o.ID, full)
	if err != nil {
		s.cfg.Logger.Error("reading the acme state of an order", "order", o.ID, "err", err)
		return v
	}
	v.Status, v.Error, v.RecheckAt = status, problem, nil
	if !acct.Admin {
		v.Error = s.hideText(v.Error)
	}
	for i := range v.Domains {
		z, ok := authz[o.Authorizations[i].Value]
		if !ok {
			continue
		}
		d := &v.Domains[i]
		d.Status, d.Challenge = z.Status, z.Challenge
		if c := z.Challenge; c != nil && c.ValidatedAt != nil {
			d.LastCheckAt = c.ValidatedAt
		} else if c != nil && c.Status == store.ACMEStatusInvalid {
			d.LastCheckAt = c.StartedAt // a failure's only time
		}
		if z.Findings != nil {
			// The validation's own findings, then the order's (its
			// certificate issued or revoked).
			fs := slices.Clone(z.Findings)
			for _, f := range d.Findings {
				if !slices.ContainsFunc(fs, func(g diagnose.Finding) bool { return g.Code == f.Code }) {
					fs = append(fs, f)
				}
			}
			d.Findings = fs
		}
		d.Matrix = slices.Clone(z.Matrix)
		if !acct.Admin {
			if s.hideResolvers != nil {
				hideInFindings(s.hideResolvers, d.Findings)
			}
			s.redactMatrix(d.Matrix)
		}
	}
	return v
}

// redactMatrix gives rows, a domain's per-perspective matrix, the
// applicant's view: without dcv's own resolvers' addresses, and without
// the remote perspectives' infrastructure (CheckResult.Redact).
func (s *Service) redactMatrix(rows []diagnose.PerspectiveRow) {
	for j := range rows {
		if j > 0 {
			redactRow(&rows[j])
		}
	}
	if s.hideResolvers != nil {
		hideInRows(s.hideResolvers, rows)
	}
}

// matrixChecks bounds how many of an order's latest checks lastMatrices
// reads, matrixPage at a time, to find each domain's last observation.
const (
	matrixChecks = 40
	matrixPage   = 4
)

// lastMatrices gives each domain of v, the view of order o, the
// per-perspective matrix of the latest of the order's stored checks that
// observed its value (a check observes only the domains still pending,
// and the one that approves the order rechecks CAA alone for those
// approved before: such a row stands only for a domain no earlier check
// observed), among the last matrixChecks; none when none of them did. An
// order's page thus shows which vantage points approved each domain, also
// once issued. The checks are read a few at a time, newest first, until
// every domain has its matrix.
func (s *Service) lastMatrices(ctx context.Context, acct *store.Account, o *store.Order, v *View) {
	if o.LastCheckAt.IsZero() {
		return // never checked
	}
	caaOnly := make([]bool, len(v.Domains)) // the matrix found is a CAA recheck's
	left := len(v.Domains)
	after := ""
	for read := 0; left > 0 && read < matrixChecks; read += matrixPage {
		checks, err := s.cfg.Store.CheckListByOrder(ctx, o.ID, after, matrixPage)
		if err != nil {
			s.cfg.Logger.Error("reading the checks of an order", "order", o.ID, "err", err)
			break
		}
		for _, c := range checks {
			left -= s.matricesOf(c, v, caaOnly)
		}
		if len(checks) < matrixPage {
			break
		}
		after = checks[len(checks)-1].ID
	}
	if !acct.Admin {
		for i := range v.Domains {
			s.redactMatrix(v.Domains[i].Matrix)
		}
	}
}

// matricesOf gives the domains of v still without a matrix of a value's
// observation the matrix of stored check c, and returns how many it gave
// one; a CAA recheck's matrix is kept only until an observation of the
// value replaces it (caaOnly marks them).
func (s *Service) matricesOf(c store.Check, v *View, caaOnly []bool) int {
	var r struct {
		Domains []struct {
			Domain   string                    `json:"domain"`
			Matrix   []diagnose.PerspectiveRow `json:"matrix"`
			Evidence []struct {
				CAAOnly bool `json:"caa_only"`
			} `json:"evidence"`
		} `json:"domains"`
	}
	if err := json.Unmarshal(c.Result, &r); err != nil {
		s.cfg.Logger.Error("decoding a stored check", "check", c.ID, "err", err)
		return 0
	}
	done := 0
	for _, cd := range r.Domains {
		if len(cd.Matrix) == 0 {
			continue
		}
		recheck := len(cd.Evidence) > 0 && cd.Evidence[0].CAAOnly
		for i := range v.Domains {
			d := &v.Domains[i]
			if d.Domain != cd.Domain || (d.Matrix != nil && (!caaOnly[i] || recheck)) {
				continue
			}
			d.Matrix, caaOnly[i] = cd.Matrix, recheck
			if !recheck {
				done++
			}
		}
	}
	return done
}

// List returns the account's orders, newest first.
func (s *Service) List(ctx context.Context, acct *store.Account, cursor string, limit int) (views []*View, next string, err error) {
	return s.ListOrders(ctx, acct, "", cursor, limit)
}

// AllAccounts is the account of ListOrders that lists every account's
// orders (an admin's).
const AllAccounts = "all"

// ListOrders is List for account: "" (or the caller's id) for the
// caller's own orders, AllAccounts for every account's, or another
// account's id; only an admin lists another's (read-only views). Every
// account's orders come newest first by id, which begins with the
// creation time.
func (s *Service) ListOrders(ctx context.Context, acct *store.Account, account, cursor string, limit int) (views []*View, next string, err error) {
	switch {
	case limit == 0:
		limit = DefaultListLimit
	case limit < 1 || limit > MaxListLimit:
		return nil, "", invalid("INVALID_LIMIT", "limit must be between 1 and %d", MaxListLimit)
	}
	if account == acct.ID {
		account = ""
	}
	if strings.EqualFold(account, AllAccounts) {
		account = AllAccounts
	}
	if account != "" && !acct.Admin {
		return nil, "", &Error{Kind: KindForbidden, Code: "ADMIN_REQUIRED", Message: "only an admin lists the orders of other accounts"}
	}
	if account != "" && account != AllAccounts {
		// An account that does not exist is no empty list (console run).
		if _, err := s.cfg.Store.AccountGet(ctx, account); errors.Is(err, store.ErrNotFound) {
			return nil, "", &Error{Kind: KindNotFound, Code: "ACCOUNT_NOT_FOUND", Message: fmt.Sprintf("account %q was not found", shown(account))}
		} else if err != nil {
			return nil, "", fmt.Errorf("loading account: %w", err)
		}
	}
	if cursor != "" {
		// A cursor is an order of the listing: the last of a page.
		var o *store.Order
		if account == "" {
			o, err = s.load(ctx, acct, cursor)
		} else {
			o, err = s.loadToRead(ctx, acct, cursor)
		}
		var oe *Error
		switch {
		case errors.As(err, &oe) && (oe.Kind == KindNotFound || oe.Kind == KindForbidden),
			err == nil && account != "" && account != AllAccounts && o.AccountID != account:
			return nil, "", invalid("INVALID_CURSOR", "cursor %q is not an order of this listing: use the next_cursor of a list answer", shown(cursor))
		case err != nil:
			return nil, "", err
		}
	}
	var os []*store.Order
	switch account {
	case "":
		os, err = s.cfg.Store.OrderListByAccount(ctx, acct.ID, cursor, limit+1)
	case AllAccounts:
		os, err = s.cfg.Store.OrderListAll(ctx, cursor, limit+1)
	default:
		os, err = s.cfg.Store.OrderListByAccount(ctx, account, cursor, limit+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("listing orders: %w", err)
	}
	if len(os) > limit {
		os = os[:limit]
		next = os[limit-1].ID
	}
	views = make([]*View, 0, len(os))
	for _, o := range os {
		views = append(views, s.acmeOverlay(ctx, acct, o, s.viewFor(acct, o), false))
	}
	return views, next, nil
}

// Checks returns a page of the stored checks of one of the account's
// orders (any order for an admin), newest first, evidence included: all of
// it for an admin, the applicant's view (CheckResult.Redact) for another
// account. The page holds the limit checks (DefaultCheckListLimit when 0,
// at most MaxCheckListLimit) after the check cursor ("" for the newest), or
// fewer once their stored results reach MaxCheckPageBytes; next is the
// cursor of the following page, "" when no check remains.
func (s *Service) Checks(ctx context.Context, acct *store.Account, id, cursor string, limit int) (page []json.RawMessage, next string, err error) {
	switch {
	case limit == 0:
		limit = DefaultCheckListLimit
	case limit < 1 || limit > MaxCheckListLimit:
		return nil, "", invalid("INVALID_LIMIT", "limit must be between 1 and %d", MaxCheckListLimit)
	}
	if _, err := s.loadToRead(ctx, acct, id); err != nil {
		return nil, "", err
	}
	var (
		cs    []store.Check
		size  int
		more  bool
		after = cursor
	)
	for !more {
		n := min(checkBatch, limit+1-len(cs))
		batch, err := s.cfg.Store.CheckListByOrder(ctx, id, after, n)
		if errors.Is(err, store.ErrNotFound) && after == cursor {
			return nil, "", invalid("INVALID_CURSOR", "cursor %q is not a check of order %s: use the next_cursor of a list answer", shown(cursor), id)
		}
		if err != nil {
			return nil, "", fmt.Errorf("listing checks: %w", err)
		}
		for _, c := range batch {
			if len(cs) == limit || (len(cs) > 0 && size+len(c.Result) > MaxCheckPageBytes) {
				more = true
				break
			}
			cs = append(cs, c)
			size += len(c.Result)
		}
		if len(batch) < n {
			break
		}
		after = batch[len(batch)-1].ID
	}
	if more {
		next = cs[len(cs)-1].ID
	}
	page = make([]json.RawMessage, 0, len(cs))
	for _, c := range cs {
		b := json.RawMessage(c.Result)
		if !acct.Admin {
			if b, err = s.redactStored(b); err != nil {
				return nil, "", fmt.Errorf("reading check %s: %w", c.ID, err)
			}
		}
		page = append(page, b)
	}
	return page, next, nil
}

func (s *Service) view(o *store.Order) *View {
	now := s.now()
	v := &View{
		ID:          o.ID,
		Account:     o.AccountID,
		Status:      o.Status,
		Method:      o.Method,
		CreatedAt:   o.CreatedAt.UTC(),
		ExpiresAt:   o.ExpiresAt.UTC(),
		LastCheckAt: timePtr(o.LastCheckAt),
		NextCheckAt: timePtr(o.NextCheckAt),
		HasCSR:      o.CSRPEM != "",
		Error:       o.Error,
	}
	if o.Status == StatusPending {
		v.RecheckAt = timePtr(o.RecheckAt)
	}
	if o.Status == StatusIssued {
		v.Certificate = "/api/v1/orders/" + o.ID + "/certificate"
	}
	for _, a := range o.Authorizations {
		d := DomainView{
			Domain:       a.Domain,
			Type:         ident.IdentifierType(a.Domain),
			Unicode:      ident.Unicode(a.Domain),
			Status:       a.Status,
			Method:       a.Method,
			Instructions: instructions(validation.Method(a.Method), a.Domain, a.Value),
			ExpiresAt:    a.ExpiresAt.UTC(),
			LastCheckAt:  timePtr(a.LastCheckAt),
			Findings:     []diagnose.Finding{},
		}
		switch {
		case o.Status == StatusIssued:
			// The last check said "approved, certificate pending"; the
			// order has moved on since.
			d.Findings = s.issuedFindings(o.ID)
		case o.Status == StatusApproved && strings.HasPrefix(o.Error, issuanceFailedPrefix):
			// Not "issued shortly": the CA could not sign it.
			d.Findings = []diagnose.Finding{diagnose.IssuanceFailed(issuanceFailedReason)}
		case o.Status == StatusPending && a.Status == StatusPending && !now.Before(a.ExpiresAt):
			// The value expired since the last check: shown as the next
			// check will record it, not as still to publish.
			d.Status = StatusExpired
			d.Findings = []diagnose.Finding{diagnose.ValueExpired(a.ExpiresAt)}
			v.Status, v.RecheckAt = StatusExpired, nil
		case len(a.Findings) > 0:
			if err := json.Unmarshal(a.Findings, &d.Findings); err != nil {
				s.cfg.Logger.Error("stored findings do not decode", "order", o.ID, "domain", a.Domain, "err", err)
			}
		}
		v.Domains = append(v.Domains, d)
	}
	return v
}

func instructions(m validation.Method, domain, value string) Instructions {
	if m == methodACME {
		// Validated through ACME challenges, which its client answers:
		// nothing to publish by hand (value is the ACME authorization's id).
		return Instructions{}
	}
	base := ident.Base(domain)
	if m == validation.MethodFile {
		return Instructions{URL: "http://" + validation.URLHost(base) + validation.FilePath, Content: value}
	}
	return Instructions{Type: "TXT", Host: validation.DNSPrefix + "." + base, Value: value}
}

// publicKey returns the key the certificate certifies: the CSR's, or the
// generated key's.
func publicKey(o *store.Order) (crypto.PublicKey, error) {
	if o.CSRPEM != "" {
		csr, err := ca.ParseCSR([]byte(o.CSRPEM))
		if err != nil {
			return nil, fmt.Errorf("stored csr: %w", err)
		}
		return csr.PublicKey, nil
	}
	blk, _ := pem.Decode([]byte(o.KeyPEM))
	if blk == nil {
		return nil, errors.New("the order has neither a csr nor a key (the key was already delivered)")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("stored key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("stored key of type %T cannot sign", k)
	}
	return signer.Public(), nil
}
