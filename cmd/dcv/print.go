package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dcvhq/dcv/client"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/order"
)

// orderMethod is how the order's domains are validated: their one method,
// or each method joined with "+" when they differ (a per-domain override);
// the order's own when it has no domain.
func orderMethod(o *client.Order) string {
	var ms []string
	for _, d := range o.Domains {
		if d.Method != "" && !slices.Contains(ms, d.Method) {
			ms = append(ms, d.Method)
		}
	}
	if len(ms) == 0 {
		return o.Method
	}
	return strings.Join(ms, "+")
}

func printOrder(w io.Writer, o *client.Order) {
	fmt.Fprintf(w, "order %s  status %s  method %s\n", o.ID, o.Status, orderMethod(o))
	fmt.Fprintf(w, "created %s, values valid until %s\n", o.CreatedAt.Format(time.RFC3339), o.ExpiresAt.Format(time.RFC3339))
	if o.Error != "" {
		fmt.Fprintf(w, "error: %s\n", o.Error)
	}
	for _, d := range o.Domains {
		name := d.Domain
		if d.Unicode != "" {
			name = d.Unicode + " (" + d.Domain + ")"
		}
		if m := orderMethod(o); strings.Contains(m, "+") {
			fmt.Fprintf(w, "\n%s  [%s, %s]\n", name, d.Status, d.Method)
		} else {
			fmt.Fprintf(w, "\n%s  [%s]\n", name, d.Status)
		}
		in := d.Instructions
		dnsVerb, fileVerb := "publish a DNS record:", "serve this file:"
		if d.Status != "pending" {
			dnsVerb, fileVerb = "DNS record:", "file:"
		}
		switch {
		case d.Method == "acme":
			fmt.Fprintf(w, "  %s\n", acmeChallengeLine(d.Challenge))
		case in.Type != "":
			fmt.Fprintf(w, "  %-21s  %s  %s  %q\n", dnsVerb, in.Host, in.Type, in.Value)
		default:
			fmt.Fprintf(w, "  %-16s  %s\n  with content:     %s\n", fileVerb, in.URL, in.Content)
		}
		printFindings(w, d.Findings)
		printMatrix(w, d.Matrix)
	}
	switch {
	case o.Certificate != "":
		fmt.Fprintf(w, "\ncertificate issued: dcv cert get %s\n", o.ID)
	case o.ReadOnly && o.Method == "acme":
		fmt.Fprintf(w, "\nan ACME order: its ACME client answers the challenges, finalizes it and downloads the certificate\n")
	case o.ReadOnly && o.Status == "issued":
		fmt.Fprintf(w, "\ncertificate issued, to be downloaded by the order's own account\n")
	case o.ReadOnly && o.Status == "pending":
		fmt.Fprintf(w, "\nto be checked by the order's own account\n")
	case o.Status == "pending":
		fmt.Fprintf(w, "\nwhen published: dcv order check %s\n", o.ID)
		if o.NextCheckAt != nil && o.NextCheckAt.After(time.Now()) {
			fmt.Fprintf(w, "next check allowed at %s\n", o.NextCheckAt.Format(time.RFC3339))
		}
		if o.RecheckAt != nil {
			fmt.Fprintf(w, "dcv also checks it on its own from %s (usually within a minute of it), and issues the certificate once every domain passes\n", o.RecheckAt.Format(time.RFC3339))
		}
	}
}

func printCheck(w io.Writer, r *client.CheckResult) {
	fmt.Fprintf(w, "order %s checked at %s: %s\n", r.Order, r.CheckedAt.Format(time.RFC3339), r.Status)
	for _, d := range r.Domains {
		name := d.Domain
		if d.Unicode != "" {
			name = d.Unicode + " (" + d.Domain + ")"
		}
		fmt.Fprintf(w, "\n%s  [%s]\n", name, d.Status)
		printFindings(w, d.Findings)
		printMatrix(w, d.Matrix)
	}
	if r.NextCheck != nil && r.Status == "pending" {
		fmt.Fprintf(w, "\nnext check allowed at %s\n", r.NextCheck.Format(time.RFC3339))
		if r.RecheckAt != nil {
			fmt.Fprintf(w, "dcv checks again on its own from %s (usually within a minute of it), and issues the certificate once every domain passes\n", r.RecheckAt.Format(time.RFC3339))
		}
	}
}

func printFindings(w io.Writer, fs []client.Finding) {
	for _, f := range fs {
		fmt.Fprintf(w, "  %-7s %s: %s\n", strings.ToUpper(string(f.Severity)), f.Code, f.Message)
		if f.Fix != "" {
			fmt.Fprintf(w, "          fix: %s\n", f.Fix)
		}
		if f.ETA != nil {
			fmt.Fprintf(w, "          expected by: %s\n", f.ETA.Format(time.RFC3339))
		}
	}
}

// printMatrix prints which vantage point saw what (CA/B Forum BR 3.2.2.9),
// when there was more than the primary.
func printMatrix(w io.Writer, rows []diagnose.PerspectiveRow) {
	if len(rows) < 2 {
		return
	}
	fmt.Fprintf(w, "  perspectives:\n")
	for _, m := range rows {
		name := m.Perspective
		if m.RIR != "" {
			name += " (" + m.RIR + ")"
		}
		seen := m.Seen
		if m.Detail != "" {
			seen += ": " + m.Detail // an operator's view
		}
		fmt.Fprintf(w, "    %-24s %-11s %-8s %s\n", name, m.Verdict, m.Latency.Round(time.Millisecond), seen)
	}
}

// acmeChallengeLine says how a domain of an ACME order is being
// validated: by which challenge, with what outcome, when.
func acmeChallengeLine(c *order.DomainChallenge) string {
	if c == nil {
		return "no challenge answered yet (the ACME client answers them)"
	}
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return " at " + t.Format(time.RFC3339)
	}
	switch c.Status {
	case "valid":
		return "validated by ACME " + c.Type + at(c.ValidatedAt)
	case "invalid":
		// A failure has no validated time: its validation's start
		// (verification run).
		return "ACME " + c.Type + " failed" + at(cmp.Or(c.ValidatedAt, c.StartedAt)) + " (its client was told why, below)"
	default:
		s := "ACME " + c.Type + " being validated"
		if c.StartedAt != nil {
			s += " since " + c.StartedAt.Format(time.RFC3339)
		}
		return s
	}
}
