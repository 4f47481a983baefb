// Package acme is dcv's RFC 8555 front door, mounted under /acme/ of the
// same server as the REST API. It parses and authenticates requests (JWS,
// nonces) and renders resources and problems; every decision — account
// rules, authorization reuse, validation, finalization, revocation, rate
// limits — is package order's. One file per RFC 8555 resource.
package acme

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/urlnorm"
)

// Config configures a Handler.
type Config struct {
	// ACME holds the decisions. Required.
	ACME *order.ACME
	// BaseURL is the URL clients reach the server at, without a trailing
	// slash (e.g. "https://ca.example"); resource URLs and the JWS "url"
	// check derive from it. Required.
	BaseURL string
	// CAAIdentities are listed in the directory's meta.caaIdentities.
	CAAIdentities []string
	// Website is listed in meta.website when set.
	Website string
	// AlternateChainPEM, when set, is a second chain (intermediates, PEM)
	// offered after the leaf at the certificate's alternate URL (RFC 8555
	// §7.4.2, Link rel="alternate"). New refuses one that does not chain:
	// its first certificate must be of the leaves' issuer (IssuerDER: same
	// subject and key, a cross-signed copy for example), and each next one
	// must sign the one before.
	AlternateChainPEM string
	// IssuerDER is the certificate that signs the leaves; required with
	// AlternateChainPEM.
	IssuerDER []byte
	// Now; if nil, time.Now. Used for nonce expiry.
	Now func() time.Time
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
}

// Handler serves ACME under /acme/.
type Handler struct {
	cfg    Config
	base   string
	mux    *http.ServeMux
	nonces *nonces
	keys   keyCache // parsed account keys (see keyCache)
	// linkIndexValue is the Link header value to the directory, the same on
	// every answer.
	linkIndexValue string
	// altFrom and altUntil bound when every certificate of the alternate
	// chain is valid: it is offered only then (see altChain).
	altFrom, altUntil time.Time
	// altLapsed is set once the lapse of the alternate chain was logged.
	altLapsed atomic.Bool
}

// AccountURL returns the account URL of account id under baseURL; order's
// ACMEConfig.AccountURL must agree with the Handler's (CAA accounturi).
func AccountURL(baseURL, id string) string {
	return strings.TrimSuffix(baseURL, "/") + "/acme/acct/" + id
}

