// Package storetest is the conformance suite of store.Store: every backend
// runs it from its own tests, so all backends behave alike.
package storetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// Run runs the conformance suite against a backend, as parallel subtests of
// t. open must return a new, empty store each time it is called, and close it
// when its test ends (t.Cleanup).
//
// Beyond the store.Store documentation, the suite requires that times
// round-trip to the nanosecond (compared with time.Time.Equal; the zero time
// stays zero), that JSON round-trips as the same JSON value (key order and
// spacing may change), and these refinements of the contract:
//   - a duplicate key is store.ErrConflict and a reference to a missing
//     account or order is store.ErrNotFound;
//   - CheckRecord sets Status, LastCheckAt and Findings of the listed
//     authorizations (not Value or ExpiresAt), fails with store.ErrNotFound
//     for a domain the order lacks, and leaves the order's status alone when
//     OrderStatus is empty;
//   - OrderTakeKey is store.ErrConflict for an order that holds a key but is
//     not issued, hands the key out again within its keep window, and erases
//     it after;
//   - CertificateIssue clears the order's error text;
//   - list methods return nothing for limit < 1 or an unknown owner.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"AccountCreate", testAccountCreate},
		{"AccountAdminExists", testAccountAdminExists},
		{"APIKeyReplace", testAPIKeyReplace},
		{"OrderCreate", testOrderCreate},
		{"OrderCreateErrors", testOrderCreateErrors},
		{"OrderGetNotFound", testOrderGetNotFound},
		{"OrderListByAccount", testOrderListByAccount},
		{"OrderListAll", testOrderListAll},
		{"AccountList", testAccountList},
		{"OrderListApprovedIDs", testOrderListApprovedIDs},
		{"OrderRecheck", testOrderRecheck},
		{"OrderSetRecheckIfDue", testOrderSetRecheckIfDue},
		{"OrderReserveCheck", testOrderReserveCheck},
		{"OrderReserveCheckConcurrent", testOrderReserveCheckConcurrent},
		{"OrderReleaseUnrecordedChecks", testOrderReleaseUnrecordedChecks},
		{"OrderSetStatus", testOrderSetStatus},
		{"OrderTakeKey", testOrderTakeKey},
		{"OrderTakeKeyConcurrent", testOrderTakeKeyConcurrent},
		{"OrderEraseKeys", testOrderEraseKeys},
		{"OrderCreatePendingLimit", testOrderCreatePendingLimit},
		{"OrderCancel", testOrderCancel},
		{"OrderEraseKey", testOrderEraseKey},
		{"CheckRecord", testCheckRecord},
		{"CheckRecordAtomic", testCheckRecordAtomic},
		{"CheckRecordReserved", testCheckRecordReserved},
		{"CRLNumberNext", testCRLNumberNext},
		{"CheckListByOrder", testCheckListByOrder},
		{"CAARecheck", testCAARecheck},
		{"AuthorizationValuesByAccount", testAuthorizationValuesByAccount},
		{"CertificateIssue", testCertificateIssue},
		{"CertificateIssueRefused", testCertificateIssueRefused},
		{"CertificateIssueKeyBlocked", testCertificateIssueKeyBlocked},
		{"CertificateIssueSignError", testCertificateIssueSignError},
		{"CertificateIssueBadCertificate", testCertificateIssueBadCertificate},
		{"CertificateIssueConcurrent", testCertificateIssueConcurrent},
		{"OrderSigningTBS", testOrderSigningTBS},
		{"ContextCanceled", testContextCanceled},
		{"ACME", testACME},
		{"Perspective", testPerspective},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open)
		})
	}
}

// t0 is the suite's reference time: nanoseconds set, and a zone other than
// UTC, so that a backend dropping either fails.
var t0 = time.Date(2031, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+9", 9*60*60))

// concurrency is how many goroutines race in the concurrency tests.
const concurrency = 8

// fixture is a fresh store with helpers that fill it.
type fixture struct {
	t   *testing.T
	s   store.Store
	ctx context.Context
}

func setup(t *testing.T, open func(t *testing.T) store.Store) *fixture {
	t.Helper()
	return &fixture{t: t, s: open(t), ctx: t.Context()}
}

// account stores an account whose API key hash is "key-"+id.
func (f *fixture) account(id string, admin bool) store.Account {
	f.t.Helper()
	a := store.Account{ID: id, Name: "Account " + id, Admin: admin, CreatedAt: t0}
	if err := f.s.AccountCreate(f.ctx, a, []byte("key-"+id)); err != nil {
		f.t.Fatalf("AccountCreate(%s): %v", id, err)
	}
	return a
}

// newOrder returns an order with every field set and one pending
// authorization per domain; it does not store it.
func newOrder(id, accountID, status string, created time.Time, domains ...string) *store.Order {
	o := &store.Order{
		ID:          id,
		AccountID:   accountID,
		Method:      "dns",
		Status:      status,
		CSRPEM:      "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
		CreatedAt:   created,
		ExpiresAt:   created.Add(30 * 24 * time.Hour),
		LastCheckAt: created.Add(time.Minute + 1),
		NextCheckAt: created.Add(2*time.Minute + 2),
		Error:       "",
	}
	for i, d := range domains {
		method := "dns"
		if i%2 == 1 {
			method = "file"
		}
		o.Authorizations = append(o.Authorizations, store.Authorization{
			Domain:      d,
			Method:      method,
			Status:      "pending",
			Value:       fmt.Sprintf("value-%d-%s", i, d),
			ExpiresAt:   created.Add(30*24*time.Hour + time.Duration(i)),
			LastCheckAt: created.Add(time.Minute + time.Duration(i)),
			Findings:    []byte(fmt.Sprintf(`[{"code":"DNS_TXT_MISSING","domain":%q}]`, d)),
		})
	}
	return o
}

// order stores o.
func (f *fixture) order(o *store.Order) *store.Order {
	f.t.Helper()
	if err := f.s.OrderCreate(f.ctx, o, 0); err != nil {
		f.t.Fatalf("OrderCreate(%s): %v", o.ID, err)
	}
	return o
}

// get returns the stored order id.
func (f *fixture) get(id string) *store.Order {
	f.t.Helper()
	o, err := f.s.OrderGet(f.ctx, id)
	if err != nil {
		f.t.Fatalf("OrderGet(%s): %v", id, err)
	}
	return o
}

// wantOrder fails t unless got and want are the same order.
func wantOrder(t *testing.T, got, want *store.Order) {
	t.Helper()
	g, w := normOrder(t, got), normOrder(t, want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("order %s:\n got %s\nwant %s", want.ID, dump(g), dump(w))
	}
}

// wantErr fails t unless err is target (by errors.Is) and its text holds
// each of words.
func wantErr(t *testing.T, what string, err, target error, words ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", what, err, w)
		}
	}
}

func normTime(tm time.Time) time.Time {
	if tm.IsZero() {
		return time.Time{}
	}
	return tm.UTC()
}

