package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/store/storetest"
)

// openTemp opens a new database in t's temporary directory.
func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dcv.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

// rawDB opens path without Open's migrations, for tests that inspect or
// tamper with the file.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "dcv.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	a := store.Account{ID: "acct", Name: "Acct", Admin: true, CreatedAt: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)}
	if err := s.AccountCreate(ctx, a, []byte("hash")); err != nil {
		t.Fatalf("AccountCreate: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for i := range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		got, err := s.AccountGetByKeyHash(ctx, []byte("hash"))
		if err != nil {
			t.Fatalf("reopen %d: AccountGetByKeyHash: %v", i, err)
		}
		if *got != a {
			t.Errorf("reopen %d: account %+v, want %+v", i, *got, a)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("reopen %d: Close: %v", i, err)
		}
	}

	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var n, max int
	if err := rawDB(t, path).QueryRow(`SELECT count(*), max(version) FROM dcv_migration`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != len(ms) {
		t.Errorf("dcv_migration has %d rows up to version %d, want %d up to %d", n, max, len(ms), len(ms))
	}
}

func TestFileMode(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t)
	// A write makes SQLite create the -wal file (and -shm) beside the database.
	if err := s.AccountCreate(t.Context(), store.Account{ID: "a"}, []byte("h")); err != nil {
		t.Fatalf("AccountCreate: %v", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if fi.Mode().Perm() != fileMode {
			t.Errorf("%s has mode %v, want %v", filepath.Base(p), fi.Mode().Perm(), os.FileMode(fileMode))
		}
	}
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"wal_autocheckpoint", "4000"},
	}
	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			t.Parallel()
			var got string
			if err := s.wr.db.QueryRow("PRAGMA " + tt.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(t *testing.T, path string) // prepares the file at path
		path   func(dir string) string
		target error // when not nil, errors.Is must hold
		words  []string
	}{
		{
			name: "newer schema",
			setup: func(t *testing.T, path string) {
				s, err := Open(t.Context(), path)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				if _, err := rawDB(t, path).Exec(`INSERT INTO dcv_migration (version, name) VALUES (999, 'future')`); err != nil {
					t.Fatal(err)
				}
			},
			target: ErrSchemaNewer,
			words:  []string{"newer than this binary", "version 999", fmt.Sprintf("up to %d", latestVersion(t))},
		},
		{
			name: "not a database",
			setup: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte(strings.Repeat("not sqlite\n", 500)), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			words: []string{"not a database"},
		},
		{
			name:  "question mark in path",
			path:  func(dir string) string { return filepath.Join(dir, "a?b.db") },
			words: []string{"must not contain '?'"},
		},
		{
			name:   "missing directory",
			path:   func(dir string) string { return filepath.Join(dir, "no", "such", "dir.db") },
			target: os.ErrNotExist,
		},
		{
			name:  "empty path",
			path:  func(string) string { return "" },
			words: []string{"empty path"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "dcv.db")
			if tt.path != nil {
				path = tt.path(dir)
			}
			if tt.setup != nil {
				tt.setup(t, path)
			}
			s, err := Open(t.Context(), path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("Open error %v, want %v", err, tt.target)
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestMigrationsDown checks that each down migration undoes its up
// migration: after all ups and then all downs in reverse, only the
// bookkeeping table is left.
func TestMigrationsDown(t *testing.T) {
	t.Parallel()
	_, path := openTemp(t)
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	for i := len(ms) - 1; i >= 0; i-- {
		if _, err := db.Exec(ms[i].down); err != nil {
			t.Fatalf("down %03d_%s: %v", ms[i].version, ms[i].name, err)
		}
	}
	rows, err := db.Query(`SELECT type || ' ' || name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var left []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		left = append(left, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := "table dcv_migration"; len(left) != 1 || left[0] != want {
		t.Errorf("after all down migrations the schema holds %q, want only %q", left, want)
	}
}

// TestMigration010PlansPendingOrders: orders pending when migration 010
// comes (which adds dcv's own checks) are due at once, but for ACME
// orders, which their clients drive.
func TestMigration010PlansPendingOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, path := openTemp(t)
	if err := st.AccountCreate(ctx, store.Account{ID: "a", Name: "a", CreatedAt: time.Now()}, []byte("k")); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		id, method, status string
		age                time.Duration
	}{{"api", "dns", "pending", 0}, {"acme", "acme", "pending", 0}, {"done", "dns", "issued", 0}, {"old", "dns", "pending", 4 * 24 * time.Hour}} {
		err := st.OrderCreate(ctx, &store.Order{ID: o.id, AccountID: "a", Method: o.method, Status: o.status, CreatedAt: time.Now().Add(-o.age), ExpiresAt: time.Now().Add(time.Hour),
			Authorizations: []store.Authorization{{Domain: o.id + ".example", Method: "dns", Status: o.status, Value: "v", ExpiresAt: time.Now().Add(time.Hour)}}}, 0)
		if err != nil {
			t.Fatal(err)
		}
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	m := ms[9]
	if m.version != 10 {
		t.Fatalf("migration 10 is %03d_%s", m.version, m.name)
	}
	db := rawDB(t, path)
	for _, q := range []string{m.down, m.up} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := st.OrderListRecheckDue(ctx, time.Now().Add(time.Second), 10)
	if err != nil || len(ids) != 1 || ids[0] != "api" {
		t.Fatalf("due after migration 010: %q, %v; want the API order alone", ids, err)
	}
}

// TestMigration013FreesWaitingOrders: an approved order whose error is the
// one a CAA recheck left (before an approval cleared it) waits for its
// certificate: migration 013 clears that error, so the issuance sweep
// lists it; an order parked by a permanent failure stays parked.
func TestMigration013FreesWaitingOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, path := openTemp(t)
	if err := st.AccountCreate(ctx, store.Account{ID: "a", Name: "a", CreatedAt: time.Now()}, []byte("k")); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct{ id, errText string }{
		{"waiting", "issuance waited: a.example was validated more than 8h0m0s before, and CAA …"},
		{"parked", "issuance failed: a lint"},
	} {
		err := st.OrderCreate(ctx, &store.Order{ID: o.id, AccountID: "a", Method: "dns", Status: "approved", Error: o.errText, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour),
			Authorizations: []store.Authorization{{Domain: o.id + ".example", Method: "dns", Status: "approved", Value: "v", ExpiresAt: time.Now().Add(time.Hour)}}}, 0)
		if err != nil {
			t.Fatal(err)
		}
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	m := ms[12]
	if m.version != 13 {
		t.Fatalf("migration 13 is %03d_%s", m.version, m.name)
	}
	db := rawDB(t, path)
	for _, q := range []string{m.down, m.up} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := st.OrderListApprovedIDs(ctx, 10)
	if err != nil || len(ids) != 1 || ids[0] != "waiting" {
		t.Fatalf("approved and waiting after migration 013: %q, %v; want the order the CAA recheck left", ids, err)
	}
}

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	if len(ms) == 0 || ms[0].version != 1 || ms[0].name != "init" {
		t.Fatalf("loadMigrations = %+v, want 001_init first", ms)
	}
}

func TestTimeEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      time.Time
		want    string // stored text; "" for NULL
		wantErr string
	}{
		{"zero", time.Time{}, "", ""},
		{"utc nanos", time.Date(2031, 3, 14, 15, 9, 26, 535897932, time.UTC), "2031-03-14T15:09:26.535897932Z", ""},
		{"zone converted", time.Date(2031, 3, 14, 0, 0, 0, 1, time.FixedZone("", -5*3600)), "2031-03-14T05:00:00.000000001Z", ""},
		{"whole second keeps the fraction width", time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), "2031-01-01T00:00:00.000000000Z", ""},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ns, err := encodeTime(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("encodeTime error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ns.Valid != (tt.want != "") || ns.String != tt.want {
				t.Errorf("encodeTime = %+v, want %q", ns, tt.want)
			}
			back, err := decodeTime(ns)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Equal(tt.in) || back.Location() != time.UTC {
				t.Errorf("decodeTime = %v, want %v in UTC", back, tt.in)
			}
		})
	}
}

// benchTime is the benchmarks' clock.
var benchTime = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)

// benchOrder stores an approved order with n domains.
func benchOrder(b *testing.B, s *Store, id string, n int) {
	b.Helper()
	ctx := b.Context()
	o := &store.Order{ID: id, AccountID: "acct", Method: "dns", Status: "approved", CreatedAt: benchTime}
	for i := range n {
		o.Authorizations = append(o.Authorizations, store.Authorization{
			Domain: fmt.Sprintf("d%d.example", i), Status: "approved", Value: "v",
		})
	}
	if err := s.OrderCreate(ctx, o, 0); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCheckRecord(b *testing.B) {
	s, _ := openTemp(b)
	ctx := b.Context()
	if err := s.AccountCreate(ctx, store.Account{ID: "acct"}, []byte("h")); err != nil {
		b.Fatal(err)
	}
	benchOrder(b, s, "o", 3)
	result := []byte(`{"domains":[{"domain":"d0.example","status":"pending","findings":[{"code":"DNS_TXT_MISSING"}]}]}`)
	findings := []byte(`[{"code":"DNS_TXT_MISSING"}]`)
	now := benchTime
	i := 0
	for b.Loop() {
		i++
		err := s.CheckRecord(ctx, store.CheckRecordParams{
			Check: store.Check{ID: fmt.Sprintf("c%d", i), OrderID: "o", CheckedAt: now.Add(time.Duration(i)), Result: result},
			Authorizations: []store.Authorization{
				{Domain: "d0.example", Status: "pending", LastCheckAt: now, Findings: findings},
				{Domain: "d1.example", Status: "pending", LastCheckAt: now, Findings: findings},
			},
			OrderStatus: "pending",
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCertificateIssue(b *testing.B) {
	s, _ := openTemp(b)
	ctx := b.Context()
	if err := s.AccountCreate(ctx, store.Account{ID: "acct"}, []byte("h")); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		benchOrder(b, s, fmt.Sprintf("o%d", i), 2)
	}
	sign := func(o *store.Order) (*store.Certificate, error) {
		return &store.Certificate{Serial: fmt.Sprintf("%x", o.ID), ChainPEM: "chain", SPKIHash: fakeSPKI}, nil
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.CertificateIssue(ctx, fmt.Sprintf("o%d", i), sign); err != nil {
			b.Fatal(err)
		}
	}
}

// latestVersion is the highest migration version embedded in the binary.
func latestVersion(t *testing.T) int {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	return ms[len(ms)-1].version
}

// TestPreparedQueriesComplete checks that every q* constant of the package
// is prepared at Open, so no query of the hot path is parsed per call.
func TestPreparedQueriesComplete(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	pkgs, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pkgs {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, sp := range gd.Specs {
				for _, id := range sp.(*ast.ValueSpec).Names {
					n := id.Name
					if len(n) < 2 || n[0] != 'q' || !unicode.IsUpper(rune(n[1])) || n == "qMigrationTableCreate" {
						continue
					}
					if _, ok := preparedQueries[n]; !ok {
						t.Errorf("%s is not in preparedQueries", n)
					}
				}
			}
		}
	}
}

// TestWALFramesCounted checks that a commit adds the pages it wrote to the
// WAL to dcv_sqlite_wal_frames (process-wide: other tests add theirs too).
func TestWALFramesCounted(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	before := statWALFrames.Value()
	err := s.AccountCreate(t.Context(), store.Account{ID: "acct", CreatedAt: time.Now()}, []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	if after := statWALFrames.Value(); after < before+2 {
		t.Errorf("dcv_sqlite_wal_frames went from %d to %d over a commit to two tables, want 2 or more more", before, after)
	}
}

// TestGroupCommit runs many concurrent writes, some of which fail or
// panic: each failed write is undone alone, every successful one is stored,
// and a write whose context is done never runs.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE g (k INTEGER PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	errOdd := errors.New("odd writes fail")
	const n = 200
	type outcome struct {
		k        int
		err      error
		panicked any
	}
	out := make(chan outcome, n)
	for k := range n {
		go func() {
			o := outcome{k: k}
			defer func() {
				o.panicked = recover()
				out <- o
			}()
			o.err = s.write(ctx, func(tx *txn) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO g (k) VALUES (?)`, k); err != nil {
					return err
				}
				switch {
				case k%10 == 5:
					panic("write panicked")
				case k%2 == 1:
					return errOdd
				}
				return nil
			})
		}()
	}
	for range n {
		o := <-out
		switch {
		case o.k%10 == 5:
			if o.panicked != "write panicked" {
				t.Errorf("write %d: recovered %v, want its panic", o.k, o.panicked)
			}
		case o.k%2 == 1:
			if !errors.Is(o.err, errOdd) {
				t.Errorf("write %d: err %v, want %v", o.k, o.err, errOdd)
			}
		default:
			if o.err != nil || o.panicked != nil {
				t.Errorf("write %d: err %v, panic %v", o.k, o.err, o.panicked)
			}
		}
	}
	var count, odd int
	if err := s.rd.db.QueryRow(`SELECT count(*), coalesce(sum(k % 2), 0) FROM g`).Scan(&count, &odd); err != nil {
		t.Fatal(err)
	}
	if count != n/2 || odd != 0 {
		t.Errorf("stored %d rows (%d odd), want %d even rows", count, odd, n/2)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	err := s.write(cctx, func(tx *txn) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("write with a done context: err %v, ran %v; want context.Canceled, not run", err, ran)
	}
}

