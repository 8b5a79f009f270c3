/*
Copyright 2026 The fulfillment-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command manager is the fulfillment-operator: it reconciles WebhookEndpoints and IntentRoutes into fulfillment
// Deployments of webhookserver.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/version"
)

// options are the manager's command-line flags.
type options struct {
	metricsAddr        string
	probeAddr          string
	leaderElect        bool
	leaderElectionNS   string
	webhookserverImage string
	watchNamespaces    string
	apiQPS             float64
	apiBurst           int
	concurrency        int
	requireSecretLabel bool
	confirmPods        bool
	operatorNamespace  string
	logging            zap.Options
}

func main() {
	flags, opts := newFlagSet(os.Getenv)
	_ = flags.Parse(os.Args[1:]) // ExitOnError: a bad flag exits with the usage
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts.logging)))

	if err := run(*opts); err != nil {
		ctrl.Log.WithName("setup").Error(err, "manager stopped")
		os.Exit(1)
	}
}

// newFlagSet defines the manager's flags, controller-runtime's --kubeconfig and zap's logging flags included.
// Defaults read from the environment come through getenv, so that the flag reference (docs/reference/flags.md)
// is generated from these very definitions, whatever the environment.
func newFlagSet(getenv func(string) string) (*flag.FlagSet, *options) {
	opts := &options{}
	flags := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	flags.StringVar(&opts.metricsAddr, "metrics-bind-address", ":8080",
		"Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flags.StringVar(&opts.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flags.BoolVar(&opts.leaderElect, "leader-elect", false,
		"Elect a leader so that only one of several manager replicas reconciles at a time.")
	flags.StringVar(&opts.leaderElectionNS, "leader-election-namespace", "",
		"Namespace of the leader election Lease (default: the namespace the manager runs in).")
	flags.StringVar(&opts.webhookserverImage, "webhookserver-image", getenv("WEBHOOKSERVER_IMAGE"),
		"Image of the fulfillment pods (default: env WEBHOOKSERVER_IMAGE).")
	flags.StringVar(&opts.watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to watch (default: all namespaces).")
	// client-go's default of 20 requests per second would stretch a cold start with hundreds of endpoints from
	// under a minute to about ten (docs/benchmarks.md, operator at scale).
	flags.Float64Var(&opts.apiQPS, "kube-api-qps", 50, "Requests per second the manager may send to the API server.")
	flags.IntVar(&opts.apiBurst, "kube-api-burst", 100, "Burst of requests above --kube-api-qps.")
	flags.IntVar(&opts.concurrency, "max-concurrent-reconciles", 4,
		"How many objects each controller (WebhookEndpoint, WebhookGateway, IntentRoute) reconciles at once.")
	flags.BoolVar(&opts.requireSecretLabel, "require-secret-reference-label", false,
		"Let WebhookEndpoints and IntentRoutes reference only Secrets labelled "+controllers.LabelSecretReference+`: "true"; `+
			"others are refused with ResolvedRefs=False (routes) or SecretsReady=False (endpoints).")
	flags.BoolVar(&opts.confirmPods, "confirm-pod-configuration", true,
		"Ask each ready fulfillment pod which configuration it serves (GET /statusz on its metrics port) and report an "+
			"endpoint Ready only when all serve the one rendered. Turn off only where the manager cannot reach pods "+
			"(running outside the cluster).")
	flags.StringVar(&opts.operatorNamespace, "operator-namespace", getenv("POD_NAMESPACE"),
		"Namespace the manager runs in, admitted by the endpoints' NetworkPolicies to the pods' metrics port "+
			"(default: env POD_NAMESPACE).")
	// ctrl.GetConfigOrDie reads --kubeconfig from controller-runtime's own variable, which this binds.
	ctrlconfig.RegisterFlags(flags)
	opts.logging.BindFlags(flags)
	return flags, opts
}

func run(opts options) error {
	if opts.webhookserverImage == "" {
		return errors.New("the fulfillment image is unknown: set --webhookserver-image or WEBHOOKSERVER_IMAGE")
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(fulfillmentv1alpha1.AddToScheme(scheme))

	restConfig := ctrl.GetConfigOrDie()
	restConfig.QPS, restConfig.Burst = float32(opts.apiQPS), opts.apiBurst
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: opts.metricsAddr},
		HealthProbeBindAddress:  opts.probeAddr,
		LeaderElection:          opts.leaderElect,
		LeaderElectionID:        "fulfillment-operator.fulfillment.dev",
		LeaderElectionNamespace: opts.leaderElectionNS,
		// The manager exits right after losing the lease, so a quick release lets the next leader start sooner.
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{DefaultNamespaces: namespaceConfig(opts.watchNamespaces),
			ByObject: controllers.CacheByObject()},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	var podReports *controllers.PodReportReader
	if opts.confirmPods {
		podReports = &controllers.PodReportReader{}
	}
	if err := controllers.Setup(ctx, mgr, controllers.Options{Image: opts.webhookserverImage,
		RequireSecretLabel: opts.requireSecretLabel, PodReports: podReports, OperatorNamespace: opts.operatorNamespace,
		MaxConcurrentReconciles: opts.concurrency, NamespacesUncached: opts.watchNamespaces != ""}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}

	build := version.Get()
	ctrl.Log.WithName("setup").Info("starting manager", "version", build.Version, "commit", build.Commit,
		"webhookserverImage", opts.webhookserverImage, "watchNamespaces", opts.watchNamespaces)
	return mgr.Start(ctx)
}

// namespaceConfig turns the --watch-namespaces list into the cache configuration; nil watches all namespaces.
func namespaceConfig(list string) map[string]cache.Config {
	var namespaces map[string]cache.Config
	for _, ns := range strings.Split(list, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			if namespaces == nil {
				namespaces = map[string]cache.Config{}
			}
			namespaces[ns] = cache.Config{}
		}
	}
	return namespaces
}
