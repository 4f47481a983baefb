package order_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
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

// TestFinalizeRacesTheSweep: two finalize requests of one order pass their
// checks together; the one that loses the reservation returns while the
// winner still signs. The issuance sweep must leave the order to the
// winner all the same (it signed it a second time when the loser's end
// unmarked the order), whether the winner's signing then succeeds (one
// certificate) or fails (none, the order ready again) (review).
func TestFinalizeRacesTheSweep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		failSign bool
	}{
		{"the winner signs", false},
		{"the winner's signing fails", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := fmt.Sprintf("twice%d.applicant.com", i)
			ctx := context.Background()
			g := &gateIssuer{
				prepGate: map[int32]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})},
				prepIn:   map[int32]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})},
				signGate: map[int32]chan struct{}{1: make(chan struct{})},
				signIn:   map[int32]chan struct{}{1: make(chan struct{})},
				failSign: map[int32]bool{1: tt.failSign},
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
			case <-res: // the other lost the reservation, and returned
			case <-time.After(10 * time.Second):
				t.Fatal("the losing finalize did not return")
			}
			// The sweep comes now, while the winner still signs.
			ierr := w.Service.Issue(ctx, ov.ID)
			close(g.signGate[1])
			werr := <-res
			if ierr == nil || !strings.Contains(ierr.Error(), "its finalize is under way") {
				t.Errorf("the sweep's Issue during the winning finalize's signing = %v, want it left to the finalize", ierr)
			}
			cur, err := a.Order(ctx, acct, ov.ID)
			if err != nil {
				t.Fatal(err)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			switch {
			case tt.failSign && (werr == nil || cur.Status != order.ACMEOrderReady || len(g.signed) != 0):
				t.Errorf("winner %v, order %s, %d certificates signed; want its failure, the order ready again, none", werr, cur.Status, len(g.signed))
			case !tt.failSign && (werr != nil || cur.Status != order.ACMEOrderValid || len(g.signed) != 1):
				same := len(g.signed) == 2 && bytes.Equal(g.signed[0], g.signed[1])
				t.Errorf("winner %v, order %s, %d certificates signed (identical: %v); want one, valid", werr, cur.Status, len(g.signed), same)
			}
		})
	}
}
