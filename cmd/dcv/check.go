package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/validation"
)

// maxShown bounds how much of an observed value (a TXT string, a file
// body) the report prints, so a hostile record cannot flood the terminal.
const maxShown = 80

type checkFlags struct {
	method string
	value  string
	json   bool
	validationFlags
}

func newCheckCmd() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check <domain>",
		Short: "Diagnose a domain's validation without a server or an order (pre-flight check)",
		Long: `Check one domain as dcv would validate it, locally: no server, no database,
and from this machine alone (the CA's remote perspectives are not asked).
On a terminal it shows its steps as they happen (every DNS lookup, the
nameservers of the zone), then a report: the resolution path, each
authoritative nameserver's answer and SOA serial, DNSSEC, the CAA records
looked at, the file fetch, and the findings with their fixes.

Without --value it diagnoses what can be: whether the domain resolves, the
nameservers, DNSSEC, CAA and, for the dns method, the TXT values published.
An IP address is checked with --method file, at the address itself.
Exit status 3 when a finding blocks validation; 1 when the check could not
run (the resolver or root servers it was given, or the network, failed:
no verdict on the domain); --json prints the result (the same shape as
POST /api/v1/checks) for scripts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runCheck(ctx, f, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.method, "method", "dns", "validation method: dns (TXT record at _dnsauth.<domain>) or file (/.well-known/pki-validation/fileauth.txt)")
	fs.StringVar(&f.value, "value", "", "the value expected in the TXT record or the file; without it nothing is compared")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON")
	f.validationFlags.register(cmd)
	f.validationFlags.registerNames(cmd)
	return cmd
}

func runCheck(ctx context.Context, f checkFlags, domain string, out, errOut io.Writer) error {
	res, err := f.dnsResolver()
	if err != nil {
		return exitError{code: exitUsage, msg: err.Error()}
	}
	p := &progress{w: out, live: !f.json && isTerminal(out), start: time.Now()}
	if p.live {
		res = p.wrap(res)
		fmt.Fprintf(out, "checking %s (method %s)…\n", domain, f.method)
	}
	v, err := f.validatorWith(res)
	if err != nil {
		return exitError{code: exitUsage, msg: err.Error()}
	}
	runner, err := perspective.New(v)
	if err != nil {
		return err
	}
	result, err := order.Preflight(ctx, runner, f.names(), order.PreflightRequest{Domain: domain, Method: f.method, Value: f.value}, time.Now())
	var oe *order.Error
	if errors.As(err, &oe) {
		msg := oe.Message
		if _, ierr := (ident.Policy{InternalNames: true}).Normalize(domain); ierr == nil && !f.internalNames {
			// dcv check is the operator's tool too: say how an internal
			// CA takes the name.
			msg += " (an internal CA checks it with --allow-internal-names)"
		}
		return exitError{code: exitUsage, msg: msg}
	}
	if err != nil {
		return err
	}
	if f.caaIdentity == defaultCAAIdentity && slices.ContainsFunc(result.Findings, func(fd diagnose.Finding) bool { return strings.HasPrefix(string(fd.Code), "CAA_") }) {
		// A CAA finding judged for dcv.invalid, which no record names,
		// would ask to name it: said, not an error (the domain's other
		// findings stand).
		fmt.Fprintln(errOut, "dcv check: note: the CAA records were checked for the default --caa-identity "+defaultCAAIdentity+", which no CAA record names: pass the issuer domain name of the CA you will order from (--caa-identity)")
	}
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(result); err != nil {
			return err
		}
	} else {
		if p.live {
			fmt.Fprintln(out)
		}
		printPreflight(out, result)
	}
	if result.Blocked() {
		if result.NoVerdict {
			// Nothing was learnt of the domain: the resolution this
			// machine was given failed, which is no verdict on it.
			return exitError{code: exitFailure, msg: "check: the domain could not be observed from this machine (its resolver or root servers, or its network, failed): no verdict on the domain"}
		}
		return exitError{code: exitBlocked}
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal), where
// steps are worth showing as they happen.
func isTerminal(w io.Writer) bool {
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress prints each DNS step as it completes. Lookups run in parallel:
// lines are written whole, under a lock.
type progress struct {
	w     io.Writer
	live  bool
	start time.Time
	mu    sync.Mutex
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "  [%5.2fs] "+format+"\n", append([]any{time.Since(p.start).Seconds()}, args...)...)
}

// authoritativeViewer is the optional capability of the iterative resolver
// that validation uses; the wrapper keeps it when the resolver has it.
type authoritativeViewer interface {
	Authoritative(ctx context.Context, name string, qtype uint16) (*dnsclient.ZoneView, error)
}

// wrap returns res reporting every lookup to p.
func (p *progress) wrap(res dnsclient.Resolver) dnsclient.Resolver {
	r := &reporting{Resolver: res, p: p}
	if av, ok := res.(authoritativeViewer); ok {
		return &reportingAuth{reporting: r, av: av}
	}
	return r
}

type reporting struct {
	dnsclient.Resolver
	p *progress
}

func (r *reporting) Lookup(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, error) {
	resp, err := r.Resolver.Lookup(ctx, name, qtype)
	typ := dnsTypeString(qtype)
	var de *dnsclient.Error
	switch {
	case errors.As(err, &de):
		r.p.printf("%s %s: %s", typ, strings.TrimSuffix(name, "."), clip(de.Error()))
	case err != nil:
		r.p.printf("%s %s: %s", typ, strings.TrimSuffix(name, "."), clip(err.Error()))
	case resp != nil:
		r.p.printf("%s %s: %s", typ, strings.TrimSuffix(name, "."), responseLine(resp))
	}
	return resp, err
}

type reportingAuth struct {
	*reporting
	av authoritativeViewer
}

func (r *reportingAuth) Authoritative(ctx context.Context, name string, qtype uint16) (*dnsclient.ZoneView, error) {
	view, err := r.av.Authoritative(ctx, name, qtype)
	if err != nil {
		r.p.printf("nameservers of %s: %s", strings.TrimSuffix(name, "."), clip(err.Error()))
		return view, err
	}
	r.p.printf("asked the %d nameserver addresses of zone %s directly", len(view.Servers), view.Zone)
	return view, nil
}

// responseLine summarises one answer: rcode, values, server, DNSSEC, cost.
func responseLine(r *dnsclient.Response) string {
	var b strings.Builder
	b.WriteString(r.Rcode)
	for _, c := range r.CNAMEs {
		fmt.Fprintf(&b, " → CNAME %s", strings.TrimSuffix(c, "."))
	}
	for i, a := range r.Answer {
		if i == 5 {
			fmt.Fprintf(&b, " (+%d more)", len(r.Answer)-i)
			break
		}
		fmt.Fprintf(&b, " %s", clip(quoteData(a)))
	}
	if r.Server != "" {
		fmt.Fprintf(&b, " from %s", r.Server)
	}
	if r.Cached {
		fmt.Fprintf(&b, " (cached, %ds left)", r.TTL)
	} else if n := len(r.Trace); n == 1 {
		b.WriteString(" (1 query)")
	} else if n > 1 {
		fmt.Fprintf(&b, " (%d queries)", n)
	}
	if r.DNSSEC != "" {
		fmt.Fprintf(&b, " DNSSEC %s", r.DNSSEC)
		if r.DNSSECReason != "" && r.DNSSEC != "secure" {
			fmt.Fprintf(&b, " (%s)", clip(r.DNSSECReason))
		}
	}
	return b.String()
}

func quoteData(a dnsclient.Record) string {
	if a.Type == "TXT" {
		return fmt.Sprintf("%q", a.Data)
	}
	return a.Type + " " + a.Data
}

// clip makes an observed string safe and short for a terminal line: a
// control character (C0, DEL, C1) or a bidirectional-text control, which
// could rewrite or reorder what the terminal shows, is written as its Go
// escape (\r, \x07, \u202e), so the applicant sees exactly what was
// served.
func clip(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unsafeForTerminal(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	s = b.String()
	if r := []rune(s); len(r) > maxShown {
		return string(r[:maxShown]) + "…"
	}
	return s
}

// unsafeForTerminal reports whether r is a control character or a
// bidirectional-text control (Unicode UAX #9 explicit formatting).
func unsafeForTerminal(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func dnsTypeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

// printPreflight prints the report of a pre-flight check: the evidence
// step by step, then the findings.
func printPreflight(w io.Writer, r *order.PreflightResult) {
	fmt.Fprintf(w, "dcv check %s (method %s)", r.Domain, r.Method)
	if r.Value != "" {
		fmt.Fprintf(w, ", expecting %q", clip(r.Value))
	}
	fmt.Fprintln(w)
	for _, o := range r.Evidence {
		printObservation(w, &o)
	}
	fmt.Fprintln(w, "\nfindings:")
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  %-7s %s: %s\n", strings.ToUpper(string(f.Severity)), f.Code, f.Message)
		if f.Code == diagnose.CodeResolverUnavailable {
			// Run locally, "the certificate authority's side" is this
			// machine's: the resolver or root hints dcv check was given.
			fmt.Fprintf(w, "          here: dcv check ran on this machine, so that is its DNS resolution: the resolver (--resolver) or root servers (--root-hints) it used, or its network\n")
		} else if f.Fix != "" {
			fmt.Fprintf(w, "          fix: %s\n", f.Fix)
		}
		if f.ETA != nil {
			fmt.Fprintf(w, "          expected by: %s\n", f.ETA.UTC().Format(time.RFC3339))
		}
	}
	if r.NoVerdict {
		fmt.Fprintln(w, "\nresult: NO VERDICT (this machine's DNS resolution or network failed: nothing was learnt of the domain)")
	} else if r.Blocked() {
		fmt.Fprintln(w, "\nresult: NOT VALIDATED (a finding blocks)")
	} else if r.Value != "" {
		fmt.Fprintln(w, "\nresult: validated from here")
	} else {
		fmt.Fprintln(w, "\nresult: nothing blocks from here (no value compared)")
	}
	if !r.Blocked() {
		// Seen from this machine only: what the CA's remote perspectives
		// see (another DNS view, a firewall) may differ.
		fmt.Fprintln(w, "note: checked from this machine alone. The CA also asks its remote perspectives, which must agree: a check on the server (dcv order check, or POST /api/v1/checks) shows what they see.")
	}
}

func printObservation(w io.Writer, o *validation.Observation) {
	if o.Unavailable != "" {
		fmt.Fprintf(w, "\nperspective %s: unavailable (%s)\n", o.Perspective, o.Unavailable)
		return
	}
	if n := o.DNS; n != nil {
		fmt.Fprintf(w, "\nresolution of %s TXT:\n", n.Host)
		printLookup(w, &n.Record)
		if v := n.Authoritative; v != nil {
			fmt.Fprintf(w, "\nauthoritative nameservers of %s:\n", v.Zone)
			for _, sv := range v.Servers {
				fmt.Fprintf(w, "  %-28s %-22s %s\n", strings.TrimSuffix(sv.NS, "."), sv.Address, serverLine(sv))
			}
		} else if e := n.AuthoritativeErr; e != nil {
			fmt.Fprintf(w, "\nauthoritative nameservers: not found (%s)\n", clip(e.Error()))
		} else {
			fmt.Fprintln(w, "\nauthoritative nameservers: not asked (forward mode: --resolver)")
		}
		if n.Domain != nil {
			fmt.Fprintf(w, "\n%s A:\n", strings.TrimSuffix(n.Domain.Name, "."))
			printLookup(w, n.Domain)
		}
		for _, p := range n.Probes {
			if len(p.Lookup.TXTValues()) > 0 {
				fmt.Fprintf(w, "  also looked at %s (%s): %s\n", strings.TrimSuffix(p.Lookup.Name, "."), p.Kind, lookupLine(&p.Lookup))
			}
		}
		if n.Wildcard != nil && len(n.Wildcard.TXTValues()) > 0 {
			fmt.Fprintf(w, "  wildcard TXT in the zone: %s\n", lookupLine(n.Wildcard))
		}
	}
	if fo := o.File; fo != nil {
		fmt.Fprintf(w, "\nfile %s:\n", fo.URL)
		for _, t := range fo.Fetches {
			if t == nil {
				continue
			}
			if t.ResolveError != nil {
				fmt.Fprintf(w, "  %s: %s\n", t.URL, clip(string(t.ResolveError.Kind)))
			}
			for _, a := range t.Attempts {
				switch {
				case a.Err != nil:
					fmt.Fprintf(w, "  %s via %s: %s\n", a.URL, a.Address, clip(string(a.Err.Kind)))
				default:
					fmt.Fprintf(w, "  %s via %s: %d, \"%s\"\n", a.URL, a.Address, a.Status, strings.ReplaceAll(clip(string(a.Body)), `"`, `\"`))
				}
			}
		}
	}
	if c := o.CAA; c != nil {
		fmt.Fprintf(w, "\nCAA for %s:\n", c.Identity)
		for _, s := range c.Trace {
			switch {
			case s.Err != nil:
				fmt.Fprintf(w, "  %-28s %s\n", s.Name, clip(s.Err.Error()))
			case s.Response != nil:
				fmt.Fprintf(w, "  %-28s %s\n", s.Name, responseLine(s.Response))
			}
			// The zone's servers that failed at this name while the
			// lookup got an answer elsewhere.
			for _, f := range c.FailingServers {
				if f.Name == s.Name {
					fmt.Fprintf(w, "  %-28s %s at %s gave no answer (%s); another nameserver answered\n", "", f.NS, f.Address, clip(f.Reason))
				}
			}
		}
		if c.Permitted {
			fmt.Fprintln(w, "  → issuance permitted")
		} else {
			fmt.Fprintf(w, "  → issuance not permitted (%s)\n", c.Reason)
		}
	}
}

