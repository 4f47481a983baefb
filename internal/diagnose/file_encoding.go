package diagnose

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"

	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// Message ids of a file answer compressed without being asked.
const (
	msgFileEncoded       msg = "msgFileEncoded"
	fixFileEncoded       msg = "fixFileEncoded"
	noteFileEncodedValue msg = "noteFileEncodedValue"
	noteFileEncodedRaw   msg = "noteFileEncodedRaw"
)

// maxEncodedBodyExpanded bounds what is decompressed of a gzip answer to
// tell whether it holds the value.
const maxEncodedBodyExpanded = 4 << 10

func init() {
	extend("", nil, map[msg]string{
		msgFileEncoded:       "The server at %[2]s answered 200 OK for %[1]s, but compressed the content (Content-Encoding: %[3]s) although dcv did not ask for it: its request has no Accept-Encoding header, so it reads the content as sent, and compressed data is not the value.",
		fixFileEncoded:       "Make the web server send fileauth.txt uncompressed to a request without an Accept-Encoding header (RFC 9110 §12.5.3): turn off forced compression (gzip, brotli) for /.well-known/pki-validation/, or for .txt files.",
		noteFileEncodedValue: "Uncompressed, the content is the expected value: only the compression stands in the way.",
		noteFileEncodedRaw:   "The body as sent is the expected value, but labelled as compressed: whoever decodes it as the header says gets something else. Remove the Content-Encoding header.",
	})
}

// encodedContent reports a 200 answer with a content coding dcv did not
// ask for (it sends no Accept-Encoding, so RFC 9110 §12.5.3 lets the
// server choose only "identity"), as the finding that says so.
func (d *diagnoser) encodedContent(a *webfetch.Attempt, us, ip, value string) (Finding, bool) {
	if !validation.ContentEncoded(a) {
		return Finding{}, false
	}
	enc := strings.TrimSpace(a.Header.Get("Content-Encoding"))
	f := Finding{
		Code:     CodeFileContentMismatch,
		Severity: SeverityError,
		Message:  d.c.f(msgFileEncoded, us, ip, Truncate(enc, maxDetailShown)),
		Fix:      d.c.f(fixFileEncoded),
	}
	if validation.FileContentMatches(a.Body, value) {
		f.Message = join(f.Message, d.c.f(noteFileEncodedRaw))
	} else if strings.EqualFold(enc, "gzip") && !a.BodyTruncated {
		if r, err := gzip.NewReader(bytes.NewReader(a.Body)); err == nil {
			plain, err := io.ReadAll(io.LimitReader(r, maxEncodedBodyExpanded))
			if err == nil && bytes.Equal(bytes.TrimRight(plain, "\r\n"), []byte(value)) {
				f.Message = join(f.Message, d.c.f(noteFileEncodedValue))
			}
		}
	}
	return f, true
}
