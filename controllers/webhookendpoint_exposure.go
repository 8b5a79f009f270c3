package controllers

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// GatewayListener is one listener of a Gateway an endpoint's HTTPRoute attaches to, as read.
type GatewayListener struct {
	Name     string
	Protocol string
	Port     int32
	// Hostname the listener is limited to ("" for any; may be a wildcard such as *.example.com).
	Hostname string
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
		return metav1.ConditionFalse, fulfillmentv1alpha1.ReasonNotExposed, "only a ClusterIP Service reaches the endpoint"
	case spec.Exposure != nil && spec.Exposure.PlaintextAcknowledged:
		return metav1.ConditionFalse, fulfillmentv1alpha1.ReasonPlaintextAcknowledged,
			"spec.exposure.plaintextAcknowledged is true: TLS ends in front of the endpoint's Ingress, Gateway or Service"
	case len(plain) > 0:
		return metav1.ConditionTrue, fulfillmentv1alpha1.ReasonPlaintextExposure, "reachable from outside the cluster without TLS: " + strings.Join(plain, "; ") +
			". If TLS ends in front of it (a cloud load balancer), set spec.exposure.plaintextAcknowledged: true"
	case len(unread) > 0:
		return metav1.ConditionUnknown, fulfillmentv1alpha1.ReasonGatewayUnknown, "cannot tell whether the way in is encrypted: " + strings.Join(unread, "; ")
	default:
		return metav1.ConditionFalse, fulfillmentv1alpha1.ReasonEncrypted, "every way in from outside the cluster is HTTPS"
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

// ExternalURL is the URL callers outside the cluster reach the endpoint at, derived from what serves it, or ""
// when that cannot be known: never a guess.
//
//   - Ingress: https with spec.ingress.tlsSecretName (TLS at the ingress controller), else http, on
//     spec.ingress.host; "" without a host (the address is the load balancer's, which the operator does not
//     know).
//   - HTTPRoute: the listeners it attaches to (attachedListeners) of the parent Gateways that were read, an
//     HTTPS one preferred over an HTTP one, in the order of spec.httpRoute.parentRefs; the scheme is the
//     listener's protocol and the port is written when it is not the scheme's default. The host is the first
//     route hostname the listener serves (its own hostname, possibly a wildcard, limits which), or the
//     listener's hostname when the route sets none. "" when no parent Gateway was read or no listener serves
//     a concrete hostname.
func ExternalURL(endpoint *fulfillmentv1alpha1.WebhookEndpoint, gateways GatewayFacts) string {
	path := endpoint.Spec.Path
	if path == "" {
		path = "/webhook"
	}
	if ing := endpoint.Spec.Ingress; ing != nil {
		if ing.Host == "" {
			return ""
		}
		scheme := "http"
		if ing.TLSSecretName != "" {
			scheme = "https"
		}
		return scheme + "://" + ing.Host + path
	}
	route := endpoint.Spec.HTTPRoute
	if route == nil {
		return ""
	}
	for _, protocol := range []string{"HTTPS", "HTTP"} {
		for _, ref := range route.ParentRefs {
			key, ok := gatewayParent(endpoint, ref)
			if !ok {
				continue
			}
			for _, l := range attachedListeners(gateways.Listeners[key], ref) {
				if l.Protocol != protocol {
					continue
				}
				host := servedHostname(route.Hostnames, l.Hostname)
				if host == "" {
					continue
				}
				scheme, defaultPort := "https", int32(443)
				if protocol == "HTTP" {
					scheme, defaultPort = "http", 80
				}
				if l.Port != 0 && l.Port != defaultPort {
					host = fmt.Sprintf("%s:%d", host, l.Port)
				}
				return scheme + "://" + host + path
			}
		}
	}
	return ""
}

// servedHostname is the first concrete hostname of the route that a listener limited to listenerHost ("" for
// any) serves, following the Gateway API's hostname intersection; "" when there is none.
func servedHostname(routeHosts []string, listenerHost string) string {
	if len(routeHosts) == 0 {
		if strings.HasPrefix(listenerHost, "*") {
			return ""
		}
		return listenerHost
	}
	for _, host := range routeHosts {
		switch {
		case !strings.HasPrefix(host, "*"):
			if listenerHost == "" || hostnameMatches(host, listenerHost) {
				return host
			}
		case listenerHost != "" && !strings.HasPrefix(listenerHost, "*") && hostnameMatches(listenerHost, host):
			// A wildcard route on a listener limited to one name serves that name.
			return listenerHost
		}
	}
	return ""
}

// hostnameMatches tells whether a concrete host matches pattern: equal, or under a wildcard pattern's suffix
// (*.example.com matches a.example.com and a.b.example.com, not example.com).
func hostnameMatches(host, pattern string) bool {
	if suffix, wildcard := strings.CutPrefix(pattern, "*"); wildcard {
		return strings.HasSuffix(host, suffix) && len(host) > len(suffix)
	}
	return strings.EqualFold(host, pattern)
}
