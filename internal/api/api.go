// Package api is dcv's REST front door under /api/v1: it parses requests,
// authenticates API keys and renders order's answers as JSON. It holds no
// business logic: every decision is order's.
package api

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/clientaddr"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/jsontype"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/ratelimit"
	"github.com/dcvhq/dcv/internal/store"
)

// maxBody bounds a request body: 100 names of 253 bytes and a CSR fit in
// well under 256 KiB.
const maxBody = 256 << 10

// CA is what the API publishes about the CA hierarchy.
type CA interface {
	RootPEM() []byte
	IntermediatePEM() []byte
	IntermediateDER() []byte
	CRL(number *big.Int, revoked []x509.RevocationListEntry, thisUpdate, nextUpdate time.Time) ([]byte, error)
}

// Config configures the handler.
type Config struct {
	Orders *order.Service // required
	CA     CA             // required
	Logger *slog.Logger   // if nil, slog.Default()
	// Version is reported by /api/v1/health.
	Version string
	// PreflightPerKey and PreflightPerClient limit POST /api/v1/checks per
	// API key and per client address (an IPv6 client by its /64); the
	// zero Limit is DefaultPreflightPerKey, DefaultPreflightPerClient.
	PreflightPerKey, PreflightPerClient ratelimit.Limit
}

// Handler serves the REST API.
type Handler struct {
	cfg  Config
	mux  *http.ServeMux
	crls crlCache
}

// New returns the API handler; mount it at the server's root.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /api/v1/health", h.health)
	h.mux.HandleFunc("GET /api/v1/openapi.json", h.openapi)
	h.mux.HandleFunc("GET /ca/root.pem", h.pem(cfg.CA.RootPEM))
	h.mux.HandleFunc("GET /ca/intermediate.pem", h.pem(cfg.CA.IntermediatePEM))
	h.mux.HandleFunc("GET /ca/intermediate.crl", h.crl)
	// RFC 5280 §4.2.2.1: caIssuers over HTTP is one DER certificate.
	h.mux.HandleFunc("GET /ca/intermediate.cer", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/pkix-cert")
		_, _ = w.Write(cfg.CA.IntermediateDER())
	})
	h.mux.HandleFunc("POST /api/v1/accounts", h.auth(h.createAccount))
	h.mux.HandleFunc("GET /api/v1/accounts", h.auth(h.listAccounts))
	h.mux.HandleFunc("GET /api/v1/account", h.auth(h.whoami))
	h.mux.HandleFunc("POST /api/v1/account/key", h.auth(h.rotateKey))
	h.mux.HandleFunc("POST /api/v1/accounts/{id}/key", h.auth(h.rotateKey))
	h.mux.HandleFunc("POST /api/v1/orders", h.auth(h.createOrder))
	h.mux.HandleFunc("GET /api/v1/orders", h.auth(h.listOrders))
	h.mux.HandleFunc("GET /api/v1/orders/{id}", h.auth(h.getOrder))
	h.mux.HandleFunc("POST /api/v1/orders/{id}/checks", h.auth(h.check))
	h.mux.HandleFunc("POST /api/v1/orders/{id}/cancel", h.auth(h.cancel))
	h.mux.HandleFunc("GET /api/v1/orders/{id}/checks", h.auth(h.listChecks))
	h.mux.HandleFunc("GET /api/v1/orders/{id}/certificate", h.auth(h.certificate))
	h.mux.HandleFunc("POST /api/v1/orders/{id}/certificate/revoke", h.auth(h.revoke))
	registerChecks(h)
	h.mux.HandleFunc("POST /api/v1/eab-keys", h.auth(h.createEABKey))
	h.mux.HandleFunc("GET /api/v1/eab-keys", h.auth(h.listEABKeys))
	h.mux.HandleFunc("DELETE /api/v1/eab-keys/{id}", h.auth(h.deleteEABKey))
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if allowed := h.allowedMethods(r); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
				fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
			return
		}
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no API endpoint %s %s", r.Method, r.URL.Path))
	})
	return h
}

