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
//     upgrade to writing. Read-only transactions begin deferred;
//   - wal_autocheckpoint=4000 (see walAutocheckpoint).
//
// ACMEAccountGet answers from a cache of a few seconds (see accountCache):
// changes made through the Store show at once, changes made to the file by
// anything else within accountCacheTTL. ACMEAuthzGet does the same (see
// authzCache), within authzCacheTTL.
//
// Times are stored as UTC RFC 3339 text with nine fractional digits and come
// back in UTC, equal (time.Time.Equal) to what was stored; the zero time is
// stored as NULL. Years outside 0000..9999 are refused.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"expvar"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// Pool sizes. SQLite (WAL) lets any number of readers run beside one
// writer; a second writer would only wait for the lock.
const (
	// writeConns is 1: every write transaction of this process goes through
	// one connection, so writers queue in database/sql (no busy polling,
	// no SQLITE_BUSY between goroutines) and its prepared statements and
	// page cache stay warm. busy_timeout still covers other processes and
	// the job queue's own pool.
	writeConns = 1
	// readConns bounds concurrent read transactions; they never wait for
	// the writer. Idle connections are kept (as many as open ones), so
	// their prepared statements and page caches are reused, not rebuilt.
	readConns = 4
)

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use; each method is one transaction.
type Store struct {
	wr *pool // the single writer connection, used by the committer only
	rd *pool // read-only transactions and single-statement reads

	writes  chan *writeReq // to the committer (unbuffered)
	lazy    bool           // the writer connection runs with synchronous=NORMAL; committer only
	closing chan struct{}  // closed by Close
	stopped chan struct{}  // closed when the committer has returned
	once    sync.Once

	// path and file are the database file as opened: Ping tells when the
	// path no longer leads to it (moved, deleted or replaced while open,
	// when every write would go to a file no restart finds).
	path string
	file os.FileInfo

	// schemaFrom and schemaTo are the schema versions before and after
	// the migrations Open applied (equal when none was).
	schemaFrom, schemaTo int

	// accounts caches ACMEAccountGet; every write that changes an ACME
	// account invalidates its entry (see accountCache).
	accounts *accountCache
	// authzs caches ACMEAuthzGet; every write that may change an ACME
	// authorization or its challenges invalidates its entry (see
	// authzCache).
	authzs *authzCache
	// certs holds the certificates ACMEOrderFinalize just stored, for
	// their download (see certCache).
	certs *certCache
}

var _ store.Store = (*Store)(nil)

// CABinding returns the SHA-256 fingerprint (hex) of the intermediate
// certificate whose certificates and revocations the database holds, or ""
// when none is recorded (a new database, or one from before migration 014).
func (s *Store) CABinding(ctx context.Context) (string, error) {
	var fp string
	err := s.rd.db.QueryRowContext(ctx, `SELECT value FROM dcv_meta WHERE key = 'ca_intermediate_sha256'`).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the CA binding: %w", err)
	}
	return fp, nil
}

// BindCA records fp as the fingerprint of the database's CA (see
// CABinding). A database bound to another fingerprint is
// store.ErrConflict: it is never rebound.
func (s *Store) BindCA(ctx context.Context, fp string) error {
	err := s.write(ctx, func(tx *txn) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT value FROM dcv_meta WHERE key = 'ca_intermediate_sha256'`).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO dcv_meta (key, value) VALUES ('ca_intermediate_sha256', ?)`, fp)
			return err
		case err != nil:
			return err
		case cur != fp:
			return fmt.Errorf("bound to the CA %s: %w", cur, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("binding the database to its CA: %w", err)
	}
	return nil
}

// CertificateCount returns how many certificates the database holds.
func (s *Store) CertificateCount(ctx context.Context) (int, error) {
	var n int
	if err := s.rd.db.QueryRowContext(ctx, `SELECT count(*) FROM certificates`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting certificates: %w", err)
	}
	return n, nil
}

