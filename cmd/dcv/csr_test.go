package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOrderCreateCSR: --csr sends the certificate signing request alone,
// PEM, never a key: a file without a request is refused before anything is
// sent (a usage error), and one that holds a key beside the request has
// the request sent and the key left out.
func TestOrderCreateCSR(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"m.example.com"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})
	newCSRPEM := pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: csrDER})
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	sec1, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ecKeyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKeyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "m.example.com"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}, &x509.Certificate{SerialNumber: big.NewInt(1)}, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})

	const keyRefused = "holds a private key, not a certificate signing request: dcv never needs your private key; give the CSR (-----BEGIN CERTIFICATE REQUEST-----)"
	tests := []struct {
		name string
		file []byte // nil: no file
		code int
		want string // in the message
		sent bool   // the request is sent, as PEM CERTIFICATE REQUEST
		note string // on standard error
	}{
		{name: "CSR", file: csrPEM, sent: true},
		{name: "NEW CERTIFICATE REQUEST", file: newCSRPEM, sent: true},
		{name: "CSR in DER", file: csrDER, sent: true},
		{name: "CSR after text", file: append([]byte("Subject: m.example.com\n"), csrPEM...), sent: true},
		{name: "CSR then its key", file: append(append([]byte{}, csrPEM...), keyPEM...), sent: true, note: "also holds a private key; it is not sent, only the certificate signing request"},
		{name: "key then CSR", file: append(append([]byte{}, ecKeyPEM...), newCSRPEM...), sent: true, note: "also holds a private key"},
		{name: "CSR and a certificate", file: append(append([]byte{}, certPEM...), csrPEM...), sent: true},
		{name: "PKCS #8 key", file: keyPEM, code: exitUsage, want: keyRefused},
		{name: "EC key", file: ecKeyPEM, code: exitUsage, want: keyRefused},
		{name: "RSA key", file: rsaKeyPEM, code: exitUsage, want: keyRefused},
		{name: "encrypted key", file: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("x")}), code: exitUsage, want: keyRefused},
		{name: "key whose PEM does not decode", file: []byte("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n"), code: exitUsage, want: keyRefused},
		{name: "PKCS #8 key in DER", file: pkcs8, code: exitUsage, want: keyRefused},
		{name: "EC key in DER", file: sec1, code: exitUsage, want: keyRefused},
		{name: "key and certificate", file: append(append([]byte{}, certPEM...), keyPEM...), code: exitUsage, want: keyRefused},
		{name: "certificate", file: certPEM, code: exitUsage, want: "holds no certificate signing request, only CERTIFICATE"},
		{name: "two CSRs", file: append(append([]byte{}, csrPEM...), csrPEM...), code: exitUsage, want: "holds 2 certificate signing requests"},
		{name: "empty", file: []byte{}, code: exitUsage, want: "holds no certificate signing request"},
		{name: "text", file: []byte("hello\n"), code: exitUsage, want: "holds no certificate signing request"},
		{name: "too large", file: bytes.Repeat([]byte("x"), 64<<10+1), code: exitUsage, want: "is larger than 65536 bytes"},
		{name: "no file", code: exitFailure, want: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			path := filepath.Join(t.TempDir(), "m.pem")
			if tt.file != nil {
				writeTestFile(t, path, string(tt.file))
			}
			code, msg, stderr := runDCV(t, "order", "create", "m.example.com", "--csr", path, "--server", api.URL, "--api-key", "k")
			if code != tt.code || !strings.Contains(msg, tt.want) {
				t.Fatalf("exit status %d, %q; want %d, with %q", code, msg, tt.code, tt.want)
			}
			if tt.want != "" && !strings.Contains(msg, path) {
				t.Errorf("message %q does not name the file", msg)
			}
			if !strings.Contains(stderr, tt.note) || (tt.note == "" && strings.Contains(stderr, "private key")) {
				t.Errorf("standard error %q; want %q", stderr, tt.note)
			}
			reqs := api.requests()
			if !tt.sent {
				if len(reqs) != 0 {
					t.Fatalf("sent %q", reqs)
				}
				return
			}
			if len(reqs) != 1 {
				t.Fatalf("sent %d requests, want 1: %q", len(reqs), reqs)
			}
			body, ok := strings.CutPrefix(reqs[0], "POST /api/v1/orders ")
			if !ok {
				t.Fatalf("request %q", reqs[0])
			}
			var req struct {
				Domains []string `json:"domains"`
				CSR     string   `json:"csr"`
			}
			if err := json.Unmarshal([]byte(body), &req); err != nil {
				t.Fatalf("request body %q: %v", body, err)
			}
			if req.CSR != string(csrPEM) {
				t.Errorf("sent csr %q, want %q", req.CSR, csrPEM)
			}
			if strings.Contains(body, "PRIVATE KEY") || strings.Contains(body, "CERTIFICATE-----") {
				t.Errorf("sent more than the request: %q", body)
			}
		})
	}
}
