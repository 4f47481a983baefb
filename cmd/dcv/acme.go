package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcvhq/dcv/internal/acme"
	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/ratelimit"
)

// maxAltChainSize bounds the alternate chain file: a few intermediates.
const maxAltChainSize = 64 << 10

// maxValidationBudget is the longest --acme-validation-budget: a challenge
// POST held longer than this risks the client's own request timeout (30 s
// and more in certbot, lego and x/crypto/acme), which would turn a
// validation that succeeds into a failed request.
const maxValidationBudget = 25 * time.Second

// validationBudget maps --acme-validation-budget to the order package's
// setting, where 0 means the default and a negative budget not to wait:
// on the command line, 0 means not to wait.
func validationBudget(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// acmeFlags configure the ACME server that `serve` mounts under /acme/.
type acmeFlags struct {
	eabRequired      bool
	authzReuse       time.Duration
	profiles         string
	defaultProfile   string
	altChain         string
	termsOfService   string
	website          string
	validationBudget time.Duration
	rateLimits       string
	limitNewOrders   string
	limitFailed      string
	limitNewAccounts string
	limitNewNonces   string
}

func (f *acmeFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&f.eabRequired, "acme-eab-required", false, "refuse new ACME accounts without External Account Binding (keys from POST /api/v1/eab-keys); accounts made before keep working")
	durationFlag(fs, &f.authzReuse, "acme-authz-reuse", order.DefaultAuthzReuse, "how long a valid ACME authorization is reused for the same account, at most 398d; shortened to what CA/B Forum BRs §4.2.1 allow at each moment: 200d until 15 March 2027, then 100d, 10d from 15 March 2029")
	fs.StringVar(&f.profiles, "acme-profiles", "", "certificate profiles offered, as name=validity[,name=validity] (validity 0 = --cert-validity); default: default=0,shortlived=7d")
	fs.StringVar(&f.defaultProfile, "acme-default-profile", "", "profile of orders that name none (default: the first profile)")
	fs.StringVar(&f.altChain, "acme-alt-chain", "", "PEM file of alternate intermediates, offered after the leaf at the certificate's Link rel=\"alternate\" URL")
	fs.StringVar(&f.termsOfService, "acme-terms-of-service", "", "URL of terms that new ACME accounts must agree to")
	fs.StringVar(&f.website, "acme-website", "", "URL of the CA's web site, listed in the ACME directory (meta.website)")
	durationFlag(fs, &f.validationBudget, "acme-validation-budget", order.DefaultValidationBudget, "how long a challenge POST waits for its validation before answering \"processing\" (0 = answer at once, at most 25s: clients give up on a request after 30s or more)")
	fs.StringVar(&f.rateLimits, "acme-rate-limits", "on", `"on", or "off" for no ACME rate limits at all (a private CA, a load test)`)
	fs.StringVar(&f.limitNewOrders, "acme-limit-new-orders", "", "new orders per account, as COUNT/PERIOD (default 300/3h)")
	fs.StringVar(&f.limitFailed, "acme-limit-failed-validations", "", "failed validations per domain per account, as COUNT/PERIOD (default 5/1h)")
	fs.StringVar(&f.limitNewAccounts, "acme-limit-new-accounts", "", "new accounts per client IP address (an IPv6 client by its /64), as COUNT/PERIOD (default 300/3h)")
	fs.StringVar(&f.limitNewNonces, "acme-limit-new-nonces", "", "newNonce requests per client IP address (an IPv6 client by its /64), as COUNT/PERIOD (default 60000/1m): a client needs one per flow at most")
}

