package send

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server"
)

// maxAnswerBytes bounds the answer read and shown: a chatbot answer is at most 64 KiB, an event's far less.
const maxAnswerBytes = 4 << 20

// Main runs webhookserver send with args. The answer goes to stdout (pretty JSON, so that it can be piped);
// the status, the route that answered and the time taken go to stderr. It returns the exit status: 0 for a
// 2xx answer, 1 for another answer or a failure to send, 2 for wrong flags.
func Main(args []string, stdout, stderr io.Writer) int {
	flags, opts := Flags()
	flags.SetOutput(stderr)
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if err := opts.check(flags.NArg()); err != nil {
		fmt.Fprintln(stderr, "webhookserver send:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	target, cluster, err := opts.target(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "webhookserver send:", err)
		return 1
	}
	req, err := Build(target, opts, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "webhookserver send:", err)
		return 2
	}
	base := localBase(req.TLS)
	if cluster != nil && opts.URL == "" {
		if opts.PrintCurl {
			// A port-forward ends with this command; the Service's address works inside the cluster.
			base = cluster.serviceBase(ctx, req.TLS)
			fmt.Fprintf(stderr, "# %s is the Service's address in the cluster: run the command there, or forward a port "+
				"(kubectl port-forward -n %s svc/%s PORT:%s) and give --url\n", base, target.Namespace, target.Name, webhookPortName)
		} else {
			forward, err := cluster.forward(ctx)
			if err != nil {
				fmt.Fprintln(stderr, "webhookserver send:", err)
				return 1
			}
			defer forward.close()
			base = portBase(req.TLS, forward.localPort)
		}
	}
	u, err := req.Resolve(opts.URL, base)
	if err != nil {
		fmt.Fprintln(stderr, "webhookserver send:", err)
		return 2
	}
	if opts.PrintCurl {
		fmt.Fprintln(stdout, Curl(req, u.String(), opts))
		return 0
	}
	client, err := opts.client()
	if err != nil {
		fmt.Fprintln(stderr, "webhookserver send:", err)
		return 2
	}
	answer, err := Do(ctx, client, req, u.String())
	if err != nil {
		fmt.Fprintf(stderr, "webhookserver send: %v\n", err)
		return 1
	}
	answer.print(stdout, stderr)
	if answer.Code < 200 || answer.Code > 299 {
		return 1
	}
	return 0
}

// check refuses flags that cannot go together.
func (o *Options) check(args int) error {
	switch {
	case args > 0:
		return errors.New("unexpected arguments: every value is a flag (see webhookserver send -h)")
	case o.Endpoint == "":
		return errors.New("--endpoint is required: the WebhookEndpoint's name, or namespace/name")
	case len(o.Manifests) > 0 && o.inCluster():
		return errors.New("give either --manifests or a cluster (--kubeconfig, --context, -n), not both")
	case len(o.Manifests) == 0 && !o.inCluster():
		return errors.New("give --manifests DIR (for example config/samples), or --kubeconfig to read the endpoint from a cluster")
	case (o.CertFile == "") != (o.KeyFile == ""):
		return errors.New("give both --cert and --key, or neither")
	case o.Timeout <= 0:
		return errors.New("--timeout must be positive")
	}
	return nil
}

func (o *Options) inCluster() bool { return o.Kubeconfig != "" || o.Context != "" || o.Namespace != "" }

// target reads the endpoint and its Secrets from the manifests or the cluster; cluster is nil for manifests.
func (o *Options) target(ctx context.Context) (*Target, *cluster, error) {
	if o.inCluster() {
		c, err := connect(o.Kubeconfig, o.Context, o.Namespace)
		if err != nil {
			return nil, nil, err
		}
		target, err := c.target(ctx, o.Endpoint)
		return target, c, err
	}
	target, err := fromManifests(o.Manifests, o.Endpoint)
	return target, nil, err
}

