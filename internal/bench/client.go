package bench

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Size limits of what the ACME server sends back.
const (
	// maxObjectSize bounds an ACME object or problem document: an order
	// with MaxNames identifiers is about 10 KiB.
	maxObjectSize = 1 << 20
	// maxCertChainSize bounds a downloaded PEM chain: a leaf with
	// MaxNames names and a few intermediates are well under 64 KiB.
	maxCertChainSize = 1 << 20
)

// Media types of RFC 8555.
const (
	contentTypeJOSE = "application/jose+json"             // §6.2
	mediaPEMChain   = "application/pem-certificate-chain" // §9.1
)

// Object statuses of RFC 8555 §7.1.6.
const (
	statusPending     = "pending"
	statusProcessing  = "processing"
	statusReady       = "ready"
	statusValid       = "valid"
	statusInvalid     = "invalid"
	statusDeactivated = "deactivated"
	statusExpired     = "expired"
	statusRevoked     = "revoked"
)

// directory holds the URLs of an ACME directory (RFC 8555 §7.1.1) that
// the bench uses.
type directory struct {
	NewNonce   string `json:"newNonce"`
	NewAccount string `json:"newAccount"`
	NewOrder   string `json:"newOrder"`
}

// fetchDirectory GETs the directory at url.
func fetchDirectory(ctx context.Context, wc *wireClient, url string) (*directory, error) {
	res, err := wc.do(ctx, http.MethodGet, url, "", "", nil, maxObjectSize)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if res.status != http.StatusOK {
		return nil, fmt.Errorf("directory: %w", parseProblem(res.status, res.body))
	}
	var d directory
	if err := json.Unmarshal(res.body, &d); err != nil {
		return nil, fmt.Errorf("directory: decoding %s: %w", url, err)
	}
	if d.NewNonce == "" || d.NewAccount == "" || d.NewOrder == "" {
		return nil, fmt.Errorf("directory: %s lacks newNonce, newAccount or newOrder", url)
	}
	return &d, nil
}

// userAgent is sent with every request (RFC 8555 §6.1: "ACME clients MUST
// send a User-Agent header field").
const userAgent = "dcv-bench"

// acmeClient talks RFC 8555 for one account. It keeps the Replay-Nonce of
// the last response for the next request (§6.5: "the server MUST include a
// Replay-Nonce header field in every successful response to a POST request
// and SHOULD provide it in error responses as well") and fetches one from
// newNonce only when it has none.
//
// An acmeClient is not safe for concurrent use: one worker drives it, one
// request at a time.
type acmeClient struct {
	wire   *wireClient
	dir    *directory
	signer *jwsSigner
	// nonce is the next nonce to use, or empty.
	nonce string
}

func newACMEClient(wire *wireClient, dir *directory, key *ecdsa.PrivateKey) (*acmeClient, error) {
	s, err := newJWSSigner(key)
	if err != nil {
		return nil, err
	}
	return &acmeClient{wire: wire, dir: dir, signer: s}, nil
}

// response is what the bench keeps of an ACME response.
type response struct {
	status   int
	location string
	body     []byte
}

// register creates the account (RFC 8555 §7.3), agreeing to the terms of
// service, and keeps its URL as the kid of later requests.
func (c *acmeClient) register(ctx context.Context) error {
	res, err := c.post(ctx, c.dir.NewAccount, []byte(`{"termsOfServiceAgreed":true}`), "", maxObjectSize, false)
	if err != nil {
		return err
	}
	if res.status != http.StatusCreated && res.status != http.StatusOK {
		return fmt.Errorf("newAccount: unexpected HTTP %d", res.status)
	}
	if res.location == "" {
		return errors.New("newAccount: no Location header (account URL)")
	}
	c.signer.setKID(res.location)
	return nil
}

// postAsGet fetches the resource at url with a POST-as-GET request (RFC
// 8555 §6.3: "the 'payload' field of the JWS object MUST be present and set
// to the empty string").
func (c *acmeClient) postAsGet(ctx context.Context, url string, accept string, limit int64) (*response, error) {
	return c.post(ctx, url, nil, accept, limit, true)
}

// post sends payload to url in a JWS signed with the account key (kid form
// if useKID, else jwk form) and returns the response if its status is 2xx,
// else the problem it carries. A badNonce problem is retried once with the
// nonce that came with it (RFC 8555 §6.5: "On receiving such a response, a
// client SHOULD retry the request using the new nonce"), or a fresh one
// from newNonce if it came without.
func (c *acmeClient) post(ctx context.Context, url string, payload []byte, accept string, limit int64, useKID bool) (*response, error) {
	for attempt := 0; ; attempt++ {
		res, err := c.postOnce(ctx, url, payload, accept, limit, useKID)
		if err != nil {
			var p *problem
			if attempt == 0 && errors.As(err, &p) && p.is("badNonce") {
				continue
			}
			return nil, err
		}
		return res, nil
	}
}

