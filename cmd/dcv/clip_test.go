package main

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "abc.example.com", "abc.example.com"},
		{"carriage return and tab", "v1\r\n\tx", `v1\r\n\tx`},
		{"bell and escape", "a\x07\x1b[2Jb", `a\a\x1b[2Jb`},
		{"delete and c1", "a\x7fb\u0085c", `a\x7fb\u0085c`},
		{"bidi override", "abc\u202etxt.exe", `abc\u202etxt.exe`},
		{"ordinary unicode stays", "bücher.example", "bücher.example"},
		{"long is cut", strings.Repeat("x", maxShown+5), strings.Repeat("x", maxShown) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := clip(tt.in); got != tt.want {
				t.Errorf("clip(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
