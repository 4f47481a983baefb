package ratelimit

import (
	"context"
	"sync"
	"time"
)

// maxMemoryKeys bounds the memory backend: beyond it, keys whose allowance
// is fully replenished are dropped (they carry no state a fresh key lacks).
const maxMemoryKeys = 1 << 20

// Memory is an in-process Limiter. Its state is lost on restart and not
// shared between processes; use a shared backend when several instances
// serve.
type Memory struct {
	mu   sync.Mutex
	tats map[string]time.Time
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an empty in-memory Limiter.
func NewMemory() *Memory { return &Memory{tats: map[string]time.Time{}} }

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
		if len(m.tats) >= maxMemoryKeys {
			m.prune(now)
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

// prune drops keys whose TAT is past: their allowance is whole again.
func (m *Memory) prune(now time.Time) {
	for k, t := range m.tats {
		if !t.After(now) {
			delete(m.tats, k)
		}
	}
}
