package validation

import (
	"bytes"
	"context"

	"github.com/dcvhq/dcv/internal/webfetch"
)

// observeFile fetches the validation file over http and, when that did not
// serve the value, over https too. CA/B BR 3.2.2.4.18: the file "MUST be
// retrieved via either the "http" or "https" scheme" and "MUST be accessed
// over an Authorized Port" (the fetcher dials only its configured ports).
// Redirects are recorded, never followed. A wildcard domain yields an
// invalid_url trace: this method cannot validate wildcards.
func (v *Validator) observeFile(ctx context.Context, req Request) *FileObservation {
	url := "http://" + req.Domain + FilePath
	obs := &FileObservation{URL: url}
	tr := v.cfg.Fetcher.Fetch(ctx, url)
	obs.Fetches = append(obs.Fetches, tr)
	if FetchMatches(tr, req.Value) {
		return obs
	}
	obs.Fetches = append(obs.Fetches, v.cfg.Fetcher.Fetch(ctx, "https://"+req.Domain+FilePath))
	return obs
}

// FetchMatches reports whether tr ended in a complete 200 response (no
// error, body not truncated) whose body matches value by FileContentMatches.
// Validation and diagnosis both decide with it.
func FetchMatches(tr *webfetch.Trace, value string) bool {
	if tr == nil {
		return false
	}
	a := tr.Final()
	return a != nil && a.Status == 200 && a.Err == nil && !a.BodyTruncated &&
		FileContentMatches(a.Body, value)
}

// FileContentMatches reports whether body, with trailing whitespace (space,
// tab, CR, LF) trimmed, equals value exactly. Leading whitespace, other
// content and case differences do not match. An empty value never matches.
func FileContentMatches(body []byte, value string) bool {
	return value != "" && string(bytes.TrimRight(body, " \t\r\n")) == value
}
