package main

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"errors"
	"expvar"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/dcvhq/dcv/internal/accesslog"
	"github.com/dcvhq/dcv/internal/api"
	"github.com/dcvhq/dcv/internal/ca"
	"github.com/dcvhq/dcv/internal/caa"
	"github.com/dcvhq/dcv/internal/clientaddr"
	"github.com/dcvhq/dcv/internal/dnsclient"
	"github.com/dcvhq/dcv/internal/ident"
	"github.com/dcvhq/dcv/internal/jobs"
	"github.com/dcvhq/dcv/internal/metrics"
	"github.com/dcvhq/dcv/internal/order"
	"github.com/dcvhq/dcv/internal/store/sqlite"
	"github.com/dcvhq/dcv/internal/urlnorm"
	"github.com/dcvhq/dcv/internal/validation"
	"github.com/dcvhq/dcv/internal/webfetch"
)

// defaultGCPercent is serve's garbage collector target. Measured with
// `dcv bench` at concurrency 32 (README "Benchmarks"), 400 instead of Go's
// 100 gave about 10% more certificates/s and 0.5 ms less CPU per
// certificate, for a peak resident size of about 100 MB instead of 60 MB.
const defaultGCPercent = 400

// maxGCPercent bounds --gc-percent: past it the heap grows with little
// more saved.
const maxGCPercent = 10000

// defaultCAAIdentity is --caa-identity's default: a name under the
// reserved .invalid TLD (RFC 2606), which no CAA record names by mistake.
const defaultCAAIdentity = "dcv.invalid"

// validationFlags are the resolver, CAA and target flags that `serve` and,
// later, `check` and `agent` share.
type validationFlags struct {
	resolver      string
	caaIdentity   string
	httpPort      int
	httpsPort     int
	allowLoopback bool
	// allowPrivate: --allow-private-targets; internalNames:
	// --allow-internal-names (serve and check only, registerNames).
	allowPrivate  bool
	internalNames bool
	maxRedirects  int
	rootHints     string
	trustAnchor   string
	// perspective and source are set by `agent`, not by flags of their
	// own here: the vantage point's name and its outgoing address.
	perspective string
	source      netip.Addr
	// resolverCacheMaxTTL is set by `serve --resolver-cache-max-ttl`
	// (0: forward mode caches nothing).
	resolverCacheMaxTTL time.Duration
}

func (f *validationFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.resolver, "resolver", "", "forward DNS lookups to these recursive resolvers (host:port[,host:port]) instead of resolving iteratively from the root servers (the default)")
	fs.StringVar(&f.rootHints, "root-hints", "", "root hints file (named.root format) replacing the built-in IANA root servers of the iterative resolver")
	fs.StringVar(&f.trustAnchor, "trust-anchor", "", "DNSSEC trust anchors file (DS or DNSKEY records) replacing the built-in IANA root keys of the iterative resolver")
	fs.StringVar(&f.caaIdentity, "caa-identity", defaultCAAIdentity, "the CA's issuer domain name matched against CAA issue/issuewild records (an agent checks for the one its primary sends)")
	fs.IntVar(&f.httpPort, "validation-http-port", 80, "TEST KNOB: port dialled for http:// validation URLs")
	fs.IntVar(&f.httpsPort, "validation-https-port", 443, "TEST KNOB: port dialled for https:// validation URLs, and for ACME tls-alpn-01 (RFC 8737's port 443)")
	fs.BoolVar(&f.allowLoopback, "allow-loopback-targets", false, "TEST KNOB: allow validation targets on loopback addresses, and ACME orders for them as IP addresses (other special-purpose ranges stay refused)")
	fs.BoolVar(&f.allowPrivate, "allow-private-targets", false, "internal CA: allow validation targets and nameservers on private-use addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), and ACME orders for such IP addresses; link-local and other special-purpose ranges stay refused. Not for a publicly-trusted CA")
	fs.IntVar(&f.maxRedirects, "file-max-redirects", 0, "redirects followed when fetching a validation file (0-10): only 301/302/307/308 to http/https on ports 80/443 within the same registered domain (for an IP address, to the same address)")
}

// registerNames registers --allow-internal-names, which concerns the names
// a command accepts (serve, check), not an agent.
func (f *validationFlags) registerNames(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.internalNames, "allow-internal-names", false, "internal CA: accept names under internal domains (internal, corp, lan, home.arpa, local, test...) and under top-level domains IANA's root does not hold; localhost, invalid, example, onion, alt and arpa stay refused. Not for a publicly-trusted CA")
}

