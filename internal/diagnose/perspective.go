package diagnose

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Codes of multi-perspective corroboration. Like the others, they are API.
const (
	// CodeRemotePerspectivesDisagree: the primary perspective sees the
	// expected value, but too few remote perspectives corroborate it (CA/B
	// Forum BR 3.2.2.9). The message names what each disagreeing
	// perspective saw, the likely cause and the fix.
	CodeRemotePerspectivesDisagree Code = "REMOTE_PERSPECTIVES_DISAGREE"
	// CodePerspectiveUnavailable: a remote perspective (a dcv agent) could
	// not be asked, or too few are configured. It is an operator problem,
	// never the applicant's: an error when the quorum fails because of it,
	// a warning when the quorum holds without it.
	CodePerspectiveUnavailable Code = "PERSPECTIVE_UNAVAILABLE"
)

const (
	msgRemoteDisagree           msg = "msgRemoteDisagree"
	msgRemoteDisagreeRIR        msg = "msgRemoteDisagreeRIR"
	noteRemoteCache             msg = "noteRemoteCache"
	noteRemoteCacheETA          msg = "noteRemoteCacheETA"
	noteRemoteBlocked           msg = "noteRemoteBlocked"
	noteRemoteCAA               msg = "noteRemoteCAA"
	fixRemoteCache              msg = "fixRemoteCache"
	fixRemoteBlocked            msg = "fixRemoteBlocked"
	fixRemoteOther              msg = "fixRemoteOther"
	noteDisagreeUndecided       msg = "noteDisagreeUndecided"
	msgUnavailableDecided       msg = "msgUnavailableDecided"
	fixUnavailableDecided       msg = "fixUnavailableDecided"
	noteDisagreeNotConfigured   msg = "noteDisagreeNotConfigured"
	noteUnavailableAlsoDisagree msg = "noteUnavailableAlsoDisagree"
	msgUnavailable              msg = "msgUnavailable"
	msgUnavailableQuorumOK      msg = "msgUnavailableQuorumOK"
	msgNotConfigured            msg = "msgNotConfigured"
	msgRIRSpan                  msg = "msgRIRSpan"
	fixUnavailable              msg = "fixUnavailable"
	noteRemoteAddress           msg = "noteRemoteAddress"
	noteRemoteNameserver        msg = "noteRemoteNameserver"
	fixRemoteNameserver         msg = "fixRemoteNameserver"
	noteRemoteGeoDNS            msg = "noteRemoteGeoDNS"
	fixRemoteGeoDNS             msg = "fixRemoteGeoDNS"
	noteRemoteGeoMaybe          msg = "noteRemoteGeoMaybe"
	fixRemoteGeoMaybe           msg = "fixRemoteGeoMaybe"
	noteRemoteCacheExpired      msg = "noteRemoteCacheExpired"
	fixRemoteAddress            msg = "fixRemoteAddress"
	wordPerspectiveRIR          msg = "wordPerspectiveRIR"
	wordSaw                     msg = "wordSaw"
	wordListEnd                 msg = "wordListEnd"
	seenRecordNotFound          msg = "seenRecordNotFound"
	seenRecordOld               msg = "seenRecordOld"
	seenDNSTimeout              msg = "seenDNSTimeout"
	seenDNSFailed               msg = "seenDNSFailed"
	seenRecordFound             msg = "seenRecordFound"
	seenHTTPStatus              msg = "seenHTTPStatus"
	seenFileOther               msg = "seenFileOther"
	seenValues                  msg = "seenValues"
	seenFileServed              msg = "seenFileServed"
	seenFileServedLarge         msg = "seenFileServedLarge"
	seenNotResolved             msg = "seenNotResolved"
	seenFileOK                  msg = "seenFileOK"
	seenConnectTimeout          msg = "seenConnectTimeout"
	seenRefused                 msg = "seenRefused"
	seenReset                   msg = "seenReset"
	seenTimeoutAfter            msg = "seenTimeoutAfter"
	seenNetwork                 msg = "seenNetwork"
	seenCAAForbids              msg = "seenCAAForbids"
	seenCAAForbidsAt            msg = "seenCAAForbidsAt"
	seenCAAFailed               msg = "seenCAAFailed"
	seenCAAAllows               msg = "seenCAAAllows"
	unavNotConfigured           msg = "unavNotConfigured"
	unavConnect                 msg = "unavConnect"
	unavTimeout                 msg = "unavTimeout"
	unavTLS                     msg = "unavTLS"
	unavProtocol                msg = "unavProtocol"
	unavAgentNetwork            msg = "unavAgentNetwork"
	unavDNSSEC                  msg = "unavDNSSEC"
	wordRemoteOne               msg = "wordRemoteOne"
	wordRemoteMany              msg = "wordRemoteMany"
	fixUnavailableQuorumOK      msg = "fixUnavailableQuorumOK"
	seenDNSSECBogus             msg = "seenDNSSECBogus"
	seenSlowBody                msg = "seenSlowBody"
	unavCut                     msg = "unavCut"
	unavSkipped                 msg = "unavSkipped"
)

