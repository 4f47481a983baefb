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
	// Value is the random value the applicant was asked to publish; for the
	// ACME methods, the key authorization (RFC 8555 §8.1).
	Value string
	// Token is the ACME challenge token (http-01's URL path), or "".
	Token string
	// AccountURI is the ACME account URL matched against CAA accounturi
	// parameters (RFC 8657 §3), or "" outside ACME.
	AccountURI string
	// OtherValues are the values of the account's other pending orders, so
	// that diagnosis can tell an applicant who published one of them instead
	// of Value. Only the first MaxOtherValues are kept (file and dns methods).
	OtherValues []string
	// OrderValues are the values of the order's other domains validated by
	// the dns method, so that diagnosis can tell an applicant who published
	// one of them at this domain's host (dns method only).
	OrderValues []DomainValue
	// CAAOnly asks for the CAA records alone, as they apply to Method (RFC
	// 8657 validationmethods) and AccountURI: the recheck at issuance of a
	// domain validated earlier (CA/B Forum BR §3.2.2.8). Value must still
	// be set (it is echoed as Observation.Expected) but is not looked for.
	CAAOnly bool `json:",omitempty"`
	// CAAIdentity is the issuer domain name CAA records are matched
	// against, or "" for the validator's own (Config.CAAIdentity). The
	// primary sends its own to its remote perspectives, so that every
	// perspective checks CAA for the same CA whatever its flags say.
	CAAIdentity string `json:",omitempty"`
}

// DomainValue is the value one domain of an order was given.
type DomainValue struct {
	Domain string `json:"domain"`
	Value  string `json:"value"`
}

// MaxOtherValues bounds the Request.OtherValues kept as evidence in one
// observation: an account rarely has more pending orders, and the evidence
// of one domain must stay small.
const MaxOtherValues = 32

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
	// TLSALPN is the evidence of a tls-alpn-01 validation.
	TLSALPN *TLSALPNObservation `json:"tls_alpn,omitempty"`
	// CAAOnly marks an observation of the CAA records alone (see
	// Request.CAAOnly): DNS, File and TLSALPN are nil.
	CAAOnly bool `json:"caa_only,omitempty"`

	// Remote perspectives (package perspective) fill the fields below; the
	// primary leaves them empty.

	// Unavailable is set, to one of the Unavailable* kinds, when the remote
	// perspective produced no observation: then DNS, File and CAA are nil.
	Unavailable string `json:"unavailable,omitempty"`
	// UnavailableDetail is a short technical description of why, for logs
	// and evidence.
	UnavailableDetail string `json:"unavailable_detail,omitempty"`
	// RIR is the Regional Internet Registry region of the perspective
	// ("ARIN", "RIPE", "APNIC", "LACNIC", "AFRINIC").
	RIR string `json:"rir,omitempty"`
	// Agent is the URL of the remote agent asked.
	Agent string `json:"agent,omitempty"`
	// RoundTrip is the time from the request to the agent to its answer, as
	// measured by the primary.
	RoundTrip time.Duration `json:"round_trip_ns,omitempty"`
}

