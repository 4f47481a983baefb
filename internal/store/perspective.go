package store

import (
	"context"
	"time"
)

// Perspective is a remote perspective enrolled with the primary: a dcv
// agent it asks to corroborate each validation (CA/B Forum BR 3.2.2.9).
type Perspective struct {
	// Name identifies the perspective (a DNS label, unique).
	Name string
	// URL is the agent's base URL (https://host:port).
	URL string
	// RIR is the Regional Internet Registry region the agent's network is
	// in: "ARIN", "RIPE", "APNIC", "LACNIC" or "AFRINIC".
	RIR string
	// CertSHA256 is the lowercase hex SHA-256 of the agent certificate
	// issued at enrolment; the primary accepts only that certificate from
	// the agent, so enrolling again or removing the perspective retires it.
	CertSHA256 string
	// NextCertSHA256 is that of the certificate issued when the
	// perspective's credentials were last renewed, if they were: the
	// primary accepts it beside CertSHA256, whose certificate stays valid
	// until it expires, so that the agent switches without downtime.
	NextCertSHA256 string
	CreatedAt      time.Time
}

// PerspectiveStore keeps the enrolled remote perspectives. Implementations
// MUST be safe for concurrent use and make each method atomic.
type PerspectiveStore interface {
	// PerspectiveCreate stores a new perspective; a duplicate name is
	// ErrConflict.
	PerspectiveCreate(ctx context.Context, p Perspective) error
	// PerspectiveGet returns the perspective named name, or ErrNotFound.
	PerspectiveGet(ctx context.Context, name string) (*Perspective, error)
	// PerspectiveList returns every perspective, ordered by name.
	PerspectiveList(ctx context.Context) ([]Perspective, error)
	// PerspectiveDelete removes the perspective named name, or returns
	// ErrNotFound.
	PerspectiveDelete(ctx context.Context, name string) error
	// PerspectiveRenew records certSHA256 as the certificate of the
	// perspective's renewed credentials: the one renewed before, if any,
	// becomes its CertSHA256 (the certificate enrolled first is then no
	// longer accepted), and certSHA256 its NextCertSHA256. pending is the
	// NextCertSHA256 the caller decided on ("" for none): another renewal
	// made since is ErrConflict, and nothing changes. A name that no
	// perspective has is ErrNotFound.
	PerspectiveRenew(ctx context.Context, name, pending, certSHA256 string) error
}
