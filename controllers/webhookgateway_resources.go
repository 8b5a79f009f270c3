package controllers

// What a WebhookGateway's reconciler renders, as pure functions. A gateway's pods, Service, exposure and TLS are
// rendered by the endpoint's functions from GatewayWorkload, the gateway seen as an endpoint with only those
// fields, so that the two kinds of pods cannot drift apart in hardening or options. What differs is the
// configuration: the gateway's pods serve the configurations of its member endpoints, each on its own path.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

var gatewayGVK = fulfillmentv1alpha1.GroupVersion.WithKind("WebhookGateway")

// gatewayHeaderBytes bounds what a gateway's configuration holds besides its endpoints (apiVersion, kind, the
// folders).
const gatewayHeaderBytes = 1024

// Annotations of a member endpoint's ConfigMap and of a gateway's ConfigMap.
const (
	// AnnotationEndpointCreated on a member's ConfigMap is its endpoint's creation time (RFC 3339): of two members
	// with one path, the older endpoint is served.
	AnnotationEndpointCreated = "fulfillment.dev/endpoint-created"
	// AnnotationGatewayMembers on a gateway's ConfigMap lists the endpoints its configuration holds (memberKey),
	// comma-separated and sorted: an endpoint is served once the gateway's pods serve a configuration that lists
	// its current hash.
	AnnotationGatewayMembers = "fulfillment.dev/members"
	// AnnotationLeaving on a member's ConfigMap says that the endpoint's own pods serve it now: the gateway keeps
	// serving it, closing each connection it answers (configfile.Endpoint.Leaving), until the endpoint lets go.
	AnnotationLeaving = "fulfillment.dev/leaving"
	// AnnotationLeavingServed on a leaving member's ConfigMap is when the endpoint saw the gateway's pods serve it
	// as leaving (RFC 3339); it lets go configfile.IdleTimeout later.
	AnnotationLeavingServed = "fulfillment.dev/leaving-served"
)

// isGateway tells whether endpoint stands for a WebhookGateway (GatewayWorkload).
func isGateway(endpoint *fulfillmentv1alpha1.WebhookEndpoint) bool {
	return endpoint.Kind == gatewayGVK.Kind
}

// GatewayWorkload is the gateway as the endpoint functions render it: its name, namespace and UID (so that its
// objects are named after it and controlled by it), the kind WebhookGateway (owner references and labels), and
// the fields about pods, Service, exposure and TLS. Its path is /: the Ingress and HTTPRoute send every path to
// the pods, which answer their endpoints' paths.
func GatewayWorkload(gateway *fulfillmentv1alpha1.WebhookGateway) *fulfillmentv1alpha1.WebhookEndpoint {
	spec := gateway.Spec.DeepCopy()
	return &fulfillmentv1alpha1.WebhookEndpoint{
		TypeMeta: metav1.TypeMeta{APIVersion: gatewayGVK.GroupVersion().String(), Kind: gatewayGVK.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: gateway.Name, Namespace: gateway.Namespace, UID: gateway.UID,
			Generation: gateway.Generation, CreationTimestamp: gateway.CreationTimestamp},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Path:          "/",
			Replicas:      spec.Replicas,
			Autoscaling:   spec.Autoscaling,
			Resources:     spec.Resources,
			PodTemplate:   spec.PodTemplate,
			TLS:           spec.TLS,
			Service:       spec.Service,
			Ingress:       spec.Ingress,
			HTTPRoute:     spec.HTTPRoute,
			Observability: spec.Observability,
			Auth:          fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true},
		},
	}
}

// GatewayURL is the gateway's URL inside the cluster, without a path.
func GatewayURL(gateway *fulfillmentv1alpha1.WebhookGateway) string {
	return strings.TrimSuffix(serviceURL(GatewayWorkload(gateway)), "/")
}

// GatewayMember is an endpoint as its gateway sees it: the ConfigMap the endpoint's reconciler wrote.
type GatewayMember struct {
	Name    string
	Created time.Time
	// Hash is the hash of the endpoint's own configuration (AnnotationConfigHash).
	Hash string
	// File is the endpoint's own configuration, one endpoint with its routes.
	File configfile.File
	// Leaving: the endpoint's own pods serve it now (AnnotationLeaving).
	Leaving bool
	// Size is the bytes of the endpoint's own configuration: at least what its entry adds to the gateway's,
	// which renders the entry alike, as an item of the same endpoints list.
	Size int
}

// ReadGatewayMember reads a member endpoint's ConfigMap.
func ReadGatewayMember(configMap *corev1.ConfigMap) (GatewayMember, error) {
	member := GatewayMember{Name: strings.TrimSuffix(configMap.Name, "-config"), Hash: configMap.Annotations[AnnotationConfigHash],
		Leaving: configMap.Annotations[AnnotationLeaving] == "true", Size: len(configMap.Data[ConfigKey])}
	if created, err := time.Parse(time.RFC3339, configMap.Annotations[AnnotationEndpointCreated]); err == nil {
		member.Created = created
	}
	if err := yaml.Unmarshal([]byte(configMap.Data[ConfigKey]), &member.File); err != nil {
		return member, fmt.Errorf("reading the configuration of endpoint %s from ConfigMap %s: %w", member.Name, configMap.Name, err)
	}
	if len(member.File.Endpoints) != 1 {
		return member, fmt.Errorf("ConfigMap %s holds %d endpoints, want the one of endpoint %s", configMap.Name, len(member.File.Endpoints), member.Name)
	}
	return member, nil
}

// PathClaim is an endpoint's claim on a path of its gateway.
type PathClaim struct {
	Name    string
	Created time.Time
	Path    string
}