// names is the name policy of the flags.
func (f *validationFlags) names() ident.Policy {
	// IP address identifiers (ACME, RFC 8738) are the addresses a
	// validation may connect to.
	return ident.Policy{InternalNames: f.internalNames, IPs: ident.Targets{Loopback: f.allowLoopback, Private: f.allowPrivate}}
}

// validator builds the primary validator from the flags.
func (f *validationFlags) validator() (*validation.Validator, error) {
	res, err := f.dnsResolver()
	if err != nil {
		return nil, err
	}
	return f.validatorWith(res)
}

// dnsResolver builds the resolver of the flags: forward mode with
// --resolver; else the iterative resolver from --root-hints (or the
// built-in IANA root hints), validating DNSSEC from --trust-anchor (or the
// built-in IANA root keys).
func (f *validationFlags) dnsResolver() (dnsclient.Resolver, error) {
	if f.resolver != "" {
		if f.rootHints != "" || f.trustAnchor != "" {
			return nil, usageError(errors.New("--root-hints and --trust-anchor configure the iterative resolver; they cannot be combined with --resolver"))
		}
		servers, err := dnsclient.ParseServers(f.resolver)
		if err != nil {
			return nil, usageError(fmt.Errorf("--resolver: %w", err))
		}
		if f.resolverCacheMaxTTL < 0 || f.resolverCacheMaxTTL > dnsclient.MaxForwardCacheTTL {
			return nil, usageError(fmt.Errorf("--resolver-cache-max-ttl %v: must be between 0 (off) and %v", f.resolverCacheMaxTTL, dnsclient.MaxForwardCacheTTL))
		}
		fw, err := dnsclient.NewForwarder(dnsclient.ForwarderConfig{Servers: servers, Source: f.source, CacheMaxTTL: f.resolverCacheMaxTTL})
		if err != nil {
			// It refuses only a configuration: the flags' values.
			return nil, usageError(err)
		}
		return fw, nil
	}
	if f.resolverCacheMaxTTL != 0 {
		// The iterative resolver never answers a validation from a cache.
		return nil, usageError(errors.New("--resolver-cache-max-ttl caches the answers of --resolver: without it, dcv resolves iteratively and caches no answer it validates"))
	}
	var hints []netip.Addr // nil: the built-in IANA root hints
	if f.rootHints != "" {
		file, err := os.Open(f.rootHints)
		if err != nil {
			return nil, fmt.Errorf("--root-hints: %w", err)
		}
		hints, err = dnsclient.ParseRootHints(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("--root-hints %s: %w", f.rootHints, err)
		}
	}
	var anchors []dns.RR // nil: the built-in IANA root trust anchors
	if f.trustAnchor != "" {
		file, err := os.Open(f.trustAnchor)
		if err != nil {
			return nil, fmt.Errorf("--trust-anchor: %w", err)
		}
		anchors, err = dnsclient.ParseTrustAnchors(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("--trust-anchor %s: %w", f.trustAnchor, err)
		}
	}
	// The IANA root keys sign only the IANA root: a private root given by
	// --root-hints (a lab, a test world) is validated only against the
	// anchors the operator gives. Without them, DNSSEC is not validated,
	// and dcv says so rather than calling every answer bogus.
	var validator dnsclient.Validating
	if f.rootHints == "" || f.trustAnchor != "" {
		val, err := dnsclient.NewDNSSECValidator(dnsclient.DNSSECConfig{Anchors: anchors})
		if err != nil {
			return nil, fmt.Errorf("--trust-anchor: %w", err)
		}
		validator = val
	} else {
		fmt.Fprintln(os.Stderr, "dcv: warning: --root-hints without --trust-anchor: DNSSEC is not validated (the IANA root keys do not sign another root); pass --trust-anchor FILE with your root's DS or DNSKEY to validate it")
	}
	// A delegation to a special-purpose address is refused under the
	// IANA root, which serves the public Internet; under the operator's
	// own root hints (a private tree) its addresses are the operator's.
	it, err := dnsclient.NewIterative(dnsclient.IterativeConfig{RootHints: hints, Source: f.source, Validator: validator,
		AllowLoopbackServers: f.allowLoopback, AllowPrivateServers: f.allowPrivate, AllowReservedServers: f.rootHints != ""})
	if err != nil {
		return nil, err
	}
	return it, nil
}