// Ping reads a row of the accounts table on a read connection: it fails
// when the database is closed, cannot be read (an I/O error, a corrupt
// page), or does not answer before ctx ends.
func (s *Store) Ping(ctx context.Context) error {
	if fi, err := os.Stat(s.path); err != nil || !os.SameFile(fi, s.file) {
		// Still readable through the open file, but what is written now
		// is lost at the next start.
		return fmt.Errorf("the database file %s was moved, deleted or replaced while open", s.path)
	}
	var id string
	err := s.rd.db.QueryRowContext(ctx, `SELECT id FROM accounts LIMIT 1`).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading the database: %w", err)
	}
	return nil
}

// SchemaChange returns the schema version of the database before Open
// migrated it and after: equal when no migration was applied; from is 0
// for a database Open created.
func (s *Store) SchemaChange() (from, to int) { return s.schemaFrom, s.schemaTo }

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
	file, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sqlite: opening database: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: opening database: %w", err)
	}

	wdb, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening database %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(writeConns)
	wdb.SetMaxIdleConns(writeConns)
	rdb, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: opening database %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	s := &Store{wr: newPool(wdb), rd: newPool(rdb), path: path, file: file,
		writes: make(chan *writeReq), closing: make(chan struct{}), stopped: make(chan struct{}),
		accounts: newAccountCache(time.Now), authzs: newAuthzCache(time.Now), certs: newCertCache(time.Now)}
	go s.commitLoop()
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: opening database %s: %w", path, err)
	}
	for _, p := range []*pool{s.wr, s.rd} {
		if err := p.prepare(ctx, preparedQueries); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: opening database %s: %w", path, err)
		}
	}
	return s, nil
}

// Close closes the database. Calls in flight may fail; a write already
// committing finishes first.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.closing) })
	<-s.stopped
	return errors.Join(s.rd.close(), s.wr.close())
}

// write runs fn in a write transaction and commits it when fn returns
// nil; otherwise, or if fn panics, it rolls back what fn did (the panic
// goes on in the caller). write returns only once the commit is durable
// (synchronous=FULL: the WAL is fsynced).
//
// Group commit: one goroutine (committer) owns the writer connection. The
// writes queued while it commits run together in the next transaction
// (BEGIN IMMEDIATE), each but the first inside its own SAVEPOINT, so a
// failing fn is rolled back alone and the others see the database as if it
// had never run (a failing first write is undone by rolling the
// transaction back, and the next write begins another); one COMMIT, one
// fsync, then makes the whole group durable and each caller gets its own
// result. A failed COMMIT fails every write of the
// group: none of it is stored. Nothing waits for a group to fill: a write
// queued on an idle committer starts at once. Writes of this process
// never contend for SQLite's lock, and the fsync and WAL page writes are
// shared by the group.
//
// fn must not call the Store (the committer would wait for itself).
// ctx is checked before fn starts; once started, fn's statements run to
// completion (an interrupted statement would abort the whole group), and
// write waits for the group's commit whatever ctx does, so the caller
// never takes a committed write for a failed one.
func (s *Store) write(ctx context.Context, fn func(tx *txn) error) error {
	return s.enqueue(ctx, fn, false)
}

// writeLazy is write for a write whose durability may wait for the next
// durable one: a group made of lazy writes only is committed with
// synchronous=NORMAL, without an fsync. In WAL mode its commit is still
// atomic and visible to every reader at once, survives a crash of the
// process (it is in the WAL file), and the next durable commit's fsync
// covers it, since a WAL is replayed in order up to its last valid commit:
// after a power loss the database holds a prefix of the commits, never a
// durable write without the lazy ones committed before it. Use it only
// where losing the write together with everything after it is harmless.
func (s *Store) writeLazy(ctx context.Context, fn func(tx *txn) error) error {
	return s.enqueue(ctx, fn, true)
}

