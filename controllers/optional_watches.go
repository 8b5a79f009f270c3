package controllers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Kinds the endpoint controller applies whose CRDs may be installed or not: they are watched like the other
// kinds it writes once their API exists, so a hand edit or deletion is undone at once.
var (
	httpRouteGVK   = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}
	certificateGVK = schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"}
)

// optionalKindCheckInterval is how often the API server's discovery is asked again for an optional kind not
// installed yet (the Gateway API or cert-manager installed after the operator).
const optionalKindCheckInterval = time.Minute

// optionalWatches adds a watch for each optional kind once its API exists: at start, and when its CRD is
// installed later (discovery is asked again every interval until every kind is watched). Discovery needs no
// permission beyond what any authenticated client has, unlike a watch on CustomResourceDefinitions.
type optionalWatches struct {
	kinds    []schema.GroupVersionKind
	interval time.Duration
	// installed tells whether the API server serves a kind; watch adds the watch to the running controller.
	installed func(schema.GroupVersionKind) (bool, error)
	watch     func(schema.GroupVersionKind) error
}

// Start implements manager.Runnable: it returns once every kind is watched, or when ctx ends.
func (w *optionalWatches) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("optional-watches")
	pending := w.kinds
	for {
		pending = w.addInstalled(logger, pending)
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.interval):
		}
	}
}

// addInstalled adds a watch for each installed kind and returns those still pending.
func (w *optionalWatches) addInstalled(logger interface {
	Info(string, ...any)
	Error(error, string, ...any)
}, kinds []schema.GroupVersionKind) []schema.GroupVersionKind {
	var pending []schema.GroupVersionKind
	for _, gvk := range kinds {
		ok, err := w.installed(gvk)
		if err != nil {
			logger.Error(err, "asking discovery for an optional kind", "kind", gvk)
		}
		if !ok {
			pending = append(pending, gvk)
			continue
		}
		if err := w.watch(gvk); err != nil {
			logger.Error(err, "watching an optional kind", "kind", gvk)
			pending = append(pending, gvk)
			continue
		}
		logger.Info("watching the operator's objects of an optional kind", "kind", gvk)
	}
	return pending
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: the watch belongs to the controller, which
// runs only on the leader, but adding it costs nothing on the others.
func (w *optionalWatches) NeedLeaderElection() bool { return false }

// newOptionalWatches watches HTTPRoutes and Certificates through c, mapped to endpoints by toEndpoints: by name,
// as for the other kinds the endpoint writes, so that deleting one of someone else's resumes the endpoint it
// stalled (ObjectConflict).
func newOptionalWatches(c controller.Controller, objects cache.Cache, mapper meta.RESTMapper,
	toEndpoints handler.TypedMapFunc[client.Object, reconcile.Request]) *optionalWatches {
	return &optionalWatches{
		kinds:    []schema.GroupVersionKind{httpRouteGVK, certificateGVK},
		interval: optionalKindCheckInterval,
		installed: func(gvk schema.GroupVersionKind) (bool, error) {
			_, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			switch {
			case meta.IsNoMatchError(err):
				return false, nil
			case err != nil:
				return false, err
			}
			return true, nil
		},
		watch: func(gvk schema.GroupVersionKind) error {
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(gvk)
			return c.Watch(source.Kind[client.Object](objects, obj, handler.EnqueueRequestsFromMapFunc(toEndpoints)))
		},
	}
}
