package sqlite

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestQueryPlans checks with EXPLAIN QUERY PLAN that no query reads a
// whole table, except those listed that must (they return every row), and
// that the queries served by a partial index use it (the planner uses a
// partial index only when the query implies the index's WHERE).
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	// scans lists the full scans allowed, by query.
	scans := map[string][]string{
		"qPerspectiveList":     {"SCAN perspectives USING INDEX sqlite_autoindex_perspectives_1"},
		"qRevocationUnexpired": {"SCAN r USING INDEX sqlite_autoindex_revocations_1"},
		"qAccountAdminExists":  {"SCAN accounts USING COVERING INDEX accounts_admin"},
		// The admin accounts only (a partial index): a handful.
		"qAccountFirstAdmin": {"SCAN accounts USING INDEX accounts_admin"},
		// A partial index of exactly the rows wanted, read in order.
		"qOrderApprovedIDs": {"SCAN orders USING COVERING INDEX orders_approved_created"},
		// Once, when a process starts: an index of pending orders would
		// cost every order's writes more than this scan costs.
		"qOrderReleaseUnrecordedChecks": {"SCAN orders"},
		"qOrderRetryFailedIssuance":     {"SCAN orders"}, // once, when a process starts
		// z is the subquery's one row.
		"qACMEAuthzReusableFull": {"SCAN z"},
		// Account names are compared folded, in Go: accounts are few.
		"qAccountNames": {"SCAN accounts USING COVERING INDEX accounts_name"},
		// The partial index holds exactly the unswept blocks.
		"qKeyBlocksUnswept": {"SCAN blocked_keys USING INDEX blocked_keys_unswept"},
	}
	uses := map[string]string{
		"qACMEAuthzReusableFull": "USING INDEX acme_authzs_reuse",
		"qACMEOrderReplaced":     "USING INDEX acme_orders_replaces",
		"qACMEAccountGet":        "USING INDEX sqlite_autoindex_acme_accounts_1",
		"qACMEAuthzFull":         "USING INDEX sqlite_autoindex_acme_authzs_1",
		"qCertificateBySerial":   "USING INDEX sqlite_autoindex_certificates_1",
		"qOrderApprovedIDs":      "USING COVERING INDEX orders_approved_created",
		"qKeyBlocksUnswept":      "USING INDEX blocked_keys_unswept",
		"qOrderPendingCount":     "USING INDEX orders_account_pending",
	}
	ctx := context.Background()
	conn, err := s.rd.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for name, q := range preparedQueries {
		if strings.HasPrefix(name, "qMigration") || name == "qSavepoint" || name == "qRelease" || name == "qRollbackTo" {
			continue
		}
		// Not parallel: the subtests share conn.
		t.Run(name, func(t *testing.T) {
			// One argument per parameter: "?" each, or "?N" up to the
			// highest N (no query has a "?" in a literal).
			n := strings.Count(q, "?")
			if ns := numbered.FindAllStringSubmatch(q, -1); ns != nil {
				n = 0
				for _, m := range ns {
					v, _ := strconv.Atoi(m[1])
					n = max(n, v)
				}
			}
			args := make([]any, n)
			for i := range args {
				args[i] = "x"
			}
			rows, err := conn.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			for _, step := range plan {
				if strings.HasPrefix(step, "SCAN ") && step != "SCAN CONSTANT ROW" && !slices.Contains(scans[name], step) && !valuesScan(name, step) {
					t.Errorf("plan step %q reads a whole table; plan: %q", step, plan)
				}
			}
			if want := uses[name]; want != "" && !strings.Contains(strings.Join(plan, "\n"), want) {
				t.Errorf("plan %q does not use %q", plan, want)
			}
		})
	}
}

// valuesScan reports whether step is a multi-row insert (rowsInsert)
// reading the rows of its own VALUES clause, as many as its name says, or
// the scan SQLite plans, in a multi-row insert of acme_authzs, of the
// child table acme_order_authzs for foreign key violations: that scan runs
// only while deferred foreign key violations are outstanding (OP_FkIfZero
// skips it otherwise), and dcv defers none.
func valuesScan(name, step string) bool {
	table, n, ok := strings.Cut(name, "×")
	return ok && (step == "SCAN "+n+"-ROW VALUES CLAUSE" || table == "insACMEAuthz" && step == "SCAN acme_order_authzs")
}

// numbered matches a numbered parameter.
var numbered = regexp.MustCompile(`\?(\d+)`)
