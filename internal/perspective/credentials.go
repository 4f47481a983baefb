package perspective

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
)

// RIRs are the Regional Internet Registry regions a remote perspective may
// be in (BR 3.2.2.9 counts corroborating perspectives per RIR region).
var RIRs = []string{"ARIN", "RIPE", "APNIC", "LACNIC", "AFRINIC"}

// ValidRIR reports whether rir is one of RIRs (exact, upper case).
func ValidRIR(rir string) bool { return slices.Contains(RIRs, rir) }

// Remote is an enrolled remote perspective as the primary knows it.
type Remote struct {
	// Name identifies the perspective (see ca.ValidAgentName).
	Name string
	// URL is the agent's base URL, https://host:port.
	URL string
	// RIR is the perspective's registry region (see RIRs).
	RIR string
	// CertSHA256 is the lowercase hex SHA-256 of the agent's certificate;
	// the primary accepts no other certificate from it, but
	// NextCertSHA256's.
	CertSHA256 string
	// NextCertSHA256, if set, is that of the certificate of the agent's
	// renewed credentials (dcv perspective renew), accepted beside
	// CertSHA256 so that the agent switches to them without downtime.
	NextCertSHA256 string
}

// Credentials is what an agent needs to serve: its key and certificate,
// the agent CA certificate it verifies the primary against, and who it is.
// It is written by Enrol and read by LoadCredentials as a JSON file with
// mode 0600.
type Credentials struct {
	Name string `json:"name"`
	RIR  string `json:"rir"`
	URL  string `json:"url"`
	// KeyPEM is the agent's PKCS#8 private key.
	KeyPEM string `json:"key_pem"`
	// CertPEM is the agent's certificate, signed by the agent CA.
	CertPEM string `json:"cert_pem"`
	// CAPEM is the agent CA certificate: the primary's client certificate
	// must chain to it.
	CAPEM string `json:"ca_pem"`
}

// maxCredentialsSize bounds a credentials file: a P-256 key and two
// certificates take about 2 KiB.
const maxCredentialsSize = 64 << 10

// ParseURL checks an agent URL: https, a host, an optional port, and
// nothing else (no user, path, query or fragment). It returns the URL
// normalised to scheme://host[:port].
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("agent url %q: %w", raw, err)
	}
	if u.Scheme != "https" || u.Hostname() == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("agent url %q: want https://host[:port] and nothing more", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("agent url %q: port %s is not between 1 and 65535", raw, p)
		}
	}
	return &url.URL{Scheme: "https", Host: strings.ToLower(u.Host)}, nil
}

// CheckEnrolment checks the name, URL and RIR of a perspective to enrol,
// as Enrol does, and returns the URL in its canonical form.
func CheckEnrolment(name, rawURL, rir string) (*url.URL, error) {
	if !ca.ValidAgentName(name) {
		return nil, fmt.Errorf("perspective name %q: want 1-63 lowercase letters, digits and inner hyphens", name)
	}
	if !ValidRIR(rir) {
		return nil, fmt.Errorf("rir %q: want one of %s", rir, strings.Join(RIRs, ", "))
	}
	return ParseURL(rawURL)
}

// Enrol creates the credentials of a new remote perspective: a P-256 key
// and a certificate from the agent CA for the host of rawURL, valid for
// ca.DefaultAgentValidity. It returns the credentials to hand to the agent
// and the Remote to store on the primary. It stores and writes nothing.
func Enrol(agentCA *ca.AgentCA, name, rawURL, rir string) (*Credentials, Remote, error) {
	u, err := CheckEnrolment(name, rawURL, rir)
	if err != nil {
		return nil, Remote{}, err
	}
	key, keyPEM, err := ca.GenerateKey()
	if err != nil {
		return nil, Remote{}, fmt.Errorf("enrolling %s: %w", name, err)
	}
	der, err := agentCA.Issue(ca.AgentCertRequest{Name: name, Hosts: []string{u.Hostname()}, PublicKey: key.Public()})
	if err != nil {
		return nil, Remote{}, fmt.Errorf("enrolling %s: %w", name, err)
	}
	sum := sha256.Sum256(der)
	c := &Credentials{
		Name:    name,
		RIR:     rir,
		URL:     u.String(),
		KeyPEM:  string(keyPEM),
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		CAPEM:   string(agentCA.CertPEM()),
	}
	return c, Remote{Name: name, URL: u.String(), RIR: rir, CertSHA256: hex.EncodeToString(sum[:])}, nil
}

// WriteFile writes c as JSON to path with mode 0600. It refuses to replace
// an existing file.
func (c *Credentials) WriteFile(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding credentials: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing credentials: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing credentials %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing credentials %s: %w", path, err)
	}
	return nil
}

