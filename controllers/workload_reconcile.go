package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// How often pods are asked again while a scale-down waits for them, and for an Async endpoint, so that
// status.queue follows the events waiting.
const (
	drainingRecheck = 5 * time.Second
	queuedRecheck   = 30 * time.Second
)

// retirement is what the reconcile does about pods that go away with events on their volumes.
type retirement struct {
	// replicas of the StatefulSet (planRetirement).
	replicas int32
	// drain are the pods the configuration names as retired.
	drain []string
	// deleteDeployment: the Deployment an endpoint with a Local queue ran as before (with another delivery, or
	// from an operator that kept Local queues in an emptyDir) has no pod holding an event any more.
	deleteDeployment bool
}

// readWorkload reads the endpoint's object of a workload kind into obj: returned when the endpoint controls
// it; when someone else has the name and the endpoint runs as this kind (wanted), a conflict message instead.
func readWorkload[T client.Object](ctx context.Context, c client.Reader, endpoint *fulfillmentv1alpha1.WebhookEndpoint,
	obj T, kind string, wanted bool) (T, string, error) {
	var none T
	if err := c.Get(ctx, client.ObjectKey{Namespace: endpoint.Namespace, Name: endpoint.Name}, obj); err != nil {
		return none, "", client.IgnoreNotFound(err)
	}
	self := controllerRef(endpoint)
	if owner := ownerOf(self, obj); owner != "" {
		if wanted {
			return none, objectConflictMessage(self.Kind, []objectConflict{{Kind: kind, Name: obj.GetName(), Owner: owner}}), nil
		}
		return none, "", nil
	}
	if !metav1.IsControlledBy(obj, endpoint) {
		return none, "", nil
	}
	return obj, "", nil
}

// readPodReports reads the report of every running pod of the endpoint. They are the facts of the status
// (facts.PodReports) only when the operator reads reports; otherwise each says it was not read, which holds a
// scale-down of a Local queue rather than guess.
func (r *WebhookEndpointReconciler) readPodReports(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint, facts *EndpointFacts) []PodReport {
	pods, err := runningPods(ctx, r.cache(), endpoint)
	if err != nil {
		log.FromContext(ctx).Error(err, "listing the endpoint's pods")
		return nil
	}
	if r.PodReports == nil {
		reports := make([]PodReport, len(pods))
		for i := range pods {
			reports[i] = unreadReport(&pods[i], "the operator does not read pod reports (--confirm-pod-configuration=false)")
		}
		return reports
	}
	facts.PodReports, facts.PodsRead = r.PodReports.Read(ctx, pods), true
	return facts.PodReports
}

// planWorkloads decides, for an endpoint with a Local queue, the StatefulSet's replicas and the pods to retire
// (planRetirement), and whether a Deployment it ran as before may go: its pods drain like retired ones. The
// QueueDraining message says what is waited for.
func (r *WebhookEndpointReconciler) planWorkloads(endpoint *fulfillmentv1alpha1.WebhookEndpoint, facts *EndpointFacts, reports []PodReport) retirement {
	if !UsesLocalQueue(&endpoint.Spec) {
		return retirement{}
	}
	byName := make(map[string]PodReport, len(reports))
	for _, report := range reports {
		byName[report.Pod] = report
	}
	desired := *deploymentReplicas(&endpoint.Spec)
	current := int32(0)
	if facts.StatefulSet != nil && facts.StatefulSet.Spec.Replicas != nil {
		current = *facts.StatefulSet.Spec.Replicas
	}
	plan := planRetirement(endpoint.Name, desired, current, byName)
	result := retirement{replicas: plan.Replicas, drain: plan.Drain}
	var waiting []string
	if len(plan.Holding) > 0 {
		waiting = append(waiting, retirementMessage(desired, current, plan))
	}
	if facts.Deployment != nil {
		var holding []string
		for _, report := range reports {
			if report.Controller != "ReplicaSet" {
				continue
			}
			result.drain = append(result.drain, report.Pod)
			if holds := retiredPodHolds(report.Pod, report); holds != "" {
				holding = append(holding, holds)
			}
		}
		result.deleteDeployment = len(holding) == 0
		if !result.deleteDeployment {
			waiting = append(waiting, fmt.Sprintf("Deployment %s is removed once its pods delivered their events: %s",
				facts.Deployment.Name, strings.Join(holding, "; ")))
		}
	}
	facts.QueueDraining = strings.Join(waiting, "; ")
	return result
}

// removeRetiredWorkload deletes the Deployment an endpoint with a Local queue no longer runs as, once its pods
// hold nothing.
func (r *WebhookEndpointReconciler) removeRetiredWorkload(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint, plan retirement) error {
	if !plan.deleteDeployment {
		return nil
	}
	deployment := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: endpoint.Namespace, Name: endpoint.Name}}
	return deleteUnwanted(ctx, r.Client, r.Client, deployment, endpoint)
}

// replaceStatefulSet deletes the endpoint's StatefulSet and leaves its pods and claims (orphans), so that the
// next reconcile creates it with new volume claim templates, which are immutable, and it adopts the pods.
// Existing claims keep their size: a class that allows it can expand them (kubectl edit pvc).
func (r *WebhookEndpointReconciler) replaceStatefulSet(ctx context.Context, endpoint *fulfillmentv1alpha1.WebhookEndpoint, set client.Object) error {
	if err := r.Client.Delete(ctx, set, client.PropagationPolicy(metav1.DeletePropagationOrphan)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("replacing StatefulSet %s for its new volume claim template: %w", set.GetName(), err)
	}
	r.Recorder.Eventf(endpoint, nil, corev1.EventTypeNormal, "StatefulSetReplaced", "Reconcile",
		"spec.delivery.storage changed: StatefulSet %s is replaced, its pods and volumes kept; new volumes get the new "+
			"size and class, existing ones keep theirs", set.GetName())
	return nil
}

// podsRecheck is when to read the pods' reports again: soon while a scale-down waits for them, every
// queuedRecheck for an Async endpoint, and as the configuration check says otherwise.
func podsRecheck(endpoint *fulfillmentv1alpha1.WebhookEndpoint, facts *EndpointFacts, plan retirement) time.Duration {
	switch {
	case facts.QueueDraining != "" || len(plan.drain) > 0:
		return drainingRecheck
	case !facts.PodsRead:
		return 0
	}
	recheck := time.Duration(0)
	if check := configurationCheck(facts.ConfigHash, facts.PodReports); check.reason != "" {
		recheck = configurationRecheck(check) // with no ready pod, the pod watch brings the endpoint back
	}
	if queue := queueStatus(endpoint.Namespace+"/"+endpoint.Name, facts.PodReports); queue != nil && (recheck == 0 || queuedRecheck < recheck) {
		recheck = queuedRecheck // an Async endpoint: status.queue follows its pods
	}
	return recheck
}

// controllerKind is the kind of the pod's controller (ReplicaSet, StatefulSet), "" without one.
func controllerKind(pod *corev1.Pod) string {
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		return ref.Kind
	}
	return ""
}