// normJSON returns b as canonical JSON (sorted keys, no spaces), nil for
// empty.
func normJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("stored JSON %q: %v", b, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func normOrder(t *testing.T, o *store.Order) store.Order {
	t.Helper()
	n := *o
	n.CreatedAt, n.ExpiresAt = normTime(o.CreatedAt), normTime(o.ExpiresAt)
	n.LastCheckAt, n.NextCheckAt = normTime(o.LastCheckAt), normTime(o.NextCheckAt)
	n.Authorizations = nil
	for _, az := range o.Authorizations {
		az.ExpiresAt, az.LastCheckAt = normTime(az.ExpiresAt), normTime(az.LastCheckAt)
		az.Findings = normJSON(t, az.Findings)
		n.Authorizations = append(n.Authorizations, az)
	}
	return n
}

func normCheck(t *testing.T, c store.Check) store.Check {
	t.Helper()
	c.CheckedAt = normTime(c.CheckedAt)
	c.Result = normJSON(t, c.Result)
	return c
}

func normCert(c *store.Certificate) store.Certificate {
	n := *c
	n.NotBefore, n.NotAfter, n.CreatedAt = normTime(c.NotBefore), normTime(c.NotAfter), normTime(c.CreatedAt)
	n.SPKIHash = nil // checked when stored, not stored
	return n
}

func dump(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// race runs fn in concurrency goroutines released together and waits.
func race(fn func(i int)) {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// testAPIKeyReplace: a replaced key stops working in the write that
// replaces it, the new one works, other accounts keep theirs, and an
// unknown account is ErrNotFound with nothing changed.
func testAPIKeyReplace(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	a := store.Account{ID: "acct-a", Name: "A", CreatedAt: t0}
	b := store.Account{ID: "acct-b", Name: "B", CreatedAt: t0}
	for _, acct := range []store.Account{a, b} {
		if err := f.s.AccountCreate(f.ctx, acct, []byte("old key "+acct.ID)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.s.APIKeyReplace(f.ctx, a.ID, []byte("new key a"), t0.Add(time.Hour))
	if err != nil || got.ID != a.ID || got.Name != "A" {
		t.Fatalf("APIKeyReplace = %+v, %v; want account A", got, err)
	}
	_, err = f.s.AccountGetByKeyHash(f.ctx, []byte("old key acct-a"))
	wantErr(t, "the replaced key", err, store.ErrNotFound)
	if got, err := f.s.AccountGetByKeyHash(f.ctx, []byte("new key a")); err != nil || got.ID != a.ID {
		t.Errorf("the new key: %+v, %v", got, err)
	}
	if got, err := f.s.AccountGetByKeyHash(f.ctx, []byte("old key acct-b")); err != nil || got.ID != b.ID {
		t.Errorf("another account's key after the replacement: %+v, %v", got, err)
	}
	_, err = f.s.APIKeyReplace(f.ctx, "acct-nosuch", []byte("stray key"), t0)
	wantErr(t, "APIKeyReplace(unknown account)", err, store.ErrNotFound)
	_, err = f.s.AccountGetByKeyHash(f.ctx, []byte("stray key"))
	wantErr(t, "the key of a refused replacement", err, store.ErrNotFound)
}

func testAccountCreate(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		acct store.Account
	}{
		{"admin", store.Account{ID: "acct-admin", Name: "Operator", Admin: true, CreatedAt: t0}},
		{"not admin", store.Account{ID: "acct-user", Name: "Ünïcode Ltd.", CreatedAt: t0.Add(1)}},
		{"zero time", store.Account{ID: "acct-zero", Name: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			hash := bytes.Repeat([]byte{0xa5, 0x00}, 16) // 32 bytes like SHA-256, with NULs
			if err := f.s.AccountCreate(f.ctx, tt.acct, hash); err != nil {
				t.Fatalf("AccountCreate: %v", err)
			}
			got, err := f.s.AccountGetByKeyHash(f.ctx, hash)
			if err != nil {
				t.Fatalf("AccountGetByKeyHash: %v", err)
			}
			want := tt.acct
			want.CreatedAt = normTime(want.CreatedAt)
			got.CreatedAt = normTime(got.CreatedAt)
			if *got != want {
				t.Errorf("AccountGetByKeyHash = %+v, want %+v", *got, want)
			}

			_, err = f.s.AccountGetByKeyHash(f.ctx, hash[:31])
			wantErr(t, "AccountGetByKeyHash(unknown)", err, store.ErrNotFound)
			byID, err := f.s.AccountGet(f.ctx, tt.acct.ID)
			if err != nil {
				t.Fatalf("AccountGet: %v", err)
			}
			byID.CreatedAt = normTime(byID.CreatedAt)
			if *byID != want {
				t.Errorf("AccountGet = %+v, want %+v", *byID, want)
			}
			_, err = f.s.AccountGet(f.ctx, "nosuch")
			wantErr(t, "AccountGet(unknown)", err, store.ErrNotFound)

			other := store.Account{ID: "other", Name: "Other", CreatedAt: t0}
			err = f.s.AccountCreate(f.ctx, tt.acct, []byte("fresh key"))
			wantErr(t, "AccountCreate(duplicate id)", err, store.ErrConflict)
			err = f.s.AccountCreate(f.ctx, other, hash)
			wantErr(t, "AccountCreate(duplicate key)", err, store.ErrConflict)
			// The failed create stored nothing: the id is still free.
			if err := f.s.AccountCreate(f.ctx, other, []byte("other key")); err != nil {
				t.Fatalf("AccountCreate(other) after a failed create: %v", err)
			}
			if got, err := f.s.AccountGetByKeyHash(f.ctx, []byte("other key")); err != nil || got.ID != "other" {
				t.Errorf("AccountGetByKeyHash(other key) = %+v, %v; want account other", got, err)
			}
			// A name in use, in any letter case or Unicode compatibility
			// form, names no second account.
			for _, n := range []string{strings.ToUpper("Other"), "ｏｔｈｅｒ", "\u212Aelvin"} {
				if n == "\u212Aelvin" {
					kelvin := store.Account{ID: "kelvin", Name: "kelvin", CreatedAt: t0}
					if err := f.s.AccountCreate(f.ctx, kelvin, []byte("kelvin key")); err != nil {
						t.Fatal(err)
					}
				}
				same := store.Account{ID: "same-name", Name: n, CreatedAt: t0}
				err = f.s.AccountCreate(f.ctx, same, []byte("third key"))
				wantErr(t, "AccountCreate(name in use: "+n+")", err, store.ErrNameTaken)
				wantErr(t, "AccountCreate(name in use: "+n+")", err, store.ErrConflict)
			}
			if _, err := f.s.AccountGetByKeyHash(f.ctx, []byte("third key")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the refused account was stored: %v", err)
			}
		})
	}
}

func testAccountAdminExists(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	check := func(step string, want bool) {
		t.Helper()
		got, err := f.s.AccountAdminExists(f.ctx)
		if err != nil {
			t.Fatalf("%s: AccountAdminExists: %v", step, err)
		}
		if got != want {
			t.Errorf("%s: AccountAdminExists = %v, want %v", step, got, want)
		}
	}
	check("empty store", false)
	f.account("user", false)
	check("one user", false)
	_, err := f.s.AccountFirstAdminID(f.ctx)
	wantErr(t, "AccountFirstAdminID without an admin", err, store.ErrNotFound)
	f.account("admin", true)
	check("with an admin", true)
	f.account("admin2", true)
	if id, err := f.s.AccountFirstAdminID(f.ctx); err != nil || id != "admin" {
		t.Errorf("AccountFirstAdminID = %q, %v; want the oldest admin, admin", id, err)
	}
}

func testOrderCreate(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name  string
		order func() *store.Order
	}{
		{"every field", func() *store.Order {
			o := newOrder("o1", "acct", "pending", t0, "b.example", "a.example", "c.example")
			o.KeyPEM = "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n"
			o.KeyDelivered = true
			o.Error = "signing failed: hsm offline"
			o.Method = "file"
			o.Authorizations[1].Status = "approved"
			return o
		}},
		{"zero times and no findings", func() *store.Order {
			o := newOrder("o2", "acct", "pending", time.Time{}, "x.example")
			o.ExpiresAt, o.LastCheckAt, o.NextCheckAt = time.Time{}, time.Time{}, time.Time{}
			o.Authorizations[0].ExpiresAt, o.Authorizations[0].LastCheckAt = time.Time{}, time.Time{}
			o.Authorizations[0].Findings = nil
			return o
		}},
		{"empty findings array", func() *store.Order {
			o := newOrder("o3", "acct", "approved", t0, "x.example")
			o.Authorizations[0].Findings = []byte(`[]`)
			return o
		}},
		{"findings with nesting and unicode", func() *store.Order {
			o := newOrder("o4", "acct", "pending", t0, "xn--bcher-kva.example")
			o.Authorizations[0].Findings = []byte(`[{"code":"CAA_FORBIDS","eta":null,"detail":{"seen":["0 issue \"ca.example\""],"n":1.5},"msg":"bücher ✓"}]`)
			return o
		}},
		{"no authorizations", func() *store.Order {
			o := newOrder("o5", "acct", "invalid", t0)
			return o
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			f.account("acct", false)
			o := tt.order()
			f.order(o)
			wantOrder(t, f.get(o.ID), o)
		})
	}
}

func testOrderCreateErrors(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name   string
		order  *store.Order
		target error
	}{
		{"duplicate id", newOrder("exists", "acct", "pending", t0, "new.example"), store.ErrConflict},
		{"duplicate domain", newOrder("dup-domain", "acct", "pending", t0, "a.example", "b.example", "a.example"), store.ErrConflict},
		{"unknown account", newOrder("no-account", "nobody", "pending", t0, "a.example"), store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			f.account("acct", false)
			existing := f.order(newOrder("exists", "acct", "pending", t0, "old.example"))

			err := f.s.OrderCreate(f.ctx, tt.order, 0)
			wantErr(t, "OrderCreate", err, tt.target)

			// Nothing of the failed order was stored.
			wantOrder(t, f.get("exists"), existing)
			if tt.order.ID != "exists" {
				_, err := f.s.OrderGet(f.ctx, tt.order.ID)
				wantErr(t, "OrderGet(failed order)", err, store.ErrNotFound)
			}
		})
	}
}

func testOrderGetNotFound(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	_, err := f.s.OrderGet(f.ctx, "missing")
	wantErr(t, "OrderGet(missing)", err, store.ErrNotFound)
}

// testAccountList: the accounts by id, a page at a time.
func testAccountList(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	for _, id := range []string{"c", "a", "b"} {
		f.account(id, id == "b")
	}
	got, err := f.s.AccountList(f.ctx, "", 2)
	if err != nil || len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" || !got[1].Admin || got[0].Admin {
		t.Fatalf("AccountList first page = %+v, %v; want a, then b (admin)", got, err)
	}
	got, err = f.s.AccountList(f.ctx, "b", 2)
	if err != nil || len(got) != 1 || got[0].ID != "c" {
		t.Fatalf("AccountList after b = %+v, %v; want c", got, err)
	}
	if got, err := f.s.AccountList(f.ctx, "", 0); err != nil || got != nil {
		t.Errorf("AccountList with limit 0 = %+v, %v; want none", got, err)
	}
}

