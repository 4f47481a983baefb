package perspective

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
)

// primaryCertValidity is the life of the primary's client certificate. It
// lives only in memory and is renewed when a third of it is left, so a
// short life costs nothing and limits what a stolen copy is worth.
const primaryCertValidity = 24 * time.Hour

// PrimaryIdentity is the primary's side of the mutual TLS with its agents:
// a client certificate from the agent CA (renewed in memory before it
// expires) and the agent CA as the only trust anchor for agents' server
// certificates. It is safe for concurrent use.
type PrimaryIdentity struct {
	ca  *ca.AgentCA
	now func() time.Time
	// OnAgentCertificate, if set before the identity is used, is told the
	// perspective and the expiry of each agent certificate the primary
	// accepts (a metric, to alert before the agent's credentials need
	// renewing).
	OnAgentCertificate func(perspective string, notAfter time.Time)

	mu   sync.Mutex
	cert *tls.Certificate
}

// NewPrimaryIdentity returns the identity of a primary whose agent CA is
// agentCA. now is the clock (time.Now when nil).
func NewPrimaryIdentity(agentCA *ca.AgentCA, now func() time.Time) *PrimaryIdentity {
	if now == nil {
		now = time.Now
	}
	return &PrimaryIdentity{ca: agentCA, now: now}
}

// clientCertificate returns the current client certificate, issuing a new
// one when none is left or a third of its life remains.
func (p *PrimaryIdentity) clientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.cert != nil && now.Before(p.cert.Leaf.NotAfter.Add(-primaryCertValidity/3)) {
		return p.cert, nil
	}
	key, _, err := ca.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("primary client certificate: %w", err)
	}
	der, err := p.ca.Issue(ca.AgentCertRequest{Primary: true, PublicKey: key.Public(), Validity: primaryCertValidity})
	if err != nil {
		return nil, fmt.Errorf("primary client certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("primary client certificate: %w", err)
	}
	p.cert = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return p.cert, nil
}

// pinError is a server certificate that chains to the agent CA but is not
// the one enrolled for the perspective.
type pinError struct{ name, got string }

func (e *pinError) Error() string {
	return fmt.Sprintf("agent %s presented certificate sha256 %s, which the primary does not accept (not the enrolled one, nor a renewed one; a renewal since retired it, or the agent runs another perspective's credentials): start the agent with its latest credentials file (dcv perspective renew writes one)", e.name, e.got)
}

// tlsConfig returns the client TLS configuration for talking to remote:
// TLS 1.3, the agent CA as the only root, the enrolled certificate pinned,
// and the primary's client certificate.
func (p *PrimaryIdentity) tlsConfig(remote Remote, serverName string) *tls.Config {
	pin, _ := hex.DecodeString(remote.CertSHA256)
	next, _ := hex.DecodeString(remote.NextCertSHA256)
	roots := p.ca.Pool()
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		RootCAs:              roots,
		ServerName:           serverName,
		GetClientCertificate: p.clientCertificate,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("agent %s presented no certificate", remote.Name)
			}
			leaf := cs.PeerCertificates[0]
			sum := sha256.Sum256(leaf.Raw)
			if !bytes.Equal(sum[:], pin) && (len(next) == 0 || !bytes.Equal(sum[:], next)) {
				return &pinError{name: remote.Name, got: hex.EncodeToString(sum[:])}
			}
			if !slices.ContainsFunc(leaf.URIs, func(u *url.URL) bool { return u.String() == ca.AgentURI(remote.Name) }) {
				return fmt.Errorf("agent certificate does not name perspective %s", remote.Name)
			}
			if p.OnAgentCertificate != nil {
				p.OnAgentCertificate(remote.Name, leaf.NotAfter)
			}
			return nil
		},
	}
}
