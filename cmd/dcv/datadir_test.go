package main

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/ca"
)

// oldDataDir makes, in data, a database and its CA holding one certificate
// of that CA, then takes the database back to schema 13, as every database
// from before the binding (migration 014) is.
func oldDataDir(t *testing.T, data string) {
	t.Helper()
	st, authority, err := openData(context.Background(), data, ca.Config{Dir: filepath.Join(data, "ca")}, false)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db := rawSQLite(t, filepath.Join(data, "dcv.db"))
	for _, q := range []string{
		`INSERT INTO accounts (id, name, admin, created_at) VALUES ('acct_1', 'a', 0, '2026-01-01T00:00:00Z')`,
		`INSERT INTO orders (id, account_id, method, status, created_at) VALUES ('ord_1', 'acct_1', 'dns', 'issued', '2026-01-01T00:00:00Z')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// A stored chain ends with its intermediate.
	if _, err := db.Exec(`INSERT INTO certificates (serial, order_id, chain_pem, not_before, not_after, created_at) VALUES ('01', 'ord_1', ?, '2026-01-01T00:00:00Z', '2099-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`, string(authority.IntermediatePEM())); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE perspectives DROP COLUMN next_cert_sha256`, `DROP INDEX orders_account_pending`, `DROP INDEX orders_keys_held`, `DROP TABLE dcv_meta`, `DELETE FROM dcv_migration WHERE version >= 14`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func rawSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func schemaVersion(t *testing.T, path string) int {
	t.Helper()
	var v int
	if err := rawSQLite(t, path).QueryRow(`SELECT max(version) FROM dcv_migration`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestOldDatabaseRefusalChangesNothing: a database from before the binding
// whose CA directory is gone is refused before it is migrated, so the
// older dcv the operator may go back to still opens it (review).
func TestOldDatabaseRefusalChangesNothing(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	oldDataDir(t, data)
	if err := os.RemoveAll(filepath.Join(data, "ca")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openData(context.Background(), data, ca.Config{Dir: filepath.Join(data, "ca")}, false); err == nil {
		t.Fatal("a database without its CA was accepted")
	}
	if v := schemaVersion(t, filepath.Join(data, "dcv.db")); v != 13 {
		t.Errorf("refused, yet the database was migrated from schema 13 to %d", v)
	}
	if _, err := os.Stat(filepath.Join(data, "ca", ca.RootKeyFile)); err == nil {
		t.Error("refused, yet a new CA was made")
	}
}

// TestOldDatabaseWithAnotherCA: a database from before the binding that
// holds certificates of one CA, paired with another, is refused (its
// certificates name their CA), not bound to the wrong one for good; with
// its own CA it starts, and is bound to it (review).
func TestOldDatabaseWithAnotherCA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data, other := t.TempDir(), t.TempDir()
	oldDataDir(t, data)
	if _, err := ca.LoadOrCreate(ca.Config{Dir: filepath.Join(other, "ca")}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(data, "ca"), filepath.Join(data, "ca-own")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(other, "ca"), filepath.Join(data, "ca")); err != nil {
		t.Fatal(err)
	}
	if st, _, err := openData(ctx, data, ca.Config{Dir: filepath.Join(data, "ca")}, false); err == nil {
		st.Close()
		t.Fatal("a database holding one CA's certificates was started with another")
	}
	if v := schemaVersion(t, filepath.Join(data, "dcv.db")); v != 13 {
		t.Errorf("refused, yet the database was migrated to %d", v)
	}
	if err := os.RemoveAll(filepath.Join(data, "ca")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(data, "ca-own"), filepath.Join(data, "ca")); err != nil {
		t.Fatal(err)
	}
	st, authority, err := openData(ctx, data, ca.Config{Dir: filepath.Join(data, "ca")}, false)
	if err != nil {
		t.Fatalf("the database with its own CA: %v", err)
	}
	defer st.Close()
	if fp, err := st.CABinding(ctx); err != nil || fp != authority.Fingerprint() {
		t.Errorf("binding %q, %v; want its own CA's %s", fp, err, authority.Fingerprint())
	}
}

// TestEmptyOrForeignDatabase: an empty dcv.db beside a CA is as good as
// missing (refused unless --new-database), and another program's SQLite
// database is never adopted (verification run).
func TestEmptyOrForeignDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name        string
		make        func(t *testing.T, path string)
		newDatabase bool
		want        string // "" when accepted
	}{
		{"empty file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, false, "its database " + "%s is empty"},
		{"empty file, on purpose", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, true, ""},
		{"another program's database", func(t *testing.T, path string) {
			if _, err := rawSQLite(t, path).Exec(`CREATE TABLE x (a)`); err != nil {
				t.Fatal(err)
			}
		}, false, "is not a dcv database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			if _, err := ca.LoadOrCreate(ca.Config{Dir: filepath.Join(data, "ca")}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(data, "dcv.db")
			tt.make(t, path)
			st, _, err := openData(ctx, data, ca.Config{Dir: filepath.Join(data, "ca")}, tt.newDatabase)
			want := strings.ReplaceAll(tt.want, "%s", path)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "":
				st.Close()
			case err == nil:
				st.Close()
				t.Fatalf("accepted, want %q", want)
			case !strings.Contains(err.Error(), want):
				t.Fatalf("refused with %v, want %q", err, want)
			}
		})
	}
}

// TestDataDirRestarts: a data directory restarts as it started, whatever
// its name holds ('#' and '%' once cut or changed the path Inspect read,
// and made a stray empty file outside it), and after a first start cut
// short before the first migration (only dcv's migration table exists).
// Both were refused at every later start (review).
func TestDataDirRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		dir     string
		prepare func(t *testing.T, data string)
	}{
		{"a '#' in the name", "dcv#1", nil},
		{"a '%' in the name", "dcv%41", nil},
		{"a first start cut short", "data", func(t *testing.T, data string) {
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			if _, err := rawSQLite(t, filepath.Join(data, "dcv.db")).Exec(`CREATE TABLE dcv_migration (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL) STRICT`); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			data := filepath.Join(parent, tt.dir)
			if err := os.MkdirAll(data, 0o700); err != nil { // as serve makes it
				t.Fatal(err)
			}
			if tt.prepare != nil {
				tt.prepare(t, data)
			}
			cfg := ca.Config{Dir: filepath.Join(data, "ca")}
			for _, start := range []string{"first", "second"} {
				st, _, err := openData(ctx, data, cfg, false)
				if err != nil {
					t.Fatalf("%s start refused: %v", start, err)
				}
				st.Close()
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 1 {
				t.Errorf("%d entries beside the data directory, want none", len(entries)-1)
			}
		})
	}
}