func init() {
	extend(CodeCheckTooFrequent,
		map[Code]string{
			CodeRemotePerspectivesDisagree: "Remote perspectives disagree",
			CodePerspectiveUnavailable:     "Remote perspective unavailable (operator problem)",
		},
		map[msg]string{
			msgRemoteDisagree:           "dcv's primary perspective sees the expected value, but only %[1]d of %[2]d remote perspectives corroborate it (%[3]d needed): %[4]s.",
			msgRemoteDisagreeRIR:        "dcv's primary perspective sees the expected value, but the %[1]d remote perspectives that corroborate it are all in one registry region (%[2]s), and at least two regions are required: %[3]s.",
			noteRemoteCache:             "The likely cause is DNS caching: resolvers near those perspectives still hold the previous answer, or one of your nameservers has not been updated yet.",
			noteRemoteCacheETA:          "The likely cause is DNS caching: resolvers near those perspectives still hold the previous answer (it expires in at most %[1]s, at %[2]s), or one of your nameservers has not been updated yet.",
			noteRemoteBlocked:           "The likely cause is geo-blocking or a firewall that filters by source address: the web server answers dcv's primary perspective but not those networks.",
			noteRemoteCAA:               "Some perspectives see CAA records that do not permit issuance: the CAA records have just changed, or your nameservers answer differently by location.",
			fixRemoteCache:              "Nothing needs to change if the record is correct: check again after the cached answers expire. Make sure every nameserver of the domain serves the new record.",
			noteRemoteCacheExpired:      "A previous check expected the answers cached near those perspectives to expire by %[1]s; they have, and those perspectives still see another answer: your nameservers answer differently by location (GeoDNS, split horizon), or one of them still lacks the record.",
			noteRemoteAddress:           "From %[1]s the name resolves to %[2]s, not to %[3]s as for dcv's primary perspective: another server answers there (GeoDNS, a CDN's regional address, split-horizon DNS).",
			fixRemoteAddress:            "Serve the file from every address the name resolves to in every region, or make the name resolve to the same servers everywhere, then check again.",
			noteRemoteNameserver:        "The answer %[1]s saw came from %[2]s, which is not one of the nameservers of %[3]s that dcv's primary perspective asked (%[4]s): the name is answered by other servers there (split-horizon DNS, GeoDNS, a different delegation, or an interception), and waiting will not change that.",
			fixRemoteNameserver:         "Publish the record on every nameserver that answers for the name from any network (each view of split-horizon or GeoDNS, every provider), or make the name answered by the same nameservers everywhere, then check again.",
			noteRemoteGeoDNS:            "The answer %[1]s saw came straight from %[2]s, a nameserver of %[3]s, not from a cache; the same server gave dcv's primary perspective the expected value: it answers according to the network a query comes from (GeoDNS, split-horizon DNS), and waiting will not change that.",
			fixRemoteGeoDNS:             "Publish the record in every view of your nameservers: every location or region of your DNS provider's GeoDNS (or traffic steering) and every view of split-horizon DNS, so that every network gets it, then check again.",
			noteRemoteGeoMaybe:          "The answer %[1]s saw came straight from %[2]s, a nameserver of %[3]s, not from a cache; the same server gave dcv's primary perspective the expected value: it answers differently by where a query comes from. A record just changed may not have reached every location of an anycast nameserver yet (usually minutes); if the answers still differ after %[4]s, the server answers according to the network a query comes from (GeoDNS, split-horizon DNS), and waiting will not change that.",
			fixRemoteGeoMaybe:           "If you changed the record in the last minutes, check again after the time given. If not, publish the record in every view of your nameservers: every location or region of your DNS provider's GeoDNS (or traffic steering) and every view of split-horizon DNS.",
			fixRemoteBlocked:            "Allow requests to /.well-known/pki-validation/ from every country and network (firewall, geo-blocking, CDN and bot-protection rules), then check again.",
			fixRemoteOther:              "Make sure the domain answers the same way from every network, then check again.",
			noteUnavailableAlsoDisagree: "Besides, %[1]s answered otherwise: that alone does not fail the check, but it will if the perspectives that could not answer do not corroborate.",
			noteDisagreeNotConfigured:   "This does not decide alone: the certificate authority has fewer remote perspectives than required, which fails every check until it has them.",
			msgUnavailableDecided:       "dcv could not obtain the view of %[1]s: %[2]s. This is a problem on the certificate authority's side, and it does not decide: even had they corroborated, too few remote perspectives would.",
			fixUnavailableDecided:       "Nothing needs to change on your side for them: the certificate authority's operator should bring those perspectives back.",
			noteDisagreeUndecided:       "This does not decide alone: the quorum could still be met once the unavailable remote perspectives answer.",
			msgUnavailable:              "dcv could not obtain the view of %[1]s: %[2]s. This is a problem on the certificate authority's side, not with your domain; without them the quorum of corroborating perspectives is not met.",
			msgUnavailableQuorumOK:      "dcv could not obtain the view of %[1]s: %[2]s. This is a problem on the certificate authority's side, not with your domain; the quorum was met without them.",
			msgNotConfigured:            "Remote perspectives configured: %[1]d; required: at least %[2]d. Validation fails closed. This is a problem on the certificate authority's side, not with your domain.",
			wordRemoteOne:               "1 remote perspective",
			wordRemoteMany:              "%[1]d remote perspectives",
			fixUnavailableQuorumOK:      "Nothing needs to change on your side: the domain is validated without them. The certificate authority's operator should bring those perspectives back.",
			msgRIRSpan:                  "The remote perspectives that corroborate are all in one registry region (%[1]s), and at least two regions are required. This is a problem on the certificate authority's side, not with your domain.",
			fixUnavailable:              "Nothing needs to change on your side: check again later, or contact the operator if it persists.",
			wordPerspectiveRIR:          "%[1]s (%[2]s)",
			wordSaw:                     "%[1]s saw %[2]s",
			wordListEnd:                 "; ",
			seenRecordNotFound:          "no record (%[1]s)",
			seenRecordOld:               "another value, %[1]s",
			seenDNSTimeout:              "a DNS timeout",
			seenDNSFailed:               "a failed DNS lookup (%[1]s)",
			seenRecordFound:             "the expected value",
			seenHTTPStatus:              "HTTP %[1]d",
			seenFileOther:               "HTTP 200 with other content",
			seenValues:                  "TXT %[1]s",
			seenFileServed:              "HTTP 200, %[1]d bytes",
			seenFileServedLarge:         "HTTP 200, more than %[1]d bytes",
			seenNotResolved:             "a name that does not resolve (%[1]s)",
			seenFileOK:                  "the expected file",
			seenConnectTimeout:          "a timeout during connect to %[1]s",
			seenRefused:                 "connection refused by %[1]s",
			seenReset:                   "connection reset by %[1]s",
			seenTimeoutAfter:            "no answer in time from %[1]s",
			seenSlowBody:                "HTTP %[1]d, then too slow a body (%[2]d bytes within the deadline)",
			seenNetwork:                 "a network error to %[1]s",
			seenCAAForbids:              "CAA records that forbid issuance",
			seenCAAForbidsAt:            "CAA records at %[1]s that forbid issuance (%[2]s)",
			seenCAAFailed:               "a CAA lookup that failed",
			seenCAAAllows:               "CAA that allows issuance (CAA alone rechecked)",
			unavNotConfigured:           "not configured",
			unavConnect:                 "unreachable",
			unavTimeout:                 "no answer within its deadline",
			unavTLS:                     "mutual TLS handshake failed",
			unavAgentNetwork:            "its own network failed (its resolver could not be reached, or its source address is not usable)",
			unavProtocol:                "unusable answer",
			unavDNSSEC:                  "its DNSSEC validation failed on the answer that dcv's primary perspective validated: that perspective's own trust anchor, or its network, fails, not your zone; %[1]s",
			seenDNSSECBogus:             "an answer that fails DNSSEC validation (%[1]s)",
			unavCut:                     "no answer within the grace period after the quorum was decided",
			unavSkipped:                 "not counted: the primary perspective failed first",
		},
		CodeRemotePerspectivesDisagree, CodePerspectiveUnavailable)
}

