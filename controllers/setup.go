package controllers

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// Options configure the controllers.
type Options struct {
	// Image of the fulfillment pods.
	Image string
	// Now is the clock; time.Now when nil (tests pass a fake one).
	Now func() time.Time
	// RequireSecretLabel lets WebhookEndpoints and IntentRoutes reference only Secrets labelled
	// LabelSecretReference: "true" (--require-secret-reference-label).
	RequireSecretLabel bool
}

// Setup registers the indexes and both controllers with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	env, err := expr.NewEnv()
	if err != nil {
		return fmt.Errorf("building the CEL environment: %w", err)
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
		Now:       opts.Now,
		Secrets:   secrets,

		RequireSecretLabel: opts.RequireSecretLabel,
	}
	if err := endpoints.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the WebhookEndpoint controller: %w", err)
	}
	routes := &IntentRouteReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("fulfillment-operator"),
		Env:      env,
		Now:      func() metav1.Time { return metav1.NewTime(opts.Now()) },
		Secrets:  secrets,

		RequireSecretLabel: opts.RequireSecretLabel,
	}
	if err := routes.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the IntentRoute controller: %w", err)
	}
	return nil
}
