package testenv

import (
	"strings"
	"testing"
)

// recordingTB records whether MissingPeer failed or skipped.
type recordingTB struct {
	testing.TB
	failed, skipped string
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Fatalf(format string, args ...any) { r.failed = format }
func (r *recordingTB) Skip(args ...any)                  { r.skipped = args[0].(string) }

func TestMissingPeer(t *testing.T) {
	tests := []struct {
		name     string
		env      string
		wantFail bool
	}{
		{"bare go test skips", "", false},
		{"make test fails", "1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(RequirePeersEnv, tt.env)
			r := &recordingTB{TB: t}
			MissingPeer(r, "knotd missing (%s)", "apt-get install -y knot")
			if got := r.failed != ""; got != tt.wantFail {
				t.Errorf("failed = %v, want %v", got, tt.wantFail)
			}
			if got := r.skipped != ""; got == tt.wantFail {
				t.Errorf("skipped = %v, want %v", got, !tt.wantFail)
			}
			if !tt.wantFail && !strings.Contains(r.skipped, "knotd missing (apt-get install -y knot)") {
				t.Errorf("skip message %q lacks the reason", r.skipped)
			}
		})
	}
}
