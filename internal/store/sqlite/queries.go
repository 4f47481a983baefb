package sqlite

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"strings"
	"time"
	"unicode"

	"github.com/dcvhq/dcv/internal/store"
)

// All of this backend's SQL, besides the schema in migrations/, is here.

const (
	qMigrationTableCreate = `CREATE TABLE IF NOT EXISTS dcv_migration (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT`
	qMigrationVersion = `SELECT coalesce(max(version), 0) FROM dcv_migration`
	qMigrationInsert  = `INSERT INTO dcv_migration (version, name) VALUES (?, ?)`

	qAccountInsert       = `INSERT INTO accounts (id, name, admin, created_at) VALUES (?, ?, ?, ?)`
	qAPIKeyInsert        = `INSERT INTO api_keys (key_hash, account_id, created_at) VALUES (?, ?, ?)`
	qAPIKeysDelete       = `DELETE FROM api_keys WHERE account_id = ?`
	qAccountGet          = `SELECT id, name, admin, created_at FROM accounts WHERE id = ?`
	qAccountGetByKeyHash = `SELECT a.id, a.name, a.admin, a.created_at
FROM api_keys k JOIN accounts a ON a.id = k.account_id
WHERE k.key_hash = ?`
	qAccountAdminExists = `SELECT EXISTS (SELECT 1 FROM accounts WHERE admin = 1)`
	qAccountList        = `SELECT id, name, admin, created_at FROM accounts WHERE id > ? ORDER BY id LIMIT ?`

	// qOrderPendingCount counts an account's live pending API orders (the
	// partial index orders_account_pending), with the first to expire.
	qOrderPendingCount = `SELECT count(*), min(expires_at) FROM orders
WHERE account_id = ? AND status = 'pending' AND method <> 'acme' AND expires_at > ?`
	// qOrderCancel refuses a pending API order.
	qOrderCancel = `UPDATE orders SET status = 'invalid', error = ?, recheck_at = NULL
WHERE id = ? AND status = 'pending' AND method <> 'acme'`
	qOrderInsert = `INSERT INTO orders (id, account_id, method, status, csr_pem, key_pem, key_delivered,
	created_at, expires_at, last_check_at, next_check_at, error)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	orderColumns = `id, account_id, method, status, csr_pem, key_pem, key_delivered,
	created_at, expires_at, last_check_at, next_check_at, error, recheck_at`
	authzColumns  = `order_id, domain, method, status, value, expires_at, last_check_at, findings`
	qOrderGet     = `SELECT ` + orderColumns + ` FROM orders WHERE id = ?`
	qAuthzByOrder = `SELECT ` + authzColumns + ` FROM authorizations WHERE order_id = ? ORDER BY position`
	// qOrderByAccount lists an account's orders (?1) newest first, from
	// the one after order ?2 in that order ('' for the newest), at most ?3.
	qOrderByAccount = `SELECT ` + orderColumns + ` FROM orders WHERE account_id = ?1
AND (?2 = '' OR (created_at, id) < (SELECT created_at, id FROM orders WHERE id = ?2))
ORDER BY created_at DESC, id DESC LIMIT ?3`
	// qAuthzByAccount returns the authorizations of exactly the orders
	// qOrderByAccount returns, given the same arguments.
	qAuthzByAccount = `SELECT ` + authzColumns + ` FROM authorizations
WHERE order_id IN (SELECT id FROM orders WHERE account_id = ?1
AND (?2 = '' OR (created_at, id) < (SELECT created_at, id FROM orders WHERE id = ?2))
ORDER BY created_at DESC, id DESC LIMIT ?3)
ORDER BY order_id, position`
	// qOrderAll lists every account's orders by id, newest first: ids
	// begin with the creation time. The primary key's index is read in
	// order, from the cursor on.
	qOrderAll = `SELECT ` + orderColumns + ` FROM orders WHERE id < ?1 ORDER BY id DESC LIMIT ?2`
	// qAuthzAll returns the authorizations of exactly the orders qOrderAll
	// returns, given the same arguments.
	qAuthzAll = `SELECT ` + authzColumns + ` FROM authorizations
WHERE order_id IN (SELECT id FROM orders WHERE id < ?1 ORDER BY id DESC LIMIT ?2)
ORDER BY order_id, position`
	// qOrderApprovedIDs repeats the condition of the partial index
	// orders_approved_created, which it reads in order.
	qOrderApprovedIDs     = `SELECT id FROM orders WHERE status = 'approved' AND error = '' ORDER BY created_at, id LIMIT ?`
	qOrderSetRecheck      = `UPDATE orders SET recheck_at = ? WHERE id = ?`
	qOrderSetRecheckIfDue = `UPDATE orders SET recheck_at = ?
WHERE id = ? AND recheck_at IS NOT NULL AND recheck_at <= ?`
	qOrderExists = `SELECT 1 FROM orders WHERE id = ?`
	// qOrderRecheckDue repeats the condition of the partial index
	// orders_recheck.
	qOrderRecheckDue = `SELECT id FROM orders WHERE status = 'pending' AND recheck_at IS NOT NULL AND recheck_at <= ?
ORDER BY recheck_at, id LIMIT ?`
	// qOrderReserveCheck is the compare-and-set of the check throttle.
	qOrderReserveCheck = `UPDATE orders SET last_check_at = ?, next_check_at = ?
WHERE id = ? AND (next_check_at IS NULL OR next_check_at <= ?)`
	qOrderNextCheck = `SELECT next_check_at FROM orders WHERE id = ?`
	// qOrderNextCheckEarlier moves an order's next check slot earlier.
	qOrderNextCheckEarlier = `UPDATE orders SET next_check_at = ?1 WHERE id = ?2 AND (next_check_at IS NULL OR next_check_at > ?1)`
	// qOrderSetStatus leaves an order that has its certificate as it is.
	qOrderSetStatus = `UPDATE orders SET status = ?, error = ?
WHERE id = ? AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = orders.id)`
	qAuthzSetPendingStatus = `UPDATE authorizations SET status = ? WHERE order_id = ? AND status = 'pending'`
	qOrderKeyGet           = `SELECT status, key_pem, key_delivered_at FROM orders WHERE id = ?`
	qOrderKeyDelivered     = `UPDATE orders SET key_delivered = 1, key_delivered_at = ? WHERE id = ?`
	qOrderKeyEraseHeld     = `UPDATE orders SET key_pem = '' WHERE id = ? AND key_pem <> ''`
	qOrderKeysErase        = `UPDATE orders SET key_pem = '' WHERE key_pem <> '' AND key_delivered_at IS NOT NULL AND key_delivered_at <= ?`
	qOrderKeysEraseUnused  = `UPDATE orders SET key_pem = '' WHERE key_pem <> '' AND status IN ('expired', 'invalid')`
	qOrderKeysEraseExpired = `UPDATE orders SET key_pem = '' WHERE key_pem <> '' AND status = 'issued'
