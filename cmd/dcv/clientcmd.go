package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcvhq/dcv/client"
	"github.com/dcvhq/dcv/internal/diagnose"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/order"
)

// clientFlags are the flags every client command shares.
type clientFlags struct {
	server string
	apiKey string
	json   bool
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "http://127.0.0.1:8080", "dcv server URL (env DCV_SERVER)")
	cmd.Flags().StringVar(&f.apiKey, "api-key", "", "API key (env DCV_API_KEY)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the API's JSON answer")
}

func (f *clientFlags) client() (*client.Client, error) {
	if f.apiKey == "" {
		return nil, exitError{code: exitUsage, msg: "an API key is required: --api-key or DCV_API_KEY (the admin key is in <data>/admin.key)"}
	}
	c, err := client.New(f.server, f.apiKey)
	if err != nil {
		// A malformed --server (or DCV_SERVER): nothing was sent.
		return nil, usageError(err)
	}
	return c, nil
}

// finish prints an answer: the raw JSON with --json, else the human form.
// API errors print their JSON (with --json) or their message, and exit
// non-zero.
func (f *clientFlags) finish(w io.Writer, raw []byte, err error, human func()) error {
	if err != nil {
		var ae *client.APIError
		if errors.As(err, &ae) {
			if f.json {
				_, _ = w.Write(raw)
				return exitError{code: exitFailure}
			}
			msg := ae.Error()
			for _, fd := range ae.Findings {
				if fd.Fix != "" {
					msg += "\n  fix: " + fd.Fix
				}
			}
			return exitError{code: exitFailure, msg: msg}
		}
		return err
	}
	if f.json {
		_, _ = w.Write(raw)
		return nil
	}
	human()
	return nil
}

func newOrderCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "order", Short: "Create, show, list and check certificate orders"}
	cmd.AddCommand(newOrderCreateCmd(), newOrderShowCmd(), newOrderListCmd(), newOrderCheckCmd(), newOrderCancelCmd())
	return cmd
}

func newOrderCreateCmd() *cobra.Command {
	var cf clientFlags
	var domains []string
	var method, csrFile string
	var perDomain map[string]string
	cmd := &cobra.Command{
		Use:   "create DOMAIN... [--method dns|file] [--domain-method DOMAIN=file] [--csr FILE]",
		Short: "Order a certificate and print what to publish for each domain",
		RunE: func(cmd *cobra.Command, args []string) error {
			// Checked here rather than by Args: --domain may come from
			// DCV_DOMAIN, which is read after the arguments are checked.
			if len(args) == 0 && len(domains) == 0 {
				return exitError{code: exitUsage, msg: fmt.Sprintf("%s: no domain: give at least one, as an argument or with --domain (usage: %s)", cmd.CommandPath(), cmd.UseLine())}
			}
			if err := checkMethods(method, perDomain); err != nil {
				return exitError{code: exitUsage, msg: fmt.Sprintf("%s: %v", cmd.CommandPath(), err)}
			}
			req := client.CreateOrderRequest{Domains: append(append([]string{}, args...), domains...), Method: method, Methods: perDomain}
			if err := order.CheckCreateRequest(req); err != nil {
				// A name the server would refuse, refused before anything
				// is sent, with its code and words (--json: its code).
				return refusedHere(cmd, err)
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			if csrFile != "" {
				csr, err := readCSR(csrFile, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				req.CSR = csr
			}
			o, raw, err := c.CreateOrder(cmd.Context(), req)
			return cf.finish(cmd.OutOrStdout(), raw, err, func() { printOrder(cmd.OutOrStdout(), o) })
		},
	}
	cf.register(cmd)
	cmd.Flags().StringSliceVar(&domains, "domain", nil, "a domain (repeatable; positional arguments work too)")
	cmd.Flags().StringVar(&method, "method", "dns", `validation method: "dns" (TXT record) or "file" (file on the web site)`)
	cmd.Flags().StringToStringVar(&perDomain, "domain-method", nil, "validation method of one domain, overriding --method (DOMAIN=dns|file; repeatable)")
	cmd.Flags().StringVar(&csrFile, "csr", "", "certificate signing request file, PEM (-----BEGIN CERTIFICATE REQUEST-----) or DER; only the request is sent, never a key; without it dcv generates the key")
	return cmd
}

// checkMethods refuses, before anything is sent, a --method or
// --domain-method value that is no validation method, with the server's
// wording.
func checkMethods(method string, perDomain map[string]string) error {
	valid := func(m string) bool { return m == ident.MethodDNS || m == ident.MethodFile }
	if !valid(method) {
		return fmt.Errorf("--method %q is not a validation method: use \"dns\" or \"file\"", method)
	}
	for _, d := range slices.Sorted(maps.Keys(perDomain)) {
		if m := perDomain[d]; !valid(m) {
			return fmt.Errorf("--domain-method %s=%s: %q is not a validation method: use \"dns\" or \"file\"", d, m, m)
		}
	}
	return nil
}

func newOrderShowCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "show ORDER_ID",
		Short: "Show an order, its instructions and its last findings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			o, raw, err := c.Order(cmd.Context(), args[0])
			return cf.finish(cmd.OutOrStdout(), raw, err, func() { printOrder(cmd.OutOrStdout(), o) })
		},
	}
	cf.register(cmd)
	return cmd
}

func newOrderCancelCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "cancel ORDER_ID",
		Short: "Cancel a pending order for good: dcv stops checking it, and its values are no longer usable",
		Long: `cancel refuses one of your pending orders for good (an admin: any
account's). dcv stops checking it, its values (TXT records, files) are no
longer usable, and it no longer counts against the most pending orders an
account may have (dcv serve --api-max-pending-orders). An order that is not
pending is refused, saying what to do instead (an issued certificate is
revoked with dcv cert revoke).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			o, raw, err := c.Cancel(cmd.Context(), args[0])
			return cf.finish(cmd.OutOrStdout(), raw, err, func() { printOrder(cmd.OutOrStdout(), o) })
		},
	}
	cf.register(cmd)
	return cmd
}

func newOrderListCmd() *cobra.Command {
	var account string
	cmd := newListCmd(listSpec[client.Order]{
		short: "List your orders (an admin: every account's, or one account's), newest first, a page at a time", what: "orders", path: "dcv order list",
		defaultLimit: order.DefaultListLimit, maxLimit: order.MaxListLimit,
		page: func(ctx context.Context, c *client.Client, cursor string, limit int) ([]client.Order, string, []byte, error) {
			return c.AccountOrdersPage(ctx, account, cursor, limit)
		},
		line: func(o client.Order) string {
			if account == "" {
				return orderLine(o)
			}
			return orderLine(o) + "  account " + o.Account
		},
		hint: func() string {
			if account == "" {
				return ""
			}
			return " --account " + account
		},
	})
	cmd.Flags().StringVar(&account, "account", "", "admin: list every account's orders (all) or one account's (its id), read-only")
	return cmd
}

// orderLine is one order in dcv order list.
func orderLine(o client.Order) string {
	names := make([]string, 0, len(o.Domains))
	for _, d := range o.Domains {
		n := d.Domain
		if d.Unicode != "" {
			// As order show prints it (black-box run: A-labels alone).
			n = d.Unicode + " (" + d.Domain + ")"
		}
		names = append(names, n)
	}
	line := fmt.Sprintf("%s  %-8s  %-4s  %s  %s", o.ID, o.Status, orderMethod(&o), o.CreatedAt.Format(time.RFC3339), strings.Join(names, ","))
	if o.Status == order.StatusApproved && o.Error != "" {
		// Not about to be issued: the CA could not sign it.
		line += "  (issuance failed: the operator has to act)"
	}
	return line
}

// listSpec describes a CLI command listing a paginated API list.
type listSpec[T any] struct {
	short, what, path      string // help text, "orders", "dcv order list"
	defaultLimit, maxLimit int
	page                   func(ctx context.Context, c *client.Client, cursor string, limit int) ([]T, string, []byte, error)
	line                   func(T) string
	// hint, if set, gives the flags the next page's command repeats.
	hint func() string
}

// newListCmd builds "list [--limit N] [--cursor C | --all]" for spec: one
// page (or every page with --all), one line an item, and on stderr the
// command that lists the next page.
func newListCmd[T any](spec listSpec[T]) *cobra.Command {
	var cf clientFlags
	var (
		cursor string
		limit  int
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "list [--limit N] [--cursor C | --all]",
		Short: spec.short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all && cursor != "" {
				return usageError(errors.New("--all and --cursor exclude each other: --all lists every page from the newest"))
			}
			if all && cf.json {
				return usageError(errors.New("--all and --json exclude each other: --json prints one page as the API answers it (follow its next_cursor)"))
			}
			if cmd.Flags().Changed("limit") && (limit < 1 || limit > spec.maxLimit) {
				return usageError(fmt.Errorf("--limit %d is outside [1, %d]", limit, spec.maxLimit))
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			items, next, raw, err := spec.page(cmd.Context(), c, cursor, limit)
			for all && err == nil && next != "" {
				var more []T
				more, next, _, err = spec.page(cmd.Context(), c, next, limit)
				items = append(items, more...)
			}
			return cf.finish(cmd.OutOrStdout(), raw, err, func() {
				w := cmd.OutOrStdout()
				if len(items) == 0 {
					fmt.Fprintf(w, "no %s\n", spec.what)
				}
				for _, it := range items {
					fmt.Fprintln(w, spec.line(it))
				}
				if next != "" {
					more := "--cursor " + next
					if limit != 0 {
						more += fmt.Sprintf(" --limit %d", limit)
					}
					if spec.hint != nil {
						more += spec.hint()
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "more %s: %s %s (or --all)\n", spec.what, spec.path, more)
				}
			})
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&cursor, "cursor", "", "list the "+spec.what+" after this one (the cursor a page ends with)")
	cmd.Flags().IntVar(&limit, "limit", 0, fmt.Sprintf("%s per page (the server's default is %d, at most %d)", spec.what, spec.defaultLimit, spec.maxLimit))
	cmd.Flags().BoolVar(&all, "all", false, "list every page")
	return cmd
}

func newOrderCheckCmd() *cobra.Command {
	var cf clientFlags
	var noEvidence bool
	cmd := &cobra.Command{
		Use:   "check ORDER_ID",
		Short: "View Domain Validation Status: check every pending domain now and explain what fails",
		Long: `Check every pending domain of the order now and print, for each, its status
