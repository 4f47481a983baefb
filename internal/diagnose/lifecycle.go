package diagnose

import (
	"strings"
	"time"
)

// CheckTooFrequent is the finding for a check refused because the domain
// was checked too recently. It is a warning (it does not change the
// domain's status), is retryable, and its ETA is retryAt. The message gives
// the time left, rounded up to the second, and the UTC clock time.
func CheckTooFrequent(retryAt, valueExpires, now time.Time) Finding {
	c := &catalogEN
	d := diagnoser{c: c, now: now}
	eta := retryAt.UTC()
	f := Finding{
		Code:      CodeCheckTooFrequent,
		Severity:  SeverityWarning,
		Fix:       c.f(fixTooFrequent),
		Retryable: true,
		ETA:       &eta,
	}
	if left := retryAt.Sub(now); left > 0 {
		// The clock time is rounded up, as the duration is: a client that
		// comes back at the second shown is not refused again.
		at := ceilSecond(retryAt)
		f.Message = c.f(msgTooFrequent, d.formatDuration(left), formatClock(at, now))
		if !valueExpires.IsZero() && valueExpires.Before(retryAt) {
			// Waiting cannot help: the value is gone by then.
			f.Message = c.f(msgTooFrequentExpiring, formatClock(at, now), formatClock(valueExpires, now))
			f.Fix, f.Retryable, f.ETA = c.f(fixValueExpiring), false, nil
		}
	} else {
		f.Message = c.f(msgTooFrequentNow)
	}
	return f
}

// ApprovedPendingIssuance is the informational finding of a domain whose
// control is proven and whose certificate is queued.
func ApprovedPendingIssuance() Finding {
	return Finding{
		Code:     CodeApprovedPendingIssuance,
		Severity: SeverityInfo,
		Message:  catalogEN.f(msgApproved),
	}
}

// Issued is the informational finding of an issued certificate with the
// given serial (shown as given, escaped and cut to a readable length).
func Issued(serial string) Finding {
	return Finding{
		Code:     CodeIssued,
		Severity: SeverityInfo,
		Message:  catalogEN.f(msgIssued, Truncate(serial, maxSerialShown)),
	}
}

// CodeCertificateRevoked: the order's certificate was revoked (through
// ACME's revokeCert): it must not be deployed.
const CodeCertificateRevoked Code = "CERTIFICATE_REVOKED"

// Message ids of CERTIFICATE_REVOKED.
const (
	msgRevoked msg = "msgRevoked"
	fixRevoked msg = "fixRevoked"
)

func init() {
	extend(CodeIssued, map[Code]string{CodeCertificateRevoked: "Certificate revoked"}, map[msg]string{
		msgRevoked: "The certificate (serial %[1]s) was revoked at %[2]s (%[3]s).",
		fixRevoked: "Do not deploy it; order again for a new certificate (with a new key if this one was compromised).",
	}, CodeCertificateRevoked)
}

// Revoked is the warning of an issued domain whose certificate was revoked
// at at, for reason (its RFC 5280 name).
func Revoked(serial string, at time.Time, reason string) Finding {
	return Finding{
		Code:     CodeCertificateRevoked,
		Severity: SeverityWarning,
		Message:  catalogEN.f(msgRevoked, Truncate(serial, maxSerialShown), at.UTC().Format(time.RFC3339), Truncate(reason, maxDetailShown)),
		Fix:      catalogEN.f(fixRevoked),
	}
}

// IssuanceFailed is the blocking finding of a validated domain whose
// certificate could not be issued. It is worded as the operator's problem,
// not the applicant's, and is retryable. reason is shown to the applicant:
// callers MUST pass a sentence fit for them, not internal error text.
func IssuanceFailed(reason string) Finding {
	return Finding{
		Code:      CodeIssuanceFailed,
		Severity:  SeverityError,
		Message:   catalogEN.f(msgIssuanceFailed, Truncate(reason, maxDetailShown)),
		Fix:       catalogEN.f(fixIssuanceFailed),
		Retryable: true,
	}
}

// ValueExpired is the blocking finding of a random value older than its
// validity; the fix is a new order. It is not retryable.
func ValueExpired(expiredAt time.Time) Finding {
	return Finding{
		Code:     CodeValueExpired,
		Severity: SeverityError,
		Message:  catalogEN.f(msgValueExpired, expiredAt.UTC().Format(dateTimeLayout)),
		Fix:      catalogEN.f(fixValueExpired),
	}
}

