package diagnose

import "testing"

// TestBlockingSides: only blocking findings count, each on the side its
// code names.
func TestBlockingSides(t *testing.T) {
	t.Parallel()
	ca := Finding{Code: CodeResolverUnavailable, Severity: SeverityError}
	caWarn := Finding{Code: CodePerspectiveUnavailable, Severity: SeverityWarning}
	app := Finding{Code: CodeDNSRecordNotPropagated, Severity: SeverityError}
	appInfo := Finding{Code: CodeDNSTXTPresent, Severity: SeverityInfo}
	tests := []struct {
		name              string
		fs                []Finding
		wantCA, wantApplt bool
	}{
		{"none", nil, false, false},
		{"not blocking", []Finding{caWarn, appInfo}, false, false},
		{"the CA's side", []Finding{ca, appInfo}, true, false},
		{"the applicant's side", []Finding{app, caWarn}, false, true},
		{"both", []Finding{app, ca}, true, true},
	}
	for _, tt := range tests {
		gotCA, gotApplt := BlockingSides(tt.fs)
		if gotCA != tt.wantCA || gotApplt != tt.wantApplt {
			t.Errorf("%s: BlockingSides = %v, %v; want %v, %v", tt.name, gotCA, gotApplt, tt.wantCA, tt.wantApplt)
		}
	}
}