and the findings that block it, worst first, each with a fix.

Exit status: 0 when every domain is validated (or the certificate is issued),
3 when some domain is not validated yet, 4 when checked too often (retry after
the time given), 5 when the order can no longer be validated (its value
expired, or it was refused: create a new order), 6 when its certificate was
issued but revoked (do not deploy it: create a new order; --json has
revoked_at), 2 on a usage error (nothing sent), 1 on other errors.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			check := c.Check
			if !cf.json || noEvidence {
				// The findings and the matrix are printed, not the raw
				// observations: a 100-domain order's are megabytes.
				check = c.CheckWithoutEvidence
			}
			res, raw, err := check(cmd.Context(), args[0])
			if client.IsCode(err, "CHECK_TOO_FREQUENT") {
				ferr := cf.finish(cmd.OutOrStdout(), raw, err, nil)
				var ee exitError
				if errors.As(ferr, &ee) {
					ee.code = exitThrottled
					return ee
				}
				return ferr
			}
			if ferr := cf.finish(cmd.OutOrStdout(), raw, err, func() { printCheck(cmd.OutOrStdout(), res) }); ferr != nil {
				return ferr
			}
			switch res.Status {
			case order.StatusApproved:
				if issuanceFailed(res) {
					// Validated, but the CA could not sign: not done.
					return exitError{code: exitBlocked}
				}
			case order.StatusIssued:
				if msg, ok := checkRevoked(res); ok {
					// Issued, but not to be deployed: `dcv order check X
					// && deploy` must stop.
					return exitError{code: exitRevoked, msg: msg}
				}
			case order.StatusExpired, order.StatusInvalid:
				// Checking again cannot help: a poller must stop.
				return exitError{code: exitFinal}
			default:
				return exitError{code: exitBlocked}
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&noEvidence, "no-evidence", false, "with --json: leave each domain's raw observations out of the answer (the findings and the matrix stay)")
	return cmd
}

func newCertCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cert", Short: "Download and revoke issued certificates"}
	var cf clientFlags
	var out, keyOut string
	get := &cobra.Command{
		Use:   "get ORDER_ID [--out FILE] [--key-out FILE]",
		Short: "Download an order's certificate chain (and the key dcv generated, at the first download and for 10 minutes after)",
		Long: `Download an order's certificate chain (and the key dcv generated, at the
first download and for 10 minutes after).

Exit status: 0 when the chain (and the key, when one comes) is saved; 6 when
the certificate was revoked: the files are written as for any download, but
it must not be deployed (create a new order; --json has revoked_at); 2 on a
usage error, 1 on other errors (an explicit --key-out that gets no key
included).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "-" {
				out = "" // "-" is standard output, as for most tools
			}
			if keyOut == "-" {
				return usageError(errors.New("--key-out -: the private key is written only to a file of its own (mode 0600), never to standard output; give a file name"))
			}
			if out != "" {
				// Before anything is downloaded: a chain that cannot be
				// saved would lose the key handed out with it.
				if isDir(out) {
					return usageError(fmt.Errorf("--out %s is a directory: give the chain's file name (like %s)", out, filepath.Join(out, "chain.pem")))
				}
				if dir := filepath.Dir(out); !isDir(dir) {
					return fmt.Errorf("--out %s: the directory %s does not exist", out, dir)
				}
			}
			keyPath := keyOut
			if keyPath == "" {
				// Beside the chain: one directory holds both (an order id
				// is one path element; a path given as one is kept).
				keyPath = args[0] + ".key"
				if out != "" && !strings.ContainsRune(keyPath, filepath.Separator) {
					keyPath = filepath.Join(filepath.Dir(out), keyPath)
				}
			}
			// Refused before anything is downloaded, so that no key is
			// handed out to be lost: --out and --key-out that conflict, or
			// name a file that may not be overwritten, are usage errors.
			if err := checkChainOut(out, keyPath); err != nil {
				return usageError(err)
			}
			if err := checkKeyOut(keyPath, keyOut != ""); err != nil {
				return err
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			crt, raw, err := c.Certificate(cmd.Context(), args[0])
			if err == nil && crt.PrivateKey != "" {
				// The server hands the key out for a short while only: keep
				// it before anything else.
				path := keyPath
				switch werr := writeFileExclusive(path, []byte(crt.PrivateKey), 0o600); {
				case werr == nil:
					fmt.Fprintf(cmd.ErrOrStderr(), "private key written to %s (the server erases it %s after its first download; keep it safe)\n", path, order.KeyRedeliveryWindow)
				case errors.Is(werr, os.ErrExist) && sameFileContent(path, crt.PrivateKey):
					// A download run again: the key is there already.
					fmt.Fprintf(cmd.ErrOrStderr(), "private key already in %s\n", path)
				case errors.Is(werr, os.ErrExist):
					return fmt.Errorf("saving the private key: %s exists and holds something else: not overwritten; run again with another --key-out within %s of the first download", path, order.KeyRedeliveryWindow)
				case cf.json:
					return fmt.Errorf("saving the private key (it is in the JSON below; the server sends it again only within %s of its first download): %w\n%s", order.KeyRedeliveryWindow, werr, raw)
				default:
					return fmt.Errorf("saving the private key: %w; run again with another --key-out within %s of the first download (or with --json to print it)", werr, order.KeyRedeliveryWindow)
				}
			}
			// With an explicit --key-out the key was asked for: not
			// writing it is a failure (exit 1), told once the chain is
			// saved.
			var keyErr error
			switch {
			case err != nil || crt.PrivateKey != "":
			case crt.HasCSR && keyOut != "":
				keyErr = fmt.Errorf("no private key written to %s: order %s came with a CSR, whose key is yours (dcv never had it)", keyOut, args[0])
			case crt.PrivateKeyErased && keyOut != "":
				keyErr = fmt.Errorf("no private key written to %s: the key dcv generated for order %s %s", keyOut, args[0], keyErasedWhy(crt))
			case crt.PrivateKeyErased:
				fmt.Fprintf(cmd.ErrOrStderr(), "no private key: the key dcv generated for this order %s\n", keyErasedWhy(crt))
			case keyOut != "":
				keyErr = fmt.Errorf("no private key written to %s: the server sent none for order %s", keyOut, args[0])
			}
			if err == nil && out != "" {
				// Checked again now that the key is written: a path that
				// has come to lead to it must not be overwritten.
				if werr := checkChainOut(out, keyPath); werr != nil {
					return werr
				}
				// Written before anything is reported, so that a chain that
				// could not be saved is an error (exit status 1).
				if werr := writeFileAtomic(out, []byte(crt.Certificate), 0o644); werr != nil {
					return fmt.Errorf("saving the certificate chain: %w", werr)
				}
			}
			if ferr := cf.finish(cmd.OutOrStdout(), raw, err, func() {
				if out != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "certificate chain written to %s (serial %s, valid until %s)\n", out, crt.Serial, crt.NotAfter.Format(time.RFC3339))
					return
				}
				fmt.Fprint(cmd.OutOrStdout(), crt.Certificate)
			}); ferr != nil {
				return ferr
			}
			if crt.RevokedAt != nil {
				// Written as any download is (told above), but not a
				// success: `dcv cert get X && deploy` must stop.
				if keyErr != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "dcv: %v\n", keyErr)
				}
				return exitError{code: exitRevoked, msg: fmt.Sprintf("certificate %s of order %s was revoked at %s (%s): do not deploy it; order again for a new one", crt.Serial, crt.Order, crt.RevokedAt.Format(time.RFC3339), crt.RevocationReason)}
			}
			return keyErr
		},
	}
	cf.register(get)
	get.Flags().StringVar(&out, "out", "", "write the PEM chain to FILE instead of standard output (- for standard output)")
	get.Flags().StringVar(&keyOut, "key-out", "", "where to write the generated private key (default ORDER_ID.key, in --out's directory when --out is given)")

	var rf clientFlags
	var reason string
	revoke := &cobra.Command{
		Use:   "revoke ORDER_ID [--reason REASON]",
		Short: "Revoke an order's certificate (its account; an admin any order's): the next CRL lists it",
		Long: `Revoke an order's certificate. REASON is an RFC 5280 reason, by name or code:
unspecified (the default), keyCompromise, affiliationChanged, superseded or
cessationOfOperation; an admin may also give privilegeWithdrawn. keyCompromise
blocks the key (no certificate is issued for it again, and its other
certificates are revoked) when an admin gives it, or the order's account for a
key dcv generated; for the key of your own CSR it is recorded as the reason,
until an admin confirms it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, ok := order.ParseRevocationReason(reason); !ok {
				// Refused before anything is sent.
				return usageError(fmt.Errorf("--reason %q is no RFC 5280 reason: use keyCompromise, affiliationChanged, superseded, cessationOfOperation or unspecified (an admin also privilegeWithdrawn), or their codes", reason))
			}
			c, err := rf.client()
			if err != nil {
				return err
			}
			crt, raw, err := c.Revoke(cmd.Context(), args[0], reason)
			return rf.finish(cmd.OutOrStdout(), raw, err, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "certificate %s of order %s revoked at %s (%s)\n", crt.Serial, crt.Order, crt.RevokedAt.Format(time.RFC3339), crt.RevocationReason)
				switch {
				case crt.KeyBlocked:
					fmt.Fprintln(cmd.OutOrStdout(), "its key is blocked as compromised: dcv issues no certificate for it again, and is revoking the other certificates of that key (keyCompromise)")
				case crt.RevocationReason == "keyCompromise" && crt.HasCSR:
					fmt.Fprintln(cmd.OutOrStdout(), "its key is not blocked: the key is your CSR's, and a compromise you report is recorded as the reason until an admin revokes with keyCompromise too")
				}
			})
		},
	}
	rf.register(revoke)
	revoke.Flags().StringVar(&reason, "reason", "", "RFC 5280 revocation reason, by name or code (default unspecified)")
	cmd.AddCommand(get, revoke)
	return cmd
}

func newAccountCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage API accounts (admin)"}
	var cf clientFlags
	var admin bool
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an account and print its API key (shown once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := order.CheckAccountName(args[0]); err != nil {
				// Refused before anything is sent, with the server's code
				// and words.
				return refusedHere(cmd, err)
			}
			c, err := cf.client()
			if err != nil {
				return err
			}
			a, raw, err := c.CreateAccount(cmd.Context(), args[0], admin)
			return cf.finish(cmd.OutOrStdout(), raw, err, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "account %s (%s)\napi key: %s\n", a.ID, a.Name, a.APIKey)
			})
		},
	}
	cf.register(create)
	create.Flags().BoolVar(&admin, "admin", false, "the account may create accounts")
	var rf clientFlags
	rotate := &cobra.Command{
		Use:   "rotate-key [ACCOUNT_ID]",
		Short: "Replace an API key (yours, or an account's as an admin) and print the new one (shown once); the old one stops working at once",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rf.client()
			if err != nil {
				return err
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			a, raw, err := c.RotateAPIKey(cmd.Context(), id)
			return rf.finish(cmd.OutOrStdout(), raw, err, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "account %s (%s)\napi key: %s\n(the previous key no longer works)\n", a.ID, a.Name, a.APIKey)
			})
		},
	}
	rf.register(rotate)
	list := newListCmd(listSpec[client.Account]{
		short: "List the accounts by id, a page at a time (admin)", what: "accounts", path: "dcv account list",
		defaultLimit: order.DefaultListLimit, maxLimit: order.MaxListLimit,
		page: func(ctx context.Context, c *client.Client, cursor string, limit int) ([]client.Account, string, []byte, error) {
			return c.AccountsPage(ctx, cursor, limit)
		},
		line: func(a client.Account) string {
			role := "account"
			if a.Admin {
				role = "admin"
			}
			return fmt.Sprintf("%s  %-7s  %s  %s", a.ID, role, a.CreatedAt.Format(time.RFC3339), a.Name)
		},
	})
	cmd.AddCommand(create, rotate, list)
	return cmd
}

func newEABCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "eab", Short: "Manage ACME External Account Binding keys (admin)"}
	var createFlags, deleteFlags clientFlags
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an EAB key and print its id and HMAC key (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := createFlags.client()
			if err != nil {
				return err
			}
			k, raw, err := c.CreateEABKey(cmd.Context())
			return createFlags.finish(cmd.OutOrStdout(), raw, err, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "key id:   %s\nhmac key: %s\n(certbot --eab-kid %s --eab-hmac-key %s; lego --eab --kid %s --hmac %s)\n",
					k.KeyID, k.HMACKey, k.KeyID, k.HMACKey, k.KeyID, k.HMACKey)
			})
		},
	}
	createFlags.register(create)
	del := &cobra.Command{
		Use:   "delete KEY_ID",
		Short: "Withdraw an EAB key that bound no ACME account",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := deleteFlags.client()
			if err != nil {
				return err
			}
			raw, err := c.DeleteEABKey(cmd.Context(), args[0])
			return deleteFlags.finish(cmd.OutOrStdout(), raw, err, func() {
				fmt.Fprintf(cmd.OutOrStdout(), "EAB key %s deleted: it can bind no account\n", args[0])
			})
		},
	}
	deleteFlags.register(del)
	cmd.AddCommand(create, newEABListCmd(), del)
	return cmd
}

func newEABListCmd() *cobra.Command {
	return newListCmd(listSpec[client.EABKeyInfo]{
		short: "List the EAB keys, newest first, with the ACME account each bound", what: "EAB keys", path: "dcv eab list",
		defaultLimit: order.DefaultEABListLimit, maxLimit: order.MaxEABListLimit,
		page: func(ctx context.Context, c *client.Client, cursor string, limit int) ([]client.EABKeyInfo, string, []byte, error) {
			return c.EABKeysPage(ctx, cursor, limit)
		},
		line: func(k client.EABKeyInfo) string {
			bound := "unused"
			if k.AccountID != "" {
				bound = "bound to ACME account " + k.AccountID
				if k.BoundAt != nil {
					bound += " at " + k.BoundAt.Format(time.RFC3339)
				}
			}
			return fmt.Sprintf("%s  created %s by %s  %s", k.KeyID, k.CreatedAt.Format(time.RFC3339), k.CreatedBy, bound)
		},
	})
}

// maxCSRFile bounds the --csr file: a request is a few kilobytes.
const maxCSRFile = 64 << 10

// readCSR reads the certificate signing request in path, --csr, and
// returns it as the PEM to send. Nothing but the request leaves the
// machine: a file that holds none is refused (a usage error), saying so
// when it holds a private key, which dcv never needs; from one that holds
// the request with other blocks (the key beside it) only the request is
// sent, and w is told when a key was left out. A request in DER is sent as
// PEM, which the API takes.
func readCSR(path string, w io.Writer) (string, error) {
	b, err := readLimited(path, maxCSRFile)
	if err != nil {
		var tooLarge errTooLarge
		if errors.As(err, &tooLarge) {
			return "", usageError(fmt.Errorf("--csr %s is larger than %d bytes: not a certificate signing request", path, maxCSRFile))
		}
		return "", fmt.Errorf("--csr: %w", err)
	}
	var csrs []*pem.Block
	var others []string // the types of the other blocks
	key := false
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		switch {
		case blk.Type == "CERTIFICATE REQUEST" || blk.Type == "NEW CERTIFICATE REQUEST":
			csrs = append(csrs, blk)
		case strings.Contains(blk.Type, "PRIVATE KEY"):
			key = true
			others = append(others, blk.Type)
		default:
			others = append(others, blk.Type)
		}
	}
	// A key in a block pem cannot decode, or in DER, is still a key.
	if !key && len(csrs) == 0 && len(others) == 0 {
		key = bytes.Contains(b, []byte("PRIVATE KEY-----")) || isDERPrivateKey(b)
	}
	switch {
	case len(csrs) == 1:
		if key {
			fmt.Fprintf(w, "note: %s also holds a private key; it is not sent, only the certificate signing request\n", path)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrs[0].Bytes})), nil
	case len(csrs) > 1:
		return "", usageError(fmt.Errorf("--csr %s holds %d certificate signing requests: give the one for this order", path, len(csrs)))
	case key:
		return "", usageError(fmt.Errorf("--csr %s holds a private key, not a certificate signing request: dcv never needs your private key; give the CSR (-----BEGIN CERTIFICATE REQUEST-----)", path))
	case len(others) == 0:
		if csr, err := x509.ParseCertificateRequest(b); err == nil {
			return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})), nil
		}
		return "", usageError(fmt.Errorf("--csr %s holds no certificate signing request (none that decodes as PEM or DER): give the CSR (-----BEGIN CERTIFICATE REQUEST-----)", path))
	default:
		return "", usageError(fmt.Errorf("--csr %s holds no certificate signing request, only %s: give the CSR (-----BEGIN CERTIFICATE REQUEST-----)", path, strings.Join(others, ", ")))
	}
}