// TestPerspectiveRemoveOpensAsServe: dcv perspective remove opens the data
// as serve does: a pair serve refuses (a database from before the binding,
// its CA gone) is refused, not migrated (review).
func TestPerspectiveRemoveOpensAsServe(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	oldDataDir(t, data)
	if err := os.RemoveAll(filepath.Join(data, "ca")); err != nil {
		t.Fatal(err)
	}
	if err := perspectiveRemove(context.Background(), data, "nope", io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "holds no CA") {
		t.Errorf("perspective remove = %v, want the refusal serve gives", err)
	}
	if v := schemaVersion(t, filepath.Join(data, "dcv.db")); v != 13 {
		t.Errorf("the refused database was migrated from 13 to %d", v)
	}
}

// TestServeWithRootKeyOffline: once the root key is moved out of the data
// directory (kept offline), dcv serve's data opens as before, bound to the
// same CA.
func TestServeWithRootKeyOffline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := t.TempDir()
	st, first, err := openData(ctx, data, ca.Config{Dir: filepath.Join(data, "ca")}, false)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Rename(filepath.Join(data, "ca", ca.RootKeyFile), filepath.Join(t.TempDir(), ca.RootKeyFile)); err != nil {
		t.Fatal(err)
	}
	st, again, err := openData(ctx, data, ca.Config{Dir: filepath.Join(data, "ca")}, false)
	if err != nil {
		t.Fatalf("opening with the root key offline: %v", err)
	}
	if !again.RootOffline() || again.Fingerprint() != first.Fingerprint() {
		t.Errorf("RootOffline %v, CA %s; want true and the same CA %s", again.RootOffline(), again.Fingerprint(), first.Fingerprint())
	}
	st.Close()
	// Another file missing: only it is asked back (review: the offline
	// root key was too).
	if err := os.Remove(filepath.Join(data, "ca", ca.IntermediateKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openData(ctx, data, ca.Config{Dir: filepath.Join(data, "ca")}, false); err == nil || !strings.Contains(err.Error(), "missing [intermediate.key] (root.key may stay offline)") {
		t.Errorf("without the intermediate key: %v", err)
	}
}