// testOrderListAll: every account's orders, newest first by id (ids
// begin with the creation time), a page at a time.
func testOrderListAll(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("a", false)
	f.account("b", false)
	o1 := f.order(newOrder("o1", "a", "pending", t0, "one.example", "two.example"))
	o2 := f.order(newOrder("o2", "b", "issued", t0.Add(time.Second), "three.example"))
	o3 := f.order(newOrder("o3", "a", "pending", t0.Add(2*time.Second), "four.example"))
	tests := []struct {
		name  string
		after string
		limit int
		want  []*store.Order
	}{
		{"newest first, every account", "", 10, []*store.Order{o3, o2, o1}},
		{"limit", "", 2, []*store.Order{o3, o2}},
		{"the page after o2", "o2", 10, []*store.Order{o1}},
		{"after the oldest", "o1", 10, nil},
		{"zero limit", "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.s.OrderListAll(f.ctx, tt.after, tt.limit)
			if err != nil {
				t.Fatalf("OrderListAll: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("OrderListAll returned %d orders, want %d", len(got), len(tt.want))
			}
			for i := range got {
				wantOrder(t, got[i], tt.want[i])
			}
		})
	}
}

func testOrderListByAccount(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("a", false)
	f.account("b", false)
	o1 := f.order(newOrder("o1", "a", "pending", t0, "one.example", "two.example"))
	o2 := f.order(newOrder("o2", "a", "issued", t0.Add(2*time.Second), "three.example"))
	o3 := f.order(newOrder("o3", "a", "pending", t0.Add(time.Second), "four.example", "five.example"))
	o4 := f.order(newOrder("o4", "b", "pending", t0.Add(3*time.Second), "six.example"))

	tests := []struct {
		name    string
		account string
		after   string
		limit   int
		want    []*store.Order
	}{
		{"newest first", "a", "", 10, []*store.Order{o2, o3, o1}},
		{"limit", "a", "", 2, []*store.Order{o2, o3}},
		{"limit one", "a", "", 1, []*store.Order{o2}},
		{"the page after o2", "a", "o2", 10, []*store.Order{o3, o1}},
		{"the page after o3, limit one", "a", "o3", 1, []*store.Order{o1}},
		{"after the oldest", "a", "o1", 10, nil},
		{"other account", "b", "", 10, []*store.Order{o4}},
		{"unknown account", "c", "", 10, nil},
		{"zero limit", "a", "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.s.OrderListByAccount(f.ctx, tt.account, tt.after, tt.limit)
			if err != nil {
				t.Fatalf("OrderListByAccount: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("OrderListByAccount returned %d orders, want %d", len(got), len(tt.want))
			}
			for i := range got {
				wantOrder(t, got[i], tt.want[i])
			}
		})
	}
}

func testOrderRecheck(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("a", false)
	for _, id := range []string{"due-late", "due-early", "later", "unplanned", "approved", "checked"} {
		st := "pending"
		if id == "approved" {
			st = "approved"
		}
		f.order(newOrder(id, "a", st, t0, id+".example"))
	}
	plan := map[string]time.Time{"due-late": t0, "due-early": t0.Add(-time.Minute), "later": t0.Add(time.Nanosecond), "approved": t0.Add(-time.Hour), "checked": t0.Add(-time.Hour)}
	for id, at := range plan {
		if err := f.s.OrderSetRecheck(f.ctx, id, at); err != nil {
			t.Fatalf("OrderSetRecheck(%s): %v", id, err)
		}
	}
	// A check records the next plan: none here.
	c := store.Check{ID: "c1", OrderID: "checked", CheckedAt: t0, Result: []byte(`{}`)}
	if err := f.s.CheckRecord(f.ctx, store.CheckRecordParams{Check: c}); err != nil {
		t.Fatalf("CheckRecord: %v", err)
	}
	got, err := f.s.OrderListRecheckDue(f.ctx, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"due-early", "due-late"}; !reflect.DeepEqual(got, want) {
		t.Errorf("OrderListRecheckDue = %q, want %q (pending, planned, not after now, longest waiting first)", got, want)
	}
	if got, err := f.s.OrderListRecheckDue(f.ctx, t0, 1); err != nil || len(got) != 1 || got[0] != "due-early" {
		t.Errorf("OrderListRecheckDue(limit 1) = %q, %v", got, err)
	}
	wantErr(t, "OrderSetRecheck(unknown)", f.s.OrderSetRecheck(f.ctx, "missing", t0), store.ErrNotFound)
}

func testOrderSetRecheckIfDue(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("a", false)
	plans := map[string]time.Time{"due": t0.Add(-time.Minute), "now": t0, "later": t0.Add(time.Minute), "unplanned": {}}
	for id, at := range plans {
		f.order(newOrder(id, "a", "pending", t0, id+".example"))
		if err := f.s.OrderSetRecheck(f.ctx, id, at); err != nil {
			t.Fatalf("OrderSetRecheck(%s): %v", id, err)
		}
	}
	at := t0.Add(5 * time.Minute)
	want := map[string]time.Time{"due": at, "now": at, "later": t0.Add(time.Minute), "unplanned": {}}
	for id := range plans {
		if err := f.s.OrderSetRecheckIfDue(f.ctx, id, t0, at); err != nil {
			t.Fatalf("OrderSetRecheckIfDue(%s): %v", id, err)
		}
		if got := f.get(id).RecheckAt; !got.Equal(want[id]) {
			t.Errorf("%s: recheck_at %v, want %v", id, got, want[id])
		}
	}
	wantErr(t, "OrderSetRecheckIfDue(unknown)", f.s.OrderSetRecheckIfDue(f.ctx, "missing", t0, at), store.ErrNotFound)
}