func (c *acmeClient) postOnce(ctx context.Context, url string, payload []byte, accept string, limit int64, useKID bool) (*response, error) {
	nonce := c.nonce
	c.nonce = ""
	if nonce == "" {
		var err error
		if nonce, err = c.newNonce(ctx); err != nil {
			return nil, err
		}
	}
	jws, err := c.signer.sign(url, nonce, payload, useKID)
	if err != nil {
		return nil, err
	}
	res, err := c.wire.do(ctx, http.MethodPost, url, contentTypeJOSE, accept, jws, limit)
	if err != nil {
		return nil, err
	}
	c.keepNonce(res.nonce)
	if res.status >= 400 || res.status < 200 {
		p := parseProblem(res.status, res.body)
		p.RetryAfter = parseRetryAfter(res.retryAfter, time.Now())
		return nil, p
	}
	return &response{status: res.status, location: res.location, body: res.body}, nil
}

// newNonce asks the server for a fresh nonce (RFC 8555 §7.2: HEAD newNonce).
func (c *acmeClient) newNonce(ctx context.Context) (string, error) {
	res, err := c.wire.do(ctx, http.MethodHead, c.dir.NewNonce, "", "", nil, 0)
	if err != nil {
		return "", fmt.Errorf("newNonce: %w", err)
	}
	if res.status >= 400 {
		return "", fmt.Errorf("newNonce: %w", &problem{Status: res.status})
	}
	n := res.nonce
	if !validNonce(n) {
		return "", fmt.Errorf("newNonce: no valid Replay-Nonce in the answer (HTTP %d)", res.status)
	}
	return n, nil
}

// keepNonce keeps n, the Replay-Nonce of a response, for the next request
// if it is a valid one.
func (c *acmeClient) keepNonce(n string) {
	if validNonce(n) {
		c.nonce = n
	}
}

// The ACME objects of RFC 8555 §7.1, with only the fields the bench uses.
// They decode with the reader of jsonscan.go (decodeJSON); their tags let
// encoding/json decode them alike, which the tests compare.
type (
	orderObject struct {
		Status         string   `json:"status"`
		Authorizations []string `json:"authorizations"`
		Finalize       string   `json:"finalize"`
		Certificate    string   `json:"certificate"`
		Error          *problem `json:"error"`
	}
	authzObject struct {
		Status     string `json:"status"`
		Identifier struct {
			Value string `json:"value"`
		} `json:"identifier"`
		Challenges []challengeObject `json:"challenges"`
	}
	challengeObject struct {
		Type   string   `json:"type"`
		URL    string   `json:"url"`
		Token  string   `json:"token"`
		Status string   `json:"status"`
		Error  *problem `json:"error"`
	}
)

// newOrder creates an order for DNS names (RFC 8555 §7.4) and returns it
// with its URL.
func (c *acmeClient) newOrder(ctx context.Context, names []string) (*orderObject, string, error) {
	p := make([]byte, 0, 32+len(names)*64)
	p = append(p, `{"identifiers":[`...)
	for i, n := range names {
		if i > 0 {
			p = append(p, ',')
		}
		p = append(p, `{"type":"dns","value":`...)
		p = appendJSONString(p, n)
		p = append(p, '}')
	}
	p = append(p, "]}"...)
	res, err := c.post(ctx, c.dir.NewOrder, p, "", maxObjectSize, true)
	if err != nil {
		return nil, "", err
	}
	var o orderObject
	if err := decodeObject(res, &o, "order"); err != nil {
		return nil, "", err
	}
	if res.location == "" {
		return nil, "", errors.New("newOrder: no Location header (order URL)")
	}
	if o.Finalize == "" || len(o.Authorizations) == 0 {
		return nil, "", errors.New("newOrder: order without finalize URL or authorizations")
	}
	return &o, res.location, nil
}

// getAuthz fetches an authorization (RFC 8555 §7.5).
func (c *acmeClient) getAuthz(ctx context.Context, url string) (*authzObject, error) {
	res, err := c.postAsGet(ctx, url, "", maxObjectSize)
	if err != nil {
		return nil, err
	}
	var a authzObject
	return &a, decodeObject(res, &a, "authorization")
}

// accept tells the server that the challenge at url is ready (RFC 8555
// §7.5.1: "The client indicates to the server that it is ready for the
// challenge validation by sending an empty JSON body ('{}')").
func (c *acmeClient) accept(ctx context.Context, url string) (*challengeObject, error) {
	res, err := c.post(ctx, url, []byte("{}"), "", maxObjectSize, true)
	if err != nil {
		return nil, err
	}
	var ch challengeObject
	return &ch, decodeObject(res, &ch, "challenge")
}

