package ident

import (
	"fmt"
	"unicode/utf8"
)

// Codes of PolicyError. They are stable API: clients see them and may match
// on them. A code is never renamed or reused for another refusal.
const (
	CodeNameEmpty        = "NAME_EMPTY"        // the name is empty or blank
	CodeNameTooLong      = "NAME_TOO_LONG"     // more than MaxNameLength octets
	CodeLabelTooLong     = "LABEL_TOO_LONG"    // a label longer than MaxLabelLength octets
	CodeLabelEmpty       = "LABEL_EMPTY"       // two dots in a row, or a leading dot
	CodeInvalidCharacter = "INVALID_CHARACTER" // a character outside letters, digits and hyphen
	CodeInvalidHyphen    = "INVALID_HYPHEN"    // a label starts or ends with a hyphen, or has "--" at positions 3-4
	CodeInvalidIDN       = "INVALID_IDN"       // an internationalised name that IDNA refuses
	CodeIPAddress        = "IP_ADDRESS"        // an IP address, or a name that looks like one
	CodeInvalidIP        = "INVALID_IP"        // an IP address identifier that is not one canonical address
	CodeReservedIP       = "RESERVED_IP"       // an IP address identifier in a special-purpose block
	CodeWildcardPosition = "WILDCARD_POSITION" // "*" anywhere but as the whole left-most label
	CodeWildcardMethod   = "WILDCARD_METHOD"   // a wildcard with a method that cannot prove it
	CodePublicSuffix     = "PUBLIC_SUFFIX"     // the name (or the wildcard's base) is a public suffix
	CodeReservedName     = "RESERVED_NAME"     // a special-use or reserved name, or a name under one
	CodeSingleLabel      = "SINGLE_LABEL"      // a name of one label that is not a public suffix
	CodeUnknownTLD       = "UNKNOWN_TLD"       // a name under a top-level domain the DNS root never delegated
	CodeTooManyNames     = "TOO_MANY_NAMES"    // more than MaxNames names in one order
	CodeDuplicateName    = "DUPLICATE_NAME"    // the same name twice in one order, after normalisation
	CodeNoNames          = "NO_NAMES"          // an order without names
	CodeUnknownMethod    = "UNKNOWN_METHOD"    // a validation method other than "dns" or "file"
)

// PolicyError is a refusal of one requested name, or of a whole order when
// Name is empty. Code is one of the Code* constants and is stable API; Message
// is an English sentence fit to show the client as is, naming the offending
// name. Error returns Message.
type PolicyError struct {
	Code    string
	Name    string
	Message string
}

// Error returns e.Message.
func (e *PolicyError) Error() string { return e.Message }

// maxQuotedRunes bounds how much of a client's input a message repeats, so
// that a megabyte of garbage does not come back in an error message.
const maxQuotedRunes = 80

// q quotes untrusted input for a message: escaped, and shortened when long.
func q(s string) string {
	if utf8.RuneCountInString(s) > maxQuotedRunes {
		n := 0
		for i := range s {
			if n == maxQuotedRunes {
				s = s[:i]
				break
			}
			n++
		}
		return fmt.Sprintf("%q…", s)
	}
	return fmt.Sprintf("%q", s)
}

func refuse(code, name, format string, args ...any) *PolicyError {
	return &PolicyError{Code: code, Name: name, Message: fmt.Sprintf(format, args...)}
}
