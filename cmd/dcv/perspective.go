package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/metrics"
	"github.com/dcvhq/dcv/internal/perspective"
	"github.com/dcvhq/dcv/internal/store"
	"github.com/dcvhq/dcv/internal/store/sqlite"
	"github.com/dcvhq/dcv/internal/validation"
)

// healthTimeout bounds the health probe of one agent by `perspective list`.
const healthTimeout = 5 * time.Second

// perspectiveFlags are serve's flags for remote perspectives.
type perspectiveFlags struct {
	minRemote int
	publicCA  bool
	// maxObservations is --max-concurrent-observations.
	maxObservations int
}

func (f *perspectiveFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVar(&f.minRemote, "min-remote-perspectives", 0, "least number of remote perspectives (dcv agents); with fewer enrolled every check fails closed")
	fs.IntVar(&f.maxObservations, "max-concurrent-observations", perspective.DefaultMaxConcurrent, "observations of domains (each with every remote perspective) run at once; more wait in line, each account's in turn with the others', while a whole observation still fits in their time (as many as an agent runs: more would queue at the agents, or be refused)")
	fs.BoolVar(&f.publicCA, "public-ca", false, "apply the CA/B Forum BR 3.2.2.9 minimum of remote perspectives in force (4 from 2026-06-15, 5 from 2026-12-15) when above --min-remote-perspectives")
}

// errMinRemoteNegative refuses a negative --min-remote-perspectives.
var errMinRemoteNegative = errors.New("--min-remote-perspectives must not be negative")

// errMaxObservations refuses a --max-concurrent-observations below 1.
var errMaxObservations = errors.New("--max-concurrent-observations must be at least 1")

// agentCAOf returns the primary's agent CA, which signs the agents'
// certificates and the primary's own. It is made on first use; made anew
// while perspectives are enrolled, it would silently cut the primary off
// from every agent (black-box run): refused then.
func agentCAOf(ctx context.Context, authority *ca.CA, st store.PerspectiveStore) (*ca.AgentCA, error) {
	has, err := authority.HasAgentCA()
	if err != nil {
		return nil, err
	}
	if !has {
		ps, err := st.PerspectiveList(ctx)
		if err != nil {
			return nil, err
		}
		if len(ps) > 0 {
			return nil, fmt.Errorf("the agent CA (%s and %s, beside the CA's files) is missing while %d remote perspectives are enrolled, whose agents' certificates it signed: restore it from a backup, or remove the perspectives and enrol them again", ca.AgentCAKeyFile, ca.AgentCACertFile, len(ps))
		}
	}
	return authority.AgentCA()
}

// runner builds the perspective runner: the primary validator, and the
// remote perspectives enrolled in st, reached with the agent CA of
// authority.
func (f *perspectiveFlags) runner(v *validation.Validator, st store.PerspectiveStore, authority *ca.CA, logger *slog.Logger, mets *metrics.Metrics) (*perspective.Runner, error) {
	if f.minRemote < 0 {
		return nil, usageError(errMinRemoteNegative)
	}
	agentCA, err := agentCAOf(context.Background(), authority, st)
	if err != nil {
		return nil, err
	}
	id := perspective.NewPrimaryIdentity(agentCA, nil)
	id.OnAgentCertificate = mets.PerspectiveCertificate
	r, err := perspective.NewRunner(perspective.Config{
		Primary:       v,
		Remotes:       perspective.NewCachedSource(storeRemotes{st}, remotesCacheTTL, time.Now),
		Identity:      id,
		MinRemotes:    f.minRemote,
		PublicCA:      f.publicCA,
		Logger:        logger,
		Metrics:       mets,
		MaxConcurrent: f.maxObservations,
	})
	if err != nil {
		return nil, err
	}
	// Checks fail closed without enough perspectives: say so at start
	// rather than only in every check's findings.
	why, err := r.Unsatisfiable(context.Background(), time.Now())
	if err != nil {
		return nil, err
	}
	if why != "" {
		logger.Warn("no check can pass with the remote perspectives enrolled: "+why+" (dcv perspective add, dcv perspective remove)", "min_remote_perspectives", r.MinRemotes(time.Now()))
	}
	return r, nil
}

// remotesCacheTTL is how long serve reuses the list of enrolled
// perspectives instead of reading it from the store for every observation
// (one query per challenge was about 2% of the server's CPU under ACME
// load). `dcv perspective add` and `remove` write the database from
// another process, so an enrolment or a removal takes effect within this
// time.
const remotesCacheTTL = 2 * time.Second

// storeRemotes lists the perspectives enrolled in the store.
type storeRemotes struct{ st store.PerspectiveStore }