// finalize sends the CSR (DER) to the order's finalize URL (RFC 8555 §7.4)
// and returns the order as it then stands.
func (c *acmeClient) finalize(ctx context.Context, url string, csr []byte) (*orderObject, error) {
	p := make([]byte, 0, len(`{"csr":""}`)+b64.EncodedLen(len(csr)))
	p = append(p, `{"csr":"`...)
	p = b64.AppendEncode(p, csr)
	p = append(p, `"}`...)
	res, err := c.post(ctx, url, p, "", maxObjectSize, true)
	if err != nil {
		return nil, err
	}
	var o orderObject
	return &o, decodeObject(res, &o, "order")
}

// getOrder fetches an order.
func (c *acmeClient) getOrder(ctx context.Context, url string) (*orderObject, error) {
	res, err := c.postAsGet(ctx, url, "", maxObjectSize)
	if err != nil {
		return nil, err
	}
	var o orderObject
	return &o, decodeObject(res, &o, "order")
}

// fetchLeaf downloads the certificate chain at url (RFC 8555 §7.4.2) and
// returns the DER of its first certificate, the end-entity one ("The
// default format of the certificate is application/pem-certificate-chain").
func (c *acmeClient) fetchLeaf(ctx context.Context, url string) ([]byte, error) {
	res, err := c.postAsGet(ctx, url, mediaPEMChain, maxCertChainSize)
	if err != nil {
		return nil, err
	}
	der, err := firstPEMCertificate(res.body)
	if err != nil {
		return nil, &wrongCertError{reason: err.Error()}
	}
	return der, nil
}

// jsonDecoder is an ACME object that decodes itself with the JSON reader of
// jsonscan.go.
type jsonDecoder interface {
	decodeJSON(data []byte) error
}

func decodeObject(res *response, v jsonDecoder, what string) error {
	if err := v.decodeJSON(res.body); err != nil {
		return fmt.Errorf("decoding the %s: %w", what, err)
	}
	return nil
}

func (o *orderObject) decodeJSON(data []byte) error {
	return jsonObjectMembers(data, func(k, v []byte) (err error) {
		switch string(k) {
		case "status":
			o.Status, err = jsonStringValue(v)
		case "authorizations":
			o.Authorizations, err = jsonStringArray(v)
		case "finalize":
			o.Finalize, err = jsonStringValue(v)
		case "certificate":
			o.Certificate, err = jsonStringValue(v)
		case "error":
			o.Error, err = decodeProblemJSON(v)
		}
		return err
	})
}

func (a *authzObject) decodeJSON(data []byte) error {
	return jsonObjectMembers(data, func(k, v []byte) (err error) {
		switch string(k) {
		case "status":
			a.Status, err = jsonStringValue(v)
		case "identifier":
			if string(v) == "null" {
				return nil
			}
			err = jsonObjectMembers(v, func(k, v []byte) (err error) {
				if string(k) == "value" {
					a.Identifier.Value, err = jsonStringValue(v)
				}
				return err
			})
		case "challenges":
			if string(v) == "null" {
				return nil
			}
			a.Challenges = a.Challenges[:0]
			err = jsonArrayElems(v, func(e []byte) error {
				var c challengeObject
				err := c.decodeJSON(e)
				a.Challenges = append(a.Challenges, c)
				return err
			})
		}
		return err
	})
}

func (c *challengeObject) decodeJSON(data []byte) error {
	return jsonObjectMembers(data, func(k, v []byte) (err error) {
		switch string(k) {
		case "type":
			c.Type, err = jsonStringValue(v)
		case "url":
			c.URL, err = jsonStringValue(v)
		case "token":
			c.Token, err = jsonStringValue(v)
		case "status":
			c.Status, err = jsonStringValue(v)
		case "error":
			c.Error, err = decodeProblemJSON(v)
		}
		return err
	})
}

// decodeProblemJSON decodes a problem embedded in an object (RFC 8555
// §7.1.3 "error", §7.1.5); null is no problem.
func decodeProblemJSON(raw []byte) (*problem, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	p := &problem{}
	err := jsonObjectMembers(raw, func(k, v []byte) (err error) {
		switch string(k) {
		case "type":
			p.Type, err = jsonStringValue(v)
		case "detail":
			p.Detail, err = jsonStringValue(v)
		}
		return err
	})
	return p, err
}

// firstPEMCertificate returns the DER of the first CERTIFICATE block of a
// PEM chain. It decodes only that block: the bench checks the leaf alone.
func firstPEMCertificate(chain []byte) ([]byte, error) {
	for {
		var b *pem.Block
		b, chain = pem.Decode(chain)
		if b == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes, nil
		}
	}
}