// Write counters, process-wide, published with expvar (`dcv serve
// --pprof-listen` serves them at /debug/vars): each durable commit is one
// fsync of the WAL, shared by the writes of its group.
var (
	statWrites         = expvar.NewInt("dcv_sqlite_writes")
	statDurableCommits = expvar.NewInt("dcv_sqlite_durable_commits")
	statLazyCommits    = expvar.NewInt("dcv_sqlite_lazy_commits")
	// statWALFrames counts the pages the writer appended to the WAL, each
	// a pwrite of a 24-byte frame header and one of the 4 KiB page, and
	// later copied back by a checkpoint: the cost of a write grows with it.
	statWALFrames = expvar.NewInt("dcv_sqlite_wal_frames")
)

// walAutocheckpoint is wal_autocheckpoint, in pages: the commit that leaves
// the WAL at least this long copies it back into the database file (a
// checkpoint: a pread and a pwrite of the newest version of each page in
// the WAL, and an fsync of each file), and the next write starts the WAL
// over. The pages that every insert rewrites (the right edges of the
// B-trees, and page 1) are copied once per checkpoint however often the WAL
// holds them, so a longer WAL copies fewer pages per write: in
// BenchmarkACMEFlow, SQLite's default of 1000 pages copied 10 to 12 pages
// per certificate, 4000 copies 6 to 7 (36 to 53 frames per certificate are
// appended either way). The WAL file then grows to about 16 MiB.
const walAutocheckpoint = 4000

// countFrames adds to statWALFrames the frames the writer connection
// appended since its last call (SQLITE_DBSTATUS_CACHE_WRITE, which it
// resets). It runs on the committer, after a commit.
func (s *Store) countFrames(ctx context.Context) {
	c, err := s.wr.db.Conn(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	c.Raw(func(dc any) error {
		if st, ok := dc.(sqlite.DBStatus); ok {
			if n, _, err := st.Status(sqlite.DBStatusCacheWrite, true); err == nil {
				statWALFrames.Add(int64(n))
			}
		}
		return nil
	})
}

func (s *Store) enqueue(ctx context.Context, fn func(tx *txn) error, lazy bool) error {
	req := &writeReq{ctx: ctx, fn: fn, lazy: lazy, done: make(chan struct{})}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		return fmt.Errorf("beginning write transaction: %w", ctx.Err())
	case <-s.closing:
		return errors.New("beginning write transaction: the store is closed")
	}
	<-req.done
	if req.panicked {
		panic(req.panicVal)
	}
	return req.err
}

// The savepoint of each write of a group (see write); prepared, like the
// queries, since every write runs two of them.
const (
	qSavepoint  = `SAVEPOINT w`
	qRelease    = `RELEASE w`
	qRollbackTo = `ROLLBACK TO w`
)

// maxGroup bounds the writes committed together, so one group holds the
// write lock for a bounded time.
const maxGroup = 64

// writeReq is one caller's write transaction, queued for the committer.
type writeReq struct {
	ctx  context.Context
	fn   func(tx *txn) error
	lazy bool          // see writeLazy
	done chan struct{} // closed when err (or the panic) is set

	err      error
	panicked bool
	panicVal any
}

// commitLoop is the committer goroutine: it runs queued writes in groups
// until Close.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	group := make([]*writeReq, 0, maxGroup)
	for {
		select {
		case r := <-s.writes:
			group = append(group[:0], r)
		case <-s.closing:
			return
		}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-s.writes:
				group = append(group, r)
			default:
				break drain
			}
		}
		s.commitGroup(group)
		clear(group)
	}
}

