// Package client is the Go client of dcv's REST API (/api/v1). The dcv
// command-line tool uses it; so can any Go program.
//
// Every call returns the decoded answer and the raw JSON the server sent,
// so a caller can show either. A non-2xx answer is an *APIError.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/order"
)

// Wire types of the API.
type (
	// Order is an order with its domains, instructions and last findings.
	Order = order.View
	// Domain is one domain of an order.
	Domain = order.DomainView
	// Instructions say what to publish for a domain.
	Instructions = order.Instructions
	// CheckResult is the answer of a check ("View Domain Validation Status").
	CheckResult = order.CheckResult
	// DomainCheck is one domain of a check.
	DomainCheck = order.DomainCheck
	// Finding is one diagnosed cause with its fix.
	Finding = diagnose.Finding
	// Certificate is an issued certificate (and, once, its generated key).
	Certificate = order.CertificateView
	// RevokeRequest asks for a certificate's revocation, with its reason.
	RevokeRequest = order.RevokeRequest
	// RevocationReason is a revocation reason: an RFC 5280 name or code.
	RevocationReason = order.RevocationReason
	// Account is an API account.
	Account = order.AccountView
	// EABKey is a new ACME External Account Binding key, with its HMAC key.
	EABKey = order.EABKeyView
	// EABKeyInfo is an EAB key as listed, without its HMAC key.
	EABKeyInfo = order.EABKeyInfo
	// CreateOrderRequest is the body of a new order.
	CreateOrderRequest = order.CreateRequest
)

// maxResponse bounds an answer: a 100-name check with its evidence stays
// far below 16 MiB.
const maxResponse = 16 << 20

// DefaultTimeout bounds one call; a check observes every domain, which may
// take up to the validation deadline.
const DefaultTimeout = 2 * time.Minute

// Client calls one dcv server. It is safe for concurrent use.
type Client struct {
	server string
	key    string
	http   *http.Client
}

// New returns a client of the server at base URL server (for example
// "http://127.0.0.1:8080"), authenticating with API key key.
func New(server, key string) (*Client, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q is not an http(s) URL", server)
	}
	return &Client{server: strings.TrimRight(server, "/"), key: key, http: &http.Client{Timeout: DefaultTimeout}}, nil
}

// APIError is an error answer of the API.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int
	Findings   []Finding
	// Body is the raw JSON answer.
	Body []byte
}

// Error returns the error as one line of text.
func (e *APIError) Error() string {
	if e.Code == "" {
		// Not an API error: a proxy's page, or the server's own words for
		// a request it could not take (plain http to its HTTPS port).
		if text := firstLine(e.Body); text != "" && !json.Valid(e.Body) {
			return fmt.Sprintf("server answered %d: %s", e.Status, text)
		}
		return fmt.Sprintf("server answered %d", e.Status)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// firstLine is the first line of a text answer, printable and at most 200
// bytes; "" for one that is not text.
func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	line = strings.TrimSpace(line)
	// Printable characters only: no terminal controls (C0, C1) nor
	// bidirectional overrides from a server or a proxy.
	if !utf8.ValidString(line) || strings.ContainsFunc(line, func(r rune) bool { return (!unicode.IsPrint(r) && r != ' ') || unicode.Is(unicode.Bidi_Control, r) }) || strings.HasPrefix(line, "<") {
		return ""
	}
	if len(line) > 200 {
		line = strings.ToValidUTF8(line[:200], "") + "…"
	}
	return line
}

// Do sends one request and returns the raw answer body. in, when not nil, is
// sent as JSON. A non-2xx answer returns the body and an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, in any, accept string) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("reading answer: %w", err)
	}
	if len(raw) > maxResponse {
		return nil, fmt.Errorf("answer larger than %d bytes", maxResponse)
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Status: resp.StatusCode, Body: raw}
		var eb api.ErrorBody
		if json.Unmarshal(raw, &eb) == nil {
			ae.Code, ae.Message, ae.RetryAfter, ae.Findings = eb.Error.Code, eb.Error.Message, eb.Error.RetryAfter, eb.Findings
		}
		return raw, ae
	}
	return raw, nil
}

func call[T any](ctx context.Context, c *Client, method, path string, in any) (*T, []byte, error) {
	raw, err := c.Do(ctx, method, path, in, "")
	if err != nil {
		return nil, raw, err
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, raw, fmt.Errorf("decoding answer: %w", err)
	}
	return v, raw, nil
}

// CreateAccount creates an account (admin only); the answer holds its API key.
func (c *Client) CreateAccount(ctx context.Context, name string, admin bool) (*Account, []byte, error) {
	return call[Account](ctx, c, http.MethodPost, "/api/v1/accounts", api.CreateAccountRequest{Name: name, Admin: admin})
}

// CreateOrder creates an order.
func (c *Client) CreateOrder(ctx context.Context, req CreateOrderRequest) (*Order, []byte, error) {
	return call[Order](ctx, c, http.MethodPost, "/api/v1/orders", req)
}

// Order returns one order.
func (c *Client) Order(ctx context.Context, id string) (*Order, []byte, error) {
	return call[Order](ctx, c, http.MethodGet, "/api/v1/orders/"+url.PathEscape(id), nil)
}

// Orders lists the first page of the account's orders, newest first (see
// OrdersPage).
func (c *Client) Orders(ctx context.Context) ([]Order, []byte, error) {
	os, _, raw, err := c.OrdersPage(ctx, "", 0)
	return os, raw, err
}

