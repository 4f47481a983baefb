package order

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// ACME order statuses (RFC 8555 §7.1.6).
const (
	ACMEOrderPending    = "pending"
	ACMEOrderReady      = "ready"
	ACMEOrderProcessing = "processing"
	ACMEOrderValid      = "valid"
	ACMEOrderInvalid    = "invalid"
)

// ACMEOrderView is an ACME order as package acme renders it.
type ACMEOrderView struct {
	ID        string
	AccountID string
	// Status is derived: a pending order whose authorizations are all valid
	// is "ready"; one with a failed, deactivated or expired authorization,
	// or past its expiry, is "invalid".
	Status      string
	Expires     time.Time
	Identifiers []string // normalised, "*.example.com" for a wildcard
	AuthzIDs    []string
	Profile     string
	Replaces    string
	// CertificateSerial is set once valid.
	CertificateSerial string
	// Error explains an invalid order.
	Error *ACMEError
}

// ACMEAuthzView is an ACME authorization as package acme renders it.
type ACMEAuthzView struct {
	ID        string
	AccountID string
	// Identifier is the DNS name without a wildcard label; Wildcard tells.
	Identifier string
	Wildcard   bool
	Status     string
	Expires    time.Time
	Challenges []ACMEChallengeView
}

// ACMEChallengeView is one challenge of an authorization.
type ACMEChallengeView struct {
	Type  string
	Token string
	// Status: pending, processing, valid or invalid.
	Status    string
	Validated time.Time
	Error     *ACMEError
}

// ACMEIdentifier is an RFC 8555 §9.7.7 identifier.
type ACMEIdentifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// ACMENewOrder is a newOrder payload (RFC 8555 §7.4, RFC 9773 §5, the
// profiles draft).
type ACMENewOrder struct {
	Identifiers []ACMEIdentifier `json:"identifiers"`
	NotBefore   string           `json:"notBefore,omitempty"`
	NotAfter    string           `json:"notAfter,omitempty"`
	Profile     string           `json:"profile,omitempty"`
	Replaces    string           `json:"replaces,omitempty"`
}

// challengeTypes returns the challenges offered for a name. RFC 8555 §7.1.3
// and §8.4: a wildcard can only be proven in DNS; RFC 8737 §3 likewise
// excludes wildcards from tls-alpn-01.
// A name whose _acme-challenge host would exceed 253 characters gets no
// dns-01: no TXT record can be published there.
func challengeTypes(name string) []string {
	if ident.IsIP(name) {
		// RFC 8738: dns-01 cannot prove control of an IP address, which has
		// no name to publish a TXT record under.
		return []string{string(validation.MethodHTTP01), string(validation.MethodTLSALPN01)}
	}
	dns01 := !dns01TooLong(name)
	if ident.IsWildcard(name) {
		if !dns01 {
			return nil
		}
		return []string{string(validation.MethodDNS01)}
	}
	if !dns01 {
		return []string{string(validation.MethodHTTP01), string(validation.MethodTLSALPN01)}
	}
	return []string{string(validation.MethodHTTP01), string(validation.MethodDNS01), string(validation.MethodTLSALPN01)}
}

// dns01Host is where the dns-01 record of name goes (RFC 8555 §8.4).
func dns01Host(name string) string { return validation.DNS01Prefix + "." + ident.Base(name) }

// dns01TooLong reports whether dns01Host(name) is longer than a DNS name
// may be.
func dns01TooLong(name string) bool { return len(dns01Host(name)) > ident.MaxNameLength }