// TestACMEAuthzGet checks the one-statement read of an authorization with
// its challenges: challenges in position order with their times, error
// and evidence, an authorization with no challenge, and unknown ids.
func TestACMEAuthzGet(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	err := s.ACMEAccountCreate(ctx, store.ACMEAccount{ID: "acct", KeyThumbprint: "tp", KeyJWK: []byte(`{}`), Status: store.ACMEAccountValid, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := s.ACMEAccountGet(ctx, "acct")
	if err != nil || acct.Contact == nil || len(acct.Contact) != 0 {
		t.Fatalf("ACMEAccountGet of an account without contact = %+v, %v; want an empty, non-nil Contact", acct, err)
	}
	authz := func(id, name string, types ...string) store.ACMEAuthz {
		z := store.ACMEAuthz{ID: id, AccountID: "acct", Identifier: name, Status: store.ACMEStatusPending, Token: "tok-" + id, ExpiresAt: at.Add(time.Hour), CreatedAt: at}
		for _, typ := range types {
			z.Challenges = append(z.Challenges, store.ACMEChallenge{Type: typ, Status: store.ACMEStatusPending})
		}
		return z
	}
	zs := []store.ACMEAuthz{authz("az1", "a.example", "tls-alpn-01", "http-01", "dns-01"), authz("az2", "b.example")}
	o := &store.ACMEOrder{Order: store.Order{ID: "o1", AccountID: "acct", Method: "acme", Status: "pending", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}, Authzs: zs}
	for _, z := range zs {
		o.Order.Authorizations = append(o.Order.Authorizations, store.Authorization{Domain: z.Identifier, Method: "acme", Status: "pending", Value: z.ID, ExpiresAt: at.Add(time.Hour)})
	}
	if err := s.ACMEOrderCreate(ctx, o, zs); err != nil {
		t.Fatal(err)
	}
	if err := s.ACMEChallengeStart(ctx, "az1", "http-01", at, at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	err = s.ACMEChallengeFinish(ctx, store.ACMEChallengeResult{AuthzID: "az1", Type: "http-01", Status: store.ACMEStatusInvalid, At: at.Add(time.Second),
		Error: []byte(`{"type":"x"}`), Evidence: []byte(`{"ok":false}`)})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		id        string
		wantTypes []string
		wantErr   error
	}{
		{name: "challenges in position order", id: "az1", wantTypes: []string{"tls-alpn-01", "http-01", "dns-01"}},
		{name: "no challenge", id: "az2"},
		{name: "unknown", id: "nosuch", wantErr: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			z, err := s.ACMEAuthzGet(ctx, tt.id)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ACMEAuthzGet(%s) error %v, want %v", tt.id, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if z.ID != tt.id || z.AccountID != "acct" || z.Token != "tok-"+tt.id || !z.ExpiresAt.Equal(at.Add(time.Hour)) || !z.CreatedAt.Equal(at) || !z.ValidatedAt.IsZero() {
				t.Errorf("authorization = %+v", z)
			}
			var types []string
			for _, c := range z.Challenges {
				types = append(types, c.Type)
			}
			if fmt.Sprint(types) != fmt.Sprint(tt.wantTypes) {
				t.Errorf("challenge types %v, want %v", types, tt.wantTypes)
			}
			if tt.id != "az1" {
				return
			}
			c := z.Challenges[1]
			if c.Status != store.ACMEStatusInvalid || !c.StartedAt.Equal(at) || !c.ValidatedAt.IsZero() ||
				string(c.Error) != `{"type":"x"}` || string(c.Evidence) != `{"ok":false}` {
				t.Errorf("http-01 challenge = %+v", c)
			}
			if c0 := z.Challenges[0]; c0.Status != store.ACMEStatusPending || !c0.StartedAt.IsZero() || c0.Error != nil || c0.Evidence != nil {
				t.Errorf("untouched challenge = %+v", c0)
			}
		})
	}
}

