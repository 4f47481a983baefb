package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcvhq/dcv/internal/perspective"
)

type agentFlags struct {
	credentials string
	listen      string
	source      string
	logLevel    string
	validationFlags
}

func newAgentCmd() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Serve a remote perspective for a dcv primary (HTTPS with mutual TLS only)",
		Long: `Serve a remote perspective: the primary asks this agent to observe each
domain from its network, with its own resolver and cache. The credentials file
comes from "dcv perspective add" on the primary. Every endpoint (/v1/observe,
/v1/health, /metrics) requires the primary's client certificate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runAgent(ctx, f, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.credentials, "credentials", "", "credentials file written by dcv perspective add (required)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8443", "address the agent listens on")
	fs.StringVar(&f.source, "source-address", "", "local IP address outgoing DNS and HTTP traffic comes from (default: chosen by the system)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	f.validationFlags.register(cmd)
	return cmd
}

func runAgent(ctx context.Context, f agentFlags, out io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usageError(fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel))
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	defer ignoreHangup(logger, "a new credentials file takes a restart")()
	if f.credentials == "" {
		return exitError{code: exitUsage, msg: "agent: --credentials is required"}
	}
	if err := checkListenAddr("--listen", f.listen); err != nil {
		return err
	}
	var source netip.Addr
	if f.source != "" {
		var err error
		if source, err = netip.ParseAddr(f.source); err != nil {
			return usageError(fmt.Errorf("--source-address: %w", err))
		}
	}
	creds, err := perspective.LoadCredentials(f.credentials)
	if err != nil {
		return err
	}
	notAfter, soon, err := creds.CheckValidity(time.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", f.credentials, err)
	}
	if soon {
		logger.Warn("the agent certificate expires soon: renew its credentials on the primary (dcv perspective renew NAME) and restart the agent with them", "credentials", f.credentials, "not_after", notAfter.UTC())
	}
	if f.source != "" {
		f.validationFlags.source = source
		// Every observation would fail on the agent's side otherwise.
		c, err := net.ListenPacket("udp", netip.AddrPortFrom(f.validationFlags.source, 0).String())
		if err != nil {
			return fmt.Errorf("--source-address %s is not an address of this machine: %w", f.source, err)
		}
		c.Close()
	}
	f.validationFlags.perspective = creds.Name
	v, err := f.validator()
	if err != nil {
		return err
	}
	agent, err := perspective.NewAgent(perspective.AgentConfig{Credentials: creds, Validator: v, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	defer ln.Close()
	fmt.Fprintf(out, "dcv agent %s (%s) listening on https://%s (mutual TLS)\n", creds.Name, creds.RIR, ln.Addr())
	return agent.Serve(ctx, ln)
}