func testCheckRecordReserved(t *testing.T, open func(t *testing.T) store.Store) {
	approve := []store.Authorization{{Domain: "a.example", Status: "approved", LastCheckAt: t0, Findings: []byte(`[]`)}}
	tests := []struct {
		name     string
		setup    func(f *fixture) // after the check's reservation at t0
		reserved time.Time
		target   error
	}{
		{name: "slot still the check's", reserved: t0},
		{
			name: "a later check took the slot",
			setup: func(f *fixture) {
				if ok, _, err := f.s.OrderReserveCheck(f.ctx, "o", t0.Add(time.Hour), t0.Add(2*time.Hour)); !ok || err != nil {
					f.t.Fatalf("OrderReserveCheck: %v, %v", ok, err)
				}
			},
			reserved: t0,
			target:   store.ErrConflict,
		},
		{
			name: "order no longer pending",
			setup: func(f *fixture) {
				if err := f.s.OrderSetStatus(f.ctx, "o", "failed", "", "refused"); err != nil {
					f.t.Fatal(err)
				}
			},
			reserved: t0,
			target:   store.ErrConflict,
		},
		{name: "another reservation time", reserved: t0.Add(time.Second), target: store.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			f.account("acct", false)
			f.order(newOrder("o", "acct", "pending", t0.Add(-time.Hour), "a.example"))
			if ok, _, err := f.s.OrderReserveCheck(f.ctx, "o", t0, t0.Add(time.Minute)); !ok || err != nil {
				t.Fatalf("OrderReserveCheck: %v, %v", ok, err)
			}
			if tt.setup != nil {
				tt.setup(f)
			}
			before := f.get("o")
			err := f.s.CheckRecord(f.ctx, store.CheckRecordParams{
				Check:          store.Check{ID: "c", OrderID: "o", CheckedAt: t0, Result: []byte(`{}`)},
				Authorizations: approve, OrderStatus: "approved", ReservedAt: tt.reserved,
			})
			wantErr(t, "CheckRecord", err, tt.target)
			checks, lerr := f.s.CheckListByOrder(f.ctx, "o", "", 10)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tt.target == nil {
				if got := f.get("o"); got.Status != "approved" || len(checks) != 1 {
					t.Errorf("recorded: status %s, %d checks; want approved, 1", got.Status, len(checks))
				}
				return
			}
			wantOrder(t, f.get("o"), before)
			if len(checks) != 0 {
				t.Errorf("%d checks recorded, want none", len(checks))
			}
		})
	}
	f := setup(t, open)
	err := f.s.CheckRecord(f.ctx, store.CheckRecordParams{
		Check: store.Check{ID: "c", OrderID: "missing", CheckedAt: t0, Result: []byte(`{}`)}, ReservedAt: t0,
	})
	wantErr(t, "CheckRecord(unknown order)", err, store.ErrNotFound)
}

func testCRLNumberNext(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	tests := []struct{ atLeast, want int64 }{
		{100, 100}, // the first: atLeast
		{100, 101}, // not above the last: one more
		{50, 102},  // the clock stepped back
		{500, 500}, // later: atLeast again
	}
	for _, tt := range tests {
		if n, err := f.s.CRLNumberNext(f.ctx, tt.atLeast); err != nil || n != tt.want {
			t.Errorf("CRLNumberNext(%d) = %d, %v; want %d", tt.atLeast, n, err, tt.want)
		}
	}
	if _, err := f.s.CRLNumberNext(f.ctx, -1); err == nil {
		t.Error("CRLNumberNext(-1) succeeded")
	}
}

func testOrderListApprovedIDs(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("a", false)
	f.account("b", false)
	f.order(newOrder("a-late", "a", "approved", t0.Add(time.Hour), "1.example"))
	f.order(newOrder("a-early", "b", "approved", t0, "2.example"))
	f.order(newOrder("a-mid", "a", "approved", t0.Add(time.Nanosecond), "3.example"))
	f.order(newOrder("pending", "a", "pending", t0.Add(-time.Hour), "4.example"))
	f.order(newOrder("issued", "b", "issued", t0.Add(-2*time.Hour), "5.example"))
	// An order that leaves "approved" leaves the list.
	f.order(newOrder("moved", "a", "approved", t0.Add(-3*time.Hour), "6.example"))
	if err := f.s.OrderSetStatus(f.ctx, "moved", "failed", "", "signing refused"); err != nil {
		t.Fatalf("OrderSetStatus: %v", err)
	}
	// Approved orders whose issuance failed for good wait for an operator:
	// left out, before the limit.
	for i := range 3 {
		id := fmt.Sprintf("parked-%d", i)
		f.order(newOrder(id, "a", "approved", t0.Add(-time.Duration(4+i)*time.Hour), "7.example"))
		if err := f.s.OrderSetStatus(f.ctx, id, "approved", "", "issuance failed: a lint"); err != nil {
			t.Fatalf("OrderSetStatus: %v", err)
		}
	}

	tests := []struct {
		name  string
		limit int
		want  []string
	}{
		{"oldest first, approved only", 10, []string{"a-early", "a-mid", "a-late"}},
		{"limit", 2, []string{"a-early", "a-mid"}},
		{"zero limit", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.s.OrderListApprovedIDs(f.ctx, tt.limit)
			if err != nil {
				t.Fatalf("OrderListApprovedIDs: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) && (len(got) != 0 || len(tt.want) != 0) {
				t.Errorf("OrderListApprovedIDs(%d) = %q, want %q", tt.limit, got, tt.want)
			}
		})
	}
}

func testOrderReserveCheck(t *testing.T, open func(t *testing.T) store.Store) {
	now := t0.Add(time.Hour)
	next := now.Add(30 * time.Second)
	tests := []struct {
		name       string
		storedNext time.Time // the order's NextCheckAt before the call
		wantOK     bool
	}{
		{"never checked", time.Time{}, true},
		{"next in the past", now.Add(-time.Second), true},
		{"next is now", now, true},
		{"next one nanosecond ahead", now.Add(time.Nanosecond), false},
		{"next in the future", now.Add(time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			f.account("acct", false)
			o := newOrder("o", "acct", "pending", t0, "a.example")
			o.NextCheckAt = tt.storedNext
			if tt.storedNext.IsZero() {
				o.LastCheckAt = time.Time{}
			}
			f.order(o)

			ok, retryAt, err := f.s.OrderReserveCheck(f.ctx, "o", now, next)
			if err != nil {
				t.Fatalf("OrderReserveCheck: %v", err)
			}
			if ok != tt.wantOK {
				t.Fatalf("OrderReserveCheck ok = %v, want %v", ok, tt.wantOK)
			}
			want := *o
			if ok {
				want.LastCheckAt, want.NextCheckAt = now, next
			} else if !retryAt.Equal(tt.storedNext) {
				t.Errorf("OrderReserveCheck retryAt = %v, want %v", retryAt, tt.storedNext)
			}
			wantOrder(t, f.get("o"), &want)
		})
	}

	t.Run("unknown order", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open)
		_, _, err := f.s.OrderReserveCheck(f.ctx, "missing", now, next)
		wantErr(t, "OrderReserveCheck(missing)", err, store.ErrNotFound)
	})
}

// testOrderReleaseUnrecordedChecks: a slot taken by a check that was
// never recorded (a process killed while checking) is given back at the
// next start: the last check is the last recorded one, and the applicant
// may check at once. Recorded checks, and orders no longer pending, keep
// theirs.
func testOrderReleaseUnrecordedChecks(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("acct", false)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	interval := 5 * time.Minute
	reserve := func(id string, at time.Time) {
		t.Helper()
		if ok, _, err := f.s.OrderReserveCheck(f.ctx, id, at, at.Add(interval)); err != nil || !ok {
			t.Fatalf("OrderReserveCheck(%s) = %v, %v", id, ok, err)
		}
	}
	record := func(id string, at time.Time) {
		t.Helper()
		err := f.s.CheckRecord(f.ctx, store.CheckRecordParams{
			Check:       store.Check{ID: "check-" + id + at.Format("150405"), OrderID: id, CheckedAt: at, Result: []byte(`{}`)},
			OrderStatus: "pending", ReservedAt: at,
		})
		if err != nil {
			t.Fatalf("CheckRecord(%s): %v", id, err)
		}
	}
	for _, id := range []string{"recorded", "cut", "never", "approved"} {
		o := newOrder(id, "acct", "pending", t0, id+".example")
		o.LastCheckAt, o.NextCheckAt = time.Time{}, time.Time{}
		f.order(o)
	}
	reserve("recorded", t1)
	record("recorded", t1)
	reserve("cut", t1)
	record("cut", t1)
	reserve("cut", t2) // killed while checking: never recorded
	reserve("never", t1)
	reserve("approved", t1)
	if err := f.s.OrderSetStatus(f.ctx, "approved", "approved", "", ""); err != nil {
		t.Fatal(err)
	}
	n, err := f.s.OrderReleaseUnrecordedChecks(f.ctx)
	if err != nil || n != 2 {
		t.Fatalf("OrderReleaseUnrecordedChecks = %d, %v; want 2", n, err)
	}
	tests := []struct {
		id         string
		last, next time.Time
	}{
		{"recorded", t1, t1.Add(interval)},
		{"cut", t1, time.Time{}},
		{"never", time.Time{}, time.Time{}},
		{"approved", t1, t1.Add(interval)},
	}
	for _, tt := range tests {
		o := f.get(tt.id)
		if !normTime(o.LastCheckAt).Equal(normTime(tt.last)) || !normTime(o.NextCheckAt).Equal(normTime(tt.next)) {
			t.Errorf("%s: last check %v, next %v; want %v, %v", tt.id, o.LastCheckAt, o.NextCheckAt, tt.last, tt.next)
		}
	}
	if ok, _, err := f.s.OrderReserveCheck(f.ctx, "cut", t2.Add(time.Second), t2.Add(interval)); err != nil || !ok {
		t.Errorf("a check after the release: OrderReserveCheck = %v, %v; want the slot", ok, err)
	}
}

func testOrderReserveCheckConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("acct", false)
	o := newOrder("o", "acct", "pending", t0, "a.example")
	o.NextCheckAt = t0
	f.order(o)
	now, next := t0.Add(time.Second), t0.Add(time.Minute)

	var wins, losses atomic.Int32
	race(func(i int) {
		ok, retryAt, err := f.s.OrderReserveCheck(f.ctx, "o", now, next)
		switch {
		case err != nil:
			t.Errorf("goroutine %d: OrderReserveCheck: %v", i, err)
		case ok:
			wins.Add(1)
		case retryAt.Equal(next):
			losses.Add(1)
		default:
			t.Errorf("goroutine %d: OrderReserveCheck = false, %v; want retryAt %v", i, retryAt, next)
		}
	})
	if wins.Load() != 1 || losses.Load() != concurrency-1 {
		t.Errorf("OrderReserveCheck: %d won and %d lost, want 1 and %d", wins.Load(), losses.Load(), concurrency-1)
	}
}

func testOrderSetStatus(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name        string
		status      string
		authzStatus string
		errText     string
		wantAuthz   []string
	}{
		{"order and pending authorizations", "invalid", "invalid", "CAA forbids issuance", []string{"invalid", "approved", "invalid"}},
		{"order only", "expired", "", "", []string{"pending", "approved", "pending"}},
		{"error text", "approved", "", "signing failed, retrying", []string{"pending", "approved", "pending"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			f.account("acct", false)
			o := newOrder("o", "acct", "pending", t0, "a.example", "b.example", "c.example")
			o.Error = "earlier error"
			o.Authorizations[1].Status = "approved"
			f.order(o)

			if err := f.s.OrderSetStatus(f.ctx, "o", tt.status, tt.authzStatus, tt.errText); err != nil {
				t.Fatalf("OrderSetStatus: %v", err)
			}
			want := *o
			want.Status, want.Error = tt.status, tt.errText
			want.Authorizations = append([]store.Authorization(nil), o.Authorizations...)
			for i, s := range tt.wantAuthz {
				want.Authorizations[i].Status = s
			}
			wantOrder(t, f.get("o"), &want)
		})
	}

	t.Run("unknown order", func(t *testing.T) {
		t.Parallel()
		f := setup(t, open)
		err := f.s.OrderSetStatus(f.ctx, "missing", "invalid", "invalid", "")
		wantErr(t, "OrderSetStatus(missing)", err, store.ErrNotFound)
	})
}

const testKey = "-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY-----\n"

func testOrderTakeKey(t *testing.T, open func(t *testing.T) store.Store) {
	const keep = 10 * time.Minute
	tests := []struct {
		name   string
		status string
		key    string
		id     string // taken; "o" unless set
		target error  // nil: the key is handed out
	}{
		{"issued with key", "issued", testKey, "", nil},
		{"issued with a CSR", "issued", "", "", store.ErrNotFound},
		{"not issued yet", "approved", testKey, "", store.ErrConflict},
		{"unknown order", "issued", testKey, "missing", store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			f.account("acct", false)
			o := newOrder("o", "acct", tt.status, t0, "a.example")
			o.KeyPEM = tt.key
			f.order(o)
			id := cmp.Or(tt.id, "o")

			got, err := f.s.OrderTakeKey(f.ctx, id, t0, keep)
			if tt.target != nil {
				wantErr(t, "OrderTakeKey", err, tt.target)
				wantOrder(t, f.get("o"), o) // unchanged
				return
			}
			if err != nil {
				t.Fatalf("OrderTakeKey: %v", err)
			}
			if got != tt.key {
				t.Errorf("OrderTakeKey = %q, want %q", got, tt.key)
			}
			want := *o
			want.KeyDelivered = true
			wantOrder(t, f.get("o"), &want)

			// Within the window: handed out again (a lost answer).
			if got, err := f.s.OrderTakeKey(f.ctx, id, t0.Add(keep-time.Second), keep); err != nil || got != tt.key {
				t.Errorf("OrderTakeKey within the window = %q, %v; want the key again", got, err)
			}
			// After it: erased.
			_, err = f.s.OrderTakeKey(f.ctx, id, t0.Add(keep), keep)
			wantErr(t, "OrderTakeKey(after the window)", err, store.ErrNotFound)
			want.KeyPEM = ""
			wantOrder(t, f.get("o"), &want)
			_, err = f.s.OrderTakeKey(f.ctx, id, t0.Add(keep), keep)
			wantErr(t, "OrderTakeKey(again)", err, store.ErrNotFound)
		})
	}
}

func testOrderTakeKeyConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("acct", false)
	o := newOrder("o", "acct", "issued", t0, "a.example")
	o.KeyPEM = testKey
	f.order(o)

	// Concurrent downloads within the window all get the key.
	var taken atomic.Int32
	race(func(i int) {
		key, err := f.s.OrderTakeKey(f.ctx, "o", t0, time.Minute)
		if err != nil || key != testKey {
			t.Errorf("goroutine %d: OrderTakeKey = %q, %v", i, key, err)
			return
		}
		taken.Add(1)
	})
	if taken.Load() != concurrency {
		t.Errorf("OrderTakeKey: key handed out %d times, want %d", taken.Load(), concurrency)
	}
}

