package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// problemPrefix is the namespace of ACME problem types (RFC 8555 §6.7).
const problemPrefix = "urn:ietf:params:acme:error:"

// problem is an RFC 7807 problem document returned by the ACME server, or
// an HTTP error status without one (Type empty).
type problem struct {
	// Status is the HTTP status of the response (0 for a problem embedded
	// in an object, e.g. a challenge's "error").
	Status int    `json:"-"`
	Type   string `json:"type"`
	Detail string `json:"detail"`
	// RetryAfter is how long the response's Retry-After field asked to
	// wait (RFC 8555 §6.6: a rateLimited answer may carry it), or 0.
	RetryAfter time.Duration `json:"-"`
}

func (p *problem) Error() string {
	var b strings.Builder
	b.WriteString("acme: ")
	if p.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d ", p.Status)
	}
	if p.Type != "" {
		b.WriteString(p.Type)
	} else {
		b.WriteString("(no problem document)")
	}
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	return b.String()
}

// name is the problem's short name for the report: the type without the
// ACME namespace ("problem badNonce"), or "HTTP 502" without a type.
func (p *problem) name() string {
	if p.Type == "" {
		return fmt.Sprintf("HTTP %d", p.Status)
	}
	return "problem " + strings.TrimPrefix(p.Type, problemPrefix)
}

// is reports whether p has the ACME problem type short (e.g. "badNonce").
func (p *problem) is(short string) bool { return p.Type == problemPrefix+short }

// parseProblem decodes the body of an error response with HTTP status
// status. A body that is not a problem document still yields a problem,
// with the status alone: RFC 8555 §6.7 says that the server "SHOULD
// provide additional information using a problem document", not MUST, and
// a proxy's bare 502 is no decoding failure.
func parseProblem(status int, body []byte) *problem {
	p := &problem{}
	if json.Unmarshal(body, p) != nil {
		p = &problem{}
	}
	p.Status = status
	return p
}

// maxRetryAfter bounds the wait a Retry-After field may ask for: longer
// than any run (--duration is at most 10 minutes).
const maxRetryAfter = 10 * time.Minute

// parseRetryAfter reads a Retry-After field (RFC 9110 §10.2.3: a number of
// seconds or an HTTP date) into a wait from now, at most maxRetryAfter; 0
// for an empty, malformed or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// authzError is an authorization that ended in a status other than valid,
// with the problems of its challenges.
type authzError struct {
	URL        string
	Identifier string
	Status     string
	Problems   []*problem
}

func (e *authzError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "authorization %s for %s is %s", e.URL, e.Identifier, e.Status)
	for _, p := range e.Problems {
		b.WriteString("; ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// orderError is an order that became invalid.
type orderError struct {
	URL     string
	Status  string
	Problem *problem
}

func (e *orderError) Error() string {
	s := fmt.Sprintf("order %s is %s", e.URL, e.Status)
	if e.Problem != nil {
		s += ": " + e.Problem.Error()
	}
	return s
}
