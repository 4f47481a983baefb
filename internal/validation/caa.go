package validation

import (
	"context"

	"github.com/dcvhq/dcv/internal/caa"
)

// CAAMethodName returns the label of method m as matched against the
// "validationmethods" parameter of CAA records (RFC 8657 §4): "ca-dnsauth"
// for MethodDNS and "ca-fileauth" for MethodFile. RFC 8657 §4 asks a CA to
// give its non-ACME methods labels that begin with "ca-". It returns "" for
// any other method.
func CAAMethodName(m Method) string {
	switch m {
	case MethodDNS:
		return "ca-dnsauth"
	case MethodFile:
		return "ca-fileauth"
	case MethodHTTP01, MethodDNS01, MethodTLSALPN01:
		// RFC 8657 §4: ACME methods are named by their challenge type.
		return string(m)
	default:
		return ""
	}
}

// observeCAA evaluates the CAA records of req.Domain for the issuer
// identity of req (Observe sets it) and req's method (RFC 8659, RFC 8657).
func (v *Validator) observeCAA(ctx context.Context, req Request) *caa.Result {
	return caa.Evaluate(ctx, v.cfg.Resolver, req.Domain, caa.Params{
		Identity:   req.CAAIdentity,
		Method:     CAAMethodName(req.Method),
		AccountURI: req.AccountURI,
	})
}
