package sqlite

import (
	"bytes"
	"time"

	"github.com/dcvhq/dcv/internal/store"
)

// authzCacheTTL is how long ACMEAuthzGet may answer from memory. It bounds
// how stale an authorization may look after a change made outside this
// Store (another process, or an operator editing the file); changes made
// through this Store are seen at once (see authzCache). An ACME client
// fetches each authorization, then posts its challenge, within a few
// seconds.
const authzCacheTTL = 5 * time.Second

// authzCacheMax bounds the authorizations kept, so memory stays bounded
// whatever the load; at a few kilobytes each (the evidence of a finished
// challenge), some tens of MB at worst.
const authzCacheMax = 8192

// authzCache caches what ACMEAuthzGet loaded or ACMEOrderCreate inserted:
// the ACME authorizations with their challenges, so that the
// authorization and challenge requests of an ACME client do not start a
// read transaction and read their pages again. Every write that may change
// an acme_authzs or acme_challenges row (ACMEOrderCreate,
// ACMEAuthzDeactivate, ACMEChallengeStart, ACMEChallengeFinish,
// ACMEChallengeComplete; nothing else writes those tables) invalidates the
// authorizations it may change (see rowCache for why hits are never older
// than the database for changes made through this Store).
//
// A stale entry (a change made outside this Store, within the TTL) can
// only make a view stale, never authorize anything: the writes that act
// on an authorization's state check it inside their write transactions,
// from the database, never from this cache. ACMEChallengeStart and
// ACMEChallengeComplete start a validation only if the authorization is
// pending and unexpired (qACMEChallengeStart), ACMEChallengeFinish
// changes only a processing challenge of a pending authorization,
// ACMEAuthzDeactivate only a pending or valid one, and ACMEOrderFinalize
// issues only if every authorization of the order is valid and unexpired
// (qACMEOrderNotReady, in its reservation transaction).
type authzCache = rowCache[store.ACMEAuthz]

func newAuthzCache(now func() time.Time) *authzCache {
	return newRowCache(now, authzCacheTTL, authzCacheMax,
		func(z *store.ACMEAuthz) string { return z.ID }, cloneAuthz)
}

// cloneAuthz returns a deep copy of z: callers may change what they get.
func cloneAuthz(z *store.ACMEAuthz) *store.ACMEAuthz {
	out := *z
	if z.Challenges != nil {
		out.Challenges = make([]store.ACMEChallenge, len(z.Challenges))
		for i, ch := range z.Challenges {
			ch.Error = bytes.Clone(ch.Error)
			ch.Evidence = bytes.Clone(ch.Evidence)
			out.Challenges[i] = ch
		}
	}
	return &out
}

// authzAsStored returns z as ACMEAuthzGet would read it back once
// inserted: times in UTC without a monotonic reading, no empty challenge
// list, no empty Error or Evidence (stored as NULL).
func authzAsStored(z store.ACMEAuthz) store.ACMEAuthz {
	z.ExpiresAt, z.ValidatedAt, z.CreatedAt = asStoredTime(z.ExpiresAt), asStoredTime(z.ValidatedAt), asStoredTime(z.CreatedAt)
	if len(z.Challenges) == 0 {
		z.Challenges = nil
		return z
	}
	chs := make([]store.ACMEChallenge, len(z.Challenges))
	for i, ch := range z.Challenges {
		ch.StartedAt, ch.ValidatedAt = asStoredTime(ch.StartedAt), asStoredTime(ch.ValidatedAt)
		if len(ch.Error) == 0 {
			ch.Error = nil
		}
		if len(ch.Evidence) == 0 {
			ch.Evidence = nil
		}
		chs[i] = ch
	}
	z.Challenges = chs
	return z
}

// asStoredTime is t as decodeTime returns it after encodeTime.
func asStoredTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
