package main

import (
	"strings"
	"testing"
	"time"

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
