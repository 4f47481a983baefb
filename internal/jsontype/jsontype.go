// Package jsontype words encoding/json's type mismatches in JSON's terms
// ("must be a JSON array, not a JSON string") rather than Go's, for the
// error messages of the REST API and of ACME.
package jsontype

import (
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
