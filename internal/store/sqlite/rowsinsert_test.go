package sqlite

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/dcvhq/dcv/internal/store"
)

// TestRowsInsert checks that rowsInsert stores every row, in order, across
// as many statements as maxInsertRows needs, refuses values that are not
// whole rows, and that a failing row rolls back the whole write.
func TestRowsInsert(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	ctx := context.Background()
	if _, err := s.wr.db.ExecContext(ctx, `CREATE TABLE rows_test (k INTEGER NOT NULL PRIMARY KEY, v TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	ri := newRowsInsert("rows_test", "k, v")
	tests := []struct {
		name    string
		rows    int
		args    []any // nil: rows rows from base
		base    int
		wantErr error // nil: none
		want    int   // rows in the table after
	}{
		{name: "no rows", rows: 0, want: 0},
		{name: "one row", rows: 1, base: 0, want: 1},
		{name: "a full statement", rows: maxInsertRows, base: 100, want: 1 + maxInsertRows},
		{name: "more than one statement", rows: 2*maxInsertRows + 1, base: 200, want: 1 + maxInsertRows + 2*maxInsertRows + 1},
		{name: "not whole rows", args: []any{1000, "a", 1001}, wantErr: errAny, want: 1 + maxInsertRows + 2*maxInsertRows + 1},
		// The last row repeats a key stored above: the rows before it, in
		// earlier statements of the same write, are rolled back too.
		{name: "a duplicate in the last statement", args: append(rowsArgs(300, maxInsertRows+1)[:2*maxInsertRows], 0, "dup"),
			wantErr: store.ErrConflict, want: 1 + maxInsertRows + 2*maxInsertRows + 1},
	}
	for _, tt := range tests {
		// Not parallel: each case builds on the table the cases before left.
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = rowsArgs(tt.base, tt.rows)
			}
			err := s.write(ctx, func(tx *txn) error { return ri.exec(ctx, tx, args) })
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("exec: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("exec: %v, want %v", err, tt.wantErr)
			}
			var n, bad int
			if err := s.rd.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE v <> 'v' || k) FROM rows_test`).Scan(&n, &bad); err != nil {
				t.Fatal(err)
			}
			if n != tt.want || bad != 0 {
				t.Fatalf("%d rows (%d with a wrong value), want %d", n, bad, tt.want)
			}
		})
	}
}

// errAny stands for any error in TestRowsInsert.
var errAny = errors.New("any error")

// rowsArgs returns the values of n rows (k, "v"+k) from k = base.
func rowsArgs(base, n int) []any {
	args := make([]any, 0, 2*n)
	for k := base; k < base+n; k++ {
		args = append(args, k, "v"+strconv.Itoa(k))
	}
	return args
}