// RemoteQuorum returns how many of n remote perspectives must corroborate a
// validation, following the table of CA/B Forum BR 3.2.2.9 (ballot
// SC-067): with 2 to 5 remote perspectives one may fail to corroborate, with
// 6 or more two may. With fewer than 2, every one must corroborate.
func RemoteQuorum(n int) int {
	switch {
	case n >= 6:
		return n - 2
	case n >= 2:
		return n - 1
	default:
		return max(n, 0)
	}
}

// minRIRs is how many distinct RIR regions the corroborating remote
// perspectives must span when two or more are used (BR 3.2.2.9).
const minRIRs = 2

// QuorumStatus evaluates the quorum while answers arrive. corroborating
// and pending hold the RIRs of the remote perspectives that corroborated
// and of those not decided yet; failed counts the others (disagreeing or
// unavailable). met reports that the quorum holds whatever the pending
// ones answer; impossible that it fails whatever they answer. Both are
// false while it is open.
func QuorumStatus(corroborating, pending []string, failed int) (met, impossible bool) {
	n := len(corroborating) + len(pending) + failed
	need := RemoteQuorum(n)
	diverse := func(rirs ...[]string) bool {
		if n < 2 {
			return true
		}
		seen := map[string]bool{}
		for _, l := range rirs {
			for _, r := range l {
				seen[r] = true
			}
		}
		return len(seen) >= minRIRs
	}
	if len(corroborating) >= need && diverse(corroborating) {
		return true, false
	}
	if len(corroborating)+len(pending) < need || !diverse(corroborating, pending) {
		return false, true
	}
	return false, false
}

// Corroborates reports whether the observation of a remote perspective
// corroborates: it was made, it passes the validation method, and CAA (when
// checked) permits issuance. BR 3.2.2.9 requires both DCV and CAA to be
// corroborated.
func Corroborates(o *validation.Observation) bool {
	if o.Unavailable != "" {
		return false
	}
	d := diagnoser{c: &catalogEN}
	return !slices.ContainsFunc(d.observation(o), Finding.Blocking)
}

// perspectives diagnoses the observations of a primary (obs[0]) and its
// remote perspectives (obs[1:]) under the quorum of BR 3.2.2.9: the primary
// must pass; then at least RemoteQuorum(n) remotes must corroborate, in at
// least two RIR regions when n >= 2. A remote slot that is not configured
// fails closed.
func (d *diagnoser) perspectives(obs []validation.Observation) Result {
	all := []Finding{}
	all = append(all, d.observation(&obs[0])...)
	primaryPasses := !slices.ContainsFunc(all, Finding.Blocking)
	// Remotes are named in messages; an unnamed one by its position.
	remotes := slices.Clone(obs[1:])
	for i := range remotes {
		if remotes[i].Perspective == "" {
			remotes[i].Perspective = d.c.f(wordPerspectiveN, i+1)
		}
	}

	var (
		corroborating []string
		disagreeing   []*validation.Observation
		unavailable   []*validation.Observation
		notConfigured int
	)
	for i := range remotes {
		o := &remotes[i]
		switch {
		case o.Unavailable == validation.UnavailableNotConfigured:
			notConfigured++
		case o.Unavailable == validation.UnavailableSkipped:
			// Not asked: the primary failed, which decides alone.
		case o.Unavailable != "":
			unavailable = append(unavailable, o)
		case remoteBogus(&obs[0], o) != "":
			// The primary validated what this perspective could not:
			// the perspective's side, as an agent's failed network is.
			o.Unavailable = unavailableDNSSEC
			unavailable = append(unavailable, o)
		case Corroborates(o):
			corroborating = append(corroborating, o.RIR)
		default:
			disagreeing = append(disagreeing, o)
		}
	}
	if notConfigured > 0 {
		all = append(all, Finding{
			Code:     CodePerspectiveUnavailable,
			Severity: SeverityError,
			Message:  d.c.f(msgNotConfigured, len(remotes)-notConfigured, len(remotes)),
			Fix:      d.c.f(fixUnavailable),
		})
	}
	if primaryPasses {
		met, _ := QuorumStatus(corroborating, nil, len(remotes)-len(corroborating))
		met = met && notConfigured == 0
		// Undecided: had the perspectives that could not answer
		// corroborated, the quorum would hold. The outcome then waits on
		// the certificate authority's side, and the disagreement is told
		// as a warning: it is not yet why the domain fails, and a check
		// decided by the CA's outage must not count against the domain
		// (black-box run: ACME's failed-validations limit refused the
		// applicant while an agent was down).
		// A remote slot not configured fails every check, whatever the
		// others answer: the CA's side decides too (review).
		undecided := !met && notConfigured > 0
		if !met && len(unavailable) > 0 && notConfigured == 0 {
			rirs := make([]string, len(unavailable))
			for i, o := range unavailable {
				rirs[i] = o.RIR
			}
			_, impossible := QuorumStatus(corroborating, rirs, len(disagreeing))
			undecided = !impossible
		}
		if len(disagreeing) > 0 && !met {
			f := d.disagree(&obs[0], remotes, corroborating, disagreeing)
			if undecided {
				f.Severity = SeverityWarning
				note := noteDisagreeUndecided
				if notConfigured > 0 {
					note = noteDisagreeNotConfigured
				}
				f.Message = join(f.Message, d.c.f(note))
			}
			all = append(all, f)
		}
		if len(unavailable) > 0 {
			f := Finding{
				Code:      CodePerspectiveUnavailable,
				Severity:  SeverityWarning,
				Message:   d.c.f(msgUnavailableQuorumOK, d.remotes(len(unavailable)), d.unavailableList(unavailable)),
				Fix:       d.c.f(fixUnavailableQuorumOK),
				Retryable: true,
			}
			if !met {
				f.Severity = SeverityError
				f.Message = d.c.f(msgUnavailable, d.remotes(len(unavailable)), d.unavailableList(unavailable))
				f.Fix = d.c.f(fixUnavailable)
				if !undecided && len(disagreeing) > 0 && notConfigured == 0 {
					// The quorum fails whatever they would have said:
					// the disagreement decides, and they do not (review).
					f.Severity = SeverityWarning
					f.Message = d.c.f(msgUnavailableDecided, d.remotes(len(unavailable)), d.unavailableList(unavailable))
					f.Fix = d.c.f(fixUnavailableDecided)
				}
				if undecided && len(disagreeing) > 0 && notConfigured == 0 {
					// An ACME client sees this finding alone: it names
					// the perspectives that answered otherwise too.
					names := make([]string, len(disagreeing))
					for i, o := range disagreeing {
						names[i] = d.perspectiveName(o)
					}
					f.Message = join(f.Message, d.c.f(noteUnavailableAlsoDisagree, strings.Join(names, d.c.f(wordListSep))))
				}
			}
			all = append(all, f)
		}
		if !met && len(disagreeing) == 0 && len(unavailable) == 0 && notConfigured == 0 {
			// Everyone corroborated, in a single region: the operator's set
			// of perspectives cannot satisfy the rule.
			all = append(all, Finding{
				Code:     CodePerspectiveUnavailable,
				Severity: SeverityError,
				Message:  d.c.f(msgRIRSpan, Truncate(strings.Join(uniq(corroborating), d.c.f(wordListSep)), maxDetailShown)),
				Fix:      d.c.f(fixUnavailable),
			})
		}
	}
	Sort(all)
	status := StatusApproved
	if slices.ContainsFunc(all, Finding.Blocking) {
		status = StatusPending
	}
	return Result{Status: status, Findings: all}
}