// probedMethods are the methods allowedMethods tries.
var probedMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowedMethods returns the methods that some endpoint serves at r's path
// (RFC 9110 §15.5.6: a 405 answer lists them in Allow), or nil when the
// path is no endpoint at all. HEAD is implied by GET.
func (h *Handler) allowedMethods(r *http.Request) []string {
	var allowed []string
	for _, m := range probedMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "" && pattern != "/api/" {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// ServeHTTP serves the API, recovering from panics.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			h.cfg.Logger.Error("panic in handler", "path", r.URL.Path, "panic", v)
			writeError(w, http.StatusInternalServerError, "INTERNAL", "internal server error")
		}
	}()
	h.mux.ServeHTTP(w, r)
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
	// Findings is set when the error is a diagnosis (CHECK_TOO_FREQUENT).
	Findings []diagnose.Finding `json:"findings,omitempty"`
}

// ErrorDetail is a stable code and a sentence a person can act on.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfter is the number of seconds to wait, for 429 answers.
	RetryAfter int `json:"retry_after,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

// fail maps an error to an answer: order's typed errors keep their code and
// message; anything else is an internal error whose detail stays in the logs.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *order.Error
	if !errors.As(err, &oe) {
		h.cfg.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "INTERNAL", "internal server error")
		return
	}
	status := map[order.Kind]int{
		order.KindInvalid:      http.StatusBadRequest,
		order.KindNotFound:     http.StatusNotFound,
		order.KindThrottled:    http.StatusTooManyRequests,
		order.KindConflict:     http.StatusConflict,
		order.KindUnauthorized: http.StatusUnauthorized,
		order.KindForbidden:    http.StatusForbidden,
	}[oe.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	body := ErrorBody{Error: ErrorDetail{Code: oe.Code, Message: oe.Message}}
	if oe.Kind == order.KindThrottled {
		secs := max(int(math.Ceil(oe.RetryAfter.Seconds())), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		body.Error.RetryAfter = secs
		if oe.Finding != nil {
			body.Findings = []diagnose.Finding{*oe.Finding}
		}
	}
	if oe.Kind == order.KindUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dcv"`)
	}
	writeJSON(w, status, body)
}

type acctKey struct{}

// cutBearer returns the token of an Authorization header of the Bearer
// scheme, whose name is case-insensitive (RFC 9110 §11.1).
func cutBearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// rotateKey serves POST /api/v1/account/key (the caller's own account) and
// POST /api/v1/accounts/{id}/key (an admin, any account): a new API key,
// shown once; the old ones stop working.
func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	if !decodeNone(w, r) {
		return
	}
	v, err := h.cfg.Orders.RotateAPIKey(r.Context(), acct, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// auth authenticates the Bearer API key and passes the account on.
func (h *Handler) auth(next func(http.ResponseWriter, *http.Request, *store.Account)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := cutBearer(r.Header.Get("Authorization"))
		if !ok {
			key = ""
		}
		key = strings.TrimSpace(key)
		acct, err := h.cfg.Orders.Authenticate(r.Context(), key)
		if err != nil {
			var oe *order.Error
			if key != "" && errors.As(err, &oe) && oe.Kind == order.KindUnauthorized {
				h.logAuthFailure(r, key)
			}
			h.fail(w, r, err)
			return
		}
		next(w, r, acct)
	}
}

// logAuthFailure logs, at INFO, a request whose API key no account has
// (unknown, mistyped, or replaced by a rotation: keys are stored hashed, so
// these cannot be told apart). The key is never logged: only the first 8
// hex digits of its SHA-256, the stored form, which tell one key's
// repeated attempts apart without revealing it.
func (h *Handler) logAuthFailure(r *http.Request, key string) {
	h.cfg.Logger.Info("API key authentication failed: no account has this key",
		"key_sha256_prefix", hex.EncodeToString(order.HashAPIKey(key))[:8],
		"method", r.Method, "path", r.URL.Path, "client", clientaddr.From(r))
}

