package jsontype

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// MisspelledField finds a member of the JSON document b whose name matches
// a field of v's type only without regard to case ("Domains" for
// "domains"): encoding/json takes it for that field silently, so a client
// whose names are wrong by case would never learn that its requests are
// read by a rule it does not follow. It returns the name as sent, the
// field's name, and true; it looks into nested objects and arrays whose
// Go type is a struct (or a slice of them), not into maps. v is a pointer
// to the value b was decoded into.
func MisspelledField(b []byte, v any) (sent, want string, found bool) {
	return misspelled(b, reflect.TypeOf(v))
}

func misspelled(b []byte, t reflect.Type) (string, string, bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "", "", false
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(b, &items) != nil {
			return "", "", false
		}
		for _, it := range items {
			if s, w, ok := misspelled(it, t.Elem()); ok {
				return s, w, true
			}
		}
	case reflect.Struct:
		var members map[string]json.RawMessage
		if json.Unmarshal(b, &members) != nil {
			return "", "", false
		}
		names := fieldNames(t)
		for _, k := range slices.Sorted(maps.Keys(members)) {
			val := members[k]
			if ft, ok := names[k]; ok {
				if s, w, ok := misspelled(val, ft); ok {
					return s, w, true
				}
				continue
			}
			for n := range names {
				if strings.EqualFold(n, k) {
					return k, n, true
				}
			}
		}
	}
	return "", "", false
}

// fieldNames maps the JSON names of t's exported fields, as encoding/json
// names them (the tag's name, else the Go name; embedded structs' fields
// promoted), to their types.
func fieldNames(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for n, ft := range fieldNames(et) {
					if _, ok := out[n]; !ok {
						out[n] = ft
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
