package controllers

// An endpoint's pods run as a Deployment, unless it queues events on its own pods (Async delivery with a Local
// queue): then they run as a StatefulSet with a PersistentVolumeClaim per pod, because an acknowledged event
// lives on that pod's volume until it is delivered. A replaced pod (a rollout, an eviction, a node drain, a
// kill) comes back with the same name and the same volume; the claims outlive a scale-down and the endpoint's
// deletion (retention policy Retain), so nothing acknowledged is ever deleted with them. A scale-down retires
// the highest ordinals only once they have delivered every event they hold (planRetirement).

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// defaultQueueSize is the volume of each pod's Local queue when spec.delivery.storage.size is unset.
var defaultQueueSize = resource.MustParse("1Gi")

// UsesLocalQueue tells whether the endpoint queues events on its pods' volumes: Async with a Local queue.
func UsesLocalQueue(spec *fulfillmentv1alpha1.WebhookEndpointSpec) bool {
	d := spec.Delivery
	return d != nil && d.Mode == fulfillmentv1alpha1.DeliveryAsync && d.Queue != fulfillmentv1alpha1.QueueRedis
}

// QueueClaimName is the PersistentVolumeClaim of the Local queue of the endpoint's pod with ordinal.
func QueueClaimName(endpoint *fulfillmentv1alpha1.WebhookEndpoint, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", queueVolume, endpoint.Name, ordinal)
}

// DesiredStatefulSet runs the pods of an endpoint with a Local queue, with replicas pods (desiredReplicas, or
// more while planRetirement keeps retiring pods). It has the Deployment's pod template, with the queue volume
// claimed per pod instead of an emptyDir. Pods start and stop in parallel (no ordering is needed), and a
// rollout replaces one pod at a time, each coming back with its own volume.
func DesiredStatefulSet(in DeploymentInputs, replicas int32) *appsv1.StatefulSet {
	endpoint := in.Endpoint
	template := podTemplate(in)
	template.Spec.Volumes = slices.DeleteFunc(template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == queueVolume })
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: objectMeta(endpoint, endpoint.Name),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            &replicas,
			Selector:            &metav1.LabelSelector{MatchLabels: SelectorLabels(endpoint)},
			ServiceName:         endpoint.Name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
			Template:             template,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{queueClaimTemplate(endpoint)},
		},
	}
}

// queueClaimTemplate is the claim of each pod's queue volume.
func queueClaimTemplate(endpoint *fulfillmentv1alpha1.WebhookEndpoint) corev1.PersistentVolumeClaim {
	size, class := defaultQueueSize, (*string)(nil)
	if storage := endpoint.Spec.Delivery.Storage; storage != nil {
		if storage.Size != nil {
			size = *storage.Size
		}
		class = storage.StorageClassName
	}
	return corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: queueVolume, Labels: Labels(endpoint)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
			StorageClassName: class,
		},
	}
}

// claimTemplatesChanged tells whether a StatefulSet's volume claim templates differ from the wanted ones in
// what the operator sets (size, class): they are immutable, so the StatefulSet is then replaced, its pods and
// claims kept.
func claimTemplatesChanged(existing, wanted *appsv1.StatefulSet) bool {
	if len(existing.Spec.VolumeClaimTemplates) != len(wanted.Spec.VolumeClaimTemplates) {
		return true
	}
	for i, w := range wanted.Spec.VolumeClaimTemplates {
		e := existing.Spec.VolumeClaimTemplates[i]
		if e.Name != w.Name || !equality.Semantic.DeepEqual(e.Spec.Resources.Requests, w.Spec.Resources.Requests) ||
			(w.Spec.StorageClassName != nil && !equality.Semantic.DeepEqual(e.Spec.StorageClassName, w.Spec.StorageClassName)) {
			return true
		}
	}
	return false
}

// RetirementPlan is how far a StatefulSet may scale down now.
type RetirementPlan struct {
	// Replicas is the StatefulSet's replica count to apply: the desired count once every retired pod is empty.
	Replicas int32
	// Drain names the pods being retired: the configuration tells them to take no new events and deliver what
	// they hold.
	Drain []string
	// Holding says, for each retired pod not confirmed empty, what it still holds.
	Holding []string
}

// planRetirement decides the replicas of a StatefulSet that has current replicas and should have desired. A
// StatefulSet removes its highest ordinals first, so the count goes down to an ordinal only when that pod and
// every one above it reported (reports, by pod name) that it is draining and holds no event, waiting or dead:
// a pod that is missing, not started or not answering may hold events on its volume, and waits for it. name
// is the StatefulSet's name (its pods are name-<ordinal>).
func planRetirement(name string, desired, current int32, reports map[string]PodReport) RetirementPlan {
	if desired >= current {
		return RetirementPlan{Replicas: desired}
	}
	plan := RetirementPlan{Replicas: current}
	for ordinal := desired; ordinal < current; ordinal++ {
		plan.Drain = append(plan.Drain, name+"-"+strconv.Itoa(int(ordinal)))
	}
	for ordinal := current - 1; ordinal >= desired; ordinal-- {
		pod := name + "-" + strconv.Itoa(int(ordinal))
		holding := retiredPodHolds(pod, reports[pod])
		if holding != "" {
			plan.Holding = append(plan.Holding, holding)
			break
		}
		plan.Replicas = ordinal
	}
	return plan
}