// isDERPrivateKey reports whether b is a private key in DER: PKCS #8,
// PKCS #1 (RSA) or SEC 1 (EC).
func isDERPrivateKey(b []byte) bool {
	if _, err := x509.ParsePKCS8PrivateKey(b); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(b)
	return err == nil
}

// errTooLarge is readLimited's error for a file over its limit.
type errTooLarge struct {
	path  string
	limit int64
}

func (e errTooLarge) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes", e.path, e.limit)
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge{path, limit}
	}
	return b, nil
}

// writeFileExclusive creates path with b, durably; it refuses an existing
// file, and leaves no file behind when the write fails.
func writeFileExclusive(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if err := writeSync(f, b); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// writeFileAtomic replaces path with b: written to a temporary file beside
// it, synced, then renamed over it, so that a failed write leaves the old
// file whole and no partial one. The directory must be writable.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	// Through a symbolic link, the file it points to is replaced (or
	// created), not the link: as checkChainOut followed it.
	path = followLinks(path)
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := writeSync(f, b); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// sameFileContent reports whether the file at path holds exactly content.
func sameFileContent(path, content string) bool {
	b, err := readLimited(path, 1<<20)
	return err == nil && string(b) == content
}

// followLinks returns the path path's symbolic links lead to, in its
// directories as in its last element, following at most 40 of them,
// whether or not the last target exists (a dangling link is followed to
// the path it names): two paths to one file compare equal before the file
// exists. Each relative target is read against its link's directory with
// that directory's own links resolved, as the kernel reads it.
func followLinks(path string) string {
	for range 40 {
		dir := filepath.Dir(path)
		if d, err := filepath.EvalSymlinks(dir); err == nil {
			dir = d
		}
		path = filepath.Join(dir, filepath.Base(path))
		target, err := os.Readlink(path)
		if err != nil {
			break // not a link, or not there
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		path = target
	}
	return path
}

// writeSync writes b to f, syncs and closes it.
func writeSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkKeyOut refuses, before anything is downloaded, a key destination
// the key could not be written to, none of which is overwritten: a
// dangling symbolic link, anything but a regular file, a file that holds
// something other than a private key (these three a usage error: a wrong
// --key-out), or a directory that does not exist
// or, when the path was asked for (explicit), cannot be written in (the
// default ORDER_ID.key gets no key for an order made with a CSR, and the
// write says why when one comes). A file holding a private key passes, through a
// symbolic link too: a download run again keeps it when it is this
// order's key (a link to the saved key, as certbot keeps them), and says so
// when it is not; so does one that cannot be read, which is not written to.
func checkKeyOut(keyPath string, explicit bool) error {
	fi, err := os.Lstat(keyPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		dir := filepath.Dir(keyPath)
		if d, derr := os.Stat(dir); derr != nil || !d.IsDir() {
			return fmt.Errorf("--key-out %s: the directory %s does not exist", keyPath, dir)
		}
		if !explicit {
			return nil
		}
		probe, perr := os.CreateTemp(dir, ".dcv-key-probe-*")
		if perr != nil {
			return fmt.Errorf("--key-out %s: the key could not be written in %s: %w", keyPath, dir, perr)
		}
		probe.Close()
		os.Remove(probe.Name())
		return nil
	case err != nil:
		return fmt.Errorf("--key-out %s: %w", keyPath, err)
	case fi.Mode()&os.ModeSymlink != 0:
		if fi, err = os.Stat(keyPath); err != nil {
			return usageError(fmt.Errorf("--key-out %s is a symbolic link to nothing (%w): the key is written only to a new file of its own; choose another path", keyPath, err))
		}
	}
	if !fi.Mode().IsRegular() {
		return usageError(fmt.Errorf("--key-out %s is not a regular file; choose another path", keyPath))
	}
	b, err := readLimited(keyPath, 1<<20)
	if errors.Is(err, os.ErrPermission) {
		return nil // not written to; a key handed out says so
	}
	if err != nil {
		return fmt.Errorf("--key-out %s: %w", keyPath, err)
	}
	if !bytes.Contains(b, []byte("PRIVATE KEY-----")) {
		return usageError(fmt.Errorf("--key-out %s exists and holds something other than a private key: not overwritten; choose another path", keyPath))
	}
	return nil
}

// isDir reports whether path is a directory (through symbolic links).
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// checkChainOut refuses a chain destination that would destroy a key: the
// file the key is to be written to, or an existing file that holds a
// private key (another order's, or one saved before).
func checkChainOut(out, keyPath string) error {
	if out == "" {
		return nil
	}
	// Compared through symbolic links, dangling ones too: a link at --out
	// to the --key-out path would let the chain overwrite the key just
	// written there.
	a, err1 := filepath.Abs(followLinks(out))
	b, err2 := filepath.Abs(followLinks(keyPath))
	if err1 == nil && err2 == nil && a == b {
		return fmt.Errorf("--out %s and --key-out %s name the same file: the chain would overwrite the key", out, keyPath)
	}
	if fi, err := os.Stat(out); err == nil {
		if kf, err := os.Stat(keyPath); err == nil && os.SameFile(fi, kf) {
			return fmt.Errorf("--out %s is the key file %s: the chain would overwrite the key", out, keyPath)
		}
		if fi.Mode().IsRegular() && fi.Size() <= 1<<20 {
			if b, err := os.ReadFile(out); err == nil && bytes.Contains(b, []byte("PRIVATE KEY-----")) {
				return fmt.Errorf("--out %s holds a private key: refusing to overwrite it with the chain (choose another file)", out)
			}
		}
	}
	return nil
}

// checkRevoked reports whether a check's answer says that the order's
// certificate was revoked (revoked_at, or the CERTIFICATE_REVOKED finding),
// and the message that says so.
func checkRevoked(res *client.CheckResult) (msg string, revoked bool) {
	if res.RevokedAt != nil {
		return fmt.Sprintf("the certificate of order %s was revoked at %s (%s): do not deploy it; order again for a new one", res.Order, res.RevokedAt.Format(time.RFC3339), res.RevocationReason), true
	}
	for _, d := range res.Domains {
		for _, f := range d.Findings {
			if f.Code == diagnose.CodeCertificateRevoked {
				return fmt.Sprintf("the certificate of order %s was revoked: do not deploy it; order again for a new one", res.Order), true
			}
		}
	}
	return "", false
}

// issuanceFailed reports whether a check's answer says that the CA could
// not sign the order's certificate (ISSUANCE_FAILED): approved, yet not
// done, until its operator acts.
func issuanceFailed(res *client.CheckResult) bool {
	for _, d := range res.Domains {
		for _, f := range d.Findings {
			if f.Code == diagnose.CodeIssuanceFailed {
				return true
			}
		}
	}
	return false
}

// keyErasedWhy says why the server erased the key it generated for an
// order: it goes KeyRedeliveryWindow after its first download, and at once
// when the certificate is revoked for keyCompromise (black-box run: the key
// of a certificate so revoked was said to have gone with the window alone).
// The answer says neither when nor which came first.
func keyErasedWhy(crt *client.Certificate) string {
	if crt.RevocationReason == "keyCompromise" && crt.RevokedAt != nil {
		return fmt.Sprintf("was erased: dcv erases it %s after its first download, and at the latest when the certificate was revoked for keyCompromise (at %s)", order.KeyRedeliveryWindow, crt.RevokedAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("was erased %s after its first download (it was saved then, by whoever downloaded it)", order.KeyRedeliveryWindow)
}