// PathWinners decides which endpoint serves each path of a gateway: the oldest claim (by creation, then name)
// wins. It returns, for each claim that loses, the name of the endpoint that has its path.
func PathWinners(claims []PathClaim) map[string]string {
	sorted := slices.Clone(claims)
	slices.SortFunc(sorted, func(a, b PathClaim) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	owner := map[string]string{}
	losers := map[string]string{}
	for _, claim := range sorted {
		if winner, taken := owner[claim.Path]; taken && winner != claim.Name {
			losers[claim.Name] = winner
			continue
		}
		owner[claim.Path] = claim.Name
	}
	return losers
}

// GatewayConfig is what a gateway's pods load: the served members' configurations in one file.
type GatewayConfig struct {
	Data []byte
	Hash string
	// Members is AnnotationGatewayMembers.
	Members string
	// Served are the members in the file; Refused the others, with why; TooLarge those of them left out for
	// the size of the configuration (AnnotationGatewayRefused).
	Served   []GatewayMember
	Refused  map[string]string
	TooLarge []string
	// Secrets and ConfigMaps are what the served members read: the Secrets as copies in the gateway's Secret
	// (or mounted, CopySecrets), the ConfigMaps mounted.
	Secrets, ConfigMaps []string
}

// RenderGatewayConfig renders the members into one configuration. A member whose path an older member has is
// refused, and so is one that would take the configuration past what a ConfigMap holds (oldest first, so that
// a new endpoint never pushes out one that is served).
func RenderGatewayConfig(members []GatewayMember) (GatewayConfig, error) {
	claims := make([]PathClaim, 0, len(members))
	for _, m := range members {
		claims = append(claims, PathClaim{Name: m.Name, Created: m.Created, Path: memberPath(m)})
	}
	out := GatewayConfig{Refused: map[string]string{}}
	for name, winner := range PathWinners(claims) {
		out.Refused[name] = fmt.Sprintf("path %s is served by the older endpoint %s", pathOf(members, name), winner)
	}
	ordered := slices.Clone(members)
	slices.SortFunc(ordered, func(a, b GatewayMember) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	file := &configfile.File{Header: configfile.Header{SecretsDir: ConfigSecretsDir, SecretCopiesDir: ConfigSecretCopiesDir, Admitted: true}}
	size := 0
	for _, m := range ordered {
		if _, refused := out.Refused[m.Name]; refused {
			continue
		}
		entry := m.File.Endpoints[0]
		entry.Leaving = m.Leaving
		if size+m.Size > MaxConfigBytes-gatewayHeaderBytes {
			out.Refused[m.Name] = fmt.Sprintf("the gateway's configuration would exceed the %d bytes a ConfigMap holds; "+
				"put the endpoint on another gateway", MaxConfigBytes)
			out.TooLarge = append(out.TooLarge, m.Name)
			continue
		}
		size += m.Size
		file.Endpoints = append(file.Endpoints, entry)
		if m.File.ConfigMapsDir != "" {
			file.ConfigMapsDir = ConfigConfigMapsDir
		}
		out.Served = append(out.Served, m)
		out.Secrets = append(out.Secrets, ReferencedSecrets(memberEndpoint(entry), memberRoutes(entry))...)
		out.ConfigMaps = append(out.ConfigMaps, ReferencedConfigMaps(memberRoutes(entry))...)
	}
	data, err := configfile.Render(file)
	if err != nil {
		return out, fmt.Errorf("rendering the gateway's configuration: %w", err)
	}
	sum := sha256.Sum256(data)
	out.Data, out.Hash = data, hex.EncodeToString(sum[:])
	out.Secrets, out.ConfigMaps = sortedUnique(out.Secrets), sortedUnique(out.ConfigMaps)
	listed := make([]string, 0, len(out.Served))
	for _, m := range out.Served {
		listed = append(listed, memberKey(m.Name, m.Hash, m.Leaving))
	}
	slices.Sort(listed)
	out.Members = strings.Join(listed, ",")
	return out, nil
}

// ServesMember tells whether a gateway ConfigMap's AnnotationGatewayMembers lists the endpoint at hash, leaving
// or not.
func ServesMember(members, name, hash string, leaving bool) bool {
	return slices.Contains(strings.Split(members, ","), memberKey(name, hash, leaving))
}

// memberKey is an endpoint's entry in AnnotationGatewayMembers: name=<hash of its configuration>, and
// ":leaving" when it is.
func memberKey(name, hash string, leaving bool) string {
	key := name + "=" + shortHash(hash)
	if leaving {
		key += ":leaving"
	}
	return key
}

func memberPath(m GatewayMember) string {
	return endpointPath(memberEndpoint(m.File.Endpoints[0]))
}

func pathOf(members []GatewayMember, name string) string {
	for _, m := range members {
		if m.Name == name {
			return memberPath(m)
		}
	}
	return ""
}

// memberEndpoint and memberRoutes turn a configuration entry back into the objects ReferencedSecrets reads.
func memberEndpoint(entry configfile.Endpoint) *fulfillmentv1alpha1.WebhookEndpoint {
	return &fulfillmentv1alpha1.WebhookEndpoint{ObjectMeta: metav1.ObjectMeta{Name: entry.Name, Namespace: entry.Namespace}, Spec: entry.Spec}
}

func memberRoutes(entry configfile.Endpoint) []fulfillmentv1alpha1.IntentRoute {
	routes := make([]fulfillmentv1alpha1.IntentRoute, 0, len(entry.Routes))
	for _, r := range entry.Routes {
		routes = append(routes, fulfillmentv1alpha1.IntentRoute{ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: entry.Namespace}, Spec: r.Spec})
	}
	return routes
}
