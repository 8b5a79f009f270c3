package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// AnnotationAdopt, set to "true" on an existing object that has no controller, hands it to the endpoint whose
// name it has: the operator then applies it like one it created, and deleting the endpoint deletes it. Without
// it an object the endpoint does not control is never modified (the endpoint is Stalled, ObjectConflict).
const AnnotationAdopt = "fulfillment.dev/adopt"

// objectConflict is one existing object the endpoint may not write, and who has it.
type objectConflict struct {
	Kind, Name, Owner string
}

// conflictError stops a reconcile before anything is written over an object the endpoint (or gateway: kind)
// does not control.
type conflictError struct {
	kind      string
	conflicts []objectConflict
}

func (e *conflictError) Error() string { return objectConflictMessage(e.kind, e.conflicts) }

// ownedName is an object the endpoint writes under its own name, as an empty object to read the existing one
// into (typed for the kinds the manager caches typed, metadata only for Secrets, unstructured for the optional
// CRDs), and its kind for messages: a typed object read from the cache has no kind.
type ownedName struct {
	Kind string
	Obj  client.Object
}

// OwnedNames lists the objects the endpoint's spec makes the operator write, by kind and name. The ownership
// check reads each before anything is applied, so that every conflict is reported at once and nothing is
// half-applied. The cert-manager serving Secret is not listed: cert-manager writes it without an owner
// reference.
func OwnedNames(endpoint *fulfillmentv1alpha1.WebhookEndpoint) []ownedName {
	ns, name := endpoint.Namespace, endpoint.Name
	meta := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: n} }
	secret := func(n string) client.Object { return secretMetadata(ns, n) }
	names := []ownedName{}
	if GeneratesHMACKey(endpoint) {
		names = append(names, ownedName{"Secret", secret(HMACSecretName(endpoint))})
	}
	if tls := endpoint.Spec.TLS; tls != nil {
		switch tls.Mode {
		case fulfillmentv1alpha1.TLSModeSelfSigned:
			names = append(names, ownedName{"Secret", secret(CASecretName(endpoint))},
				ownedName{"Secret", secret(CertificateSecretName(endpoint))},
				ownedName{"ConfigMap", &corev1.ConfigMap{ObjectMeta: meta(CABundleConfigMapName(endpoint))}})
		case fulfillmentv1alpha1.TLSModeCertManager:
			certificate := &unstructured.Unstructured{}
			certificate.SetGroupVersionKind(CertificateGVK)
			certificate.SetNamespace(ns)
			certificate.SetName(name)
			names = append(names, ownedName{"Certificate", certificate})
		}
	}
	if endpoint.Spec.GatewayRef != nil {
		// The gateway's pods serve it: it writes only its configuration (and keys).
		return append(names, ownedName{"ConfigMap", &corev1.ConfigMap{ObjectMeta: meta(ConfigMapName(endpoint))}})
	}
	if isGateway(endpoint) {
		names = append(names, ownedName{"Secret", secret(GatewaySecretsName(endpoint))})
	}
	names = append(names,
		ownedName{"ServiceAccount", &corev1.ServiceAccount{ObjectMeta: meta(name)}},
		ownedName{"ConfigMap", &corev1.ConfigMap{ObjectMeta: meta(ConfigMapName(endpoint))}},
		ownedName{"Service", &corev1.Service{ObjectMeta: meta(name)}},
		ownedName{"NetworkPolicy", &networkingv1.NetworkPolicy{ObjectMeta: meta(name)}},
	)
	if UsesLocalQueue(&endpoint.Spec) {
		names = append(names, ownedName{"StatefulSet", &appsv1.StatefulSet{ObjectMeta: meta(name)}})
	} else {
		names = append(names, ownedName{"Deployment", &appsv1.Deployment{ObjectMeta: meta(name)}})
	}
	if DesiredPodDisruptionBudget(endpoint) != nil {
		names = append(names, ownedName{"PodDisruptionBudget", &policyv1.PodDisruptionBudget{ObjectMeta: meta(name)}})
	}
	if DesiredHorizontalPodAutoscaler(endpoint) != nil {
		names = append(names, ownedName{"HorizontalPodAutoscaler", &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: meta(name)}})
	}
	if DesiredIngress(endpoint) != nil {
		names = append(names, ownedName{"Ingress", &networkingv1.Ingress{ObjectMeta: meta(name)}})
	}
	if route := DesiredHTTPRoute(endpoint); route != nil {
		empty := &unstructured.Unstructured{}
		empty.SetGroupVersionKind(route.GroupVersionKind())
		empty.SetNamespace(ns)
		empty.SetName(name)
		names = append(names, ownedName{"HTTPRoute", empty})
	}
	return names
}

// controllerRef is the controller reference the operator sets on the objects of endpoint, or of the gateway
// it stands for (objectMeta).
func controllerRef(endpoint *fulfillmentv1alpha1.WebhookEndpoint) metav1.OwnerReference {
	return objectMeta(endpoint, "").OwnerReferences[0]
}

// ownerOf says who has an existing object the operator wants to write for self (the controller reference it
// would set), or "" when it may write it: it is controlled by self (same UID), or it has no controller and
// carries AnnotationAdopt "true". An object controlled by an earlier object of self's kind and name (deleted,
// then created again before the garbage collector ran) is not adopted either: the garbage collector is about
// to delete it. One controlled by an object of another kind with the same name (a WebhookGateway and a
// WebhookEndpoint) belongs to that one.
func ownerOf(self metav1.OwnerReference, existing metav1.Object) string {
	controller := metav1.GetControllerOfNoCopy(existing)
	switch {
	case controller != nil && controller.UID == self.UID:
		return ""
	case controller != nil && controller.Kind == self.Kind && controller.Name == self.Name:
		return fmt.Sprintf("controlled by an earlier %s %s (uid %s) that the garbage collector is deleting",
			controller.Kind, controller.Name, controller.UID)
	case controller != nil:
		return fmt.Sprintf("controlled by %s %s", controller.Kind, controller.Name)
	case existing.GetAnnotations()[AnnotationAdopt] == "true":
		return ""
	}
	managers := []string{}
	for _, entry := range existing.GetManagedFields() {
		if entry.Manager != "" && !slices.Contains(managers, entry.Manager) {
			managers = append(managers, entry.Manager)
		}
	}
	if len(managers) == 0 {
		return "not managed by the operator"
	}
	return "not managed by the operator; field managers: " + strings.Join(managers, ", ")
}

