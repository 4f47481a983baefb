package order_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// TestReviewACMEOverlayBreaksOpenAPIEnum: 079cd3b gives the REST view of
// an ACME order ACME's statuses (valid, ready, processing...), but the
// OpenAPI document served by /api/v1/openapi.json still declares
// Order.status and Domain.status as enums of the REST statuses only.
// TestACMEViewMatchesOpenAPI: the REST view of an ACME order, with its
// ACME statuses, answers within the enums the OpenAPI document publishes
// (review).
func TestACMEViewMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	const name = "enum.applicant.com"
	ctx := context.Background()
	w, a, acct, _, ov := validatedACMEOrder(t, name, ordertest.Options{})
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, k)
	if _, err := a.Finalize(ctx, acct, nil, ov.ID, csr); err != nil {
		t.Fatal(err)
	}
	av, err := w.Service.EnsureAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := w.Service.Authenticate(ctx, av.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := w.Service.Get(ctx, admin, ov.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	orderEnum := doc.Components.Schemas["Order"].Properties["status"].Enum
	domainEnum := doc.Components.Schemas["Domain"].Properties["status"].Enum
	methodEnum := doc.Components.Schemas["Domain"].Properties["method"].Enum
	if !slices.Contains(orderEnum, v.Status) {
		t.Errorf("GET /api/v1/orders/%s answers status %q, not in the documented enum %v", ov.ID, v.Status, orderEnum)
	}
	for _, d := range v.Domains {
		if !slices.Contains(methodEnum, d.Method) {
			t.Errorf("domain %s: method %q, not in the documented enum %v", d.Domain, d.Method, methodEnum)
		}
		if !slices.Contains(domainEnum, d.Status) {
			t.Errorf("domain %s: status %q, not in the documented enum %v", d.Domain, d.Status, domainEnum)
		}
	}
}
