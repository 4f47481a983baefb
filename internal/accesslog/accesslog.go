// Package accesslog logs the HTTP requests a server answers, at debug
// level: method, path, status, duration and client address, never a
// header, a body or a query string (which may carry keys, JWS or cursors).
package accesslog

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/dcvhq/dcv/internal/clientaddr"
)

// Observer is told of each request answered: its status and how long it
// took (the metrics of a server).
type Observer func(r *http.Request, status int, took time.Duration)

// Handler returns next with every request logged to logger at debug level
// once answered: its method, its path without the query string, the
// status sent (200 when the handler wrote none), how long it took, and the
// client address (clientaddr.From); observe, when not nil, is told of it
// too. When logger does not log debug and there is no observer, the
// request goes to next untouched.
func Handler(next http.Handler, logger *slog.Logger, observe Observer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		debug := logger.Enabled(ctx, slog.LevelDebug)
		if !debug && observe == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		// Deferred: a handler that panics (http.ErrAbortHandler) is
		// logged and counted too.
		defer func() {
			took := time.Since(start)
			if observe != nil {
				observe(r, rec.statusSent(), took)
			}
			if !debug {
				return
			}
			logger.LogAttrs(ctx, slog.LevelDebug, "http request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.statusSent()),
				slog.Duration("duration", took),
				slog.String("client", clientaddr.From(r)))
		}()
		next.ServeHTTP(rec, r)
	})
}

// recorder is a ResponseWriter that keeps the status sent.
type recorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first final status (an informational 1xx is
// not the answer's).
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write sends p, with a 200 status when none was.
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// Flush flushes the underlying writer when it can.
func (r *recorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap returns the underlying ResponseWriter (http.ResponseController).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// statusSent is the status the client got: 200 when the handler wrote
// nothing (net/http sends 200 then).
func (r *recorder) statusSent() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