// LoadCredentials reads and checks a credentials file: strict JSON, a
// valid name and RIR, a key matching the certificate, and a certificate
// that chains to the CA certificate. The file must not be readable by group
// or others.
func LoadCredentials(path string) (*Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("reading credentials %s: mode %04o lets group or others read the private key; chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCredentialsSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading credentials %s: %w", path, err)
	}
	if len(b) > maxCredentialsSize {
		return nil, fmt.Errorf("reading credentials %s: larger than %d bytes", path, maxCredentialsSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Credentials
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("reading credentials %s: %w", path, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("reading credentials %s: %w", path, err)
	}
	return &c, nil
}

func (c *Credentials) check() error {
	if !ca.ValidAgentName(c.Name) {
		return fmt.Errorf("invalid name %q", c.Name)
	}
	if !ValidRIR(c.RIR) {
		return fmt.Errorf("invalid rir %q", c.RIR)
	}
	if _, err := c.TLSCertificate(); err != nil {
		return err
	}
	if _, err := c.CAPool(); err != nil {
		return err
	}
	return nil
}

// agentCertWarn is how long before its certificate expires an agent
// starts with a warning.
const agentCertWarn = 30 * 24 * time.Hour

// CheckValidity checks that the agent certificate was issued by the
// credentials' CA and is valid at now: the primary would refuse every
// connection otherwise, and the agent would serve nothing. soon is set
// when it expires within 30 days.
func (c *Credentials) CheckValidity(now time.Time) (notAfter time.Time, soon bool, err error) {
	cert, err := c.TLSCertificate()
	if err != nil {
		return time.Time{}, false, err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return time.Time{}, false, fmt.Errorf("agent certificate: %w", err)
	}
	pool, err := c.CAPool()
	if err != nil {
		return time.Time{}, false, err
	}
	// The chain is checked at the certificate's own start, so that an
	// expired one is told as expired, below, not as unknown.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: leaf.NotBefore, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return time.Time{}, false, fmt.Errorf("agent certificate: not issued by the credentials' CA: %w", err)
	}
	if block, _ := pem.Decode([]byte(c.CAPEM)); block != nil {
		if caCert, err := x509.ParseCertificate(block.Bytes); err == nil && now.After(caCert.NotAfter) {
			return caCert.NotAfter, false, fmt.Errorf("agent CA certificate: expired at %s: the primary's agent CA must be renewed, then the perspective enrolled again", caCert.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	switch {
	case now.Before(leaf.NotBefore):
		return leaf.NotAfter, false, fmt.Errorf("agent certificate: not valid before %s (check this machine's clock)", leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		return leaf.NotAfter, false, fmt.Errorf("agent certificate: expired at %s: renew the perspective's credentials on the primary (dcv perspective renew NAME) and start the agent with them", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return leaf.NotAfter, leaf.NotAfter.Sub(now) < agentCertWarn, nil
}

// TLSCertificate returns the agent's key and certificate for a tls.Config.
func (c *Credentials) TLSCertificate() (tls.Certificate, error) {
	cert, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("agent key and certificate: %w", err)
	}
	return cert, nil
}

// CAPool returns a pool holding the agent CA certificate.
func (c *Credentials) CAPool() (*x509.CertPool, error) {
	block, _ := pem.Decode([]byte(c.CAPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("agent CA certificate: no CERTIFICATE PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("agent CA certificate: %w", err)
	}
	p := x509.NewCertPool()
	p.AddCert(cert)
	return p, nil
}

// CheckRenewal decides whether the credentials of remote may be renewed
// again. A renewal while none is pending is always fine. With one pending,
// the new renewal retires the certificate pinned before it: fine once the
// agent presents the renewed one (it is asked, within timeout); otherwise
// refused, unless force, and then retires says so.
func CheckRenewal(ctx context.Context, id *PrimaryIdentity, remote Remote, timeout time.Duration, force bool) (retires bool, err error) {
	if remote.NextCertSHA256 == "" {
		return false, nil
	}
	h, _, perr := Probe(ctx, id, remote, timeout)
	switch {
	case perr == nil && h.CertSHA256 == remote.NextCertSHA256:
		return false, nil
	case force:
		return true, nil
	case perr != nil:
		return false, fmt.Errorf("the credentials of %s were renewed already, and its agent could not be asked which ones it uses (%v); a second renewal would stop accepting the ones from before: start the agent with the renewed credentials first, or renew again with --force", remote.Name, perr)
	}
	return false, fmt.Errorf("the agent of %s still presents the credentials from before its last renewal, which a second renewal would stop accepting: start it with the renewed credentials first, or renew again with --force", remote.Name)
}
