package acme

import (
	"cmp"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/order"
	jose "github.com/go-jose/go-jose/v4"
)

// errorNS is the namespace of ACME error types (RFC 8555 §6.7).
const errorNS = "urn:ietf:params:acme:error:"

// Problem is an RFC 7807 problem document as ACME uses it (RFC 8555 §6.7),
// with dcv's extension members: dcvCode and dcvFix carry the diagnose
// finding of a failed validation.
type Problem struct {
	Type        string      `json:"type"`
	Detail      string      `json:"detail,omitempty"`
	Status      int         `json:"status,omitempty"`
	Identifier  *Identifier `json:"identifier,omitempty"`
	Subproblems []*Problem  `json:"subproblems,omitempty"`
	// Algorithms lists the accepted algorithms of a badSignatureAlgorithm
	// problem (RFC 8555 §6.2).
	Algorithms []string `json:"algorithms,omitempty"`
	DCVCode    string   `json:"dcvCode,omitempty"`
	DCVFix     string   `json:"dcvFix,omitempty"`

	retryAfter time.Duration
	location   string
}

// Identifier is an RFC 8555 §9.7.7 identifier.
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Error returns the error as one line of text.
func (p *Problem) Error() string { return p.Type + ": " + p.Detail }

// LogValue implements slog.LogValuer.
func (p *Problem) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", p.Type), slog.String("detail", p.Detail), slog.Int("status", p.Status))
}

func newProblem(typ string, status int, detail string) *Problem {
	return &Problem{Type: errorNS + typ, Status: status, Detail: detail}
}

// One constructor per problem type this package raises itself.
func malformed(detail string) *Problem { return newProblem("malformed", http.StatusBadRequest, detail) }
func unauthorized(detail string) *Problem {
	return newProblem("unauthorized", http.StatusForbidden, detail)
}
func badNonce(detail string) *Problem { return newProblem("badNonce", http.StatusBadRequest, detail) }
func badPublicKey(detail string) *Problem {
	return newProblem("badPublicKey", http.StatusBadRequest, detail)
}
func serverInternal() *Problem {
	return newProblem("serverInternal", http.StatusInternalServerError, "the server hit an internal error; try again later")
}
func badSignatureAlgorithm(detail string) *Problem {
	p := newProblem("badSignatureAlgorithm", http.StatusBadRequest, detail)
	p.Algorithms = append([]string(nil), algNames...)
	return p
}

// badEABAlgorithm is badSignatureAlgorithm for an External Account
// Binding: its "algorithms" are the MAC algorithms the binding may use
// (RFC 8555 §6.2 asks for the supported "alg" values), not the account
// key's.
func badEABAlgorithm(detail string, algs []jose.SignatureAlgorithm) *Problem {
	p := newProblem("badSignatureAlgorithm", http.StatusBadRequest, detail)
	for _, a := range algs {
		p.Algorithms = append(p.Algorithms, string(a))
	}
	return p
}
func notFound(detail string) *Problem {
	return newProblem("malformed", http.StatusNotFound, detail)
}

// statusOf is the HTTP status of each ACME error type order raises.
var statusOf = map[string]int{
	order.ACMEMalformed:             http.StatusBadRequest,
	order.ACMEUnauthorized:          http.StatusForbidden,
	order.ACMEAccountDoesNotExist:   http.StatusBadRequest,
	order.ACMEBadCSR:                http.StatusBadRequest,
	order.ACMEBadPublicKey:          http.StatusBadRequest,
	order.ACMEOrderNotReady:         http.StatusForbidden,
	order.ACMERejectedIdentifier:    http.StatusBadRequest,
	order.ACMEUnsupportedIdentifier: http.StatusBadRequest,
	order.ACMERateLimited:           http.StatusTooManyRequests,
	// 403, as Boulder answers: a 401 must carry WWW-Authenticate (RFC
	// 9110 §15.5.2), and ACME has no such scheme (interop run).
	order.ACMEExternalAccountRequired: http.StatusForbidden,
	order.ACMEInvalidContact:          http.StatusBadRequest,
	order.ACMEUnsupportedContact:      http.StatusBadRequest,
	order.ACMEUserActionRequired:      http.StatusForbidden,
	order.ACMEBadRevocationReason:     http.StatusBadRequest,
	order.ACMEAlreadyRevoked:          http.StatusBadRequest,
	order.ACMEAlreadyReplaced:         http.StatusConflict,
	order.ACMEInvalidProfile:          http.StatusBadRequest,
	order.ACMEServerInternal:          http.StatusInternalServerError,
	order.ACMECompound:                http.StatusBadRequest,
	order.ACMEConnection:              http.StatusBadRequest,
	order.ACMEDNS:                     http.StatusBadRequest,
	order.ACMECAA:                     http.StatusForbidden,
	order.ACMETLS:                     http.StatusBadRequest,
	order.ACMEIncorrectResponse:       http.StatusForbidden,
}

