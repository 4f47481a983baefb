package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
)

// Files of the agent CA in Config.Dir, beside the hierarchy's.
const (
	AgentCAKeyFile  = "agent-ca.key"
	AgentCACertFile = "agent-ca.pem"
)

// Validity periods of the agent CA and of what it signs.
const (
	agentCAValidity = 10 * 365 * 24 * time.Hour
	// DefaultAgentValidity is the validity of an agent certificate when
	// AgentCertRequest.Validity is zero: one year, after which the agent is
	// enrolled again.
	DefaultAgentValidity = 365 * 24 * time.Hour
	// MaxAgentValidity bounds AgentCertRequest.Validity.
	MaxAgentValidity = 2 * 365 * 24 * time.Hour
)

// Roles of mutual-TLS certificates, carried as a URI subjectAltName so that
// an agent accepts requests only from a primary, never from another agent.
const (
	// RolePrimaryURI marks the primary's client certificate.
	RolePrimaryURI = "urn:dcv:role:primary"
	// agentURIPrefix + name marks an agent's certificate.
	agentURIPrefix = "urn:dcv:agent:"
)

// AgentURI returns the URI subjectAltName that names the agent of
// perspective name in its certificate.
func AgentURI(name string) string { return agentURIPrefix + name }

// agentName is what a perspective name may be: a DNS label, so it reads
// well in URIs, logs and file names.
var agentName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidAgentName reports whether name may name a perspective: 1 to 63
// lowercase letters, digits and inner hyphens.
func ValidAgentName(name string) bool { return agentName.MatchString(name) }

// AgentCA is dcv's private certificate authority for the mutual TLS between
// the primary and its remote perspectives (dcv agents). It is a self-signed
// root of its own, separate from the TLS server hierarchy: that hierarchy is
// dedicated to subscriber (serverAuth) certificates, and its intermediate's
// extKeyUsage (serverAuth only) could not chain a client certificate anyway.
// Certificates it signs are not subscriber certificates and are not linted
// against the CA/B Forum Baseline Requirements; they are trusted by nothing
// but dcv's primary and agents.
//
// An AgentCA is safe for concurrent use.
type AgentCA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	now     func() time.Time
}

var agentCAMu sync.Mutex // serialises loading and creating the agent CA files

// HasAgentCA reports whether the CA's directory holds an agent CA (its key
// or its certificate), which AgentCA would load rather than create.
func (c *CA) HasAgentCA() (bool, error) {
	for _, name := range []string{AgentCAKeyFile, AgentCACertFile} {
		_, err := os.Lstat(filepath.Join(c.cfg.Dir, name))
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, fs.ErrNotExist):
			return false, fmt.Errorf("ca: checking %s: %w", name, err)
		}
	}
	return false, nil
}

// AgentCA loads the agent CA from Config.Dir, creating its key (mode 0600)
// and self-signed certificate (P-256, 10 years) on first use. A directory
// holding only one of the two files is an error.
func (c *CA) AgentCA() (*AgentCA, error) {
	agentCAMu.Lock()
	defer agentCAMu.Unlock()
	dir := c.cfg.Dir
	_, kerr := os.Lstat(filepath.Join(dir, AgentCAKeyFile))
	_, cerr := os.Lstat(filepath.Join(dir, AgentCACertFile))
	switch {
	case kerr == nil && cerr == nil:
		return loadAgentCA(dir, c.cfg.Now)
	case errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist):
		return createAgentCA(dir, c.cfg.Organization, c.cfg.Now)
	case kerr != nil && !errors.Is(kerr, fs.ErrNotExist):
		return nil, fmt.Errorf("ca: checking %s: %w", AgentCAKeyFile, kerr)
	case cerr != nil && !errors.Is(cerr, fs.ErrNotExist):
		return nil, fmt.Errorf("ca: checking %s: %w", AgentCACertFile, cerr)
	default:
		return nil, fmt.Errorf("ca: incomplete agent CA in %s: %s and %s must both exist or both be absent", dir, AgentCAKeyFile, AgentCACertFile)
	}
}

