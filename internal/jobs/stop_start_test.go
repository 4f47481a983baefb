package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/jobs"
)

// TestStopDuringStart: a shutdown signal may stop the runner while it
// starts; Start and Stop do not race (run with -race), and a Start after
// Stop refuses, so that nothing runs once the databases close (review).
func TestStopDuringStart(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	r, err := jobs.New(context.Background(), jobs.Config{DB: b.db, Orders: b.orders, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	b.orders.SetScheduler(r)
	started := make(chan error, 1)
	go func() { started <- r.Start(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	_ = r.Stop(ctx)
	<-started
	sctx, scancel := context.WithTimeout(context.Background(), waitLimit)
	defer scancel()
	_ = r.Stop(sctx)
	if err := r.Start(context.Background()); err == nil {
		t.Error("Start after Stop = nil, want a refusal")
	}
}