// ValueExpiring is the warning of a domain still pending after a check
// whose value expires at expiresAt, before next, when the next check may
// run.
// It has no ETA: an ETA is when a retry is expected to succeed (the CLI
// prints it as "expected by"), and no retry with this value will; the
// message says when it expires.
func ValueExpiring(expiresAt, next, now time.Time) Finding {
	return Finding{
		Code:     CodeValueExpiring,
		Severity: SeverityWarning,
		Message:  catalogEN.f(msgValueExpiring, formatClock(expiresAt, now), formatClock(ceilSecond(next), now)),
		Fix:      catalogEN.f(fixValueExpiring),
	}
}

// WithValueExpiring returns fs, the findings of a domain still pending
// whose value expires at expiresAt, before next, when the next check may
// run, with the ValueExpiring warning, and each blocking finding made
// final: no check can pass with this value any more, so none is
// retryable nor has an ETA, and each fix starts with a new order (console
// run: "add the record" under a value that could no longer be used).
func WithValueExpiring(fs []Finding, expiresAt, next, now time.Time) []Finding {
	out := make([]Finding, 0, len(fs)+1)
	for _, f := range fs {
		if f.Blocking() {
			f.Retryable, f.ETA = false, nil
			f.Fix = join(catalogEN.f(fixValueExpiringFirst, formatClock(expiresAt, now)), f.Fix)
		}
		out = append(out, f)
	}
	out = append(out, ValueExpiring(expiresAt, next, now))
	Sort(out)
	return out
}

// ceilSecond is t rounded up to a whole second: the earliest time shown
// for something allowed from t.
func ceilSecond(t time.Time) time.Time {
	if at := t.Truncate(time.Second); at.Before(t) {
		return at.Add(time.Second)
	}
	return t
}

// Layouts of times in messages; always UTC.
const (
	clockLayout    = "15:04:05 UTC"
	dateTimeLayout = "2006-01-02 15:04:05 UTC"
)

// formatClock renders t in UTC: the clock time alone when t falls on the
// same UTC day as now, else with the date.
func formatClock(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	if ty == ny && tm == nm && td == nd {
		return t.Format(clockLayout)
	}
	return t.Format(dateTimeLayout)
}

// formatElapsed renders a time that went by (how long dcv waited for an
// answer) in words, rounded down: "got no answer within 10 seconds" must
// hold for a 10.0 s timeout measured as 10.002 s. Under a second it counts
// milliseconds.
func (d *diagnoser) formatElapsed(dur time.Duration) string {
	if dur < time.Second {
		if ms := max(dur.Milliseconds(), 1); ms > 1 {
			return d.c.f(wordMilliseconds, ms)
		}
		return d.c.f(wordMillisecond)
	}
	return d.formatDuration(dur.Truncate(time.Second))
}

// formatDuration renders a positive duration in words, rounded up to the
// second: "4 minutes 10 seconds", "1 hour 5 seconds", "2 days 3 hours". It
// is for times to come (an ETA, a wait): rounded up, they are never too
// short. A time that went by is formatElapsed's.
func (d *diagnoser) formatDuration(dur time.Duration) string {
	secs := int64((dur + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	units := []struct {
		size      int64
		one, many msg
	}{
		{86400, wordDay, wordDays},
		{3600, wordHour, wordHours},
		{60, wordMinute, wordMinutes},
		{1, wordSecond, wordSeconds},
	}
	var parts []string
	for _, u := range units {
		n := secs / u.size
		secs %= u.size
		switch {
		case n == 1:
			parts = append(parts, d.c.f(u.one))
		case n > 1:
			parts = append(parts, d.c.f(u.many, n))
		}
	}
	return strings.Join(parts, " ")
}

// CodeOrderCanceled: the order was canceled (by its account or an admin):
// it is checked and issued no more. Blocking, final.
const CodeOrderCanceled Code = "ORDER_CANCELED"

// Message ids of ORDER_CANCELED.
const (
	msgOrderCanceled msg = "msgOrderCanceled"
	fixOrderCanceled msg = "fixOrderCanceled"
)

func init() {
	extend(CodeValueExpired, map[Code]string{CodeOrderCanceled: "Order canceled"}, map[msg]string{
		msgOrderCanceled: "The order was %[1]s: it is checked and issued no more, and its values are no longer usable.",
		fixOrderCanceled: "Place a new order for this domain to get a certificate for it.",
	}, CodeOrderCanceled)
}

// OrderCanceled is the finding of each domain of a canceled order; how is
// the order's error ("canceled by its account at …").
func OrderCanceled(how string) Finding {
	return Finding{
		Code:     CodeOrderCanceled,
		Severity: SeverityError,
		Message:  catalogEN.f(msgOrderCanceled, Truncate(how, maxDetailShown)),
		Fix:      catalogEN.f(fixOrderCanceled),
	}
}
