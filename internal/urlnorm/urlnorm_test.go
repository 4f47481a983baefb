package urlnorm

import "testing"

func TestCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://127.0.3.1:443/acme/new-account", "https://127.0.3.1/acme/new-account"},
		{"http://127.0.3.2:80/acme/directory", "http://127.0.3.2/acme/directory"},
		{"https://acme.example.net:443", "https://acme.example.net"},
		{"HTTPS://acme.example.net:443/acme/x", "HTTPS://acme.example.net/acme/x"},
		{"https://[2001:db8::1]:443/acme/x", "https://[2001:db8::1]/acme/x"},
		{"https://acme.example.net:8443/acme/x", "https://acme.example.net:8443/acme/x"},
		{"http://acme.example.net:443/acme/x", "http://acme.example.net:443/acme/x"},
		{"https://acme.example.net/acme/x?cursor=a:443", "https://acme.example.net/acme/x?cursor=a:443"},
		{"https://user@acme.example.net:443/x", "https://user@acme.example.net:443/x"},
		{"not a url\x7f", "not a url\x7f"},
	}
	for _, tt := range tests {
		if got := Canonical(tt.in); got != tt.want {
			t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