// New returns the ACME handler; mount it at "/acme/".
func New(cfg Config) (*Handler, error) {
	if cfg.ACME == nil || cfg.BaseURL == "" {
		return nil, errors.New("acme: ACME and BaseURL are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{cfg: cfg, base: urlnorm.Canonical(strings.TrimSuffix(cfg.BaseURL, "/")), mux: http.NewServeMux(), nonces: newNonces(cfg.Now)}
	if cfg.AlternateChainPEM != "" {
		var err error
		if h.altFrom, h.altUntil, err = checkAltChain(cfg.AlternateChainPEM, cfg.IssuerDER); err != nil {
			return nil, fmt.Errorf("acme: alternate chain: %w", err)
		}
		now := cfg.Now()
		if now.Before(h.altFrom) || now.After(h.altUntil) {
			// Not refused: a restart after it lapsed would take the whole
			// CA down for a chain clients may do without (review).
			h.altLapsed.Store(true)
			cfg.Logger.Error("the alternate chain (--acme-alt-chain) is not valid now: it is not offered, and clients get the default chain; replace it with a renewed cross-certificate and restart",
				"valid_from", h.altFrom.UTC().Format(time.RFC3339), "valid_until", h.altUntil.UTC().Format(time.RFC3339))
		} else if left := h.altUntil.Sub(now); left < altChainWarning {
			cfg.Logger.Warn("the alternate chain (--acme-alt-chain) expires soon: from then on it is no longer offered, and clients that prefer it get the default chain; replace it with a renewed cross-certificate",
				"expires", h.altUntil.UTC().Format(time.RFC3339), "in", left.Round(time.Hour).String())
		}
	}
	h.linkIndexValue = `<` + h.url("directory") + `>;rel="index"`
	h.mux.HandleFunc("GET /acme/directory", h.directory)
	h.mux.HandleFunc("HEAD /acme/new-nonce", h.newNonce)
	h.mux.HandleFunc("GET /acme/new-nonce", h.newNonce)
	// RFC 8555 §6.3: "The server MUST allow GET requests for the
	// directory and newNonce resources ..., in addition to POST-as-GET
	// requests for these resources."
	h.mux.HandleFunc("POST /acme/directory", h.postAsGetOf(h.directory))
	h.mux.HandleFunc("POST /acme/new-nonce", h.postAsGetOf(h.newNonce))
	h.mux.HandleFunc("POST /acme/new-account", h.newAccount)
	h.mux.HandleFunc("POST /acme/acct/{id}", h.account)
	h.mux.HandleFunc("POST /acme/acct/{id}/orders", h.accountOrders)
	h.mux.HandleFunc("POST /acme/key-change", h.keyChange)
	h.mux.HandleFunc("POST /acme/new-order", h.newOrder)
	h.mux.HandleFunc("POST /acme/order/{id}", h.order)
	h.mux.HandleFunc("POST /acme/order/{id}/finalize", h.finalize)
	h.mux.HandleFunc("POST /acme/authz/{id}", h.authz)
	h.mux.HandleFunc("POST /acme/chall/{authz}/{type}", h.challenge)
	h.mux.HandleFunc("POST /acme/cert/{serial}", h.cert)
	h.mux.HandleFunc("POST /acme/cert/{serial}/{alt}", h.cert)
	h.mux.HandleFunc("POST /acme/revoke-cert", h.revokeCert)
	h.mux.HandleFunc("GET /acme/renewal-info/{id}", h.renewalInfo)
	h.mux.HandleFunc("/acme/", h.unknown)
	return h, nil
}

// unknown answers a request that no resource takes: 405 (Method Not
// Allowed) with an Allow header when the path is a resource's under other
// methods (RFC 9110 §15.5.6; RFC 8555 §6.3: resources other than the
// directory and newNonce are read with POST-as-GET), else 404.
func (h *Handler) unknown(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
		if m == r.Method {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host}
		if _, pattern := h.mux.Handler(probe); pattern != "" && pattern != "/acme/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		h.writeProblem(w, r, notFound("no ACME resource "+r.Method+" "+r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	detail := r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(allow, " or ")
	if slices.Equal(allow, []string{http.MethodPost}) {
		detail += " (RFC 8555 §6.3: a resource is read with POST-as-GET, a JWS with an empty payload)"
	}
	h.writeProblem(w, r, newProblem("malformed", http.StatusMethodNotAllowed, detail))
}

// postAsGetOf serves a POST-as-GET of a resource read with GET (the
// directory, newNonce): the JWS is verified as for any resource (RFC 8555
// §6.3: the server "MUST authenticate the sender"), its payload must be
// empty, and the answer is the GET's, with a Replay-Nonce (§6.5).
func (h *Handler) postAsGetOf(get http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := h.verify(r, needKID)
		if err != nil {
			h.writeProblem(w, r, err)
			return
		}
		if !s.postAsGet() {
			h.writeProblem(w, r, malformed(r.URL.Path+" is read with GET or POST-as-GET (an empty payload)"))
			return
		}
		if r.URL.Path != "/acme/new-nonce" {
			h.setNonce(w) // newNonce sets its own
		}
		get(w, r)
	}
}

// ServeHTTP serves ACME, recovering from panics as serverInternal.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			h.cfg.Logger.Error("panic in acme handler", "path", r.URL.Path, "panic", v)
			h.writeProblem(w, r, serverInternal())
		}
	}()
	delete(r.Header, nonceSpentHeader) // only verify sets it
	h.mux.ServeHTTP(w, r)
}

// url returns the URL of the resource at /acme/ followed by parts joined
// with "/", built in one allocation (it is on every answer).
func (h *Handler) url(parts ...string) string {
	n := len(h.base) + len("/acme/") + len(parts)
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(h.base)
	b.WriteString("/acme/")
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(p)
	}
	return b.String()
}