AND (SELECT not_after FROM certificates WHERE certificates.order_id = orders.id) <= ?`
	qAccountNames  = `SELECT name FROM accounts`
	qOrderKeyErase = `UPDATE orders SET key_pem = '', key_delivered = 1 WHERE id = ?`

	qCheckInsert      = `INSERT INTO checks (id, order_id, checked_at, result) VALUES (?, ?, ?, ?)`
	qAuthzCheckUpdate = `UPDATE authorizations SET status = ?, last_check_at = ?, findings = ?
WHERE order_id = ? AND domain = ?`
	// qOrderStatusUpdate sets the status a check found; an approval ends
	// the error a CAA recheck left (the order is waiting for its
	// certificate again, and the issuance sweep lists it).
	qOrderStatusUpdate = `UPDATE orders SET status = ?1, error = CASE WHEN ?1 = 'approved' THEN '' ELSE error END WHERE id = ?2`
	qOrderCheckSlot    = `SELECT status, last_check_at FROM orders WHERE id = ?`
	// qCheckListByOrder lists an order's (?1) checks newest first, from
	// the one after check ?2 in that order ('' for the newest), at most ?3.
	qCheckListByOrder = `SELECT id, order_id, checked_at, result FROM checks WHERE order_id = ?1
AND (?2 = '' OR (checked_at, rowid) < (SELECT checked_at, rowid FROM checks WHERE id = ?2))
ORDER BY checked_at DESC, rowid DESC LIMIT ?3`
	qCheckOfOrder = `SELECT 1 FROM checks WHERE id = ? AND order_id = ?`

	qCAARecheckInsert   = `INSERT INTO caa_rechecks (id, order_id, domain, checked_at, allowed, evidence) VALUES (?, ?, ?, ?, ?, ?)`
	qCAARechecksByOrder = `SELECT id, order_id, domain, checked_at, allowed, evidence FROM caa_rechecks WHERE order_id = ?
ORDER BY checked_at, id`

	qAuthzValuesByAccount = `SELECT a.value FROM authorizations a JOIN orders o ON o.id = a.order_id