func loadAgentCA(dir string, now func() time.Time) (*AgentCA, error) {
	key, err := readKey(dir, AgentCAKeyFile)
	if err != nil {
		return nil, err
	}
	cert, certPEM, err := readCert(dir, AgentCACertFile)
	if err != nil {
		return nil, err
	}
	if err := checkKeyMatches(key, cert, AgentCAKeyFile, AgentCACertFile); err != nil {
		return nil, err
	}
	if !cert.IsCA || cert.CheckSignatureFrom(cert) != nil {
		return nil, fmt.Errorf("ca: loading agent CA: %s is not a self-signed CA certificate", AgentCACertFile)
	}
	return &AgentCA{cert: cert, certPEM: certPEM, key: key, now: now}, nil
}

func createAgentCA(dir, org string, now func() time.Time) (*AgentCA, error) {
	key, keyPEM, err := GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("ca: creating agent CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("ca: creating agent CA: %w", err)
	}
	var id [2]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("ca: creating agent CA: %w", err)
	}
	notBefore := now().UTC().Truncate(time.Second).Add(-backdate)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{org}, CommonName: "dcv Agent mTLS CA " + hex.EncodeToString(id[:])},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(agentCAValidity - time.Second),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}
	der, cert, err := signCert("agent CA", tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	// The key goes first: a crash between the two writes leaves a key
	// without certificate, which AgentCA reports instead of replacing.
	certPEM := pemCert(der)
	if err := writeAll(dir, newFile{AgentCAKeyFile, keyPEM, 0o600}, newFile{AgentCACertFile, certPEM, 0o644}); err != nil {
		return nil, err
	}
	return &AgentCA{cert: cert, certPEM: certPEM, key: key, now: now}, nil
}

// CertPEM returns the agent CA's certificate, PEM-encoded: the trust anchor
// both sides of the mutual TLS verify the other against. The caller must not
// modify the slice.
func (a *AgentCA) CertPEM() []byte { return a.certPEM }

// Pool returns a new pool holding only the agent CA certificate.
func (a *AgentCA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// AgentCertRequest is what to certify for the mutual TLS.
type AgentCertRequest struct {
	// Name is the perspective's name (see ValidAgentName); the certificate
	// carries it as the URI AgentURI(Name) and as its subject common name.
	// Ignored when Primary is set.
	Name string
	// Hosts are the DNS names or IP addresses the agent is reached at (the
	// host of its URL); they go into subjectAltName so that the primary can
	// verify the agent's server certificate. Ignored when Primary is set.
	Hosts []string
	// Primary requests the primary's client certificate instead: URI
	// RolePrimaryURI, extKeyUsage clientAuth only, no host.
	Primary bool
	// PublicKey is the key to certify: ECDSA P-256.
	PublicKey crypto.PublicKey
	// Validity; if zero, DefaultAgentValidity. At most MaxAgentValidity.
	Validity time.Duration
}

// Issue signs a mutual-TLS certificate with the agent CA and returns it
// DER-encoded. An agent's certificate has extKeyUsage serverAuth and
// clientAuth, keyUsage digitalSignature, and subjectAltName = its hosts and
// AgentURI(Name); the primary's has clientAuth and RolePrimaryURI. These are
// not Baseline Requirements subscriber certificates and are not linted.
func (a *AgentCA) Issue(req AgentCertRequest) ([]byte, error) {
	pub, ok := req.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ca: agent certificate: want an ECDSA P-256 public key, have %T", req.PublicKey)
	}
	validity := req.Validity
	switch {
	case validity == 0:
		validity = DefaultAgentValidity
	case validity < time.Minute || validity > MaxAgentValidity:
		return nil, fmt.Errorf("ca: agent certificate: validity %s outside [1m, %s]", validity, MaxAgentValidity)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("ca: agent certificate: %w", err)
	}
	notBefore := a.now().UTC().Truncate(time.Second).Add(-backdate)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity - time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}
	var uri string
	if req.Primary {
		uri = RolePrimaryURI
		tmpl.Subject = pkix.Name{CommonName: "dcv primary"}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		if !ValidAgentName(req.Name) {
			return nil, fmt.Errorf("ca: agent certificate: name %q is not 1-63 lowercase letters, digits and inner hyphens", req.Name)
		}
		if len(req.Hosts) == 0 {
			return nil, errors.New("ca: agent certificate: no host")
		}
		uri = AgentURI(req.Name)
		tmpl.Subject = pkix.Name{CommonName: req.Name}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		for _, h := range req.Hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else if h != "" {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("ca: agent certificate: %w", err)
	}
	tmpl.URIs = []*url.URL{u}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("ca: agent certificate: signing: %w", err)
	}
	return der, nil
}
