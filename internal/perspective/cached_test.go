package perspective_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/perspective"
)

// countingSource is a perspective.RemoteSource that counts its reads and
// answers with err when set.
type countingSource struct {
	reads int
	err   error
}

func (c *countingSource) Remotes(context.Context) ([]perspective.Remote, error) {
	c.reads++
	if c.err != nil {
		return nil, c.err
	}
	return []perspective.Remote{{Name: "a"}}, nil
}

func TestCachedSource(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		at        []time.Duration // times of successive calls after t0
		failFirst bool
		wantReads int
	}{
		{"within the ttl, one read", []time.Duration{0, time.Second, 1999 * time.Millisecond}, false, 1},
		{"after the ttl, read again", []time.Duration{0, 2 * time.Second, 3 * time.Second}, false, 2},
		{"clock going back, read again", []time.Duration{time.Second, 0}, false, 2},
		{"a failed read is not cached", []time.Duration{0, 0}, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &countingSource{}
			if tt.failFirst {
				src.err = errors.New("database is closed")
			}
			var now time.Time
			c := perspective.NewCachedSource(src, 2*time.Second, func() time.Time { return now })
			for i, d := range tt.at {
				now = t0.Add(d)
				_, err := c.Remotes(context.Background())
				if tt.failFirst && i == 0 {
					if err == nil {
						t.Fatal("first read: want the source's error")
					}
					src.err = nil
					continue
				}
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if src.reads != tt.wantReads {
				t.Errorf("reads = %d, want %d", src.reads, tt.wantReads)
			}
		})
	}
}