WHERE o.account_id = ? AND a.status = ? AND o.id <> ?
ORDER BY o.created_at DESC, o.id DESC, a.position LIMIT ?`

	certificateColumns  = `serial, order_id, chain_pem, not_before, not_after, created_at`
	qCertificateByOrder = `SELECT ` + certificateColumns + ` FROM certificates WHERE order_id = ?`
	qCertificateInsert  = `INSERT INTO certificates (` + certificateColumns + `) VALUES (?, ?, ?, ?, ?, ?)`
	qOrderIssued        = `UPDATE orders SET status = 'issued', error = '', signing_tbs = NULL WHERE id = ?`
	qAuthzIssued        = `UPDATE authorizations SET status = 'issued' WHERE order_id = ?`
)

// querier is what the scan helpers need of a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// AccountCreate stores a new account and the SHA-256 hash of its API key.
// A duplicate account id or key hash is store.ErrConflict.
func (s *Store) AccountCreate(ctx context.Context, a store.Account, keyHash []byte) error {
	if len(keyHash) == 0 {
		return fmt.Errorf("creating account %s: empty key hash", a.ID)
	}
	created, err := encodeTime(a.CreatedAt)
	if err != nil {
		return fmt.Errorf("creating account %s: %w", a.ID, err)
	}
	err = s.write(ctx, func(tx *txn) error {
		taken, err := accountNameTaken(ctx, tx, a.Name)
		if err != nil {
			return err
		}
		if taken != "" {
			return fmt.Errorf("an account named %q exists: %w", taken, store.ErrNameTaken)
		}
		if _, err := tx.ExecContext(ctx, qAccountInsert, a.ID, a.Name, a.Admin, created); err != nil {
			return classify(err)
		}
		if _, err := tx.ExecContext(ctx, qAPIKeyInsert, keyHash, a.ID, created); err != nil {
			return classify(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating account %s: %w", a.ID, err)
	}
	return nil
}

// AccountGetByKeyHash returns the account owning an API key hash, or
// store.ErrNotFound.
func (s *Store) AccountGetByKeyHash(ctx context.Context, keyHash []byte) (*store.Account, error) {
	var a store.Account
	err := s.rd.QueryRowContext(ctx, qAccountGetByKeyHash, keyHash).
		Scan(&a.ID, &a.Name, &a.Admin, nullTime{&a.CreatedAt})
	if err != nil {
		return nil, fmt.Errorf("getting account by key: %w", notFound(err))
	}
	return &a, nil
}

// AccountGet implements store.Store.
func (s *Store) AccountGet(ctx context.Context, id string) (*store.Account, error) {
	var a store.Account
	err := s.rd.QueryRowContext(ctx, qAccountGet, id).Scan(&a.ID, &a.Name, &a.Admin, nullTime{&a.CreatedAt})
	if err != nil {
		return nil, fmt.Errorf("getting account %s: %w", id, notFound(err))
	}
	return &a, nil
}

// AccountList returns the accounts by id after the account after, at most
// limit.
func (s *Store) AccountList(ctx context.Context, after string, limit int) ([]*store.Account, error) {
	if limit < 1 {
		return nil, nil
	}
	rows, err := s.rd.QueryContext(ctx, qAccountList, after, limit)
	if err != nil {
		return nil, fmt.Errorf("listing accounts: %w", err)
	}
	defer rows.Close()
	var out []*store.Account
	for rows.Next() {
		var a store.Account
		if err := rows.Scan(&a.ID, &a.Name, &a.Admin, nullTime{&a.CreatedAt}); err != nil {
			return nil, fmt.Errorf("listing accounts: %w", err)
		}
		out = append(out, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing accounts: %w", err)
	}
	return out, nil
}

// APIKeyReplace replaces the account's API keys with keyHash in one write.
func (s *Store) APIKeyReplace(ctx context.Context, accountID string, keyHash []byte, at time.Time) (*store.Account, error) {
	if len(keyHash) == 0 {
		return nil, fmt.Errorf("replacing the key of account %s: empty key hash", accountID)
	}
	created, err := encodeTime(at)
	if err != nil {
		return nil, fmt.Errorf("replacing the key of account %s: %w", accountID, err)
	}
	var a store.Account
	err = s.write(ctx, func(tx *txn) error {
		if err := tx.QueryRowContext(ctx, qAccountGet, accountID).Scan(&a.ID, &a.Name, &a.Admin, nullTime{&a.CreatedAt}); err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, qAPIKeysDelete, accountID); err != nil {
			return classify(err)
		}
		_, err := tx.ExecContext(ctx, qAPIKeyInsert, keyHash, accountID, created)
		return classify(err)
	})
	if err != nil {
		return nil, fmt.Errorf("replacing the key of account %s: %w", accountID, err)
	}
	return &a, nil
}

// qAccountFirstAdmin is the oldest admin account.
const qAccountFirstAdmin = `SELECT id FROM accounts WHERE admin = 1 ORDER BY created_at, id LIMIT 1`

// AccountFirstAdminID returns the id of the oldest admin account, or
// store.ErrNotFound.
func (s *Store) AccountFirstAdminID(ctx context.Context) (string, error) {
	var id string
	if err := s.rd.QueryRowContext(ctx, qAccountFirstAdmin).Scan(&id); err != nil {
		return "", notFound(err)
	}
	return id, nil
}

// AccountAdminExists reports whether an admin account exists.
func (s *Store) AccountAdminExists(ctx context.Context) (bool, error) {
	var ok bool
	if err := s.rd.QueryRowContext(ctx, qAccountAdminExists).Scan(&ok); err != nil {
		return false, fmt.Errorf("looking for an admin account: %w", err)
	}
	return ok, nil
}

// OrderCreate stores a new order with its authorizations, in slice order. A
// duplicate order id, or a domain listed twice, is store.ErrConflict; an
// unknown account is store.ErrNotFound.
func (s *Store) OrderCreate(ctx context.Context, o *store.Order, maxPending int) error {
	ts, err := encodeTimes(o.CreatedAt, o.ExpiresAt, o.LastCheckAt, o.NextCheckAt)
	if err != nil {
		return fmt.Errorf("creating order %s: %w", o.ID, err)
	}
	type authzRow struct{ expires, lastCheck sql.NullString }
	azs := make([]authzRow, len(o.Authorizations))
	for i, az := range o.Authorizations {
		t, err := encodeTimes(az.ExpiresAt, az.LastCheckAt)
		if err != nil {
			return fmt.Errorf("creating order %s: authorization %q: %w", o.ID, az.Domain, err)
		}
		azs[i] = authzRow{t[0], t[1]}
	}
	err = s.write(ctx, func(tx *txn) error {
		if maxPending > 0 {
			var n int
			var first sql.NullString
			if err := tx.QueryRowContext(ctx, qOrderPendingCount, o.AccountID, ts[0]).Scan(&n, &first); err != nil {
				return err
			}
			if n >= maxPending {
				next, err := decodeTime(first)
				if err != nil {
					return err
				}
				return &store.PendingLimitError{Pending: n, NextExpiry: next}
			}
		}
		_, err := tx.ExecContext(ctx, qOrderInsert, o.ID, o.AccountID, o.Method, o.Status, o.CSRPEM, o.KeyPEM,
			o.KeyDelivered, ts[0], ts[1], ts[2], ts[3], o.Error)
		if err != nil {
			return classify(err)
		}
		args := make([]any, 0, 9*len(o.Authorizations))
		for i, az := range o.Authorizations {
			args = append(args, o.ID, i, az.Domain, az.Method, az.Status, az.Value,
				azs[i].expires, azs[i].lastCheck, encodeJSON(az.Findings))
		}
		if err := insAuthz.exec(ctx, tx, args); err != nil {
			return fmt.Errorf("authorizations: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating order %s: %w", o.ID, err)
	}
	return nil
}

// OrderGet returns an order with its authorizations, or store.ErrNotFound.
func (s *Store) OrderGet(ctx context.Context, id string) (*store.Order, error) {
	o, err := readValue(ctx, s, func(tx *txn) (*store.Order, error) { return orderLoad(ctx, tx, id) })
	if err != nil {
		return nil, fmt.Errorf("getting order %s: %w", id, err)
	}
	return o, nil
}

// orderLoad reads an order and its authorizations within tx.
func orderLoad(ctx context.Context, tx querier, id string) (*store.Order, error) {
	o, err := scanOrder(tx.QueryRowContext(ctx, qOrderGet, id))
	if err != nil {
		return nil, notFound(err)
	}
	if err := orderAuthzsLoad(ctx, tx, o); err != nil {
		return nil, err
	}
	return o, nil
}

// orderAuthzsLoad appends o's authorization rows to o.Authorizations.
func orderAuthzsLoad(ctx context.Context, tx querier, o *store.Order) error {
	rows, err := tx.QueryContext(ctx, qAuthzByOrder, o.ID)
	if err != nil {
		return err
	}
	return scanAuthorizations(rows, func(_ string, az store.Authorization) error {
		o.Authorizations = append(o.Authorizations, az)
		return nil
	})
}

// OrderListByAccount returns an account's orders with their authorizations,
// newest first (by CreatedAt, then id), those after the order after (""
// for the newest), at most limit; none when limit < 1.
func (s *Store) OrderListByAccount(ctx context.Context, accountID, after string, limit int) ([]*store.Order, error) {
	out, err := s.orderList(ctx, qOrderByAccount, qAuthzByAccount, []any{accountID, after, limit}, limit)
	if err != nil {
		return nil, fmt.Errorf("listing orders of account %s: %w", accountID, err)
	}
	return out, nil
}

// OrderListAll returns every account's orders, newest first by id, after
// the order after ("" for the newest), at most limit.
func (s *Store) OrderListAll(ctx context.Context, after string, limit int) ([]*store.Order, error) {
	if after == "" {
		after = "\U0010FFFF" // above every id
	}
	out, err := s.orderList(ctx, qOrderAll, qAuthzAll, []any{after, limit}, limit)
	if err != nil {
		return nil, fmt.Errorf("listing orders: %w", err)
	}
	return out, nil
}

// orderList reads the orders of qOrders and their authorizations, of
// qAuthz (the same orders, given the same args), in one read transaction.
func (s *Store) orderList(ctx context.Context, qOrders, qAuthz string, args []any, limit int) ([]*store.Order, error) {
	if limit < 1 {
		return nil, nil
	}
	var out []*store.Order
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, qOrders, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		byID := map[string]*store.Order{}
		for rows.Next() {
			o, err := scanOrder(rows)
			if err != nil {
				return err
			}
			out = append(out, o)
			byID[o.ID] = o
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		arows, err := tx.QueryContext(ctx, qAuthz, args...)
		if err != nil {
			return err
		}
		return scanAuthorizations(arows, func(orderID string, az store.Authorization) error {
			o := byID[orderID]
			if o == nil {
				return fmt.Errorf("authorization %q of unlisted order %s", az.Domain, orderID)
			}
			o.Authorizations = append(o.Authorizations, az)
			return nil
		})
	})
	return out, err
}

// OrderListApprovedIDs returns the ids of the orders in status
// "approved" without an error text, oldest first (by CreatedAt, then id),
// at most limit; none when limit < 1.
func (s *Store) OrderListApprovedIDs(ctx context.Context, limit int) ([]string, error) {
	if limit < 1 {
		return nil, nil
	}
	ids, err := queryAll(ctx, s.rd, scanString, qOrderApprovedIDs, limit)
	if err != nil {
		return nil, fmt.Errorf("listing approved orders: %w", err)
	}
	return ids, nil
}

// OrderSetRecheck plans dcv's own next check of a pending order at at
// (zero: none). An unknown order is store.ErrNotFound.
func (s *Store) OrderSetRecheck(ctx context.Context, id string, at time.Time) error {
	t, err := encodeTime(at)
	if err != nil {
		return fmt.Errorf("planning the check of order %s: %w", id, err)
	}
	if err := s.writeLazy(ctx, func(tx *txn) error { return execOne(ctx, tx, qOrderSetRecheck, t, id) }); err != nil {
		return fmt.Errorf("planning the check of order %s: %w", id, err)
	}
	return nil
}

// OrderSetRecheckIfDue is OrderSetRecheck for an order whose planned check
// is not after now; another is left as it is. An unknown order is
// ErrNotFound.
func (s *Store) OrderSetRecheckIfDue(ctx context.Context, id string, now, at time.Time) error {
	ts, err := encodeTimes(at, now)
	if err != nil {
		return fmt.Errorf("planning the check of order %s: %w", id, err)
	}
	err = s.writeLazy(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, qOrderSetRecheckIfDue, ts[0], id, ts[1])
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var one int
		return notFound(tx.QueryRowContext(ctx, qOrderExists, id).Scan(&one))
	})
	if err != nil {
		return fmt.Errorf("planning the check of order %s: %w", id, err)
	}
	return nil
}

// OrderListRecheckDue returns the ids of the pending orders whose planned
// check is not after now, the longest waiting first, at most limit.
func (s *Store) OrderListRecheckDue(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, nil
	}
	t, err := encodeTime(now)
	if err != nil {
		return nil, fmt.Errorf("listing the orders to check: %w", err)
	}
	ids, err := queryAll(ctx, s.rd, scanString, qOrderRecheckDue, t, limit)
	if err != nil {
		return nil, fmt.Errorf("listing the orders to check: %w", err)
	}
	return ids, nil
}

// OrderReserveCheck takes the order's check slot: if NextCheckAt is zero or
// not after now, it sets LastCheckAt = now and NextCheckAt = next and
// returns ok. Otherwise it changes nothing and returns the current
// NextCheckAt. An unknown order is store.ErrNotFound.
func (s *Store) OrderReserveCheck(ctx context.Context, id string, now, next time.Time) (bool, time.Time, error) {
	ts, err := encodeTimes(now, next)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("reserving check of order %s: %w", id, err)
	}
	var (
		ok      bool
		retryAt time.Time
	)
	err = s.write(ctx, func(tx *txn) error {
		// The zero now is stored as NULL, which compares as nothing; it
		// reserves only an order never checked, as "zero or not after
		// the zero time" demands.
		res, err := tx.ExecContext(ctx, qOrderReserveCheck, ts[0], ts[1], id, ts[0])
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			ok = true
			return nil
		}
		return notFound(tx.QueryRowContext(ctx, qOrderNextCheck, id).Scan(nullTime{&retryAt}))
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("reserving check of order %s: %w", id, err)
	}
	return ok, retryAt, nil
}

// qOrderReleaseUnrecordedChecks: see OrderReleaseUnrecordedChecks. The
// times compare as text: encodeTime writes one fixed-width UTC form. It
// scans the orders, once per start.
const qOrderReleaseUnrecordedChecks = `UPDATE orders
SET last_check_at = (SELECT max(c.checked_at) FROM checks c WHERE c.order_id = orders.id), next_check_at = NULL
WHERE status = 'pending' AND last_check_at IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM checks c WHERE c.order_id = orders.id AND c.checked_at = orders.last_check_at)`

// OrderReleaseUnrecordedChecks gives back the check slots of pending
// orders whose reserved check was never recorded (see store.Store).
func (s *Store) OrderReleaseUnrecordedChecks(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, qOrderReleaseUnrecordedChecks)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("releasing unrecorded checks: %w", err)
	}
	return int(n), nil
}

// qOrderRetryFailedIssuance: see OrderRetryFailedIssuance. substr keeps
// the prefix literal (LIKE would read its _ and %).
const qOrderRetryFailedIssuance = `UPDATE orders SET error = '' WHERE status = 'approved' AND substr(error, 1, length(?1)) = ?1`

// OrderRetryFailedIssuance clears the error text of the approved orders
// whose error begins with prefix (see store.Store).
func (s *Store) OrderRetryFailedIssuance(ctx context.Context, prefix string) (int, error) {
	if prefix == "" {
		return 0, errors.New("retrying failed issuance: an empty prefix would match every approved order")
	}
	var n int64
	err := s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, qOrderRetryFailedIssuance, prefix)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("retrying failed issuance: %w", err)
	}
	return int(n), nil
}

// OrderSetStatus sets an order's status and error text, and, when
// authzStatus is not empty, the status of its pending authorizations. An
// unknown order is store.ErrNotFound.
func (s *Store) OrderSetStatus(ctx context.Context, id, status, authzStatus, errText string) error {
	err := s.write(ctx, func(tx *txn) error {
		err := execOne(ctx, tx, qOrderSetStatus, status, errText, id)
		if errors.Is(err, store.ErrNotFound) {
			return statusConflict(ctx, tx, id, ", with its certificate")
		}
		if err != nil {
			return err
		}
		if authzStatus == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, qAuthzSetPendingStatus, authzStatus, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("setting status of order %s: %w", id, err)
	}
	return nil
}

// statusConflict is the error of a conditional update of order id that
// changed nothing: ErrNotFound when there is no such order, else
// ErrConflict naming its status (and why, when given).
func statusConflict(ctx context.Context, tx *txn, id, why string) error {
	var cur string
	if err := tx.QueryRowContext(ctx, qOrderStatusGet, id).Scan(&cur); err != nil {
		return notFound(err)
	}
	return fmt.Errorf("order is %s%s: %w", cur, why, store.ErrConflict)
}

// OrderCancel implements store.Store.
func (s *Store) OrderCancel(ctx context.Context, id, errText string) error {
	err := s.write(ctx, func(tx *txn) error {
		err := execOne(ctx, tx, qOrderCancel, errText, id)
		if errors.Is(err, store.ErrNotFound) {
			return statusConflict(ctx, tx, id, "")
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, qAuthzSetPendingStatus, "invalid", id)
		return err
	})
	if err != nil {
		return fmt.Errorf("canceling order %s: %w", id, err)
	}
	return nil
}

// OrderTakeKey returns the generated private key of an issued order. The
// first call marks it delivered at now; the calls within keep of that
// return it again; the first call after keep erases it and, like a call
// for an order without a key (given a CSR, or erased), is
// store.ErrNotFound. An order holding a key that is not issued yet is
// store.ErrConflict.
func (s *Store) OrderTakeKey(ctx context.Context, id string, now time.Time, keep time.Duration) (string, error) {
	at, err := encodeTime(now)
	if err != nil || !at.Valid {
		return "", fmt.Errorf("taking key of order %s: bad time %v: %v", id, now, err)
	}
	var key string
	erased := false
	err = s.write(ctx, func(tx *txn) error {
		var status string
		var delivered sql.NullString
		if err := tx.QueryRowContext(ctx, qOrderKeyGet, id).Scan(&status, &key, &delivered); err != nil {
			return notFound(err)
		}
		if key == "" {
			return fmt.Errorf("no key to hand out: %w", store.ErrNotFound)
		}
		if status != "issued" {
			return fmt.Errorf("order is %s, not issued: %w", status, store.ErrConflict)
		}
		if !delivered.Valid {
			_, err := tx.ExecContext(ctx, qOrderKeyDelivered, at, id)
			return err
		}
		first, err := decodeTime(delivered)
		if err != nil {
			return err
		}
		if now.Before(first.Add(keep)) {
			return nil // handed out again
		}
		erased = true
		_, err = tx.ExecContext(ctx, qOrderKeyErase, id)
		return err
	})
	if err == nil && erased {
		err = fmt.Errorf("the key was handed out at its first download and kept for %s: %w", keep, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("taking key of order %s: %w", id, err)
	}
	return key, nil
}

// OrderEraseKeys erases the generated keys no one needs any more (see
// store.Store.OrderEraseKeys).
// OrderEraseKey implements store.Store.
func (s *Store) OrderEraseKey(ctx context.Context, id string) (bool, error) {
	var erased bool
	err := s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, qOrderKeyEraseHeld, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if erased = n > 0; !erased {
			var cur string
			return notFound(tx.QueryRowContext(ctx, qOrderStatusGet, id).Scan(&cur))
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("erasing the key of order %s: %w", id, err)
	}
	return erased, nil
}

func (s *Store) OrderEraseKeys(ctx context.Context, deliveredBefore, now time.Time) (int, error) {
	ts, err := encodeTimes(deliveredBefore, now)
	if err != nil || !ts[0].Valid || !ts[1].Valid {
		return 0, fmt.Errorf("erasing keys: bad times %v, %v: %v", deliveredBefore, now, err)
	}
	var n int64
	err = s.write(ctx, func(tx *txn) error {
		n = 0
		for _, q := range []struct {
			query string
			args  []any
		}{{qOrderKeysErase, []any{ts[0]}}, {qOrderKeysEraseUnused, nil}, {qOrderKeysEraseExpired, []any{ts[1]}}} {
			res, err := tx.ExecContext(ctx, q.query, q.args...)
			if err != nil {
				return err
			}
			m, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("erasing keys: %w", err)
	}
	return int(n), nil
}

// CheckRecord stores a check, the new states of the authorizations it
// checked and the order's new status, atomically: on any error nothing is
// written. Of each authorization it sets Status, LastCheckAt and Findings,
// matched by Domain (Value and ExpiresAt are not changed); a domain the
// order lacks is store.ErrNotFound, as is an unknown order. A duplicate
// check id is store.ErrConflict. An empty OrderStatus leaves the order's
// status unchanged.
func (s *Store) CheckRecord(ctx context.Context, p store.CheckRecordParams) error {
	c := p.Check
	checked, err := encodeTime(c.CheckedAt)
	if err != nil {
		return fmt.Errorf("recording check %s of order %s: %w", c.ID, c.OrderID, err)
	}
	recheck, err := encodeTime(p.RecheckAt)
	if err != nil {
		return fmt.Errorf("recording check %s of order %s: %w", c.ID, c.OrderID, err)
	}
	lastChecks := make([]sql.NullString, len(p.Authorizations))
	for i, az := range p.Authorizations {
		if lastChecks[i], err = encodeTime(az.LastCheckAt); err != nil {
			return fmt.Errorf("recording check %s of order %s: authorization %q: %w", c.ID, c.OrderID, az.Domain, err)
		}
	}
	var reserved sql.NullString
	if !p.ReservedAt.IsZero() {
		if reserved, err = encodeTime(p.ReservedAt); err != nil {
			return fmt.Errorf("recording check %s of order %s: %w", c.ID, c.OrderID, err)
		}
	}
	nextCheck, err := encodeTime(p.NextCheckAt)
	if err != nil {
		return fmt.Errorf("recording check %s of order %s: %w", c.ID, c.OrderID, err)
	}
	err = s.write(ctx, func(tx *txn) error {
		if reserved.Valid {
			var status string
			var last sql.NullString
			if err := notFound(tx.QueryRowContext(ctx, qOrderCheckSlot, c.OrderID).Scan(&status, &last)); err != nil {
				return err
			}
			if status != "pending" || last != reserved {
				return fmt.Errorf("order is %s, its check slot taken at %s, not %s: %w", status, last.String, reserved.String, store.ErrConflict)
			}
		}
		if _, err := tx.ExecContext(ctx, qCheckInsert, c.ID, c.OrderID, checked, string(c.Result)); err != nil {
			return classify(err)
		}
		for i, az := range p.Authorizations {
			err := execOne(ctx, tx, qAuthzCheckUpdate, az.Status, lastChecks[i], encodeJSON(az.Findings), c.OrderID, az.Domain)
			if err != nil {
				return fmt.Errorf("authorization %q: %w", az.Domain, err)
			}
		}
		if err := execOne(ctx, tx, qOrderSetRecheck, recheck, c.OrderID); err != nil {
			return err
		}
		if nextCheck.Valid {
			if _, err := tx.ExecContext(ctx, qOrderNextCheckEarlier, nextCheck, c.OrderID); err != nil {
				return err
			}
		}
		if p.OrderStatus == "" {
			return nil
		}
		return execOne(ctx, tx, qOrderStatusUpdate, p.OrderStatus, c.OrderID)
	})
	if err != nil {
		return fmt.Errorf("recording check %s of order %s: %w", c.ID, c.OrderID, err)
	}
	return nil
}

// CheckListByOrder returns an order's checks, newest first (by CheckedAt,
// then the order they were recorded in), those after the check after (""
// for the newest), at most limit; none for an unknown order or when limit
// < 1. An after that is not a check of the order is store.ErrNotFound.
func (s *Store) CheckListByOrder(ctx context.Context, orderID, after string, limit int) ([]store.Check, error) {
	if limit < 1 {
		return nil, nil
	}
	var out []store.Check
	err := s.read(ctx, func(tx *txn) error {
		if after != "" {
			var one int
			err := tx.QueryRowContext(ctx, qCheckOfOrder, after, orderID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("check %s: %w", after, store.ErrNotFound)
			}
			if err != nil {
				return err
			}
		}
		var err error
		out, err = queryAll(ctx, tx, scanCheck, qCheckListByOrder, orderID, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing checks of order %s: %w", orderID, err)
	}
	return out, nil
}

// scanCheck scans the columns of qCheckListByOrder.
func scanCheck(r scanner) (*store.Check, error) {
	var c store.Check
	if err := r.Scan(&c.ID, &c.OrderID, nullTime{&c.CheckedAt}, &c.Result); err != nil {
		return nil, err
	}
	return &c, nil
}

// CAARecheckRecord stores a CAA recheck, durably: a duplicate id is
// store.ErrConflict, evidence that is not JSON an error.
func (s *Store) CAARecheckRecord(ctx context.Context, r store.CAARecheck) error {
	checked, err := encodeTime(r.CheckedAt)
	if err != nil {
		return fmt.Errorf("recording the CAA recheck of %s for order %s: %w", r.Domain, r.OrderID, err)
	}
	err = s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, qCAARecheckInsert, r.ID, r.OrderID, r.Domain, checked, r.Allowed, string(r.Evidence))
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("recording the CAA recheck of %s for order %s: %w", r.Domain, r.OrderID, err)
	}
	return nil
}

// CAARechecksByOrder returns the CAA rechecks made for an order, oldest
// first; none for an unknown order.
func (s *Store) CAARechecksByOrder(ctx context.Context, orderID string) ([]store.CAARecheck, error) {
	out, err := queryAll(ctx, s.rd, scanCAARecheck, qCAARechecksByOrder, orderID)
	if err != nil {
		return nil, fmt.Errorf("listing the CAA rechecks of order %s: %w", orderID, err)
	}
	return out, nil
}

// scanCAARecheck scans the columns of qCAARechecksByOrder.
func scanCAARecheck(r scanner) (*store.CAARecheck, error) {
	var (
		c        store.CAARecheck
		evidence string
	)
	if err := r.Scan(&c.ID, &c.OrderID, &c.Domain, nullTime{&c.CheckedAt}, &c.Allowed, &evidence); err != nil {
		return nil, err
	}
	c.Evidence = []byte(evidence)
	return &c, nil
}

// CertificateIssue issues an order's certificate exactly once: inside one
// write transaction, which holds the database's write lock from its start,
// it loads the order; if the order already has a certificate it returns
// that one without calling sign; if the order is not "approved" it returns
// store.ErrConflict (naming the status), or store.ErrNotFound if there is no
// such order. Otherwise it calls sign with the order, stores the
// certificate, sets the order (clearing its error text) and all its
// authorizations to "issued", and commits. An error from sign rolls back and
// is returned as is.
//
// sign runs under the write lock, so every other write waits for it: it
// must be quick and honour no other lock on this store. The certificate it
// returns must have a lowercase hex Serial and an OrderID that is empty or
// orderID.
func (s *Store) CertificateIssue(ctx context.Context, orderID string, sign func(*store.Order) (*store.Certificate, error)) (*store.Certificate, error) {
	var (
		cert       *store.Certificate
		signFailed bool
	)
	err := s.write(ctx, func(tx *txn) error {
		o, err := orderLoad(ctx, tx, orderID)
		if err != nil {
			return err
		}
		existing, err := scanCertificate(tx.QueryRowContext(ctx, qCertificateByOrder, orderID))
		if err == nil {
			cert = existing
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if o.Status != "approved" {
			return fmt.Errorf("order is %s, not approved: %w", o.Status, store.ErrConflict)
		}
		c, err := sign(o)
		if err != nil {
			signFailed = true
			return err
		}
		cert, err = storeIssued(ctx, tx, orderID, c)
		return err
	})
	if signFailed {
		return nil, err // as is, per the contract
	}
	if err != nil {
		return nil, fmt.Errorf("issuing certificate of order %s: %w", orderID, err)
	}
	return cert, nil
}

const (
	// qOrderSigningTBSPut keeps the to-be-signed bytes of an approved order
	// that has none and no certificate.
	qOrderSigningTBSPut = `UPDATE orders SET signing_tbs = ? WHERE id = ? AND status = 'approved' AND signing_tbs IS NULL
AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = orders.id)`
	qOrderSigningTBSGet  = `SELECT status, signing_tbs, EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = orders.id) FROM orders WHERE id = ?`
	qOrderSigningTBSDrop = `UPDATE orders SET signing_tbs = NULL WHERE id = ? AND signing_tbs = ?`
)

// OrderSigningTBSPut keeps tbs as the to-be-signed bytes of the
// certificate about to be signed for order orderID, unless the order keeps
// some already, and returns the bytes kept: tbs, or those kept before. The
// order must be "approved" without a certificate, else ErrConflict;
// ErrNotFound for an unknown order. The write is committed before it
// returns, lazily: it survives a crash of the process, and the
// certificate's own durable write makes it durable too (see writeLazy).
func (s *Store) OrderSigningTBSPut(ctx context.Context, orderID string, tbs []byte) ([]byte, error) {
	if len(tbs) == 0 {
		return nil, fmt.Errorf("keeping the certificate to sign for order %s: no bytes", orderID)
	}
	var kept []byte
	err := s.writeLazy(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, qOrderSigningTBSPut, tbs, orderID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			kept = tbs
			return err
		}
		var (
			status string
			issued bool
		)
		if err := tx.QueryRowContext(ctx, qOrderSigningTBSGet, orderID).Scan(&status, &kept, &issued); err != nil {
			return notFound(err)
		}
		switch {
		case issued:
			return fmt.Errorf("order has its certificate: %w", store.ErrConflict)
		case status != "approved":
			return fmt.Errorf("order is %s, not approved: %w", status, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("keeping the certificate to sign for order %s: %w", orderID, err)
	}
	return kept, nil
}

// OrderSigningTBSDrop forgets the to-be-signed bytes kept for order
// orderID if they are tbs; other bytes, or none, are left as they are.
func (s *Store) OrderSigningTBSDrop(ctx context.Context, orderID string, tbs []byte) error {
	err := s.writeLazy(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, qOrderSigningTBSDrop, orderID, tbs)
		return err
	})
	if err != nil {
		return fmt.Errorf("forgetting the certificate to sign for order %s: %w", orderID, err)
	}
	return nil
}

// storeIssued stores c, the certificate sign returned for order orderID,
// and sets the order (clearing its error text) and all its authorizations
// to "issued", within tx. It returns the certificate as stored, whose
// OrderID is orderID. c must be non-nil, with a lowercase hex Serial and an
// OrderID that is empty or orderID.
func storeIssued(ctx context.Context, tx *txn, orderID string, c *store.Certificate) (*store.Certificate, error) {
	if err := execOne(ctx, tx, qOrderIssued, orderID); err != nil {
		return nil, err
	}
	return insertIssued(ctx, tx, orderID, c)
}

// insertIssued is storeIssued for an order already set to "issued": it
// stores the certificate and sets the order's Authorization rows to
// "issued".
func insertIssued(ctx context.Context, tx *txn, orderID string, c *store.Certificate) (*store.Certificate, error) {
	if c == nil {
		return nil, errors.New("sign returned no certificate")
	}
	if err := validSerial(c.Serial); err != nil {
		return nil, err
	}
	if c.OrderID != "" && c.OrderID != orderID {
		return nil, fmt.Errorf("sign returned a certificate of order %s", c.OrderID)
	}
	// Checked here, in the write that stores the certificate, so that a
	// key blocked before it commits is never certified (KeyBlock goes
	// through the same single writer). Without the hash, it is taken from
	// the leaf: the check is never skipped.
	spki := c.SPKIHash
	if len(spki) == 0 {
		var err error
		if spki, err = leafSPKIHash(c.ChainPEM); err != nil {
			return nil, fmt.Errorf("certificate %s: %w", c.Serial, err)
		}
	}
	var one int
	switch err := tx.QueryRowContext(ctx, qKeyBlocked, spki).Scan(&one); {
	case err == nil:
		return nil, store.ErrKeyBlocked
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	nc := *c
	nc.OrderID = orderID
	nc.SPKIHash = nil
	ts, err := encodeTimes(nc.NotBefore, nc.NotAfter, nc.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", nc.Serial, err)
	}
	_, err = tx.ExecContext(ctx, qCertificateInsert, nc.Serial, orderID, nc.ChainPEM, ts[0], ts[1], ts[2])
	if err != nil {
		return nil, fmt.Errorf("storing certificate %s: %w", nc.Serial, classify(err))
	}
	if _, err := tx.ExecContext(ctx, qAuthzIssued, orderID); err != nil {
		return nil, err
	}
	return &nc, nil
}

// validSerial checks that serial is non-empty lowercase hex, the form
// store.Certificate documents and the schema enforces.
func validSerial(serial string) error {
	if serial == "" || strings.Trim(serial, "0123456789abcdef") != "" {
		return fmt.Errorf("certificate serial %q is not lowercase hex", serial)
	}
	return nil
}

// CertificateGetByOrder returns an order's certificate, or store.ErrNotFound.
func (s *Store) CertificateGetByOrder(ctx context.Context, orderID string) (*store.Certificate, error) {
	c, err := scanCertificate(s.rd.QueryRowContext(ctx, qCertificateByOrder, orderID))
	if err != nil {
		return nil, fmt.Errorf("getting certificate of order %s: %w", orderID, notFound(err))
	}
	return c, nil
}

// execOne runs a statement that must change exactly one row; none is
// store.ErrNotFound.
func execOne(ctx context.Context, tx *txn, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// notFound turns sql.ErrNoRows, a query that found no row, into
// store.ErrNotFound; other errors pass as is.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// readValue runs load in a read transaction and returns what it loaded.
func readValue[T any](ctx context.Context, s *Store, load func(tx *txn) (T, error)) (T, error) {
	var v T
	err := s.read(ctx, func(tx *txn) error {
		var err error
		v, err = load(tx)
		return err
	})
	return v, err
}

// queryAll runs query and returns every row as scan reads it, closing the
// rows. Its errors are those of the driver and of scan, unwrapped.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

// scanString scans a one-column row of text.
func scanString(r scanner) (*string, error) {
	var v string
	if err := r.Scan(&v); err != nil {
		return nil, err
	}
	return &v, nil
}

// scanOrder scans orderColumns.
func scanOrder(r scanner, extra ...any) (*store.Order, error) {
	var o store.Order
	err := r.Scan(append([]any{&o.ID, &o.AccountID, &o.Method, &o.Status, &o.CSRPEM, &o.KeyPEM, &o.KeyDelivered,
		nullTime{&o.CreatedAt}, nullTime{&o.ExpiresAt}, nullTime{&o.LastCheckAt}, nullTime{&o.NextCheckAt}, &o.Error, nullTime{&o.RecheckAt}}, extra...)...)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// scanAuthorizations scans authzColumns of every row, passing each to fn
// with its order id, and closes rows.
func scanAuthorizations(rows *sql.Rows, fn func(orderID string, az store.Authorization) error) error {
	defer rows.Close()
	for rows.Next() {
		var (
			orderID  string
			az       store.Authorization
			findings sql.NullString
		)
		err := rows.Scan(&orderID, &az.Domain, &az.Method, &az.Status, &az.Value,
			nullTime{&az.ExpiresAt}, nullTime{&az.LastCheckAt}, &findings)
		if err != nil {
			return err
		}
		if findings.Valid {
			az.Findings = []byte(findings.String)
		}
		if err := fn(orderID, az); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanCertificate scans certificateColumns.
func scanCertificate(r scanner) (*store.Certificate, error) {
	var c store.Certificate
	err := r.Scan(&c.Serial, &c.OrderID, &c.ChainPEM, nullTime{&c.NotBefore}, nullTime{&c.NotAfter}, nullTime{&c.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// AuthorizationValuesByAccount returns the values of an account's
// authorizations in status, newest order first, except exceptOrder's.
func (s *Store) AuthorizationValuesByAccount(ctx context.Context, accountID, status, exceptOrder string, limit int) ([]string, error) {
	if limit < 1 {
		return nil, nil
	}
	out, err := queryAll(ctx, s.rd, scanString, qAuthzValuesByAccount, accountID, status, exceptOrder, limit)
	if err != nil {
		return nil, fmt.Errorf("listing values of account %s: %w", accountID, classify(err))
	}
	return out, nil
}

// leafSPKIHash returns the SHA-256 hash of the SubjectPublicKeyInfo of the
// first certificate of a PEM chain.
func leafSPKIHash(chainPEM string) ([]byte, error) {
	b, _ := pem.Decode([]byte(chainPEM))
	if b == nil {
		return nil, errors.New("the chain holds no PEM certificate")
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the chain's leaf does not parse: %w", err)
	}
	h := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return h[:], nil
}

// accountNameTaken returns the name of an account whose name folds to the
// same as name (Unicode compatibility forms and letter case aside: "Carol",
// "CAROL", "ｃａｒｏｌ"; "straße", "STRASSE"), or "". Accounts are made by
// an admin, a few hundred at most: reading their names is cheap.
func accountNameTaken(ctx context.Context, tx *txn, name string) (string, error) {
	want := foldName(name)
	rows, err := tx.QueryContext(ctx, qAccountNames)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return "", err
		}
		if foldName(n) == want {
			return n, nil
		}
	}
	return "", rows.Err()
}

// foldName is the form account names are compared in: NFKC, case folded,
// NFKC again (folding can denormalise), without the characters that show
// nothing (default-ignorable code points: zero-width joiners, variation
// selectors, direction marks), as Unicode's NFKC_Casefold drops them, so
// that "Ca<U+200C>rol" is "Carol".
func foldName(s string) string {
	// Dropped before the last NFKC: a joiner between a letter and its
	// combining mark keeps them from composing ("Jose\u200d\u0301").
	return norm.NFKC.String(strings.Map(func(r rune) rune {
		if defaultIgnorable(r) {
			return -1
		}
		return r
	}, cases.Fold().String(norm.NFKC.String(s))))
}

// defaultIgnorable approximates Unicode's Default_Ignorable_Code_Point
// with Go's tables: format characters other than prepended concatenation
// marks, variation selectors, and the other default-ignorable code points
// (Hangul fillers, the combining grapheme joiner, …).
func defaultIgnorable(r rune) bool {
	return unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) ||
		(unicode.Is(unicode.Cf, r) && !unicode.Is(unicode.Prepended_Concatenation_Mark, r))
}