// commitGroup runs the group's writes in one transaction and reports to
// each caller.
func (s *Store) commitGroup(group []*writeReq) {
	finish := func(err error) {
		for _, r := range group {
			if r.err == nil && !r.panicked {
				r.err = err
			}
			close(r.done)
		}
	}
	// The transaction is the committer's, not one caller's: a caller
	// that gives up must not roll back the others' writes.
	ctx := context.Background()
	lazy := true
	for _, r := range group {
		lazy = lazy && r.lazy
	}
	if lazy != s.lazy {
		// Set outside any transaction, on the one writer connection.
		mode := "PRAGMA synchronous=FULL"
		if lazy {
			mode = "PRAGMA synchronous=NORMAL"
		}
		if _, err := s.wr.db.ExecContext(ctx, mode); err != nil {
			finish(fmt.Errorf("beginning write transaction: %w", err))
			return
		}
		s.lazy = lazy
	}
	var (
		tx     *sql.Tx // nil until the first write, and after a rollback
		t      *txn
		failed error // set when the transaction itself is unusable
		ran    int   // writes of tx whose fn ran and returned nil
	)
	for _, r := range group {
		if failed != nil {
			r.err = failed
			continue
		}
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("beginning write transaction: %w", err)
			continue
		}
		if tx == nil {
			var err error
			if tx, err = s.wr.db.BeginTx(ctx, nil); err != nil {
				failed = fmt.Errorf("beginning write transaction: %w", err)
				r.err = failed
				continue
			}
			t = &txn{tx: tx, stmts: s.wr}
		}
		if ran == 0 {
			// The first write of the transaction needs no savepoint (nor
			// SQLite the copy of each page it changes that a savepoint
			// keeps): if it fails, rolling the transaction back undoes it
			// alone, and the next write begins another.
			if s.runOne(r, t); r.err == nil && !r.panicked {
				ran++
				continue
			}
			tx.Rollback()
			tx = nil
			continue
		}
		if _, err := t.ExecContext(ctx, qSavepoint); err != nil {
			failed = fmt.Errorf("beginning write transaction: %w", err)
			r.err = failed
			continue
		}
		s.runOne(r, t)
		if r.err == nil && !r.panicked {
			if _, err := t.ExecContext(ctx, qRelease); err != nil {
				failed = fmt.Errorf("committing: %w", err)
				r.err = failed
				continue
			}
			ran++
			continue
		}
		// Undo this write alone. If SQLite already rolled the whole
		// transaction back (an I/O error, a full disk), this fails and
		// so does the rest of the group.
		if _, err := t.ExecContext(ctx, qRollbackTo); err != nil {
			failed = fmt.Errorf("rolling back a failed write: %w", err)
			continue
		}
		if _, err := t.ExecContext(ctx, qRelease); err != nil {
			failed = fmt.Errorf("rolling back a failed write: %w", err)
		}
	}
	if tx == nil {
		finish(failed)
		return
	}
	if failed != nil || ran == 0 {
		tx.Rollback()
		finish(failed)
		return
	}
	if err := tx.Commit(); err != nil {
		finish(fmt.Errorf("committing: %w", err))
		return
	}
	s.countFrames(ctx)
	statWrites.Add(int64(ran))
	if lazy {
		statLazyCommits.Add(1)
	} else {
		statDurableCommits.Add(1)
	}
	finish(nil)
}

// runOne runs one queued fn, catching its panic for the caller. Its
// statements run without the caller's cancellation (see write).
func (s *Store) runOne(r *writeReq, t *txn) {
	defer func() {
		if v := recover(); v != nil {
			r.panicked, r.panicVal = true, v
		}
	}()
	r.err = r.fn(t)
}

// read runs fn in a read-only transaction, a consistent snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *txn) error) error {
	tx, err := s.rd.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("beginning read transaction: %w", err)
	}
	defer tx.Rollback()
	return fn(&txn{tx: tx, stmts: s.rd})
}

