package order

import (
	"bytes"
	"math/big"
	"testing"
	"time"
)

// TestARIRetryAfter: a renewalInfo's Retry-After lets a client that obeys
// it ask again several times before the window ends, whatever the
// certificate's lifetime.
func TestARIRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		life time.Duration
		want time.Duration
	}{
		{"90 days", 90 * 24 * time.Hour, ARIRetryAfter},
		{"7 days", 7 * 24 * time.Hour, ARIRetryAfter},
		{"1 day", 24 * time.Hour, 144 * time.Minute},
		{"1 hour", time.Hour, 6 * time.Minute},
		{"5 minutes", 5 * time.Minute, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ariRetryAfter(tt.life); got != tt.want {
				t.Errorf("ariRetryAfter(%v) = %v, want %v", tt.life, got, tt.want)
			}
		})
	}
}

// TestDERIntegerBytes: a certificate identifier's serial is the content of
// the serial's DER INTEGER (RFC 9773 §4.1), minimal.
func TestDERIntegerBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    int64
		want []byte
	}{
		{"zero", 0, []byte{0}},
		{"small", 0x7f, []byte{0x7f}},
		{"top bit set", 0x80, []byte{0, 0x80}},
		{"two bytes", 0x1234, []byte{0x12, 0x34}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := derIntegerBytes(big.NewInt(tt.n)); !bytes.Equal(got, tt.want) {
				t.Errorf("derIntegerBytes(%#x) = %x, want %x", tt.n, got, tt.want)
			}
		})
	}
}
