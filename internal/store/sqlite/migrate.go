package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// ErrSchemaNewer is returned (wrapped) by Open when the database was
// migrated by a newer dcv than this one: its schema version is above the
// highest this binary embeds. Upgrade dcv, or restore a backup.
var ErrSchemaNewer = errors.New("sqlite: database schema is newer than this binary")

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema step, from migrations/NNN_name.{up,down}.sql.
type migration struct {
	version  int
	name     string
	up, down string
}

// loadMigrations returns the embedded migrations ordered by version. It
// fails unless the versions run 1, 2, 3, ... and each has both an up and a
// down file.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	byVersion := map[int]*migration{}
	for _, e := range entries {
		file := e.Name()
		base, dir, ok := strings.Cut(strings.TrimSuffix(file, ".sql"), ".")
		num, name, ok2 := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || !ok2 || err != nil || v < 1 || (dir != "up" && dir != "down") {
			return nil, fmt.Errorf("embedded migration %q: name is not NNN_name.up.sql or NNN_name.down.sql", file)
		}
		body, err := migrationFiles.ReadFile("migrations/" + file)
		if err != nil {
			return nil, fmt.Errorf("reading embedded migration %s: %w", file, err)
		}
		m := byVersion[v]
		if m == nil {
			m = &migration{version: v, name: name}
			byVersion[v] = m
		}
		if m.name != name {
			return nil, fmt.Errorf("embedded migration %d has two names, %q and %q", v, m.name, name)
		}
		if dir == "up" {
			m.up = string(body)
		} else {
			m.down = string(body)
		}
	}
	out := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("embedded migrations: version %d missing", i+1)
		}
		if m.up == "" || m.down == "" {
			return nil, fmt.Errorf("embedded migration %03d_%s: needs both up and down files", m.version, m.name)
		}
	}
	return out, nil
}

// migrate applies the embedded migrations the database lacks, in order,
// each in its own write transaction that re-reads the schema version under
// the write lock, so that two processes opening the same new file apply
// each migration once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := s.wr.db.ExecContext(ctx, qMigrationTableCreate); err != nil {
		return fmt.Errorf("creating migration table: %w", err)
	}
	first := true
	for _, m := range ms {
		err := s.write(ctx, func(tx *txn) error {
			cur, err := schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			if first {
				s.schemaFrom, first = cur, false
			}
			s.schemaTo = max(cur, s.schemaTo)
			if cur > len(ms) {
				return fmt.Errorf("%w: database at version %d, this binary knows up to %d", ErrSchemaNewer, cur, len(ms))
			}
			if cur >= m.version {
				return nil
			}
			// A migration is a script of several statements: not cached.
			if _, err := tx.tx.ExecContext(ctx, m.up); err != nil {
				return fmt.Errorf("applying migration %03d_%s: %w", m.version, m.name, err)
			}
			if _, err := tx.ExecContext(ctx, qMigrationInsert, m.version, m.name); err != nil {
				return fmt.Errorf("recording migration %03d_%s: %w", m.version, m.name, err)
			}
			s.schemaTo = m.version
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// schemaVersion returns the highest applied migration, 0 for none.
func schemaVersion(ctx context.Context, tx *txn) (int, error) {
	var v int
	if err := tx.QueryRowContext(ctx, qMigrationVersion).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}
