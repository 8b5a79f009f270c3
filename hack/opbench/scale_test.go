// Package opbench measures the operator at scale as it ships: the real bin/manager process with its own
// defaults (API client QPS and burst, concurrency, pod configuration checks), running as its ServiceAccount with
// the generated ClusterRole, on the `make dev` stack (internal/devcluster): etcd, kube-apiserver and
// kube-controller-manager, whose Deployment and ReplicaSet controllers make the Deployments available from the
// pods the stack's local kubelet runs as webhookserver processes. It is a benchmark, not a test, so that
// `make test` does not run it; `make bench-operator` runs it (SCALE endpoints x ROUTES routes, dedicated).
package opbench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

const (
	endpointsPerNamespace = 100
	creationWorkers       = 4 // concurrent creators (one endpoint with its Secret and routes at a time each)
	quietPeriod           = time.Minute
	edits                 = 50
	editTimeout           = 2 * time.Minute
	progressEvery         = 15 * time.Second
)

// scenario is what the run creates: endpoints WebhookEndpoints with routes IntentRoutes each, every endpoint
// with its own Deployment (dedicated), or spread over gateways WebhookGateways, one per namespace.
type scenario struct {
	endpoints, routes, gateways int
	// readyPods: the pods are marked Ready by the harness instead of run by the local kubelet, and the manager
	// does not ask them which configuration they serve (--confirm-pod-configuration=false).
	readyPods bool
}

// scenarioFromEnv reads OPBENCH_ENDPOINTS, OPBENCH_ROUTES, OPBENCH_GATEWAYS and OPBENCH_PODS (make
// bench-operator's SCALE, ROUTES, GATEWAYS and PODS).
func scenarioFromEnv(b *testing.B) scenario {
	s := scenario{endpoints: 1000, routes: 10}
	switch pods := os.Getenv("OPBENCH_PODS"); pods {
	case "", "kubelet":
	case "ready":
		s.readyPods = true
	default:
		b.Fatalf("OPBENCH_PODS=%q: want kubelet or ready", pods)
	}
	if text := os.Getenv("OPBENCH_GATEWAYS"); text != "" && text != "0" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 {
			b.Fatalf("OPBENCH_GATEWAYS=%q: want a number of gateways, or 0 for dedicated endpoints", text)
		}
		s.gateways = n
	}
	for name, value := range map[string]*int{"OPBENCH_ENDPOINTS": &s.endpoints, "OPBENCH_ROUTES": &s.routes} {
		if text := os.Getenv(name); text != "" {
			n, err := strconv.Atoi(text)
			if err != nil || n < 1 {
				b.Fatalf("%s=%q: want a positive number", name, text)
			}
			*value = n
		}
	}
	return s
}

// perNamespace is how many endpoints share a namespace: endpointsPerNamespace, or a gateway's share.
func (s scenario) perNamespace() int {
	if s.gateways > 0 {
		return (s.endpoints + s.gateways - 1) / s.gateways
	}
	return endpointsPerNamespace
}

func (s scenario) namespaces() int {
	return (s.endpoints + s.perNamespace() - 1) / s.perNamespace()
}

func (s scenario) endpointName(i int) (namespace, name string) {
	return fmt.Sprintf("opbench-%02d", i/s.perNamespace()), fmt.Sprintf("bot-%04d", i)
}

func routeName(endpoint string, j int) string { return fmt.Sprintf("%s-route-%d", endpoint, j) }

// binary is the built binary an environment variable names, else bin/<name> of the repository.
func binary(variable, name string) string {
	if path := os.Getenv(variable); path != "" {
		return path
	}
	return filepath.Join(testenv.RepoRoot(), "bin", name)
}

func BenchmarkOperatorScale(b *testing.B) {
	// The scenario is long and has fixed work: it runs once whatever b.N is.
	runScenario(b, scenarioFromEnv(b))
}

