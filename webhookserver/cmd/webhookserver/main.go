// Command webhookserver is the fulfillment server that the operator deploys and that users run on their laptop
// from the same YAML files.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/internal/version"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/gcpercent"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/logging"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/redact"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/send"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
)

const usage = `webhookserver: webhook fulfillment for chatbots and automation platforms

Usage:
  webhookserver serve --manifests PATH... [flags]   serve WebhookEndpoints and IntentRoutes from YAML manifests
  webhookserver serve --config FILE [flags]         serve the configuration the operator renders
  webhookserver send --manifests DIR --endpoint NAME [--intent|--action|--tag|--event NAME] [--param k=v]...
                                                    send a request in the endpoint's dialect, authenticated as it
                                                    requires, and show the answer and the route (send -h)
  webhookserver hmac-key --scheme SCHEME             print a new random HMAC key in the scheme's format
  webhookserver deadletters list [--endpoint NS/NAME] [admin flags]         list an Async endpoint's dead letters
  webhookserver deadletters replay ID [--endpoint NS/NAME] [admin flags]    queue a dead letter again
  webhookserver deadletters purge ID|--all [--endpoint NS/NAME] [admin flags]
                                                    delete one dead letter, or all of the endpoint's
                                                    (admin flags: --admin URL, --admin-token-file FILE)
  webhookserver version                             print the version

Run 'webhookserver serve -h' for the flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "send":
		return send.Main(args[1:], stdout, stderr)
	case "hmac-key":
		return hmacKey(args[1:], stdout, stderr)
	case "deadletters":
		return deadLetters(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version.Get())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// stringList is a repeatable flag that also splits on commas.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

// Type names the flag's type in the flag reference (docs/reference/flags.md).
func (l *stringList) Type() string { return "list" }

func (l *stringList) Set(value string) error {
	for _, part := range strings.Split(value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// serveOptions are the flags of serve.
type serveOptions struct {
	manifests          stringList
	configFile         string
	endpointName       string
	listen             string
	metricsListen      string
	adminListen        string
	adminTokenFile     string
	reloadInterval     time.Duration
	shutdownDelay      time.Duration
	shutdownTimeout    time.Duration
	tlsCertFile        string
	tlsKeyFile         string
	allowUpstreams     stringList
	readHeaderTimeout  time.Duration
	queueDir           string
	podName            string
	breakerOpenTimeout time.Duration
	memoryStoreMiB     int64
	logFormat          string
	logLevel           string
	pprofListen        string
	gcRunway           bool
}

// serveFlags defines the flags of serve. Defaults read from the environment come through getenv, so that the
// flag reference (docs/reference/flags.md) is generated from these very definitions, whatever the environment.
func serveFlags(getenv func(string) string) (*flag.FlagSet, *serveOptions) {
	opts := &serveOptions{}
	flags := flag.NewFlagSet("serve", flag.ContinueOnError)
	flags.Var(&opts.manifests, "manifests", "YAML files or folders with WebhookEndpoint, IntentRoute and Secret documents (repeatable; paths after the flags count too)")
	flags.StringVar(&opts.configFile, "config", "", "configuration file rendered by the operator (ConfigMap <endpoint>-config)")
	flags.StringVar(&opts.endpointName, "endpoint", "", "serve only these WebhookEndpoints (comma-separated names or namespace/names) when several are given")
	flags.StringVar(&opts.listen, "listen", server.DefaultListen, "address of the webhook listener")
	flags.StringVar(&opts.metricsListen, "metrics-listen", ":9090", "address of /metrics, /healthz, /readyz and /statusz")
	flags.StringVar(&opts.adminListen, "admin-listen", "127.0.0.1:9091", "address of the dead-letter operations (webhookserver deadletters); \"\" turns them off; a non-loopback address needs --admin-token-file")
	flags.StringVar(&opts.adminTokenFile, "admin-token-file", "", "file holding the token every admin request must send as Authorization: Bearer (read on every request, so a rotated Secret applies at once)")
	flags.DurationVar(&opts.reloadInterval, "reload-interval", time.Second, "how often the configuration and mounted Secrets are checked for changes")
	flags.DurationVar(&opts.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, keep serving this long after /readyz turns 503, so load balancers stop sending first (5s in a cluster)")
	flags.DurationVar(&opts.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long in-flight requests may take to finish")
	flags.StringVar(&opts.tlsCertFile, "tls-cert-file", "", "serve HTTPS with this PEM certificate (reloaded when it changes); needs --tls-key-file")
	flags.StringVar(&opts.tlsKeyFile, "tls-key-file", "", "the PEM key of --tls-cert-file")
	flags.Var(&opts.allowUpstreams, "allow-upstream-cidrs", "link-local addresses that call and forward may reach after all (repeatable; cloud metadata and link-local addresses are refused otherwise)")
	flags.DurationVar(&opts.readHeaderTimeout, "read-header-timeout", 10*time.Second, "how long a client may take to send its request headers")
	flags.StringVar(&opts.queueDir, "queue-dir", "fulfillment-queue", "folder of the on-disk queues of Async endpoints with queue: Local, relative to the working directory unless absolute (a volume in a cluster)")
	flags.StringVar(&opts.podName, "pod-name", getenv("POD_NAME"), "this replica's pod name (default $POD_NAME): the server drains while the configuration names it in drainPods; empty never drains")
	flags.DurationVar(&opts.breakerOpenTimeout, "breaker-open-timeout", 5*time.Second, "how long an upstream's circuit stays open after repeated failures before a trial request")
	flags.Int64Var(&opts.memoryStoreMiB, "idempotency-memory-mib", idempotency.DefaultMaxBytes>>20, "MiB of answers the Memory idempotency stores of the process keep together, bookkeeping included, oldest evicted first whichever endpoint gave them (about 2,200 Dialogflow answers per MiB; the process needs about twice this)")
	flags.StringVar(&opts.logFormat, "log-format", "json", "log format: json or text")
	flags.StringVar(&opts.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	flags.BoolVar(&opts.gcRunway, "gc-runway", true, "after every garbage collection, let the heap grow by at least 6 MiB over what is live before the next, so that a small heap collects less often under load; ignored when GOGC is set")
	flags.StringVar(&opts.pprofListen, "pprof-listen", "", "address of Go's profiles (/debug/pprof/), for go tool pprof; off unless set (use a loopback address)")
	return flags, opts
}

func serve(args []string, stderr io.Writer) int {
	flags, opts := serveFlags(os.Getenv)
	flags.SetOutput(stderr)
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if opts.pprofListen == "" {
		// Nobody can read a heap profile, so none is recorded: the profile's hash table of call stacks grows
		// under load otherwise, and stays resident.
		runtime.MemProfileRate = 0
	}
	if opts.gcRunway {
		gcpercent.KeepRunway() // before the first load, which lowers the percent while it runs
	}
	manifests := append(opts.manifests, flags.Args()...)

	// Everything printed from here on, log lines and errors alike, goes through one Writer, so it stays in
	// order; the deferred Close writes what is pending before the program exits.
	out := logging.NewWriter(stderr)
	defer out.Close()
	stderr = out
	secrets := &redact.Secrets{}
	logger, err := logging.New(stderr, opts.logFormat, opts.logLevel, secrets)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if limit, ok := goMemoryLimit(os.Getenv); ok {
		debug.SetMemoryLimit(limit)
		logger.Info("Go memory limit set to 90% of the container's", "bytes", limit)
	}
	allowed, err := action.ParseAllowedCIDRs(opts.allowUpstreams)
	if err != nil {
		fmt.Fprintln(stderr, "--allow-upstream-cidrs:", err)
		return 2
	}
	if opts.memoryStoreMiB < 1 || opts.memoryStoreMiB > 1<<20 {
		fmt.Fprintln(stderr, "--idempotency-memory-mib must be between 1 and 1048576")
		return 2
	}
	if (opts.tlsCertFile == "") != (opts.tlsKeyFile == "") {
		fmt.Fprintln(stderr, "give both --tls-cert-file and --tls-key-file, or neither")
		return 2
	}
	var source server.Source
	switch {
	case len(manifests) > 0 && opts.configFile != "":
		fmt.Fprintln(stderr, "give either --manifests or --config, not both")
		return 2
	case len(manifests) > 0:
		source = &server.ManifestSource{Paths: manifests, Endpoint: opts.endpointName, Logf: func(format string, args ...any) {
			logger.Info(fmt.Sprintf(format, args...))
		}}
	case opts.configFile != "":
		source = &server.FileSource{Path: opts.configFile, Endpoint: opts.endpointName}
	default:
		fmt.Fprintln(stderr, "nothing to serve: give --manifests PATH... (for example config/samples) or --config FILE")
		return 2
	}

	provider, err := startTracing(logger)
	if err != nil {
		fmt.Fprintf(stderr, "webhookserver: %v\n", err)
		return 2
	}
	srv, err := server.New(server.Options{
		Tracer:              provider.Tracer(),
		Source:              source,
		Listen:              opts.listen,
		MetricsListen:       opts.metricsListen,
		AdminListen:         opts.adminListen,
		AdminTokenFile:      opts.adminTokenFile,
		ReloadInterval:      opts.reloadInterval,
		ShutdownDelay:       opts.shutdownDelay,
		ShutdownTimeout:     opts.shutdownTimeout,
		Logger:              logger,
		Secrets:             secrets,
		TLSCertFile:         opts.tlsCertFile,
		BreakerOpenTimeout:  opts.breakerOpenTimeout,
		QueueDir:            opts.queueDir,
		PodName:             opts.podName,
		AllowedUpstreams:    allowed,
		ReadHeaderTimeout:   opts.readHeaderTimeout,
		TLSKeyFile:          opts.tlsKeyFile,
		MemoryStoreMaxBytes: opts.memoryStoreMiB << 20,
	})
	if err != nil {
		// Problems go to stderr as plain lines, one per problem, for a person to fix.
		fmt.Fprintf(stderr, "webhookserver: %v\n", secrets.Redact(err.Error()))
		return 1
	}
	if opts.pprofListen != "" {
		listener, err := servePprof(opts.pprofListen, logger)
		if err != nil {
			fmt.Fprintf(stderr, "--pprof-listen: %v\n", err)
			return 2
		}
		defer listener.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	runErr := srv.Run(ctx)
	flushTraces(provider, logger)
	if runErr != nil {
		logger.Error("server failed", "error", runErr.Error())
		return 1
	}
	return 0
}

// hmacKey prints a new key for a Secret's `secret` key (standalone use; in a cluster the operator generates it).
func hmacKey(args []string, stdout, stderr io.Writer) int {
	flags, scheme := hmacKeyFlags()
	flags.SetOutput(stderr)
	if err := flags.Parse(args); err != nil {
		return 2
	}
	key, err := hmackey.Generate(fulfillmentv1alpha1.HMACScheme(*scheme))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprintln(stdout, string(key))
	return 0
}

// hmacKeyFlags defines the flags of hmac-key.
func hmacKeyFlags() (*flag.FlagSet, *string) {
	flags := flag.NewFlagSet("hmac-key", flag.ContinueOnError)
	scheme := flags.String("scheme", "StandardWebhooks", "HMAC scheme: StandardWebhooks, GitHub, Stripe, Slack, Shopify or Generic")
	return flags, scheme
}

// deadLetters lists, replays or purges dead letters through a running server's admin listener.
func deadLetters(args []string, stdout, stderr io.Writer) int {
	const usage = "usage: webhookserver deadletters list | replay ID | purge (ID | --all) [--endpoint NS/NAME] [--admin URL] [--admin-token-file FILE]"
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay" && args[0] != "purge") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	command := args[0]
	flags, opts := deadLetterFlags(command)
	flags.SetOutput(stderr)
	rest := args[1:]
	var id string
	if command != "list" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := flags.Parse(rest); err != nil {
		return 2
	}
	if id == "" {
		id = flags.Arg(0)
	}
	query := url.Values{}
	if opts.endpointName != "" {
		query.Set("endpoint", opts.endpointName)
	}
	method, path := http.MethodPost, "/admin/deadletters/"+command
	switch {
	case command == "list":
		method, path = http.MethodGet, "/admin/deadletters"
		query.Set("limit", strconv.Itoa(opts.limit))
	case id != "" && !opts.all:
		query.Set("id", id)
	case command == "purge" && opts.all && id == "":
		query.Set("all", "true")
	case command == "purge":
		fmt.Fprintln(stderr, "purge needs the id of one dead letter (see deadletters list), or --all alone\n"+usage)
		return 2
	default:
		fmt.Fprintln(stderr, "replay needs the id of one dead letter (see deadletters list)\n"+usage)
		return 2
	}
	req, err := http.NewRequest(method, strings.TrimRight(opts.admin, "/")+path+"?"+query.Encode(), nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if opts.tokenFile != "" {
		token, err := server.ReadAdminToken(opts.tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "--admin-token-file: %v\n", err)
			return 2
		}
		req.Header.Set("Authorization", "Bearer "+string(token))
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "reaching the server's admin listener: %v (in a cluster, run this command in the pod with kubectl exec, or forward the port with kubectl port-forward)\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "%s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(body)))
	return 0
}

// deadLetterOptions are the flags of the deadletters commands.
type deadLetterOptions struct {
	admin        string
	tokenFile    string
	endpointName string
	limit        int
	all          bool
}

// deadLetterFlags defines the flags of deadletters list, replay and purge, which share them.
func deadLetterFlags(command string) (*flag.FlagSet, *deadLetterOptions) {
	opts := &deadLetterOptions{}
	flags := flag.NewFlagSet("deadletters "+command, flag.ContinueOnError)
	flags.StringVar(&opts.admin, "admin", "http://127.0.0.1:9091", "the server's admin listener (its --admin-listen)")
	flags.StringVar(&opts.tokenFile, "admin-token-file", "", "file holding the server's admin token (its --admin-token-file)")
	flags.StringVar(&opts.endpointName, "endpoint", "", "the Async endpoint (namespace/name), when the server has several")
	flags.IntVar(&opts.limit, "limit", 100, "how many dead letters to list")
	flags.BoolVar(&opts.all, "all", false, "purge: every dead letter of the endpoint")
	return flags, opts
}
