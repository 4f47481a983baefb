package testenv

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SlowBody is a handler that announces a 100-byte body and sends one byte
// per second, until the client gives up.
func SlowBody(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Length", "100")
	rw.WriteHeader(http.StatusOK)
	for range 100 {
		rw.Write([]byte("x"))
		rw.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// HugeBody is a handler that streams a 1 GiB body (without allocating it)
// until the client stops reading.
func HugeBody(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Content-Length", strconv.Itoa(1<<30))
	chunk := []byte(strings.Repeat("a", 32<<10))
	for sent := 0; sent < 1<<30; sent += len(chunk) {
		if _, err := rw.Write(chunk); err != nil {
			return
		}
	}
}
