package ca

import (
	"cmp"
	"fmt"
	"time"
)

// Profile is a named certificate profile that a client may ask for (the
// ACME profiles extension: "profile" in newOrder, the directory's
// meta.profiles). A profile only sets the leaf validity; every leaf follows
// the same BR profile (see Issue).
type Profile struct {
	// Name is the profile's identifier on the wire, e.g. "shortlived".
	Name string
	// Description is a short human-readable description.
	Description string
	// Validity is the leaf validity; zero means the CA's Config.Validity.
	Validity time.Duration
}

// Profile names built in.
const (
	ProfileDefault    = "default"
	ProfileShortLived = "shortlived"
)

// ShortLivedValidity is the validity of the shortlived profile: 7 days, the
// BRs' bound (§4.9.7, §7.1.2.11.2) below which a certificate needs neither
// a CRL distribution point nor OCSP.
const ShortLivedValidity = 7 * 24 * time.Hour

// DefaultProfiles returns the built-in profiles: "default" (the CA's
// configured validity) and "shortlived" (7 days). Their descriptions assume
// the CA's DefaultValidity; DescribeProfiles states another.
func DefaultProfiles() []Profile {
	return DescribeProfiles([]Profile{
		{Name: ProfileDefault},
		{Name: ProfileShortLived, Validity: ShortLivedValidity},
	}, DefaultValidity)
}

// DescribeProfiles returns ps with each Description stating the validity
// of the profile's certificates in one form ("TLS server certificate
// valid for 90 days"), that of a zero Validity being caValidity, the
// validity the CA gives (Config.Validity, or DefaultValidity as shortened
// by MaxValidityAt).
func DescribeProfiles(ps []Profile, caValidity time.Duration) []Profile {
	out := make([]Profile, len(ps))
	for i, p := range ps {
		p.Description = "TLS server certificate valid for " + validityWords(cmp.Or(p.Validity, caValidity))
		out[i] = p
	}
	return out
}

// ValidityWords says a validity in words, as profile descriptions do: "90
// days", "1 day", "12 hours".
func ValidityWords(d time.Duration) string { return validityWords(d) }

// validityWords says a validity in words: "90 days", "1 day", "12 hours",
// or Go's duration form when it is not a whole number of hours.
func validityWords(d time.Duration) string {
	plural := func(n time.Duration, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d > 0 && d%(24*time.Hour) == 0:
		return plural(d/(24*time.Hour), "day")
	case d > 0 && d%time.Hour == 0:
		return plural(d/time.Hour, "hour")
	}
	return d.String()
}

// MinValidity is the shortest validity a profile or the CA's default may
// have: a leaf's notBefore is backdated by a minute, so a validity of a
// few seconds would be expired when issued, and one of minutes of no use.
const MinValidity = time.Hour

// CheckProfiles validates a profile list: unique non-empty names that are
// tokens (letters, digits, '-', '_' and '.': a client sends the name back
// in newOrder), and each validity zero or within [MinValidity,
// MaxValidityAt(now)].
func CheckProfiles(ps []Profile, now time.Time) error {
	max := MaxValidityAt(now)
	seen := map[string]bool{}
	for _, p := range ps {
		switch {
		case p.Name == "":
			return fmt.Errorf("ca: profile with an empty name")
		case !isProfileToken(p.Name):
			return fmt.Errorf("ca: profile %q: a profile name is made of letters, digits, '-', '_' and '.' only; rename it", p.Name)
		case seen[p.Name]:
			return fmt.Errorf("ca: profile %q listed twice", p.Name)
		case p.Validity < 0 || (p.Validity > 0 && p.Validity < MinValidity) || p.Validity > max:
			return fmt.Errorf("ca: profile %q: validity %s is outside [1h, %s]", p.Name, Days(p.Validity), Days(max))
		}
		seen[p.Name] = true
	}
	return nil
}

// isProfileToken reports whether name has only ASCII letters, digits, '-',
// '_' and '.'.
func isProfileToken(name string) bool {
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}