// TestMigration005KeepsChallenges checks that 005_lean_writes, down and
// then up again, keeps every challenge with its error and evidence.
func TestMigration005KeepsChallenges(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "dcv.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	z := pendingAuthz(at)
	z.Challenges = append(z.Challenges, store.ACMEChallenge{Type: "tls-alpn-01", Status: "pending"})
	createAuthzOrder(t, s, z)
	evidence := `{"observations":[{"perspective":"primary","status":200}]}`
	if err := s.ACMEChallengeComplete(ctx, store.ACMEChallengeResult{AuthzID: "z", Type: "http-01", Status: store.ACMEStatusInvalid,
		At: at, Error: []byte(`{"type":"urn:ietf:params:acme:error:unauthorized","detail":"404"}`), Evidence: []byte(evidence)}, at, at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	want, err := s.ACMEAuthzGet(ctx, "z")
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Challenges) != 3 || string(want.Challenges[0].Evidence) != evidence {
		t.Fatalf("before: challenges %+v", want.Challenges)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	// Down to 004: the later migrations first, then 005.
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].version < 5 {
			continue
		}
		if _, err := db.Exec(ms[i].down); err != nil {
			t.Fatalf("down %d: %v", ms[i].version, err)
		}
	}
	var gotEvidence, gotError string
	var pos int
	err = db.QueryRow(`SELECT evidence, error, position FROM acme_challenges WHERE authz_id = 'z' AND type = 'http-01'`).Scan(&gotEvidence, &gotError, &pos)
	if err != nil || gotEvidence != evidence || !strings.Contains(gotError, "unauthorized") || pos != 0 {
		t.Fatalf("after down: evidence %q, error %q, position %d, %v", gotEvidence, gotError, pos, err)
	}
	if _, err := db.Exec(`DELETE FROM dcv_migration WHERE version >= 5`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = Open(ctx, path) // applies 005 and the later ones again
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ACMEAuthzGet(ctx, "z")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after down and up:\n got %+v\nwant %+v", got, want)
	}
}

