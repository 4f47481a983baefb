package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// The ACME queries (store.ACMEStore). The schema is migrations/003_acme.

const (
	qACMEAccountInsert = `INSERT INTO acme_accounts (id, key_thumbprint, key_jwk, status, contact, terms_agreed, eab_kid, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	acmeAccountColumns          = `id, key_thumbprint, key_jwk, status, contact, terms_agreed, eab_kid, created_at`
	qACMEAccountGet             = `SELECT ` + acmeAccountColumns + ` FROM acme_accounts WHERE id = ?`
	qACMEAccountGetByThumbprint = `SELECT ` + acmeAccountColumns + ` FROM acme_accounts WHERE key_thumbprint = ?`
	qACMEAccountUpdate          = `UPDATE acme_accounts SET contact = ?, terms_agreed = ?, status = ? WHERE id = ? AND status = 'valid'`
	qACMEAccountOrdersCancel    = `UPDATE orders SET status = 'invalid', error = ? WHERE account_id = ? AND status = 'pending'`
	qACMEAccountKeyGet          = `SELECT key_thumbprint FROM acme_accounts WHERE id = ?`
	qACMEAccountKeyChange       = `UPDATE acme_accounts SET key_thumbprint = ?, key_jwk = ? WHERE id = ? AND key_thumbprint = ?`
	qEABKeyBind                 = `UPDATE acme_eab_keys SET account_id = ?, bound_at = ? WHERE kid = ? AND account_id IS NULL`
	qEABKeyExists               = `SELECT EXISTS (SELECT 1 FROM acme_eab_keys WHERE kid = ?)`
	qEABKeyInsert               = `INSERT INTO acme_eab_keys (kid, hmac_key, created_by, account_id, created_at, bound_at) VALUES (?, ?, ?, NULL, ?, NULL)`
	qEABKeyGet                  = `SELECT kid, hmac_key, created_by, coalesce(account_id, ''), created_at, bound_at FROM acme_eab_keys WHERE kid = ?`
	// qEABKeyList: the keys before a cursor (lastKeyID for the first
	// page), newest first, a seek in the primary key.
	qEABKeyList   = `SELECT kid, hmac_key, created_by, coalesce(account_id, ''), created_at, bound_at FROM acme_eab_keys WHERE kid < ? ORDER BY kid DESC LIMIT ?`
	qEABKeyDelete = `DELETE FROM acme_eab_keys WHERE kid = ? AND account_id IS NULL`

	qACMEOrderInsert = `INSERT INTO acme_orders (order_id, profile, replaces, replaces_serial) VALUES (?, ?, ?, ?)`
	// qACMEOrderReplaced tells whether an order that is not invalid at ?2
	// (acmeOrderLive, ?5 the oldest validation allowed) replaces the
	// certificate ?1 (RFC 9773 §5). It repeats the condition of the
	// partial index acme_orders_replaces, so that the planner may use it
	// (it cannot tell that a bound serial is not ''); callers never pass ''.
	qACMEOrderReplaced = `SELECT EXISTS (SELECT 1 FROM acme_orders a JOIN orders o ON o.id = a.order_id
WHERE a.replaces_serial = ?1 AND a.replaces_serial <> '' AND ` + acmeOrderLive + `)`
	// qACMEOrderGet reads an ACME order's row (orderColumns) with its ACME
	// part and the serial of its certificate, if any: no row for an order
	// that is not an ACME one.
	qACMEOrderGet = `SELECT ` + orderColumns + `, a.profile, a.replaces, a.replaces_serial,
coalesce((SELECT c.serial FROM certificates c WHERE c.order_id = orders.id), '')
FROM orders JOIN acme_orders a ON a.order_id = orders.id WHERE orders.id = ?`
	// qACMEOrderListLive lists an account's ACME orders that are not
	// invalid at a time (?2), newest first: what ACMEOrderListLive
	// documents, the rule of the order's ACME view.
	qACMEOrderListLive = `SELECT o.id FROM orders o JOIN acme_orders a ON a.order_id = o.id
WHERE o.account_id = ?1 AND ` + acmeOrderLive + `
ORDER BY o.created_at DESC, o.id DESC LIMIT ?3`
	// qACMEOrderListLiveAfter is qACMEOrderListLive after the order ?4
	// of the account (a next page).
	qACMEOrderListLiveAfter = `SELECT o.id FROM orders o JOIN acme_orders a ON a.order_id = o.id
JOIN orders p ON p.id = ?4 AND p.account_id = ?1
WHERE o.account_id = ?1 AND (o.created_at, o.id) < (p.created_at, p.id) AND ` + acmeOrderLive + `
ORDER BY o.created_at DESC, o.id DESC LIMIT ?3`
	// acmeOrderLive is true for an order o that is not invalid at ?2, its
	// valid authorizations validated at ?5 or later.
	acmeOrderLive = `o.status NOT IN ('invalid', 'expired')
AND (o.status IN ('approved', 'issued') OR (o.expires_at > ?2 AND NOT EXISTS (
	SELECT 1 FROM acme_order_authzs oa JOIN acme_authzs z ON z.id = oa.authz_id
	WHERE oa.order_id = o.id AND (z.status NOT IN ('valid', 'pending') OR z.expires_at IS NULL OR z.expires_at <= ?2
		OR z.status = 'valid' AND z.validated_at < ?5))))`
	// qACMEOrderNotReady counts the order's authorizations that do not
	// allow finalization at a given time.
	qACMEOrderNotReady = `SELECT count(*) FROM acme_order_authzs oa JOIN acme_authzs z ON z.id = oa.authz_id
WHERE oa.order_id = ? AND (z.status <> 'valid' OR z.expires_at IS NULL OR z.expires_at <= ?)`
	qOrderApprove = `UPDATE orders SET csr_pem = ?, signing_tbs = ?, status = 'approved' WHERE id = ? AND status = 'pending'`
	// qOrderUnapprove undoes qOrderApprove when signing failed.
	qOrderUnapprove = `UPDATE orders SET csr_pem = ?, signing_tbs = NULL, status = 'pending'
WHERE id = ? AND status = 'approved' AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.order_id = orders.id)`
	qOrderStatusGet = `SELECT status FROM orders WHERE id = ?`
	// qOrderIssuedIfApproved is qOrderIssued for an order still approved.
	qOrderIssuedIfApproved = `UPDATE orders SET status = 'issued', error = '', signing_tbs = NULL WHERE id = ? AND status = 'approved'`

	// acmeAuthzFullColumns* are an authorization (z: NULL columns when a
	// LEFT JOIN finds none, with the first column false) and one of its challenges
	// (c, NULL when it has none): the q*Full queries read authorizations
	// with their challenges in one statement.
	acmeAuthzFullTail = `z.account_id, z.identifier, z.status, z.token, z.expires_at, z.validated_at, z.created_at,
