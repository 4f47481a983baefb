package api

// PrefersJSONForTest exposes prefersJSON to the external tests.
var PrefersJSONForTest = prefersJSON

// OpenAPIForTest exposes the OpenAPI document to the external tests.
var OpenAPIForTest = openAPI
