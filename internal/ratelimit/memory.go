package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory backend bounds.
const (
	// maxMemoryKeys bounds the memory backend's keys: a full one first drops keys whose allowance is fully
	// replenished (they carry no state a fresh key lacks), then, if the
	// keys are all in use, evicts some at random.
	maxMemoryKeys = 1 << 20
	// pruneEvery spaces the scans for replenished keys of a full backend:
	// each is a walk over every key under the lock, and a backend full of
	// keys in use would otherwise walk them for every new key.
	pruneEvery = time.Second
	// evictFraction is the share of keys a full backend whose keys are all
	// in use evicts at once (1/16), so that the cost of an eviction is
	// spread over as many new keys.
	evictFraction = 16
)

// Memory is an in-process Limiter. Its state is lost on restart and not
// shared between processes; use a shared backend when several instances
// serve.
//
// Its memory is bounded: when it holds maxMemoryKeys keys all in use (a
// flood of distinct clients), it evicts some of them, which gives those
// clients their whole allowance again. Failing open for a few keys is
// preferred to refusing every new client or growing without bound.
type Memory struct {
	mu     sync.Mutex
	tats   map[string]time.Time
	max    int       // maxMemoryKeys; smaller in tests
	pruned time.Time // the last scan for replenished keys
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty in-memory Limiter.
func NewMemory() *Memory { return &Memory{tats: map[string]time.Time{}, max: maxMemoryKeys} }

// Spend implements Limiter.
func (m *Memory) Spend(_ context.Context, l Limit, key string, cost int, now time.Time) (Decision, error) {
	if err := l.Valid(); err != nil {
		return Decision{}, err
	}
	k := l.Name + "\x00" + key
	m.mu.Lock()
	defer m.mu.Unlock()
	d, tat := decide(l, m.tats[k], cost, now)
	if d.Allowed {
		if _, ok := m.tats[k]; !ok && len(m.tats) >= m.max {
			m.makeRoom(now)
		}
		m.tats[k] = tat
	}
	return d, nil
}

// Check implements Limiter.
func (m *Memory) Check(_ context.Context, l Limit, key string, cost int, now time.Time) (Decision, error) {
	if err := l.Valid(); err != nil {
		return Decision{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, _ := decide(l, m.tats[l.Name+"\x00"+key], cost, now)
	return d, nil
}

// makeRoom frees room for a new key in a full backend: it drops keys whose
// TAT is past (their allowance is whole again), at most once per
// pruneEvery, and when that leaves the backend full, evicts a sixteenth of
// the keys, chosen at random (Go's map order).
func (m *Memory) makeRoom(now time.Time) {
	if now.Sub(m.pruned) >= pruneEvery || now.Before(m.pruned) {
		m.pruned = now
		for k, t := range m.tats {
			if !t.After(now) {
				delete(m.tats, k)
			}
		}
	}
	if len(m.tats) < m.max {
		return
	}
	evict := max(1, m.max/evictFraction)
	for k := range m.tats {
		if evict == 0 {
			break
		}
		delete(m.tats, k)
		evict--
	}
}
