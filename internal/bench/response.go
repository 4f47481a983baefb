package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"strconv"
)

// maxHeaderFields bounds the header fields of a response; an ACME server
// sends about ten.
const maxHeaderFields = 100

// readResponse reads one HTTP/1.1 response (RFC 9112) from br into res:
// the status, the Location and Replay-Nonce fields, whether the connection
// must be closed after it, and the body (at most limit bytes; none for a
// response to HEAD). Interim (1xx) responses are skipped. It reads only
// what the bench needs, where http.ReadResponse builds a full header map.
func readResponse(br *bufio.Reader, head bool, limit int64, res *roundTripResult) error {
	for {
		if err := readResponseHead(br, res); err != nil {
			return err
		}
		if res.status >= 200 {
			break
		}
		if res.status == 101 {
			return errors.New("unexpected 101 Switching Protocols")
		}
	}
	// RFC 9112 §6.3: "Any response to a HEAD request and any response with
	// a 1xx (Informational), 204 (No Content), or 304 (Not Modified)
	// status code is always terminated by the first empty line after the
	// header fields".
	if head || res.status == 204 || res.status == 304 {
		return nil
	}
	body, err := readBody(br, res, limit)
	if err != nil {
		return err
	}
	res.body = body
	return nil
}

// responseHead holds what readResponseHead learnt about the body.
type responseHead struct {
	chunked       bool  // Transfer-Encoding ends in chunked
	otherCoding   bool  // Transfer-Encoding without chunked last
	contentLength int64 // -1: none
}

// readResponseHead reads the status line and the header section.
func readResponseHead(br *bufio.Reader, res *roundTripResult) error {
	line, err := readLine(br)
	if err != nil {
		return fmt.Errorf("reading the status line: %w", err)
	}
	// status-line = HTTP-version SP status-code SP [ reason-phrase ]
	// (RFC 9112 §4).
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || (line[7] != '0' && line[7] != '1') ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return fmt.Errorf("malformed status line %q", truncate(line))
	}
	minor := line[7]
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			code = -1
			break
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return fmt.Errorf("malformed status code in %q", truncate(line))
	}
	*res = roundTripResult{wireResponse: wireResponse{status: code}}
	// HTTP/1.0 closes unless asked not to; the bench never asks.
	res.close = minor == '0'
	res.head = responseHead{contentLength: -1}
	for n := 0; ; n++ {
		line, err := readLine(br)
		if err != nil {
			return fmt.Errorf("reading the header: %w", err)
		}
		if len(line) == 0 {
			return nil
		}
		if n == maxHeaderFields {
			return fmt.Errorf("more than %d header fields", maxHeaderFields)
		}
		// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || line[0] == ' ' || line[0] == '\t' {
			return fmt.Errorf("malformed header field %q", truncate(line))
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			v, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || v < 0 || (res.head.contentLength >= 0 && res.head.contentLength != v) {
				return fmt.Errorf("invalid Content-Length %q", truncate(value))
			}
			res.head.contentLength = v
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			// The last coding decides (RFC 9112 §6.3 items 4); a
			// field seen earlier is part of the same list.
			last := value
			if i := bytes.LastIndexByte(value, ','); i >= 0 {
				last = trimOWS(value[i+1:])
			}
			res.head.chunked = bytes.EqualFold(last, []byte("chunked"))
			res.head.otherCoding = !res.head.chunked
		case bytes.EqualFold(name, []byte("Connection")):
			if containsToken(value, "close") {
				res.close = true
			}
		case bytes.EqualFold(name, []byte("Location")):
			res.location = string(value)
		case bytes.EqualFold(name, []byte("Replay-Nonce")):
			res.nonce = string(value)
		case bytes.EqualFold(name, []byte("Retry-After")):
			res.retryAfter = string(value)
		}
	}
}

// readBody reads the body that the header announced (RFC 9112 §6.3).
func readBody(br *bufio.Reader, res *roundTripResult, limit int64) ([]byte, error) {
	h := res.head
	var r io.Reader
	switch {
	case h.chunked:
		r = httputil.NewChunkedReader(br)
	case h.otherCoding:
		// "the response message body length is determined by reading
		// the connection until it is closed by the server".
		res.close = true
		r = br
	case h.contentLength >= 0:
		if h.contentLength > limit {
			return nil, fmt.Errorf("body of %d bytes exceeds the limit of %d", h.contentLength, limit)
		}
		// The common case, read straight into a buffer of the size
		// announced: growing a bytes.Buffer copied every body once more.
		body := make([]byte, h.contentLength)
		if _, err := io.ReadFull(br, body); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading the body: %w", err)
		}
		return body, nil
	default:
		res.close = true
		r = br
	}
	var b bytes.Buffer
	n, err := b.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if n > limit {
		return nil, fmt.Errorf("body exceeds the limit of %d bytes", limit)
	}
	if h.chunked {
		// The trailer section ends with an empty line (RFC 9112 §7.1.2).
		for n := 0; ; n++ {
			line, err := readLine(br)
			if err != nil {
				return nil, fmt.Errorf("reading the trailer: %w", err)
			}
			if len(line) == 0 {
				break
			}
			if n == maxHeaderFields {
				return nil, fmt.Errorf("more than %d trailer fields", maxHeaderFields)
			}
		}
	}
	return b.Bytes(), nil
}

// readLine returns the next line without its CRLF (or bare LF, RFC 9112
// §2.2: "a recipient MAY recognize a single LF as a line terminator"). The
// line is valid until the next read; a line longer than the buffer is an
// error.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("line too long")
		}
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// containsToken reports whether the comma-separated list v holds tok,
// ignoring case.
func containsToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var item []byte
		item, v, _ = bytes.Cut(v, []byte(","))
		if bytes.EqualFold(trimOWS(item), []byte(tok)) {
			return true
		}
	}
	return false
}

// truncate shortens b for an error message.
func truncate(b []byte) string {
	const n = 64
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// trimOWS removes the optional whitespace (SP and HTAB, RFC 9110 §5.6.3)
// around b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