// decode reads a JSON body strictly: bounded, unknown fields refused, one
// value only.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if msg := unsupportedBody(r.Header); msg != "" {
		writeError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", msg)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil && bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		// encoding/json decodes null into a struct as a no-op.
		writeError(w, http.StatusBadRequest, "MALFORMED_JSON", "the request body is JSON null; send a JSON object")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err == nil {
		err = dec.Decode(v)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE", fmt.Sprintf("the request body exceeds %d bytes", maxBody))
		case errors.Is(err, io.EOF):
			writeError(w, http.StatusBadRequest, "MALFORMED_JSON", "the request body is empty; send a JSON object")
		case errors.As(err, &se):
			writeError(w, http.StatusBadRequest, "MALFORMED_JSON", fmt.Sprintf("the request body is not valid JSON (at byte %d)", se.Offset))
		case errors.As(err, &te):
			// Named down to the array element (domains[0]), which
			// te.Field leaves out.
			at := *te
			at.Field = jsontype.FieldPath(body, te)
			msg := jsontype.Mismatch(&at)
			if te.Field == "" {
				msg = "the request body " + msg
			}
			writeError(w, http.StatusBadRequest, "MALFORMED_JSON", msg)
		case errors.As(err, new(fieldError)):
			// A field's own decoder refused its value (the revocation
			// reason): its words, not "not valid JSON" (console run).
			writeError(w, http.StatusBadRequest, "MALFORMED_JSON", "field "+err.Error())
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			// encoding/json has no typed error for unknown fields.
			writeError(w, http.StatusBadRequest, "UNKNOWN_FIELD", "the request has an unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			writeError(w, http.StatusBadRequest, "MALFORMED_JSON", "the request body is not valid JSON")
		}
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "MALFORMED_JSON", "the request body must hold exactly one JSON object")
		return false
	}
	if first, again, dup := jsontype.DuplicateKey(body); dup {
		// encoding/json would keep the last silently.
		msg := fmt.Sprintf("the request names %q twice", first)
		if again != first {
			msg = fmt.Sprintf("the request names %q and %q, which are one name: field names are compared without case", first, again)
		}
		writeError(w, http.StatusBadRequest, "DUPLICATE_FIELD", msg)
		return false
	}
	if sent, want, bad := jsontype.MisspelledField(body, v); bad {
		// encoding/json would take it for the field, whatever its case.
		writeError(w, http.StatusBadRequest, "UNKNOWN_FIELD", fmt.Sprintf("the request has an unknown field %q: field names are case-sensitive; did you mean %q?", sent, want))
		return false
	}
	return true
}

// unsupportedBody says why a request body with header h is not one the API
// reads, or "" when it is: a body is application/json (RFC 9110 §8.3: the
// type compared without case, parameters allowed, but a charset only
// UTF-8's, RFC 8259 §8.1), unlabelled, or labelled as curl's default form
// type (`curl -d '{...}'` sends a JSON body as
// application/x-www-form-urlencoded: the API takes no forms, so the label
// cannot mean anything else), and never content-encoded (RFC 9110 §8.4:
// the API decodes no coding, so a gzip body would be read as malformed
// JSON).
func unsupportedBody(h http.Header) string {
	for _, v := range h.Values("Content-Encoding") {
		for coding := range strings.SplitSeq(v, ",") {
			if coding = strings.TrimSpace(coding); coding != "" && !strings.EqualFold(coding, "identity") {
				return fmt.Sprintf("the request body is content-encoded (Content-Encoding: %s): request bodies must not be content-encoded; send the JSON as it is", coding)
			}
		}
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Sprintf("the Content-Type %q is not a media type: send the request body as application/json", ct)
	}
	if mt != "application/json" && mt != "application/x-www-form-urlencoded" {
		return fmt.Sprintf("the request body is %s: send it as application/json", mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Sprintf("the request body is in charset %s: JSON is sent in UTF-8 (application/json, or application/json; charset=utf-8)", cs)
	}
	return ""
}

// prefersJSON reports whether an Accept header asks for JSON before the
// PEM chain (RFC 9110 §12.5.1): application/json with a q above 0, and
// above that of application/pem-certificate-chain when both are listed.
// The JSON answer hands out the generated key, so it is given only when
// asked for.
func prefersJSON(accept []string) bool {
	qJSON, qPEM := 0.0, -1.0
	for _, h := range accept {
		for part := range strings.SplitSeq(h, ",") {
			fields := strings.Split(part, ";")
			media := strings.ToLower(strings.TrimSpace(fields[0]))
			q := 1.0
			for _, p := range fields[1:] {
				if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
					if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
						q = f
					} else {
						q = 0 // a malformed weight asks for nothing
					}
				}
			}
			switch media {
			case "application/json":
				qJSON = max(qJSON, q)
			case "application/pem-certificate-chain":
				qPEM = max(qPEM, q)
			}
		}
	}
	return qJSON > 0 && qJSON > qPEM
}

// fieldError is an error a field's UnmarshalJSON returns, naming the field
// and what it wants (order.RevocationReason).
type fieldError interface {
	error
	FieldError()
}

