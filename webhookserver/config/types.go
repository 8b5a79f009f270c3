// Package config is the runtime configuration of webhookserver: its file format (what the operator renders into
// the ConfigMap <endpoint>-config), the loader for the YAML manifests users `kubectl apply` (standalone mode), and
// the admission of both with the CRDs' own defaults and rules. The operator imports it to render the file, so
// both sides share one schema.
package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// File format identifiers.
const (
	APIVersion = "fulfillment.dev/v1alpha1"
	Kind       = "WebhookServerConfig"
)

// File is the configuration of one webhookserver: the endpoints it serves with their accepted routes, and the
// pods being retired. One endpoint per Deployment today; a list, so that a shared deployment serving many bots
// needs no new format.
type File struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`

	// SecretsDir is where referenced Secrets are mounted, one folder per Secret holding one file per key
	// (<secretsDir>/<secret name>/<key>). A relative path is relative to the config file.
	SecretsDir string `json:"secretsDir,omitempty"`

	// Admitted says that every spec is one the Kubernetes API server admitted, as the operator renders them. The
	// server then prunes and defaults them (a file an older operator rendered lacks the fields added since) and
	// compiles them, but does not run the CRDs' OpenAPI and CEL validation again: that took half of a load's
	// time (1,000 routes on one core: ready in 640 ms, 310 without) and raised a pod's peak RSS by 6 MiB. A file
	// written by hand leaves it out, to be validated like manifests.
	Admitted bool `json:"admitted,omitempty"`

	Endpoints []Endpoint `json:"endpoints"`

	// DrainPods names the pods the operator is retiring (scale-down). A server whose --pod-name is listed
	// drains: it reports not ready, refuses new events for its Local queues and keeps delivering what they
	// hold, so that the operator removes the pod only once its queue is empty.
	DrainPods []string `json:"drainPods,omitempty"`

	// Refused are the endpoints admission refused, with their admitted routes, in a configuration read with
	// problems: never served, but their routes are compiled all the same, so that one round reports every
	// problem.
	Refused []Endpoint `json:"-"`
}

// Endpoint is a WebhookEndpoint with the routes it serves.
type Endpoint struct {
	Name      string                                  `json:"name"`
	Namespace string                                  `json:"namespace"`
	Spec      fulfillmentv1alpha1.WebhookEndpointSpec `json:"spec"`
	Routes    []Route                                 `json:"routes,omitempty"`
	// Source is where the endpoint was read, for the problems later stages find in it.
	Source Location `json:"-"`
}

// Route is an accepted IntentRoute. Created breaks priority ties (older first) as in the cluster.
type Route struct {
	Name    string                              `json:"name"`
	Created metav1.Time                         `json:"created,omitempty"`
	Spec    fulfillmentv1alpha1.IntentRouteSpec `json:"spec"`
	// Source is where the route was read, for the problems later stages find in it.
	Source Location `json:"-"`
}

// SecretSource gives the value of a key of a Secret in the endpoint's namespace.
type SecretSource interface {
	Secret(namespace, name, key string) ([]byte, error)
}
