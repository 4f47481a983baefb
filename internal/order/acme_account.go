package order

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/store"
)

// Account limits.
const (
	// maxContacts bounds the contact URLs of one account.
	maxContacts = 10
	// maxContactLength bounds one contact URL.
	maxContactLength = 320
	// eabKeyBytes is the size of an EAB HMAC key: 512 bits, so that the
	// binding may use any of HS256, HS384 and HS512 (RFC 7518 §3.2 wants a
	// key at least as long as the hash).
	eabKeyBytes = 64
)

// ACMERegistration is a newAccount request whose JWS (and EAB JWS, if any)
// the front door has verified.
type ACMERegistration struct {
	// KeyJWK is the account key as a JSON Web Key, KeyThumbprint its RFC
	// 7638 SHA-256 thumbprint (base64url).
	KeyJWK        []byte
	KeyThumbprint string
	Contact       []string
	TermsAgreed   bool
	// OnlyReturnExisting asks for the existing account only (RFC 8555 §7.3.1).
	OnlyReturnExisting bool
	// EABKeyID is the key id of a verified External Account Binding, or "".
	EABKeyID string
	// EABError is why the External Account Binding sent did not verify, or
	// nil. It refuses a new account only: a key that already has an account
	// gets that account back, as RFC 8555 §7.3.1 requires, even when its
	// binding cannot be verified again (its EAB key is bound by then).
	EABError error
	// ClientIP is the requester's address, for the new-accounts limit.
	ClientIP string
	// Key is the account key, refused for a new account when it is
	// compromised (badPublicKey); nil skips that check.
	Key crypto.PublicKey
}

// Register implements newAccount (RFC 8555 §7.3): it returns the account of
// the key if one exists (created false), or creates one. Nothing is stored
// on refusal.
func (a *ACME) Register(ctx context.Context, r ACMERegistration) (*store.ACMEAccount, bool, error) {
	existing, err := a.st.ACMEAccountGetByThumbprint(ctx, r.KeyThumbprint)
	switch {
	case err == nil:
		// RFC 8555 §7.3.1: "If the server already has an account registered
		// with the provided account key, then it MUST return a response
		// with status code 200 (OK)". But a deactivated or revoked
		// account's key is refused, as for any other request it signs
		// (§7.3.6: "MUST NOT accept further requests authorized by that
		// account's key"): 401 unauthorized, which tells a client that
		// registers again with the same key why it will get nowhere.
		if existing.Status != store.ACMEAccountValid {
			return nil, false, notValidAccount(existing)
		}
		return existing, false, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, false, fmt.Errorf("looking up account key: %w", err)
	}
	if r.OnlyReturnExisting {
		return nil, false, acmeErr(ACMEAccountDoesNotExist, "no account exists with the provided key")
	}
	if r.EABError != nil {
		return nil, false, r.EABError
	}
	if err := a.checkAccountKey(ctx, r.Key); err != nil {
		return nil, false, err
	}
	contact, err := checkContacts(r.Contact, a.s.cfg.Names)
	if err != nil {
		return nil, false, err
	}
	if a.cfg.TermsOfService != "" && !r.TermsAgreed {
		return nil, false, acmeErr(ACMEUserActionRequired, "you must agree to the terms of service at %s (termsOfServiceAgreed: true)", a.cfg.TermsOfService)
	}
	if a.cfg.RequireEAB && r.EABKeyID == "" {
		return nil, false, acmeErr(ACMEExternalAccountRequired, "this server requires External Account Binding: ask its operator for an EAB key id and HMAC key")
	}
	now := a.now()
	if err := a.spend(ctx, a.cfg.Limits.NewAccountsPerIP, r.ClientIP, now); err != nil {
		return nil, false, err
	}
	acct := store.ACMEAccount{
		ID:            newID("acme_", now),
		KeyThumbprint: r.KeyThumbprint,
		KeyJWK:        r.KeyJWK,
		Status:        store.ACMEAccountValid,
		Contact:       contact,
		TermsAgreed:   r.TermsAgreed,
		EABKeyID:      r.EABKeyID,
		CreatedAt:     now,
	}
	err = a.st.ACMEAccountCreate(ctx, acct)
	switch {
	case err == nil:
		return &acct, true, nil
	case r.EABKeyID != "" && errors.Is(err, store.ErrConflict):
		// The key may have been registered concurrently; else the EAB key
		// was bound meanwhile.
		if ex, gerr := a.st.ACMEAccountGetByThumbprint(ctx, r.KeyThumbprint); gerr == nil {
			return ex, false, nil
		}
		return nil, false, acmeErr(ACMEUnauthorized, "the External Account Binding key %q is already bound to another account", r.EABKeyID)
	case r.EABKeyID != "" && errors.Is(err, store.ErrNotFound):
		return nil, false, acmeErr(ACMEUnauthorized, "the External Account Binding key %q does not exist", r.EABKeyID)
	case errors.Is(err, store.ErrConflict):
		if ex, gerr := a.st.ACMEAccountGetByThumbprint(ctx, r.KeyThumbprint); gerr == nil {
			return ex, false, nil
		}
	}
	return nil, false, fmt.Errorf("creating acme account: %w", err)
}

