// Package configfile is the configuration file of webhookserver: what the operator renders into the ConfigMap
// <endpoint>-config and the server reads. It holds the file's types and Render and nothing else, so that the
// operator shares the format with the server without linking how the server loads and admits it
// (webhookserver/config).
package configfile

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// IdleTimeout is how long a server keeps an idle kept-alive connection open. An endpoint leaving a shared
// server stays on it, closing each connection it answers (Endpoint.Leaving), until the server has served it so
// for longer than this: by then no caller's connection leads there any more.
const IdleTimeout = 60 * time.Second

// File format identifiers.
const (
	APIVersion = "fulfillment.dev/v1alpha1"
	Kind       = "WebhookServerConfig"
)

// File is the configuration of one webhookserver: the endpoints it serves with their accepted routes, and the
// pods being retired. One endpoint per Deployment today; a list, so that a shared deployment serving many bots
// needs no new format.
type File struct {
	Header

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

// Header is the top of a File: its format and where the files it names are. The server reads it as written
// while it keeps the rest as decoded JSON for admission (webhookserver/config), so the two share it.
type Header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`

	// SecretsDir is where referenced Secrets are mounted, one folder per Secret holding one file per key
	// (<secretsDir>/<secret name>/<key>). A relative path is relative to the config file.
	SecretsDir string `json:"secretsDir,omitempty"`

	// SecretCopiesDir holds copies of Secrets' keys in one folder, a file SecretCopyKey(secret, key) each: a
	// WebhookGateway mounts its members' Secrets as one Secret, so that an endpoint joining it changes no pod
	// template (no rollout). A key found there is read from it, any other from SecretsDir. Relative to the file.
	SecretCopiesDir string `json:"secretCopiesDir,omitempty"`

	// ConfigMapsDir is SecretsDir for the ConfigMaps routes read (a CA bundle): <configMapsDir>/<name>/<key>.
	ConfigMapsDir string `json:"configMapsDir,omitempty"`

	// Admitted says that every spec is one the Kubernetes API server admitted, as the operator renders them. The
	// server then prunes and defaults them (a file an older operator rendered lacks the fields added since) and
	// compiles them, but does not run the CRDs' OpenAPI and CEL validation again: that was a large share of a
	// load's time and of a pod's peak memory (docs/benchmarks.md). A file written by hand leaves it out, to
	// be validated like manifests.
	Admitted bool `json:"admitted,omitempty"`
}

// Endpoint is a WebhookEndpoint with the routes it serves.
type Endpoint struct {
	Name      string                                  `json:"name"`
	Namespace string                                  `json:"namespace"`
	Spec      fulfillmentv1alpha1.WebhookEndpointSpec `json:"spec"`
	Routes    []Route                                 `json:"routes,omitempty"`
	// Leaving says that the endpoint is moving off this (shared) server to pods of its own: it is served, and
	// each answer closes its connection, so that callers reconnect to wherever its Service points now.
	Leaving bool `json:"leaving,omitempty"`
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

// Location is where an object of the configuration was read, so that a problem found at any stage (admission,
// compiling its expressions, reading its Secrets) names the file and document the user has to edit.
type Location struct {
	// File is the file the object is in; empty for a configuration built in code.
	File string
	// Document is the 1-based position of the object's YAML document in a manifest file; 0 in a rendered
	// configuration file, which is one document.
	Document int
	// Path is the object's entry in a rendered configuration file, e.g. endpoints[0].routes[1]; empty in
	// manifests, where the document is the object.
	Path string
}

// SecretCopyKey is the file, and the key of the gateway's Secret, that holds a copy of a Secret's key in
// SecretCopiesDir: "_" cannot appear in a Secret's name, so the first one splits the two unambiguously.
func SecretCopyKey(secret, key string) string {
	return secret + "_" + key
}
