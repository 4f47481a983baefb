package diagnose

// Message ids of a record host below a DNAME (RFC 6672).
const (
	noteDNAME         msg = "noteDNAME"
	fixWrongTypeDNAME msg = "fixWrongTypeDNAME"
)

func init() {
	extend("", nil, map[msg]string{
		noteDNAME:         "No CNAME record is there: a DNAME record at %[1]s redirects every name below it to the same name below %[2]s, and the resolver synthesized that CNAME from it (RFC 6672).",
		fixWrongTypeDNAME: "No record can be added below %[1]s while its DNAME is there: add the TXT record with value `%[3]s` at %[4]s, where the DNAME leads. Or remove the DNAME and add the TXT record at host `%[2]s`; every name below %[1]s then needs records of its own, or it stops resolving.",
	})
}

// Message ids of a record published with its prefix at the target of the
// CNAME that delegates validation.
const (
	msgWrongHostCNAMEPrefixed msg = "msgWrongHostCNAMEPrefixed"
	fixWrongHostCNAMEPrefixed msg = "fixWrongHostCNAMEPrefixed"
)

func init() {
	extend("", nil, map[msg]string{
		msgWrongHostCNAMEPrefixed: "The value was found at %[1]s, but %[2]s is a CNAME to %[3]s: the record belongs at %[3]s itself, where the CNAME leads, without another %[4]s in front.",
		fixWrongHostCNAMEPrefixed: "Add the TXT record with value `%[2]s` at %[1]s (the name the CNAME points to); the record at %[3]s can go.",
	})
}
