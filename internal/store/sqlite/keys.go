package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

const (
	qRevocationSetReason = `UPDATE revocations SET reason = ? WHERE serial = ?`
	qCertificatesLive    = `SELECT c.serial, c.order_id, c.chain_pem, c.not_before, c.not_after, c.created_at
FROM certificates c WHERE c.serial > ? AND c.not_after > ?
AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial AND r.reason = 1)
ORDER BY c.serial LIMIT ?`
	qKeyBlock         = `INSERT INTO blocked_keys (spki_sha256, serial, blocked_at) VALUES (?, ?, ?) ON CONFLICT (spki_sha256) DO NOTHING`
	qKeyBlocked       = `SELECT 1 FROM blocked_keys WHERE spki_sha256 = ?`
	qKeyBlocksUnswept = `SELECT spki_sha256, serial, blocked_at, swept_at FROM blocked_keys WHERE swept_at IS NULL ORDER BY blocked_at`
	qKeyBlockSwept    = `UPDATE blocked_keys SET swept_at = ? WHERE spki_sha256 = ?`
)

// RevocationSetReason changes the reason of a recorded revocation.
func (s *Store) RevocationSetReason(ctx context.Context, serial string, reason int) error {
	err := s.write(ctx, func(tx *txn) error {
		return execOne(ctx, tx, qRevocationSetReason, reason, serial)
	})
	if err != nil {
		return fmt.Errorf("changing the revocation reason of %s: %w", serial, err)
	}
	return nil
}

// CertificatesLive returns a page of certificates neither revoked for
// keyCompromise nor expired at now, by serial.
func (s *Store) CertificatesLive(ctx context.Context, now time.Time, after string, limit int) ([]store.Certificate, error) {
	n, err := encodeTime(now)
	if err != nil || limit < 1 {
		return nil, fmt.Errorf("listing live certificates: bad time or limit %d: %v", limit, err)
	}
	out, err := queryAll(ctx, s.rd, scanCertificate, qCertificatesLive, after, n, limit)
	if err != nil {
		return nil, fmt.Errorf("listing live certificates: %w", err)
	}
	return out, nil
}

// KeyBlock records a compromised key, keeping an existing block.
func (s *Store) KeyBlock(ctx context.Context, b store.KeyBlock) error {
	if len(b.SPKIHash) != 32 {
		return fmt.Errorf("blocking a key: hash of %d bytes, want 32", len(b.SPKIHash))
	}
	at, err := encodeTime(b.BlockedAt)
	if err != nil || !at.Valid {
		return fmt.Errorf("blocking a key: bad time %v: %v", b.BlockedAt, err)
	}
	err = s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, qKeyBlock, b.SPKIHash, b.Serial, at)
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("blocking a key: %w", err)
	}
	return nil
}

// KeyBlocked reports whether the key of SPKI hash h is blocked.
func (s *Store) KeyBlocked(ctx context.Context, h []byte) (bool, error) {
	var one int
	err := s.rd.QueryRowContext(ctx, qKeyBlocked, h).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("looking up a blocked key: %w", err)
	}
	return true, nil
}

// KeyBlocksUnswept returns the blocks whose sweep has not finished.
func (s *Store) KeyBlocksUnswept(ctx context.Context) ([]store.KeyBlock, error) {
	out, err := queryAll(ctx, s.rd, func(r scanner) (*store.KeyBlock, error) {
		var b store.KeyBlock
		if err := r.Scan(&b.SPKIHash, &b.Serial, nullTime{&b.BlockedAt}, nullTime{&b.SweptAt}); err != nil {
			return nil, err
		}
		return &b, nil
	}, qKeyBlocksUnswept)
	if err != nil {
		return nil, fmt.Errorf("listing unswept key blocks: %w", err)
	}
	return out, nil
}

// KeyBlockSwept records the end of a key's sweep.
func (s *Store) KeyBlockSwept(ctx context.Context, h []byte, at time.Time) error {
	t, err := encodeTime(at)
	if err != nil || !t.Valid {
		return fmt.Errorf("recording a key sweep: bad time %v: %v", at, err)
	}
	err = s.write(ctx, func(tx *txn) error {
		return execOne(ctx, tx, qKeyBlockSwept, t, h)
	})
	if err != nil {
		return fmt.Errorf("recording a key sweep: %w", err)
	}
	return nil
}
