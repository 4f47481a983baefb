package perspective

import (
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/validation"
)

// TestAgentCountsEveryMethod: an agent counts the observations of every
// method it serves, ACME's too (verification run: `dcv perspective list`
// said 0 observations after ACME validations), and no other.
func TestAgentCountsEveryMethod(t *testing.T) {
	t.Parallel()
	var m metrics
	for _, method := range []validation.Method{validation.MethodDNS, validation.MethodFile, validation.MethodHTTP01, validation.MethodDNS01, validation.MethodTLSALPN01, "bogus"} {
		m.observed(method, time.Millisecond)
	}
	if n := m.total(); n != 5 {
		t.Errorf("%d observations counted, want 5 (every method but the unknown one)", n)
	}
}