c.type, c.status, c.started_at, c.validated_at, c.error, e.evidence`
	// acmeChallengeEvidenceJoin adds a challenge's evidence (e), if any, to
	// a query that reads challenges (c).
	acmeChallengeEvidenceJoin = `
LEFT JOIN acme_challenge_evidence e ON e.id = c.evidence_id`
	acmeAuthzFullColumnsZ  = `z.id IS NOT NULL, z.id, ` + acmeAuthzFullTail
	acmeAuthzFullColumnsOA = `z.id IS NOT NULL, oa.authz_id, ` + acmeAuthzFullTail
	qACMEAuthzFull         = `SELECT ` + acmeAuthzFullColumnsZ + ` FROM acme_authzs z
LEFT JOIN acme_challenges c ON c.authz_id = z.id` + acmeChallengeEvidenceJoin + `
WHERE z.id = ? ORDER BY c.position`
	qACMEAuthzReusableFull = `SELECT ` + acmeAuthzFullColumnsZ + ` FROM (SELECT * FROM acme_authzs
WHERE account_id = ? AND identifier = ? AND status = 'valid' AND validated_at >= ? AND expires_at > ?
ORDER BY validated_at DESC LIMIT 1) z
LEFT JOIN acme_challenges c ON c.authz_id = z.id` + acmeChallengeEvidenceJoin + `
ORDER BY c.position`
	qACMEOrderAuthzsFull = `SELECT ` + acmeAuthzFullColumnsOA + ` FROM acme_order_authzs oa
LEFT JOIN acme_authzs z ON z.id = oa.authz_id
LEFT JOIN acme_challenges c ON c.authz_id = z.id` + acmeChallengeEvidenceJoin + `
WHERE oa.order_id = ? ORDER BY oa.position, c.position`
	// qACMEOrderAuthzs reads an order's authorizations without their
	// challenges: the columns of acmeAuthzFullColumnsOA, the challenge's
	// NULL (no challenge row).
	qACMEOrderAuthzs = `SELECT z.id IS NOT NULL, oa.authz_id, z.account_id, z.identifier, z.status, z.token, z.expires_at, z.validated_at, z.created_at,
NULL, NULL, NULL, NULL, NULL, NULL FROM acme_order_authzs oa
LEFT JOIN acme_authzs z ON z.id = oa.authz_id
WHERE oa.order_id = ? ORDER BY oa.position`
	qACMEAuthzDeactivate = `UPDATE acme_authzs SET status = 'deactivated' WHERE id = ? AND status IN ('pending', 'valid')`
	qACMEAuthzExists     = `SELECT EXISTS (SELECT 1 FROM acme_authzs WHERE id = ?)`

	// qACMEChallengeEvidenceInsert stores a challenge's evidence, which
	// lives in its own table; the challenge's evidence_id points at it
	// (see migrations/005_lean_writes). An evidence row replaced by a later
	// one (a validation run again after a stale start) stays, unreferenced:
	// evidence is appended, never rewritten. That adds a row only when a
	// validation outlived the stale limit and was started again, at most
	// once per such restart.
	qACMEChallengeEvidenceInsert = `INSERT INTO acme_challenge_evidence (evidence) VALUES (?)`
	// qACMEChallengeStart is the compare-and-set of ACMEChallengeStart.
	qCRLNumberLast      = `SELECT number FROM crl_number WHERE id = 1`
	qCRLNumberSet       = `INSERT INTO crl_number (id, number) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET number = excluded.number`
	qACMEChallengeStart = `UPDATE acme_challenges SET status = 'processing', started_at = ?1, error = NULL
WHERE authz_id = ?2 AND type = ?3
AND EXISTS (SELECT 1 FROM acme_authzs z WHERE z.id = ?2 AND z.status = 'pending' AND z.expires_at > ?1)
AND ((status = 'pending' AND NOT EXISTS (SELECT 1 FROM acme_challenges o WHERE o.authz_id = ?2 AND o.status = 'processing'))
  OR (status = 'processing' AND started_at < ?4))`
	qACMEChallengeFinish = `UPDATE acme_challenges SET status = ?, validated_at = ?, error = ?, evidence_id = ?
WHERE authz_id = ? AND type = ? AND status = 'processing'`
	// qACMEChallengeComplete is qACMEChallengeStart's compare-and-set
	// (?1 started, ?2 authorization, ?3 type, ?4 stale before) writing the
	// outcome qACMEChallengeFinish would write next (?5 status, ?6
	// validated, ?7 error, ?8 evidence), in one statement.
	qACMEChallengeComplete = `UPDATE acme_challenges SET status = ?5, started_at = ?1, validated_at = ?6, error = ?7, evidence_id = ?8
WHERE authz_id = ?2 AND type = ?3
AND EXISTS (SELECT 1 FROM acme_authzs z WHERE z.id = ?2 AND z.status = 'pending' AND z.expires_at > ?1)
AND ((status = 'pending' AND NOT EXISTS (SELECT 1 FROM acme_challenges o WHERE o.authz_id = ?2 AND o.status = 'processing'))
  OR (status = 'processing' AND started_at < ?4))`
	qACMEAuthzValidate = `UPDATE acme_authzs SET status = 'valid', validated_at = ?, expires_at = ? WHERE id = ? AND status = 'pending'`
	qACMEAuthzInvalid  = `UPDATE acme_authzs SET status = 'invalid' WHERE id = ? AND status = 'pending'`

	// qCertificateBySerial reads a certificate and its order's account
	// (certificates.order_id references orders: the join finds one row).
	qCertificateBySerial = `SELECT c.serial, c.order_id, c.chain_pem, c.not_before, c.not_after, c.created_at, o.account_id