// disagree builds REMOTE_PERSPECTIVES_DISAGREE: who saw what, the likely
// cause, and the fix.
func (d *diagnoser) disagree(primary *validation.Observation, remotes []validation.Observation, corroborating []string, dis []*validation.Observation) Finding {
	var (
		parts                 []string
		cache, blocked, caaNo bool
		elsewhere             []string // notes: a perspective reached other addresses
		eta                   time.Time
	)
	primaryAddrs := fileAddresses(primary)
	zone, zoneServers := primaryZoneServers(primary)
	var (
		foreign [][2]string // a nameserver not the zone's answered perspectives: who, server
		geo     [][3]string // a nameserver answered perspectives otherwise than the primary: who, server, zone
	)
	for _, o := range dis {
		seen, kind, exp := d.seen(o)
		parts = append(parts, d.c.f(wordSaw, d.perspectiveName(o), seen))
		if srv := foreignNameserver(o, zoneServers); srv != "" {
			// Not a cache of the zone's own answer: another server's.
			// Perspectives answered by the same server share one note.
			srv = Truncate(srv, maxNameShown)
			if i := slices.IndexFunc(foreign, func(f [2]string) bool { return f[1] == srv }); i >= 0 {
				foreign[i][0] += d.c.f(wordListSep) + d.perspectiveName(o)
			} else {
				foreign = append(foreign, [2]string{d.perspectiveName(o), srv})
			}
			continue
		}
		if gz, srv := geoNameserver(primary, o); srv != "" && kind == seenKindCache {
			// Not a cache either: the zone's own server, asked
			// directly, answered this network otherwise.
			g := [3]string{d.perspectiveName(o), Truncate(srv, maxNameShown), Truncate(trimDot(gz), maxNameShown)}
			if i := slices.IndexFunc(geo, func(e [3]string) bool { return e[1] == g[1] && e[2] == g[2] }); i >= 0 {
				geo[i][0] += d.c.f(wordListSep) + g[0]
			} else {
				geo = append(geo, g)
			}
			continue
		}
		if other := slices.DeleteFunc(fileAddresses(o), func(a string) bool { return slices.Contains(primaryAddrs, a) }); len(primaryAddrs) > 0 && len(other) > 0 {
			elsewhere = append(elsewhere, d.c.f(noteRemoteAddress, d.perspectiveName(o), Truncate(strings.Join(other, d.c.f(wordListSep)), maxDetailShown),
				Truncate(strings.Join(primaryAddrs, d.c.f(wordListSep)), maxDetailShown)))
		}
		switch kind {
		case seenKindCache:
			cache = true
			if exp.After(eta) {
				eta = exp
			}
		case seenKindBlocked:
			blocked = true
		case seenKindCAA:
			caaNo = true
		}
	}
	list := strings.Join(parts, d.c.f(wordListEnd))
	n := len(remotes)
	need := RemoteQuorum(n)
	if n >= 2 {
		// Corroborations from two regions at least: one alone is never
		// enough, whatever the count says.
		need = max(need, minRIRs)
	}
	f := Finding{Code: CodeRemotePerspectivesDisagree, Severity: SeverityError}
	if len(corroborating) >= need {
		f.Message = d.c.f(msgRemoteDisagreeRIR, len(corroborating), strings.Join(uniq(corroborating), d.c.f(wordListSep)), list)
	} else {
		f.Message = d.c.f(msgRemoteDisagree, len(corroborating), n, need, list)
	}
	var fixes []string
	if cache && !d.prevCacheETA.IsZero() && !d.prevCacheETA.After(d.now) {
		// A previous check predicted the cached answers gone by now: they
		// are, and the perspectives still disagree.
		cache = false
		f.Message = join(f.Message, d.c.f(noteRemoteCacheExpired, d.prevCacheETA.UTC().Format(time.RFC3339)))
		fixes = append(fixes, d.c.f(fixRemoteOther))
	}
	if cache {
		f.Retryable = true
		if !eta.IsZero() && eta.After(d.now) {
			e := eta
			f.ETA = &e
			f.Message = join(f.Message, d.c.f(noteRemoteCacheETA, d.formatDuration(eta.Sub(d.now)), eta.UTC().Format(time.RFC3339)))
		} else {
			f.Message = join(f.Message, d.c.f(noteRemoteCache))
		}
		fixes = append(fixes, d.c.f(fixRemoteCache))
	}
	if len(foreign) > 0 {
		for _, fr := range foreign {
			f.Message = join(f.Message, d.c.f(noteRemoteNameserver, fr[0], fr[1], Truncate(trimDot(zone), maxNameShown),
				Truncate(strings.Join(zoneServers, d.c.f(wordListSep)), maxDetailShown)))
		}
		fixes = append(fixes, d.c.f(fixRemoteNameserver))
	}
	if len(geo) > 0 {
		// Seen once, it may be an anycast nameserver whose locations are
		// still loading the change: retryable, until a time past which a
		// previous check's prediction (WithPrevious) makes it GeoDNS.
		settled := !d.prevGeoETA.IsZero() && !d.prevGeoETA.After(d.now)
		by := d.prevGeoETA // the time promised at the first sight
		if by.IsZero() {
			by = d.now.Add(geoSettle)
		}
		for _, g := range geo {
			if settled {
				f.Message = join(f.Message, d.c.f(noteRemoteGeoDNS, g[0], g[1], g[2]))
			} else {
				f.Message = join(f.Message, d.c.f(noteRemoteGeoMaybe, g[0], g[1], g[2], by.UTC().Format(time.RFC3339)))
			}
		}
		if settled {
			fixes = append(fixes, d.c.f(fixRemoteGeoDNS))
		} else {
			// The ETA is the grace's end, which the next check reads
			// back (WithPrevious): a cached answer that expires sooner
			// is gone by then as well.
			f.Retryable = true
			f.ETA = &by
			fixes = append(fixes, d.c.f(fixRemoteGeoMaybe))
		}
	}
	if len(elsewhere) > 0 {
		// The name resolves to other servers there: that, not a block of
		// the same servers, is what differs.
		f.Message = join(f.Message, elsewhere...)
		fixes = append(fixes, d.c.f(fixRemoteAddress))
	} else if blocked {
		f.Message = join(f.Message, d.c.f(noteRemoteBlocked))
		fixes = append(fixes, d.c.f(fixRemoteBlocked))
	}
	if caaNo {
		f.Retryable = true
		f.Message = join(f.Message, d.c.f(noteRemoteCAA))
	}
	if len(fixes) == 0 {
		fixes = append(fixes, d.c.f(fixRemoteOther))
	}
	f.Fix = join("", fixes...)
	return f
}

