// Package sqlite is dcv's embedded store: a store.Store on one SQLite file,
// through the pure-Go driver modernc.org/sqlite. It is the zero-configuration
// default; one process (any number of goroutines) uses the file at a time.
//
// Every connection runs with:
//
//   - journal_mode=WAL: readers never block the writer, nor it them;
//   - synchronous=FULL: with WAL, each commit is fsynced before it returns, so
//     a certificate is durable, across power loss too, once CertificateIssue
//     returns (NORMAL would only survive a crash of the process);
//   - foreign_keys=ON;
//   - busy_timeout=10000: a writer waits up to 10 s for the write lock;
//   - _txlock=immediate: every write transaction takes the write lock at
//     BEGIN, so two transactions never both read and then deadlock on the
//     upgrade to writing. Read-only transactions begin deferred.
//
// Times are stored as UTC RFC 3339 text with nine fractional digits and come
// back in UTC, equal (time.Time.Equal) to what was stored; the zero time is
// stored as NULL. Years outside 0000..9999 are refused.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dcvhq/dcv/internal/store"
)

// busyTimeout is how long a write waits for another writer's lock before it
// fails with SQLITE_BUSY. Writes are short (the longest, CertificateIssue,
// holds the lock while one certificate is signed), so 10 s only runs out
// when something is wrong.
const busyTimeout = 10 * time.Second

// fileMode is the mode of a database file Open creates: it holds the
// generated private keys of orders not yet delivered, so only its owner may
// read it. SQLite gives the -wal and -shm files the same mode.
const fileMode = 0o600

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use; each method is one transaction.
type Store struct {
	db *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating the file with mode 0600
// when it does not exist (its directory must), and brings its schema up to
// date by applying the embedded migrations that it lacks, each in its own
// transaction. Open refuses, with an error wrapping ErrSchemaNewer, a
// database whose schema is newer than this binary's. ctx bounds the
// migrations only. The caller must Close the Store.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: opening database: empty path")
	}
	// The driver splits its DSN at the first '?'; a path containing one
	// would lose its tail and the pragmas below.
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: opening database %q: path must not contain '?'", path)
	}
	// An absolute path never starts with "file:", which the driver would
	// read as a URI.
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening database: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening database: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: opening database: %w", err)
	}

	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening database %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening database %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database. Calls in flight may fail.
func (s *Store) Close() error {
	return s.db.Close()
}

// write runs fn in a write transaction (BEGIN IMMEDIATE, see Open) and
// commits it when fn returns nil; otherwise, or if fn panics, it rolls back.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning write transaction: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// read runs fn in a read-only transaction, a consistent snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("beginning read transaction: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// classify maps constraint violations to the store's sentinels, keeping the
// driver's error in the chain: a duplicate key is store.ErrConflict, a
// reference to a missing row store.ErrNotFound. Other errors pass as is.
func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return err
}

// timeLayout is RFC 3339 with a fixed nine-digit fraction: every stored time
// has the same width, so text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// encodeTime returns t as stored: NULL for the zero time, else UTC text.
func encodeTime(t time.Time) (sql.NullString, error) {
	if t.IsZero() {
		return sql.NullString{}, nil
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return sql.NullString{}, fmt.Errorf("time %s: year %d out of range 0..9999", t, y)
	}
	return sql.NullString{String: t.Format(timeLayout), Valid: true}, nil
}

// encodeTimes encodes each of ts, stopping at the first error.
func encodeTimes(ts ...time.Time) ([]sql.NullString, error) {
	out := make([]sql.NullString, len(ts))
	for i, t := range ts {
		var err error
		if out[i], err = encodeTime(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeTime is the inverse of encodeTime.
func decodeTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("decoding stored time: %w", err)
	}
	return t.UTC(), nil
}

// nullTime is a scan target for a stored time.
type nullTime struct {
	dst *time.Time
}

// Scan implements sql.Scanner.
func (n nullTime) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	t, err := decodeTime(s)
	if err != nil {
		return err
	}
	*n.dst = t
	return nil
}

// encodeJSON stores empty JSON bytes as NULL.
func encodeJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// DSN returns the driver data source name Open uses for path, for another
// pool on the same database (the job queue keeps its own single-connection
// pool, as its driver recommends).
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}