// preparedQueries are the statements, by constant name, that Open
// prepares on both pools once the schema is current. Every q* constant of the package is listed
// (TestPreparedQueriesComplete checks it); one that is missing still
// works, unprepared, parsed again on every call.
var preparedQueries = map[string]string{
	"qOrderPendingCount":            qOrderPendingCount,
	"qOrderCancel":                  qOrderCancel,
	"qOrderKeyEraseHeld":            qOrderKeyEraseHeld,
	"qACMEAccountGet":               qACMEAccountGet,
	"qACMEAccountGetByThumbprint":   qACMEAccountGetByThumbprint,
	"qACMEAccountInsert":            qACMEAccountInsert,
	"qACMEAccountKeyChange":         qACMEAccountKeyChange,
	"qACMEAccountKeyGet":            qACMEAccountKeyGet,
	"qACMEAccountUpdate":            qACMEAccountUpdate,
	"qACMEAccountOrdersCancel":      qACMEAccountOrdersCancel,
	"qACMEAuthzDeactivate":          qACMEAuthzDeactivate,
	"qACMEAuthzExists":              qACMEAuthzExists,
	"qACMEAuthzFull":                qACMEAuthzFull,
	"qACMEAuthzInvalid":             qACMEAuthzInvalid,
	"qACMEAuthzReusableFull":        qACMEAuthzReusableFull,
	"qACMEAuthzValidate":            qACMEAuthzValidate,
	"qACMEChallengeFinish":          qACMEChallengeFinish,
	"qACMEChallengeComplete":        qACMEChallengeComplete,
	"qACMEChallengeEvidenceInsert":  qACMEChallengeEvidenceInsert,
	"qACMEChallengeStart":           qACMEChallengeStart,
	"qACMEOrderAuthzsFull":          qACMEOrderAuthzsFull,
	"qACMEOrderAuthzs":              qACMEOrderAuthzs,
	"qACMEOrderGet":                 qACMEOrderGet,
	"qACMEOrderInsert":              qACMEOrderInsert,
	"qACMEOrderListLive":            qACMEOrderListLive,
	"qACMEOrderListLiveAfter":       qACMEOrderListLiveAfter,
	"qACMEOrderNotReady":            qACMEOrderNotReady,
	"qACMEOrderReplaced":            qACMEOrderReplaced,
	"qAPIKeyInsert":                 qAPIKeyInsert,
	"qAPIKeysDelete":                qAPIKeysDelete,
	"qAccountGet":                   qAccountGet,
	"qAccountAdminExists":           qAccountAdminExists,
	"qAccountList":                  qAccountList,
	"qAccountGetByKeyHash":          qAccountGetByKeyHash,
	"qAccountInsert":                qAccountInsert,
	"qAuthzByAccount":               qAuthzByAccount,
	"qAuthzByOrder":                 qAuthzByOrder,
	"qAuthzCheckUpdate":             qAuthzCheckUpdate,
	"qAuthzIssued":                  qAuthzIssued,
	"qAuthzSetPendingStatus":        qAuthzSetPendingStatus,
	"qAuthzValuesByAccount":         qAuthzValuesByAccount,
	"qCAARecheckInsert":             qCAARecheckInsert,
	"qCAARechecksByOrder":           qCAARechecksByOrder,
	"qCertificateByOrder":           qCertificateByOrder,
	"qCertificateBySerial":          qCertificateBySerial,
	"qCertificateInsert":            qCertificateInsert,
	"qCheckInsert":                  qCheckInsert,
	"qOrderSetRecheck":              qOrderSetRecheck,
	"qOrderRecheckDue":              qOrderRecheckDue,
	"qCheckListByOrder":             qCheckListByOrder,
	"qCheckOfOrder":                 qCheckOfOrder,
	"qEABKeyBind":                   qEABKeyBind,
	"qEABKeyExists":                 qEABKeyExists,
	"qEABKeyGet":                    qEABKeyGet,
	"qEABKeyInsert":                 qEABKeyInsert,
	"qEABKeyList":                   qEABKeyList,
	"qEABKeyDelete":                 qEABKeyDelete,
	"qMigrationInsert":              qMigrationInsert,
	"qMigrationVersion":             qMigrationVersion,
	"qOrderApprove":                 qOrderApprove,
	"qOrderIssuedIfApproved":        qOrderIssuedIfApproved,
	"qOrderStatusGet":               qOrderStatusGet,
	"qOrderUnapprove":               qOrderUnapprove,
	"qOrderByAccount":               qOrderByAccount,
	"qOrderAll":                     qOrderAll,
	"qAuthzAll":                     qAuthzAll,
	"qOrderGet":                     qOrderGet,
	"qOrderApprovedIDs":             qOrderApprovedIDs,
	"qOrderInsert":                  qOrderInsert,
	"qOrderIssued":                  qOrderIssued,
	"qOrderReleaseUnrecordedChecks": qOrderReleaseUnrecordedChecks,
	"qOrderNextCheckEarlier":        qOrderNextCheckEarlier,
	"qOrderRetryFailedIssuance":     qOrderRetryFailedIssuance,
	"qAccountFirstAdmin":            qAccountFirstAdmin,
	"qOrderSigningTBSPut":           qOrderSigningTBSPut,
	"qOrderSigningTBSGet":           qOrderSigningTBSGet,
	"qOrderSigningTBSDrop":          qOrderSigningTBSDrop,
	"qOrderKeyErase":                qOrderKeyErase,
	"qOrderKeyGet":                  qOrderKeyGet,
	"qOrderNextCheck":               qOrderNextCheck,
	"qOrderReserveCheck":            qOrderReserveCheck,
	"qOrderSetStatus":               qOrderSetStatus,
	"qOrderStatusUpdate":            qOrderStatusUpdate,
	"qOrderCheckSlot":               qOrderCheckSlot,
	"qCRLNumberLast":                qCRLNumberLast,
	"qCRLNumberSet":                 qCRLNumberSet,
	"qOrderExists":                  qOrderExists,
	"qOrderSetRecheckIfDue":         qOrderSetRecheckIfDue,
	"qPerspectiveDelete":            qPerspectiveDelete,
	"qPerspectiveRenew":             qPerspectiveRenew,
	"qPerspectiveExists":            qPerspectiveExists,
	"qPerspectiveGet":               qPerspectiveGet,
	"qPerspectiveInsert":            qPerspectiveInsert,
	"qPerspectiveList":              qPerspectiveList,
	"qRevocationGet":                qRevocationGet,
	"qRevocationInsert":             qRevocationInsert,
	"qRevocationUnexpired":          qRevocationUnexpired,
	"qRevocationSetReason":          qRevocationSetReason,
	"qAccountNames":                 qAccountNames,
	"qOrderKeyDelivered":            qOrderKeyDelivered,
	"qOrderKeysErase":               qOrderKeysErase,
	"qOrderKeysEraseUnused":         qOrderKeysEraseUnused,
	"qOrderKeysEraseExpired":        qOrderKeysEraseExpired,
	"qCertificatesLive":             qCertificatesLive,
	"qKeyBlock":                     qKeyBlock,
	"qKeyBlocked":                   qKeyBlocked,
	"qKeyBlocksUnswept":             qKeyBlocksUnswept,
	"qKeyBlockSwept":                qKeyBlockSwept,
	"qSavepoint":                    qSavepoint,
	"qRelease":                      qRelease,
	"qRollbackTo":                   qRollbackTo,
}