// decodeNone accepts the body of a request that takes no parameters: none,
// or an empty JSON object. Anything else is refused as decode refuses it
// (malformed JSON, an unknown field), so that a mistyped request does not
// act as if it had been understood.
func decodeNone(w http.ResponseWriter, r *http.Request) bool {
	return decodeOptional(w, r, &struct{}{})
}

// decodeOptional is decode for a body that may be left out: an empty one
// (also sent chunked, of unknown length) leaves v as it is.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil && len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	if err == nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		r.Body = io.NopCloser(errReader{err})
	}
	return decode(w, r, v)
}

// errReader returns err at the first read.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// healthTimeout bounds the database read of a health check: a database
// that takes longer is unhealthy for a load balancer's probe.
const healthTimeout = 2 * time.Second

// health serves GET /api/v1/health: 200 {"status":"ok"} when the database
// answers a cheap read within healthTimeout, else 503
// {"status":"unavailable","reason":...}, so that a load balancer stops
// sending requests that would all fail. The reason is a sentence; the
// error itself (which may name files) goes to the log.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := h.cfg.Orders.Ping(ctx); err != nil {
		reason := "the database cannot be read"
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = "the database did not answer a read within " + healthTimeout.String()
		}
		h.cfg.Logger.Error("health check: "+reason, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason, "version": h.cfg.Version})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": h.cfg.Version})
}

func (h *Handler) pem(f func() []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(f())
	}
}

// CreateAccountRequest is the body of POST /api/v1/accounts.
type CreateAccountRequest struct {
	Name  string `json:"name"`
	Admin bool   `json:"admin,omitempty"`
}

