// Command dev runs the whole product on this machine without a cluster (`make dev`): a local control plane,
// the operator, and the fulfillment pods it creates as local webhookserver processes (internal/devcluster).
// It prints the kubeconfig to use with kubectl and the local URL of each WebhookEndpoint as it becomes ready.
// Ctrl-C stops everything.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster"
)

func main() {
	dir := flag.String("dir", ".dev", "folder for the kubeconfig, the logs and the pods' files (emptied at start)")
	manager := flag.String("manager", "bin/manager", "the operator binary")
	server := flag.String("webhookserver", "bin/webhookserver", "the webhookserver binary, run for every fulfillment pod")
	flag.Parse()

	if err := run(*dir, *manager, *server); err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
}

func run(dir, manager, server string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	// A previous run's pods and logs would be confusing; its processes died with it.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "dev.log"))
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	log := slog.New(slog.NewTextHandler(logFile, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	abs := func(path string) string { p, _ := filepath.Abs(path); return p }
	fmt.Println("Starting etcd, kube-apiserver, kube-controller-manager, the operator and a local kubelet...")
	cluster, err := devcluster.Start(ctx, devcluster.Options{Dir: dir, RepoRoot: root, Manager: abs(manager),
		Webhookserver: abs(server), Log: log})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("\nStopping the pods, the operator and the control plane...")
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping:", err)
		}
		fmt.Println("Stopped; nothing is left running. Logs are in", abs(dir))
	}()

	fmt.Printf(`
The dev cluster is up. In another terminal (any recent kubectl, or bin/k8s/kubectl of the same release):

  export KUBECONFIG=%s
  kubectl apply -k config/samples
  kubectl wait --for=condition=Ready whe --all --timeout=2m
  kubectl get whe,ir

Fulfillment pods run as local processes (logs: %s/pods/<namespace>_<pod>_<uid>/);
the operator's log is %s/operator.log. Ctrl-C stops everything.

Endpoints, as they become ready:
`, cluster.Kubeconfig, abs(dir), abs(dir))

	scheme := runtime.NewScheme()
	if err := fulfillmentv1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	printed := map[string]string{}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		var endpoints fulfillmentv1alpha1.WebhookEndpointList
		if err := c.List(ctx, &endpoints); err != nil {
			continue
		}
		sort.Slice(endpoints.Items, func(i, j int) bool {
			return endpoints.Items[i].Namespace+"/"+endpoints.Items[i].Name < endpoints.Items[j].Namespace+"/"+endpoints.Items[j].Name
		})
		seen := map[string]bool{}
		for i := range endpoints.Items {
			endpoint := &endpoints.Items[i]
			key := endpoint.Namespace + "/" + endpoint.Name
			seen[key] = true
			line := key + "  (not ready)"
			if url, ok := cluster.EndpointURL(endpoint); ok && meta.IsStatusConditionTrue(endpoint.Status.Conditions, fulfillmentv1alpha1.ConditionReady) {
				line = fmt.Sprintf("%s  %s", key, url)
			}
			if printed[key] != line {
				fmt.Println("  " + line)
				printed[key] = line
			}
		}
		for key := range printed {
			if !seen[key] {
				fmt.Println("  " + key + "  (deleted)")
				delete(printed, key)
			}
		}
	}
}