// fromManifests finds the endpoint named name (or namespace/name) in the manifests at paths.
func fromManifests(paths []string, name string) (*Target, error) {
	loaded, err := config.LoadManifests(paths...)
	if err != nil {
		return nil, err
	}
	namespace, short, qualified := strings.Cut(name, "/")
	if !qualified {
		namespace, short = "", name
	}
	var found []*Target
	var names []string
	for _, ep := range loaded.File.Endpoints {
		names = append(names, ep.Namespace+"/"+ep.Name)
		if ep.Name == short && (namespace == "" || ep.Namespace == namespace) {
			found = append(found, &Target{Name: ep.Name, Namespace: ep.Namespace, Spec: ep.Spec, Secrets: loaded.Secrets})
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("--endpoint %s: no such WebhookEndpoint in %s; they have %s", name, strings.Join(paths, ", "), strings.Join(names, ", "))
	case 1:
		return found[0], nil
	default:
		return nil, fmt.Errorf("--endpoint %s: a WebhookEndpoint of this name is in several namespaces: give namespace/name", name)
	}
}

// client is the HTTP client: the system's trust or --cacert, and --cert as the client certificate.
func (o *Options) client() (*http.Client, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		bundle, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		config.RootCAs = x509.NewCertPool()
		if !config.RootCAs.AppendCertsFromPEM(bundle) {
			return nil, fmt.Errorf("--cacert %s holds no PEM certificate", o.CAFile)
		}
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		config.Certificates = []tls.Certificate{cert}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = config
	transport.Proxy = nil // the local server and a port-forward are on loopback; a test is direct
	return &http.Client{Transport: transport}, nil
}

// Answer is what the endpoint answered.
type Answer struct {
	Status   string // as the server wrote it: "200 OK"
	Code     int
	Header   http.Header
	Body     []byte
	Duration time.Duration
	// Method and URL are the request's.
	Method, URL string
}

// Do sends req to url and reads the answer.
func Do(ctx context.Context, client *http.Client, req *Request, url string) (*Answer, error) {
	httpReq, err := http.NewRequestWithContext(ctx, req.Method, url, bytes.NewReader(req.Body))
	if err != nil {
		return nil, err
	}
	httpReq.Header = req.Header.Clone()
	start := time.Now()
	resp, err := client.Do(httpReq)
	if err != nil {
		return nil, fmt.Errorf("sending to %s: %w (is the server running? webhookserver serve --manifests ..., or give --url)", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	duration := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", url, err)
	}
	return &Answer{Status: resp.Status, Code: resp.StatusCode, Header: resp.Header, Body: body, Duration: duration, Method: req.Method, URL: url}, nil
}

// Route is how the answer was made: the route that answered, or why none did.
func (a *Answer) Route() string {
	if route := a.Header.Get(server.RouteHeader); route != "" {
		if fallback := a.Header.Get(endpoint.FallbackHeader); fallback != "" {
			return route + " (fallback: " + fallback + ")"
		}
		return route
	}
	if fallback := a.Header.Get(endpoint.FallbackHeader); fallback != "" {
		return "none (fallback: " + fallback + ")"
	}
	if a.Code == http.StatusAccepted {
		return "none yet (queued: a worker runs the route)"
	}
	if a.Header.Get(endpoint.ReplayedHeader) != "" {
		return "not named (a duplicate: the first answer, replayed from the idempotency store)"
	}
	if a.Code >= 200 && a.Code < 300 {
		// The server names routes only to an authenticated request: an answer without the header came from a
		// route all the same, on an endpoint open to all.
		return "not named (the endpoint is open to all, so the server does not name its routes; its log line does)"
	}
	return "none"
}

// print writes the answer's body to stdout, pretty when it is JSON, and the rest to stderr.
func (a *Answer) print(stdout, stderr io.Writer) {
	fmt.Fprintf(stderr, "%s %s: %s in %s\nroute: %s\n", a.Method, a.URL, a.Status, a.Duration.Round(100*time.Microsecond), a.Route())
	if len(a.Body) == 0 {
		return
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, a.Body, "", "  ") == nil {
		pretty.WriteByte('\n')
		_, _ = stdout.Write(pretty.Bytes())
		return
	}
	_, _ = stdout.Write(a.Body)
	if !bytes.HasSuffix(a.Body, []byte("\n")) {
		fmt.Fprintln(stdout)
	}
}