// testOrderEraseKeys: the keys delivered before the time given are
// erased, and so are those no one will download (review): of orders that
// expired or were refused, and of certificates that expired unfetched.
func testOrderEraseKeys(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("acct", false)
	for _, o := range []struct{ id, status string }{
		{"early", "issued"}, {"late", "issued"}, {"never", "issued"}, {"lapsed", "expired"}, {"refused", "invalid"}, {"waiting", "pending"}, {"old", "approved"},
	} {
		so := newOrder(o.id, "acct", o.status, t0, o.id+".example")
		so.KeyPEM = testKey
		f.order(so)
	}
	// A certificate that expires at t0+90d, never downloaded.
	if _, err := f.s.CertificateIssue(f.ctx, "old", func(*store.Order) (*store.Certificate, error) { return testCert("0b"), nil }); err != nil {
		t.Fatal(err)
	}
	for id, at := range map[string]time.Time{"early": t0, "late": t0.Add(time.Hour)} {
		if _, err := f.s.OrderTakeKey(f.ctx, id, at, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	n, err := f.s.OrderEraseKeys(f.ctx, t0.Add(30*time.Minute), t0.Add(time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("OrderEraseKeys = %d, %v; want 3 (early, lapsed, refused)", n, err)
	}
	want := map[string]string{"early": "", "late": testKey, "never": testKey, "lapsed": "", "refused": "", "waiting": testKey, "old": testKey}
	for id, w := range want {
		if got := f.get(id).KeyPEM; got != w {
			t.Errorf("order %s holds key %q, want %q", id, got, w)
		}
	}
	// Once its certificate expired, unfetched.
	if n, err := f.s.OrderEraseKeys(f.ctx, t0.Add(30*time.Minute), t0.Add(91*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("OrderEraseKeys after the certificate's expiry = %d, %v; want 1", n, err)
	}
	if got := f.get("old").KeyPEM; got != "" {
		t.Errorf("order old holds key %q after its certificate expired", got)
	}
}

func testCheckRecord(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name        string
		authz       []store.Authorization
		orderStatus string
		wantStatus  string
	}{
		{
			name: "some domains",
			authz: []store.Authorization{{
				Domain: "c.example", Status: "approved", LastCheckAt: t0.Add(time.Hour),
				Findings: []byte(`[]`),
				// Value and ExpiresAt are not a check's to change.
				Value: "ignored", ExpiresAt: t0.Add(-time.Hour),
			}},
			orderStatus: "pending",
			wantStatus:  "pending",
		},
		{
			name: "all domains approve the order",
			authz: []store.Authorization{
				{Domain: "a.example", Status: "approved", LastCheckAt: t0.Add(time.Hour), Findings: []byte(`[]`)},
				{Domain: "c.example", Status: "approved", LastCheckAt: t0.Add(time.Hour + 1), Findings: []byte(`[ ]`)},
				{Domain: "b.example", Status: "approved", LastCheckAt: t0.Add(time.Hour + 2), Findings: nil},
			},
			orderStatus: "approved",
			wantStatus:  "approved",
		},
		{
			name:        "empty order status leaves it",
			authz:       []store.Authorization{{Domain: "a.example", Status: "invalid", Findings: []byte(`[{"code":"CAA_FORBIDS"}]`)}},
			orderStatus: "",
			wantStatus:  "pending",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			f.account("acct", false)
			// Sent back to pending by a CAA recheck: the approval of a
			// later check ends that error, which would otherwise keep the
			// order from the issuance sweep (OrderListApprovedIDs).
			pending := newOrder("o", "acct", "pending", t0, "a.example", "b.example", "c.example")
			pending.Error = "issuance waited: CAA, looked up again, does not allow issuance"
			o := f.order(pending)
			check := store.Check{
				ID: "check-1", OrderID: "o", CheckedAt: t0.Add(time.Hour),
				Result: []byte(`{"domains":[{"domain":"a.example","status":"approved","evidence":[{"perspective":"primary","seen":"v"}]}]}`),
			}
			err := f.s.CheckRecord(f.ctx, store.CheckRecordParams{Check: check, Authorizations: tt.authz, OrderStatus: tt.orderStatus})
			if err != nil {
				t.Fatalf("CheckRecord: %v", err)
			}

			want := *o
			want.Status = tt.wantStatus
			if want.Status == "approved" {
				want.Error = ""
			}
			want.Authorizations = append([]store.Authorization(nil), o.Authorizations...)
			for _, az := range tt.authz {
				for i := range want.Authorizations {
					if w := &want.Authorizations[i]; w.Domain == az.Domain {
						w.Status, w.LastCheckAt, w.Findings = az.Status, az.LastCheckAt, az.Findings
					}
				}
			}
			wantOrder(t, f.get("o"), &want)

			got, err := f.s.CheckListByOrder(f.ctx, "o", "", 10)
			if err != nil {
				t.Fatalf("CheckListByOrder: %v", err)
			}
			if len(got) != 1 || !reflect.DeepEqual(normCheck(t, got[0]), normCheck(t, check)) {
				t.Errorf("CheckListByOrder = %s, want [%s]", dump(got), dump(check))
			}
		})
	}
}

func testCheckRecordAtomic(t *testing.T, open func(t *testing.T) store.Store) {
	okAuthz := store.Authorization{Domain: "a.example", Status: "approved", LastCheckAt: t0.Add(time.Hour), Findings: []byte(`[]`)}
	tests := []struct {
		name   string
		params store.CheckRecordParams
		target error
	}{
		{
			name: "domain not in the order",
			params: store.CheckRecordParams{
				Check:          store.Check{ID: "new", OrderID: "o", CheckedAt: t0.Add(time.Hour), Result: []byte(`{}`)},
				Authorizations: []store.Authorization{okAuthz, {Domain: "other.example", Status: "approved"}},
				OrderStatus:    "approved",
			},
			target: store.ErrNotFound,
		},
		{
			name: "duplicate check id",
			params: store.CheckRecordParams{
				Check:          store.Check{ID: "first", OrderID: "o", CheckedAt: t0.Add(time.Hour), Result: []byte(`{}`)},
				Authorizations: []store.Authorization{okAuthz},
				OrderStatus:    "approved",
			},
			target: store.ErrConflict,
		},
		{
			name: "unknown order",
			params: store.CheckRecordParams{
				Check:          store.Check{ID: "new", OrderID: "missing", CheckedAt: t0.Add(time.Hour), Result: []byte(`{}`)},
				Authorizations: []store.Authorization{okAuthz},
				OrderStatus:    "approved",
			},
			target: store.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			f.account("acct", false)
			o := f.order(newOrder("o", "acct", "pending", t0, "a.example", "b.example"))
			first := store.Check{ID: "first", OrderID: "o", CheckedAt: t0, Result: []byte(`{"n":1}`)}
			if err := f.s.CheckRecord(f.ctx, store.CheckRecordParams{Check: first, OrderStatus: "pending"}); err != nil {
				t.Fatalf("CheckRecord(first): %v", err)
			}

			err := f.s.CheckRecord(f.ctx, tt.params)
			wantErr(t, "CheckRecord", err, tt.target)

			wantOrder(t, f.get("o"), o)
			got, err := f.s.CheckListByOrder(f.ctx, "o", "", 10)
			if err != nil {
				t.Fatalf("CheckListByOrder: %v", err)
			}
			if len(got) != 1 || !reflect.DeepEqual(normCheck(t, got[0]), normCheck(t, first)) {
				t.Errorf("after a failed CheckRecord, CheckListByOrder = %s, want only the first check", dump(got))
			}
		})
	}
}

func testCheckListByOrder(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("acct", false)
	f.order(newOrder("o", "acct", "pending", t0, "a.example"))
	f.order(newOrder("other", "acct", "pending", t0, "b.example"))
	mk := func(id, order string, at time.Time) store.Check {
		c := store.Check{ID: id, OrderID: order, CheckedAt: at, Result: []byte(fmt.Sprintf(`{"id":%q}`, id))}
		if err := f.s.CheckRecord(f.ctx, store.CheckRecordParams{Check: c}); err != nil {
			t.Fatalf("CheckRecord(%s): %v", id, err)
		}
		return c
	}
	c0 := mk("c0", "o", t0)
	c2 := mk("c2", "o", t0.Add(2*time.Nanosecond))
	c1 := mk("c1", "o", t0.Add(time.Nanosecond))
	x := mk("x", "other", t0.Add(time.Hour))

	tests := []struct {
		name  string
		order string
		after string
		limit int
		want  []store.Check
	}{
		{"newest first", "o", "", 10, []store.Check{c2, c1, c0}},
		{"limit", "o", "", 2, []store.Check{c2, c1}},
		{"the page after c2", "o", "c2", 10, []store.Check{c1, c0}},
		{"the page after c2, limit one", "o", "c2", 1, []store.Check{c1}},
		{"the page after c1", "o", "c1", 10, []store.Check{c0}},
		{"after the oldest", "o", "c0", 10, nil},
		{"other order", "other", "", 10, []store.Check{x}},
		{"unknown order", "missing", "", 10, nil},
		{"zero limit", "o", "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.s.CheckListByOrder(f.ctx, tt.order, tt.after, tt.limit)
			if err != nil {
				t.Fatalf("CheckListByOrder: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("CheckListByOrder returned %d checks, want %d: %s", len(got), len(tt.want), dump(got))
			}
			for i := range got {
				if g, w := normCheck(t, got[i]), normCheck(t, tt.want[i]); !reflect.DeepEqual(g, w) {
					t.Errorf("check %d = %s, want %s", i, dump(g), dump(w))
				}
			}
		})
	}
	// A cursor must be a check of the order listed.
	for _, tt := range []struct{ name, order, after string }{
		{"a check of another order", "o", "x"},
		{"no check", "o", "missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.s.CheckListByOrder(f.ctx, tt.order, tt.after, 10)
			wantErr(t, "CheckListByOrder(after "+tt.after+")", err, store.ErrNotFound)
			if len(got) != 0 {
				t.Errorf("CheckListByOrder returned %s with its error", dump(got))
			}
		})
	}
}

func testCAARecheck(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	mk := func(id, order string, at time.Time, allowed bool) store.CAARecheck {
		return store.CAARecheck{ID: id, OrderID: order, Domain: id + ".example", CheckedAt: at, Allowed: allowed, Evidence: []byte(fmt.Sprintf(`{"id":%q}`, id))}
	}
	r1 := mk("r1", "o", t0.Add(time.Nanosecond), false)
	r0 := mk("r0", "o", t0, true)
	x := mk("x", "other", t0, true)
	for _, r := range []store.CAARecheck{r1, r0, x} {
		if err := f.s.CAARecheckRecord(f.ctx, r); err != nil {
			t.Fatalf("CAARecheckRecord(%s): %v", r.ID, err)
		}
	}
	refused := []struct {
		name string
		r    store.CAARecheck
		want error
	}{
		{"duplicate id", mk("r0", "o", t0.Add(time.Hour), false), store.ErrConflict},
		{"evidence not JSON", store.CAARecheck{ID: "bad", OrderID: "o", Domain: "bad.example", CheckedAt: t0, Evidence: []byte("{")}, nil},
	}
	for _, tt := range refused {
		err := f.s.CAARecheckRecord(f.ctx, tt.r)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: CAARecheckRecord = %v, want an error (%v)", tt.name, err, tt.want)
		}
	}
	tests := []struct {
		name  string
		order string
		want  []store.CAARecheck
	}{
		{"oldest first", "o", []store.CAARecheck{r0, r1}},
		{"other order", "other", []store.CAARecheck{x}},
		{"unknown order", "missing", nil},
	}
	for _, tt := range tests {
		got, err := f.s.CAARechecksByOrder(f.ctx, tt.order)
		if err != nil {
			t.Fatalf("%s: CAARechecksByOrder: %v", tt.name, err)
		}
		if len(got) != len(tt.want) {
			t.Fatalf("%s: %d rechecks, want %d: %s", tt.name, len(got), len(tt.want), dump(got))
		}
		for i := range got {
			g, w := got[i], tt.want[i]
			if g.ID != w.ID || g.OrderID != w.OrderID || g.Domain != w.Domain || !g.CheckedAt.Equal(w.CheckedAt) || g.Allowed != w.Allowed || string(g.Evidence) != string(w.Evidence) {
				t.Errorf("%s: recheck %d = %s, want %s", tt.name, i, dump(g), dump(w))
			}
		}
	}
}

