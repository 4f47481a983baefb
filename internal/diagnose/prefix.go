package diagnose

// Message ids of a record found under the other DNS method's prefix, or
// with its labels in the wrong order.
const (
	msgWrongHostACMEPrefix    msg = "msgWrongHostACMEPrefix"
	msgWrongHostDNSAuthPrefix msg = "msgWrongHostDNSAuthPrefix"
	fixWrongHostOtherPrefix   msg = "fixWrongHostOtherPrefix"
	msgWrongHostReversed      msg = "msgWrongHostReversed"
)

func init() {
	extend("", nil, map[msg]string{
		msgWrongHostACMEPrefix:    "The value was found at %[1]s, the host of ACME's dns-01 challenge (prefix %[3]s), not at %[2]s, where this validation looks (prefix %[4]s).",
		msgWrongHostDNSAuthPrefix: "The value was found at %[1]s, the host of dcv's DNS validation method (prefix %[3]s), not at %[2]s, where ACME's dns-01 challenge looks (prefix %[4]s).",
		fixWrongHostOtherPrefix:   "Add a TXT record with host `%[1]s` (full name `%[2]s`) and value `%[3]s`; the TXT record at %[4]s is not used for this validation and can be removed.",
		msgWrongHostReversed:      "The value was found at %[1]s: the labels of the host are in the wrong order, and validation looks at %[2]s, with the prefix %[3]s first.",
	})
}
