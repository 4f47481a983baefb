package ident_test

import (
	"errors"
	"fmt"

	"github.com/dcvhq/dcv/internal/ident"
)

func ExampleNormalize() {
	for _, name := range []string{" WWW.Bücher.de. ", "*.dcv.dev", "foo.test", "co.uk"} {
		n, err := ident.Normalize(name)
		var pe *ident.PolicyError
		if errors.As(err, &pe) {
			fmt.Printf("%s: %s\n", pe.Code, pe.Message)
			continue
		}
		fmt.Println(n)
	}
	// Output:
	// www.xn--bcher-kva.de
	// *.dcv.dev
	// RESERVED_NAME: "foo.test" is under the special-use domain "test" (RFC 6761) and cannot get a certificate
	// PUBLIC_SUFFIX: "co.uk" is a public suffix (names under it belong to many different owners) and cannot get a certificate
}

func ExampleParseOrderNames() {
	names, err := ident.ParseOrderNames([]string{"dcv.dev", "*.dcv.dev"}, "dns")
	fmt.Println(names, err)
	_, err = ident.ParseOrderNames([]string{"*.dcv.dev"}, "file")
	fmt.Println(err)
	// Output:
	// [dcv.dev *.dcv.dev] <nil>
	// "*.dcv.dev" is a wildcard: wildcards can be validated only with the "dns" method, not "file"
}
