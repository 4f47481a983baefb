package diagnose

import (
	"os"
	"strings"
	"testing"
)

// TestEveryCodeDocumented keeps docs/findings.md in step with the codes: a
// code an applicant can receive must be explained there.
func TestEveryCodeDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/findings.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range Codes() {
		if !strings.Contains(doc, "| `"+string(c)+"` |") {
			t.Errorf("docs/findings.md has no row for %s", c)
		}
	}
}
