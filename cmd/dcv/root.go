package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dcvhq/dcv/internal/order"
)

// Exit codes of client commands.
const (
	exitFailure   = 1
	exitUsage     = 2
	exitBlocked   = 3 // a check ran and some domain is not validated yet
	exitThrottled = 4 // checked too often; retry later
	exitFinal     = 5 // the order can no longer be validated (expired or invalid): order again
	exitRevoked   = 6 // the order's certificate was revoked: do not deploy it; order again
)

// exitError carries a process exit code up to main; msg, when set, is
// printed on standard error.
type exitError struct {
	code int
	msg  string
	// apiCode, when set, is the API's stable error code (INVALID_CHARACTER)
	// of a request refused here, before anything was sent, as the server
	// would refuse it: --json reports it rather than USAGE or FAILED, with
	// apiMsg, the API's message, as its message.
	apiCode, apiMsg string
}

// refusedHere is the usage error (exit status 2) of cmd for err, a request
// the server would refuse, found before anything is sent: its message is
// err's, after the command's name, and when err is an *order.Error its
// stable code is the one --json reports, as the API would.
func refusedHere(cmd *cobra.Command, err error) error {
	ee := exitError{code: exitUsage, msg: fmt.Sprintf("%s: %v", cmd.CommandPath(), err)}
	var oe *order.Error
	if errors.As(err, &oe) {
		// The error line starts with "dcv:" already; --json says the
		// code apart, and its message without it.
		ee.apiCode, ee.apiMsg = oe.Code, oe.Message
		ee.msg = fmt.Sprintf("%s: %v", strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), err)
	}
	return ee
}

func (e exitError) Error() string { return e.msg }

// usageError makes err, a wrong command, flag, argument or value found
// before anything is sent or created, exit with the usage status (2); its
// message is kept.
func usageError(err error) error {
	if err == nil {
		return nil
	}
	var ee exitError
	if errors.As(err, &ee) {
		return err
	}
	return exitError{code: exitUsage, msg: err.Error()}
}

// exitStatus is the process exit status of err, a command's outcome, and
// the message to print on standard error ("" for none).
// ignoreHangup keeps SIGHUP, which would end the process without its
// graceful shutdown (a closed terminal, a reload habit), from stopping a
// server: it is logged, with what reloads on its own (reloads). The
// returned function stops it.
func ignoreHangup(logger *slog.Logger, reloads string) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				logger.Warn("SIGHUP ignored: nothing to reload (" + reloads + "); stop with SIGTERM")
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

func exitStatus(err error) (code int, msg string) {
	var ee exitError
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &ee):
		return ee.code, ee.msg
	default:
		return exitFailure, err.Error()
	}
}

var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "dcv",
		Short:         "Domain-control validation and issuance for a certificate authority",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd); err != nil {
				return exitError{code: exitUsage, msg: err.Error()}
			}
			warnUnknownEnv(cmd.Root(), os.Environ(), cmd.ErrOrStderr())
			return nil
		},
	}
	root.AddCommand(newServeCmd(), newCheckCmd(), newAgentCmd(), newPerspectiveCmd(), newOrderCmd(), newCertCmd(), newAccountCmd(), newEABCmd(), newBenchCmd(), newVersionCmd())
	// From the root down: `dcv frobnicate` is a usage error as
	// `dcv order frobnicate` is.
	refuseUnknownSubcommands(root)
	usageErrors(root)
	return root
}

// usageErrors makes a wrong flag or a wrong number of arguments, on any
// command, exit with the usage status (2), as a refused value does, and
// name the command's help.
func usageErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return exitError{code: exitUsage, msg: fmt.Sprintf("%v (see %s --help)", err, cmd.CommandPath())}
	})
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return exitError{code: exitUsage, msg: fmt.Sprintf("%s: %v (usage: %s)", cmd.CommandPath(), err, cmd.UseLine())}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
}

// refuseUnknownSubcommands makes a command group (a command with
// subcommands and no action of its own, like `dcv order`) fail with a usage
// error on an unknown subcommand: cobra only rejects unknown commands at the
// root and would print the group's help and exit 0 for `dcv order frobnicate`.
// Without arguments the group still prints its help.
func refuseUnknownSubcommands(c *cobra.Command) {
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return exitError{code: exitUsage, msg: fmt.Sprintf("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())}
	}
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
}

// applyEnv sets every flag not given on the command line from its DCV_*
// environment variable (--check-interval ← DCV_CHECK_INTERVAL).
func applyEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "DCV_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if serr := cmd.Flags().Set(f.Name, v); serr != nil {
				err = fmt.Errorf("environment variable %s: %w", name, serr)
			}
		}
	})
	return err
}

// envNotFlags are DCV_ variables that name no flag on purpose: the test
// suite's and the bench scripts' own.
var envNotFlags = map[string]bool{"DCV_REQUIRE_PEERS": true, "DCV_CRASH_CYCLES": true, "DCV_BIN": true, "DCV_PORT": true, "DCV_SERVE_FLAGS": true}

// warnUnknownEnv warns on w of each DCV_ variable of env that names no
// flag of any command under root: a mistyped one (DCV_CHEK_INTERVAL)
// would otherwise be ignored without a word. The nearest flag's variable
// is suggested when one is close.
func warnUnknownEnv(root *cobra.Command, env []string, w io.Writer) {
	known := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			known["DCV_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))] = true
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "DCV_") || known[name] || envNotFlags[name] {
			continue
		}
		hint := ""
		best := 3 // suggest at an edit distance of at most 2
		for k := range known {
			if d := editDistance(strings.ToUpper(name), k); d < best || (d == best && hint != "" && k < hint) {
				best, hint = d, k
			}
		}
		if hint != "" {
			hint = " (did you mean " + hint + "?)"
		}
		fmt.Fprintf(w, "dcv: warning: the environment variable %s names no flag of any dcv command, and is ignored%s\n", name, hint)
	}
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// durationValue is a time.Duration flag that also takes days ("90d").
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	if *v.d != 0 && *v.d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", *v.d/(24*time.Hour))
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n || days < 0 {
			return fmt.Errorf("%q is not a number of days", s)
		}
		*v.d = time.Duration(days) * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (like 90s, 5m, 12h or 30d)", s)
	}
	*v.d = d
	return nil
}

func (durationValue) Type() string { return "duration" }

func durationFlag(fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.Var(durationValue{p}, name, usage)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "dcv", version)
		},
	}
}
