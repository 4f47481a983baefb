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

// DuplicateKey returns the first member name that appears twice in one
// object of the JSON document b, and true; "", false when there is none or
// b is not valid JSON (the decoder then says why). encoding/json keeps the
// last of duplicate members silently; a request that names a field twice
// is refused instead of half understood.
func DuplicateKey(b []byte) (string, bool) {
	if !json.Valid(b) {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	// Each open object's member names, and whether the next string token
	// of that object is a name (true) or a value (false).
	type frame struct {
		names  map[string]bool
		isName bool
		object bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top >= 0 && stack[top].object {
					stack[top].isName = true // the container is a member's value
				}
				stack = append(stack, frame{names: map[string]bool{}, isName: true, object: t == '{'})
				continue
			default:
				stack = stack[:top]
				if len(stack) == 0 {
					return "", false
				}
				continue
			}
		case string:
			if top >= 0 && stack[top].object && stack[top].isName {
				if stack[top].names[t] {
					return t, true
				}
				stack[top].names[t] = true
				stack[top].isName = false
				continue
			}
		}
		if top >= 0 && stack[top].object {
			stack[top].isName = true // a member's value was read
		}
		if top < 0 {
			return "", false // a scalar document
		}
	}
}