// pool is a connection pool with its prepared statements: each query text
// is prepared once per connection and reused (SQLite otherwise parses and
// plans the SQL again on every call, which was a sixth of the server's
// CPU under ACME load).
//
// The statements are prepared at Open, never on a cache miss: preparing
// on the DB needs a free connection, and the writer pool has one, which a
// transaction asking for a statement holds. A query not prepared at Open
// runs unprepared.
type pool struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt // written only by prepare, before any use
}

func newPool(db *sql.DB) *pool {
	return &pool{db: db, stmts: make(map[string]*sql.Stmt)}
}

// prepare prepares each query on the pool. It runs in Open, before the
// Store is shared.
func (p *pool) prepare(ctx context.Context, queries map[string]string) error {
	for _, q := range queries {
		if _, ok := p.stmts[q]; ok {
			continue
		}
		st, err := p.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", q, err)
		}
		p.stmts[q] = st
	}
	return nil
}

func (p *pool) close() error {
	for _, st := range p.stmts {
		st.Close()
	}
	return p.db.Close()
}

// QueryContext runs a query outside a transaction.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := p.stmts[query]; ok {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query outside a transaction.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := p.stmts[query]; ok {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// txn is a transaction whose statements come from its pool's cache. A
// statement is prepared on the transaction's connection the first time
// that connection runs it (database/sql keeps it per connection).
type txn struct {
	tx    *sql.Tx
	stmts *pool
}