// geoMaybeMark is in the message of a REMOTE_PERSPECTIVES_DISAGREE finding
// whose ETA is the end of the anycast grace (noteRemoteGeoMaybe), not a
// cached answer's expiry: WithPrevious tells them apart by it.
const geoMaybeMark = "may not have reached every location of an anycast nameserver"

// geoSettle is how long after a nameserver first answered a remote
// perspective otherwise than the primary the answers may still differ
// because the change has not reached every location of an anycast
// nameserver; past it, the difference is the server's (GeoDNS).
const geoSettle = 10 * time.Minute

// primaryZoneServers returns the zone of the record's host and the
// addresses (ip:port) of its nameservers as the primary perspective asked
// them (iterative mode), the CNAME target's zone's when the lookup
// followed one; none otherwise.
func primaryZoneServers(p *validation.Observation) (string, []string) {
	if p == nil || p.DNS == nil {
		return "", nil
	}
	v := p.DNS.Authoritative
	if p.DNS.Target != "" {
		// The record that counts is the target's: its zone's servers,
		// or none when they could not be asked (the host's zone's would
		// make every remote answered by the target's zone "foreign").
		v = p.DNS.TargetAuthoritative
	}
	if v == nil {
		return "", nil
	}
	var out []string
	for _, s := range v.Servers {
		if s.Address == "" {
			// A nameserver whose address the primary could not find: a
			// remote may have been answered by it. Not a complete list.
			return "", nil
		}
		if !slices.Contains(out, s.Address) {
			out = append(out, s.Address)
		}
	}
	return v.Zone, out
}

// foreignNameserver returns the server that answered a remote
// perspective's record lookup when it is not one of servers, the record
// zone's nameservers the primary asked: the remote resolved iteratively
// (Response.Resolver false: the server is the zone's, not a recursive
// resolver's) and was answered by another server. "" otherwise.
func foreignNameserver(o *validation.Observation, servers []string) string {
	if len(servers) == 0 || o.DNS == nil || o.DNS.Record.Response == nil {
		return ""
	}
	r := o.DNS.Record.Response
	if r.Resolver || r.Server == "" || slices.Contains(servers, r.Server) {
		return ""
	}
	// A primary that listed no nameserver address of the family the
	// remote was answered over (its cap on addresses per nameserver, or
	// a source address of one family) cannot tell: the remote may have
	// asked one of the same nameservers.
	srv, err := netip.ParseAddrPort(r.Server)
	if err != nil || !slices.ContainsFunc(servers, func(s string) bool {
		a, err := netip.ParseAddrPort(s)
		return err == nil && a.Addr().Unmap().Is4() == srv.Addr().Unmap().Is4()
	}) {
		return ""
	}
	return r.Server
}

// geoNameserver returns the zone and the server that answered a remote perspective's
// record lookup without the expected value when that server is one of the
// record zone's nameservers and, asked directly by the primary
// perspective (its authoritative view), gave the expected value with
// authority: the remote resolved iteratively (Response.Resolver false: no
// cache between it and the server), so the server answers by the network
// a query comes from (GeoDNS, split horizon). "" otherwise, and when the
// primary's view says nothing of that server: a server that may lag
// behind keeps the caching explanation.
func geoNameserver(primary, o *validation.Observation) (zone, server string) {
	if primary == nil || primary.DNS == nil || o.DNS == nil || o.DNS.Record.Response == nil {
		return "", ""
	}
	r := o.DNS.Record.Response
	if r.Resolver || r.Server == "" || r.Cached {
		return "", ""
	}
	v := primary.DNS.Authoritative
	if primary.DNS.Target != "" {
		v = primary.DNS.TargetAuthoritative
	}
	if v == nil {
		return "", ""
	}
	srv, err := netip.ParseAddrPort(r.Server)
	if err != nil {
		return "", ""
	}
	for _, sv := range v.Servers {
		a, err := netip.ParseAddrPort(sv.Address)
		if err != nil || a.Addr().Unmap() != srv.Addr().Unmap() || a.Port() != srv.Port() {
			continue
		}
		if !sv.Lame && sv.Answer != nil && len(sv.Answer.CNAMEs) == 0 &&
			lookupHas(&validation.Lookup{Response: sv.Answer}, primary.Expected) {
			return v.Zone, r.Server
		}
	}
	return "", ""
}

