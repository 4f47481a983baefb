package order_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/order/ordertest"
	"github.com/dcvhq/dcv/internal/validation"
)

// TestFileValidationOfAnIPAddress: an order through the API for a name and
// an IP address, the address validated by file at the address itself
// (CA/B BR 3.2.2.5.1: http://<address>/.well-known/pki-validation/), is
// told where to put the file, diagnosed in an address's terms while the
// file is missing, approved once it is there, and issued with the address
// as an iPAddress subjectAltName after the name.
func TestFileValidationOfAnIPAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := ordertest.New(t, ordertest.Options{Names: ident.Policy{IPs: ident.Targets{Loopback: true}}})
	acct := s.NewAccount(t, "applicant")
	ip := s.Web.IP.String()
	const name = "web.applicant.com"
	o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{name, ip}, Method: "dns", Methods: map[string]string{ip: "file"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Domains) != 2 || o.Domains[1].Domain != ip || o.Domains[1].Method != "file" || o.Domains[1].Type != "ip" || o.Domains[0].Type != "dns" {
		t.Fatalf("domains %+v", o.Domains)
	}
	in := o.Domains[1].Instructions
	if want := "http://" + ip + validation.FilePath; in.URL != want {
		t.Fatalf("instructions URL %s, want %s", in.URL, want)
	}
	s.DNS.Add(`_dnsauth.` + name + `. TXT "` + o.Domains[0].Instructions.Value + `"`)

	cr, err := s.Service.Check(ctx, acct, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := cr.Domains[1]
	if d.Type != "ip" || cr.Domains[0].Type != "dns" {
		t.Errorf("check domain types %q, %q; want dns, ip", cr.Domains[0].Type, d.Type)
	}
	if d.Status != order.StatusPending || len(d.Findings) == 0 || d.Findings[0].Code != diagnose.CodeFileNotFound {
		t.Fatalf("file missing: %+v", d)
	}
	for _, f := range d.Findings {
		if strings.Contains(f.Message+f.Fix, "A/AAAA") || strings.Contains(f.Message+f.Fix, "www."+ip) {
			t.Errorf("finding speaks of DNS for an address: %+v", f)
		}
	}

	s.Web.SetFile(ip, validation.FilePath, 200, in.Content)
	s.Clock.Add(order.DefaultCheckInterval)
	if cr, err = s.Service.Check(ctx, acct, o.ID); err != nil || cr.Status != order.StatusApproved {
		t.Fatalf("file in place: %+v, %v", cr, err)
	}
	if err := s.Service.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	c, err := s.Service.Certificate(ctx, acct, o.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode([]byte(c.Certificate))
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != name || len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != ip {
		t.Fatalf("leaf names %v, addresses %v", leaf.DNSNames, leaf.IPAddresses)
	}
}

// The client's own check of an order before sending it leaves private and
// loopback addresses to the server, as it does internal names, and still
// refuses what no server takes.
func TestCheckCreateRequestAddresses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		req  order.CreateRequest
		code string
	}{
		{order.CreateRequest{Domains: []string{"10.1.2.3"}, Method: "file"}, ""},
		{order.CreateRequest{Domains: []string{"127.0.0.1"}, Method: "file"}, ""},
		{order.CreateRequest{Domains: []string{"10.1.2.3"}, Method: "dns"}, "IP_ADDRESS"},
		{order.CreateRequest{Domains: []string{"169.254.169.254"}, Method: "file"}, "RESERVED_IP"},
	} {
		err := order.CheckCreateRequest(tc.req)
		var oe *order.Error
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%v: %v", tc.req.Domains, err)
		case tc.code != "" && (!errors.As(err, &oe) || oe.Code != tc.code):
			t.Errorf("%v %s: %v, want %s", tc.req.Domains, tc.req.Method, err, tc.code)
		}
	}
}

// TestIPMaxValidity: with Config.IPMaxValidity, a certificate naming an IP
// address is valid that long at most, whatever the CA's validity; one
// naming names only is not bound by it.
func TestIPMaxValidity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const week = 7 * 24 * time.Hour
	s := ordertest.New(t, ordertest.Options{Names: ident.Policy{IPs: ident.Targets{Loopback: true}}, IPMaxValidity: week})
	acct := s.NewAccount(t, "applicant")
	ip := s.Web.IP.String()
	o, err := s.Service.Create(ctx, acct, order.CreateRequest{Domains: []string{ip}, Method: "file"})
	if err != nil {
		t.Fatal(err)
	}
	s.Web.SetFile(ip, validation.FilePath, 200, o.Domains[0].Instructions.Content)
	if cr, err := s.Service.Check(ctx, acct, o.ID); err != nil || cr.Status != order.StatusApproved {
		t.Fatalf("check: %+v, %v", cr, err)
	}
	if err := s.Service.Issue(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	leafOf := func(id string) *x509.Certificate {
		c, err := s.Service.Certificate(ctx, acct, id, true)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode([]byte(c.Certificate))
		leaf, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return leaf
	}
	if got := leafOf(o.ID).NotAfter.Sub(leafOf(o.ID).NotBefore) + time.Second; got != week {
		t.Errorf("address certificate valid %v, want %v", got, week)
	}
	named := s.IssuedOrder(t, acct, "long.applicant.com", "")
	if got := leafOf(named.ID).NotAfter.Sub(leafOf(named.ID).NotBefore) + time.Second; got <= week {
		t.Errorf("name certificate valid %v, want the CA's longer validity", got)
	}
}