// linkIndex adds the Link to the directory that RFC 8555 §7.1 asks for.
func (h *Handler) linkIndex(w http.ResponseWriter) {
	w.Header().Add("Link", h.linkIndexValue)
}

// maxPooledBuf is the capacity above which a buffer is not returned to
// bufPool: request bodies and answers are a few KiB, and a rare large one
// (a finalize with a big CSR, up to maxJWSSize) must not stay pinned.
const maxPooledBuf = 64 << 10

// pooledBuf is a buffer with a JSON encoder writing into it.
type pooledBuf struct {
	bytes.Buffer
	enc *json.Encoder
}

// bufPool holds the buffers request bodies are read into and answers are
// encoded into.
var bufPool = sync.Pool{New: func() any {
	b := new(pooledBuf)
	b.enc = json.NewEncoder(&b.Buffer)
	return b
}}

func getBuf() *pooledBuf { return bufPool.Get().(*pooledBuf) }

func putBuf(b *pooledBuf) {
	if b.Cap() > maxPooledBuf {
		return
	}
	b.Reset()
	bufPool.Put(b)
}

// Content-Type values, shared by all answers: net/http only reads them,
// and Header.Add appends to a full slice by copying.
var (
	contentTypeJSON    = []string{"application/json"}
	contentTypeProblem = []string{"application/problem+json"}
)

// writeJSON sends a resource with a fresh nonce, as compact JSON (RFC 8555
// asks for no layout); it is encoded before anything is sent, so a value
// that cannot be encoded becomes a serverInternal problem.
func (h *Handler) writeJSON(w http.ResponseWriter, status int, v any) {
	buf := getBuf()
	defer putBuf(buf)
	if err := buf.enc.Encode(v); err != nil {
		h.cfg.Logger.Error("acme answer cannot be encoded", "err", err)
		h.writeProblem(w, nil, serverInternal())
		return
	}
	h.setNonce(w)
	h.linkIndex(w)
	w.Header()["Content-Type"] = contentTypeJSON
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// directoryMeta is the directory's meta object (RFC 8555 §7.1.1, the
// profiles draft).
type directoryMeta struct {
	TermsOfService          string            `json:"termsOfService,omitempty"`
	Website                 string            `json:"website,omitempty"`
	CAAIdentities           []string          `json:"caaIdentities,omitempty"`
	ExternalAccountRequired bool              `json:"externalAccountRequired,omitempty"`
	Profiles                map[string]string `json:"profiles,omitempty"`
}

// directory serves the directory (RFC 8555 §7.1.1), with renewalInfo (RFC
// 9773 §4) and meta.profiles.
func (h *Handler) directory(w http.ResponseWriter, _ *http.Request) {
	a := h.cfg.ACME
	meta := directoryMeta{
		TermsOfService:          a.TermsOfService(),
		Website:                 h.cfg.Website,
		CAAIdentities:           h.cfg.CAAIdentities,
		ExternalAccountRequired: a.RequireEAB(),
		Profiles:                map[string]string{},
	}
	for _, p := range a.Profiles() {
		meta.Profiles[p.Name] = p.Description
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"newNonce":    h.url("new-nonce"),
		"newAccount":  h.url("new-account"),
		"newOrder":    h.url("new-order"),
		"revokeCert":  h.url("revoke-cert"),
		"keyChange":   h.url("key-change"),
		"renewalInfo": h.url("renewal-info"),
		"meta":        meta,
	})
}

// altChainWarning is how long before the alternate chain expires dcv
// serve warns of it at start.
const altChainWarning = 30 * 24 * time.Hour

