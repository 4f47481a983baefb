package api

// PrefersJSONForTest exposes prefersJSON to the external tests.
var PrefersJSONForTest = prefersJSON
