package caa

import (
	"errors"
	"fmt"
	"strings"
)

// issueValue is the value of an issue or issuewild property.
type issueValue struct {
	// Issuer is the issuer-domain-name, lowercase; empty when the value
	// names no issuer (";" alone), which authorises nobody.
	Issuer string
	// Params are the parameters in the order given; keys lowercase.
	Params []param
}

type param struct {
	Key, Value string
}

// get returns the value of the parameter key (lowercase) and whether it is
// present.
func (v issueValue) get(key string) (string, bool) {
	for _, p := range v.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// errMalformed is wrapped by every error of parseIssueValue.
var errMalformed = errors.New("malformed caa issue value")

// parseIssueValue parses an issue or issuewild property value strictly by
// the grammar of RFC 8659 §4.2:
//
//	issue-value = *WSP [issuer-domain-name *WSP]
//	   [";" *WSP [parameters *WSP]]
//	issuer-domain-name = label *("." label)
//	label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
//	parameters = (parameter *WSP ";" *WSP parameters) / parameter
//	parameter = tag *WSP "=" *WSP value
//	tag = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
//	value = *(%x21-3A / %x3C-7E)
//
// A value that does not match (a trailing ";" after parameters, a trailing
// dot on the issuer, a parameter without "=", non-ASCII bytes, ...) is an
// error wrapping errMalformed, and so is a parameter tag given twice
// (compared case-insensitively), whose meaning would be ambiguous.
func parseIssueValue(s string) (issueValue, error) {
	var v issueValue
	i := skipWSP(s, 0)
	if i < len(s) && s[i] != ';' {
		j, ok := scanDomain(s, i)
		if !ok {
			return issueValue{}, fmt.Errorf("%w: bad issuer domain name at offset %d", errMalformed, i)
		}
		v.Issuer = strings.ToLower(s[i:j])
		i = skipWSP(s, j)
	}
	if i == len(s) {
		return v, nil
	}
	if s[i] != ';' {
		return issueValue{}, fmt.Errorf("%w: want \";\" at offset %d", errMalformed, i)
	}
	i = skipWSP(s, i+1)
	if i == len(s) {
		return v, nil
	}
	for {
		j, ok := scanLabel(s, i)
		if !ok {
			return issueValue{}, fmt.Errorf("%w: bad parameter tag at offset %d", errMalformed, i)
		}
		key := strings.ToLower(s[i:j])
		i = skipWSP(s, j)
		if i == len(s) || s[i] != '=' {
			return issueValue{}, fmt.Errorf("%w: want \"=\" after parameter %q", errMalformed, key)
		}
		i = skipWSP(s, i+1)
		j = i
		for j < len(s) && isValueChar(s[j]) {
			j++
		}
		if _, dup := v.get(key); dup {
			return issueValue{}, fmt.Errorf("%w: parameter %q given twice", errMalformed, key)
		}
		v.Params = append(v.Params, param{Key: key, Value: s[i:j]})
		i = skipWSP(s, j)
		if i == len(s) {
			return v, nil
		}
		if s[i] != ';' {
			return issueValue{}, fmt.Errorf("%w: want \";\" at offset %d", errMalformed, i)
		}
		i = skipWSP(s, i+1)
		// RFC 8659 §4.2: parameters do not end with ";", another one must follow.
		if i == len(s) {
			return issueValue{}, fmt.Errorf("%w: trailing \";\" after parameters", errMalformed)
		}
	}
}

// CheckIssuerDomain returns an error unless s is an issuer-domain-name
// (RFC 8659 §4.2: labels of letters, digits and inner hyphens, separated
// by dots, at most 253 characters), the form a CA's identity takes in the
// issue and issuewild records that name it.
func CheckIssuerDomain(s string) error {
	if s == "" {
		return errors.New("the issuer domain name is empty")
	}
	if len(s) > 253 {
		return fmt.Errorf("the issuer domain name %q is longer than 253 characters", s)
	}
	if end, ok := scanDomain(s, 0); !ok || end != len(s) {
		return fmt.Errorf("%q is not an issuer domain name (RFC 8659 §4.2: labels of letters, digits and hyphens, separated by dots, such as ca.example.net)", s)
	}
	for _, l := range strings.Split(s, ".") {
		if len(l) > 63 {
			return fmt.Errorf("the issuer domain name %q has a label longer than 63 characters", s)
		}
	}
	return nil
}

// skipWSP returns the offset of the first byte at or after i that is not a
// space or a tab (RFC 5234 WSP).
func skipWSP(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// scanDomain returns the end of the issuer-domain-name starting at i.
func scanDomain(s string, i int) (int, bool) {
	for {
		j, ok := scanLabel(s, i)
		if !ok {
			return 0, false
		}
		if j == len(s) || s[j] != '.' {
			return j, true
		}
		i = j + 1
	}
}

// scanLabel returns the end of the label (or tag) starting at i: letters
// and digits, with hyphens only between them.
func scanLabel(s string, i int) (int, bool) {
	if i >= len(s) || !isAlnum(s[i]) {
		return 0, false
	}
	j := i + 1
	for j < len(s) && (isAlnum(s[j]) || s[j] == '-') {
		j++
	}
	if s[j-1] == '-' {
		return 0, false
	}
	return j, true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isValueChar reports whether c may appear in a parameter value: visible
// ASCII except ";".
func isValueChar(c byte) bool {
	return c >= 0x21 && c <= 0x7E && c != ';'
}

// parseMethodList parses the value of RFC 8657 §4 validationmethods:
//
//	value = [*(label ",") label]
//	label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
func parseMethodList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	methods := strings.Split(s, ",")
	for _, m := range methods {
		if j, ok := scanLabel(m, 0); !ok || j != len(m) {
			return nil, fmt.Errorf("%w: bad validation method %q", errMalformed, m)
		}
	}
	return methods, nil
}