func (s storeRemotes) Remotes(ctx context.Context) ([]perspective.Remote, error) {
	ps, err := s.st.PerspectiveList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]perspective.Remote, len(ps))
	for i, p := range ps {
		out[i] = perspective.Remote{Name: p.Name, URL: p.URL, RIR: p.RIR, CertSHA256: p.CertSHA256, NextCertSHA256: p.NextCertSHA256}
	}
	return out, nil
}

func newPerspectiveCmd() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "perspective",
		Short: "Enrol, list, renew and remove remote perspectives (dcv agents); run on the primary's machine",
	}
	cmd.PersistentFlags().StringVar(&data, "data", "dcv-data", "the primary's data directory (database, CA keys)")

	var url, rir, out string
	var initData bool
	add := &cobra.Command{
		Use:   "add NAME --url URL --rir RIR",
		Short: "Enrol a remote perspective and write its credentials file for `dcv agent`",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return perspectiveAdd(cmd.Context(), data, args[0], url, rir, out, initData, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	add.Flags().StringVar(&url, "url", "", "the agent's URL as the primary reaches it, https://host:port (required)")
	add.Flags().StringVar(&rir, "rir", "", "the agent network's RIR region: ARIN, RIPE, APNIC, LACNIC or AFRINIC (required)")
	add.Flags().StringVar(&out, "out", "", "credentials file to write (default NAME.credentials in the current folder)")
	add.Flags().BoolVar(&initData, "init", false, "create the primary's data directory (database, CA) when --data holds none, to enrol agents before the first start of dcv serve")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the remote perspectives and each agent's health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return perspectiveList(cmd.Context(), data, cmd.OutOrStdout())
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a remote perspective; the primary stops asking it and no longer accepts its certificate",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return perspectiveRemove(cmd.Context(), data, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	var renewOut string
	var renewForce bool
	renew := &cobra.Command{
		Use:   "renew NAME",
		Short: "Issue new credentials for an enrolled perspective (its certificate expires after a year); the present ones stay accepted until the agent switches",
		Long: `Issue new credentials for the enrolled perspective NAME, with its URL and
region, and write them for its agent. The primary accepts the new certificate
beside the present one (a running dcv serve within 2 s), which stays accepted
until it expires or until the next renewal: copy the file to the agent's
machine and restart the agent with it; the primary never refuses the agent
meanwhile. A second renewal while the agent does not present the renewed
certificate yet would retire the one it uses, and is refused without --force. For credentials that may
have leaked, remove the perspective and add it again instead: that refuses
the old certificate at once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return perspectiveRenew(cmd.Context(), data, args[0], renewOut, renewForce, cmd.OutOrStdout())
		},
	}
	renew.Flags().StringVar(&renewOut, "out", "", "credentials file to write (default NAME.credentials in the current folder)")
	renew.Flags().BoolVar(&renewForce, "force", false, "renew although a renewal is pending: the credentials enrolled before the pending renewal stop being accepted")
	cmd.AddCommand(add, list, remove, renew)
	return cmd
}

func perspectiveRenew(ctx context.Context, data, name, out string, force bool, w io.Writer) error {
	if out == "" {
		out = name + ".credentials"
	}
	if _, err := os.Lstat(out); err == nil {
		return exitError{code: exitFailure, msg: fmt.Sprintf("perspective renew: %s exists; choose another --out or remove it", out)}
	}
	st, authority, err := openPrimary(ctx, data, false, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := st.PerspectiveGet(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return exitError{code: exitFailure, msg: fmt.Sprintf("perspective renew: no perspective named %s (dcv perspective list names them)", name)}
	}
	if err != nil {
		return err
	}
	agentCA, err := agentCAOf(ctx, authority, st)
	if err != nil {
		return err
	}
	retired := ""
	rm := perspective.Remote{Name: p.Name, URL: p.URL, RIR: p.RIR, CertSHA256: p.CertSHA256, NextCertSHA256: p.NextCertSHA256}
	retires, err := perspective.CheckRenewal(ctx, perspective.NewPrimaryIdentity(agentCA, nil), rm, healthTimeout, force)
	if err != nil {
		return exitError{code: exitFailure, msg: "perspective renew: " + err.Error()}
	}
	if retires {
		retired = "the credentials in use before the last renewal are no longer accepted: an agent still started with them is refused from now on"
	}
	creds, remote, err := perspective.Enrol(agentCA, p.Name, p.URL, p.RIR)
	if err != nil {
		return exitError{code: exitFailure, msg: "perspective renew: " + err.Error()}
	}
	// The file first: a pin the primary accepts for credentials no one
	// holds would be harmless, but credentials it does not accept are
	// removed at once.
	if err := creds.WriteFile(out); err != nil {
		return err
	}
	if err := st.PerspectiveRenew(ctx, name, p.NextCertSHA256, remote.CertSHA256); err != nil {
		if rerr := os.Remove(out); rerr != nil {
			return fmt.Errorf("%w (and removing %s again: %v)", err, out, rerr)
		}
		if errors.Is(err, store.ErrConflict) {
			return exitError{code: exitFailure, msg: fmt.Sprintf("perspective renew: %s was renewed by another command meanwhile; nothing was changed: run dcv perspective list, then renew again if needed", name)}
		}
		return err
	}
	fmt.Fprintf(w, "renewed the credentials of perspective %s (%s, %s); written to %s\n", p.Name, p.RIR, p.URL, out)
	fmt.Fprintf(w, "copy that file to the agent's machine and restart it: dcv agent --credentials %s --listen ADDR\n", filepath.Base(out))
	if retired != "" {
		fmt.Fprintln(w, retired)
	}
	fmt.Fprintln(w, "the credentials the agent uses now stay accepted until they expire, or until the renewal after this one")
	return nil
}

// openPrimary opens the primary's database and CA in data, as serve does.
// With create (perspective add --init), a data directory without a
// database becomes a new primary's (enrolling before the first start of
// serve), and w is told so. Without it, such a directory is refused: a
// mistyped --data does not make a new CA.
func openPrimary(ctx context.Context, data string, create bool, w io.Writer) (*sqlite.Store, *ca.CA, error) {
	creating := false
	if _, err := os.Stat(filepath.Join(data, "dcv.db")); errors.Is(err, fs.ErrNotExist) {
		if !create {
			msg := fmt.Sprintf("no dcv database in %s: pass the --data of the primary's dcv serve", data)
			if w != nil {
				// perspective add, which may create it.
				msg += ", or --init to create the primary there before its first start"
			}
			return nil, nil, exitError{code: exitUsage, msg: msg}
		}
		creating = true
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating data directory: %w", err)
	}
	st, authority, err := openData(ctx, data, ca.Config{Dir: filepath.Join(data, "ca")}, false)
	if err == nil && creating {
		// Said once made (a refusal changes nothing).
		fmt.Fprintf(w, "no dcv database in %s: created a new primary there (its dcv serve must run with --data %s)\n", data, data)
	}
	return st, authority, err
}

func perspectiveAdd(ctx context.Context, data, name, url, rir, out string, initData bool, w, errOut io.Writer) error {
	if url == "" || rir == "" {
		return exitError{code: exitUsage, msg: "perspective add: --url and --rir are required"}
	}
	if out == "" {
		out = name + ".credentials"
	}
	rir = strings.ToUpper(rir) // "ripe" is RIPE: the registries' names are upper case
	// Bad input changes nothing: checked before the data directory is
	// opened (or created).
	u, err := perspective.CheckEnrolment(name, url, rir)
	if err != nil {
		return exitError{code: exitUsage, msg: "perspective add: " + err.Error()}
	}
	if _, err := os.Lstat(out); err == nil {
		return exitError{code: exitFailure, msg: fmt.Sprintf("perspective add: %s exists; choose another --out or remove it", out)}
	}
	st, authority, err := openPrimary(ctx, data, initData, errOut)
	if err != nil {
		return err
	}
	defer st.Close()
	existing, err := st.PerspectiveList(ctx)
	if err != nil {
		return err
	}
	for _, p := range existing {
		if p.URL == u.String() && p.Name != name {
			return exitError{code: exitFailure, msg: fmt.Sprintf("perspective add: perspective %s already uses %s; one agent serves one perspective", p.Name, p.URL)}
		}
	}
	agentCA, err := agentCAOf(ctx, authority, st)
	if err != nil {
		return err
	}
	creds, remote, err := perspective.Enrol(agentCA, name, url, rir)
	if err != nil {
		return exitError{code: exitUsage, msg: "perspective add: " + err.Error()}
	}
	err = st.PerspectiveCreate(ctx, store.Perspective{Name: remote.Name, URL: remote.URL, RIR: remote.RIR, CertSHA256: remote.CertSHA256, CreatedAt: time.Now()})
	if errors.Is(err, store.ErrConflict) {
		return exitError{code: exitFailure, msg: fmt.Sprintf("perspective add: a perspective named %s exists; remove it first", name)}
	}
	if err != nil {
		return err
	}
	if err := creds.WriteFile(out); err != nil {
		if derr := st.PerspectiveDelete(ctx, name); derr != nil {
			return fmt.Errorf("%w (and removing the perspective again: %v)", err, derr)
		}
		return err
	}
	fmt.Fprintf(w, "enrolled perspective %s (%s, %s); credentials written to %s\n", remote.Name, remote.RIR, remote.URL, out)
	fmt.Fprintf(w, "copy that file to the agent's machine and run: dcv agent --credentials %s --listen ADDR\n", filepath.Base(out))
	if why := quorumWarning(append(existing, store.Perspective{Name: remote.Name, RIR: remote.RIR})); why != "" {
		fmt.Fprintf(errOut, "warning: %s\n", why)
	}
	return nil
}

// quorumWarning says why no check can pass with the perspectives ps
// enrolled, or "": every enrolled perspective takes part in every check,
// and those that corroborate must span two RIR regions (CA/B Forum BRs
// §3.2.2.9), so a set in one region blocks every validation until one of
// another region is enrolled.
func quorumWarning(ps []store.Perspective) string {
	rirs := make([]string, len(ps))
	names := make([]string, len(ps))
	for i, p := range ps {
		rirs[i], names[i] = p.RIR, p.Name+" "+p.RIR
	}
	if !perspective.QuorumImpossible(rirs) {
		return ""
	}
	return fmt.Sprintf("with the remote perspectives enrolled (%s), no check can pass, even with every agent running: those that corroborate must span two RIR regions (CA/B Forum BRs §3.2.2.9). Enrol one in another region, or remove these.", strings.Join(names, ", "))
}

func perspectiveList(ctx context.Context, data string, w io.Writer) error {
	st, authority, err := openPrimary(ctx, data, false, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	remotes, err := storeRemotes{st}.Remotes(ctx)
	if err != nil {
		return err
	}
	if len(remotes) == 0 {
		fmt.Fprintln(w, "no remote perspective enrolled")
		return nil
	}
	agentCA, err := agentCAOf(ctx, authority, st)
	if err != nil {
		// The perspectives are listed all the same: the operator may have
		// to remove them.
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tRIR\tURL\tHEALTH")
		for _, rm := range remotes {
			fmt.Fprintf(tw, "%s\t%s\t%s\tnot asked\n", rm.Name, rm.RIR, rm.URL)
		}
		if ferr := tw.Flush(); ferr != nil {
			return ferr
		}
		return err
	}
	id := perspective.NewPrimaryIdentity(agentCA, nil)
	health := make([]string, len(remotes))
	var wg sync.WaitGroup
	for i, rm := range remotes {
		wg.Go(func() {
			h, rt, err := perspective.Probe(ctx, id, rm, healthTimeout)
			switch {
			case err != nil:
				health[i] = "unavailable: " + err.Error()
			default:
				health[i] = fmt.Sprintf("%s (%s, %d observations, %d in flight)", h.Status, rt.Round(time.Millisecond), h.Observations, h.InFlight)
				if h.Detail != "" {
					health[i] += ": " + h.Detail
				}
				health[i] += "; " + credentialsState(rm, h, time.Now())
			}
		})
	}
	wg.Wait()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tRIR\tURL\tHEALTH")
	for i, rm := range remotes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", rm.Name, rm.RIR, rm.URL, health[i])
	}
	return tw.Flush()
}

// credentialsState says which credentials the agent of rm presented (h),
// until when, and what to do when they expire within 30 days or a renewal
// is pending.
func credentialsState(rm perspective.Remote, h *perspective.Health, now time.Time) string {
	s := "certificate valid until " + h.CertNotAfter.UTC().Format(time.DateOnly)
	switch {
	case rm.NextCertSHA256 != "" && h.CertSHA256 == rm.NextCertSHA256:
		s += ", the renewed one"
	case rm.NextCertSHA256 != "":
		s += "; renewed credentials not in use yet: start the agent with them"
	}
	if left := h.CertNotAfter.Sub(now); left < 30*24*time.Hour {
		s += fmt.Sprintf("; expires in %d days", max(0, int(left.Hours()/24)))
		if rm.NextCertSHA256 == "" || h.CertSHA256 == rm.NextCertSHA256 {
			// With renewed credentials not in use yet, starting the
			// agent with them is the fix, said above.
			s += ": dcv perspective renew " + rm.Name
		}
	}
	return s
}

func perspectiveRemove(ctx context.Context, data, name string, w, errOut io.Writer) error {
	// As serve opens it: a database refused there is not migrated here
	// (review).
	st, _, err := openPrimary(ctx, data, false, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.PerspectiveDelete(ctx, name); errors.Is(err, store.ErrNotFound) {
		return exitError{code: exitFailure, msg: fmt.Sprintf("perspective remove: no perspective named %s", name)}
	} else if err != nil {
		return err
	}
	fmt.Fprintf(w, "removed perspective %s\n", name)
	left, err := st.PerspectiveList(ctx)
	if err != nil {
		return err
	}
	if why := quorumWarning(left); why != "" {
		fmt.Fprintf(errOut, "warning: %s\n", why)
	}
	return nil
}
