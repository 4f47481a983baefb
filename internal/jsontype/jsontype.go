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
	"unicode/utf8"
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

// FieldPath returns the path of the value te, a mismatch found decoding
// the JSON document doc, is about: te.Field with the index of each array
// element on the way ("domains[0]", "identifiers[1].type") and each key of
// a map past them ("methods[a.example]"), which encoding/json leaves out
// of Field. It returns te.Field as it is when doc does not lead to that
// value through te.Field's names (doc is not the document te came from),
// and "" for the document itself. Callers set the result as Field of a
// copy of te, for Mismatch.
func FieldPath(doc []byte, te *json.UnmarshalTypeError) string {
	if te.Field == "" {
		return ""
	}
	steps, ok := valuePath(doc, te.Offset)
	if !ok {
		return te.Field
	}
	names := strings.Split(te.Field, ".")
	var b strings.Builder
	for _, st := range steps {
		if st.index >= 0 {
			fmt.Fprintf(&b, "[%d]", st.index)
			continue
		}
		if len(names) == 0 {
			// Past te.Field's names: a map's key, which encoding/json
			// leaves out; named as Go would index the map.
			fmt.Fprintf(&b, "[%s]", shortKey(st.name))
			continue
		}
		// encoding/json matches a member to a field without case, and
		// names the field in Field.
		if !strings.EqualFold(names[0], st.name) {
			return te.Field
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(names[0])
		names = names[1:]
	}
	if len(names) > 0 {
		return te.Field
	}
	return b.String()
}

// maxKeyShown bounds a map key quoted in a path: a key is the client's
// input, as long as the body allows.
const maxKeyShown = 64

// shortKey is key, cut to maxKeyShown bytes (at a rune boundary) with "…".
func shortKey(key string) string {
	if len(key) <= maxKeyShown {
		return key
	}
	cut := maxKeyShown
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return key[:cut] + "…"
}

// step is one step of a path into a JSON document: an object's member
// (name) or an array's element (index, -1 for a member).
type step struct {
	name  string
	index int
}

// valuePath returns the steps from the top of the JSON document doc to the
// value that ends at byte offset end (an object or array: whose opening
// bracket ends there), as encoding/json's UnmarshalTypeError.Offset gives
// it; false when no value of doc ends there, or doc is not valid JSON up to
// it.
func valuePath(doc []byte, end int64) ([]step, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		object bool
		name   string // the member being read, in an object
		isName bool   // the next token of an object is a member's name
		index  int    // the element being read, in an array
	}
	var stack []frame
	// done moves the innermost container past the value just read.
	done := func() {
		if len(stack) == 0 {
			return
		}
		if f := &stack[len(stack)-1]; f.object {
			f.isName = true
		} else {
			f.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil || dec.InputOffset() > end {
			return nil, false
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].isName {
			if name, ok := tok.(string); ok {
				stack[n-1].name, stack[n-1].isName = name, false
				continue
			}
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			done()
			continue
		}
		if dec.InputOffset() == end {
			steps := make([]step, len(stack))
			for i, f := range stack {
				steps[i] = step{name: f.name, index: -1}
				if !f.object {
					steps[i] = step{index: f.index}
				}
			}
			return steps, true
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{object: d == '{', isName: d == '{'})
			continue
		}
		done()
	}
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