func runScenario(b *testing.B, s scenario) {
	// The go tool keeps only 10 lines of a passing benchmark's log: the details go to stdout as they happen.
	say := func(format string, args ...any) { fmt.Printf("    opbench: "+format+"\n", args...) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir := b.TempDir()
	cluster, audit, metricsAddress := startCluster(ctx, b, dir, s)
	defer func() {
		if err := cluster.Stop(); err != nil {
			b.Logf("stopping the dev cluster: %v", err)
		}
	}()
	say("dev cluster in %s; bin/manager (pid %d) runs with its default --kube-api-qps, --kube-api-burst and concurrency",
		dir, cluster.OperatorPID())
	if s.readyPods {
		say("the pods are marked Ready by the harness, not run; the manager runs with --confirm-pod-configuration=false")
		marker := &podMarker{client: cluster.Client}
		go marker.run(ctx)
	}
	admin := adminClient(b, cluster)
	manager := &managerMetrics{address: metricsAddress}

	base, baseReconciles := audit.snapshot(b), manager.reconciles(b)
	start := time.Now()
	if err := createAll(ctx, admin, s); err != nil {
		b.Fatalf("creating the objects: %v", err)
	}
	created := time.Since(start)
	say("created %d namespaces, %d WebhookGateways, %d Secrets, %d WebhookEndpoints and %d IntentRoutes in %s",
		s.namespaces(), s.gateways, s.endpoints, s.endpoints, s.endpoints*s.routes, created.Round(time.Millisecond))

	converged := waitAllReady(ctx, b, admin, s, start, say)
	// Let the last writes (status of the last endpoints) land before reading counts.
	time.Sleep(3 * time.Second)
	convergence := audit.snapshot(b).minus(base)
	convergenceReconciles := manager.reconciles(b).minus(baseReconciles)
	say("all %d endpoints Ready (Ready=True at their generation) and all routes' status at their generation %s after the first create",
		s.endpoints, converged.Round(time.Millisecond))
	say("reconciles during convergence: %s", convergenceReconciles)
	say("manager API requests during convergence (from the API server's audit log, by verb and resource):\n%s", convergence.table())
	n := float64(convergenceReconciles.total())
	say("per reconcile: %.2f requests (%.2f without events), %.2f writes (events excluded), %.2f reads",
		float64(convergence.total())/n, float64(convergence.total()-convergence.bookkeeping())/n,
		float64(convergence.writes())/n, float64(convergence.reads())/n)
	census, err := countObjects(ctx, cluster.Config)
	if err != nil {
		b.Fatalf("counting the API objects: %v", err)
	}
	say("API objects in the benchmark's namespaces (the harness created the Namespaces, Secrets, endpoints and routes):\n%s", census)
	rss, peak := processMemory(cluster.OperatorPID())
	say("manager process after convergence: VmRSS %.1f MiB, peak VmHWM %.1f MiB", rss, peak)

	pods := childProcesses("webhookserver")
	podRSS := 0.0
	for _, pid := range pods {
		rss, _ := processMemory(pid)
		podRSS += rss
	}
	say("the pods' webhookserver processes: %d, VmRSS %.1f MiB in all", len(pods), podRSS)

	// The quiet minute: nothing changes, the operator should write nothing.
	quietBase, quietReconcileBase := audit.snapshot(b), manager.reconciles(b)
	time.Sleep(quietPeriod)
	quiet := audit.snapshot(b).minus(quietBase)
	quietReconciles := manager.reconciles(b).minus(quietReconcileBase)
	say("quiet %s after convergence: %d writes, events included (%d requests in all; %d reconciles: %s)",
		quietPeriod, quiet.allWrites(), quiet.total(), quietReconciles.total(), quietReconciles)
	if quiet.total() > 0 {
		say("quiet-period requests:\n%s", quiet.table())
	}

	latencies := editRoutes(ctx, b, admin, s)
	p50, p99, maxLatency := percentile(latencies, 0.50), percentile(latencies, 0.99), latencies[len(latencies)-1]
	what := "served configuration (the endpoint Ready on the new configuration, which its pods report serving)"
	if s.readyPods {
		what = "the endpoint Ready on the new configuration (the pods are not asked)"
	}
	say("%d route edits to %s: p50 %s, p99 %s, max %s", len(latencies), what, p50.Round(time.Millisecond),
		p99.Round(time.Millisecond), maxLatency.Round(time.Millisecond))

	b.ReportMetric(converged.Seconds(), "s-to-ready")
	b.ReportMetric(n, "reconciles")
	b.ReportMetric(float64(convergence.total())/n, "requests/reconcile")
	b.ReportMetric(float64(quiet.allWrites()), "quiet-writes")
	b.ReportMetric(float64(p50.Milliseconds()), "edit-p50-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "edit-p99-ms")
	b.ReportMetric(rss, "MiB-manager-rss")
	b.Logf("%d endpoints x %d routes Ready in %s; %.2f requests per reconcile; %d writes in a quiet minute; "+
		"route edit p50 %s p99 %s; manager VmRSS %.1f MiB", s.endpoints, s.routes, converged.Round(time.Millisecond),
		float64(convergence.total())/n, quiet.allWrites(), p50.Round(time.Millisecond), p99.Round(time.Millisecond), rss)
	if quiet.allWrites() > 0 {
		b.Errorf("%d writes during the quiet minute, target 0", quiet.allWrites())
	}
}

// startCluster starts the dev cluster with an audit log of the operator's requests, a Service range wide enough
// for a Service per endpoint, and the manager's metrics on a loopback address. The operator runs as it ships:
// no flag but the addresses is added.
func startCluster(ctx context.Context, b *testing.B, dir string, s scenario) (*devcluster.Cluster, *auditCounter, string) {
	audit, err := newAuditCounter(dir, devcluster.OperatorUser)
	if err != nil {
		b.Fatal(err)
	}
	metricsAddress, err := freeAddress()
	if err != nil {
		b.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "devcluster.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = logFile.Close() })
	managerArgs, kubeletPods := []string{"--metrics-bind-address=" + metricsAddress}, labels.Selector(nil)
	if s.readyPods {
		managerArgs, kubeletPods = append(managerArgs, "--confirm-pod-configuration=false"), labels.Nothing()
	}
	// OPBENCH_MANAGER_ARGS (make's MANAGER_ARGS) measures other settings than the shipped ones, to tune them.
	if extra := strings.Fields(os.Getenv("OPBENCH_MANAGER_ARGS")); len(extra) > 0 {
		managerArgs = append(managerArgs, extra...)
		b.Logf("bin/manager runs with %s", strings.Join(extra, " "))
	}
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cluster, err := devcluster.Start(startCtx, devcluster.Options{
		Dir: filepath.Join(dir, "cluster"), RepoRoot: testenv.RepoRoot(), Assets: testenv.Assets(),
		Manager: binary("OPBENCH_MANAGER", "manager"), Webhookserver: binary("OPBENCH_WEBHOOKSERVER", "webhookserver"),
		// The default /24 Service range holds 254 Services, one per endpoint.
		APIServerFlags: map[string]string{"service-cluster-ip-range": "10.0.0.0/16",
			"audit-policy-file": audit.policyPath, "audit-log-path": audit.logPath},
		ManagerArgs: managerArgs, KubeletPods: kubeletPods,
		Log: slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		b.Fatalf("starting the dev cluster: %v", err)
	}
	return cluster, audit, metricsAddress
}

func adminClient(b *testing.B, cluster *devcluster.Cluster) client.Client {
	scheme := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, fulfillmentv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			b.Fatal(err)
		}
	}
	config := *cluster.Config
	// The harness is not measured: it must not be what slows the run down.
	config.QPS, config.Burst = 1000, 2000
	admin, err := client.New(&config, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	return admin
}

// waitAllReady waits until every endpoint is Ready and returns the time since start. Every progressEvery it
// says how many are Ready and why the others are not (their Ready reasons), so that a slow phase shows.
func waitAllReady(ctx context.Context, b *testing.B, c client.Client, s scenario, start time.Time,
	say func(string, ...any)) time.Duration {
	timeout := 10*time.Minute + time.Duration(s.endpoints)*time.Second
	deadline, nextProgress := time.Now().Add(timeout), time.Now().Add(progressEvery)
	for {
		ready, reasons, err := readyEndpoints(ctx, c)
		if err != nil {
			b.Fatalf("listing endpoints: %v", err)
		}
		if ready == s.endpoints {
			// Converged once every route's status describes its spec too: an endpoint can be Ready before
			// the IntentRoute controller has written each of its routes' status.
			observed, err := observedRoutes(ctx, c)
			if err != nil {
				b.Fatalf("listing routes: %v", err)
			}
			if observed == s.endpoints*s.routes {
				return time.Since(start)
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d endpoints Ready after %s; the others: %s", ready, s.endpoints, timeout, reasons)
		}
		if time.Now().After(nextProgress) {
			say("%s: %d/%d endpoints Ready; the others: %s; %s", time.Since(start).Round(time.Second), ready, s.endpoints,
				reasons, availableDeployments(ctx, c))
			nextProgress = nextProgress.Add(progressEvery)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// observedRoutes counts the routes whose status is at their generation.
func observedRoutes(ctx context.Context, c client.Client) (int, error) {
	list := &fulfillmentv1alpha1.IntentRouteList{}
	if err := c.List(ctx, list); err != nil {
		return 0, err
	}
	observed := 0
	for i := range list.Items {
		if list.Items[i].Status.ObservedGeneration == list.Items[i].Generation {
			observed++
		}
	}
	return observed, nil
}

// readyEndpoints counts the endpoints whose Ready condition is True at their current generation, and the
// others by the reason of their Ready condition.
func readyEndpoints(ctx context.Context, c client.Client) (int, reasonCounts, error) {
	list := &fulfillmentv1alpha1.WebhookEndpointList{}
	if err := c.List(ctx, list); err != nil {
		return 0, nil, err
	}
	ready, reasons := 0, reasonCounts{}
	for i := range list.Items {
		e := &list.Items[i]
		if readyAtGeneration(e) {
			ready++
			continue
		}
		reason := "no Ready condition"
		if cond := meta.FindStatusCondition(e.Status.Conditions, fulfillmentv1alpha1.ConditionReady); cond != nil {
			reason = cond.Reason
		}
		reasons[reason]++
	}
	return ready, reasons, nil
}

// availableDeployments says how many Deployments are available, as kube-controller-manager reports them.
func availableDeployments(ctx context.Context, c client.Client) string {
	list := &appsv1.DeploymentList{}
	if err := c.List(ctx, list); err != nil {
		return "Deployments: " + err.Error()
	}
	available := 0
	for _, d := range list.Items {
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
				available++
			}
		}
	}
	return fmt.Sprintf("%d/%d Deployments available", available, len(list.Items))
}

// reasonCounts count endpoints by the reason of their Ready condition.
type reasonCounts map[string]int

func (r reasonCounts) String() string {
	parts := make([]string, 0, len(r))
	for reason, n := range r {
		parts = append(parts, fmt.Sprintf("%s=%d", reason, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func readyAtGeneration(e *fulfillmentv1alpha1.WebhookEndpoint) bool {
	cond := meta.FindStatusCondition(e.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
	return cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == e.Generation
}

// editRoutes edits routes spread over the endpoints, one at a time, and returns the latencies, sorted.
func editRoutes(ctx context.Context, b *testing.B, c client.Client, s scenario) []time.Duration {
	count := min(edits, s.endpoints*s.routes)
	latencies := make([]time.Duration, 0, count)
	for i := range count {
		namespace, endpoint := s.endpointName(i * s.endpoints / count)
		// An endpoint on a gateway is Ready on a configuration only once the gateway's pods serve it.
		served := !s.readyPods && s.gateways == 0
		latency, err := editRoute(ctx, c, namespace, endpoint, routeName(endpoint, i%s.routes), fmt.Sprintf("edited answer %d", i), served)
		if err != nil {
			b.Fatalf("edit %d: %v", i, err)
		}
		latencies = append(latencies, latency)
	}
	slices.Sort(latencies)
	return latencies
}

// editRoute changes a route's text and returns the time until the endpoint is Ready on a new configuration.
// With served, the operator reports Ready only when every ready pod says (GET /statusz) it serves the
// configuration rendered, and the condition names it; without, Ready on the new configuration is all there is.
func editRoute(ctx context.Context, c client.Client, namespace, endpoint, name, text string, served bool) (time.Duration, error) {
	key := types.NamespacedName{Namespace: namespace, Name: endpoint}
	before := &fulfillmentv1alpha1.WebhookEndpoint{}
	if err := c.Get(ctx, key, before); err != nil {
		return 0, err
	}
	route := &fulfillmentv1alpha1.IntentRoute{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, route); err != nil {
		return 0, err
	}
	route.Spec.Respond.Text = text
	start := time.Now()
	if err := c.Update(ctx, route); err != nil {
		return 0, err
	}
	for time.Since(start) < editTimeout {
		now := &fulfillmentv1alpha1.WebhookEndpoint{}
		if err := c.Get(ctx, key, now); err != nil {
			return 0, err
		}
		if now.Status.ConfigHash != before.Status.ConfigHash && readyAtGeneration(now) && (!served || servesHash(now)) {
			return time.Since(start), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s/%s was not Ready on a new configuration within %s of the edit of route %s", namespace, endpoint, editTimeout, name)
}

// servesHash tells whether the Ready condition names the endpoint's configuration, as the pods' reports do.
func servesHash(e *fulfillmentv1alpha1.WebhookEndpoint) bool {
	cond := meta.FindStatusCondition(e.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
	hash := e.Status.ConfigHash
	return hash != "" && strings.Contains(cond.Message, hash[:min(12, len(hash))])
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
