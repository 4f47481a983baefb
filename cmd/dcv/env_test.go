package main

import (
	"strings"
	"testing"
)

// TestWarnUnknownEnv: a DCV_ variable that names no flag of any command is
// said, with the nearest flag's variable when one is close, instead of
// being ignored without a word (operator run).
func TestWarnUnknownEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want string // "" for no warning
	}{
		{name: "a flag of serve", env: []string{"DCV_CHECK_INTERVAL=1m"}},
		{name: "a flag of a client command", env: []string{"DCV_API_KEY=x", "DCV_SERVER=http://127.0.0.1:1"}},
		{name: "the test suite's own", env: []string{"DCV_REQUIRE_PEERS=1"}},
		{name: "not dcv's", env: []string{"HOME=/root", "DCVX=1"}},
		{name: "mistyped", env: []string{"DCV_CHEK_INTERVAL=1m"}, want: "the environment variable DCV_CHEK_INTERVAL names no flag of any dcv command, and is ignored (did you mean DCV_CHECK_INTERVAL?)"},
		{name: "mistyped letter case", env: []string{"DCV_api_key=x"}, want: "DCV_api_key names no flag of any dcv command, and is ignored (did you mean DCV_API_KEY?)"},
		{name: "unknown, nothing close", env: []string{"DCV_FROBNICATE=1"}, want: "the environment variable DCV_FROBNICATE names no flag of any dcv command, and is ignored\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			warnUnknownEnv(newRootCmd(), tt.env, &b)
			switch {
			case tt.want == "" && b.Len() != 0:
				t.Errorf("warned %q, want nothing", b.String())
			case tt.want != "" && !strings.Contains(b.String(), tt.want):
				t.Errorf("warned %q, want %q", b.String(), tt.want)
			}
		})
	}
}