// ExecContext runs a statement in the transaction.
func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := t.stmts.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction.
func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := t.stmts.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the transaction.
func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := t.stmts.stmts[query]; ok {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
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
	// Statement and savepoint journals (see write) only undo work inside
	// an open transaction; a crash discards that anyway. In memory they
	// cost no temporary file per transaction. The WAL, which makes
	// commits durable, is not affected.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walAutocheckpoint))
	// Deleted and overwritten content (an erased private key) is zeroed
	// in its page rather than left in the page's free space, where a copy
	// of the file would keep it. FAST zeroes only what costs no extra
	// I/O: the pages written anyway.
	q.Add("_pragma", "secure_delete(FAST)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// Inspection is what Inspect reads of a database without changing it.
type Inspection struct {
	// Binding is the fingerprint of the database's CA (see CABinding), ""
	// when none is recorded.
	Binding string
	// Certificates is how many certificates the database holds.
	Certificates int
	// SomeChainPEM is the PEM chain of one of its certificates, "" when it
	// holds none: whose CA issued them, for a database bound to none.
	SomeChainPEM string
	// Schema is its schema version, 0 when it has no dcv schema (an empty
	// file, or another program's database).
	Schema int
	// Tables is how many tables it holds besides dcv's migration record:
	// 0 for an empty database.
	Tables int
}

// Inspect reads, read-only and without migrating it, the CA binding and
// the certificates of the database at path, of any schema version, so
// that a caller can refuse a database before Open changes it.
func Inspect(ctx context.Context, path string) (Inspection, error) {
	var in Inspection
	abs, err := filepath.Abs(path)
	if err != nil {
		return in, fmt.Errorf("inspecting %s: %w", path, err)
	}
	// A file: URI, its path escaped: a '#' or '%' in a directory's name
	// would cut or change the path (review).
	u := url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro&_pragma=" + url.QueryEscape(fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return in, fmt.Errorf("inspecting %s: %w", path, err)
	}
	defer db.Close()
	exists := func(table string) (bool, error) {
		var n int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&n)
		return n > 0, err
	}
	// dcv_migration alone is a first start cut short before the first
	// migration (review): no schema yet.
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name <> 'dcv_migration'`).Scan(&in.Tables); err != nil {
		return in, fmt.Errorf("inspecting %s: %w", path, err)
	}
	if ok, err := exists("dcv_migration"); err != nil {
		return in, fmt.Errorf("inspecting %s: %w", path, err)
	} else if ok {
		if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM dcv_migration`).Scan(&in.Schema); err != nil {
			return in, fmt.Errorf("inspecting %s: %w", path, err)
		}
	}
	if ok, err := exists("dcv_meta"); err != nil {
		return in, fmt.Errorf("inspecting %s: %w", path, err)
	} else if ok {
		err := db.QueryRowContext(ctx, `SELECT value FROM dcv_meta WHERE key = 'ca_intermediate_sha256'`).Scan(&in.Binding)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return in, fmt.Errorf("inspecting %s: %w", path, err)
		}
	}
	if ok, err := exists("certificates"); err != nil {
		return in, fmt.Errorf("inspecting %s: %w", path, err)
	} else if ok {
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM certificates`).Scan(&in.Certificates); err != nil {
			return in, fmt.Errorf("inspecting %s: %w", path, err)
		}
		err := db.QueryRowContext(ctx, `SELECT chain_pem FROM certificates LIMIT 1`).Scan(&in.SomeChainPEM)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return in, fmt.Errorf("inspecting %s: %w", path, err)
		}
	}
	return in, nil
}
