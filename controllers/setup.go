package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// Options configure the controllers.
type Options struct {
	// Image of the fulfillment pods.
	Image string
	// Clock tells the time of key rotations, certificate renewals and condition transitions; the real clock
	// when nil (tests pass a fake one).
	Clock clock.PassiveClock
	// RequireSecretLabel lets WebhookEndpoints and IntentRoutes reference only Secrets labelled
	// LabelSecretReference: "true" (--require-secret-reference-label).
	RequireSecretLabel bool
	// PodReports asks each ready pod which configuration it serves (--confirm-pod-configuration); nil trusts
	// the Deployment's availability alone.
	PodReports *PodReportReader
	// OperatorNamespace is the namespace the operator runs in, admitted to the pods' metrics port.
	OperatorNamespace string
	// MaxConcurrentReconciles is how many objects each controller reconciles at once (--max-concurrent-reconciles);
	// 1 when 0.
	MaxConcurrentReconciles int
	// NamespacesUncached reads an endpoint's Namespace from the API server instead of a cache of all Namespaces:
	// with --watch-namespaces the manager's Roles let it get its namespaces, not list them all.
	NamespacesUncached bool
}

// CacheByObject narrows the manager's cache to what the operator needs: of the pods, only the fulfillment pods.
func CacheByObject() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&corev1.Pod{}: {Label: labels.SelectorFromSet(labels.Set{LabelManagedBy: FieldOwner})},
	}
}

// Setup registers the indexes and both controllers with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	env, err := expr.NewEnv()
	if err != nil {
		return fmt.Errorf("building the CEL environment: %w", err)
	}
	if err := registerMetrics(); err != nil {
		return fmt.Errorf("registering the operator's metrics: %w", err)
	}
	if err := SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	// Referenced Secrets' content is read uncached, once per resourceVersion, for both reconcilers.
	secrets := &SecretChecker{Reader: mgr.GetAPIReader()}
	endpoints := &WebhookEndpointReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Cache:     mgr.GetCache(),
		Recorder:  mgr.GetEventRecorder("fulfillment-operator"),
		Image:     opts.Image,
		Env:       env,
		Clock:     opts.Clock,
		Secrets:   secrets,

		RequireSecretLabel: opts.RequireSecretLabel,
		PodReports:         opts.PodReports,
		OperatorNamespace:  opts.OperatorNamespace,
		Concurrency:        opts.MaxConcurrentReconciles,
		NamespacesUncached: opts.NamespacesUncached,
	}
	if err := endpoints.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the WebhookEndpoint controller: %w", err)
	}
	if err := (&WebhookGatewayReconciler{Endpoints: endpoints}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the WebhookGateway controller: %w", err)
	}
	routes := &IntentRouteReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("fulfillment-operator"),
		Env:      env,
		Clock:    opts.Clock,
		Secrets:  secrets,

		RequireSecretLabel:   opts.RequireSecretLabel,
		Concurrency:          opts.MaxConcurrentReconciles,
		NamespaceTerminating: endpoints.namespaceTerminating,
	}
	if err := routes.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the IntentRoute controller: %w", err)
	}
	return nil
}
