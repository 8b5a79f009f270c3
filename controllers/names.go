package controllers

import (
	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/hmackey"
)

// FieldOwner is the server-side apply field manager of everything the operator writes.
const FieldOwner = "fulfillment-operator"

// OperatorName is the app.kubernetes.io/name label of the operator's own pods (config/manager): the endpoints'
// NetworkPolicies admit them to the metrics port.
const OperatorName = "fulfillment-operator"

// Labels of the objects the operator renders for an endpoint. The selector labels are immutable on a
// Deployment, so they name only the endpoint.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelComponent = "app.kubernetes.io/component"
	// LabelEndpoint names the WebhookEndpoint an object belongs to.
	LabelEndpoint = "fulfillment.dev/endpoint"
	// LabelGateway names the WebhookGateway an object belongs to. On an endpoint's ConfigMap <endpoint>-config it
	// names the gateway that serves the endpoint: the gateway renders the endpoints whose ConfigMaps carry it.
	LabelGateway = "fulfillment.dev/gateway"
	// AnnotationConfigHash on the ConfigMap records the hash of the configuration it holds. Not on the
	// Deployment: the server reloads the configuration in place, so a change must not roll the pods, and a
	// Deployment annotation bumps its generation, which would flip the endpoint to Reconciling on every edit.
	AnnotationConfigHash = "fulfillment.dev/config-hash"
	// AnnotationAppliedHash on every object the operator applies, Secrets excepted, is the hash of the content
	// it applied last: an unchanged object is not applied again (applyIfChanged).
	AnnotationAppliedHash = "fulfillment.dev/applied-hash"
)

// PodNameEnv carries the pod's name to the server (downward API), its --pod-name.
const PodNameEnv = "POD_NAME"

// MemoryLimitEnv carries the container's memory limit in bytes to the server (downward API), which sets its Go
// memory limit from it (webhookserver/cmd/webhookserver).
const MemoryLimitEnv = "FULFILLMENT_MEMORY_LIMIT"

// Paths inside a fulfillment pod.
const (
	// ServerCommand is the webhookserver binary in the image, next to the operator's /manager (Dockerfile).
	ServerCommand = "/webhookserver"
	// ConfigDir holds config.yaml, the ConfigMap <endpoint>-config.
	ConfigDir = "/etc/fulfillment/config"
	// ConfigFile is the configuration the server runs (--config).
	ConfigFile = ConfigDir + "/config.yaml"
	// ConfigKey is the key of the configuration in the ConfigMap.
	ConfigKey = "config.yaml"
	// SecretsDir holds each referenced Secret as a folder, <SecretsDir>/<secret name>/<key>.
	SecretsDir = "/etc/fulfillment/secrets"
	// ConfigSecretsDir is SecretsDir as the rendered configuration names it: relative to the configuration
	// file, so the same file works wherever the pod's volumes are mounted together (a local run, make dev).
	ConfigSecretsDir = "../secrets"
	// SecretCopiesDir holds a gateway's copies of its members' Secrets, one file per key
	// (configfile.SecretCopyKey): the gateway's one Secret of copies.
	SecretCopiesDir = "/etc/fulfillment/gateway-secrets"
	// ConfigSecretCopiesDir is SecretCopiesDir as the rendered configuration names it.
	ConfigSecretCopiesDir = "../gateway-secrets"
	// ConfigMapsDir holds each ConfigMap routes read (a CA bundle) as a folder, <ConfigMapsDir>/<name>/<key>.
	ConfigMapsDir = "/etc/fulfillment/configmaps"
	// ConfigConfigMapsDir is ConfigMapsDir as the rendered configuration names it.
	ConfigConfigMapsDir = "../configmaps"
	// TLSDir holds the serving certificate (tls.crt, tls.key).
	TLSDir = "/etc/fulfillment/tls"
	// QueueDir holds Local delivery queues.
	QueueDir = "/var/lib/fulfillment/queue"
	// WebhookPort and MetricsPort are the container ports of the webhook and of metrics and probes.
	WebhookPort = 8080
	MetricsPort = 9090
	// AdminPort is the server's admin listener (dead letters), on the pod's loopback: not a container port.
	AdminPort = 9091
)

// ConfigMapName is the ConfigMap holding an endpoint's rendered configuration.
func ConfigMapName(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	return endpoint.Name + "-config"
}

// HMACSecretName is the Secret with an endpoint's HMAC keys: the referenced one, else the generated
// <endpoint>-hmac. Empty when the endpoint has no HMAC.
func HMACSecretName(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	if endpoint.Spec.Auth.HMAC == nil {
		return ""
	}
	return hmackey.SecretName(endpoint.Name, endpoint.Spec.Auth.HMAC)
}

// SelectorLabels select an endpoint's pods.
func SelectorLabels(endpoint *fulfillmentv1alpha1.WebhookEndpoint) map[string]string {
	return map[string]string{LabelName: "webhookserver", LabelInstance: endpoint.Name}
}

// Labels are put on every object rendered for an endpoint, or for a gateway (GatewayWorkload).
func Labels(endpoint *fulfillmentv1alpha1.WebhookEndpoint) map[string]string {
	labels := SelectorLabels(endpoint)
	labels[LabelManagedBy] = FieldOwner
	labels[LabelComponent] = "fulfillment"
	if isGateway(endpoint) {
		labels[LabelGateway] = endpoint.Name
	} else {
		labels[LabelEndpoint] = endpoint.Name
	}
	return labels
}