// fileAddresses returns the IP addresses the first fetch of a file
// observation connected to (or tried), in order, once each, or the one a
// tls-alpn-01 observation dialled last; none for another method.
func fileAddresses(o *validation.Observation) []string {
	if t := o.TLSALPN; t != nil && t.Address != "" {
		// tls-alpn-01 keeps the address it dialled last (black-box run:
		// its disagreement did not say where a perspective's name led).
		host := t.Address
		if h, _, err := net.SplitHostPort(t.Address); err == nil {
			host = h
		}
		return []string{host}
	}
	if o.File == nil || len(o.File.Fetches) == 0 || o.File.Fetches[0] == nil {
		return nil
	}
	var out []string
	for _, a := range o.File.Fetches[0].Attempts {
		if a.Hop != 0 || a.Address == "" {
			continue
		}
		host := a.Address
		if h, _, err := net.SplitHostPort(a.Address); err == nil {
			host = h
		}
		if !slices.Contains(out, host) {
			out = append(out, host)
		}
	}
	return out
}

// Kinds of disagreement, for the likely cause.
const (
	seenKindOther = iota
	seenKindCache
	seenKindBlocked
	seenKindCAA
)

// seen summarises what one perspective observed, in a few words, and
// classifies it: a DNS answer that a cache may still hold (with when that
// cached answer expires), a web server that refused this network, a CAA
// refusal, or something else.
func (d *diagnoser) seen(o *validation.Observation) (string, int, time.Time) {
	switch {
	case o.Method == validation.MethodDNS && o.DNS != nil:
		if s, kind, exp, ok := d.seenDNS(o); ok {
			return s, kind, exp
		}
	case o.Method == validation.MethodFile && o.File != nil:
		if s, kind, ok := d.seenFile(o); ok {
			return s, kind, time.Time{}
		}
	}
	if o.CAA != nil && !o.CAA.Permitted {
		if o.CAA.Reason == caa.ReasonLookupFailed {
			// Not a refusal: the lookup did not complete.
			return d.c.f(seenCAAFailed), seenKindOther, time.Time{}
		}
		if len(o.CAA.Records) == 0 || o.CAA.RelevantName == "" {
			return d.c.f(seenCAAForbids), seenKindCAA, time.Time{}
		}
		// The applicant's own view may show no CAA record at all: name
		// what this perspective saw, and where.
		return d.c.f(seenCAAForbidsAt, Truncate(o.CAA.RelevantName, maxNameShown), caaRecordsShown(o.CAA.Records)), seenKindCAA, time.Time{}
	}
	// Fall back on the title of the worst finding.
	fs := d.observation(o)
	Sort(fs)
	if len(fs) > 0 {
		return strings.ToLower(Title(fs[0].Code)), seenKindOther, time.Time{}
	}
	return d.c.f(seenRecordFound), seenKindOther, time.Time{}
}

// maxCAAShown bounds the CAA records a perspective's view quotes.
const maxCAAShown = 3

// caaRecordsShown quotes CAA records as published ("0 issue \"ca.example\""),
// at most maxCAAShown of them.
func caaRecordsShown(rs []dnsclient.Record) string {
	var out []string
	for i, r := range rs {
		if i == maxCAAShown {
			out = append(out, ellipsis)
			break
		}
		out = append(out, Truncate(r.Data, maxTXTShown))
	}
	return strings.Join(out, "; ")
}

func (d *diagnoser) seenDNS(o *validation.Observation) (string, int, time.Time, bool) {
	rec := &o.DNS.Record
	if lookupHas(rec, o.Expected) {
		return "", 0, time.Time{}, false // passes; CAA decides
	}
	if rec.Err != nil {
		if rec.Err.Kind == dnsclient.KindTimeout {
			return d.c.f(seenDNSTimeout), seenKindOther, time.Time{}, true
		}
		return d.c.f(seenDNSFailed, Truncate(rec.Err.Detail, maxDetailShown)), seenKindOther, time.Time{}, true
	}
	resp := rec.Response
	if resp == nil {
		return "", 0, time.Time{}, false
	}
	if resp.DNSSEC == dnsclient.Bogus.String() {
		// Whatever it holds, an answer that fails validation is not
		// "another value": it is not believed at all.
		return d.c.f(seenDNSSECBogus, Truncate(dnssecReason(rec), maxDetailShown)), seenKindOther, time.Time{}, true
	}
	if resp.Rcode != rcodeNoError && resp.Rcode != rcodeNXDomain {
		return d.c.f(seenDNSFailed, Truncate(resp.Rcode, maxDetailShown)), seenKindOther, time.Time{}, true
	}
	var (
		values []string
		ttl    uint32
		first  = true
	)
	for _, r := range resp.Answer {
		if r.Type != "TXT" {
			continue
		}
		values = append(values, fmt.Sprintf("%q", Truncate(r.Data, maxTXTShown)))
		if first || r.TTL < ttl {
			ttl, first = r.TTL, false
		}
	}
	if len(values) == 0 {
		exp := o.StartedAt.Add(time.Duration(resp.NegativeTTL) * time.Second)
		if resp.NegativeTTL == 0 {
			exp = time.Time{}
		}
		return d.c.f(seenRecordNotFound, resp.Rcode), seenKindCache, exp, true
	}
	if len(values) > maxTXTListed {
		values = append(values[:maxTXTListed:maxTXTListed], fmt.Sprintf("+%d", len(values)-maxTXTListed))
	}
	exp := o.StartedAt.Add(time.Duration(ttl) * time.Second)
	if ttl == 0 {
		exp = time.Time{}
	}
	return d.c.f(seenRecordOld, strings.Join(values, d.c.f(wordListSep))), seenKindCache, exp, true
}

