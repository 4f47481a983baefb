package sqlite

import (
	"context"
	"fmt"
	"strings"
)

// maxInsertRows is the most rows one INSERT statement of a rowsInsert
// carries: the six challenges of a two-name order (three per
// authorization) in one statement. More rows take more statements.
const maxInsertRows = 6

// rowsInsert inserts rows into one table, up to maxInsertRows of them per
// statement. Each statement is a round trip through database/sql and the
// driver (10 to 15 µs on the 2-core benchmark machine) whatever the number
// of its rows, so an order's authorizations, or an authorization's
// challenges, go in one statement instead of one each. Its statements are
// prepared at Open like the q* queries (see preparedQueries).
type rowsInsert struct {
	cols  int
	texts [maxInsertRows + 1]string // texts[n] inserts n rows
}

// newRowsInsert returns the rowsInsert of table's columns, a
// comma-separated list.
func newRowsInsert(table, columns string) *rowsInsert {
	ri := &rowsInsert{cols: strings.Count(columns, ",") + 1}
	row := "(" + strings.Repeat("?, ", ri.cols-1) + "?)"
	for n := 1; n <= maxInsertRows; n++ {
		ri.texts[n] = "INSERT INTO " + table + " (" + columns + ") VALUES " + strings.Repeat(row+", ", n-1) + row
	}
	return ri
}

// exec inserts the rows whose values are args, cols values per row, in
// as few statements as maxInsertRows allows. An error is classified
// (a constraint violation is store.ErrConflict); it does not say which
// row failed.
func (ri *rowsInsert) exec(ctx context.Context, tx *txn, args []any) error {
	if len(args)%ri.cols != 0 {
		return fmt.Errorf("inserting rows: %d values are not rows of %d", len(args), ri.cols)
	}
	for len(args) > 0 {
		n := min(len(args)/ri.cols, maxInsertRows)
		if _, err := tx.ExecContext(ctx, ri.texts[n], args[:n*ri.cols]...); err != nil {
			return classify(err)
		}
		args = args[n*ri.cols:]
	}
	return nil
}

// The multi-row inserts, by name (preparedQueries lists their statements
// as "name×N").
var (
	insAuthz          = newRowsInsert("authorizations", `order_id, position, domain, method, status, value, expires_at, last_check_at, findings`)
	insACMEAuthz      = newRowsInsert("acme_authzs", `id, account_id, identifier, status, token, expires_at, validated_at, created_at`)
	insACMEChallenge  = newRowsInsert("acme_challenges", `authz_id, position, type, status, started_at, validated_at, error, evidence_id`)
	insACMEOrderAuthz = newRowsInsert("acme_order_authzs", `order_id, position, authz_id`)

	rowsInserts = map[string]*rowsInsert{
		"insAuthz":          insAuthz,
		"insACMEAuthz":      insACMEAuthz,
		"insACMEChallenge":  insACMEChallenge,
		"insACMEOrderAuthz": insACMEOrderAuthz,
	}
)

func init() {
	for name, ri := range rowsInserts {
		for n := 1; n <= maxInsertRows; n++ {
			preparedQueries[fmt.Sprintf("%s×%d", name, n)] = ri.texts[n]
		}
	}
}