// parseLimit reads a COUNT/PERIOD limit flag; empty keeps the default.
func parseLimit(flag, s, name string) (ratelimit.Limit, error) {
	if s == "" {
		return ratelimit.Limit{}, nil
	}
	c, p, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(c)
	if !ok || err != nil {
		return ratelimit.Limit{}, fmt.Errorf("--%s: %q is not COUNT/PERIOD (like 300/3h)", flag, s)
	}
	var d time.Duration
	if err := (durationValue{&d}).Set(p); err != nil {
		return ratelimit.Limit{}, fmt.Errorf("--%s: %w", flag, err)
	}
	l := ratelimit.Limit{Name: name, Count: n, Period: d}
	if n < 1 || d <= 0 {
		return ratelimit.Limit{}, fmt.Errorf("--%s: count and period must be positive", flag)
	}
	if err := l.Valid(); err != nil {
		return ratelimit.Limit{}, fmt.Errorf("--%s %s: more than one request a microsecond is no limit; use a longer period", flag, s)
	}
	return l, nil
}

// limits reads the rate-limit flags.
func (f *acmeFlags) limits() (ratelimit.Limiter, order.ACMELimits, error) {
	var ls order.ACMELimits
	var lim ratelimit.Limiter
	switch f.rateLimits {
	case "on":
	case "off":
		lim = ratelimit.Unlimited{}
	default:
		return nil, ls, fmt.Errorf("--acme-rate-limits: %q is neither on nor off", f.rateLimits)
	}
	var err error
	if ls.NewOrdersPerAccount, err = parseLimit("acme-limit-new-orders", f.limitNewOrders, "new orders per account"); err != nil {
		return nil, ls, err
	}
	if ls.FailedValidationsPerDomain, err = parseLimit("acme-limit-failed-validations", f.limitFailed, "failed validations per domain per account"); err != nil {
		return nil, ls, err
	}
	if ls.NewAccountsPerIP, err = parseLimit("acme-limit-new-accounts", f.limitNewAccounts, "new accounts per IP address"); err != nil {
		return nil, ls, err
	}
	if ls.NewNoncesPerIP, err = parseLimit("acme-limit-new-nonces", f.limitNewNonces, "new nonces per IP address"); err != nil {
		return nil, ls, err
	}
	return lim, ls, nil
}

// boundForAddresses adds to the description of each profile whose
// certificates last longer than ipMax (--ip-max-validity) that those
// naming an IP address get ipMax: the directory's meta.profiles states what
// a client gets. certValidity is --cert-validity, a profile of validity 0's.
func boundForAddresses(ps []ca.Profile, certValidity, ipMax time.Duration) []ca.Profile {
	if ipMax <= 0 {
		return ps
	}
	caValidity := certValidity
	if caValidity == 0 {
		caValidity = min(ca.DefaultValidity, ca.MaxValidityAt(time.Now()))
	}
	out := slices.Clone(ps)
	for i, p := range out {
		if cmp.Or(p.Validity, caValidity) > ipMax {
			out[i].Description += "; " + ca.ValidityWords(ipMax) + " for one naming an IP address"
		}
	}
	return out
}

// parseProfiles reads --acme-profiles. Each description states the
// validity the profile's certificates get, a validity of 0 being the
// CA's: certValidity (--cert-validity), or the default when 0.
func parseProfiles(s string, certValidity time.Duration) ([]ca.Profile, error) {
	caValidity := certValidity
	if caValidity == 0 {
		caValidity = min(ca.DefaultValidity, ca.MaxValidityAt(time.Now()))
	}
	if s == "" {
		return ca.DescribeProfiles(ca.DefaultProfiles(), caValidity), nil
	}
	var out []ca.Profile
	for _, item := range strings.Split(s, ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return nil, fmt.Errorf("--acme-profiles: %q is not name=validity", item)
		}
		var d time.Duration
		if err := (durationValue{&d}).Set(v); err != nil {
			return nil, fmt.Errorf("--acme-profiles: %s: %w", name, err)
		}
		out = append(out, ca.Profile{Name: name, Validity: d})
	}
	return ca.DescribeProfiles(out, caValidity), ca.CheckProfiles(out, time.Now())
}

// acmeSettings are the ACME flags, read and checked (acmeFlags.check).
type acmeSettings struct {
	profiles []ca.Profile
	alt      string // --acme-alt-chain's PEM
	limiter  ratelimit.Limiter
	limits   order.ACMELimits
}