func (d *diagnoser) seenFile(o *validation.Observation) (string, int, bool) {
	for _, t := range o.File.Fetches {
		if validation.FetchMatches(t, o.Expected) {
			return "", 0, false // passes; CAA decides
		}
	}
	t := o.File.Fetches
	if len(t) == 0 || t[0] == nil {
		return "", 0, false
	}
	a := t[0].Final()
	if a == nil {
		return "", 0, false
	}
	if a.Status != 0 && a.Err != nil && a.Err.Kind == webfetch.ErrTimeoutAfterConn {
		// The head came, the body did not in time: a slow server, not
		// a silent one nor another content.
		return d.c.f(seenSlowBody, a.Status, len(a.Body)), seenKindOther, true
	}
	if a.Status != 0 {
		if a.Status == 200 {
			return d.c.f(seenFileOther), seenKindOther, true
		}
		kind := seenKindOther
		if a.Status == 403 || a.Status == 451 {
			kind = seenKindBlocked
		}
		return d.c.f(seenHTTPStatus, a.Status), kind, true
	}
	if a.Err == nil {
		return "", 0, false
	}
	addr := Truncate(a.Address, maxNameShown)
	switch a.Err.Kind {
	case webfetch.ErrConnectTimeout:
		return d.c.f(seenConnectTimeout, addr), seenKindBlocked, true
	case webfetch.ErrConnectionRefused:
		return d.c.f(seenRefused, addr), seenKindBlocked, true
	case webfetch.ErrConnectionReset:
		return d.c.f(seenReset, addr), seenKindBlocked, true
	case webfetch.ErrTimeoutAfterConn:
		return d.c.f(seenTimeoutAfter, addr), seenKindBlocked, true
	case webfetch.ErrNetwork:
		return d.c.f(seenNetwork, addr), seenKindBlocked, true
	}
	return "", 0, false
}

// perspectiveName renders "name (RIR)" for a remote perspective.
func (d *diagnoser) perspectiveName(o *validation.Observation) string {
	name := Truncate(o.Perspective, maxNameShown)
	if o.RIR == "" {
		return name
	}
	return d.c.f(wordPerspectiveRIR, name, Truncate(o.RIR, maxDetailShown))
}

// remotes counts remote perspectives in words: "1 remote perspective",
// "2 remote perspectives".
func (d *diagnoser) remotes(n int) string {
	if n == 1 {
		return d.c.f(wordRemoteOne)
	}
	return d.c.f(wordRemoteMany, n)
}

func (d *diagnoser) unavailableList(us []*validation.Observation) string {
	parts := make([]string, len(us))
	for i, o := range us {
		word := d.unavailableWord(o.Unavailable)
		if o.Unavailable == unavailableDNSSEC {
			word = d.c.f(unavDNSSEC, Truncate(dnssecReason(&o.DNS.Record), maxDetailShown))
		}
		parts[i] = d.c.f(wordPerspectiveRIR, d.perspectiveName(o), word)
	}
	return strings.Join(parts, d.c.f(wordListEnd))
}

// unavailableDNSSEC marks, in the diagnosis only, a remote perspective
// whose DNSSEC validation failed where the primary's passed (remoteBogus).
const unavailableDNSSEC = "dnssec_failed"

// remoteBogus returns why remote perspective o found the TXT answer
// DNSSEC-bogus while the primary validated the same lookup (secure or
// insecure), or "": the primary, validating the same zones from the same
// anchors, shows the zone signed right, so the failure is the
// perspective's own (a wrong trust anchor, an answer altered on its
// network). Either way the perspective does not corroborate.
func remoteBogus(primary, o *validation.Observation) string {
	if primary.DNS == nil || o.DNS == nil || o.Method != validation.MethodDNS {
		return ""
	}
	p, r := primary.DNS.Record.Response, o.DNS.Record.Response
	if p == nil || r == nil || primary.DNS.Record.Err != nil || r.DNSSEC != dnsclient.Bogus.String() ||
		p.DNSSEC == dnsclient.Bogus.String() || p.DNSSEC == "" {
		return ""
	}
	return dnssecReason(&o.DNS.Record)
}

// dnssecReason is why lookup l failed DNSSEC validation, in a few words.
func dnssecReason(l *validation.Lookup) string {
	if l.Response == nil || l.Response.DNSSECReason == "" {
		return "bogus"
	}
	return l.Response.DNSSECReason
}

