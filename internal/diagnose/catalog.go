package diagnose

import (
	"fmt"
	"strings"
)

// msg identifies one sentence template of a catalog. Templates are fmt
// formats with explicit argument indexes (%[1]s) so that a translation may
// reorder the arguments.
type msg string

// catalog holds the sentences of one language: a title per code and the
// templates of messages, fixes, notes and the small words they are built from.
type catalog struct {
	titles map[Code]string
	text   map[msg]string
}

// f formats template m. A missing template renders as its id and arguments,
// so a gap shows up in tests instead of panicking in production.
func (c *catalog) f(m msg, args ...any) string {
	t, ok := c.text[m]
	if !ok {
		return fmt.Sprintf("%s%v", m, args)
	}
	return fmt.Sprintf(t, args...)
}

// join appends the non-empty sentences to s, separated by spaces.
func join(s string, more ...string) string {
	var b strings.Builder
	b.WriteString(s)
	for _, m := range more {
		if m == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(m)
	}
	return b.String()
}

// Message ids. Each has a template in every catalog (catalog_test checks it).
const (
	msgFromPerspective           msg = "msgFromPerspective"
	wordPerspectiveN             msg = "wordPerspectiveN"
	wordThisDomain               msg = "wordThisDomain"
	msgInvalid                   msg = "msgInvalid"
	whySourceAddress             msg = "whySourceAddress"
	noteSourceAddress            msg = "noteSourceAddress"
	msgInvalidNoObservation      msg = "msgInvalidNoObservation"
	msgInvalidNoValue            msg = "msgInvalidNoValue"
	msgInvalidNoEvidence         msg = "msgInvalidNoEvidence"
	msgInvalidMethod             msg = "msgInvalidMethod"
	fixInvalid                   msg = "fixInvalid"
	wordTheDNSServer             msg = "wordTheDNSServer"
	wordListSep                  msg = "wordListSep"
	wordAndMore                  msg = "wordAndMore"
	wordDay                      msg = "wordDay"
	wordMillisecond              msg = "wordMillisecond"
	wordMilliseconds             msg = "wordMilliseconds"
	wordDays                     msg = "wordDays"
	wordHour                     msg = "wordHour"
	wordHours                    msg = "wordHours"
	wordMinute                   msg = "wordMinute"
	wordMinutes                  msg = "wordMinutes"
	wordSecond                   msg = "wordSecond"
	wordSeconds                  msg = "wordSeconds"
	msgDomainNXDomain            msg = "msgDomainNXDomain"
	msgHostNotInZone             msg = "msgHostNotInZone"
	fixHostNotInZone             msg = "fixHostNotInZone"
	msgDomainServfail            msg = "msgDomainServfail"
	msgDomainTimeout             msg = "msgDomainTimeout"
	msgDomainFailed              msg = "msgDomainFailed"
	fixDomainNXDomain            msg = "fixDomainNXDomain"
	msgDomainCNAMELoop           msg = "msgDomainCNAMELoop"
	fixDomainCNAMELoop           msg = "fixDomainCNAMELoop"
	fixDomainServfail            msg = "fixDomainServfail"
	fixDomainTimeout             msg = "fixDomainTimeout"
	msgRecordServfail            msg = "msgRecordServfail"
	fixRecordServfail            msg = "fixRecordServfail"
	msgRecordTimeout             msg = "msgRecordTimeout"
	fixRecordTimeout             msg = "fixRecordTimeout"
	msgRecordRcode               msg = "msgRecordRcode"
	msgRecordNetwork             msg = "msgRecordNetwork"
	msgRecordMalformed           msg = "msgRecordMalformed"
	msgRecordTooLarge            msg = "msgRecordTooLarge"
	msgRecordLoop                msg = "msgRecordLoop"
	msgRecordFailed              msg = "msgRecordFailed"
	fixRecordLookupFailed        msg = "fixRecordLookupFailed"
	fixRecordNetwork             msg = "fixRecordNetwork"
	fixRecordTooLarge            msg = "fixRecordTooLarge"
	fixRecordLoop                msg = "fixRecordLoop"
	msgWrongHostDoubledZone      msg = "msgWrongHostDoubledZone"
	msgWrongHostDoubledDomain    msg = "msgWrongHostDoubledDomain"
	fixWrongHostDoubled          msg = "fixWrongHostDoubled"
	msgWrongHostBare             msg = "msgWrongHostBare"
	msgWrongHostDoubledPrefix    msg = "msgWrongHostDoubledPrefix"
	fixWrongHostDoubledPrefix    msg = "fixWrongHostDoubledPrefix"
	fixWrongHostBare             msg = "fixWrongHostBare"
	msgWrongHostOther            msg = "msgWrongHostOther"
	msgMismatch                  msg = "msgMismatch"
	fixMismatch                  msg = "fixMismatch"
	noteResolverCache            msg = "noteResolverCache"
	noteSplitExtra               msg = "noteSplitExtra"
	noteSplitPadded              msg = "noteSplitPadded"
	noteSplitRecords             msg = "noteSplitRecords"
	noteSpace                    msg = "noteSpace"
	noteQuoted                   msg = "noteQuoted"
	noteCase                     msg = "noteCase"
	noteContained                msg = "noteContained"
	msgWrongType                 msg = "msgWrongType"
	wordCNAMETo                  msg = "wordCNAMETo"
	fixWrongTypeCNAME            msg = "fixWrongTypeCNAME"
	fixWrongType                 msg = "fixWrongType"
	msgNotFoundNXDomain          msg = "msgNotFoundNXDomain"
	msgNotFoundNoData            msg = "msgNotFoundNoData"
	fixNotFound                  msg = "fixNotFound"
	msgFileWildcard              msg = "msgFileWildcard"
	fixFileWildcard              msg = "fixFileWildcard"
	msgInvalidURL                msg = "msgInvalidURL"
	msgNoAttempt                 msg = "msgNoAttempt"
	msgNoAddress                 msg = "msgNoAddress"
	fixNoAddress                 msg = "fixNoAddress"
	msgReserved                  msg = "msgReserved"
	fixReserved                  msg = "fixReserved"
	wordAddrInRange              msg = "wordAddrInRange"
	wordAddrSpecial              msg = "wordAddrSpecial"
	rangeThisNetwork             msg = "rangeThisNetwork"
	rangePrivate                 msg = "rangePrivate"
	rangeSharedCGN               msg = "rangeSharedCGN"
	rangeLoopback                msg = "rangeLoopback"
	rangeLinkLocal               msg = "rangeLinkLocal"
	rangeIETF                    msg = "rangeIETF"
	rangeDocumentation           msg = "rangeDocumentation"
	range6to4Relay               msg = "range6to4Relay"
	rangeBenchmarking            msg = "rangeBenchmarking"
	rangeMulticast               msg = "rangeMulticast"
	rangeBroadcast               msg = "rangeBroadcast"
	rangeReserved                msg = "rangeReserved"
	rangeUnspecified             msg = "rangeUnspecified"
	rangeNAT64Local              msg = "rangeNAT64Local"
	rangeDiscard                 msg = "rangeDiscard"
	range6to4                    msg = "range6to4"
	rangeSRv6                    msg = "rangeSRv6"
	rangeUniqueLocal             msg = "rangeUniqueLocal"
	msgFileNotFound              msg = "msgFileNotFound"
	fixFileNotFound              msg = "fixFileNotFound"
	msgFileRedirected            msg = "msgFileRedirected"
	fixFileRedirected            msg = "fixFileRedirected"
	wordNoLocation               msg = "wordNoLocation"
	msgFileBadStatus             msg = "msgFileBadStatus"
	fixFileBadStatus             msg = "fixFileBadStatus"
	noteErrorStatusValue         msg = "noteErrorStatusValue"
	fixErrorStatusValue          msg = "fixErrorStatusValue"
	noteRetryAfter               msg = "noteRetryAfter"
	noteCDN                      msg = "noteCDN"
	fixCDN                       msg = "fixCDN"
	msgFileContent               msg = "msgFileContent"
	fixFileContent               msg = "fixFileContent"
	fixFileContentHTML           msg = "fixFileContentHTML"
	noteFileTooLarge             msg = "noteFileTooLarge"
	noteFileEmpty                msg = "noteFileEmpty"
	noteBOM                      msg = "noteBOM"
	noteUTF16                    msg = "noteUTF16"
	noteHTML                     msg = "noteHTML"
	noteCR                       msg = "noteCR"
	noteLeadingSpace             msg = "noteLeadingSpace"
	noteExtraText                msg = "noteExtraText"
	noteFileCase                 msg = "noteFileCase"
	msgConnectTimeout            msg = "msgConnectTimeout"
	fixConnectTimeout            msg = "fixConnectTimeout"
	msgConnectionRefused         msg = "msgConnectionRefused"
	fixConnectionRefused         msg = "fixConnectionRefused"
	msgConnectionReset           msg = "msgConnectionReset"
	fixConnectionReset           msg = "fixConnectionReset"
	msgTimeoutAfterConnect       msg = "msgTimeoutAfterConnect"
	msgTimeoutAfterConnectNoTime msg = "msgTimeoutAfterConnectNoTime"
	fixTimeoutAfterConnect       msg = "fixTimeoutAfterConnect"
	msgSlowBody                  msg = "msgSlowBody"
	wordBodyAnnounced            msg = "wordBodyAnnounced"
	wordWithin                   msg = "wordWithin"
	wordBytes                    msg = "wordBytes"
	wordOneByte                  msg = "wordOneByte"
	wordInTime                   msg = "wordInTime"
	fixSlowBody                  msg = "fixSlowBody"
	msgTLSError                  msg = "msgTLSError"
	msgTLSErrorNoDetail          msg = "msgTLSErrorNoDetail"
	fixTLSError                  msg = "fixTLSError"
	msgTLSOnPlain                msg = "msgTLSOnPlain"
	msgHTTPSOnlyPort             msg = "msgHTTPSOnlyPort"
	fixTLSOnPlain                msg = "fixTLSOnPlain"
	msgHTTP2OnPlain              msg = "msgHTTP2OnPlain"
	fixHTTP2OnPlain              msg = "fixHTTP2OnPlain"
	msgPlainOnTLS                msg = "msgPlainOnTLS"
	fixPlainOnTLS                msg = "fixPlainOnTLS"
	msgProtocolError             msg = "msgProtocolError"
	fixProtocolError             msg = "fixProtocolError"
	msgNetworkError              msg = "msgNetworkError"
	fixNetworkError              msg = "fixNetworkError"
	msgFetchFailed               msg = "msgFetchFailed"
	wordCAARecord                msg = "wordCAARecord"
	msgCAANotListed              msg = "msgCAANotListed"
	fixCAANotListed              msg = "fixCAANotListed"
	msgCAAEmptyIssuer            msg = "msgCAAEmptyIssuer"
	fixCAAEmptyIssuer            msg = "fixCAAEmptyIssuer"
	msgCAACritical               msg = "msgCAACritical"
	fixCAACritical               msg = "fixCAACritical"
	msgCAACriticalNoTag          msg = "msgCAACriticalNoTag"
	fixCAACriticalNoTag          msg = "fixCAACriticalNoTag"
	msgCAALookupFailed           msg = "msgCAALookupFailed"
	fixCAALookupFailed           msg = "fixCAALookupFailed"
	msgCAAOther                  msg = "msgCAAOther"
	wordAnsweredRcode            msg = "wordAnsweredRcode"
	wordNoAnswerInTime           msg = "wordNoAnswerInTime"
	wordUnreachable              msg = "wordUnreachable"
	wordMalformed                msg = "wordMalformed"
	wordLookupFailed             msg = "wordLookupFailed"
	msgTooFrequent               msg = "msgTooFrequent"
	msgTooFrequentNow            msg = "msgTooFrequentNow"
	fixTooFrequent               msg = "fixTooFrequent"
	msgApproved                  msg = "msgApproved"
	msgIssued                    msg = "msgIssued"
	msgIssuanceFailed            msg = "msgIssuanceFailed"
	fixIssuanceFailed            msg = "fixIssuanceFailed"
	msgValueExpired              msg = "msgValueExpired"
	fixValueExpired              msg = "fixValueExpired"
	msgValueExpiring             msg = "msgValueExpiring"
	msgTooFrequentExpiring       msg = "msgTooFrequentExpiring"
	fixValueExpiring             msg = "fixValueExpiring"
)