// maxMailLocalPart is the longest local part of an e-mail address (RFC
// 5321 §4.5.3.1.1).
const maxMailLocalPart = 64

// checkContacts validates contact URLs (RFC 8555 §7.3): only mailto: URLs
// with one plain address are supported.
func checkContacts(cs []string, names ident.Policy) ([]string, error) {
	if len(cs) > maxContacts {
		return nil, acmeErr(ACMEInvalidContact, "at most %d contacts are accepted, not %d", maxContacts, len(cs))
	}
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		if len(c) > maxContactLength {
			return nil, acmeErr(ACMEInvalidContact, "a contact URL is longer than %d characters", maxContactLength)
		}
		if i := strings.IndexFunc(c, func(r rune) bool { return r > unicode.MaxASCII }); i >= 0 {
			// RFC 6068 §2: a mailto URI is ASCII; non-ASCII is
			// percent-encoded, a domain better as its A-label.
			how := "percent-encode it (RFC 6068 §2)"
			if at := strings.LastIndexByte(c, '@'); at >= 0 && i > at {
				how = "write an internationalized domain as its xn-- form (A-label), as mail servers expect"
			}
			return nil, acmeErr(ACMEInvalidContact, "contact %q holds a non-ASCII character (%q): %s", c, []rune(c[i:])[0], how)
		}
		u, err := url.Parse(c)
		if err != nil || u.Scheme == "" {
			return nil, acmeErr(ACMEInvalidContact, "contact %q is not a URL; use mailto:you@example.com", c)
		}
		if !strings.EqualFold(u.Scheme, "mailto") {
			return nil, acmeErr(ACMEUnsupportedContact, "contact %q: only mailto: contacts are supported", c)
		}
		if u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Opaque, ",") {
			return nil, acmeErr(ACMEInvalidContact, "contact %q must hold exactly one e-mail address, without headers", c)
		}
		addr, err := mail.ParseAddress(u.Opaque)
		if err != nil || addr.Name != "" || addr.Address != u.Opaque || !strings.Contains(addr.Address[strings.LastIndexByte(addr.Address, '@')+1:], ".") {
			return nil, acmeErr(ACMEInvalidContact, "contact %q is not a valid e-mail address", c)
		}
		at := strings.LastIndexByte(addr.Address, '@')
		local, domain := addr.Address[:at], addr.Address[at+1:]
		if len(local) > maxMailLocalPart {
			return nil, acmeErr(ACMEInvalidContact, "contact %q: the part before @ is longer than %d characters (RFC 5321 §4.5.3.1.1)", c, maxMailLocalPart)
		}
		if strings.HasPrefix(domain, "[") {
			return nil, acmeErr(ACMEInvalidContact, "contact %q: an address at an IP literal is not accepted; use an address at a domain name", c)
		}
		if _, err := names.Normalize(domain); err != nil {
			// ident's words are about certificates: say it of mail.
			return nil, acmeErr(ACMEInvalidContact, "contact %q: the domain %q cannot receive mail from the internet (an IP address, or a reserved, special-use or invalid domain name)", c, domain)
		}
		// A domain's letter case means nothing (the local part's may):
		// the same address twice, in any case of its domain, is kept once.
		if m := "mailto:" + local + "@" + strings.ToLower(domain); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Account returns the account a JWS "kid" names, for a request: unknown ids
// are accountDoesNotExist, deactivated and revoked accounts unauthorized
// (RFC 8555 §7.3.6: the server "MUST NOT accept further requests
// authorized by that account's key").
func (a *ACME) Account(ctx context.Context, id string) (*store.ACMEAccount, error) {
	acct, err := a.st.ACMEAccountGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, acmeErr(ACMEAccountDoesNotExist, "account %q does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("loading account: %w", err)
	}
	if acct.Status != store.ACMEAccountValid {
		return nil, notValidAccount(acct)
	}
	return acct, nil
}

// notValidAccount refuses a request authorized by the key of a deactivated
// or revoked account: RFC 8555 §7.3.6, "If the server receives a POST or
// POST-as-GET from a deactivated account, it MUST return an error response
// with status code 401 (Unauthorized) and type
// "urn:ietf:params:acme:error:unauthorized"".
func notValidAccount(acct *store.ACMEAccount) error {
	e := acmeErr(ACMEUnauthorized, "account %q is %s: it accepts no further requests, and cannot be made valid again; register a new account with a new key", acct.ID, acct.Status)
	e.Status = http.StatusUnauthorized
	return e
}