func (d *diagnoser) unavailableWord(kind string) string {
	switch kind {
	case validation.UnavailableNotConfigured:
		return d.c.f(unavNotConfigured)
	case validation.UnavailableConnect:
		return d.c.f(unavConnect)
	case validation.UnavailableTimeout:
		return d.c.f(unavTimeout)
	case validation.UnavailableTLS:
		return d.c.f(unavTLS)
	case validation.UnavailableCut:
		return d.c.f(unavCut)
	case validation.UnavailableSkipped:
		return d.c.f(unavSkipped)
	case validation.UnavailableAgentNetwork:
		return d.c.f(unavAgentNetwork)
	default:
		return d.c.f(unavProtocol)
	}
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// Matrix verdicts of PerspectiveRow.Verdict.
const (
	VerdictPass        = "pass"
	VerdictFail        = "fail"
	VerdictUnavailable = "unavailable"
	VerdictSkipped     = "skipped"
	// VerdictUnverified: the perspective answered, but no value was given
	// to compare what it saw with (a pre-flight check without one).
	VerdictUnverified = "unverified"
)

// PerspectiveRow is one row of the per-perspective matrix of a check: what
// one vantage point observed.
type PerspectiveRow struct {
	// Perspective is the vantage point's name ("primary" first).
	Perspective string `json:"perspective"`
	// RIR is the registry region of a remote perspective; empty for the
	// primary.
	RIR string `json:"rir,omitempty"`
	// Agent is the URL of the remote agent asked.
	Agent string `json:"agent,omitempty"`
	// Via is the resolver (DNS method) or web server address (file method)
	// the perspective used.
	Via string `json:"via,omitempty"`
	// Seen says in a few words what was observed.
	Seen string `json:"seen"`
	// Detail is the technical reason a remote perspective was unavailable
	// (a dial or TLS error), for the operator; applicants' views leave it
	// out (order.Redact).
	Detail string `json:"detail,omitempty"`
	// Latency is the round trip to a remote agent, or the primary's own
	// observation time.
	Latency time.Duration `json:"latency_ns"`
	// Verdict is VerdictPass, VerdictFail, VerdictUnavailable or
	// VerdictSkipped.
	Verdict string `json:"verdict"`
}

// Matrix returns one row per observation, in order (obs[0] is the
// primary). It does no I/O and is safe for concurrent use.
func Matrix(obs []validation.Observation) []PerspectiveRow {
	d := diagnoser{c: &catalogEN}
	rows := make([]PerspectiveRow, len(obs))
	for i := range obs {
		o := &obs[i]
		r := PerspectiveRow{
			Perspective: Truncate(o.Perspective, maxNameShown),
			RIR:         o.RIR,
			Agent:       Truncate(o.Agent, maxURLShown),
			Latency:     o.Duration,
		}
		if i > 0 {
			r.Latency = o.RoundTrip
		}
		switch {
		case o.Unavailable == validation.UnavailableSkipped:
			r.Verdict = VerdictSkipped
			r.Seen = d.unavailableWord(o.Unavailable)
			r.Latency = 0 // not asked: no round trip
		case o.Unavailable != "":
			r.Verdict = VerdictUnavailable
			r.Seen = d.unavailableWord(o.Unavailable)
			r.Detail = Truncate(o.UnavailableDetail, maxDetailShown)
		case i > 0 && remoteBogus(&obs[0], o) != "":
			// As the findings count it (perspectives): the remote's
			// own DNSSEC failure, not a disagreement.
			r.Verdict = VerdictUnavailable
			r.Seen = d.c.f(seenDNSSECBogus, Truncate(remoteBogus(&obs[0], o), maxDetailShown))
		case Corroborates(o):
			r.Verdict = VerdictPass
			switch {
			case o.CAAOnly:
				// No value was looked for: the domain was validated
				// before, and only CAA was checked again.
				r.Seen = d.c.f(seenCAAAllows)
			case o.Method == validation.MethodFile:
				r.Seen = d.c.f(seenFileOK)
			default:
				r.Seen = d.c.f(seenRecordFound)
			}
		case o.Expected == "" && (o.DNS != nil || o.File != nil):
			// Nothing to compare with: what was seen, without a verdict
			// of pass or fail when an answer came; a lookup or fetch
			// that got none fails whatever the value.
			r.Seen, r.Verdict = d.seenUnverified(o)
		default:
			r.Verdict = VerdictFail
			r.Seen, _, _ = d.seen(o)
		}
		r.Via = via(o)
		rows[i] = r
	}
	return rows
}

// seenUnverified says what a perspective saw when no value was given, and
// its verdict: unverified with the TXT values (or no record), or the
// file's status (and size), when an answer came; fail with what went wrong
// when the lookup or the fetch got none.
func (d *diagnoser) seenUnverified(o *validation.Observation) (string, string) {
	switch {
	case o.DNS != nil:
		resp := o.DNS.Record.Response
		if o.DNS.Record.Err != nil || resp == nil || (resp.Rcode != rcodeNoError && resp.Rcode != rcodeNXDomain) {
			break
		}
		var values []string
		for _, r := range resp.Answer {
			if r.Type == "TXT" {
				values = append(values, fmt.Sprintf("%q", Truncate(r.Data, maxTXTShown)))
			}
		}
		if len(values) > maxTXTListed {
			values = append(values[:maxTXTListed:maxTXTListed], fmt.Sprintf("+%d", len(values)-maxTXTListed))
		}
		if len(values) > 0 {
			return d.c.f(seenValues, strings.Join(values, d.c.f(wordListSep))), VerdictUnverified
		}
		return d.c.f(seenRecordNotFound, resp.Rcode), VerdictUnverified
	case o.File != nil && len(o.File.Fetches) > 0 && o.File.Fetches[0] != nil:
		t := o.File.Fetches[0]
		if e := t.ResolveError; e != nil {
			return d.c.f(seenNotResolved, resolveWord(e.Kind)), VerdictFail
		}
		a := t.Final()
		switch {
		case a == nil:
		case a.Status == 200 && a.Err == nil && a.BodyTruncated:
			return d.c.f(seenFileServedLarge, len(a.Body)), VerdictUnverified
		case a.Status == 200 && a.Err == nil:
			return d.c.f(seenFileServed, len(a.Body)), VerdictUnverified
		case a.Status != 0:
			return d.c.f(seenHTTPStatus, a.Status), VerdictUnverified
		}
	}
	s, _, _ := d.seen(o)
	return s, VerdictFail
}

// resolveWord names a failed address lookup in a word or two.
func resolveWord(k webfetch.ErrorKind) string {
	switch k {
	case webfetch.ErrDNSNXDomain:
		return "NXDOMAIN"
	case webfetch.ErrDNSServfail:
		return "SERVFAIL"
	case webfetch.ErrDNSRefused:
		return "REFUSED"
	case webfetch.ErrDNSTimeout:
		return "timeout"
	case webfetch.ErrNoAddress:
		return "no A or AAAA record"
	}
	return "lookup failed"
}

// via names the resolver or address an observation used.
func via(o *validation.Observation) string {
	switch {
	case o.DNS != nil:
		if r := o.DNS.Record.Response; r != nil {
			return Truncate(r.Server, maxNameShown)
		}
		if e := o.DNS.Record.Err; e != nil {
			return Truncate(e.Server, maxNameShown)
		}
	case o.File != nil && len(o.File.Fetches) > 0 && o.File.Fetches[0] != nil:
		// The address that served the value, when one did: the first
		// answer of the fetch may have come from another address, with
		// other content.
		for _, t := range o.File.Fetches {
			if !validation.FetchMatches(t, o.Expected) {
				continue
			}
			for _, c := range t.Chains() {
				if validation.AttemptMatches(&c[len(c)-1], o.Expected) {
					return Truncate(c[0].Address, maxNameShown)
				}
			}
		}
		if a := o.File.Fetches[0].Final(); a != nil {
			return Truncate(a.Address, maxNameShown)
		}
	}
	return ""
}