func (h *Handler) createAccount(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	var req CreateAccountRequest
	if !decode(w, r, &req) {
		return
	}
	v, err := h.cfg.Orders.CreateAccount(r.Context(), acct, req.Name, req.Admin)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// listAccounts answers a page of the accounts by id (admin): ?limit= and
// ?cursor=, as the orders' listing.
func (h *Handler) listAccounts(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	limit, ok := pageLimit(w, r, order.MaxListLimit)
	if !ok {
		return
	}
	vs, next, err := h.cfg.Orders.ListAccounts(r.Context(), acct, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writePage(w, r, limit, "accounts", vs, next)
}

func (h *Handler) whoami(w http.ResponseWriter, _ *http.Request, acct *store.Account) {
	writeJSON(w, http.StatusOK, order.AccountView{ID: acct.ID, Name: acct.Name, Admin: acct.Admin, CreatedAt: acct.CreatedAt.UTC()})
}

func (h *Handler) createOrder(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	var req order.CreateRequest
	if !decode(w, r, &req) {
		return
	}
	v, err := h.cfg.Orders.Create(r.Context(), acct, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/orders/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
}

// listOrders answers a page of the account's orders, newest first:
// ?limit= orders (100 by default, at most 1000) after ?cursor= (the
// next_cursor of the page before). next_cursor, and a Link rel="next",
// are present when there are more.
func (h *Handler) listOrders(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	limit, ok := pageLimit(w, r, order.MaxListLimit)
	if !ok {
		return
	}
	cursor := r.URL.Query().Get("cursor")
	// ?account=all lists every account's orders, ?account=ID one
	// account's (an admin's listing).
	vs, next, err := h.cfg.Orders.ListOrders(r.Context(), acct, r.URL.Query().Get("account"), cursor, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writePage(w, r, limit, "orders", vs, next)
}

// pageLimit reads a list's ?limit= (0 when absent: the default), or
// answers 400 INVALID_LIMIT.
func pageLimit(w http.ResponseWriter, r *http.Request, maxLimit int) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		writeError(w, http.StatusBadRequest, "INVALID_LIMIT", fmt.Sprintf("limit %q is not a number between 1 and %d", v, maxLimit))
		return 0, false
	}
	return n, true
}

// writePage answers a page of a list as {key: items, "next_cursor": next},
// next_cursor and a Link rel="next" (the same path with the cursor and
// the limit asked for) only while more remain.
func writePage[T any](w http.ResponseWriter, r *http.Request, limit int, key string, items []T, next string) {
	body := map[string]any{key: items}
	if next != "" {
		body["next_cursor"] = next
		// The listing's other parameters (?account=) stay.
		nq := r.URL.Query()
		nq.Set("cursor", next)
		if limit != 0 {
			nq.Set("limit", strconv.Itoa(limit))
		}
		w.Header().Add("Link", "<"+r.URL.EscapedPath()+"?"+nq.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, body)
}

func (h *Handler) getOrder(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	v, err := h.cfg.Orders.Get(r.Context(), acct, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// cancel refuses a pending order for good, for its account.
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	if !decodeNone(w, r) {
		return
	}
	v, err := h.cfg.Orders.Cancel(r.Context(), acct, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) check(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	if !decodeNone(w, r) {
		return
	}
	evidence, ok := evidenceParam(w, r)
	if !ok {
		return
	}
	res, err := h.cfg.Orders.Check(r.Context(), acct, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !evidence {
		dropEvidence(res)
	}
	writeJSON(w, http.StatusOK, res)
}

// evidenceParam reads ?evidence=: true (the default) answers each domain's
// raw observations, false leaves them out (empty arrays; the check stores
// them either way). A console that shows findings and the matrix need not
// receive the megabytes of a 100-domain order's evidence.
func evidenceParam(w http.ResponseWriter, r *http.Request) (bool, bool) {
	switch v := r.URL.Query().Get("evidence"); v {
	case "", "true":
		return true, true
	case "false":
		return false, true
	default:
		writeError(w, http.StatusBadRequest, "INVALID_EVIDENCE", fmt.Sprintf("evidence %.16q is not true or false", v))
		return false, false
	}
}

// dropStoredEvidence is dropEvidence for a stored check, as the store keeps
// it; one that does not decode is answered as it is.
func dropStoredEvidence(c json.RawMessage) json.RawMessage {
	var top map[string]json.RawMessage
	if json.Unmarshal(c, &top) != nil {
		return c
	}
	var domains []map[string]json.RawMessage
	if json.Unmarshal(top["domains"], &domains) != nil {
		return c
	}
	for _, d := range domains {
		if d != nil {
			d["evidence"] = json.RawMessage("[]")
		}
	}
	b, err := json.Marshal(domains)
	if err != nil {
		return c
	}
	top["domains"] = b
	out, err := json.Marshal(top)
	if err != nil {
		return c
	}
	return out
}

// dropEvidence empties each domain's evidence of res.
func dropEvidence(res *order.CheckResult) {
	for i := range res.Domains {
		res.Domains[i].Evidence = []json.RawMessage{}
	}
}

// listChecks answers a page of an order's stored checks, newest first:
// ?limit= checks (20 by default, at most 100; fewer when their results
// reach 8 MiB) after ?cursor= (the next_cursor of the page before).
// next_cursor, and a Link rel="next", are present when there are more.
func (h *Handler) listChecks(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	limit, ok := pageLimit(w, r, order.MaxCheckListLimit)
	if !ok {
		return
	}
	evidence, ok := evidenceParam(w, r)
	if !ok {
		return
	}
	cs, next, err := h.cfg.Orders.Checks(r.Context(), acct, r.PathValue("id"), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !evidence {
		for i, c := range cs {
			cs[i] = dropStoredEvidence(c)
		}
	}
	writePage(w, r, limit, "checks", cs, next)
}

// revoke revokes an order's certificate (its account, or an admin), with
// an optional {"reason": "keyCompromise"}; an empty body is unspecified.
// It answers the certificate's view, revoked_at and revocation_reason set.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	var req order.RevokeRequest
	if !decodeOptional(w, r, &req) {
		return
	}
	v, err := h.cfg.Orders.Revoke(r.Context(), acct, r.PathValue("id"), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// certificate answers the PEM chain, or, when the client accepts
// application/json, a JSON object that also carries the generated private
// key the first time it is asked for. A HEAD (served by the GET pattern)
// sends no body, so it never takes the key: taking it starts the key's
// redelivery window, after which it is erased unseen.
func (h *Handler) certificate(w http.ResponseWriter, r *http.Request, acct *store.Account) {
	asJSON := prefersJSON(r.Header.Values("Accept"))
	v, err := h.cfg.Orders.Certificate(r.Context(), acct, r.PathValue("id"), asJSON && r.Method != http.MethodHead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if asJSON {
		writeJSON(w, http.StatusOK, v)
		return
	}
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	if v.RevokedAt != nil {
		// The PEM form has no place to say it: a client that fetched it
		// (curl) still learns that the certificate must not be deployed.
		w.Header().Set("Dcv-Revoked-At", v.RevokedAt.UTC().Format(time.RFC3339))
		w.Header().Set("Dcv-Revocation-Reason", v.RevocationReason)
	}
	_, _ = io.WriteString(w, v.Certificate)
}
