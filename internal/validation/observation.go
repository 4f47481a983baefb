// Package validation observes the world for one validation method: it builds
// the challenge, looks the record up or fetches the file, and returns an
// Observation holding the raw evidence. It never judges: diagnose does.
package validation

import (
	"time"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Method names a validation method as it appears on the wire and in the store.
type Method string

// Validation methods.
const (
	// MethodDNS is the TXT record at _dnsauth.<domain>.
	MethodDNS Method = "dns"
	// MethodFile is the file at /.well-known/pki-validation/fileauth.txt.
	MethodFile Method = "file"
)

// DNSPrefix is the label prepended to the domain for DNS validation.
const DNSPrefix = "_dnsauth"

// FilePath is the path of the validation file.
const FilePath = "/.well-known/pki-validation/fileauth.txt"

// Request asks for one domain to be observed.
type Request struct {
	// Domain is the normalised domain, possibly "*.example.com".
	Domain string
	Method Method
	// Value is the random value the applicant was asked to publish.
	Value string
}

// Observation is what one perspective saw for one domain. Exactly one of DNS
// and File is set, according to Method. CAA is set when CAA was checked.
type Observation struct {
	Perspective string        `json:"perspective"`
	Domain      string        `json:"domain"`
	Method      Method        `json:"method"`
	Expected    string        `json:"expected"`
	StartedAt   time.Time     `json:"started_at"`
	Duration    time.Duration `json:"duration_ns"`

	DNS  *DNSObservation  `json:"dns,omitempty"`
	File *FileObservation `json:"file,omitempty"`
	CAA  *caa.Result      `json:"caa,omitempty"`
}

// Lookup is one DNS lookup kept as evidence: the response, or the error.
type Lookup struct {
	Name     string              `json:"name"`
	Type     string              `json:"type"`
	Response *dnsclient.Response `json:"response,omitempty"`
	Err      *dnsclient.Error    `json:"error,omitempty"`
}

// TXTValues returns the TXT values found (each record's strings
// concatenated), or nil.
func (l *Lookup) TXTValues() []string {
	if l == nil || l.Response == nil {
		return nil
	}
	var out []string
	for _, r := range l.Response.Answer {
		if r.Type == "TXT" {
			out = append(out, r.Data)
		}
	}
	return out
}

// Probe is a lookup at a name where applicants commonly put the record by
// mistake.
type Probe struct {
	// Kind is "doubled_zone" (the zone name appended twice, e.g.
	// _dnsauth.a.example.com.example.com), "doubled_domain" (the domain
	// appended to the host) or "bare_domain" (the value at the domain itself).
	Kind   string `json:"kind"`
	Lookup Lookup `json:"lookup"`
}

// Probe kinds.
const (
	ProbeDoubledZone   = "doubled_zone"
	ProbeDoubledDomain = "doubled_domain"
	ProbeBareDomain    = "bare_domain"
)

// DNSObservation is the evidence of a DNS (TXT) validation.
type DNSObservation struct {
	// Host is the name queried, e.g. "_dnsauth.example.com".
	Host string `json:"host"`
	// Record is the TXT lookup at Host.
	Record Lookup `json:"record"`
	// Domain is a lookup of the domain itself (type A), made to tell
	// "the domain does not resolve" from "the record is missing".
	Domain *Lookup `json:"domain,omitempty"`
	// Probes are lookups at likely wrong hosts, made when the record at Host
	// lacks the value.
	Probes []Probe `json:"probes,omitempty"`
}

// FileObservation is the evidence of a file validation: the http fetch and,
// when it failed, the https fetch.
type FileObservation struct {
	URL     string            `json:"url"`
	Fetches []*webfetch.Trace `json:"fetches"`
}
