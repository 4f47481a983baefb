package acme

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestNonces(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	flip := func(s string, i int) string {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	tests := []struct {
		name string
		// nonce returns the value to redeem, given a fresh store n whose
		// clock reads *now.
		nonce func(n *nonces, now *time.Time) string
		want  bool
	}{
		{name: "fresh", nonce: func(n *nonces, _ *time.Time) string { return n.issue() }, want: true},
		{name: "used twice", nonce: func(n *nonces, _ *time.Time) string {
			s := n.issue()
			if !n.redeem(s) {
				t.Error("first redemption refused")
			}
			return s
		}},
		{name: "expired", nonce: func(n *nonces, now *time.Time) string {
			s := n.issue()
			*now = now.Add(nonceLifetime + time.Second)
			return s
		}},
		{name: "just within lifetime", nonce: func(n *nonces, now *time.Time) string {
			s := n.issue()
			*now = now.Add(nonceLifetime)
			return s
		}, want: true},
		{name: "from another key", nonce: func(*nonces, *time.Time) string { return newNonces(func() time.Time { return t0 }).issue() }},
		{name: "counter altered", nonce: func(n *nonces, _ *time.Time) string { return flip(n.issue(), 7) }},
		{name: "MAC altered", nonce: func(n *nonces, _ *time.Time) string { return flip(n.issue(), nonceLen-1) }},
		{name: "too short", nonce: func(n *nonces, _ *time.Time) string { return n.issue()[:40] }},
		{name: "too long", nonce: func(n *nonces, _ *time.Time) string { return n.issue() + "AAAA" }},
		{name: "not base64url", nonce: func(n *nonces, _ *time.Time) string { return strings.Repeat("!", 43) }},
		{name: "empty", nonce: func(*nonces, *time.Time) string { return "" }},
		{name: "out of the window", nonce: func(n *nonces, _ *time.Time) string {
			s := n.issue()
			n.mu.Lock()
			n.next += nonceWindow
			n.mu.Unlock()
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := t0
			n := newNonces(func() time.Time { return now })
			s := tt.nonce(n, &now)
			if got := n.redeem(s); got != tt.want {
				t.Errorf("redeem(%q) = %v, want %v", s, got, tt.want)
			}
		})
	}
}

func BenchmarkNonceIssueRedeem(b *testing.B) {
	n := newNonces(time.Now)
	b.ReportAllocs()
	for b.Loop() {
		if !n.redeem(n.issue()) {
			b.Fatal("a fresh nonce was refused")
		}
	}
}
