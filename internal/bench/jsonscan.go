package bench

import (
	"encoding/json"
	"errors"
	"fmt"
)

// A small JSON (RFC 8259) reader for the ACME objects of the hot loop: it
// walks one object, hands the raw value of each member to the caller, and
// decodes only the members the bench reads (strings, arrays of strings,
// nested objects), skipping the rest after checking that they are well
// formed. encoding/json, which reflects over the destination and scans the
// input twice, cost the load generator about a tenth of its CPU.

// maxJSONDepth bounds the nesting of a value the reader skips: ACME objects
// nest three levels (an authorization's challenge's error); 32 leaves room
// for extensions without letting a hostile answer recurse deeply.
const maxJSONDepth = 32

var errJSONSyntax = errors.New("malformed JSON")

// jsonSyntaxError reports malformed JSON at offset i.
func jsonSyntaxError(i int) error { return fmt.Errorf("%w at offset %d", errJSONSyntax, i) }

// jsonObjectMembers calls f with the key and raw value of each member of
// the JSON object that is the whole of data (surrounding whitespace
// allowed), in order. Keys are unescaped; f must not keep key.
func jsonObjectMembers(data []byte, f func(key, val []byte) error) error {
	i := skipSpace(data, 0)
	end, err := scanObject(data, i, 0, f)
	if err != nil {
		return err
	}
	if skipSpace(data, end) != len(data) {
		return jsonSyntaxError(end)
	}
	return nil
}

// jsonArrayElems calls f with the raw value of each element of the JSON
// array raw.
func jsonArrayElems(raw []byte, f func(elem []byte) error) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return fmt.Errorf("%w: not an array", errJSONSyntax)
	}
	end, err := scanArray(raw, i, 0, f)
	if err != nil {
		return err
	}
	if skipSpace(raw, end) != len(raw) {
		return jsonSyntaxError(end)
	}
	return nil
}

// jsonStringValue decodes the raw JSON string raw; null decodes to "".
func jsonStringValue(raw []byte) (string, error) {
	if string(raw) == "null" {
		return "", nil
	}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", fmt.Errorf("%w: not a string", errJSONSyntax)
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' || c >= 0x80 {
			// Escapes and non-ASCII (which must be valid UTF-8):
			// encoding/json's rules, on the rare value that has them.
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", fmt.Errorf("%w: %v", errJSONSyntax, err)
			}
			return s, nil
		}
	}
	return string(body), nil
}

// jsonKey returns the content of the raw JSON string raw, without copying
// it unless it has escapes.
func jsonKey(raw []byte) ([]byte, error) {
	body := raw[1 : len(raw)-1] // scanString checked the quotes
	for _, c := range body {
		if c == '\\' {
			s, err := jsonStringValue(raw)
			return []byte(s), err
		}
	}
	return body, nil
}

// jsonStringArray decodes the raw JSON array of strings raw; null decodes
// to nil.
func jsonStringArray(raw []byte) ([]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var out []string
	err := jsonArrayElems(raw, func(e []byte) error {
		s, err := jsonStringValue(e)
		out = append(out, s)
		return err
	})
	return out, err
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanValue returns the end of the value that starts at data[i].
func scanValue(data []byte, i, depth int) (int, error) {
	if i >= len(data) {
		return i, jsonSyntaxError(i)
	}
	switch c := data[i]; {
	case c == '{':
		return scanObject(data, i, depth+1, nil)
	case c == '[':
		return scanArray(data, i, depth+1, nil)
	case c == '"':
		return scanString(data, i)
	case c == '-' || '0' <= c && c <= '9':
		return scanNumber(data, i)
	case c == 't':
		return scanLiteral(data, i, "true")
	case c == 'f':
		return scanLiteral(data, i, "false")
	case c == 'n':
		return scanLiteral(data, i, "null")
	}
	return i, jsonSyntaxError(i)
}

// scanObject returns the end of the object at data[i], calling f (if not
// nil) for each member.
func scanObject(data []byte, i, depth int, f func(key, val []byte) error) (int, error) {
	if depth > maxJSONDepth {
		return i, fmt.Errorf("%w: nested deeper than %d", errJSONSyntax, maxJSONDepth)
	}
	if i >= len(data) || data[i] != '{' {
		return i, fmt.Errorf("%w: not an object", errJSONSyntax)
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, nil
	}
	for {
		kEnd, err := scanString(data, i)
		if err != nil {
			return i, err
		}
		rawKey := data[i:kEnd]
		i = skipSpace(data, kEnd)
		if i >= len(data) || data[i] != ':' {
			return i, jsonSyntaxError(i)
		}
		i = skipSpace(data, i+1)
		vEnd, err := scanValue(data, i, depth)
		if err != nil {
			return i, err
		}
		if f != nil {
			key, err := jsonKey(rawKey)
			if err != nil {
				return i, err
			}
			if err := f(key, data[i:vEnd]); err != nil {
				return i, err
			}
		}
		i = skipSpace(data, vEnd)
		if i >= len(data) {
			return i, jsonSyntaxError(i)
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, jsonSyntaxError(i)
		}
	}
}

// scanArray returns the end of the array at data[i], calling f (if not
// nil) for each element.
func scanArray(data []byte, i, depth int, f func(elem []byte) error) (int, error) {
	if depth > maxJSONDepth {
		return i, fmt.Errorf("%w: nested deeper than %d", errJSONSyntax, maxJSONDepth)
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := scanValue(data, i, depth)
		if err != nil {
			return i, err
		}
		if f != nil {
			if err := f(data[i:end]); err != nil {
				return i, err
			}
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return i, jsonSyntaxError(i)
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, jsonSyntaxError(i)
		}
	}
}

// scanString returns the end of the string at data[i]. It checks the
// escapes' form; the content of a string the bench keeps is checked again
// by jsonStringValue.
func scanString(data []byte, i int) (int, error) {
	if i >= len(data) || data[i] != '"' {
		return i, jsonSyntaxError(i)
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return j + 1, nil
		case c < 0x20:
			return j, jsonSyntaxError(j)
		case c == '\\':
			j++
			if j >= len(data) {
				return j, jsonSyntaxError(j)
			}
			switch data[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(data) {
					return j, jsonSyntaxError(j)
				}
				for _, h := range data[j+1 : j+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return j, jsonSyntaxError(j)
					}
				}
				j += 4
			default:
				return j, jsonSyntaxError(j)
			}
		}
	}
	return len(data), jsonSyntaxError(len(data))
}

// scanNumber returns the end of the number at data[i] (RFC 8259 §6:
// [ minus ] int [ frac ] [ exp ]).
func scanNumber(data []byte, i int) (int, error) {
	start := i
	if data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(data) && data[i] == '0' {
		i++
	} else if digits() == 0 {
		return start, jsonSyntaxError(start)
	}
	if i < len(data) && data[i] == '.' {
		i++
		if digits() == 0 {
			return start, jsonSyntaxError(i)
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return start, jsonSyntaxError(i)
		}
	}
	return i, nil
}

func scanLiteral(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return i, jsonSyntaxError(i)
	}
	return i + len(lit), nil
}
