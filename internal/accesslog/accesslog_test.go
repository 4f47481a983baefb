package accesslog_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/dcvhq/dcv/internal/accesslog"
	"github.com/dcvhq/dcv/internal/clientaddr"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	const secret = "Bearer s3cr3t-api-key"
	tests := []struct {
		name    string
		level   slog.Level
		method  string
		target  string
		xff     string
		handler http.HandlerFunc
		want    []string // in the log line; nil: no line
	}{
		{name: "status written", level: slog.LevelDebug, method: "POST", target: "/api/v1/orders", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
		}, want: []string{"level=DEBUG", `msg="http request"`, "method=POST", "path=/api/v1/orders", "status=201", "duration=", "client=192.0.2.1"}},
		{name: "nothing written is 200", level: slog.LevelDebug, method: "GET", target: "/api/v1/health", handler: func(http.ResponseWriter, *http.Request) {},
			want: []string{"status=200"}},
		{name: "body without header is 200", level: slog.LevelDebug, method: "GET", target: "/ca/root.pem", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("x"))
			w.WriteHeader(http.StatusTeapot) // superfluous: 200 was sent
		}, want: []string{"status=200"}},
		{name: "informational status skipped", level: slog.LevelDebug, method: "GET", target: "/x", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNotFound)
		}, want: []string{"status=404"}},
		{name: "query string left out", level: slog.LevelDebug, method: "GET", target: "/api/v1/orders?cursor=c-secret&limit=5", handler: func(http.ResponseWriter, *http.Request) {},
			want: []string{"path=/api/v1/orders "}},
		{name: "client behind a trusted proxy", level: slog.LevelDebug, method: "GET", target: "/", xff: "198.51.100.7", handler: func(http.ResponseWriter, *http.Request) {},
			want: []string{"client=198.51.100.7"}},
		{name: "not at info level", level: slog.LevelInfo, method: "GET", target: "/", handler: func(http.ResponseWriter, *http.Request) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: tt.level}))
			h := clientaddr.New([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}).Handler(accesslog.Handler(tt.handler, logger, nil))
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(`{"key":"body-secret"}`))
			req.RemoteAddr = "192.0.2.1:5555"
			req.Header.Set("Authorization", secret)
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			line := logs.String()
			if tt.want == nil {
				if line != "" {
					t.Errorf("logged %q, want nothing", line)
				}
				return
			}
			if strings.Count(line, "\n") != 1 {
				t.Fatalf("logged %q, want one line", line)
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("line %q lacks %q", line, w)
				}
			}
			for _, never := range []string{"s3cr3t", "body-secret", "c-secret", "Authorization"} {
				if strings.Contains(line, never) {
					t.Errorf("line %q holds %q", line, never)
				}
			}
		})
	}
}