// fromACMEError renders order's refusal as a problem.
func fromACMEError(e *order.ACMEError) *Problem {
	if e == nil {
		return nil
	}
	typ, status := e.Type, statusOf[e.Type]
	switch e.Type {
	case order.ACMENotFound:
		typ, status = order.ACMEMalformed, http.StatusNotFound
	case order.ACMEConflict:
		// RFC 8555 §7.3.5 asks for 409 (Conflict) and names no type.
		typ, status = order.ACMEMalformed, http.StatusConflict
	}
	if status == 0 {
		status = http.StatusBadRequest
	}
	status = cmp.Or(e.Status, status)
	p := newProblem(typ, status, e.Detail)
	p.DCVCode, p.DCVFix = string(e.Code), e.Fix
	p.retryAfter = e.RetryAfter
	if e.Identifier != "" && e.Type != order.ACMEConflict {
		p.Identifier = &Identifier{Type: cmp.Or(e.IdentifierType, ident.IdentifierType(e.Identifier)), Value: e.Identifier}
	}
	for _, s := range e.Subproblems {
		sp := fromACMEError(s)
		sp.Status = 0
		p.Subproblems = append(p.Subproblems, sp)
	}
	return p
}

// toProblem maps any error to a problem: order's typed refusals and this
// package's problems keep their type; anything else is serverInternal with
// a generic message, its detail logged only.
func (h *Handler) toProblem(r *http.Request, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ae *order.ACMEError
	if errors.As(err, &ae) {
		return fromACMEError(ae)
	}
	h.cfg.Logger.Error("acme request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return serverInternal()
}

// writeProblem sends a problem as application/problem+json, with a fresh
// nonce (RFC 8555 §6.5: a badNonce answer carries one to retry with). r is
// used only to log an error that is not a problem, and may be nil when err
// is a *Problem.
func (h *Handler) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	h.writeProblemNonce(w, r, err, true)
}

// writeProblemNonce is writeProblem, with a fresh nonce when withNonce: a
// refused newNonce carries none (RFC 8555 §6.5 makes it a SHOULD), or the
// refusals would mint the nonces the limit withholds.
func (h *Handler) writeProblemNonce(w http.ResponseWriter, r *http.Request, err error, withNonce bool) {
	p := h.toProblem(r, err)
	if withNonce && r != nil && r.Header[nonceSpentHeader] == nil && h.cfg.ACME.AllowNewNonce(r.Context(), clientIP(r)) != nil {
		// A refusal before a nonce was spent (a POST to no resource, a
		// JWS that does not parse or verify, a bad nonce) hands one out
		// all the same: each counts as a newNonce of the client's, or
		// such refusals would mint what the limit withholds (security
		// review). Past the limit, they carry none. A refusal after a
		// verified JWS spent its nonce replaces it, like any answer, and
		// is not counted (review).
		withNonce = false
	}
	if withNonce {
		h.setNonce(w)
	}
	h.linkIndex(w) // RFC 8555 §7.1: every answer but the directory's links it
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(p.retryAfter.Seconds()))))
	}
	if p.location != "" {
		w.Header().Set("Location", p.location)
	}
	if tos := h.cfg.ACME.TermsOfService(); tos != "" && p.Type == errorNS+order.ACMEUserActionRequired {
		// RFC 8555 §7.3.3: a userActionRequired answer about the terms
		// links them, so that a client can show them to its user.
		w.Header().Add("Link", `<`+tos+`>;rel="terms-of-service"`)
	}
	w.Header()["Content-Type"] = contentTypeProblem
	w.WriteHeader(p.Status)
	buf := getBuf()
	defer putBuf(buf)
	_ = buf.enc.Encode(p)
	_, _ = w.Write(buf.Bytes())
}
