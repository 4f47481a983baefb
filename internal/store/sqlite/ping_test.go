package sqlite

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestPing: Ping answers nil while the database reads, and an error once
// it is closed, its file moved or deleted, or its deadline has passed.
func TestPing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *Store) context.Context
		wantErr bool
	}{
		{"open", func(*testing.T, *Store) context.Context { return context.Background() }, false},
		{"closed", func(_ *testing.T, s *Store) context.Context {
			s.Close()
			return context.Background()
		}, true},
		// Still readable through the open file, but what is written now
		// is lost at the next start (verification run).
		{"file moved away", func(t *testing.T, s *Store) context.Context {
			if err := os.Rename(s.path, s.path+".moved"); err != nil {
				t.Fatal(err)
			}
			return context.Background()
		}, true},
		{"file deleted", func(t *testing.T, s *Store) context.Context {
			if err := os.Remove(s.path); err != nil {
				t.Fatal(err)
			}
			return context.Background()
		}, true},
		{"deadline passed", func(t *testing.T, _ *Store) context.Context {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			t.Cleanup(cancel)
			return ctx
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTemp(t)
			err := s.Ping(tt.prepare(t, s))
			if (err != nil) != tt.wantErr {
				t.Errorf("Ping = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
