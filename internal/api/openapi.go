package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 document of the REST API, served at
// /api/v1/openapi.json. A test keeps it in step with the routes.
//
//go:embed openapi.json
var openAPI []byte

func (h *Handler) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}