// validatorWith builds the primary validator on res.
func (f *validationFlags) validatorWith(res dnsclient.Resolver) (*validation.Validator, error) {
	// An empty identity would make the validator skip CAA (BRs §3.2.2.8
	// require it): every domain would pass, whatever its CAA records say.
	// A final dot and capitals are the same name.
	f.caaIdentity = strings.ToLower(strings.TrimSuffix(f.caaIdentity, "."))
	if err := caa.CheckIssuerDomain(f.caaIdentity); err != nil {
		return nil, usageError(fmt.Errorf("--caa-identity: %w; it is the CA's issuer domain name that CAA issue records are matched against, and CAA cannot be skipped", err))
	}
	for _, p := range []int{f.httpPort, f.httpsPort} {
		if p < 1 || p > 65535 {
			return nil, usageError(fmt.Errorf("validation port %d is not in 1..65535", p))
		}
	}
	fc := webfetch.Config{Resolver: res, HTTPPort: f.httpPort, HTTPSPort: f.httpsPort, AllowLoopback: f.allowLoopback, AllowPrivate: f.allowPrivate, Perspective: f.perspective, Source: f.source, MaxRedirects: f.maxRedirects}
	fetcher, err := webfetch.New(fc)
	if err != nil {
		// It refuses only a configuration: --file-max-redirects out of
		// range (the ports are checked above).
		return nil, usageError(err)
	}
	// ACME http-01 follows redirects (RFC 8555 §8.3), to any host, under
	// every other rule of the file fetcher.
	fc.MaxRedirects, fc.AnyDomainRedirects = webfetch.MaxRedirectsLimit, true
	http01, err := webfetch.New(fc)
	if err != nil {
		return nil, err
	}
	return validation.New(validation.Config{Perspective: f.perspective, Resolver: res, Fetcher: fetcher, HTTP01Fetcher: http01, CAAIdentity: f.caaIdentity,
		TLSALPN: validation.TLSALPNConfig{Port: f.httpsPort, AllowLoopback: f.allowLoopback, AllowPrivate: f.allowPrivate, Source: f.source}})
}

