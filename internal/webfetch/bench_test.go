package webfetch

import (
	"testing"

	"github.com/dcvhq/dcv/internal/testenv"
)

// BenchmarkFetch fetches a small file over http and over https from a web
// server on loopback: one attempt each (resolution by a fake resolver, a
// fresh connection, the request, the response read), as a validation
// makes it.
func BenchmarkFetch(b *testing.B) {
	w := testenv.NewWebServer(b)
	w.SetFile("", "/.well-known/acme-challenge/tok", 200, "tok.thumbprint")
	f := fetcherOn(b, addrs(testHost+".", w.IP), w.HTTPPort, w.HTTPSPort, true)
	for _, scheme := range []string{"http", "https"} {
		b.Run(scheme, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a := f.Fetch(b.Context(), scheme+"://"+testHost+"/.well-known/acme-challenge/tok").Final()
				if a == nil || a.Err != nil || a.Status != 200 || string(a.Body) != "tok.thumbprint" {
					b.Fatalf("attempt = %+v", a)
				}
			}
		})
	}
}