// retiredPodHolds says what a pod being retired still holds, "" when it is draining and empty.
func retiredPodHolds(pod string, report PodReport) string {
	switch {
	case !report.Found:
		return fmt.Sprintf("pod %s is not running; its volume may hold events, so it is started again to deliver them", pod)
	case report.Error != "":
		return fmt.Sprintf("pod %s did not report its queue: %s", pod, report.Error)
	case !report.Report.Draining:
		return fmt.Sprintf("pod %s has not loaded the configuration that retires it yet", pod)
	}
	var waiting, dead int64
	for _, q := range report.Report.Queues {
		if q.Kind == statusz.QueueLocal {
			waiting, dead = waiting+q.Waiting(), dead+q.Dead
		}
	}
	switch {
	case waiting > 0:
		return fmt.Sprintf("pod %s delivers its %s first", pod, pluralEvents(waiting, "queued event"))
	case dead > 0:
		return fmt.Sprintf("pod %s holds %s: replay or purge them (webhookserver deadletters, through kubectl port-forward "+
			"to the pod's admin port) before it can be removed", pod, pluralEvents(dead, "dead letter"))
	}
	return ""
}

func pluralEvents(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.FormatInt(n, 10) + " " + what + "s"
}

// retirementMessage is the QueueDraining message of a plan that holds pods back.
func retirementMessage(desired, current int32, plan RetirementPlan) string {
	return fmt.Sprintf("scaling from %d to %d pods once the retired pods delivered their events: %s", current, desired,
		strings.Join(plan.Holding, "; "))
}

// queueStatus sums what the pods report about the endpoint's queue: Local queues are each pod's own, a Redis
// queue is shared, so its counts are taken once. Nil when no pod reported an Async queue.
func queueStatus(endpoint string, reports []PodReport) *fulfillmentv1alpha1.QueueStatus {
	var status *fulfillmentv1alpha1.QueueStatus
	var oldest *metav1.Time
	sharedCounted := false
	for _, report := range reports {
		for _, q := range report.Report.Queues {
			if q.Endpoint != endpoint || q.Error != "" {
				continue
			}
			if q.Kind != statusz.QueueLocal {
				if sharedCounted {
					continue
				}
				sharedCounted = true
			}
			if status == nil {
				status = &fulfillmentv1alpha1.QueueStatus{}
			}
			status.Waiting += q.Waiting()
			status.DeadLetters += q.Dead
			if q.OldestReceived != nil && (oldest == nil || q.OldestReceived.Before(oldest.Time)) {
				t := metav1.NewTime(q.OldestReceived.UTC().Truncate(1e9))
				oldest = &t
			}
		}
	}
	if status != nil && status.Waiting > 0 {
		status.OldestEventTime = oldest
	}
	return status
}

// PodReport is one pod's report (GET /statusz), or why it was not read.
type PodReport struct {
	Pod string
	// Found says the pod exists, runs and has an address; Ready that it is ready (takes traffic).
	Found, Ready bool
	// Controller is the kind of the pod's controller: ReplicaSet (a Deployment's) or StatefulSet.
	Controller string
	Report     statusz.Report
	// Error is set when the report could not be read.
	Error string
}

// statefulSetCheck is DeploymentAvailable for an endpoint that runs as a StatefulSet: it has observed its spec,
// every pod runs the current revision, and desired pods are available. A scale-down that waits for pods to
// deliver their events (draining, the QueueDraining message) is in progress, not a failure.
func statefulSetCheck(endpoint *fulfillmentv1alpha1.WebhookEndpoint, set *appsv1.StatefulSet, draining string) endpointCheck {
	if set == nil {
		if endpoint.Spec.Suspend {
			return endpointCheck{reason: fulfillmentv1alpha1.ReasonSuspended, message: "spec.suspend is true: no pod serves requests", idle: true}
		}
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonDeploymentNotCreated, message: fmt.Sprintf("StatefulSet %s is not created yet", endpoint.Name)}
	}
	status := set.Status
	desired := *deploymentReplicas(&endpoint.Spec)
	switch {
	case draining != "":
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonQueueDraining, message: draining}
	case status.ObservedGeneration < set.Generation:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonRollingOut, message: fmt.Sprintf(
			"waiting for the StatefulSet controller to observe StatefulSet %s generation %d", set.Name, set.Generation)}
	case desired == 0 && status.Replicas > 0:
		return endpointCheck{reason: idleReason(endpoint), message: fmt.Sprintf("%s: scaling down, %s left",
			idleCause(endpoint), plural(status.Replicas, "pod", "pods"))}
	case desired == 0:
		return endpointCheck{reason: idleReason(endpoint), message: idleCause(endpoint) + ": no pod serves requests", idle: true}
	case status.UpdatedReplicas < desired || (status.UpdateRevision != "" && status.CurrentRevision != status.UpdateRevision):
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonRollingOut, message: fmt.Sprintf(
			"rolling out: %d/%d pods updated, %d/%d available", status.UpdatedReplicas, desired, status.AvailableReplicas, desired)}
	case status.Replicas > desired:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonRollingOut, message: fmt.Sprintf(
			"scaling down: waiting for %s to terminate", plural(status.Replicas-desired, "pod", "pods"))}
	case status.AvailableReplicas < desired:
		return endpointCheck{reason: fulfillmentv1alpha1.ReasonReplicasUnavailable, message: fmt.Sprintf("%d/%d replicas available", status.AvailableReplicas, desired)}
	}
	return endpointCheck{ok: true, reason: fulfillmentv1alpha1.ReasonAvailable, message: fmt.Sprintf("%d/%d replicas available", status.AvailableReplicas, desired)}
}

func idleReason(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	if endpoint.Spec.Suspend {
		return fulfillmentv1alpha1.ReasonSuspended
	}
	return fulfillmentv1alpha1.ReasonScaledToZero
}

func idleCause(endpoint *fulfillmentv1alpha1.WebhookEndpoint) string {
	if endpoint.Spec.Suspend {
		return "spec.suspend is true"
	}
	return "spec.replicas is 0"
}
