package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dcvhq/dcv/internal/store"
)

// The SQL of the perspectives table (migrations/002_perspectives.up.sql).
const (
	perspectiveColumns = `name, url, rir, cert_sha256, created_at`
	qPerspectiveInsert = `INSERT INTO perspectives (` + perspectiveColumns + `) VALUES (?, ?, ?, ?, ?)`
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
	err = s.write(ctx, func(tx *sql.Tx) error {
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
	p, err := scanPerspective(s.db.QueryRowContext(ctx, qPerspectiveGet, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("getting perspective %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("getting perspective %s: %w", name, err)
	}
	return p, nil
}

// PerspectiveList returns every perspective, ordered by name.
func (s *Store) PerspectiveList(ctx context.Context) ([]store.Perspective, error) {
	rows, err := s.db.QueryContext(ctx, qPerspectiveList)
	if err != nil {
		return nil, fmt.Errorf("listing perspectives: %w", err)
	}
	defer rows.Close()
	var out []store.Perspective
	for rows.Next() {
		p, err := scanPerspective(rows)
		if err != nil {
			return nil, fmt.Errorf("listing perspectives: %w", err)
		}
		out = append(out, *p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing perspectives: %w", err)
	}
	return out, nil
}

// PerspectiveDelete removes the perspective named name, or returns
// store.ErrNotFound.
func (s *Store) PerspectiveDelete(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qPerspectiveDelete, name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting perspective %s: %w", name, err)
	}
	return nil
}

func scanPerspective(row interface{ Scan(...any) error }) (*store.Perspective, error) {
	var p store.Perspective
	if err := row.Scan(&p.Name, &p.URL, &p.RIR, &p.CertSHA256, nullTime{&p.CreatedAt}); err != nil {
		return nil, err
	}
	return &p, nil
}
