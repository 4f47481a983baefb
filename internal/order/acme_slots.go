package order

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// Limits of the validations one ACME account runs at once.
const (
	// DefaultAccountValidations bounds the validations of one account that
	// run at once; more wait in line for a free slot. A client that answers
	// the 100 challenges of a large order together is served in turn (each
	// validation usually takes milliseconds), while one that answers many
	// for web servers that never reply holds its own slots, not the
	// remote perspectives' for every other applicant.
	DefaultAccountValidations = 16
	// accountSlotWait bounds a validation's wait for a slot of its
	// account: past it, the challenge is invalid with rateLimited. With
	// the validation's own acmeValidationTimeout after it, it stays within
	// the time after which a "processing" challenge counts as left by a
	// crash (staleBefore; review: 2 minutes went past it).
	accountSlotWait = time.Minute
)

// accountSlots hands out the validation slots of each account: at most
// max at once per account. Accounts with no validation waiting or running
// hold no memory.
type accountSlots struct {
	max int
	// wait bounds a validation's wait for a slot (accountSlotWait).
	wait time.Duration

	mu sync.Mutex
	m  map[string]*accountSlot
}

type accountSlot struct {
	ch    chan struct{}
	users int // running or waiting
}

// acquire waits for a slot of account until ctx ends, and returns its
// release, or ctx's error.
func (s *accountSlots) acquire(ctx context.Context, account string) (func(), error) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]*accountSlot{}
	}
	sl := s.m[account]
	if sl == nil {
		sl = &accountSlot{ch: make(chan struct{}, s.max)}
		s.m[account] = sl
	}
	sl.users++
	s.mu.Unlock()
	leave := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if sl.users--; sl.users == 0 {
			delete(s.m, account)
		}
	}
	select {
	case sl.ch <- struct{}{}:
		return func() { <-sl.ch; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// observeInTurn observes and diagnoses one challenge once acct has a free
// validation slot (accountSlots), within acmeValidationTimeout from then.
// A challenge that waits past accountSlotWait is invalid with rateLimited:
// the account answered more challenges at once than it lets finish.
func (a *ACME) observeInTurn(acct *store.ACMEAccount, z *store.ACMEAuthz, typ string) store.ACMEChallengeResult {
	wctx, cancel := context.WithTimeout(context.Background(), a.slots.wait)
	release, err := a.slots.acquire(wctx, acct.ID)
	cancel()
	if err != nil {
		prob := acmeErr(ACMERateLimited, "more than %d validations of this account were under way for %s: this one did not start; answer fewer challenges at once, or wait for those under way, then place a new order for %s",
			a.slots.max, a.slots.wait, z.Identifier)
		res := store.ACMEChallengeResult{AuthzID: z.ID, Type: typ, At: a.now(), Status: store.ACMEStatusInvalid}
		if res.Error, err = json.Marshal(prob); err != nil {
			a.s.cfg.Logger.Error("encoding acme problem", "authz", z.ID, "err", err)
		}
		return res
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), acmeValidationTimeout)
	defer cancel()
	return a.observe(ctx, acct, z, typ)
}
