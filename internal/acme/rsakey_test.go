package acme

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestRSAAccountKeySizes: an RSA account key of up to 8192 bits parses as a
// JWK and passes checkKeyAlg (go-jose alone refuses over 4096); one of
// fewer than 2048 or more than 8192 bits is refused.
func TestRSAAccountKeySizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bits int
		ok   bool
	}{
		{2048, true}, {4096, true}, {4104, true}, {8192, true}, {2040, false}, {8200, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.bits), func(t *testing.T) {
			t.Parallel()
			n := new(big.Int).Lsh(big.NewInt(1), uint(tt.bits-1))
			n.SetBit(n, 0, 1)
			jwk := fmt.Sprintf(`{"kty":"RSA","n":%q,"e":"AQAB"}`, base64.RawURLEncoding.EncodeToString(n.Bytes()))
			var k jose.JSONWebKey
			err := k.UnmarshalJSON([]byte(jwk))
			if err == nil {
				if p := checkKeyAlg(k.Key, "RS256"); p != nil {
					err = p
				}
			}
			if (err == nil) != tt.ok {
				t.Errorf("%d bits: error %v, want ok %v", tt.bits, err, tt.ok)
			}
		})
	}
}
