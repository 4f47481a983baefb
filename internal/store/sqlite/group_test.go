package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestCommitGroup runs groups of writes, some failing or panicking, as
// one transaction each: a failed write is undone alone (the first by a
// rollback of the transaction, the others by their savepoint), the others
// are stored, and each caller gets its own outcome.
func TestCommitGroup(t *testing.T) {
	t.Parallel()
	errWrite := errors.New("write failed")
	// Each write inserts its key, then does what its letter says: o = ok,
	// f = fail, p = panic.
	tests := []struct {
		name   string
		writes string
		want   string // keys stored
	}{
		{"alone ok", "o", "[0]"},
		{"alone fails", "f", "[]"},
		{"alone panics", "p", "[]"},
		{"first fails", "foo", "[1 2]"},
		{"first panics", "po", "[1]"},
		{"first two fail", "ffo", "[2]"},
		{"middle fails", "ofo", "[0 2]"},
		{"last panics", "oop", "[0 1]"},
		{"all fail", "fpf", "[]"},
		{"alternating", "fofofo", "[1 3 5]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTemp(t)
			ctx := context.Background()
			if err := s.write(ctx, func(tx *txn) error {
				_, err := tx.ExecContext(ctx, `CREATE TABLE g (k INTEGER PRIMARY KEY)`)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			group := make([]*writeReq, len(tt.writes))
			for k, what := range tt.writes {
				group[k] = &writeReq{ctx: ctx, done: make(chan struct{}), fn: func(tx *txn) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO g (k) VALUES (?)`, k); err != nil {
						return err
					}
					switch what {
					case 'f':
						return errWrite
					case 'p':
						panic("write panicked")
					}
					return nil
				}}
			}
			// The committer is idle (every write above has returned), so
			// this goroutine may run a group on the writer connection.
			s.commitGroup(group)
			for k, what := range tt.writes {
				r := group[k]
				<-r.done
				switch what {
				case 'o':
					if r.err != nil || r.panicked {
						t.Errorf("write %d: err %v, panicked %v; want success", k, r.err, r.panicked)
					}
				case 'f':
					if !errors.Is(r.err, errWrite) || r.panicked {
						t.Errorf("write %d: err %v, panicked %v; want %v", k, r.err, r.panicked, errWrite)
					}
				case 'p':
					if !r.panicked || r.panicVal != "write panicked" {
						t.Errorf("write %d: panicked %v with %v; want its panic", k, r.panicked, r.panicVal)
					}
				}
			}
			var keys []int
			rows, err := s.rd.db.Query(`SELECT k FROM g ORDER BY k`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var k int
				if err := rows.Scan(&k); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
			}
			if got := fmt.Sprint(keys); got != tt.want {
				t.Errorf("stored keys %s, want %s", got, tt.want)
			}
		})
	}
}
