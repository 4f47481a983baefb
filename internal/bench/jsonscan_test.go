package bench

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestDecodeACMEObjects checks the JSON reader against encoding/json on
// the objects of the hot loop: same fields, unknown members skipped,
// escapes and null handled, malformed JSON refused.
func TestDecodeACMEObjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		newObj  func() jsonDecoder
		wantErr bool
	}{
		{name: "order", newObj: func() jsonDecoder { return new(orderObject) }, json: `{
			"status": "pending", "expires": "2026-01-01T00:00:00Z",
			"identifiers": [{"type": "dns", "value": "a.test"}, {"type": "dns", "value": "b.test"}],
			"authorizations": ["https://ca.test/authz/1", "https://ca.test/authz/2"],
			"finalize": "https://ca.test/finalize/1", "notBefore": null, "n": -1.5e+3, "ok": true, "no": false}`},
		{name: "valid order with certificate", newObj: func() jsonDecoder { return new(orderObject) },
			json: `{"status":"valid","authorizations":[],"finalize":"f","certificate":"https://ca.test/cert/\u0031"}`},
		{name: "invalid order with problem", newObj: func() jsonDecoder { return new(orderObject) },
			json: `{"status":"invalid","error":{"type":"urn:ietf:params:acme:error:badCSR","detail":"bad \"CSR\" – ünïcode","subproblems":[{"type":"x"}]}}`},
		{name: "authorization", newObj: func() jsonDecoder { return new(authzObject) }, json: `{
			"status": "pending", "identifier": {"type": "dns", "value": "a.test"}, "wildcard": false,
			"challenges": [
				{"type": "http-01", "url": "https://ca.test/chal/1", "token": "tok_-1", "status": "pending"},
				{"type": "dns-01", "url": "https://ca.test/chal/2", "token": "tok_-1", "status": "invalid",
				 "error": {"type": "urn:ietf:params:acme:error:connection", "detail": "refused", "status": 400}}
			]}`},
		{name: "null members", newObj: func() jsonDecoder { return new(authzObject) },
			json: `{"status":null,"identifier":null,"challenges":null}`},
		{name: "challenge", newObj: func() jsonDecoder { return new(challengeObject) },
			json: `{"type":"http-01","url":"u","token":"t","status":"valid","validated":"2026-01-01T00:00:00Z","error":null}`},
		{name: "escaped key", newObj: func() jsonDecoder { return new(challengeObject) },
			json: `{"st\u0061tus":"valid"}`},
		{name: "deep unknown member", newObj: func() jsonDecoder { return new(orderObject) },
			json: `{"x":[[[{"a":[1,2,{"b":"c"}]}]]],"status":"ready"}`},
		{name: "trailing garbage", newObj: func() jsonDecoder { return new(orderObject) }, json: `{"status":"valid"} x`, wantErr: true},
		{name: "not an object", newObj: func() jsonDecoder { return new(orderObject) }, json: `["status"]`, wantErr: true},
		{name: "status not a string", newObj: func() jsonDecoder { return new(orderObject) }, json: `{"status":5}`, wantErr: true},
		{name: "unterminated", newObj: func() jsonDecoder { return new(orderObject) }, json: `{"status":"valid"`, wantErr: true},
		{name: "bad escape", newObj: func() jsonDecoder { return new(orderObject) }, json: `{"status":"\x"}`, wantErr: true},
		{name: "control character", newObj: func() jsonDecoder { return new(orderObject) }, json: "{\"status\":\"a\nb\"}", wantErr: true},
		{name: "bad number", newObj: func() jsonDecoder { return new(orderObject) }, json: `{"n":01}`, wantErr: true},
		{name: "bad literal", newObj: func() jsonDecoder { return new(orderObject) }, json: `{"n":tru}`, wantErr: true},
		{name: "missing colon", newObj: func() jsonDecoder { return new(orderObject) }, json: `{"status" "valid"}`, wantErr: true},
		{name: "trailing comma", newObj: func() jsonDecoder { return new(orderObject) }, json: `{"status":"valid",}`, wantErr: true},
		{name: "too deep", newObj: func() jsonDecoder { return new(orderObject) },
			json: `{"x":` + strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1) + `}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.newObj()
			err := got.decodeJSON([]byte(tt.json))
			if tt.wantErr {
				if err == nil || !errors.Is(err, errJSONSyntax) {
					t.Fatalf("decodeJSON: %v, want a syntax error; got %+v", err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeJSON: %v", err)
			}
			want := tt.newObj()
			if err := json.Unmarshal([]byte(tt.json), want); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			if !reflect.DeepEqual(normalizeDecoded(got), normalizeDecoded(want)) {
				t.Fatalf("decoded\n%+v\nencoding/json decodes\n%+v", got, want)
			}
		})
	}
}

// normalizeDecoded clears what the two decoders legitimately differ in:
// encoding/json keeps an empty non-nil slice for [], the reader nil.
func normalizeDecoded(v jsonDecoder) jsonDecoder {
	switch o := v.(type) {
	case *orderObject:
		if len(o.Authorizations) == 0 {
			o.Authorizations = nil
		}
	case *authzObject:
		if len(o.Challenges) == 0 {
			o.Challenges = nil
		}
	}
	return v
}

// FuzzJSONObjectMembers checks that the reader never panics, accepts only
// what encoding/json finds valid, and reads the members encoding/json
// reads.
func FuzzJSONObjectMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"status":"valid","authorizations":["x","y"]}`, `{"a":{"b":[true,false,null,-0.5e-7]}}`,
		`{"a":"\ud83d\ude00"}`, `{"a":"\u00"}`, `{"a" :  [ ] , "b":{ }}`, `{"status":"valid",}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got orderObject
		err := got.decodeJSON(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		var members map[string]json.RawMessage
		if json.Unmarshal(data, &members) != nil {
			t.Fatalf("accepted %q, which is not an object for encoding/json", data)
		}
		if raw, ok := members["status"]; ok {
			var s *string
			if json.Unmarshal(raw, &s) == nil && s != nil && *s != got.Status {
				t.Fatalf("status %q, encoding/json reads %q", got.Status, *s)
			}
		}
	})
}
