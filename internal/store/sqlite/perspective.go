package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/dcvhq/dcv/internal/store"
)

// The SQL of the perspectives table (migrations/002_perspectives.up.sql).
const (
	perspectiveColumns = `name, url, rir, cert_sha256, coalesce(next_cert_sha256, ''), created_at`
	qPerspectiveInsert = `INSERT INTO perspectives (name, url, rir, cert_sha256, created_at) VALUES (?, ?, ?, ?, ?)`
	// qPerspectiveRenew keeps the certificate renewed before (when there is
	// one) as the accepted one, and pins the new one beside it.
	qPerspectiveRenew = `UPDATE perspectives SET cert_sha256 = coalesce(next_cert_sha256, cert_sha256), next_cert_sha256 = ?2
WHERE name = ?1 AND coalesce(next_cert_sha256, '') = ?3`
	qPerspectiveExists = `SELECT 1 FROM perspectives WHERE name = ?`
	qPerspectiveGet    = `SELECT ` + perspectiveColumns + ` FROM perspectives WHERE name = ?`
	qPerspectiveList   = `SELECT ` + perspectiveColumns + ` FROM perspectives ORDER BY name`
	qPerspectiveDelete = `DELETE FROM perspectives WHERE name = ?`
)

// PerspectiveCreate stores a new perspective; a duplicate name is
// store.ErrConflict.
func (s *Store) PerspectiveCreate(ctx context.Context, p store.Perspective) error {
	created, err := encodeTime(p.CreatedAt)
	if err != nil {
		return fmt.Errorf("creating perspective %s: %w", p.Name, err)
	}
	err = s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, qPerspectiveInsert, p.Name, p.URL, p.RIR, p.CertSHA256, created)
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("creating perspective %s: %w", p.Name, err)
	}
	return nil
}

// PerspectiveGet returns the perspective named name, or store.ErrNotFound.
func (s *Store) PerspectiveGet(ctx context.Context, name string) (*store.Perspective, error) {
	p, err := scanPerspective(s.rd.QueryRowContext(ctx, qPerspectiveGet, name))
	if err != nil {
		return nil, fmt.Errorf("getting perspective %s: %w", name, notFound(err))
	}
	return p, nil
}

// PerspectiveList returns every perspective, ordered by name.
func (s *Store) PerspectiveList(ctx context.Context) ([]store.Perspective, error) {
	out, err := queryAll(ctx, s.rd, scanPerspective, qPerspectiveList)
	if err != nil {
		return nil, fmt.Errorf("listing perspectives: %w", err)
	}
	return out, nil
}

// PerspectiveDelete removes the perspective named name, or returns
// store.ErrNotFound.
func (s *Store) PerspectiveDelete(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *txn) error {
		// Nothing references a perspective: no constraint for execOne's
		// classify to map.
		return execOne(ctx, tx, qPerspectiveDelete, name)
	})
	if err != nil {
		return fmt.Errorf("deleting perspective %s: %w", name, err)
	}
	return nil
}

// PerspectiveRenew pins certSHA256 as the perspective's renewed
// certificate (see store.PerspectiveStore), or returns store.ErrNotFound,
// or store.ErrConflict when another renewal came since pending.
func (s *Store) PerspectiveRenew(ctx context.Context, name, pending, certSHA256 string) error {
	err := s.write(ctx, func(tx *txn) error {
		err := execOne(ctx, tx, qPerspectiveRenew, name, certSHA256, pending)
		if errors.Is(err, store.ErrNotFound) {
			// No such perspective, or renewed since the caller looked.
			var one int
			if qerr := tx.QueryRowContext(ctx, qPerspectiveExists, name).Scan(&one); qerr == nil {
				return store.ErrConflict
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("renewing perspective %s: %w", name, err)
	}
	return nil
}

func scanPerspective(row scanner) (*store.Perspective, error) {
	var p store.Perspective
	if err := row.Scan(&p.Name, &p.URL, &p.RIR, &p.CertSHA256, &p.NextCertSHA256, nullTime{&p.CreatedAt}); err != nil {
		return nil, err
	}
	return &p, nil
}