// NewOrder implements newOrder (RFC 8555 §7.4). Authorizations of the
// account validated within the reuse period are reused; others are created
// pending. Nothing is stored on refusal.
func (a *ACME) NewOrder(ctx context.Context, acct *store.ACMEAccount, req ACMENewOrder) (*ACMEOrderView, error) {
	now := a.now()
	if req.NotBefore != "" || req.NotAfter != "" {
		return nil, acmeErr(ACMEMalformed, "notBefore and notAfter are not supported: the validity follows the certificate profile (choose one with \"profile\")")
	}
	if len(req.Identifiers) == 0 {
		return nil, acmeErr(ACMEMalformed, "the order has no identifiers")
	}
	if n := len(req.Identifiers); n > ident.MaxNames {
		// Refused before each is looked at: thousands of identifiers,
		// each a subproblem, cost a refusal no limit counts (security
		// review).
		return nil, acmeErr(ACMERejectedIdentifier, "the order has %d identifiers; a certificate holds at most %d names: split it into several orders", n, ident.MaxNames)
	}
	// Every refused identifier is reported, each in its own subproblem
	// (RFC 8555 §6.7.1), whatever the reason: an unsupported type and a
	// malformed name in one order are both named.
	raw := make([]string, 0, len(req.Identifiers))
	var ips []string
	var unsupported []*ACMEError
	for _, id := range req.Identifiers {
		if id.Type == "ip" {
			addr, perr := a.s.cfg.Names.ParseIP(id.Value)
			switch {
			case perr != nil:
				unsupported = append(unsupported, &ACMEError{Type: ACMERejectedIdentifier, Detail: perr.Message, Identifier: id.Value, IdentifierType: "ip"})
			case slices.Contains(ips, addr.String()):
				unsupported = append(unsupported, &ACMEError{Type: ACMEMalformed, Detail: fmt.Sprintf("the IP address %s is listed more than once", addr), Identifier: id.Value, IdentifierType: "ip"})
			default:
				ips = append(ips, addr.String())
			}
			continue
		}
		if id.Type != "dns" {
			unsupported = append(unsupported, &ACMEError{Type: ACMEUnsupportedIdentifier, Detail: fmt.Sprintf("identifier type %q is not supported; only \"dns\" and \"ip\" are", id.Type), Identifier: id.Value, IdentifierType: id.Type})
			continue
		}
		if ident.IsIP(strings.Trim(strings.TrimSuffix(id.Value, "."), "[]")) {
			// RFC 8738 §3: an address is an identifier of type "ip". A
			// client that sends it as "dns" does not know that type.
			unsupported = append(unsupported, &ACMEError{Type: ACMERejectedIdentifier, Identifier: id.Value, IdentifierType: "dns",
				Detail: fmt.Sprintf("%q is an IP address, sent as an identifier of type \"dns\": send it as {\"type\": \"ip\"} (RFC 8738); an ACME client that sends addresses as DNS names does not support IP address certificates (upgrade it, or use one that does)", id.Value)})
			continue
		}
		if why := rewrittenIdentifier(id.Value, a.s.cfg.Names); why != "" {
			// The order's identifiers are the request's (RFC 8555 §7.4):
			// a name rewritten without its final dot or its spaces would
			// not be the one the client asked for, nor match it.
			unsupported = append(unsupported, &ACMEError{Type: ACMERejectedIdentifier, Detail: why, Identifier: id.Value, IdentifierType: "dns"})
			continue
		}
		raw = append(raw, id.Value)
	}
	var names []string
	var refused []*ACMEError
	if len(raw) > 0 {
		var err error
		if names, err = a.s.cfg.Names.ParseOrderNames(raw, ident.MethodDNS); err != nil {
			refused = rejectedSubproblems(err)
		}
		for _, n := range names {
			if len(challengeTypes(n)) == 0 {
				h := dns01Host(n)
				refused = append(refused, &ACMEError{Type: ACMERejectedIdentifier, Identifier: n,
					Detail: fmt.Sprintf("%s can only be validated by dns-01, and its record would be at %s, %d characters: a DNS name has at most %d", n, h, len(h), ident.MaxNameLength)})
			}
		}
	}
	if err := refusal(inRequestOrder(slices.Concat(unsupported, refused), req.Identifiers)); err != nil {
		return nil, err
	}
	// The certificate names the DNS names, then the addresses (RFC 8738):
	// the order's identifiers come in the same order.
	names = append(names, ips...)
	profile := a.cfg.DefaultProfile
	if req.Profile != "" {
		if _, ok := profileByName(a.cfg.Profiles, req.Profile); !ok {
			return nil, acmeErr(ACMEInvalidProfile, "profile %q is not offered; see meta.profiles in the directory", req.Profile)
		}
		profile = req.Profile
	}
	var replacesSerial string
	if req.Replaces != "" {
		var err error
		replacesSerial, err = a.checkReplaces(ctx, acct, req.Replaces, names)
		if err != nil {
			return nil, err
		}
	}
	// The failed-validation limit is checked before spending the order
	// limit: an order that could not be validated anyway costs nothing.
	for _, n := range names {
		if err := a.checkFailedValidations(ctx, acct, n, now); err != nil {
			return nil, err
		}
	}
	if err := a.spend(ctx, a.cfg.Limits.NewOrdersPerAccount, acct.ID, now); err != nil {
		return nil, err
	}

	o := &store.ACMEOrder{
		Order: store.Order{
			ID:        newID("ord_", now),
			AccountID: acct.ID,
			Method:    methodACME,
			Status:    StatusPending,
			CreatedAt: now,
			ExpiresAt: now.Add(a.cfg.PendingAuthzLifetime),
		},
		Profile:        profile,
		Replaces:       req.Replaces,
		ReplacesSerial: replacesSerial,
		ValidatedSince: a.validatedSince(now),
	}
	var fresh []store.ACMEAuthz
	for _, n := range names {
		z, err := a.st.ACMEAuthzFindReusable(ctx, acct.ID, n, now.Add(-a.authzReuse(now)), now)
		switch {
		case err == nil:
			// The order cannot outlive an authorization it relies on.
			o.Order.ExpiresAt = minTime(o.Order.ExpiresAt, z.ExpiresAt)
		case errors.Is(err, store.ErrNotFound):
			nz := store.ACMEAuthz{
				ID:         newID("az_", now),
				AccountID:  acct.ID,
				Identifier: n,
				Status:     store.ACMEStatusPending,
				Token:      randomB64(acmeTokenBytes),
				ExpiresAt:  now.Add(a.cfg.PendingAuthzLifetime),
				CreatedAt:  now,
			}
			for _, t := range challengeTypes(n) {
				nz.Challenges = append(nz.Challenges, store.ACMEChallenge{Type: t, Status: store.ACMEStatusPending})
			}
			fresh = append(fresh, nz)
			z = &nz
		default:
			return nil, fmt.Errorf("looking for a reusable authorization: %w", err)
		}
		o.Authzs = append(o.Authzs, *z)
		o.Order.Authorizations = append(o.Order.Authorizations, store.Authorization{
			Domain: n, Method: methodACME, Status: StatusPending, Value: z.ID, ExpiresAt: o.Order.ExpiresAt,
		})
	}
	if err := a.st.ACMEOrderCreate(ctx, o, fresh); err != nil {
		if errors.Is(err, store.ErrConflict) && replacesSerial != "" {
			return nil, acmeErr(ACMEAlreadyReplaced, "the certificate %s is already being replaced by another order that is not invalid (RFC 9773 §5): finalize that order, or let it expire, or create this one without \"replaces\"", req.Replaces)
		}
		return nil, fmt.Errorf("storing acme order: %w", err)
	}
	return a.orderView(o, now), nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// rejectedSubproblems turns ident's refusals into subproblems, one per
// refused name: rejectedIdentifier, or malformed for a refusal of the
// order as a whole.
func rejectedSubproblems(err error) []*ACMEError {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []*ACMEError
	for _, e := range errs {
		var pe *ident.PolicyError
		if !errors.As(e, &pe) {
			out = append(out, &ACMEError{Type: ACMEMalformed, Detail: e.Error()})
			continue
		}
		typ := ACMERejectedIdentifier
		if pe.Name == "" {
			typ = ACMEMalformed
		}
		out = append(out, &ACMEError{Type: typ, Detail: pe.Message, Identifier: pe.Name, IdentifierType: "dns"})
	}
	return out
}

// checkFailedValidations refuses with rateLimited when the account has
// reached its failed-validations limit for the base domain of name, without
// spending any of it (failures are counted as they are recorded). The
// check and the count are not one step: challenges of one domain validated
// at the same time may exceed the limit by their number.
func (a *ACME) checkFailedValidations(ctx context.Context, acct *store.ACMEAccount, name string, now time.Time) error {
	l := a.cfg.Limits.FailedValidationsPerDomain
	d, err := a.cfg.Limiter.Check(ctx, l, acct.ID+"|"+limitKey(name), 1, now)
	if err != nil {
		return fmt.Errorf("rate limit %s: %w", l.Name, err)
	}
	if err := limited(l, d, now); err != nil {
		err.(*ACMEError).Detail = fmt.Sprintf("%s (for %s)", err.(*ACMEError).Detail, limitKey(name))
		return err
	}
	return nil
}

// inRequestOrder sorts subproblems in the order of the identifiers they
// name in the request (ident names a refused name as the client sent it),
// those about the whole order last, so that a client can match them to
// its request.
func inRequestOrder(subs []*ACMEError, ids []ACMEIdentifier) []*ACMEError {
	pos := func(s *ACMEError) int {
		for i, id := range ids {
			if s.Identifier != "" && cmp.Or(s.IdentifierType, ident.IdentifierType(s.Identifier)) == id.Type && s.Identifier == id.Value {
				return i
			}
		}
		return len(ids)
	}
	order := make(map[*ACMEError]int, len(subs))
	for _, s := range subs {
		order[s] = pos(s)
	}
	slices.SortStableFunc(subs, func(a, b *ACMEError) int { return order[a] - order[b] })
	return subs
}

// rewrittenIdentifier says why dns identifier v would be rewritten rather
// than taken as it is: spaces around it, a final dot (ASCII, or a full
// stop UTS #46 maps to one), or a U-label, naming the name to send when that one would
// be accepted; "" otherwise (other refusals are ParseOrderNames').
func rewrittenIdentifier(v string, names ident.Policy) string {
	trimmed := strings.TrimSpace(v)
	why := ""
	switch {
	case trimmed != v:
		why = fmt.Sprintf("%q has spaces around it", v)
	case strings.HasSuffix(v, ".") || strings.HasSuffix(v, "\u3002") || strings.HasSuffix(v, "\uff0e") || strings.HasSuffix(v, "\uff61"):
		why = fmt.Sprintf("%s ends with a dot", v)
	case strings.ContainsFunc(v, func(r rune) bool { return r > unicode.MaxASCII }):
		// A U-label would be answered as its A-label, another string
		// than the client's; the certificate holds A-labels (RFC 5280
		// §7.2), as the client must send them.
		why = fmt.Sprintf("%s is not in ASCII form: an internationalized name is sent as its A-labels (xn--, RFC 5891)", v)
	default:
		return ""
	}
	if n, err := names.Normalize(trimmed); err == nil {
		if _, err := names.ParseOrderNames([]string{n}, ident.MethodDNS); err == nil {
			return why + ": send the name as " + n
		}
	}
	return why + ": send the name without it"
}

// refusal returns the newOrder refusal of subproblems, or nil for none: a
// single one as the problem itself; several under a problem of their type
// when they share it, else of type malformed (as RFC 8555 §6.7.1's
// example), whose detail counts them (a subproblem may concern the order
// as a whole rather than one identifier).
func refusal(subs []*ACMEError) error {
	switch len(subs) {
	case 0:
		return nil
	case 1:
		s := subs[0]
		return &ACMEError{Type: s.Type, Detail: s.Detail, Identifier: s.Identifier, IdentifierType: s.IdentifierType}
	}
	top := &ACMEError{Type: subs[0].Type, Subproblems: subs}
	for _, s := range subs {
		if s.Type != top.Type {
			top.Type = ACMEMalformed
		}
	}
	top.Detail = fmt.Sprintf("the order is refused for %d reasons: %s", len(subs), subDetails(subs))
	return top
}

// shownSubproblems is how many subproblems a problem's detail repeats.
const shownSubproblems = 3

// subDetails repeats the details of subs, each with its identifier unless
// it names it already, the first shownSubproblems of them: clients that
// show a problem's detail alone (Ruby's acme-client, acmetool) would
// otherwise show no reason (interop run).
func subDetails(subs []*ACMEError) string {
	parts := make([]string, 0, shownSubproblems)
	for i, s := range subs {
		if i == shownSubproblems {
			break
		}
		d := strings.TrimSuffix(s.Detail, ".")
		if s.Identifier != "" && !strings.Contains(d, s.Identifier) {
			d = s.Identifier + ": " + d
		}
		parts = append(parts, d)
	}
	tail := " (see subproblems)"
	if n := len(subs) - len(parts); n > 0 {
		tail = fmt.Sprintf("; and %d more (see subproblems)", n)
	}
	return strings.Join(parts, "; ") + tail
}

// loadOrder returns one of the account's ACME orders; any other id is not
// found (ids of others are not revealed).
func (a *ACME) loadOrder(ctx context.Context, acct *store.ACMEAccount, id string) (*store.ACMEOrder, error) {
	o, err := a.st.ACMEOrderGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.Order.AccountID != acct.ID) {
		return nil, acmeNotFound("order", id)
	}
	if err != nil {
		return nil, fmt.Errorf("loading acme order: %w", err)
	}
	return o, nil
}

