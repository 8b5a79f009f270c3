package controllers

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// Reasons of the InsecureExposure condition.
const (
	// ReasonPlaintextExposure: a way in from outside the cluster carries plain HTTP.
	ReasonPlaintextExposure = "PlaintextExposure"
	// ReasonNotExposed: only a ClusterIP Service reaches the endpoint.
	ReasonNotExposed = "NotExposed"
	// ReasonEncrypted: every way in from outside the cluster is HTTPS.
	ReasonEncrypted = "Encrypted"
	// ReasonPlaintextAcknowledged: spec.exposure.plaintextAcknowledged is true.
	ReasonPlaintextAcknowledged = "PlaintextAcknowledged"
	// ReasonGatewayUnknown: a Gateway the HTTPRoute attaches to could not be read, so its listeners are unknown.
	ReasonGatewayUnknown = "GatewayUnknown"
)

// GatewayListener is one listener of a Gateway an endpoint's HTTPRoute attaches to, as read.
type GatewayListener struct {
	Name     string
	Protocol string
	Port     int32
}

// GatewayFacts are the Gateways an endpoint's HTTPRoute attaches to, read by the reconciler: the listeners of
// each Gateway by "namespace/name", and the Gateways that could not be read with why.
type GatewayFacts struct {
	Listeners map[string][]GatewayListener
	Unread    map[string]string
}

// gatewayParent is a parent reference of spec.httpRoute that is a Gateway, with its defaults applied, or ok
// false for another kind of parent (a mesh Service), which is not a way in from outside the cluster.
func gatewayParent(endpoint *fulfillmentv1alpha1.WebhookEndpoint, ref fulfillmentv1alpha1.ParentReference) (key string, ok bool) {
	if ref.Group != nil && *ref.Group != "gateway.networking.k8s.io" {
		return "", false
	}
	if ref.Kind != nil && *ref.Kind != "Gateway" {
		return "", false
	}
	namespace := endpoint.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		namespace = *ref.Namespace
	}
	return namespace + "/" + ref.Name, true
}

// GatewayParents are the Gateways ("namespace/name") an endpoint's HTTPRoute attaches to: what the reconciler
// reads to fill GatewayFacts.
func GatewayParents(endpoint *fulfillmentv1alpha1.WebhookEndpoint) []string {
	if endpoint.Spec.HTTPRoute == nil {
		return nil
	}
	var keys []string
	for _, ref := range endpoint.Spec.HTTPRoute.ParentRefs {
		if key, ok := gatewayParent(endpoint, ref); ok {
			keys = append(keys, key)
		}
	}
	return keys
}

// exposureCondition is the InsecureExposure condition: True when a way in from outside the cluster carries
// plain HTTP. The ways in are the endpoint's own objects: a NodePort or LoadBalancer Service (encrypted only
// when the pods serve HTTPS), an Ingress (encrypted with spec.ingress.tlsSecretName) and an HTTPRoute
// (encrypted when every listener it attaches to is HTTPS). Unknown when a Gateway could not be read and
// nothing else is known to be plain: never a guess.
func exposureCondition(endpoint *fulfillmentv1alpha1.WebhookEndpoint, gateways GatewayFacts) (status metav1.ConditionStatus, reason, message string) {
	spec := &endpoint.Spec
	podTLS := tlsEnabled(endpoint)
	var plain, unread []string
	exposed := false
	if s := spec.Service; s != nil && (s.Type == fulfillmentv1alpha1.ServiceType(corev1.ServiceTypeLoadBalancer) ||
		s.Type == fulfillmentv1alpha1.ServiceType(corev1.ServiceTypeNodePort)) {
		exposed = true
		if !podTLS {
			plain = append(plain, fmt.Sprintf("the %s Service serves plain HTTP (set spec.tls.mode)", s.Type))
		}
	}
	if ing := spec.Ingress; ing != nil {
		exposed = true
		if ing.TLSSecretName == "" {
			plain = append(plain, fmt.Sprintf("the Ingress serves %s over plain HTTP (set spec.ingress.tlsSecretName)", ing.Host))
		}
	}
	if route := spec.HTTPRoute; route != nil {
		for _, ref := range route.ParentRefs {
			key, ok := gatewayParent(endpoint, ref)
			if !ok {
				continue
			}
			exposed = true
			listeners, read := gateways.Listeners[key]
			if !read {
				why := gateways.Unread[key]
				if why == "" {
					why = "not read"
				}
				unread = append(unread, fmt.Sprintf("Gateway %s: %s", key, why))
				continue
			}
			for _, l := range attachedListeners(listeners, ref) {
				if l.Protocol != "HTTPS" {
					plain = append(plain, fmt.Sprintf("the HTTPRoute attaches to listener %s of Gateway %s, which serves %s on port %d "+
						"(attach it to an HTTPS listener with spec.httpRoute.parentRefs[].sectionName)", l.Name, key, l.Protocol, l.Port))
				}
			}
		}
	}
	switch {
	case !exposed:
		return metav1.ConditionFalse, ReasonNotExposed, "only a ClusterIP Service reaches the endpoint"
	case spec.Exposure != nil && spec.Exposure.PlaintextAcknowledged:
		return metav1.ConditionFalse, ReasonPlaintextAcknowledged,
			"spec.exposure.plaintextAcknowledged is true: TLS ends in front of the endpoint's Ingress, Gateway or Service"
	case len(plain) > 0:
		return metav1.ConditionTrue, ReasonPlaintextExposure, "reachable from outside the cluster without TLS: " + strings.Join(plain, "; ") +
			". If TLS ends in front of it (a cloud load balancer), set spec.exposure.plaintextAcknowledged: true"
	case len(unread) > 0:
		return metav1.ConditionUnknown, ReasonGatewayUnknown, "cannot tell whether the way in is encrypted: " + strings.Join(unread, "; ")
	default:
		return metav1.ConditionFalse, ReasonEncrypted, "every way in from outside the cluster is HTTPS"
	}
}

// attachedListeners are the listeners a parent reference attaches to: the one its sectionName names, those on
// its port, or all of them (the Gateway API's rule; an HTTPRoute attaches to HTTP and HTTPS listeners).
func attachedListeners(listeners []GatewayListener, ref fulfillmentv1alpha1.ParentReference) []GatewayListener {
	var attached []GatewayListener
	for _, l := range listeners {
		if l.Protocol != "HTTP" && l.Protocol != "HTTPS" {
			continue
		}
		if ref.SectionName != nil && *ref.SectionName != l.Name {
			continue
		}
		if ref.Port != nil && *ref.Port != l.Port {
			continue
		}
		attached = append(attached, l)
	}
	return attached
}
