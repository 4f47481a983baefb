package order

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/dcvhq/dcv/internal/diagnose"
)

// Kind classifies an order error for the front doors, which map it to a
// status code. The numbers never change.
type Kind int

// Kinds of order errors.
const (
	KindInternal     Kind = iota // a server-side failure; details go to logs only
	KindInvalid                  // the request is malformed or refused by policy (400)
	KindNotFound                 // no such resource for this account (404)
	KindThrottled                // checked too often, or too many orders (429)
	KindConflict                 // the resource is not in a state that allows this (409)
	KindUnauthorized             // missing or unknown credentials (401)
	KindForbidden                // authenticated but not allowed (403)
)

// Error is an order error with a stable Code and a user-facing Message.
type Error struct {
	Kind Kind
	// Code is a stable UPPER_SNAKE code, e.g. "PUBLIC_SUFFIX", "ORDER_NOT_FOUND".
	Code string
	// Message is one sentence a person can act on.
	Message string
	// RetryAt and RetryAfter (RetryAt less the service's now) are set for
	// KindThrottled.
	RetryAt    time.Time
	RetryAfter time.Duration
	// Finding is set for the KindThrottled of a check: the
	// CHECK_TOO_FREQUENT finding.
	Finding *diagnose.Finding
}

// Error returns the error as one line of text.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(code, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: fmt.Sprintf(format, args...)}
}

func notFound(id string) *Error {
	return &Error{Kind: KindNotFound, Code: "ORDER_NOT_FOUND", Message: fmt.Sprintf("order %q was not found", shown(id))}
}

// maxIDShown bounds an identifier a client sent, echoed in an error: an id
// or a cursor of thousands of characters is cut (console run).
const maxIDShown = 64

// shown is s as an error echoes it: cut to maxIDShown bytes, marked.
func shown(s string) string {
	if len(s) <= maxIDShown {
		return s
	}
	cut := maxIDShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
