package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// Field indexes the controllers look objects up by.
const (
	// IndexRouteEndpoint indexes IntentRoutes by spec.endpointRef.name.
	IndexRouteEndpoint = "spec.endpointRef.name"
	// IndexEndpointSecrets indexes WebhookEndpoints by the Secrets they (and their routes) read.
	IndexEndpointSecrets = "fulfillment.dev/secrets"
	// IndexRouteSecrets indexes IntentRoutes by the Secrets their call headers read.
	IndexRouteSecrets = "fulfillment.dev/route-secrets"
	// IndexRouteConfigMaps indexes IntentRoutes by the ConfigMaps they read (a CA bundle).
	IndexRouteConfigMaps = "fulfillment.dev/route-configmaps"
	// IndexEndpointGateway indexes WebhookEndpoints by spec.gatewayRef.name, and IndexEndpointGatewayPath by
	// the gateway and path they claim (gatewayPathKey).
	IndexEndpointGateway     = "spec.gatewayRef.name"
	IndexEndpointGatewayPath = "fulfillment.dev/gateway-path"
)

// SetupIndexes registers the field indexes. Their errors are returned, not dropped: a missing index would
// make every lookup through it fail at run time.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &fulfillmentv1alpha1.IntentRoute{}, IndexRouteEndpoint, func(obj client.Object) []string {
		return []string{obj.(*fulfillmentv1alpha1.IntentRoute).Spec.EndpointRef.Name}
	}); err != nil {
		return fmt.Errorf("indexing IntentRoutes by endpoint: %w", err)
	}
	if err := indexer.IndexField(ctx, &fulfillmentv1alpha1.WebhookEndpoint{}, IndexEndpointSecrets, func(obj client.Object) []string {
		endpoint := obj.(*fulfillmentv1alpha1.WebhookEndpoint)
		names := append(ReferencedSecrets(endpoint, nil), tracingSecrets(endpoint)...)
		if tls := endpoint.Spec.TLS; tls != nil {
			switch tls.Mode {
			case fulfillmentv1alpha1.TLSModeSecret:
				names = append(names, tls.SecretName)
			case fulfillmentv1alpha1.TLSModeCertManager:
				names = append(names, CertificateSecretName(endpoint)) // cert-manager writes it
			}
		}
		return names
	}); err != nil {
		return fmt.Errorf("indexing WebhookEndpoints by Secret: %w", err)
	}
	if err := indexer.IndexField(ctx, &fulfillmentv1alpha1.IntentRoute{}, IndexRouteSecrets, func(obj client.Object) []string {
		return routeSecrets(obj.(*fulfillmentv1alpha1.IntentRoute))
	}); err != nil {
		return fmt.Errorf("indexing IntentRoutes by Secret: %w", err)
	}
	if err := indexer.IndexField(ctx, &fulfillmentv1alpha1.IntentRoute{}, IndexRouteConfigMaps, func(obj client.Object) []string {
		return ReferencedConfigMaps([]fulfillmentv1alpha1.IntentRoute{*obj.(*fulfillmentv1alpha1.IntentRoute)})
	}); err != nil {
		return fmt.Errorf("indexing IntentRoutes by ConfigMap: %w", err)
	}
	if err := indexer.IndexField(ctx, &fulfillmentv1alpha1.WebhookEndpoint{}, IndexEndpointGateway, func(obj client.Object) []string {
		if ref := obj.(*fulfillmentv1alpha1.WebhookEndpoint).Spec.GatewayRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing WebhookEndpoints by gateway: %w", err)
	}
	if err := indexer.IndexField(ctx, &fulfillmentv1alpha1.WebhookEndpoint{}, IndexEndpointGatewayPath, func(obj client.Object) []string {
		if key := gatewayPathKey(obj.(*fulfillmentv1alpha1.WebhookEndpoint)); key != "" {
			return []string{key}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing WebhookEndpoints by gateway path: %w", err)
	}
	return nil
}

// routeSecrets are the Secrets a route reads (RouteSecretRequirements).
func routeSecrets(route *fulfillmentv1alpha1.IntentRoute) []string {
	var names []string
	for _, req := range RouteSecretRequirements(route) {
		names = append(names, req.Secret)
	}
	return names
}

// LabelSecretReference marks a Secret that WebhookEndpoints and IntentRoutes may reference, when the operator
// runs with --require-secret-reference-label.
const LabelSecretReference = "fulfillment.dev/reference"

// secretRef is what the operator knows of a referenced Secret: whether it exists and whether it carries
// LabelSecretReference: "true", and its resourceVersion. It is read as metadata only (the watch caches only
// metadata); what the server needs in it is checked by a SecretChecker, which reads it again only when the
// resourceVersion changed.
type secretRef struct {
	exists, labelled bool
	resourceVersion  string
}

func readSecretRef(ctx context.Context, c client.Reader, namespace, name string) (secretRef, error) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, meta)
	if client.IgnoreNotFound(err) != nil {
		return secretRef{}, err
	}
	return secretRef{exists: err == nil, labelled: meta.Labels[LabelSecretReference] == "true", resourceVersion: meta.ResourceVersion}, nil
}

// secretUse is what a reconciler may make of one referenced Secret.
type secretUse int

const (
	secretUsable secretUse = iota
	secretMissing
	// secretUnlabelled: it exists without LabelSecretReference while the operator requires it.
	secretUnlabelled
)

// inspectSecret reads a referenced Secret's metadata and, when it exists and may be referenced, checks the keys
// reqs names through checker (nil checks nothing). The verdicts about a Secret found missing are forgotten, so
// that one created again under its name is read afresh.
func inspectSecret(ctx context.Context, c client.Reader, checker *SecretChecker, namespace, name string, requireLabel bool,
	reqs []SecretKeyRequirement) (secretUse, []SecretKeyProblem, error) {
	ref, err := readSecretRef(ctx, c, namespace, name)
	switch {
	case err != nil:
		return secretUsable, nil, err
	case !ref.exists:
		if checker != nil {
			checker.Forget(namespace, name)
		}
		return secretMissing, nil, nil
	case requireLabel && !ref.labelled:
		return secretUnlabelled, nil, nil
	case checker == nil:
		return secretUsable, nil, nil
	}
	problems, err := checker.Check(ctx, namespace, name, ref.resourceVersion, reqs)
	return secretUsable, problems, err
}
