package order_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
)

// gateIssuer holds chosen Prepare and Sign calls (numbered from 1).
type gateIssuer struct {
	order.Issuer
	prepN, signN     atomic.Int32
	prepGate, prepIn map[int32]chan struct{}
	signGate, signIn map[int32]chan struct{}
	failSign         map[int32]bool
	mu               sync.Mutex
	signed           [][]byte
}

func (g *gateIssuer) Prepare(req ca.IssueRequest) (*ca.Prepared, error) {
	n := g.prepN.Add(1)
	if c, ok := g.prepIn[n]; ok {
		close(c)
	}
	if c, ok := g.prepGate[n]; ok {
		<-c
	}
	return g.Issuer.Prepare(req)
}

func (g *gateIssuer) Sign(p *ca.Prepared, req ca.IssueRequest) (*ca.Issued, error) {
	n := g.signN.Add(1)
	if c, ok := g.signIn[n]; ok {
		close(c)
	}
	if c, ok := g.signGate[n]; ok {
		<-c
	}
	if g.failSign[n] {
		return nil, errors.New("hsm: transient failure")
	}
	iss, err := g.Issuer.Sign(p, req)
	if err == nil {
		g.mu.Lock()
		g.signed = append(g.signed, []byte(iss.ChainPEM))
		g.mu.Unlock()
	}
	return iss, err
}

// TestReviewConcurrentFinalizeClearsMarker: two finalize requests of one
// order pass their checks together; the one that loses the reservation
// returns (orderNotReady) and its deferred finalizing.Delete removes the
// entry of the one still signing. The sweep's Issue then signs the order a
// second time.
// TestConcurrentFinalizeKeepsTheSweepAway: a finalize that loses the
// reservation to a concurrent one ends while the winner still signs; the
// issuance sweep must still leave the order to the winner (one signature),
// and not find it unguarded (review).
func TestConcurrentFinalizeKeepsTheSweepAway(t *testing.T) {
	t.Parallel()
	const name = "twice.applicant.com"
	ctx := context.Background()
	g := &gateIssuer{
		prepGate: map[int32]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})},
		prepIn:   map[int32]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})},
		signGate: map[int32]chan struct{}{1: make(chan struct{})},
		signIn:   map[int32]chan struct{}{1: make(chan struct{})},
	}
	w, a, acct, _, ov := validatedACMEOrder(t, name, ordertest.Options{Issuer: func(c *ca.CA) order.Issuer { g.Issuer = c; return g }})
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, k)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 2)
	for range 2 {
		go func() { _, err := a.Finalize(ctx, acct, nil, ov.ID, csr); res <- err }()
	}
	<-g.prepIn[1]
	<-g.prepIn[2] // both finalizes passed every check
	close(g.prepGate[1])
	<-g.signIn[1] // one reserved the order and is signing
	close(g.prepGate[2])
	select {
	case err := <-res: // the other lost the reservation, and returned
		t.Logf("losing finalize: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the losing finalize did not return")
	}
	// The sweep comes now, while the winner still signs.
	ierr := w.Service.Issue(ctx, ov.ID)
	close(g.signGate[1])
	werr := <-res
	t.Logf("sweep Issue: %v; winning finalize: %v", ierr, werr)
	if ierr == nil || !strings.Contains(ierr.Error(), "its finalize is under way") {
		t.Errorf("the sweep's Issue during the winning finalize's signing = %v, want it left to the finalize", ierr)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.signed) != 1 {
		same := len(g.signed) == 2 && bytes.Equal(g.signed[0], g.signed[1])
		t.Errorf("%d signatures for one order (identical bytes: %v), want 1", len(g.signed), same)
	}
}

// TestReviewConcurrentFinalizeThenSignFailure: as above, and the winning
// finalize's own signing then fails: the order was issued meanwhile by the
// sweep (its marker gone), yet the client that finalized is answered an
// internal error, and the order is valid.
// TestFinalizeSignFailureAfterTheSweepIssued: a finalize whose own signing
// fails after the order got its certificate meanwhile answers with that
// certificate, not with an error for an order that is valid (review).
func TestFinalizeSignFailureAfterTheSweepIssued(t *testing.T) {
	t.Parallel()
	const name = "twice2.applicant.com"
	ctx := context.Background()
	g := &gateIssuer{
		prepGate: map[int32]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})},
		prepIn:   map[int32]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})},
		signGate: map[int32]chan struct{}{1: make(chan struct{})},
		signIn:   map[int32]chan struct{}{1: make(chan struct{})},
		failSign: map[int32]bool{1: true},
	}
	w, a, acct, _, ov := validatedACMEOrder(t, name, ordertest.Options{Issuer: func(c *ca.CA) order.Issuer { g.Issuer = c; return g }})
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, k)
	res := make(chan error, 2)
	for range 2 {
		go func() { _, err := a.Finalize(ctx, acct, nil, ov.ID, csr); res <- err }()
	}
	<-g.prepIn[1]
	<-g.prepIn[2]
	close(g.prepGate[1])
	<-g.signIn[1]
	close(g.prepGate[2])
	<-res // the loser
	ierr := w.Service.Issue(ctx, ov.ID)
	close(g.signGate[1])
	werr := <-res
	cur, _ := a.Order(ctx, acct, ov.ID)
	t.Logf("sweep Issue: %v; winning finalize: %v; order now %s", ierr, werr, cur.Status)
	if werr != nil && cur.Status == order.ACMEOrderValid {
		t.Errorf("the finalize answered %v, while the order it finalized is %s with a certificate", werr, cur.Status)
	}
}
