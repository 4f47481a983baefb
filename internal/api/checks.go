package api

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/dcvhq/dcv/internal/clientaddr"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/ratelimit"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/validation"
)

// Limits of POST /api/v1/checks. A pre-flight check sends dozens of DNS
// queries and may fetch over HTTP on the caller's behalf, to any domain: it
// is limited per API key and per client address, so that neither one key
// nor one host behind many keys can turn dcv into a query amplifier.
// The defaults of Config's PreflightPerKey and PreflightPerClient.
var (
	DefaultPreflightPerKey    = ratelimit.Limit{Name: "pre-flight checks per API key", Count: 30, Period: time.Minute}
	DefaultPreflightPerClient = ratelimit.Limit{Name: "pre-flight checks per client address", Count: 60, Period: time.Minute}
)

// checks serves POST /api/v1/checks with its own in-memory limiter (the
// Handler's Config has no shared one yet; at scale the limiter moves to
// the shared backend with the others).
type checks struct {
	h                 *Handler
	limiter           ratelimit.Limiter
	perKey, perClient ratelimit.Limit
	now               func() time.Time
}

// registerChecks mounts POST /api/v1/checks on h.
func registerChecks(h *Handler) {
	c := &checks{h: h, limiter: ratelimit.NewMemory(), now: time.Now,
		perKey: orLimit(h.cfg.PreflightPerKey, DefaultPreflightPerKey), perClient: orLimit(h.cfg.PreflightPerClient, DefaultPreflightPerClient)}
	h.mux.HandleFunc("POST /api/v1/checks", h.auth(c.create))
}

// create runs a pre-flight check: a diagnosis of one domain without an
// order. The body is order.PreflightRequest; the answer
// order.PreflightResult. Nothing is stored.
func (c *checks) create(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	evidence, ok := evidenceParam(w, r)
	if !ok {
		return
	}
	if !c.allow(w, r, acct) {
		return
	}
	var req order.PreflightRequest
	if !decode(w, r, &req) {
		return
	}
	res, err := c.h.cfg.Orders.Preflight(r.Context(), acct, req)
	if err != nil {
		c.h.fail(w, r, err)
		return
	}
	if !evidence {
		res.Evidence = []validation.Observation{}
	}
	writeJSON(w, http.StatusOK, res)
}

// allow spends one check from the caller's allowances, or answers 429. A
// refused request spends nothing: every allowance is checked before any is
// spent, so that a key behind a busy address (a NAT) does not lose its own
// allowance to requests the address's limit refuses. (Two requests racing
// between the check and the spending may each spend, as with any limit
// they both pass.)
func (c *checks) allow(w http.ResponseWriter, r *http.Request, acct *store.Account) bool {
	now := c.now()
	// An IPv6 client is counted by its /64 (ratelimit.ClientKey); behind
	// a trusted reverse proxy, the client is the one it forwarded for.
	client := ratelimit.ClientKey(clientaddr.From(r))
	limits := []struct {
		limit ratelimit.Limit
		key   string
	}{{c.perKey, acct.ID}, {c.perClient, client}}
	for _, spend := range []bool{false, true} {
		for _, l := range limits {
			f := c.limiter.Check
			if spend {
				f = c.limiter.Spend
			}
			d, err := f(r.Context(), l.limit, l.key, 1, now)
			if err != nil {
				c.h.fail(w, r, err)
				return false
			}
			if !d.Allowed {
				secs := max(int(math.Ceil(d.RetryAfter.Seconds())), 1)
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				writeJSON(w, http.StatusTooManyRequests, ErrorBody{Error: ErrorDetail{
					Code:       "RATE_LIMITED",
					Message:    "too many " + l.limit.Name + ": at most " + strconv.Itoa(l.limit.Count) + " per " + per(l.limit.Period) + "; retry in " + seconds(secs),
					RetryAfter: secs,
				}})
				return false
			}
		}
	}
	return true
}

// orLimit is l with def's name, or def when l is the zero Limit.
func orLimit(l, def ratelimit.Limit) ratelimit.Limit {
	if l.Count == 0 {
		return def
	}
	l.Name = def.Name
	return l
}

// per names a limit's period: "minute", "hour", or the duration.
func per(d time.Duration) string {
	switch d {
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	}
	return d.String()
}

// seconds is n seconds in words.
func seconds(n int) string {
	if n == 1 {
		return "1 second"
	}
	return strconv.Itoa(n) + " seconds"
}
