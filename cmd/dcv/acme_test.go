package main

import (
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/ratelimit"
)

func TestACMELimitFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		f         acmeFlags
		unlimited bool
		orders    ratelimit.Limit
		err       string
	}{
		{name: "defaults", f: acmeFlags{rateLimits: "on"}},
		{name: "off", f: acmeFlags{rateLimits: "off"}, unlimited: true},
		{name: "custom", f: acmeFlags{rateLimits: "on", limitNewOrders: "50/1h"}, orders: ratelimit.Limit{Name: "new orders per account", Count: 50, Period: time.Hour}},
		{name: "days", f: acmeFlags{rateLimits: "on", limitNewOrders: "1000/7d"}, orders: ratelimit.Limit{Name: "new orders per account", Count: 1000, Period: 7 * 24 * time.Hour}},
		{name: "bad switch", f: acmeFlags{rateLimits: "maybe"}, err: "neither on nor off"},
		{name: "no slash", f: acmeFlags{rateLimits: "on", limitFailed: "5"}, err: "--acme-limit-failed-validations"},
		{name: "zero count", f: acmeFlags{rateLimits: "on", limitNewAccounts: "0/1h"}, err: "must be positive"},
		{name: "bad period", f: acmeFlags{rateLimits: "on", limitNewAccounts: "3/soon"}, err: "not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lim, ls, err := tt.f.limits()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := lim.(ratelimit.Unlimited); ok != tt.unlimited {
				t.Errorf("limiter %T, unlimited %v", lim, tt.unlimited)
			}
			if ls.NewOrdersPerAccount != tt.orders {
				t.Errorf("new orders limit %+v, want %+v", ls.NewOrdersPerAccount, tt.orders)
			}
		})
	}
}

// TestProfileDescriptions: every profile's description states the validity
// its certificates get, in one form, --cert-validity included.
func TestProfileDescriptions(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	defaultValidity := min(ca.DefaultValidity, ca.MaxValidityAt(time.Now()))
	tests := []struct {
		name         string
		profiles     string
		certValidity time.Duration
		want         map[string]string
	}{
		{name: "defaults", want: map[string]string{
			"default":    "TLS server certificate valid for " + strconv.Itoa(int(defaultValidity/day)) + " days",
			"shortlived": "TLS server certificate valid for 7 days"}},
		{name: "defaults with --cert-validity 30d", certValidity: 30 * day, want: map[string]string{
			"default":    "TLS server certificate valid for 30 days",
			"shortlived": "TLS server certificate valid for 7 days"}},
		{name: "flag", profiles: "default=0,shortlived=7d,day=24h,half=12h", certValidity: 30 * day, want: map[string]string{
			"default":    "TLS server certificate valid for 30 days",
			"shortlived": "TLS server certificate valid for 7 days",
			"day":        "TLS server certificate valid for 1 day",
			"half":       "TLS server certificate valid for 12 hours"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps, err := parseProfiles(tt.profiles, tt.certValidity)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, p := range ps {
				got[p.Name] = p.Description
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("descriptions %q, want %q", got, tt.want)
			}
		})
	}
}

// The directory's profiles say what a certificate naming an IP address
// gets under --ip-max-validity (black-box run: "90 days" for a 7-day one).
func TestProfilesBoundForAddresses(t *testing.T) {
	t.Parallel()
	ps, err := parseProfiles("", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := boundForAddresses(ps, 0, 7*24*time.Hour)
	if got[0].Description != "TLS server certificate valid for 90 days; 7 days for one naming an IP address" && !strings.HasSuffix(got[0].Description, "; 7 days for one naming an IP address") {
		t.Errorf("default: %q", got[0].Description)
	}
	if got[1].Description != ps[1].Description {
		t.Errorf("shortlived (7 days, within the bound) changed: %q", got[1].Description)
	}
	if same := boundForAddresses(ps, 0, 0); same[0].Description != ps[0].Description {
		t.Errorf("no bound changed the description: %q", same[0].Description)
	}
}
