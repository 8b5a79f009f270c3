package controllers

// The operator's permissions, least privilege: it reads its own kinds and writes only their status; it creates and
// server-side-applies (patch) the objects it renders, and deletes only those it removes when a feature is turned
// off (PodDisruptionBudget, HorizontalPodAutoscaler, Ingress, HTTPRoute), the Deployment an endpoint no longer
// runs as once its pods are empty, and a StatefulSet it replaces (its pods and claims orphaned, kept); owner
// references remove the rest with the endpoint. Secrets: it watches referenced ones as metadata only and reads their content directly (uncached)
// to check the keys the server reads, reads and writes only the HMAC keys and certificates it generates, and never
// deletes one. It reads the Gateways an HTTPRoute attaches to, to tell whether their listeners are HTTPS
// (InsecureExposure), and its namespace, to leave alone one being deleted. It lists the fulfillment pods (cached
// by label) to ask each ready one which configuration it serves. It lists a Local queue's claims and reads the
// volumes bound to them (uncached), to tell whether they live on one node only (QueueDurable).
//
// +kubebuilder:rbac:groups=fulfillment.dev,resources=webhookendpoints;intentroutes;webhookgateways,verbs=get;list;watch
// +kubebuilder:rbac:groups=fulfillment.dev,resources=webhookendpoints/status;intentroutes/status;webhookgateways/status,verbs=get;patch
// +kubebuilder:rbac:groups=fulfillment.dev,resources=webhookendpoints/finalizers;webhookgateways/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=configmaps;secrets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=serviceaccounts;services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=list
// +kubebuilder:rbac:groups="",resources=persistentvolumes,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=get
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;patch