// testCert is what the suite's sign functions return.
func testCert(serial string) *store.Certificate {
	return &store.Certificate{
		Serial:    serial,
		ChainPEM:  "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nINTERMEDIATE\n-----END CERTIFICATE-----\n",
		NotBefore: t0.Add(-time.Hour),
		NotAfter:  t0.Add(90*24*time.Hour - time.Second),
		CreatedAt: t0.Add(time.Nanosecond),
		// The chain above is no real certificate: its key's hash is given.
		SPKIHash: testSPKIHash,
	}
}

// testSPKIHash stands for the key of testCert's leaf.
var testSPKIHash = bytes.Repeat([]byte{0x5a}, 32)

// approvedOrder stores an approved order "o" with two approved domains.
func (f *fixture) approvedOrder() *store.Order {
	f.t.Helper()
	f.account("acct", false)
	o := newOrder("o", "acct", "approved", t0, "a.example", "b.example")
	o.Error = "signing failed: earlier attempt"
	for i := range o.Authorizations {
		o.Authorizations[i].Status = "approved"
	}
	return f.order(o)
}

// issuedOrder is o after issuance.
func issuedOrder(o *store.Order) *store.Order {
	want := *o
	want.Status, want.Error = "issued", ""
	want.Authorizations = append([]store.Authorization(nil), o.Authorizations...)
	for i := range want.Authorizations {
		want.Authorizations[i].Status = "issued"
	}
	return &want
}

func wantCert(t *testing.T, what string, got, want *store.Certificate) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no certificate", what)
	}
	if g, w := normCert(got), normCert(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, dump(g), dump(w))
	}
}

func testCertificateIssue(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	o := f.approvedOrder()
	_, err := f.s.CertificateGetByOrder(f.ctx, "o")
	wantErr(t, "CertificateGetByOrder(before issuance)", err, store.ErrNotFound)

	calls := 0
	got, err := f.s.CertificateIssue(f.ctx, "o", func(so *store.Order) (*store.Certificate, error) {
		calls++
		wantOrder(t, so, o)
		return testCert("0a1b2c3d"), nil
	})
	if err != nil {
		t.Fatalf("CertificateIssue: %v", err)
	}
	if calls != 1 {
		t.Errorf("sign called %d times, want 1", calls)
	}
	want := testCert("0a1b2c3d")
	want.OrderID = "o"
	wantCert(t, "CertificateIssue", got, want)
	wantOrder(t, f.get("o"), issuedOrder(o))

	stored, err := f.s.CertificateGetByOrder(f.ctx, "o")
	if err != nil {
		t.Fatalf("CertificateGetByOrder: %v", err)
	}
	wantCert(t, "CertificateGetByOrder", stored, want)

	again, err := f.s.CertificateIssue(f.ctx, "o", func(*store.Order) (*store.Certificate, error) {
		t.Error("sign called for an order that has a certificate")
		return testCert("ff"), nil
	})
	if err != nil {
		t.Fatalf("CertificateIssue(again): %v", err)
	}
	wantCert(t, "CertificateIssue(again)", again, want)
}

// testOrderSigningTBS: an approved order keeps the first to-be-signed
// bytes it is given until they are dropped or its certificate is stored;
// an order in another status, or with its certificate, keeps none.
func testOrderSigningTBS(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.approvedOrder()
	f.order(newOrder("p", "acct", "pending", t0, "c.example"))
	_, err := f.s.OrderSigningTBSPut(f.ctx, "nosuch", []byte("A"))
	wantErr(t, "OrderSigningTBSPut(unknown order)", err, store.ErrNotFound)
	_, err = f.s.OrderSigningTBSPut(f.ctx, "p", []byte("A"))
	wantErr(t, "OrderSigningTBSPut(pending order)", err, store.ErrConflict)
	steps := []struct {
		drop, put, want string
	}{
		{put: "A", want: "A"},
		{put: "B", want: "A"},            // the first bytes are kept
		{drop: "B", put: "C", want: "A"}, // other bytes are not dropped
		{drop: "A", put: "B", want: "B"},
	}
	for i, st := range steps {
		if st.drop != "" {
			if err := f.s.OrderSigningTBSDrop(f.ctx, "o", []byte(st.drop)); err != nil {
				t.Fatalf("step %d: OrderSigningTBSDrop: %v", i, err)
			}
		}
		kept, err := f.s.OrderSigningTBSPut(f.ctx, "o", []byte(st.put))
		if err != nil || string(kept) != st.want {
			t.Fatalf("step %d: OrderSigningTBSPut(%s) = %q, %v; want %q", i, st.put, kept, err, st.want)
		}
	}
	if _, err := f.s.CertificateIssue(f.ctx, "o", func(*store.Order) (*store.Certificate, error) { return testCert("0a"), nil }); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.OrderSigningTBSPut(f.ctx, "o", []byte("D"))
	wantErr(t, "OrderSigningTBSPut(issued order)", err, store.ErrConflict)
}

// testCertificateIssueKeyBlocked: the write that stores a certificate
// refuses one whose key is blocked, with ErrKeyBlocked, and stores nothing.
func testCertificateIssueKeyBlocked(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	o := f.approvedOrder()
	if err := f.s.KeyBlock(f.ctx, store.KeyBlock{SPKIHash: testSPKIHash, Serial: "00", BlockedAt: t0}); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.CertificateIssue(f.ctx, "o", func(*store.Order) (*store.Certificate, error) { return testCert("01"), nil })
	wantErr(t, "CertificateIssue", err, store.ErrKeyBlocked)
	wantOrder(t, f.get("o"), o)
	_, err = f.s.CertificateGetByOrder(f.ctx, "o")
	wantErr(t, "CertificateGetByOrder", err, store.ErrNotFound)
	// Another key is certified.
	other := testCert("02")
	other.SPKIHash = bytes.Repeat([]byte{0x11}, 32)
	if _, err := f.s.CertificateIssue(f.ctx, "o", func(*store.Order) (*store.Certificate, error) { return other, nil }); err != nil {
		t.Fatalf("CertificateIssue with another key: %v", err)
	}
}

func testCertificateIssueRefused(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name   string
		status string
		id     string
		target error
		words  []string
	}{
		{"pending", "pending", "o", store.ErrConflict, []string{"pending"}},
		{"invalid", "invalid", "o", store.ErrConflict, []string{"invalid"}},
		{"expired", "expired", "o", store.ErrConflict, []string{"expired"}},
		{"issued without certificate", "issued", "o", store.ErrConflict, []string{"issued"}},
		{"unknown order", "approved", "missing", store.ErrNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			f.account("acct", false)
			o := f.order(newOrder("o", "acct", tt.status, t0, "a.example"))

			_, err := f.s.CertificateIssue(f.ctx, tt.id, func(*store.Order) (*store.Certificate, error) {
				t.Error("sign called")
				return testCert("01"), nil
			})
			wantErr(t, "CertificateIssue", err, tt.target, tt.words...)
			wantOrder(t, f.get("o"), o)
			_, err = f.s.CertificateGetByOrder(f.ctx, "o")
			wantErr(t, "CertificateGetByOrder", err, store.ErrNotFound)
		})
	}
}

// signError is a sign failure of a type the store cannot know.
type signError struct{ reason []string }

func (e signError) Error() string { return "signing: " + strings.Join(e.reason, ", ") }

