package main

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcvhq/dcv/internal/bench"
)

// maxCACertFileSize bounds --ca-cert: a few PEM certificates.
const maxCACertFileSize = 1 << 20

// defaultBenchProcs is the load generator's GOMAXPROCS. One is enough for
// it on a 2-core machine (it needs under half a core at 250 certificates
// per second), and measured there it spent 5 to 15% less CPU per
// certificate than with two (fewer idle threads spinning and waking each
// other), CPU that the server under test got instead.
const defaultBenchProcs = 1

type benchFlags struct {
	directory   string
	concurrency int
	duration    time.Duration
	names       int
	challenge   string
	responder   string
	dnsListen   string
	domain      string
	serverPID   int
	caCert      string
	poll        time.Duration
	json        bool
	cpuProfile  string
	gcPercent   int
	procs       int
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench --directory URL",
		Short: "Load an ACME server with full certificate flows and report its throughput and CPU per certificate",
		Long: `bench runs concurrent ACME accounts against --directory, each issuing one
certificate after another (newOrder, authorizations, challenge answered by a
built-in responder on a loopback address, finalize, download), and reports
certificates per second, latency percentiles per step, errors by type and,
with --server-pid, the server's CPU time per certificate (from /proc).

The names asked for resolve to the responder only through the DNS server that
--dns-listen starts: point the server under test at it (dcv serve --resolver,
pebble -dnsserver), and make it dial --responder's port for http-01
(--validation-http-port) or tls-alpn-01 (--validation-https-port); the
responder is on loopback, which dcv serve dials only with
--allow-loopback-targets.
No certificate is started after --duration (at most 10m); every request and
every flow has a deadline.

--cpuprofile writes a Go CPU profile of the load generator itself (account
setup and load), for "go tool pprof": the bench shares the machine with the
server under test, so its own CPU per certificate matters.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.directory, "directory", "", "ACME directory URL, e.g. http://127.0.0.1:8080/acme/directory (required)")
	fs.IntVar(&f.concurrency, "concurrency", bench.DefaultConcurrency, "accounts running flows in parallel")
	durationFlag(fs, &f.duration, "duration", bench.DefaultDuration, "how long new certificates are started (at most 10m)")
	fs.IntVar(&f.names, "names", bench.DefaultNames, "DNS names per certificate")
	fs.StringVar(&f.challenge, "challenge", bench.ChallengeHTTP01, "challenge answered: http-01, dns-01 or tls-alpn-01")
	fs.StringVar(&f.responder, "responder", bench.DefaultResponderAddr, "loopback ip:port of the built-in http-01 or tls-alpn-01 responder; its IP is every name's A record")
	fs.StringVar(&f.dnsListen, "dns-listen", "", "loopback ip:port for a built-in DNS server answering every name with the responder's address (and dns-01 TXT records)")
	fs.StringVar(&f.domain, "domain", bench.DefaultDomain, "parent domain of the names asked for")
	fs.IntVar(&f.serverPID, "server-pid", 0, "process id of the server on this machine, to report its CPU time per certificate")
	fs.StringVar(&f.caCert, "ca-cert", "", "PEM file of CA certificates trusted for an https:// directory (default: the system roots)")
	durationFlag(fs, &f.poll, "poll", bench.DefaultPollInterval, "wait between polls of a pending authorization")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.IntVar(&f.gcPercent, "gc-percent", defaultGCPercent, "Go garbage collector target of the load generator (as GOGC, which takes precedence): it shares the machine with the server under test")
	fs.IntVar(&f.procs, "procs", defaultBenchProcs, "CPUs the load generator runs Go code on at once (as GOMAXPROCS, which takes precedence); 0: all of them. Raise it if the generator itself saturates")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the load generator to this file (go tool pprof format)")
	return cmd
}

func runBench(cmd *cobra.Command, f benchFlags) error {
	if f.directory == "" {
		return exitError{code: exitUsage, msg: "bench: --directory is required"}
	}
	// Zero means the library's default; a user who types 0 means none.
	for _, z := range []struct {
		flag string
		zero bool
	}{{"concurrency", f.concurrency == 0}, {"duration", f.duration == 0}, {"names", f.names == 0}} {
		if z.zero && cmd.Flags().Changed(z.flag) {
			return exitError{code: exitUsage, msg: fmt.Sprintf("bench: --%s 0: must be positive (see dcv bench --help)", z.flag)}
		}
	}
	cfg := bench.Config{
		DirectoryURL:  f.directory,
		Concurrency:   f.concurrency,
		Duration:      f.duration,
		Names:         f.names,
		Challenge:     f.challenge,
		ResponderAddr: f.responder,
		DNSAddr:       f.dnsListen,
		Domain:        f.domain,
		ServerPID:     f.serverPID,
		PollInterval:  f.poll,
	}
	if f.caCert != "" {
		pool, err := readCertPool(f.caCert)
		if err != nil {
			return exitError{code: exitUsage, msg: "bench: --ca-cert: " + err.Error()}
		}
		cfg.RootCAs = pool
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.gcPercent < 1 || f.gcPercent > maxGCPercent {
		return exitError{code: exitUsage, msg: fmt.Sprintf("bench: --gc-percent %d: must be between 1 and %d", f.gcPercent, maxGCPercent)}
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(f.gcPercent)
	}
	if f.procs < 0 {
		return exitError{code: exitUsage, msg: fmt.Sprintf("bench: --procs %d: must be 0 (all CPUs) or more", f.procs)}
	}
	if os.Getenv("GOMAXPROCS") == "" && f.procs > 0 {
		runtime.GOMAXPROCS(f.procs)
	}
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return exitError{code: exitUsage, msg: "bench: --cpuprofile: " + err.Error()}
		}
		defer func() {
			if perr := stopProfile(); perr != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "bench: --cpuprofile: %v\n", perr)
			}
		}()
	}
	rep, err := bench.Run(ctx, cfg)
	if errors.Is(err, bench.ErrConfig) {
		// A flag's value (a concurrency out of range, a responder off
		// loopback): a usage error, nothing was sent.
		return exitError{code: exitUsage, msg: err.Error() + " (see dcv bench --help)"}
	}
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(benchJSON(rep))
	} else {
		err = rep.WriteText(out)
	}
	if err == nil && rep.Certificates == 0 && rep.Failed > 0 {
		// A run that measured nothing is no success for a script.
		hint := ""
		switch {
		case f.dnsListen == "":
			hint = "; without --dns-listen the server under test must resolve the bench's names itself: give it the DNS server bench starts there (dcv serve --resolver)"
		case rep.ErrorsContain("not reachable from the internet", "ADDRESS_RESERVED"):
			// The responder is on loopback, which dcv serve refuses to
			// dial unless told to.
			hint = "; the server under test refused to dial the responder's loopback address: run dcv serve with --allow-loopback-targets"
		}
		return exitError{code: exitFailure, msg: fmt.Sprintf("bench: no certificate: all %d flows failed (their errors are above)%s", rep.Failed, hint)}
	}
	return err
}

// benchJSON is the --json form of a report, with derived figures added.
func benchJSON(r *bench.Report) any {
	type out struct {
		*bench.Report
		CertsPerSecond        float64 `json:"CertsPerSecond"`
		ServerCPUPerCertMilli float64 `json:"ServerCPUPerCertMillis"`
	}
	return out{Report: r, CertsPerSecond: r.CertsPerSecond(), ServerCPUPerCertMilli: float64(r.ServerCPUPerCert()) / float64(time.Millisecond)}
}

// startCPUProfile starts profiling this process's CPU into path (created
// or truncated) and returns the function that stops and closes it.
func startCPUProfile(path string) (stop func() error, err error) {
	fh, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		fh.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return fh.Close()
	}, nil
}

func readCertPool(path string) (*x509.CertPool, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxCACertFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCACertFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxCACertFileSize)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
