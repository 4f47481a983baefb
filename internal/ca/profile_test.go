package ca

import (
	"testing"
	"time"
)

func TestCheckProfiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ps      []Profile
		wantErr string
	}{
		{"defaults", DefaultProfiles(), ""},
		{"empty name", []Profile{{Name: ""}}, "ca: profile with an empty name"},
		{"duplicate", []Profile{{Name: "a"}, {Name: "a"}}, `ca: profile "a" listed twice`},
		{"too long", []Profile{{Name: "a", Validity: MaxValidityAt(testNow) + time.Hour}}, `ca: profile "a": validity 4777h0m0s is outside [1h, 199d]`},
		{"expired when issued", []Profile{{Name: "onesec", Validity: time.Second}}, `ca: profile "onesec": validity 1s is outside [1h, 199d]`},
		{"an hour", []Profile{{Name: "hour", Validity: time.Hour}}, ""},
		{"a token", []Profile{{Name: "Short-lived_v2.1"}}, ""},
		{"a space", []Profile{{Name: "bad name"}}, `ca: profile "bad name": a profile name is made of letters, digits, '-', '_' and '.' only; rename it`},
		{"a quote", []Profile{{Name: `x"y`}}, `ca: profile "x\"y": a profile name is made of letters, digits, '-', '_' and '.' only; rename it`},
		{"not ASCII", []Profile{{Name: "kürz"}}, `ca: profile "kürz": a profile name is made of letters, digits, '-', '_' and '.' only; rename it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckProfiles(tt.ps, testNow)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Fatalf("CheckProfiles = %q, want %q", got, tt.wantErr)
			}
		})
	}
}