// ACMEAccountUpdate is an account update (RFC 8555 §7.3.2, §7.3.6). Nil
// fields are left unchanged.
type ACMEAccountUpdate struct {
	Contact     *[]string
	TermsAgreed *bool
	// Deactivate is set for {"status": "deactivated"}.
	Deactivate bool
}

// UpdateAccount applies an update to the account and returns it.
func (a *ACME) UpdateAccount(ctx context.Context, acct *store.ACMEAccount, u ACMEAccountUpdate) (*store.ACMEAccount, error) {
	next := *acct
	if u.Contact != nil {
		c, err := checkContacts(*u.Contact, a.s.cfg.Names)
		if err != nil {
			return nil, err
		}
		next.Contact = c
	}
	if u.TermsAgreed != nil && *u.TermsAgreed {
		next.TermsAgreed = true
	}
	if u.Deactivate {
		next.Status = store.ACMEAccountDeactivated
	}
	if err := a.st.ACMEAccountUpdate(ctx, next); errors.Is(err, store.ErrNotFound) {
		// Deactivated or revoked meanwhile (its key shown compromised).
		return nil, &ACMEError{Type: ACMEUnauthorized, Status: http.StatusUnauthorized, Detail: fmt.Sprintf("account %q is no longer valid: it accepts no further requests", acct.ID)}
	} else if err != nil {
		return nil, fmt.Errorf("updating account: %w", err)
	}
	return &next, nil
}

// KeyChange replaces the account key (RFC 8555 §7.3.5) once the front door
// has verified both JWS. oldThumbprint is the thumbprint of the payload's
// "oldKey", which must be the account's current key.
func (a *ACME) KeyChange(ctx context.Context, acct *store.ACMEAccount, oldThumbprint, newThumbprint string, newJWK []byte, newKey crypto.PublicKey) error {
	if oldThumbprint != acct.KeyThumbprint {
		return acmeErr(ACMEMalformed, "oldKey is not the account's current key")
	}
	if newThumbprint == acct.KeyThumbprint {
		return acmeErr(ACMEMalformed, "the new key is the account's current key")
	}
	// RFC 8555 §7.3.5: "If there is an existing account registered with
	// the same key ... the server MUST return a response with status code
	// 409 (Conflict)".
	if other, err := a.st.ACMEAccountGetByThumbprint(ctx, newThumbprint); err == nil {
		return &ACMEError{Type: ACMEConflict, Detail: "the new key is already in use by another account", Identifier: other.ID}
	}
	if err := a.checkAccountKey(ctx, newKey); err != nil {
		return err
	}
	err := a.st.ACMEAccountKeyChange(ctx, acct.ID, oldThumbprint, newThumbprint, newJWK)
	if errors.Is(err, store.ErrConflict) {
		return acmeErr(ACMEConflict, "the new key is already in use, or the account key changed meanwhile")
	}
	if err != nil {
		return fmt.Errorf("changing account key: %w", err)
	}
	return nil
}

// EABKey returns the HMAC key of an unbound EAB key id, for the front door
// to verify an External Account Binding with. Unknown and bound keys are
// unauthorized.
func (a *ACME) EABKey(ctx context.Context, keyID string) ([]byte, error) {
	k, err := a.st.EABKeyGet(ctx, keyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, acmeErr(ACMEUnauthorized, "the External Account Binding key %q does not exist", keyID)
	}
	if err != nil {
		return nil, fmt.Errorf("loading eab key: %w", err)
	}
	if k.AccountID != "" {
		return nil, acmeErr(ACMEUnauthorized, "the External Account Binding key %q is already bound to an account", keyID)
	}
	return k.HMACKey, nil
}

// EABKeyView is a new EAB key as shown once to the admin who created it.
type EABKeyView struct {
	KeyID string `json:"key_id"`
	// HMACKey is the MAC key, base64url without padding (the form certbot's
	// --eab-hmac-key and lego's --eab.hmac take).
	HMACKey string `json:"hmac_key"`
}

// EABKeyInfo is an EAB key as listed to an admin: never its HMAC key.
type EABKeyInfo struct {
	KeyID     string    `json:"key_id"`
	CreatedAt time.Time `json:"created_at"`
	// CreatedBy is the id of the admin account that created it.
	CreatedBy string `json:"created_by"`
	// AccountID is the ACME account it bound, absent while unused.
	AccountID string     `json:"account_id,omitempty"`
	BoundAt   *time.Time `json:"bound_at,omitempty"`
}