// altChain returns the alternate chain if one is configured and every
// certificate of it is valid at now, else "" (none to offer: an expired
// cross-certificate would break the chain of every client that prefers
// it). The first request that finds it lapsed logs it, once.
func (h *Handler) altChain(now time.Time) string {
	if h.cfg.AlternateChainPEM == "" {
		return ""
	}
	if now.Before(h.altFrom) || now.After(h.altUntil) {
		if !h.altLapsed.Swap(true) {
			h.cfg.Logger.Warn("the alternate chain (--acme-alt-chain) is not valid now: it is no longer offered, and clients get the default chain; replace it with a renewed cross-certificate and restart",
				"valid_from", h.altFrom.UTC().Format(time.RFC3339), "valid_until", h.altUntil.UTC().Format(time.RFC3339))
		}
		return ""
	}
	return h.cfg.AlternateChainPEM
}

// checkAltChain checks that chainPEM continues a leaf of issuerDER: its
// first certificate has the issuer's subject, public key and subject key
// identifier (when both have one), and each next one signs the one before.
// It returns when the chain's validity starts and ends, the latest
// NotBefore and the earliest NotAfter of its certificates: an expired
// cross-certificate breaks the chain for every client that prefers it, so
// the chain is offered only between the two (see altChain).
func checkAltChain(chainPEM string, issuerDER []byte) (from, until time.Time, err error) {
	issuer, err := x509.ParseCertificate(issuerDER)
	if err != nil {
		return from, until, fmt.Errorf("the leaves' issuer is needed to check it: %w", err)
	}
	var certs []*x509.Certificate
	rest := []byte(chainPEM)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return from, until, fmt.Errorf("it holds a %q PEM block; only certificates belong in a chain", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return from, until, fmt.Errorf("certificate %d does not parse: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return from, until, errors.New("it holds no certificate")
	}
	first := certs[0]
	switch {
	case !bytes.Equal(first.RawSubjectPublicKeyInfo, issuer.RawSubjectPublicKeyInfo):
		return from, until, fmt.Errorf("its first certificate (%s) is not of the issuer of the leaves (%s, the same subject and key): its key differs, and a leaf would not chain to it", first.Subject, issuer.Subject)
	case !bytes.Equal(first.RawSubject, issuer.RawSubject) && first.Subject.String() == issuer.Subject.String():
		// Names that read alike but are encoded differently (a
		// UTF8String against a PrintableString): clients compare the
		// bytes, so a leaf's issuer would not match.
		return from, until, fmt.Errorf("its first certificate's subject (%s) reads like the leaves' issuer's but is encoded differently (DER %x against %x, e.g. UTF8String against PrintableString): clients compare the bytes, and a leaf would not chain to it; cross-sign with the intermediate's subject copied byte for byte", first.Subject, first.RawSubject, issuer.RawSubject)
	case !bytes.Equal(first.RawSubject, issuer.RawSubject):
		return from, until, fmt.Errorf("its first certificate (%s) is not of the issuer of the leaves (%s, the same subject and key): a leaf would not chain to it", first.Subject, issuer.Subject)
	case len(first.SubjectKeyId) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(first.SubjectKeyId, issuer.SubjectKeyId):
		// Every leaf names the issuer's key identifier as its authority
		// key identifier, and OpenSSL, among others, passes over an issuer
		// whose subject key identifier differs (RFC 5280 §4.2.1.1).
		return from, until, fmt.Errorf("its first certificate's subject key identifier (%X) is not the leaves' issuer's (%X), which every leaf names as its authority key identifier: OpenSSL and other clients would not chain a leaf to it; cross-sign with the intermediate's identifier copied (OpenSSL: subjectKeyIdentifier = %X)", first.SubjectKeyId, issuer.SubjectKeyId, issuer.SubjectKeyId)
	}
	for i, c := range certs {
		if i == 0 || c.NotBefore.After(from) {
			from = c.NotBefore
		}
		if i == 0 || c.NotAfter.Before(until) {
			until = c.NotAfter
		}
	}
	for i := 1; i < len(certs); i++ {
		if err := certs[i-1].CheckSignatureFrom(certs[i]); err != nil {
			return from, until, fmt.Errorf("certificate %d (%s) is not signed by certificate %d (%s): %w", i, certs[i-1].Subject, i+1, certs[i].Subject, err)
		}
	}
	return from, until, nil
}