func testCertificateIssueSignError(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	o := f.approvedOrder()
	errSign := &signError{reason: []string{"hsm offline"}}

	_, err := f.s.CertificateIssue(f.ctx, "o", func(*store.Order) (*store.Certificate, error) {
		return nil, errSign
	})
	if err != error(errSign) {
		t.Fatalf("CertificateIssue error = %v (%T), want sign's error as is", err, err)
	}
	wantOrder(t, f.get("o"), o)
	_, err = f.s.CertificateGetByOrder(f.ctx, "o")
	wantErr(t, "CertificateGetByOrder after a failed sign", err, store.ErrNotFound)

	// A value error that is not comparable comes back too.
	_, err = f.s.CertificateIssue(f.ctx, "o", func(*store.Order) (*store.Certificate, error) {
		return nil, signError{reason: []string{"quota"}}
	})
	var se signError
	if !errors.As(err, &se) || err.Error() != "signing: quota" {
		t.Fatalf("CertificateIssue error = %v (%T), want sign's error as is", err, err)
	}

	// The order can still be issued.
	got, err := f.s.CertificateIssue(f.ctx, "o", func(*store.Order) (*store.Certificate, error) {
		return testCert("02"), nil
	})
	if err != nil {
		t.Fatalf("CertificateIssue after a failed sign: %v", err)
	}
	want := testCert("02")
	want.OrderID = "o"
	wantCert(t, "CertificateIssue after a failed sign", got, want)
	wantOrder(t, f.get("o"), issuedOrder(o))
}

func testCertificateIssueBadCertificate(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		cert *store.Certificate
	}{
		{"no certificate", nil},
		{"uppercase serial", testCert("0A1B")},
		{"empty serial", testCert("")},
		{"other order", func() *store.Certificate { c := testCert("03"); c.OrderID = "elsewhere"; return c }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, open)
			o := f.approvedOrder()
			_, err := f.s.CertificateIssue(f.ctx, "o", func(*store.Order) (*store.Certificate, error) {
				return tt.cert, nil
			})
			if err == nil {
				t.Fatal("CertificateIssue succeeded")
			}
			wantOrder(t, f.get("o"), o)
			_, err = f.s.CertificateGetByOrder(f.ctx, "o")
			wantErr(t, "CertificateGetByOrder", err, store.ErrNotFound)
		})
	}
}

func testCertificateIssueConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	o := f.approvedOrder()
	var calls atomic.Int32
	sign := func(*store.Order) (*store.Certificate, error) {
		n := calls.Add(1)
		return testCert(fmt.Sprintf("%02x", n)), nil
	}
	certs := make([]*store.Certificate, concurrency)
	race(func(i int) {
		c, err := f.s.CertificateIssue(f.ctx, "o", sign)
		if err != nil {
			t.Errorf("goroutine %d: CertificateIssue: %v", i, err)
		}
		certs[i] = c
	})
	if n := calls.Load(); n != 1 {
		t.Fatalf("sign called %d times, want 1", n)
	}
	want := testCert("01")
	want.OrderID = "o"
	for i, c := range certs {
		wantCert(t, fmt.Sprintf("goroutine %d: CertificateIssue", i), c, want)
	}
	wantOrder(t, f.get("o"), issuedOrder(o))
}

func testContextCanceled(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("acct", false)
	f.order(newOrder("o", "acct", "pending", t0, "a.example"))
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()

	tests := []struct {
		name string
		call func() error
	}{
		{"OrderGet", func() error { _, err := f.s.OrderGet(ctx, "o"); return err }},
		{"OrderSetStatus", func() error { return f.s.OrderSetStatus(ctx, "o", "invalid", "", "") }},
		{"CertificateIssue", func() error {
			_, err := f.s.CertificateIssue(ctx, "o", func(*store.Order) (*store.Certificate, error) {
				t.Error("sign called")
				return testCert("01"), nil
			})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.name, tt.call(), context.Canceled)
		})
	}
	if got := f.get("o"); got.Status != "pending" {
		t.Errorf("status after canceled calls = %q, want pending", got.Status)
	}
}

// testOrderCreatePendingLimit: with maxPending, an account's live pending
// API orders are counted at creation (not its others', not its ACME
// orders, nor orders whose values expired, nor other statuses); at the
// limit nothing is stored and the error says how many and when the first
// expires.
func testOrderCreatePendingLimit(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("acct", false)
	f.account("other", false)
	f.order(newOrder("p1", "acct", "pending", t0, "p1.example"))
	f.order(newOrder("p2", "acct", "pending", t0.Add(time.Hour), "p2.example"))
	f.order(newOrder("issued", "acct", "issued", t0, "i.example"))
	f.order(newOrder("theirs", "other", "pending", t0, "t.example"))
	expired := newOrder("expired", "acct", "pending", t0.Add(-40*24*time.Hour), "e.example")
	f.order(expired)
	acme := newOrder("acme", "acct", "pending", t0, "a.example")
	acme.Method = "acme"
	f.order(acme)

	at := t0.Add(2 * time.Hour)
	err := f.s.OrderCreate(f.ctx, newOrder("p3", "acct", "pending", at, "p3.example"), 2)
	var pe *store.PendingLimitError
	if !errors.As(err, &pe) || pe.Pending != 2 || !pe.NextExpiry.Equal(t0.Add(30*24*time.Hour)) {
		t.Fatalf("OrderCreate at the limit = %v (%+v); want a PendingLimitError of 2, the first expiring at %v", err, pe, t0.Add(30*24*time.Hour))
	}
	if _, err := f.s.OrderGet(f.ctx, "p3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused order stored: %v", err)
	}
	if err := f.s.OrderCreate(f.ctx, newOrder("p3", "acct", "pending", at, "p3.example"), 3); err != nil {
		t.Fatalf("OrderCreate under the limit: %v", err)
	}
	if err := f.s.OrderCreate(f.ctx, newOrder("t2", "other", "pending", at, "t2.example"), 2); err != nil {
		t.Fatalf("OrderCreate for another account: %v", err)
	}
	if err := f.s.OrderCreate(f.ctx, newOrder("p4", "acct", "pending", at, "p4.example"), 0); err != nil {
		t.Fatalf("OrderCreate without a limit: %v", err)
	}
}

// testOrderCancel: a pending order is canceled with its pending
// authorizations, once; any other is a conflict, and unchanged.
func testOrderCancel(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("acct", false)
	o := f.order(newOrder("o", "acct", "pending", t0, "a.example", "b.example"))
	f.order(newOrder("issued", "acct", "issued", t0, "i.example"))
	acme := newOrder("acme", "acct", "pending", t0, "c.example")
	acme.Method = "acme"
	f.order(acme)
	if err := f.s.OrderCancel(f.ctx, o.ID, "canceled"); err != nil {
		t.Fatalf("OrderCancel: %v", err)
	}
	got := f.get(o.ID)
	if got.Status != "invalid" || got.Error != "canceled" || got.Authorizations[0].Status != "invalid" || got.Authorizations[1].Status != "invalid" {
		t.Fatalf("canceled order = %+v; want it and its authorizations invalid", got)
	}
	for _, id := range []string{o.ID, "issued", "acme"} {
		before := f.get(id)
		wantErr(t, "OrderCancel("+id+")", f.s.OrderCancel(f.ctx, id, "again"), store.ErrConflict)
		wantOrder(t, f.get(id), before)
	}
	wantErr(t, "OrderCancel(unknown)", f.s.OrderCancel(f.ctx, "nosuch", "x"), store.ErrNotFound)
}

// testOrderEraseKey: an order's generated key is erased at once, once;
// an unknown order is ErrNotFound.
func testOrderEraseKey(t *testing.T, open func(t *testing.T) store.Store) {
	f := setup(t, open)
	f.account("acct", false)
	o := newOrder("k", "acct", "issued", t0, "k.example")
	o.KeyPEM = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
	f.order(o)
	for i, want := range []bool{true, false} {
		if erased, err := f.s.OrderEraseKey(f.ctx, "k"); err != nil || erased != want {
			t.Fatalf("OrderEraseKey #%d = %v, %v; want %v", i+1, erased, err, want)
		}
	}
	if got := f.get("k"); got.KeyPEM != "" {
		t.Errorf("key after erasure: %q", got.KeyPEM)
	}
	_, err := f.s.OrderEraseKey(f.ctx, "nosuch")
	wantErr(t, "OrderEraseKey(unknown)", err, store.ErrNotFound)
}
