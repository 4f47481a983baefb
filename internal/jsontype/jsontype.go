// Package jsontype words encoding/json's type mismatches in JSON's terms
// ("must be a JSON array, not a JSON string") rather than Go's, for the
// error messages of the REST API and of ACME, and finds the duplicate
// members encoding/json lets pass.
package jsontype

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// Mismatch describes te: `field "x" must be a JSON array, not a JSON
// string`, or, for the document itself (no field), `must be a JSON
// object, not a JSON array`, which the caller prefixes with what the
// document is.
func Mismatch(te *json.UnmarshalTypeError) string {
	if te.Field == "" {
		return fmt.Sprintf("must be a JSON %s, not a JSON %s", Kind(te.Type), te.Value)
	}
	return fmt.Sprintf("field %q must be a JSON %s, not a JSON %s", te.Field, Kind(te.Type), te.Value)
}

// Kind names the JSON value a Go type decodes from: string, boolean,
// array, object or number.
func Kind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct, reflect.Interface, reflect.Pointer:
		return "object"
	default:
		return "number"
	}
}

// DuplicateKey finds the first member of an object of the JSON document b
// whose name an earlier member of that object has: it returns the earlier
// name, the later, and true; "", "", false when there is none or b is not
// valid JSON (the decoder then says why). The members of the document's
// own object, which a request decodes into struct fields, are compared
// without case, as encoding/json matches names with fields
// (bytes.EqualFold); those of nested objects exactly, as encoding/json
// fills maps (a map keyed by domain leaves two spellings of one domain to
// the caller's normalisation). encoding/json keeps the last of such members
// silently; a request that names a field twice is refused instead of half
// understood.
func DuplicateKey(b []byte) (first, again string, dup bool) {
	if !json.Valid(b) {
		return "", "", false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	// Each open object's member names, and whether the next string token
	// of that object is a name (true) or a value (false).
	type frame struct {
		names  map[string]string // folded name → name as sent
		isName bool
		object bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top >= 0 && stack[top].object {
					stack[top].isName = true // the container is a member's value
				}
				stack = append(stack, frame{names: map[string]string{}, isName: true, object: t == '{'})
				continue
			default:
				stack = stack[:top]
				if len(stack) == 0 {
					return "", "", false
				}
				continue
			}
		case string:
			if top >= 0 && stack[top].object && stack[top].isName {
				k := t
				if top == 0 {
					k = fold(t)
				}
				if earlier, ok := stack[top].names[k]; ok {
					return earlier, t, true
				}
				stack[top].names[k] = t
				stack[top].isName = false
				continue
			}
		}
		if top >= 0 && stack[top].object {
			stack[top].isName = true // a member's value was read
		}
		if top < 0 {
			return "", "", false // a scalar document
		}
	}
}

// fold maps each rune of s to the least rune of its Unicode simple case
// folding orbit, so that fold(x) == fold(y) exactly when
// strings.EqualFold(x, y), the rule encoding/json matches names by.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}
