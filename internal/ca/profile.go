package ca

import (
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
// configured validity, 90 days unless changed) and "shortlived" (7 days).
func DefaultProfiles() []Profile {
	return []Profile{
		{Name: ProfileDefault, Description: "TLS server certificate with the CA's default validity (90 days unless configured)"},
		{Name: ProfileShortLived, Description: "TLS server certificate valid for 7 days", Validity: ShortLivedValidity},
	}
}

// MinValidity is the shortest validity a profile or the CA's default may
// have: a leaf's notBefore is backdated by a minute, so a validity of a
// few seconds would be expired when issued, and one of minutes of no use.
const MinValidity = time.Hour

// CheckProfiles validates a profile list: unique non-empty names, and each
// validity zero or within [MinValidity, MaxValidityAt(now)].
func CheckProfiles(ps []Profile, now time.Time) error {
	max := MaxValidityAt(now)
	seen := map[string]bool{}
	for _, p := range ps {
		switch {
		case p.Name == "":
			return fmt.Errorf("ca: profile with an empty name")
		case seen[p.Name]:
			return fmt.Errorf("ca: profile %q listed twice", p.Name)
		case p.Validity < 0 || (p.Validity > 0 && p.Validity < MinValidity) || p.Validity > max:
			return fmt.Errorf("ca: profile %q: validity %s is outside [1h, %s]", p.Name, Days(p.Validity), Days(max))
		}
		seen[p.Name] = true
	}
	return nil
}