func printLookup(w io.Writer, l *validation.Lookup) {
	var trace []dnsclient.TraceStep
	switch {
	case l.Err != nil:
		trace = l.Err.Trace
	case l.Response != nil:
		trace = l.Response.Trace
	}
	for _, s := range trace {
		line := fmt.Sprintf("  %-12s @%-22s %s %s", s.Zone, s.Server, strings.TrimSuffix(s.Name, "."), s.Type)
		switch {
		case s.Error != "":
			line += " → " + clip(s.Error)
		case s.Referral != "":
			line += " → referral to " + s.Referral
		default:
			line += " → " + s.Rcode
		}
		if s.TCP {
			line += " (tcp)"
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "  answer: %s\n", lookupLine(l))
}

func lookupLine(l *validation.Lookup) string {
	if l.Err != nil {
		return clip(l.Err.Error())
	}
	if l.Response == nil {
		return "none"
	}
	return responseLine(l.Response)
}

func serverLine(sv dnsclient.ServerView) string {
	var parts []string
	if sv.SOAErr == nil && sv.SOASerial != 0 {
		parts = append(parts, fmt.Sprintf("serial %d", sv.SOASerial))
	}
	if sv.Lame {
		parts = append(parts, "LAME ("+sv.LameReason+")")
	}
	switch {
	case sv.Answer != nil:
		parts = append(parts, responseLine(sv.Answer))
	case sv.AnswerErr != nil:
		parts = append(parts, clip(sv.AnswerErr.Error()))
	}
	return strings.Join(parts, "  ")
}