// Order returns one of the account's orders.
func (a *ACME) Order(ctx context.Context, acct *store.ACMEAccount, id string) (*ACMEOrderView, error) {
	o, err := a.loadOrder(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	return a.orderView(o, a.now()), nil
}

// OrderIDs returns a page of the ids of the account's orders that are not
// invalid, newest first (RFC 8555 §7.1.2.1): those after the order after
// ("" for the first page), at most ACMEConfig.OrdersPerPage, and the id to
// ask the next page after, "" for the last page.
func (a *ACME) OrderIDs(ctx context.Context, acct *store.ACMEAccount, after string) (ids []string, next string, err error) {
	n := a.cfg.OrdersPerPage
	now := a.now()
	if after != "" {
		// A cursor is the last order of a page this account was given:
		// another would silently end the list (an empty page).
		if _, err := a.loadOrder(ctx, acct, after); err != nil {
			var ae *ACMEError
			if errors.As(err, &ae) && ae.Type == ACMENotFound {
				return nil, "", acmeErr(ACMEMalformed, "the cursor %q of the orders list is not one of this account's orders: follow the Link rel=\"next\" of the previous page", after)
			}
			return nil, "", err
		}
	}
	ids, err = a.st.ACMEOrderListLive(ctx, acct.ID, now, a.validatedSince(now), after, n+1)
	if err != nil {
		return nil, "", fmt.Errorf("listing orders: %w", err)
	}
	if len(ids) > n {
		ids = ids[:n]
		next = ids[n-1]
	}
	return ids, next, nil
}

func (a *ACME) orderView(o *store.ACMEOrder, now time.Time) *ACMEOrderView {
	v := &ACMEOrderView{
		ID:                o.Order.ID,
		AccountID:         o.Order.AccountID,
		Expires:           o.Order.ExpiresAt,
		Profile:           o.Profile,
		Replaces:          o.Replaces,
		CertificateSerial: o.CertificateSerial,
	}
	for _, az := range o.Order.Authorizations {
		v.Identifiers = append(v.Identifiers, az.Domain)
	}
	for _, z := range o.Authzs {
		v.AuthzIDs = append(v.AuthzIDs, z.ID)
	}
	switch o.Order.Status {
	case StatusApproved:
		v.Status = ACMEOrderProcessing
	case StatusIssued:
		v.Status = ACMEOrderValid
	case StatusInvalid, StatusExpired:
		v.Status = ACMEOrderInvalid
		v.Error = invalidOrderProblem(&o.Order)
	default:
		v.Status = ACMEOrderPending
		valid := 0
		var failed []*ACMEError
		for i := range o.Authzs {
			st := authzStatus(&o.Authzs[i], now, a.validatedSince(now))
			switch st {
			case store.ACMEStatusValid:
				valid++
			case store.ACMEStatusPending:
			default:
				failed = append(failed, authzFailure(&o.Authzs[i], st))
			}
		}
		if len(failed) > 0 {
			v.Status, v.Error = ACMEOrderInvalid, ordersFailure(failed)
		}
		switch {
		case v.Status == ACMEOrderInvalid:
		case !now.Before(o.Order.ExpiresAt):
			v.Status = ACMEOrderInvalid
			v.Error = acmeErr(ACMEMalformed, "the order expired on %s before it was finalized", o.Order.ExpiresAt.UTC().Format(time.RFC3339))
		case valid == len(o.Authzs):
			v.Status = ACMEOrderReady
		}
	}
	return v
}

// ordersFailure is the error of an order whose authorizations failed: the
// one failure itself, or, for several, a problem whose subproblems say
// what failed for each identifier (RFC 8555 §6.7.1), of their type when
// they share it, else "compound".
func ordersFailure(failed []*ACMEError) *ACMEError {
	if len(failed) == 1 {
		// RFC 8555 §6.7.1 places "identifier" in subproblems; the
		// order's error names it in its detail.
		e := *failed[0]
		if e.Identifier != "" && !strings.Contains(e.Detail, e.Identifier) {
			e.Detail = e.Identifier + ": " + e.Detail
		}
		e.Identifier, e.IdentifierType = "", ""
		return &e
	}
	top := &ACMEError{Type: failed[0].Type, Subproblems: failed}
	for _, f := range failed {
		if f.Type != top.Type {
			top.Type = ACMECompound
		}
	}
	top.Detail = fmt.Sprintf("the authorizations of %d identifiers failed: %s", len(failed), subDetails(failed))
	return top
}

// authzFailure explains why an order is invalid because of authorization z.
func authzFailure(z *store.ACMEAuthz, status string) *ACMEError {
	for _, c := range z.Challenges {
		if c.Status == store.ACMEStatusInvalid && len(c.Error) > 0 {
			if e := decodeACMEError(c.Error); e != nil {
				e.Identifier = z.Identifier
				return e
			}
		}
	}
	return &ACMEError{Type: ACMEUnauthorized, Detail: fmt.Sprintf("the authorization of %s is %s", z.Identifier, status), Identifier: z.Identifier}
}

func decodeACMEError(b []byte) *ACMEError {
	var e ACMEError
	if err := json.Unmarshal(b, &e); err != nil || e.Type == "" {
		return nil
	}
	return &e
}

// authzStatus is an authorization's status at now: a pending or valid one
// past its expiry is expired.
// authzStatus is z's status at now. A pending or valid authorization past
// its expiry is expired, and so is a valid one validated before
// validatedSince: the BRs limit the reuse of validation data at the time
// of issuance (§4.2.1), and a limit that shortened on a milestone applies
// to validations made before it.
func authzStatus(z *store.ACMEAuthz, now, validatedSince time.Time) string {
	switch {
	case (z.Status == store.ACMEStatusPending || z.Status == store.ACMEStatusValid) && !now.Before(z.ExpiresAt):
		return store.ACMEStatusExpired
	case z.Status == store.ACMEStatusValid && z.ValidatedAt.Before(validatedSince):
		return store.ACMEStatusExpired
	}
	return z.Status
}

// validatedSince is the oldest validation an authorization may rest on at
// now: now less the reuse period in use.
func (a *ACME) validatedSince(now time.Time) time.Time { return now.Add(-a.authzReuse(now)) }

func (a *ACME) authzView(z *store.ACMEAuthz, now time.Time) *ACMEAuthzView {
	v := &ACMEAuthzView{
		ID:         z.ID,
		AccountID:  z.AccountID,
		Identifier: baseName(z.Identifier),
		Wildcard:   ident.IsWildcard(z.Identifier),
		Status:     authzStatus(z, now, a.validatedSince(now)),
		Expires:    z.ExpiresAt,
	}
	for _, c := range z.Challenges {
		cv := ACMEChallengeView{Type: c.Type, Token: z.Token, Status: c.Status, Validated: c.ValidatedAt}
		if len(c.Error) > 0 {
			cv.Error = decodeACMEError(c.Error)
		}
		v.Challenges = append(v.Challenges, cv)
	}
	return v
}

// loadAuthz returns one of the account's authorizations.
func (a *ACME) loadAuthz(ctx context.Context, acct *store.ACMEAccount, id string) (*store.ACMEAuthz, error) {
	z, err := a.st.ACMEAuthzGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && z.AccountID != acct.ID) {
		return nil, acmeNotFound("authorization", id)
	}
	if err != nil {
		return nil, fmt.Errorf("loading authorization: %w", err)
	}
	return z, nil
}

// Authz returns one of the account's authorizations (RFC 8555 §7.5).
func (a *ACME) Authz(ctx context.Context, acct *store.ACMEAccount, id string) (*ACMEAuthzView, error) {
	z, err := a.loadAuthz(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	a.resumeStale(acct, z)
	return a.authzView(z, a.now()), nil
}

// DeactivateAuthz deactivates a pending or valid authorization (RFC 8555
// §7.5.2); in any other status it is malformed.
func (a *ACME) DeactivateAuthz(ctx context.Context, acct *store.ACMEAccount, id string) (*ACMEAuthzView, error) {
	z, err := a.loadAuthz(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	err = a.st.ACMEAuthzDeactivate(ctx, id)
	if errors.Is(err, store.ErrConflict) {
		return nil, acmeErr(ACMEMalformed, "authorization %s is %s and cannot be deactivated", id, authzStatus(z, a.now(), a.validatedSince(a.now())))
	}
	if err != nil {
		return nil, fmt.Errorf("deactivating authorization: %w", err)
	}
	return a.Authz(ctx, acct, id)
}

// decodeB64 decodes base64url without padding.
func decodeB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
