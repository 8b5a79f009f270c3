package controllers

// The operator's permissions, least privilege: it reads its own kinds and writes only their status, and it owns
// the objects it renders for each endpoint. Secrets are read for referenced keys and written only for the HMAC
// keys and CA it generates; it never deletes what it does not own (owner references do that).
//
// +kubebuilder:rbac:groups=fulfillment.dev,resources=webhookendpoints;intentroutes,verbs=get;list;watch
// +kubebuilder:rbac:groups=fulfillment.dev,resources=webhookendpoints/status;intentroutes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=fulfillment.dev,resources=webhookendpoints/finalizers;intentroutes/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=configmaps;secrets;serviceaccounts;services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies;ingresses,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;update;patch;delete