// EAB key list bounds.
const (
	// DefaultEABListLimit and MaxEABListLimit are the keys a page of
	// EABKeys holds by default and at most.
	DefaultEABListLimit = 100
	MaxEABListLimit     = 1000
)

// adminOnly refuses a caller that is not an admin.
func adminOnly(caller *store.Account, what string) error {
	if caller == nil || !caller.Admin {
		return &Error{Kind: KindForbidden, Code: "ADMIN_REQUIRED", Message: "only an admin account may " + what}
	}
	return nil
}

// EABKeys lists EAB keys, newest first, a page of limit
// (DefaultEABListLimit when 0) after cursor (the last key id of the
// previous page, "" for the first); next is the cursor of the following
// page, "" when none remains. Only an admin may.
func (s *Service) EABKeys(ctx context.Context, caller *store.Account, cursor string, limit int) (keys []EABKeyInfo, next string, err error) {
	if err := adminOnly(caller, "list EAB keys"); err != nil {
		return nil, "", err
	}
	switch {
	case limit == 0:
		limit = DefaultEABListLimit
	case limit < 1 || limit > MaxEABListLimit:
		return nil, "", invalid("INVALID_LIMIT", "limit must be between 1 and %d", MaxEABListLimit)
	}
	if cursor != "" {
		// A cursor is a key of a page: a deleted one still orders the
		// list, but one that was never an id would silently end it.
		if !strings.HasPrefix(cursor, "eab_") || !validEABKeyID(cursor) {
			return nil, "", invalid("INVALID_CURSOR", "cursor %q is not an EAB key id: use the next_cursor of a list answer", shown(cursor))
		}
	}
	ks, err := s.cfg.Store.EABKeyList(ctx, cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("listing eab keys: %w", err)
	}
	if len(ks) > limit {
		ks = ks[:limit]
		next = ks[limit-1].KeyID
	}
	keys = make([]EABKeyInfo, 0, len(ks))
	for _, k := range ks {
		info := EABKeyInfo{KeyID: k.KeyID, CreatedAt: k.CreatedAt.UTC(), CreatedBy: k.CreatedBy, AccountID: k.AccountID}
		if !k.BoundAt.IsZero() {
			b := k.BoundAt.UTC()
			info.BoundAt = &b
		}
		keys = append(keys, info)
	}
	return keys, next, nil
}

// validEABKeyID reports whether id has the form of the key ids dcv makes.
func validEABKeyID(id string) bool {
	return len(id) <= 64 && !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	})
}

// DeleteEABKey deletes an EAB key no account was bound with, so that it can
// no longer bind one (a key handed to the wrong person, or no longer
// needed). A key that bound an account is spent already: deleting it would
// not end the account, so it is a conflict. Only an admin may.
func (s *Service) DeleteEABKey(ctx context.Context, caller *store.Account, keyID string) error {
	if err := adminOnly(caller, "delete EAB keys"); err != nil {
		return err
	}
	err := s.cfg.Store.EABKeyDelete(ctx, keyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Kind: KindNotFound, Code: "EAB_KEY_NOT_FOUND", Message: fmt.Sprintf("EAB key %q was not found", keyID)}
	case errors.Is(err, store.ErrConflict):
		k, gerr := s.cfg.Store.EABKeyGet(ctx, keyID)
		acct := "an ACME account"
		if gerr == nil {
			acct = "ACME account " + k.AccountID
		}
		return &Error{Kind: KindConflict, Code: "EAB_KEY_BOUND", Message: fmt.Sprintf("EAB key %q bound %s already and can bind no other: deleting it would not end that account", keyID, acct)}
	case err != nil:
		return fmt.Errorf("deleting eab key: %w", err)
	}
	return nil
}

// CreateEABKey creates an External Account Binding key. Only an admin may.
func (s *Service) CreateEABKey(ctx context.Context, caller *store.Account) (*EABKeyView, error) {
	if err := adminOnly(caller, "create EAB keys"); err != nil {
		return nil, err
	}
	raw := randomB64(eabKeyBytes)
	for strings.HasPrefix(raw, "-") {
		// A key beginning with "-" reads as an option to certbot's
		// --eab-hmac-key KEY and lego's --eab.hmac KEY.
		raw = randomB64(eabKeyBytes)
	}
	key, _ := decodeB64(raw)
	k := store.EABKey{KeyID: newID("eab_", s.now()), HMACKey: key, CreatedBy: caller.ID, CreatedAt: s.now()}
	if err := s.cfg.Store.EABKeyCreate(ctx, k); err != nil {
		return nil, fmt.Errorf("creating eab key: %w", err)
	}
	return &EABKeyView{KeyID: k.KeyID, HMACKey: raw}, nil
}
