// Command dcv is a certificate authority's domain-control-validation
// service: `dcv serve` runs it; the other commands are its clients.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	err := newRootCmd().Execute()
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, "dcv:", ee.msg)
		}
		os.Exit(ee.code)
	default:
		fmt.Fprintln(os.Stderr, "dcv:", err)
		os.Exit(1)
	}
}