// fakeSPKI stands for the key of the tests' fake chains, which are no real
// certificates: the write that stores one checks it against blocked keys.
var fakeSPKI = make([]byte, 32)

// TestCRLNumberAcrossRestarts: CRL numbers keep increasing across a
// restart even when the clock stepped back meanwhile: the last one is in
// the database.
func TestCRLNumberAcrossRestarts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "dcv.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const t0 = int64(1_800_000_000_000_000) // microseconds
	var last int64
	for i, at := range []int64{t0, t0, t0 + 5, t0 + 1} {
		n, err := s.CRLNumberNext(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if n <= last || n < at {
			t.Fatalf("number %d: %d after %d (at least %d)", i, n, last, at)
		}
		last = n
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The clock stepped back ten seconds.
	n, err := s.CRLNumberNext(ctx, t0-10_000_000)
	if err != nil || n != last+1 {
		t.Errorf("after the restart: %d, %v; want %d", n, err, last+1)
	}
	if _, err := s.CRLNumberNext(ctx, -1); err == nil {
		t.Error("a negative number was accepted")
	}
}

// TestSchemaChange: Open reports the schema versions before and after its
// migrations, so that serve can say when an upgrade changed the database.
func TestSchemaChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	last := ms[len(ms)-1]
	path := filepath.Join(t.TempDir(), "dcv.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if from, to := st.SchemaChange(); from != 0 || to != last.version {
		t.Errorf("created: SchemaChange = %d, %d; want 0, %d", from, to, last.version)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// The database of the version before: its last migration undone.
	db := rawDB(t, path)
	if _, err := db.Exec(last.down); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM dcv_migration WHERE version = ?`, last.version); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]int{{last.version - 1, last.version}, {last.version, last.version}} {
		st, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if from, to := st.SchemaChange(); from != want[0] || to != want[1] {
			t.Errorf("SchemaChange = %d, %d; want %d, %d", from, to, want[0], want[1])
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBindCA: a database is bound to one CA and never rebound.
func TestBindCA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := openTemp(t)
	if fp, err := st.CABinding(ctx); err != nil || fp != "" {
		t.Fatalf("new database: CABinding = %q, %v; want none", fp, err)
	}
	for _, tt := range []struct {
		fp   string
		want error
	}{{"aa", nil}, {"aa", nil}, {"bb", store.ErrConflict}} {
		if err := st.BindCA(ctx, tt.fp); !errors.Is(err, tt.want) {
			t.Errorf("BindCA(%s) = %v, want %v", tt.fp, err, tt.want)
		}
	}
	if fp, err := st.CABinding(ctx); err != nil || fp != "aa" {
		t.Errorf("CABinding = %q, %v; want aa", fp, err)
	}
}

// TestErasedKeyLeavesNoTrace: a generated key erased after its delivery is
// gone from the database file, not only from its row: SQLite would leave
// the deleted bytes in the page's free space, and in every copy of the
// file (operator run: "erased" keys were still found with grep).
func TestErasedKeyLeavesNoTrace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, path := openTemp(t)
	if err := st.AccountCreate(ctx, store.Account{ID: "a", Name: "a", CreatedAt: time.Now()}, []byte("k")); err != nil {
		t.Fatal(err)
	}
	const marker = "ERASE-ME-4f1c9b2e7d3a"
	now := time.Now()
	err := st.OrderCreate(ctx, &store.Order{ID: "o", AccountID: "a", Method: "dns", Status: "issued", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		KeyPEM:         "-----BEGIN PRIVATE KEY-----\n" + strings.Repeat(marker, 8) + "\n-----END PRIVATE KEY-----\n",
		Authorizations: []store.Authorization{{Domain: "o.example", Method: "dns", Status: "issued", Value: "v", ExpiresAt: now.Add(time.Hour)}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.OrderTakeKey(ctx, "o", now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := st.OrderEraseKeys(ctx, now.Add(time.Hour), now); err != nil || n != 1 {
		t.Fatalf("OrderEraseKeys = %d, %v", n, err)
	}
	// The write-ahead log's frames are copied into the file and dropped
	// (a checkpoint; the log itself keeps old pages until it is reused,
	// which the README says).
	if _, err := rawDB(t, path).Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s still holds the erased key", filepath.Base(p))
		}
	}
}