// OrdersPage lists a page of the account's orders, newest first: at most
// limit (0 for the server's default) after cursor ("" for the newest). next
// is the cursor of the following page, "" after the last.
func (c *Client) OrdersPage(ctx context.Context, cursor string, limit int) (orders []Order, next string, raw []byte, err error) {
	return c.AccountOrdersPage(ctx, "", cursor, limit)
}

// AccountOrdersPage is OrdersPage for account: "" for the caller's own
// orders; as an admin, "all" for every account's, or an account's id.
func (c *Client) AccountOrdersPage(ctx context.Context, account, cursor string, limit int) (orders []Order, next string, raw []byte, err error) {
	path := pagePath("/api/v1/orders", cursor, limit)
	if account != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "account=" + url.QueryEscape(account)
	}
	v, raw, err := call[struct {
		Orders []Order `json:"orders"`
		Next   string  `json:"next_cursor"`
	}](ctx, c, http.MethodGet, path, nil)
	if err != nil {
		return nil, "", raw, err
	}
	return v.Orders, v.Next, raw, nil
}

// Check runs "View Domain Validation Status" on an order. An early call
// returns an *APIError with Code CHECK_TOO_FREQUENT and RetryAfter.
func (c *Client) Check(ctx context.Context, id string) (*CheckResult, []byte, error) {
	return call[CheckResult](ctx, c, http.MethodPost, "/api/v1/orders/"+url.PathEscape(id)+"/checks", struct{}{})
}

// CheckWithoutEvidence is Check with each domain's evidence left out of the
// answer (?evidence=false): the findings and the matrix stay, and the
// server stores the evidence all the same.
func (c *Client) CheckWithoutEvidence(ctx context.Context, id string) (*CheckResult, []byte, error) {
	return call[CheckResult](ctx, c, http.MethodPost, "/api/v1/orders/"+url.PathEscape(id)+"/checks?evidence=false", struct{}{})
}

// Cancel cancels a pending order for good.
func (c *Client) Cancel(ctx context.Context, id string) (*Order, []byte, error) {
	return call[Order](ctx, c, http.MethodPost, "/api/v1/orders/"+url.PathEscape(id)+"/cancel", struct{}{})
}

// Certificate returns an order's certificate as JSON: the chain and, the
// first time only, the private key dcv generated.
func (c *Client) Certificate(ctx context.Context, id string) (*Certificate, []byte, error) {
	return call[Certificate](ctx, c, http.MethodGet, "/api/v1/orders/"+url.PathEscape(id)+"/certificate", nil)
}

// Revoke revokes an order's certificate, with an RFC 5280 reason by name
// or code ("" for unspecified), and returns the certificate as revoked.
func (c *Client) Revoke(ctx context.Context, id, reason string) (*Certificate, []byte, error) {
	return call[Certificate](ctx, c, http.MethodPost, "/api/v1/orders/"+url.PathEscape(id)+"/certificate/revoke", RevokeRequest{Reason: order.RevocationReason(reason)})
}

// RotateAPIKey replaces an account's API key: the caller's own when
// accountID is "", another's for an admin. The answer holds the new key,
// shown this once; the old keys stop working.
func (c *Client) RotateAPIKey(ctx context.Context, accountID string) (*Account, []byte, error) {
	path := "/api/v1/account/key"
	if accountID != "" {
		path = "/api/v1/accounts/" + url.PathEscape(accountID) + "/key"
	}
	return call[Account](ctx, c, http.MethodPost, path, nil)
}

// CreateEABKey creates an ACME External Account Binding key (admin only);
// the answer holds its HMAC key, shown this once.
func (c *Client) CreateEABKey(ctx context.Context) (*EABKey, []byte, error) {
	return call[EABKey](ctx, c, http.MethodPost, "/api/v1/eab-keys", nil)
}

// EABKeysPage lists a page of the EAB keys, newest first (admin only): at
// most limit (0 for the server's default) after cursor ("" for the
// newest). next is the cursor of the following page, "" after the last.
func (c *Client) EABKeysPage(ctx context.Context, cursor string, limit int) (keys []EABKeyInfo, next string, raw []byte, err error) {
	path := pagePath("/api/v1/eab-keys", cursor, limit)
	v, raw, err := call[struct {
		Keys []EABKeyInfo `json:"eab_keys"`
		Next string       `json:"next_cursor"`
	}](ctx, c, http.MethodGet, path, nil)
	if err != nil {
		return nil, "", raw, err
	}
	return v.Keys, v.Next, raw, nil
}

// AccountsPage lists a page of the accounts by id (admin only): limit of
// them (0: the server's default) after cursor ("" for the first); next is
// "" on the last page.
func (c *Client) AccountsPage(ctx context.Context, cursor string, limit int) (accounts []Account, next string, raw []byte, err error) {
	v, raw, err := call[struct {
		Accounts []Account `json:"accounts"`
		Next     string    `json:"next_cursor"`
	}](ctx, c, http.MethodGet, pagePath("/api/v1/accounts", cursor, limit), nil)
	if err != nil {
		return nil, "", raw, err
	}
	return v.Accounts, v.Next, raw, nil
}

// DeleteEABKey withdraws an EAB key that bound no account (admin only);
// raw is the answer's body (an error's, as a success has none).
func (c *Client) DeleteEABKey(ctx context.Context, id string) (raw []byte, err error) {
	return c.Do(ctx, http.MethodDelete, "/api/v1/eab-keys/"+url.PathEscape(id), nil, "")
}

// pagePath is path with a list's cursor and limit, when set.
func pagePath(path, cursor string, limit int) string {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// IsCode reports whether err is an API error with the given code.
func IsCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}