FROM certificates c JOIN orders o ON o.id = c.order_id WHERE c.serial = ?`
	qRevocationInsert = `INSERT INTO revocations (serial, reason, revoked_at) VALUES (?, ?, ?)`
	qRevocationGet    = `SELECT r.serial, r.reason, r.revoked_at, c.not_after
FROM revocations r JOIN certificates c ON c.serial = r.serial WHERE r.serial = ?`
	qRevocationUnexpired = `SELECT r.serial, r.reason, r.revoked_at, c.not_after
FROM revocations r JOIN certificates c ON c.serial = r.serial WHERE c.not_after >= ?
ORDER BY r.revoked_at, r.serial`
)

// ACMEAccountCreate stores a new ACME account and its accounts row, binding
// its EAB key when it names one. It changes no account that the account
// cache may hold: a cached id exists already, and creating it again fails.
func (s *Store) ACMEAccountCreate(ctx context.Context, a store.ACMEAccount) error {
	created, err := encodeTime(a.CreatedAt)
	if err != nil {
		return fmt.Errorf("creating acme account %s: %w", a.ID, err)
	}
	contact, err := encodeContact(a.Contact)
	if err != nil {
		return fmt.Errorf("creating acme account %s: %w", a.ID, err)
	}
	err = s.write(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, qAccountInsert, a.ID, "acme", false, created); err != nil {
			return classify(err)
		}
		_, err := tx.ExecContext(ctx, qACMEAccountInsert, a.ID, a.KeyThumbprint, string(a.KeyJWK), a.Status,
			contact, a.TermsAgreed, a.EABKeyID, created)
		if err != nil {
			return classify(err)
		}
		if a.EABKeyID == "" {
			return nil
		}
		err = execOne(ctx, tx, qEABKeyBind, a.ID, created, a.EABKeyID)
		if errors.Is(err, store.ErrNotFound) {
			var exists bool
			if err := tx.QueryRowContext(ctx, qEABKeyExists, a.EABKeyID).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return fmt.Errorf("eab key %s is already bound: %w", a.EABKeyID, store.ErrConflict)
			}
			return fmt.Errorf("eab key %s: %w", a.EABKeyID, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("creating acme account %s: %w", a.ID, err)
	}
	return nil
}

func encodeContact(c []string) (string, error) {
	if c == nil {
		c = []string{}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding contact: %w", err)
	}
	return string(b), nil
}

// ACMEAccountGet returns an ACME account, or store.ErrNotFound. It may
// answer from memory (see accountCache): every change made through this
// Store shows at once, a change made outside it (another process) within
// accountCacheTTL.
func (s *Store) ACMEAccountGet(ctx context.Context, id string) (*store.ACMEAccount, error) {
	if a, ok := s.accounts.get(id); ok {
		return a, nil
	}
	gen := s.accounts.begin(id)
	a, err := scanACMEAccount(s.rd.QueryRowContext(ctx, qACMEAccountGet, id))
	if err != nil {
		return nil, fmt.Errorf("getting acme account %s: %w", id, err)
	}
	s.accounts.put(gen, a)
	return a, nil
}

// ACMEAccountGetByThumbprint returns the account with this key, or
// store.ErrNotFound.
func (s *Store) ACMEAccountGetByThumbprint(ctx context.Context, thumbprint string) (*store.ACMEAccount, error) {
	a, err := scanACMEAccount(s.rd.QueryRowContext(ctx, qACMEAccountGetByThumbprint, thumbprint))
	if err != nil {
		return nil, fmt.Errorf("getting acme account by key: %w", err)
	}
	return a, nil
}

func scanACMEAccount(r scanner) (*store.ACMEAccount, error) {
	var (
		a       store.ACMEAccount
		jwk     string
		contact string
	)
	err := r.Scan(&a.ID, &a.KeyThumbprint, &jwk, &a.Status, &contact, &a.TermsAgreed, &a.EABKeyID, nullTime{&a.CreatedAt})
	if err != nil {
		return nil, notFound(err)
	}
	a.KeyJWK = []byte(jwk)
	// Most accounts have no contact (stored "[]"): skip the JSON decoder,
	// which every authenticated ACME request would otherwise run, with the
	// same result.
	if contact == "[]" {
		a.Contact = []string{}
	} else if err := json.Unmarshal([]byte(contact), &a.Contact); err != nil {
		return nil, fmt.Errorf("decoding stored contact: %w", err)
	}
	return &a, nil
}

// ACMEAccountUpdate sets the contact, ToS agreement and status of an account.
func (s *Store) ACMEAccountUpdate(ctx context.Context, a store.ACMEAccount) error {
	contact, err := encodeContact(a.Contact)
	if err != nil {
		return fmt.Errorf("updating acme account %s: %w", a.ID, err)
	}
	defer s.accounts.invalidate(a.ID)(nil)
	err = s.write(ctx, func(tx *txn) error {
		if err := execOne(ctx, tx, qACMEAccountUpdate, contact, a.TermsAgreed, a.Status, a.ID); err != nil || a.Status == store.ACMEAccountValid {
			return err
		}
		_, err := tx.ExecContext(ctx, qACMEAccountOrdersCancel, store.OrderErrorAccountClosed+a.Status, a.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("updating acme account %s: %w", a.ID, err)
	}
	return nil
}

// ACMEAccountKeyChange replaces an account's key, compare-and-set on the
// old thumbprint.
func (s *Store) ACMEAccountKeyChange(ctx context.Context, id, oldThumbprint, newThumbprint string, newJWK []byte) error {
	defer s.accounts.invalidate(id)(nil)
	err := s.write(ctx, func(tx *txn) error {
		var cur string
		if err := tx.QueryRowContext(ctx, qACMEAccountKeyGet, id).Scan(&cur); err != nil {
			return notFound(err)
		}
		if cur != oldThumbprint {
			return fmt.Errorf("the account key changed meanwhile: %w", store.ErrConflict)
		}
		return execOne(ctx, tx, qACMEAccountKeyChange, newThumbprint, string(newJWK), id, oldThumbprint)
	})
	if err != nil {
		return fmt.Errorf("changing key of acme account %s: %w", id, err)
	}
	return nil
}

// EABKeyCreate stores a new, unbound EAB key.
func (s *Store) EABKeyCreate(ctx context.Context, k store.EABKey) error {
	created, err := encodeTime(k.CreatedAt)
	if err != nil {
		return fmt.Errorf("creating eab key %s: %w", k.KeyID, err)
	}
	err = s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, qEABKeyInsert, k.KeyID, k.HMACKey, k.CreatedBy, created)
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("creating eab key %s: %w", k.KeyID, err)
	}
	return nil
}

// EABKeyGet returns an EAB key, or store.ErrNotFound.
func (s *Store) EABKeyGet(ctx context.Context, keyID string) (*store.EABKey, error) {
	var k store.EABKey
	err := s.rd.QueryRowContext(ctx, qEABKeyGet, keyID).
		Scan(&k.KeyID, &k.HMACKey, &k.CreatedBy, &k.AccountID, nullTime{&k.CreatedAt}, nullTime{&k.BoundAt})
	if err != nil {
		return nil, fmt.Errorf("getting eab key %s: %w", keyID, notFound(err))
	}
	return &k, nil
}

// lastKeyID sorts after every key id (SQLite compares TEXT as UTF-8 bytes;
// ids are ASCII): the cursor of a first page.
const lastKeyID = "\U0010FFFF"

// EABKeyList returns a page of EAB keys, newest first.
func (s *Store) EABKeyList(ctx context.Context, before string, limit int) ([]store.EABKey, error) {
	if before == "" {
		before = lastKeyID
	}
	rows, err := s.rd.QueryContext(ctx, qEABKeyList, before, limit)
	if err != nil {
		return nil, fmt.Errorf("listing eab keys: %w", err)
	}
	defer rows.Close()
	var out []store.EABKey
	for rows.Next() {
		var k store.EABKey
		if err := rows.Scan(&k.KeyID, &k.HMACKey, &k.CreatedBy, &k.AccountID, nullTime{&k.CreatedAt}, nullTime{&k.BoundAt}); err != nil {
			return nil, fmt.Errorf("listing eab keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing eab keys: %w", err)
	}
	return out, nil
}

// EABKeyDelete deletes an unbound EAB key. The write lock orders it with
// ACMEAccountCreate's binding: a key deleted first binds nothing (that
// account creation is ErrNotFound), a key bound first is ErrConflict here.
func (s *Store) EABKeyDelete(ctx context.Context, keyID string) error {
	err := s.write(ctx, func(tx *txn) error {
		err := execOne(ctx, tx, qEABKeyDelete, keyID)
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, qEABKeyExists, keyID).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("eab key %s binds an account: %w", keyID, store.ErrConflict)
		}
		return store.ErrNotFound
	})
	if err != nil {
		return fmt.Errorf("deleting eab key %s: %w", keyID, err)
	}
	return nil
}

// ACMEOrderCreate stores an ACME order, its new authorizations and their
// challenges in one transaction. Once committed, the new authorizations
// are cached as inserted (see authzCache).
func (s *Store) ACMEOrderCreate(ctx context.Context, o *store.ACMEOrder, newAuthzs []store.ACMEAuthz) error {
	ids := make([]string, len(newAuthzs))
	for i, z := range newAuthzs {
		ids[i] = z.ID
	}
	var committed []store.ACMEAuthz
	done := s.authzs.invalidate(ids...)
	defer func() { done(committed) }()
	err := s.write(ctx, func(tx *txn) error {
		if o.ReplacesSerial != "" {
			ts, err := encodeTimes(o.Order.CreatedAt, o.ValidatedSince)
			if err != nil {
				return err
			}
			var replaced bool
			// ?3 and ?4 are acmeOrderLive's neighbours' (unused here).
			if err := tx.QueryRowContext(ctx, qACMEOrderReplaced, o.ReplacesSerial, ts[0], nil, nil, ts[1].String).Scan(&replaced); err != nil {
				return err
			}
			if replaced {
				return fmt.Errorf("certificate %s is already replaced: %w", o.ReplacesSerial, store.ErrConflict)
			}
		}
		if err := orderInsert(ctx, tx, &o.Order); err != nil {
			return err
		}
		if err := acmeAuthzsInsert(ctx, tx, newAuthzs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qACMEOrderInsert, o.Order.ID, o.Profile, o.Replaces, o.ReplacesSerial); err != nil {
			return classify(err)
		}
		args := make([]any, 0, 3*len(o.Authzs))
		for i, z := range o.Authzs {
			args = append(args, o.Order.ID, i, z.ID)
		}
		if err := insACMEOrderAuthz.exec(ctx, tx, args); err != nil {
			return fmt.Errorf("authorizations of the order: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating acme order %s: %w", o.Order.ID, err)
	}
	committed = make([]store.ACMEAuthz, len(newAuthzs))
	for i, z := range newAuthzs {
		committed[i] = authzAsStored(z)
	}
	return nil
}

// orderInsert inserts an order row and its authorization rows.
func orderInsert(ctx context.Context, tx *txn, o *store.Order) error {
	ts, err := encodeTimes(o.CreatedAt, o.ExpiresAt, o.LastCheckAt, o.NextCheckAt)
	if err != nil {
		return err
	}
	args := make([]any, 0, 9*len(o.Authorizations))
	for i, az := range o.Authorizations {
		t, err := encodeTimes(az.ExpiresAt, az.LastCheckAt)
		if err != nil {
			return fmt.Errorf("authorization %q: %w", az.Domain, err)
		}
		args = append(args, o.ID, i, az.Domain, az.Method, az.Status, az.Value, t[0], t[1], encodeJSON(az.Findings))
	}
	_, err = tx.ExecContext(ctx, qOrderInsert, o.ID, o.AccountID, o.Method, o.Status, o.CSRPEM, o.KeyPEM,
		o.KeyDelivered, ts[0], ts[1], ts[2], ts[3], o.Error)
	if err != nil {
		return classify(err)
	}
	if err := insAuthz.exec(ctx, tx, args); err != nil {
		return fmt.Errorf("authorizations of order %s: %w", o.ID, err)
	}
	return nil
}

// acmeAuthzsInsert inserts new ACME authorizations and their challenges:
// the authorizations in one statement, the challenges in another (see
// rowsInsert), and the evidence of each challenge that has some.
func acmeAuthzsInsert(ctx context.Context, tx *txn, zs []store.ACMEAuthz) error {
	if len(zs) == 0 {
		return nil
	}
	zargs := make([]any, 0, 8*len(zs))
	var cargs []any
	for _, z := range zs {
		ts, err := encodeTimes(z.ExpiresAt, z.ValidatedAt, z.CreatedAt)
		if err != nil {
			return fmt.Errorf("authorization %s: %w", z.ID, err)
		}
		zargs = append(zargs, z.ID, z.AccountID, z.Identifier, z.Status, z.Token, ts[0], ts[1], ts[2])
		for i, c := range z.Challenges {
			ct, err := encodeTimes(c.StartedAt, c.ValidatedAt)
			if err != nil {
				return fmt.Errorf("challenge %s/%s: %w", z.ID, c.Type, err)
			}
			evidence, err := insertEvidence(ctx, tx, c.Evidence)
			if err != nil {
				return fmt.Errorf("challenge %s/%s: %w", z.ID, c.Type, err)
			}
			cargs = append(cargs, z.ID, i, c.Type, c.Status, ct[0], ct[1], encodeJSON(c.Error), evidence)
		}
	}
	if err := insACMEAuthz.exec(ctx, tx, zargs); err != nil {
		return fmt.Errorf("authorizations %s: %w", authzIDs(zs), err)
	}
	if err := insACMEChallenge.exec(ctx, tx, cargs); err != nil {
		return fmt.Errorf("challenges of %s: %w", authzIDs(zs), err)
	}
	return nil
}

// authzIDs lists the IDs of zs, for an error message.
func authzIDs(zs []store.ACMEAuthz) string {
	ids := make([]string, len(zs))
	for i, z := range zs {
		ids[i] = z.ID
	}
	return strings.Join(ids, ", ")
}

// ACMEOrderGet returns an ACME order with its authorizations, and their
// challenges only when some authorization is neither pending nor valid
// (see store.ACMEStore).
func (s *Store) ACMEOrderGet(ctx context.Context, id string) (*store.ACMEOrder, error) {
	return s.acmeOrderGet(ctx, id, false)
}

// ACMEOrderGetWithChallenges implements store.Store.
func (s *Store) ACMEOrderGetWithChallenges(ctx context.Context, id string) (*store.ACMEOrder, error) {
	return s.acmeOrderGet(ctx, id, true)
}

// acmeOrderGet reads an ACME order with its authorizations; their
// challenges always with full, else only when one of them failed.
func (s *Store) acmeOrderGet(ctx context.Context, id string, full bool) (*store.ACMEOrder, error) {
	var out *store.ACMEOrder
	err := s.read(ctx, func(tx *txn) error {
		ao := &store.ACMEOrder{}
		o, err := scanOrder(tx.QueryRowContext(ctx, qACMEOrderGet, id), &ao.Profile, &ao.Replaces, &ao.ReplacesSerial, &ao.CertificateSerial)
		if err != nil {
			return notFound(err) // no order, or not an ACME one
		}
		ao.Order = *o
		if err := orderAuthzsLoad(ctx, tx, &ao.Order); err != nil {
			return err
		}
		q := qACMEOrderAuthzs
		if full {
			q = qACMEOrderAuthzsFull
		}
		if ao.Authzs, err = acmeAuthzsLoad(ctx, tx, q, id); err != nil {
			return err
		}
		// Challenges explain a failed authorization; a pending or valid
		// one has no failed challenge, and the order's view needs none of
		// its challenges. In the same transaction (one snapshot), read
		// them all when some authorization is in another status.
		for _, z := range ao.Authzs {
			if !full && z.Status != store.ACMEStatusPending && z.Status != store.ACMEStatusValid {
				if ao.Authzs, err = acmeAuthzsLoad(ctx, tx, qACMEOrderAuthzsFull, id); err != nil {
					return err
				}
				break
			}
		}
		out = ao
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("getting acme order %s: %w", id, err)
	}
	return out, nil
}

// ACMEOrderListLive returns the ids of the account's ACME orders that are
// not invalid at now, newest first, after the order after if not "", at
// most limit; none when limit < 1.
func (s *Store) ACMEOrderListLive(ctx context.Context, accountID string, now, validatedSince time.Time, after string, limit int) ([]string, error) {
	if limit < 1 {
		return nil, nil
	}
	ts, err := encodeTimes(now, validatedSince)
	if err != nil {
		return nil, fmt.Errorf("listing acme orders of %s: %w", accountID, err)
	}
	// ?4 is the cursor, read by qACMEOrderListLiveAfter only; ?5 the oldest
	// validation allowed ('' when none is set: every text is after it).
	since := ts[1].String
	q, args := qACMEOrderListLive, []any{accountID, ts[0], limit, after, since}
	if after != "" {
		q = qACMEOrderListLiveAfter
	}
	ids, err := queryAll(ctx, s.rd, scanString, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing acme orders of %s: %w", accountID, err)
	}
	return ids, nil
}

// ACMEOrderFinalize approves and issues a ready order exactly once, in
// two short write transactions with the signing between them, so that no
// other write waits for a certificate to be signed and linted:
//
//  1. reserve: the order must be "pending" and every authorization valid
//     and unexpired at now (else store.ErrConflict, nothing changes); the
//     CSR is stored and the order set to "approved" (ACME "processing")
//     by compare-and-set, so of concurrent finalizations one alone goes
//     on, the others get store.ErrConflict;
//  2. sign runs with no lock held;
//  3. store: the certificate is stored and the order and its Authorization
//     rows set to "issued", if the order is still "approved" and has no
//     certificate. One stored meanwhile (see below) is returned instead;
//     the schema (certificates.order_id UNIQUE) keeps it at one.
//
// An error from sign undoes step 1 (the order is "pending" again, with the
// CSR it had) and is returned as is, as a rollback would. A crash between
// steps 1 and 3 leaves the order "approved" with its CSR and no
// certificate: the job runner's sweep of approved orders (order.Issue
// through CertificateIssue, every jobs.DefaultSweepInterval) issues it,
// exactly once. Step 1 is committed without an fsync of its own
// (writeLazy): step 3's durable commit makes it durable too, so a power
// loss before step 3 may undo it, leaving the order "pending" with no
// certificate issued, as if finalize had never been asked. Steps 2 and 3 do not stop when ctx is canceled after step
// 1, so a client that goes away does not leave the order to the sweep.
func (s *Store) ACMEOrderFinalize(ctx context.Context, orderID, csrPEM string, tbs []byte, now time.Time, sign func(*store.Order) (*store.Certificate, error)) (*store.Certificate, error) {
	nowText, err := encodeTime(now)
	if err != nil {
		return nil, fmt.Errorf("finalizing order %s: %w", orderID, err)
	}
	var (
		o       *store.Order
		prevCSR string
	)
	// The reservation need not be durable on its own: the certificate's
	// write (3) below is, and with it every write committed before it
	// (see writeLazy). Lost with a crash before (3), it leaves the order
	// pending, with no certificate issued.
	err = s.writeLazy(ctx, func(tx *txn) error {
		var notReady int
		if err := tx.QueryRowContext(ctx, qACMEOrderNotReady, orderID, nowText).Scan(&notReady); err != nil {
			return err
		}
		if notReady > 0 {
			return fmt.Errorf("%d authorizations are not valid: %w", notReady, store.ErrConflict)
		}
		var err error
		if o, err = orderLoad(ctx, tx, orderID); err != nil {
			return err
		}
		prevCSR = o.CSRPEM
		err = execOne(ctx, tx, qOrderApprove, csrPEM, tbs, orderID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("order is %s, not pending: %w", o.Status, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		// What qOrderApprove changed; nothing else of the order can
		// change within this transaction.
		o.Status, o.CSRPEM = "approved", csrPEM
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finalizing order %s: %w", orderID, err)
	}
	// The reservation is stored: finish it whatever the caller's ctx does.
	wctx := context.WithoutCancel(ctx)
	c, signErr := sign(o)
	if signErr != nil {
		var issued *store.Certificate
		err := s.write(wctx, func(tx *txn) error {
			res, err := tx.ExecContext(wctx, qOrderUnapprove, prevCSR, orderID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				return err
			}
			// Nothing undone: the order has its certificate already (the
			// sweep issued it meanwhile), and that is the answer.
			existing, err := scanCertificate(tx.QueryRowContext(wctx, qCertificateByOrder, orderID))
			if err == nil {
				issued = existing
				return nil
			}
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
		})
		if err != nil {
			// The order stays approved; the sweep will sign it again.
			return nil, errors.Join(signErr, fmt.Errorf("finalizing order %s: undoing the reservation: %w", orderID, err))
		}
		if issued != nil {
			return issued, nil
		}
		return nil, signErr
	}
	var cert *store.Certificate
	var issued store.Certificate // as stored by this call, with its account
	err = s.write(wctx, func(tx *txn) error {
		// The order still "approved" (the common case) has no certificate:
		// an order gets its certificate and leaves "approved" in one
		// transaction (storeIssued). One compare-and-set moves it on.
		err := execOne(wctx, tx, qOrderIssuedIfApproved, orderID)
		if errors.Is(err, store.ErrNotFound) {
			existing, err := scanCertificate(tx.QueryRowContext(wctx, qCertificateByOrder, orderID))
			if err == nil {
				cert = existing // issued meanwhile by the sweep
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			var status string
			if err := tx.QueryRowContext(wctx, qOrderStatusGet, orderID).Scan(&status); err != nil {
				return notFound(err)
			}
			return fmt.Errorf("order is %s, not approved: %w", status, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		cert, err = insertIssued(wctx, tx, orderID, c)
		if err == nil {
			issued = *cert
			issued.AccountID = o.AccountID
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("finalizing order %s: %w", orderID, err)
	}
	if issued.Serial != "" {
		// Committed: CertificateGetBySerial may answer the download from
		// memory, with the times as the database gives them back.
		issued.NotBefore, issued.NotAfter, issued.CreatedAt = asStoredTime(issued.NotBefore), asStoredTime(issued.NotAfter), asStoredTime(issued.CreatedAt)
		s.certs.invalidate(issued.Serial)([]store.Certificate{issued})
	}
	return cert, nil
}

// ACMEAuthzGet returns an authorization with its challenges. It may answer
// from memory (see authzCache): every change made through this Store shows
// at once, a change made outside it (another process) within
// authzCacheTTL.
func (s *Store) ACMEAuthzGet(ctx context.Context, id string) (*store.ACMEAuthz, error) {
	if z, ok := s.authzs.get(id); ok {
		return z, nil
	}
	gen := s.authzs.begin(id)
	z, err := acmeAuthzLoadOne(ctx, s.rd, qACMEAuthzFull, id)
	if err != nil {
		return nil, fmt.Errorf("getting acme authorization %s: %w", id, err)
	}
	s.authzs.put(gen, z)
	return z, nil
}

// acmeAuthzLoadOne runs query, one of the q*Full queries of at most one
// authorization, and returns it, or store.ErrNotFound. One statement reads
// a consistent snapshot of the authorization and its challenges, so no
// transaction is needed around it.
func acmeAuthzLoadOne(ctx context.Context, q querier, query string, args ...any) (*store.ACMEAuthz, error) {
	zs, err := acmeAuthzsLoad(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	if len(zs) == 0 {
		return nil, store.ErrNotFound
	}
	return &zs[0], nil
}

// acmeAuthzsLoad runs query, whose rows are acmeAuthzFullColumns* with the
// rows of one authorization together and its challenges in position order,
// and returns the authorizations in row order. A row whose authorization
// is missing (a dangling acme_order_authzs row) is an error naming it.
func acmeAuthzsLoad(ctx context.Context, q querier, query string, args ...any) ([]store.ACMEAuthz, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out []store.ACMEAuthz
		// The authorization's columns, repeated on each of its challenge
		// rows, are scanned as raw bytes (reused buffers) and decoded once
		// per authorization.
		exists                            bool
		id, acct, ident, status, token    sql.RawBytes
		expires, validated, created       sql.RawBytes
		cType, cStatus                    sql.NullString
		cStarted, cValidated, cErr, cEvid sql.NullString
	)
	for rows.Next() {
		err := rows.Scan(&exists, &id, &acct, &ident, &status, &token, &expires, &validated, &created,
			&cType, &cStatus, &cStarted, &cValidated, &cErr, &cEvid)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("authorization %s: %w", id, store.ErrNotFound)
		}
		if n := len(out); n == 0 || out[n-1].ID != string(id) {
			z := store.ACMEAuthz{ID: string(id), AccountID: string(acct), Identifier: string(ident), Status: string(status), Token: string(token)}
			for _, t := range []struct {
				dst *time.Time
				raw sql.RawBytes
			}{{&z.ExpiresAt, expires}, {&z.ValidatedAt, validated}, {&z.CreatedAt, created}} {
				if *t.dst, err = decodeTime(sql.NullString{String: string(t.raw), Valid: t.raw != nil}); err != nil {
					return nil, err
				}
			}
			out = append(out, z)
		}
		if !cType.Valid {
			continue // an authorization without challenges
		}
		c := store.ACMEChallenge{Type: cType.String, Status: cStatus.String}
		if c.StartedAt, err = decodeTime(cStarted); err != nil {
			return nil, err
		}
		if c.ValidatedAt, err = decodeTime(cValidated); err != nil {
			return nil, err
		}
		if cErr.Valid {
			c.Error = []byte(cErr.String)
		}
		if cEvid.Valid {
			c.Evidence = []byte(cEvid.String)
		}
		z := &out[len(out)-1]
		z.Challenges = append(z.Challenges, c)
	}
	return out, rows.Err()
}

// ACMEAuthzFindReusable returns the account's most recently validated
// reusable authorization of identifier.
func (s *Store) ACMEAuthzFindReusable(ctx context.Context, accountID, identifier string, validatedSince, now time.Time) (*store.ACMEAuthz, error) {
	ts, err := encodeTimes(validatedSince, now)
	if err != nil {
		return nil, fmt.Errorf("finding reusable authorization: %w", err)
	}
	z, err := acmeAuthzLoadOne(ctx, s.rd, qACMEAuthzReusableFull, accountID, identifier, ts[0], ts[1])
	if err != nil {
		return nil, fmt.Errorf("finding reusable authorization of %s: %w", identifier, err)
	}
	return z, nil
}

// ACMEAuthzDeactivate deactivates a pending or valid authorization.
func (s *Store) ACMEAuthzDeactivate(ctx context.Context, id string) error {
	defer s.authzs.invalidate(id)(nil)
	err := s.write(ctx, func(tx *txn) error {
		err := execOne(ctx, tx, qACMEAuthzDeactivate, id)
		if errors.Is(err, store.ErrNotFound) {
			return existsOr(ctx, tx, qACMEAuthzExists, id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("deactivating acme authorization %s: %w", id, err)
	}
	return nil
}

// existsOr turns "no row changed" into ErrConflict when the row exists and
// ErrNotFound when it does not.
func existsOr(ctx context.Context, tx *txn, q string, id string) error {
	var ok bool
	if err := tx.QueryRowContext(ctx, q, id).Scan(&ok); err != nil {
		return err
	}
	if ok {
		return store.ErrConflict
	}
	return store.ErrNotFound
}

// ACMEChallengeStart moves a challenge to processing (compare-and-set).
func (s *Store) ACMEChallengeStart(ctx context.Context, authzID, typ string, now, staleBefore time.Time) error {
	ts, err := encodeTimes(now, staleBefore)
	if err != nil {
		return fmt.Errorf("starting challenge %s/%s: %w", authzID, typ, err)
	}
	defer s.authzs.invalidate(authzID)(nil)
	err = s.write(ctx, func(tx *txn) error { return challengeStart(ctx, tx, authzID, typ, ts[0], ts[1]) })
	if err != nil {
		return fmt.Errorf("starting challenge %s/%s: %w", authzID, typ, err)
	}
	return nil
}

// challengeStart is ACMEChallengeStart's statement, inside tx.
func challengeStart(ctx context.Context, tx *txn, authzID, typ string, now, staleBefore sql.NullString) error {
	err := execOne(ctx, tx, qACMEChallengeStart, now, authzID, typ, staleBefore)
	if errors.Is(err, store.ErrNotFound) {
		return existsOr(ctx, tx, qACMEAuthzExists, authzID)
	}
	return err
}

// ACMEChallengeFinish records a validation outcome on the challenge and its
// authorization.
func (s *Store) ACMEChallengeFinish(ctx context.Context, r store.ACMEChallengeResult) error {
	fin, err := challengeFinisher(ctx, r, nil)
	if err != nil {
		return fmt.Errorf("finishing challenge %s/%s: %w", r.AuthzID, r.Type, err)
	}
	defer s.authzs.invalidate(r.AuthzID)(nil)
	if err := s.write(ctx, fin); err != nil {
		return fmt.Errorf("finishing challenge %s/%s: %w", r.AuthzID, r.Type, err)
	}
	return nil
}

// ACMEChallengeComplete records, in one transaction, the start (as
// ACMEChallengeStart at started) and the outcome (as ACMEChallengeFinish)
// of a validation that finished before its start was stored.
func (s *Store) ACMEChallengeComplete(ctx context.Context, r store.ACMEChallengeResult, started, staleBefore time.Time) error {
	ts, err := encodeTimes(started, staleBefore)
	if err != nil {
		return fmt.Errorf("completing challenge %s/%s: %w", r.AuthzID, r.Type, err)
	}
	fin, err := challengeFinisher(ctx, r, &[2]sql.NullString{ts[0], ts[1]})
	if err != nil {
		return fmt.Errorf("completing challenge %s/%s: %w", r.AuthzID, r.Type, err)
	}
	defer s.authzs.invalidate(r.AuthzID)(nil)
	if err := s.write(ctx, fin); err != nil {
		return fmt.Errorf("completing challenge %s/%s: %w", r.AuthzID, r.Type, err)
	}
	return nil
}

// insertEvidence stores a challenge's evidence in its own table and
// returns its id for the challenge's evidence_id, or NULL when there is
// none. A caller whose write then fails rolls the row back with the rest.
func insertEvidence(ctx context.Context, tx *txn, evidence []byte) (sql.NullInt64, error) {
	if len(evidence) == 0 {
		return sql.NullInt64{}, nil
	}
	res, err := tx.ExecContext(ctx, qACMEChallengeEvidenceInsert, string(evidence))
	if err != nil {
		return sql.NullInt64{}, classify(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return sql.NullInt64{}, err
	}
	return sql.NullInt64{Int64: id, Valid: true}, nil
}

// challengeFinisher checks r and returns ACMEChallengeFinish's statements
// as a write function; with start (started, stale before), those of
// ACMEChallengeComplete, whose compare-and-set is ACMEChallengeStart's.
func challengeFinisher(ctx context.Context, r store.ACMEChallengeResult, start *[2]sql.NullString) (func(tx *txn) error, error) {
	if r.Status != store.ACMEStatusValid && r.Status != store.ACMEStatusInvalid {
		return nil, fmt.Errorf("status %q is neither valid nor invalid", r.Status)
	}
	ts, err := encodeTimes(r.At, r.AuthzExpiresAt)
	if err != nil {
		return nil, err
	}
	validated := ts[0]
	if r.Status != store.ACMEStatusValid {
		validated = sql.NullString{}
	}
	return func(tx *txn) error {
		evidence, err := insertEvidence(ctx, tx, r.Evidence)
		if err != nil {
			return err
		}
		if start != nil {
			err = execOne(ctx, tx, qACMEChallengeComplete, start[0], r.AuthzID, r.Type, start[1], r.Status, validated, encodeJSON(r.Error), evidence)
		} else {
			err = execOne(ctx, tx, qACMEChallengeFinish, r.Status, validated, encodeJSON(r.Error), evidence, r.AuthzID, r.Type)
		}
		if errors.Is(err, store.ErrNotFound) {
			return existsOr(ctx, tx, qACMEAuthzExists, r.AuthzID)
		}
		if err != nil {
			return err
		}
		if r.Status == store.ACMEStatusValid {
			err = execOne(ctx, tx, qACMEAuthzValidate, ts[0], ts[1], r.AuthzID)
		} else {
			err = execOne(ctx, tx, qACMEAuthzInvalid, r.AuthzID)
		}
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("authorization is no longer pending: %w", store.ErrConflict)
		}
		return err
	}, nil
}

// CertificateGetBySerial returns a certificate by serial, with the
// account of its order. A certificate ACMEOrderFinalize stored within
// certCacheTTL comes from memory (see certCache).
func (s *Store) CertificateGetBySerial(ctx context.Context, serial string) (*store.Certificate, error) {
	serial = strings.ToLower(serial)
	if c, ok := s.certs.get(serial); ok {
		return c, nil
	}
	var c store.Certificate
	err := s.rd.QueryRowContext(ctx, qCertificateBySerial, serial).Scan(&c.Serial, &c.OrderID, &c.ChainPEM,
		nullTime{&c.NotBefore}, nullTime{&c.NotAfter}, nullTime{&c.CreatedAt}, &c.AccountID)
	if err != nil {
		return nil, fmt.Errorf("getting certificate %s: %w", serial, notFound(err))
	}
	return &c, nil
}

// CertificateRevoke records a revocation.
func (s *Store) CertificateRevoke(ctx context.Context, r store.Revocation) error {
	at, err := encodeTime(r.RevokedAt)
	if err != nil {
		return fmt.Errorf("revoking certificate %s: %w", r.Serial, err)
	}
	err = s.write(ctx, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, qRevocationInsert, r.Serial, r.Reason, at)
		return classify(err)
	})
	if err != nil {
		return fmt.Errorf("revoking certificate %s: %w", r.Serial, err)
	}
	return nil
}

// RevocationGet returns a certificate's revocation, or store.ErrNotFound.
func (s *Store) RevocationGet(ctx context.Context, serial string) (*store.Revocation, error) {
	r, err := scanRevocation(s.rd.QueryRowContext(ctx, qRevocationGet, serial))
	if err != nil {
		return nil, fmt.Errorf("getting revocation of %s: %w", serial, notFound(err))
	}
	return r, nil
}

// CRLNumberNext implements store.ACMEStore.
func (s *Store) CRLNumberNext(ctx context.Context, atLeast int64) (int64, error) {
	if atLeast < 0 {
		return 0, fmt.Errorf("crl number %d: negative", atLeast)
	}
	var n int64
	err := s.write(ctx, func(tx *txn) error {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, qCRLNumberLast).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		n = atLeast
		if last.Valid && last.Int64 >= n {
			n = last.Int64 + 1
		}
		_, err := tx.ExecContext(ctx, qCRLNumberSet, n)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("taking a crl number: %w", err)
	}
	return n, nil
}

// RevocationListUnexpired returns the revocations of unexpired certificates.
func (s *Store) RevocationListUnexpired(ctx context.Context, now time.Time) ([]store.Revocation, error) {
	n, err := encodeTime(now)
	if err != nil {
		return nil, fmt.Errorf("listing revocations: %w", err)
	}
	out, err := queryAll(ctx, s.rd, scanRevocation, qRevocationUnexpired, n)
	if err != nil {
		return nil, fmt.Errorf("listing revocations: %w", err)
	}
	return out, nil
}

func scanRevocation(r scanner) (*store.Revocation, error) {
	var rv store.Revocation
	if err := r.Scan(&rv.Serial, &rv.Reason, nullTime{&rv.RevokedAt}, nullTime{&rv.NotAfter}); err != nil {
		return nil, err
	}
	return &rv, nil
}