type serveFlags struct {
	data          string
	listen        string
	publicURL     string
	aiaURL        string
	crlURL        string
	checkInterval time.Duration
	valueValidity time.Duration
	certValidity  time.Duration
	ipMaxValidity time.Duration
	logLevel      string
	resetAdminKey bool
	newDatabase   bool
	pprofListen   string
	metricsListen string
	gcPercent     int
	// apiLimitNewOrders is --api-limit-new-orders, COUNT/PERIOD.
	apiLimitNewOrders string
	// apiMaxPendingOrders is --api-max-pending-orders.
	apiMaxPendingOrders int
	// preflightPerKey and preflightPerClient are --preflight-limit-per-key
	// and --preflight-limit-per-client, COUNT/PERIOD.
	preflightPerKey, preflightPerClient string
	// trustedProxies is --trusted-proxies, CIDR[,CIDR...].
	trustedProxies string
	perspectiveFlags
	validationFlags
	acmeFlags
	tlsFlags
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the dcv server (REST API, validation, issuance) on embedded defaults",
		Long: `Run the dcv server. With no flags it keeps everything in ./dcv-data (SQLite
database, CA keys), listens on 127.0.0.1:8080, and on first start creates the
admin account, printing its API key once and writing it to <data>/admin.key.
Every flag can also be set as DCV_<FLAG> (DCV_CHECK_INTERVAL=1m).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, f, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.data, "data", "dcv-data", "data directory (database, CA keys, admin.key)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address the API listens on")
	fs.StringVar(&f.publicURL, "public-url", "", "URL clients reach this server at, used in ACME's URLs and, when http://, in certificates' AIA and CRL URLs (default http://<listen>, or https://<listen> with --tls-cert); a path in it is for a proxy that strips it: dcv itself serves from /")
	fs.StringVar(&f.aiaURL, "aia-url", "", "caIssuers URL put in certificates, http:// (default <public-url>/ca/intermediate.cer, or that of --ca-listen, which this server serves)")
	fs.StringVar(&f.crlURL, "crl-url", "", "CRL distribution point put in certificates, http:// (default <public-url>/ca/intermediate.crl, or that of --ca-listen, which this server serves)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve the API and ACME over HTTPS with this certificate chain (PEM; reloaded when the file changes)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "the private key of --tls-cert (PEM)")
	fs.StringVar(&f.caListen, "ca-listen", "", "with an https:// public URL: also listen on ADDR over plain http for the CA's certificate and CRL alone (/ca/), the URLs put in certificates")
	durationFlag(fs, &f.checkInterval, "check-interval", order.DefaultCheckInterval, "least time between two checks of one order (0: the default)")
	durationFlag(fs, &f.valueValidity, "value-validity", order.DefaultValueValidity, "how long a random value stays valid (at most 30d)")
	durationFlag(fs, &f.certValidity, "cert-validity", 0, "certificate validity; 0: 90d, or less once the CA/B Forum BRs §6.3.2 require it (46d from 15 March 2029); at most 199d until 15 March 2027, then 99d")
	durationFlag(fs, &f.ipMaxValidity, "ip-max-validity", 0, "the longest a certificate naming an IP address is valid, whatever --cert-validity or its ACME profile say (an address changes hands more readily than a domain; Let's Encrypt issues them for about 6 days); 0: no such bound")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&f.newDatabase, "new-database", false, "start an empty database beside an existing CA (DATA/ca without DATA/dcv.db), on purpose: the CA's earlier certificates and revocations are not in it, and its CRL lists none of them")
	fs.BoolVar(&f.resetAdminKey, "reset-admin-key", false, "give the admin account a new API key at start, written to DATA/admin.key and printed once (the old one stops working): for an operator who lost it")
	fs.IntVar(&f.gcPercent, "gc-percent", defaultGCPercent, "Go garbage collector target (as GOGC): heap growth in percent before a collection; a GOGC environment variable takes precedence, and GOMEMLIMIT bounds memory")
	durationFlag(fs, &f.resolverCacheMaxTTL, "resolver-cache-max-ttl", 0, "with --resolver: cache its answers for their TTL, at most this long (at most 60s; negative answers at most 5s; 0, the default, caches nothing)")
	fs.StringVar(&f.apiLimitNewOrders, "api-limit-new-orders", "", "new orders per account (not an admin) through the API, as COUNT/PERIOD (default 1000/1h)")
	fs.IntVar(&f.apiMaxPendingOrders, "api-max-pending-orders", order.DefaultMaxPendingOrders, "the most pending orders an account (not an admin) may have through the API at once, those whose values expired aside (dcv checks each on its own); past it, 429 TOO_MANY_PENDING_ORDERS until one is canceled or expires; 0: no limit")
	fs.StringVar(&f.preflightPerKey, "preflight-limit-per-key", "", "pre-flight checks (POST /api/v1/checks) per API key, as COUNT/PERIOD (default 30/1m)")
	fs.StringVar(&f.preflightPerClient, "preflight-limit-per-client", "", "pre-flight checks per client address (an IPv6 client by its /64), as COUNT/PERIOD (default 60/1m; raise it for a console that sends its users' checks from one address)")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", "", "reverse proxies (CIDR[,CIDR...]) whose X-Forwarded-For names the client: a request from one of them is counted and logged as the right-most address of the header that is not a trusted proxy's (default none: the TCP peer)")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics (checks and their blocking findings, the CA's own failures, issuance, revocations, ACME validations, HTTP requests, remote perspectives; off when empty). Bind it to an address only your monitoring reaches")
	fs.StringVar(&f.pprofListen, "pprof-listen", "", "DIAGNOSTICS: serve Go's net/http/pprof profiles at http://ADDR/debug/pprof/ (loopback addresses only; off when empty)")
	f.perspectiveFlags.register(cmd)
	f.validationFlags.register(cmd)
	f.validationFlags.registerNames(cmd)
	f.acmeFlags.register(cmd)
	return cmd
}

func serve(ctx context.Context, f serveFlags, out io.Writer) error {
	// The flags' values are checked before anything is created or served:
	// a wrong one is a usage error (exit status 2). What only the files,
	// the network or the data directory can refuse (a file that does not
	// load, an address in use) stays a failure (1).
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usageError(fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel))
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	defer ignoreHangup(logger, "TLS certificate files are read again when they change; other settings take a restart")()
	if max := ca.MaxValidityAt(time.Now()); f.certValidity < 0 || f.certValidity > max || (f.certValidity > 0 && f.certValidity < ca.MinValidity) {
		return usageError(fmt.Errorf("--cert-validity %s is outside [0 (the default), %s], and 0 or at least 1h (CA/B Forum BRs §6.3.2: the longest a certificate issued now should last; a leaf is backdated by a minute)", durationValue{&f.certValidity}, ca.Days(max)))
	}
	if f.ipMaxValidity < 0 || (f.ipMaxValidity > 0 && f.ipMaxValidity < ca.MinValidity) {
		return usageError(fmt.Errorf("--ip-max-validity %s must be 0 (no bound) or at least %s", durationValue{&f.ipMaxValidity}, durationValue{new(ca.MinValidity)}))
	}
	if f.valueValidity < 0 || f.valueValidity > order.MaxValueValidity {
		return usageError(fmt.Errorf("--value-validity %s is outside [0 (the default), %s]", durationValue{&f.valueValidity}, durationValue{new(order.MaxValueValidity)}))
	}
	if f.checkInterval < 0 {
		return usageError(errors.New("--check-interval must not be negative"))
	}
	if ci, vv := cmp.Or(f.checkInterval, order.DefaultCheckInterval), cmp.Or(f.valueValidity, order.DefaultValueValidity); ci >= vv {
		// Every order's value would expire before its second check.
		return usageError(fmt.Errorf("--check-interval %s is not shorter than --value-validity %s: an order could be checked only once while its value is valid", durationValue{&ci}, durationValue{&vv}))
	}
	if f.gcPercent < 1 || f.gcPercent > maxGCPercent {
		return usageError(fmt.Errorf("--gc-percent %d: must be between 1 and %d", f.gcPercent, maxGCPercent))
	}
	if f.minRemote < 0 {
		return usageError(errMinRemoteNegative)
	}
	if f.maxObservations < 1 {
		return usageError(errMaxObservations)
	}
	if err := checkListenAddr("--listen", f.listen); err != nil {
		return err
	}
	if f.caListen != "" {
		if err := checkListenAddr("--ca-listen", f.caListen); err != nil {
			return err
		}
	}
	if f.pprofListen != "" {
		if err := checkPprofListen(f.pprofListen); err != nil {
			return err
		}
	}
	if f.metricsListen != "" {
		if err := checkListenAddr("--metrics-listen", f.metricsListen); err != nil {
			return err
		}
	}
	acmeSet, err := f.acmeFlags.check(f.certValidity)
	if err != nil {
		return err
	}
	acmeSet.profiles = boundForAddresses(acmeSet.profiles, f.certValidity, f.ipMaxValidity)
	if err := checkPublicURL(f.listen, f.publicURL, f.tlsFlags.on()); err != nil {
		return usageError(err)
	}
	newOrderLimit, err := parseLimit("api-limit-new-orders", f.apiLimitNewOrders, "new orders per account")
	if err != nil {
		return usageError(err)
	}
	if f.apiMaxPendingOrders < 0 {
		return usageError(fmt.Errorf("--api-max-pending-orders %d: want a count of orders, or 0 for no limit", f.apiMaxPendingOrders))
	}
	preflightPerKey, err := parseLimit("preflight-limit-per-key", f.preflightPerKey, "pre-flight checks per API key")
	if err != nil {
		return usageError(err)
	}
	preflightPerClient, err := parseLimit("preflight-limit-per-client", f.preflightPerClient, "pre-flight checks per client address")
	if err != nil {
		return usageError(err)
	}
	trusted, err := clientaddr.ParsePrefixes(f.trustedProxies)
	if err != nil {
		return usageError(fmt.Errorf("--trusted-proxies: %w", err))
	}
	clients := clientaddr.New(trusted)
	for _, p := range trusted {
		if p.Bits() == 0 {
			// Every peer may then name its own address: the per-client
			// limits count whatever a client claims.
			logger.Warn("--trusted-proxies trusts every address: any client can choose the address it is counted and logged as; list your proxies' addresses", "prefix", p.String())
		}
	}
	if f.publicCA && (f.internalNames || f.allowPrivate) {
		return usageError(errors.New("--public-ca cannot be combined with --allow-internal-names or --allow-private-targets: a publicly-trusted CA validates and certifies public names only (CA/B Forum BRs §4.2.2, §3.2.2.4)"))
	}
	if f.internalNames || f.allowPrivate {
		logger.Warn("internal CA: --allow-internal-names or --allow-private-targets is on; its certificates do not meet the CA/B Forum BRs and must not chain to a publicly-trusted root", "internal_names", f.internalNames, "private_targets", f.allowPrivate)
	}
	if err := f.tlsFlags.check(f.publicURL, f.aiaURL, f.crlURL, time.Now()); err != nil {
		return err
	}
	if max := order.MaxAuthzReuseAt(time.Now()); f.authzReuse > max {
		logger.Warn("--acme-authz-reuse is longer than CA/B Forum BRs §4.2.1 allow now: the shorter limit is used", "setting", durationValue{&f.authzReuse}.String(), "used", durationValue{&max}.String())
	}
	v, err := f.validator()
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(f.gcPercent)
	}
	// A data directory that exists is locked first: a second serve on it
	// is told so, not that its address is in use (interop run). The
	// addresses are taken before a new data directory is made: one in
	// use leaves nothing behind.
	var unlock func()
	if st, err := os.Stat(f.data); err == nil && st.IsDir() {
		if unlock, err = lockDataDir(f.data); err != nil {
			return err
		}
		defer unlock()
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	defer ln.Close()
	var caLn net.Listener
	if f.caListen != "" {
		if caLn, err = net.Listen("tcp", f.caListen); err != nil {
			return fmt.Errorf("--ca-listen: %w", err)
		}
		defer caLn.Close()
	}
	scheme := "http"
	if f.tlsFlags.on() {
		scheme = "https"
	}
	public := strings.TrimRight(f.publicURL, "/")
	if public == "" {
		public = scheme + "://" + ln.Addr().String()
	}
	// Without a default port (https://h, not https://h:443): the form
	// clients write, and the one ACME compares (urlnorm.Canonical).
	public = urlnorm.Canonical(public)
	// The base of the http:// URLs put in certificates.
	caBase := public
	if caLn != nil {
		caBase = caURL(public, caLn.Addr().(*net.TCPAddr).Port)
	}
	caCfg := ca.Config{
		Dir:          filepath.Join(f.data, "ca"),
		Validity:     f.certValidity,
		AIAIssuerURL: cmp.Or(f.aiaURL, caBase+"/ca/intermediate.cer"),
		CRLURL:       cmp.Or(f.crlURL, caBase+"/ca/intermediate.crl"),
		// Internal names fail the BR lint of top-level domains, which
		// such a CA waives (ca.Config.InternalNames).
		InternalNames: f.internalNames,
		// So do the private (or, in a lab, loopback) addresses such a CA
		// certifies (ca.Config.IPs).
		IPs: f.names().IPs,
	}
	if err := lintsPass(caCfg); err != nil {
		return exitError{code: exitUsage, msg: err.Error()}
	}
	if unlock == nil {
		if err := os.MkdirAll(f.data, 0o700); err != nil {
			return fmt.Errorf("creating data directory: %w", err)
		}
		if unlock, err = lockDataDir(f.data); err != nil {
			return err
		}
		defer unlock()
	}
	var certs *certReloader
	if f.tlsFlags.on() {
		if certs, err = newCertReloader(f.tlsCert, f.tlsKey, time.Now, logger); err != nil {
			return err
		}
		watchCtx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		go certs.watch(watchCtx, time.Hour)
	}
	if certs != nil {
		if u, err := url.Parse(public); err == nil {
			if err := certs.cert.Leaf.VerifyHostname(u.Hostname()); err != nil {
				logger.Warn("the tls certificate does not name the public URL's host: clients will refuse it", "public_url", public, "err", err)
			}
		}
	}
	if f.pprofListen != "" {
		stopPprof, err := servePprof(f.pprofListen, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	var mets *metrics.Metrics // nil: nothing counted
	if f.metricsListen != "" {
		mets = metrics.New()
		stopMetrics, err := serveMetrics(f.metricsListen, mets, logger)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}

	dbPath := filepath.Join(f.data, "dcv.db")
	st, authority, err := openData(ctx, f.data, caCfg, f.newDatabase)
	if err != nil {
		return err
	}
	defer st.Close()
	if !authority.RootOffline() {
		logger.Info("the CA's root key is in the data directory; once the intermediate is signed it is needed no more here: keep it offline (move "+filepath.Join(f.data, "ca", ca.RootKeyFile)+" to offline storage; dcv serve runs without it)", "root_key", filepath.Join(f.data, "ca", ca.RootKeyFile))
	}
	if from, to := st.SchemaChange(); from != 0 && from != to {
		// An upgrade changed the database: said, for the operator who
		// keeps backups (an older binary refuses it from now on).
		logger.Warn("database schema migrated: an older dcv can no longer open it", "from", from, "to", to, "database", dbPath)
	}
	if f.caaIdentity == defaultCAAIdentity {
		logger.Warn("--caa-identity is the default " + defaultCAAIdentity + ": every domain that publishes CAA records fails validation; set it to the issuer domain name your CAA records name")
	}
	runner, err := f.perspectiveFlags.runner(v, st, authority, logger, mets)
	if err != nil {
		return err
	}
	defer runner.Close()
	// Forward mode: the resolvers are the CA's, and applicants' views do
	// not name them (validated with the resolver above).
	ownResolvers, _ := dnsclient.ParseServers(f.resolver)
	orders, err := order.New(order.Config{
		Store: st, Observer: runner, Issuer: authority,
		CheckInterval: f.checkInterval, ValueValidity: f.valueValidity, IPMaxValidity: f.ipMaxValidity, Logger: logger, Metrics: mets,
		NewOrderLimit: newOrderLimit, OwnResolvers: ownResolvers, Names: f.names(), MaxPendingOrders: maxPending(f.apiMaxPendingOrders),
	})
	if err != nil {
		return err
	}
	acmeSvc, acmeHandler, err := f.acmeFlags.build(acmeSet, orders, authority.IntermediateDER(), public, f.caaIdentity, logger)
	if err != nil {
		return err
	}
	defer acmeSvc.Wait()
	// No check runs yet: the slots of checks a killed process never
	// recorded are given back. API orders whose issuance failed for good
	// (a lint refused the certificate) wait for the operator, who mends
	// the configuration and restarts: the issuance at start tries them
	// again.
	if n, err := orders.ReleaseInterruptedChecks(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Info("check slots of checks cut short by the last stop given back", "orders", n)
	}
	if n, err := orders.RetryFailedIssuance(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Info("orders whose issuance failed before this start are issued again", "orders", n)
	}
	// The revocation of a compromised key's certificates that a restart, a
	// timeout or an error cut short starts again, at once and every few
	// minutes; it stops with the server.
	sweepCtx, stopSweeper := context.WithCancel(ctx)
	defer stopSweeper() // before Wait, deferred above
	acmeSvc.StartKeySweeper(sweepCtx, order.DefaultKeySweeperInterval)
	jobDB, err := sql.Open("sqlite", sqlite.DSN(dbPath))
	if err != nil {
		return fmt.Errorf("opening job database: %w", err)
	}
	defer jobDB.Close()
	jobDB.SetMaxOpenConns(1)
	jr, err := jobs.New(ctx, jobs.Config{DB: jobDB, Orders: orders, Logger: logger})
	if err != nil {
		return err
	}
	orders.SetScheduler(jr)
	if err := jr.Start(ctx); err != nil {
		return fmt.Errorf("starting jobs: %w", err)
	}
	// Stopped before the databases close, on every way out: after the
	// HTTP servers on a shutdown, at once when one of them fails.
	stopJobs := sync.OnceFunc(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := jr.Stop(sctx); err != nil {
			logger.Error("stopping jobs", "err", err)
		}
	})
	defer stopJobs()

	admin, err := orders.EnsureAdmin(ctx)
	if err != nil {
		return err
	}
	keyPath := filepath.Join(f.data, "admin.key")
	if admin == nil && f.resetAdminKey {
		// The operator lost the admin key (or rotated it and lost the
		// new one): a new one, written where the first was.
		// The key file must be writable before the old key is ended: a
		// key that could be neither written nor shown would lock the
		// operator out again.
		if err := checkWritable(keyPath); err != nil {
			return exitError{code: exitFailure, msg: fmt.Sprintf("--reset-admin-key: %s cannot be written (%v): nothing was changed", keyPath, err)}
		}
		if admin, err = orders.ResetAdminKey(ctx); err != nil {
			return err
		}
		// Shown first: the file's write may still fail.
		fmt.Fprintf(out, "gave the admin account %s a new API key; the old one no longer works (shown once, also in %s):\n%s\n", admin.ID, keyPath, admin.APIKey)
		if err := os.WriteFile(keyPath, []byte(admin.APIKey+"\n"), 0o600); err != nil {
			return fmt.Errorf("writing %s (the new key is shown above): %w", keyPath, err)
		}
		admin = nil
	}
	if admin != nil {
		// Shown first: a key neither written nor shown would leave the
		// operator without one (--reset-admin-key mends it then).
		fmt.Fprintf(out, "created the admin account; its API key (shown once, also in %s):\n%s\n", keyPath, admin.APIKey)
		if err := os.WriteFile(keyPath, []byte(admin.APIKey+"\n"), 0o600); err != nil {
			return fmt.Errorf("writing %s (the key is shown above; keep it, or start with --reset-admin-key for a new one): %w", keyPath, err)
		}
	}

	var observe accesslog.Observer // the requests' metrics, when served
	if mets != nil {
		observe = func(r *http.Request, status int, took time.Duration) { mets.Request(routeClass(r), status, took) }
	}
	apiHandler := api.New(api.Config{Orders: orders, CA: authority, Logger: logger, Version: version,
		PreflightPerKey: preflightPerKey, PreflightPerClient: preflightPerClient})
	srv := &http.Server{
		Handler:           clients.Handler(accesslog.Handler(mountACME(apiHandler, acmeHandler), logger, observe)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      3 * time.Minute, // a check observes every domain
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          serverErrorLog(logger),
	}
	fmt.Fprintf(out, "dcv %s listening on %s://%s (public URL %s, data in %s)\n", version, scheme, ln.Addr(), public, f.data)
	errc := make(chan error, 2)
	if certs != nil {
		srv.TLSConfig = certs.tlsConfig()
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	var caSrv *http.Server
	if caLn != nil {
		caSrv = &http.Server{
			Handler:           clients.Handler(accesslog.Handler(caOnly(apiHandler, public), logger, observe)),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      time.Minute,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          serverErrorLog(logger),
		}
		fmt.Fprintf(out, "the CA's certificates and CRL over http on %s; certificates name %s and %s\n", caLn.Addr(), caCfg.AIAIssuerURL, caCfg.CRLURL)
		// Each URL left to its default (review: the CRL's too).
		for _, u := range []struct{ url, flag string }{{caCfg.AIAIssuerURL, f.aiaURL}, {caCfg.CRLURL, f.crlURL}} {
			if w := caURLUnreachable(u.url, caLn.Addr()); w != "" && u.flag == "" {
				logger.Warn(w)
			}
		}
		go func() { errc <- caSrv.Serve(caLn) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("http shutdown", "err", err)
	}
	if caSrv != nil {
		if err := caSrv.Shutdown(sctx); err != nil {
			logger.Error("http shutdown (--ca-listen)", "err", err)
		}
	}
	stopJobs()
	return nil
}

// serveMetrics serves m at http://addr/metrics until the returned function
// is called.
func serveMetrics(addr string, m *metrics.Metrics, logger *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("metrics listener", "err", err)
		}
	}()
	logger.Info("metrics served", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { srv.Close() }, nil
}

// routeClass is the route class of a request in the metrics: a small
// fixed set (no path, id or domain is a label).
func routeClass(r *http.Request) string {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/api/"):
		return "api"
	case strings.HasPrefix(p, "/acme/"):
		return "acme"
	case strings.HasPrefix(p, "/ca/"):
		return "ca"
	}
	return "other"
}

// servePprof serves net/http/pprof's handlers on addr, which must be a
// loopback address: profiles show internals (goroutine stacks, allocation
// sites) that no remote party should read. It returns a function that stops
// the listener.
func servePprof(addr string, logger *slog.Logger) (func(), error) {
	if err := checkPprofListen(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// expvar counters (e.g. the store's durable commits, one fsync each).
	mux.Handle("/debug/vars", expvar.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("pprof listener", "err", err)
		}
	}()
	logger.Info("pprof profiles served", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { srv.Close() }, nil
}

// checkListenAddr refuses, as a usage error, a listen address (of flag)
// that is no host:port with a valid port: what net.Listen would refuse for
// its form. An address in use, or a host name that does not resolve, is
// left to net.Listen.
func checkListenAddr(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		return usageError(fmt.Errorf("%s %s: %w", flag, addr, err))
	}
	return nil
}

// checkPprofListen refuses, as a usage error, a --pprof-listen address
// that is no loopback ip:port.
func checkPprofListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError(fmt.Errorf("--pprof-listen: %w", err))
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return usageError(fmt.Errorf("--pprof-listen %s: the host must be a loopback IP address", addr))
	}
	return checkListenAddr("--pprof-listen", addr)
}

// lintsPass builds, without signing it, the certificate a CA configured as
// cfg would issue for a name, with a throwaway hierarchy (cfg's directory
// is not touched), and returns an error naming the lints it fails: a
// configuration every certificate fails (an AIA or CRL URL with an
// internal name such as localhost) is refused at start, changing nothing,
// not found at the first order, which would wait for its operator.
func lintsPass(cfg ca.Config) error {
	dir, err := os.MkdirTemp("", "dcv-lint-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.Dir = dir
	authority, err := ca.LoadOrCreate(cfg)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	_, err = authority.Prepare(ca.IssueRequest{DNSNames: []string{"dcv-configuration-check.example.com"}, PublicKey: key.Public()})
	var le *ca.LintError
	if errors.As(err, &le) {
		hint := "use an IP address or a public name"
		if !cfg.InternalNames {
			hint += ", or, for an internal CA, --allow-internal-names"
		}
		return fmt.Errorf("every certificate would fail the lints with this configuration (check --public-url, --aia-url and --crl-url: %s): %w", hint, err)
	}
	return err
}

// checkWritable reports whether a file can be written at path: it is a
// regular file that opens for writing, or it does not exist and a file
// can be created beside it. Nothing is changed.
func checkWritable(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	case err == nil:
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return f.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".dcv-write-check-")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// maxPending is order.Config.MaxPendingOrders for --api-max-pending-orders,
// whose 0 is no limit (order's 0 is its default).
func maxPending(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