// Kinds of Observation.Unavailable. They go into stored evidence: never
// rename one.
const (
	// UnavailableNotConfigured: fewer remote perspectives are configured
	// than the required minimum; this slot has none (fail closed).
	UnavailableNotConfigured = "not_configured"
	// UnavailableConnect: the agent could not be reached (refused,
	// unreachable, DNS failure of its host).
	UnavailableConnect = "connect"
	// UnavailableTimeout: the agent gave no answer within its deadline.
	UnavailableTimeout = "timeout"
	// UnavailableTLS: the mutual-TLS handshake failed (bad or unknown
	// certificate on either side).
	UnavailableTLS = "tls"
	// UnavailableProtocol: the agent answered, but not with a usable
	// observation (an HTTP error, malformed or oversized JSON).
	UnavailableProtocol = "protocol"
	// UnavailableCut: the quorum was decided without this perspective and
	// it had not answered within the grace period that followed.
	UnavailableCut = "cut"
	// UnavailableSkipped: the perspective was not asked, or its answer was
	// dropped, because the primary perspective failed.
	UnavailableSkipped = "skipped"
	// UnavailableAgentNetwork: the agent answered, but its own network
	// failed the observation (its resolver could not be reached, or its
	// source address could not be used): the operator's problem, never
	// the applicant's.
	UnavailableAgentNetwork = "agent_network"
)

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
	// appended to the host), "bare_domain" (the value at the domain itself)
	// or one of the other Probe* kinds below.
	Kind   string `json:"kind"`
	Lookup Lookup `json:"lookup"`
	// Wildcard is a TXT lookup of a random name beside the probed one
	// (_dnsauth-<random>.<parent of the probed name>), made when the
	// probe found the expected value: the same values there come from a
	// wildcard record (RFC 4592), which answers at every name that does
	// not exist below its owner's parent, and not from a record put at
	// the probed name. Probes with the same parent share the lookup. For
	// a ProbeHostAddress probe that got addresses, it is an A lookup of
	// such a name: the same addresses there come from a wildcard A record.
	Wildcard *Lookup `json:"wildcard,omitempty"`
}

// Probe kinds.
const (
	ProbeDoubledZone   = "doubled_zone"
	ProbeDoubledDomain = "doubled_domain"
	ProbeBareDomain    = "bare_domain"
	// ProbeDoubledPrefix is the record host with its prefix twice
	// (_acme-challenge._acme-challenge.example.com): a DNS hook or a form
	// given the prefixed name, where the prefix is added once more.
	ProbeDoubledPrefix = "doubled_prefix"
	// ProbeWWW is the record host of www.<domain>, when the domain has no
	// leading "www." (_dnsauth.www.example.com for example.com).
	ProbeWWW = "www"
	// ProbeHostAddress is an A lookup at the record host itself: an
	// authoritative server answers a TXT question at a name holding only an
	// A record with no data, so the record of the wrong type shows only
	// when asked for.
	ProbeHostAddress = "host_address"
	// ProbeApex is the record host of the domain without its leading
	// "www." (_dnsauth.example.com for www.example.com).
	ProbeApex = "apex"
	// ProbeOtherPrefix is the record host under the other DNS method's
	// prefix: _acme-challenge.<domain> (ACME dns-01) for the dns method,
	// _dnsauth.<domain> for dns-01.
	ProbeOtherPrefix = "other_prefix"
	// ProbeCNAMEPrefixed is the record host's prefix put before the
	// target of the CNAME at the record host (_dnsauth.<target> for
	// _dnsauth.example.com CNAME <target>): a record published with the
	// prefix at the delegated end of the CNAME, where the record itself
	// belongs.
	ProbeCNAMEPrefixed = "cname_prefixed"
	// ProbeReversed is the record host with the prefix and the domain's
	// first label swapped (www._dnsauth.example.com for
	// _dnsauth.www.example.com): a host typed in the wrong order.
	ProbeReversed = "reversed"
	// ProbeParent is the record host of the domain's parent
	// (_dnsauth.example.com for shop.example.com), when that parent is the
	// registered domain or below it and the domain does not start with
	// "www." (ProbeApex covers those).
	ProbeParent = "parent"
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
	// Wildcard is a TXT lookup of a random label beside Host
	// (_dnsauth-<random>.<domain>), made with the probes: TXT records there
	// come from a wildcard, which also answers at the probed names, so
	// values it explains are not near misses.
	Wildcard *Lookup `json:"wildcard,omitempty"`
	// Authoritative is what every authoritative server of Host's zone
	// answered for Host (TXT) and the zone's SOA serial on each, asked
	// directly. Set when the resolver can ask them (iterative mode); forward
	// mode cannot, and leaves it nil.
	Authoritative *dnsclient.ZoneView `json:"authoritative,omitempty"`
	// AuthoritativeErr is set instead of Authoritative when the zone's
	// servers could not be found.
	AuthoritativeErr *dnsclient.Error `json:"authoritative_error,omitempty"`
	// Target is the name Host's CNAME chain ends at, as Record followed
	// it, or "": the TXT record that counts is the target's, served by
	// the target's zone.
	Target string `json:"target,omitempty"`
	// TargetAuthoritative is, like Authoritative, what every
	// authoritative server of Target's zone answered for Target (TXT),
	// with its SOA serial: servers of the target's zone that disagree
	// make the value come and go just as those of Host's zone do. Set
	// with Target, when the resolver can ask them.
	TargetAuthoritative *dnsclient.ZoneView `json:"target_authoritative,omitempty"`
	// TargetAuthoritativeErr is set instead of TargetAuthoritative when
	// the target zone's servers could not be found.
	TargetAuthoritativeErr *dnsclient.Error `json:"target_authoritative_error,omitempty"`
	// OtherValues are the request's OtherValues (at most MaxOtherValues),
	// kept when the record lacks the value.
	OtherValues []string `json:"other_values,omitempty"`
	// OrderValues are the request's OrderValues, kept when the record lacks
	// the value.
	OrderValues []DomainValue `json:"order_values,omitempty"`
}