// objectConflictMessage is the Stalled message for objects an endpoint or a gateway (kind) may not write: what
// they are, who has them, and how to resolve it.
func objectConflictMessage(kind string, conflicts []objectConflict) string {
	parts := make([]string, 0, len(conflicts))
	for _, c := range conflicts {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", c.Kind, c.Name, c.Owner))
	}
	noun := "endpoint"
	if kind == gatewayGVK.Kind {
		noun = "gateway"
	}
	what := fmt.Sprintf("an object with a name this %s needs exists and is not its own", noun)
	if len(conflicts) > 1 {
		what = fmt.Sprintf("objects with names this %s needs exist and are not its own", noun)
	}
	return fmt.Sprintf("%s, so the operator leaves it untouched: %s. Rename the %s, or delete or rename the "+
		"object; to hand an object without a controller to this %s instead, annotate it %s=true (deleting the "+
		"%s then deletes it)", what, strings.Join(parts, "; "), kind, noun, AnnotationAdopt, noun)
}

// checkOwnership reads, from the cache, every object the endpoint's spec makes the operator write, and
// returns a conflictError naming those that exist and are not the endpoint's. An object whose API is not
// installed does not exist. One the cache does not have is read again from the API server before the operator
// would create it: the cache may not have seen an object created a moment ago, and an apply would take it over.
func (r *WebhookEndpointReconciler) checkOwnership(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint) error {
	self := controllerRef(endpoint)
	var conflicts []objectConflict
	for _, owned := range OwnedNames(endpoint) {
		existing, err := r.readOwned(ctx, owned)
		if err != nil {
			return fmt.Errorf("reading %s %s: %w", owned.Kind, owned.Obj.GetName(), err)
		}
		if existing == nil {
			continue
		}
		if owner := ownerOf(self, existing); owner != "" {
			conflicts = append(conflicts, objectConflict{Kind: owned.Kind, Name: owned.Obj.GetName(), Owner: owner})
		}
	}
	if len(conflicts) > 0 {
		return &conflictError{kind: self.Kind, conflicts: conflicts}
	}
	return nil
}

// readOwned reads an owned name from the cache and, when the cache has no such object, as metadata from the API
// server; nil when it does not exist (or its API is not installed).
func (r *WebhookEndpointReconciler) readOwned(ctx context.Context, owned ownedName) (metav1.Object, error) {
	key := client.ObjectKeyFromObject(owned.Obj)
	err := r.cache().Get(ctx, key, owned.Obj)
	switch {
	case err == nil:
		return owned.Obj, nil
	case meta.IsNoMatchError(err):
		return nil, nil
	case !apierrors.IsNotFound(err):
		return nil, err
	case r.APIReader == nil:
		return nil, nil
	}
	gvk, err := apiutil.GVKForObject(owned.Obj, r.Client.Scheme())
	if err != nil {
		return nil, err
	}
	fresh := &metav1.PartialObjectMetadata{}
	fresh.SetGroupVersionKind(gvk)
	err = r.APIReader.Get(ctx, key, fresh)
	switch {
	case err == nil:
		return fresh, nil
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return nil, nil
	}
	return nil, err
}

// checkOwned is the same check for one object read directly (a generated Secret before it is written).
func checkOwned(endpoint *fulfillmentv1alpha1.WebhookEndpoint, kind string, existing metav1.Object) error {
	if existing == nil {
		return nil
	}
	self := controllerRef(endpoint)
	if owner := ownerOf(self, existing); owner != "" {
		return &conflictError{kind: self.Kind, conflicts: []objectConflict{{Kind: kind, Name: existing.GetName(), Owner: owner}}}
	}
	return nil
}

// ownedNameSuffixes are the suffixes the operator appends to an endpoint's name (ConfigMapName,
// HMACSecretName, CASecretName, CertificateSecretName, CABundleConfigMapName).
var ownedNameSuffixes = []string{"-config", "-hmac", "-ca", "-tls", "-ca-bundle"}

// endpointsNamedAfter maps an object of an owned kind to the endpoints whose names it has, whoever controls
// it. Owns() would map only objects the endpoint controls: a conflicting object that the user deletes or
// renames must bring the stalled endpoint back, with no polling.
func (r *WebhookEndpointReconciler) endpointsNamedAfter(ctx context.Context, obj client.Object) []reconcile.Request {
	var requests []reconcile.Request
	for _, name := range candidateEndpointNames(obj.GetName()) {
		key := types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}
		if err := r.Client.Get(ctx, key, &fulfillmentv1alpha1.WebhookEndpoint{}); err == nil {
			requests = append(requests, reconcile.Request{NamespacedName: key})
		}
	}
	return requests
}

// candidateEndpointNames are the endpoint names an object name can come from: itself, and itself without each
// suffix the operator appends.
func candidateEndpointNames(name string) []string {
	names := []string{name}
	for _, suffix := range ownedNameSuffixes {
		if base, ok := strings.CutSuffix(name, suffix); ok && base != "" {
			names = append(names, base)
		}
	}
	return names
}
