// Command dcv is a certificate authority's domain-control-validation
// service: `dcv serve` runs it; the other commands are its clients.
package main

import (
	"fmt"
	"os"
)

func main() {
	code, msg := exitStatus(newRootCmd().Execute())
	if msg != "" {
		fmt.Fprintln(os.Stderr, "dcv:", msg)
	}
	if code != 0 {
		os.Exit(code)
	}
}