// check reads and checks the ACME flags that need neither the store nor the
// CA, so that serve refuses them before it creates anything: a wrong value
// is a usage error; an --acme-alt-chain file that cannot be read, or holds
// no certificate, is a failure. certValidity is --cert-validity, the
// validity the profiles' descriptions state for a profile of validity 0.
func (f *acmeFlags) check(certValidity time.Duration) (*acmeSettings, error) {
	profiles, err := parseProfiles(f.profiles, certValidity)
	if err != nil {
		return nil, usageError(err)
	}
	if f.defaultProfile != "" {
		names := make([]string, len(profiles))
		for i, p := range profiles {
			names[i] = p.Name
		}
		if !slices.Contains(names, f.defaultProfile) {
			return nil, usageError(fmt.Errorf("--acme-default-profile %s: no such profile (offered: %s)", f.defaultProfile, strings.Join(names, ", ")))
		}
	}
	if max := order.MaxAuthzReuse; f.authzReuse <= 0 || f.authzReuse > max {
		return nil, usageError(fmt.Errorf("--acme-authz-reuse %s is outside (0, %s]", durationValue{&f.authzReuse}, durationValue{&max}))
	}
	if max := maxValidationBudget; f.validationBudget < 0 || f.validationBudget > max {
		return nil, usageError(fmt.Errorf("--acme-validation-budget %s is outside [0 (answer \"processing\" at once), %s]", durationValue{&f.validationBudget}, durationValue{&max}))
	}
	for _, u := range []struct{ flag, value string }{{"acme-terms-of-service", f.termsOfService}, {"acme-website", f.website}} {
		if u.value == "" {
			continue
		}
		if p, err := url.Parse(u.value); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, usageError(fmt.Errorf("--%s: %q is not an absolute http(s) URL", u.flag, u.value))
		}
	}
	limiter, limits, err := f.limits()
	if err != nil {
		return nil, usageError(err)
	}
	var alt string
	if f.altChain != "" {
		b, err := os.ReadFile(f.altChain)
		if err != nil {
			return nil, fmt.Errorf("--acme-alt-chain: %w", err)
		}
		if len(b) > maxAltChainSize || !strings.Contains(string(b), "-----BEGIN CERTIFICATE-----") {
			return nil, fmt.Errorf("--acme-alt-chain: %s is not a PEM certificate file of at most %d bytes", f.altChain, maxAltChainSize)
		}
		alt = string(b)
	}
	return &acmeSettings{profiles: profiles, alt: alt, limiter: limiter, limits: limits}, nil
}

// build returns the ACME decisions and handler for a server at public,
// with the settings check returned.
func (f *acmeFlags) build(set *acmeSettings, orders *order.Service, issuerDER []byte, public, caaIdentity string, logger *slog.Logger) (*order.ACME, *acme.Handler, error) {
	svc, err := order.NewACME(orders, order.ACMEConfig{
		Limiter:          set.limiter,
		Limits:           set.limits,
		AccountURL:       func(id string) string { return acme.AccountURL(public, id) },
		AuthzReuse:       f.authzReuse,
		Profiles:         set.profiles,
		DefaultProfile:   f.defaultProfile,
		TermsOfService:   f.termsOfService,
		RequireEAB:       f.eabRequired,
		ValidationBudget: validationBudget(f.validationBudget),
	})
	if err != nil {
		return nil, nil, err
	}
	h, err := acme.New(acme.Config{ACME: svc, BaseURL: public, CAAIdentities: []string{caaIdentity}, Website: f.website, AlternateChainPEM: set.alt, IssuerDER: issuerDER, Logger: logger})
	if err != nil && set.alt != "" {
		return nil, nil, fmt.Errorf("--acme-alt-chain %s: %w", f.altChain, err)
	}
	if err != nil {
		return nil, nil, err
	}
	return svc, h, nil
}

// mountACME serves /acme/ with the ACME handler and everything else with
// the REST API handler.
func mountACME(rest, acmeHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/acme/", acmeHandler)
	mux.Handle("/", rest)
	return mux
}
