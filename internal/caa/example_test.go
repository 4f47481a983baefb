package caa_test

import (
	"context"
	"fmt"

	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/dnsclient"
)

// zone answers CAA lookups from a map; other names do not exist.
type zone struct {
	dnsclient.Resolver
	records map[string][]dnsclient.Record
}

func (z zone) Lookup(_ context.Context, name string, _ uint16) (*dnsclient.Response, error) {
	recs, ok := z.records[name]
	if !ok {
		return &dnsclient.Response{Name: name, Type: "CAA", Rcode: "NXDOMAIN"}, nil
	}
	return &dnsclient.Response{Name: name, Type: "CAA", Rcode: "NOERROR", Answer: recs}, nil
}

func ExampleEvaluate() {
	r := zone{records: map[string][]dnsclient.Record{
		"shop.dev.": {
			{Name: "shop.dev.", Type: "CAA", Tag: "issue", Value: "dcv.example; validationmethods=ca-dnsauth"},
			{Name: "shop.dev.", Type: "CAA", Tag: "issuewild", Value: ";"},
		},
	}}
	for _, name := range []string{"www.shop.dev", "*.shop.dev"} {
		res := caa.Evaluate(context.Background(), r, name, caa.Params{Identity: "dcv.example", Method: "ca-dnsauth"})
		fmt.Printf("%s: permitted=%v reason=%q relevant=%s tag=%s steps=%d\n",
			name, res.Permitted, res.Reason, res.RelevantName, res.Tag, len(res.Trace))
	}
	// Output:
	// www.shop.dev: permitted=true reason="" relevant=shop.dev tag=issue steps=2
	// *.shop.dev: permitted=false reason="empty_issuer" relevant=shop.dev tag=issuewild steps=1
}