// FileObservation is the evidence of a file validation: the http fetch and,
// when it failed, the https fetch.
type FileObservation struct {
	URL     string            `json:"url"`
	Fetches []*webfetch.Trace `json:"fetches"`
	// Probes are fetches at places where applicants commonly put the file
	// by mistake, made when the file was not found at URL (see FileProbe).
	Probes []FileProbe `json:"probes,omitempty"`
	// OtherValues are the request's OtherValues (at most MaxOtherValues).
	OtherValues []string `json:"other_values,omitempty"`
	// AddressViews are what every authoritative server of the domain's
	// zone answers for its A and for its AAAA records, asked directly
	// when the file was not validated and the resolver can ask them
	// (iterative mode): servers that give different addresses explain a
	// fetch that reaches another web server from one check to the next.
	AddressViews []*dnsclient.ZoneView `json:"address_views,omitempty"`
}

// FileProbe is a fetch of a URL where applicants commonly put the
// validation file by mistake.
type FileProbe struct {
	// Kind is one of the FileProbe* kinds.
	Kind  string          `json:"kind"`
	Trace *webfetch.Trace `json:"trace"`
}

// File probe kinds: where the file was looked for besides FilePath.
const (
	// FileProbeRoot is /fileauth.txt, at the web root.
	FileProbeRoot = "root"
	// FileProbeDoubledExt is FilePath with ".txt" twice (an editor or an
	// operating system hiding the extension it added).
	FileProbeDoubledExt = "doubled_extension"
	// FileProbeWellKnown is /.well-known/fileauth.txt (pki-validation/
	// left out).
	FileProbeWellKnown = "well_known"
	// FileProbePKIValidation is /pki-validation/fileauth.txt (.well-known/
	// left out).
	FileProbePKIValidation = "pki_validation"
	// FileProbeNoDot is /well-known/pki-validation/fileauth.txt (the dot of
	// .well-known lost, as some upload tools do with hidden folders).
	FileProbeNoDot = "no_dot"
	// FileProbeWWW is FilePath at www.<domain>, when <domain> has no www.
	FileProbeWWW = "www"
	// FileProbeApex is FilePath at <domain> without its leading "www.".
	FileProbeApex = "apex"
	// FileProbeEachAddress is an http-01 challenge URL fetched again from
	// each address of its name (webfetch.Fetcher.FetchEach), after the
	// validation fetch, which stops at the first address that answers,
	// got a wrong answer: whether another address serves the key
	// authorization. It is evidence for diagnosis only, never for the
	// verdict.
	FileProbeEachAddress = "each_address"
)
