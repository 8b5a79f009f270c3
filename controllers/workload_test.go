package controllers

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

func localQueueEndpoint(storage *fulfillmentv1alpha1.QueueStorage) *fulfillmentv1alpha1.WebhookEndpoint {
	return fixtureEndpoint(func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Dialect = fulfillmentv1alpha1.DialectGeneric
		e.Spec.Delivery = &fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync, Queue: fulfillmentv1alpha1.QueueLocal, Storage: storage}
	})
}

func TestUsesLocalQueue(t *testing.T) {
	cases := map[string]struct {
		delivery *fulfillmentv1alpha1.Delivery
		want     bool
	}{
		"no delivery":        {nil, false},
		"sync":               {&fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliverySync}, false},
		"async, default":     {&fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync}, true},
		"async, Local queue": {&fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync, Queue: fulfillmentv1alpha1.QueueLocal}, true},
		"async, Redis queue": {&fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync, Queue: fulfillmentv1alpha1.QueueRedis}, false},
	}
	for name, c := range cases {
		if got := UsesLocalQueue(&fulfillmentv1alpha1.WebhookEndpointSpec{Delivery: c.delivery}); got != c.want {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}

// The queue lives on a claim per pod that outlives the pod, a scale-down and the endpoint; the pod template is
// the Deployment's, without the emptyDir the claim replaces.
func TestDesiredStatefulSet(t *testing.T) {
	endpoint := localQueueEndpoint(&fulfillmentv1alpha1.QueueStorage{Size: ptr.To(resource.MustParse("5Gi")), StorageClassName: ptr.To("ssd")})
	inputs := DeploymentInputs{Endpoint: endpoint, Image: "img:1"}
	set := DesiredStatefulSet(inputs, 3)
	if *set.Spec.Replicas != 3 || set.Spec.ServiceName != "bank-bot" || set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("replicas %d, serviceName %s, policy %s", *set.Spec.Replicas, set.Spec.ServiceName, set.Spec.PodManagementPolicy)
	}
	retention := set.Spec.PersistentVolumeClaimRetentionPolicy
	if retention == nil || retention.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType ||
		retention.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("claim retention %+v, want Retain on deletion and scale-down", retention)
	}
	if len(set.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("claim templates %+v", set.Spec.VolumeClaimTemplates)
	}
	claim := set.Spec.VolumeClaimTemplates[0]
	size := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if claim.Name != "queue" || size.String() != "5Gi" || ptr.Deref(claim.Spec.StorageClassName, "") != "ssd" ||
		claim.Labels[LabelEndpoint] != "bank-bot" || claim.Spec.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("claim template %+v", claim)
	}
	for _, v := range set.Spec.Template.Spec.Volumes {
		if v.Name == "queue" {
			t.Errorf("the pod template keeps a queue volume %+v: the claim must provide it", v)
		}
	}
	mounted := false
	for _, m := range set.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounted = mounted || (m.Name == "queue" && m.MountPath == QueueDir)
	}
	if !mounted {
		t.Errorf("the queue claim is not mounted at %s", QueueDir)
	}
	deployment := DesiredDeployment(inputs)
	if len(deployment.Spec.Template.Spec.Volumes) != len(set.Spec.Template.Spec.Volumes)+1 {
		t.Errorf("the pod templates differ by more than the queue volume")
	}
	if QueueClaimName(endpoint, 1) != "queue-bank-bot-1" {
		t.Errorf("claim name %s", QueueClaimName(endpoint, 1))
	}
	defaults := DesiredStatefulSet(DeploymentInputs{Endpoint: localQueueEndpoint(nil)}, 1).Spec.VolumeClaimTemplates[0]
	if size := defaults.Spec.Resources.Requests[corev1.ResourceStorage]; size.String() != "1Gi" || defaults.Spec.StorageClassName != nil {
		t.Errorf("default claim %+v, want 1Gi of the default class", defaults.Spec)
	}
}

func TestClaimTemplatesChanged(t *testing.T) {
	base := DesiredStatefulSet(DeploymentInputs{Endpoint: localQueueEndpoint(nil)}, 1)
	same := DesiredStatefulSet(DeploymentInputs{Endpoint: localQueueEndpoint(nil)}, 2)
	bigger := DesiredStatefulSet(DeploymentInputs{Endpoint: localQueueEndpoint(&fulfillmentv1alpha1.QueueStorage{Size: ptr.To(resource.MustParse("2Gi"))})}, 1)
	classed := DesiredStatefulSet(DeploymentInputs{Endpoint: localQueueEndpoint(&fulfillmentv1alpha1.QueueStorage{StorageClassName: ptr.To("ssd")})}, 1)
	if claimTemplatesChanged(base, same) {
		t.Error("the replicas changed the claim templates")
	}
	if !claimTemplatesChanged(base, bigger) || !claimTemplatesChanged(base, classed) {
		t.Error("a new size or class was not seen")
	}
	// The API server fills the default class in: an unset class in the spec is not a change.
	defaulted := base.DeepCopy()
	defaulted.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr.To("standard")
	if claimTemplatesChanged(defaulted, same) {
		t.Error("the default class filled in by the cluster was taken for a change")
	}
}

func report(pod string, draining bool, queues ...statusz.Queue) PodReport {
	return PodReport{Pod: pod, Found: true, Ready: !draining, Report: statusz.Report{Draining: draining, Queues: queues}}
}

func localQueue(pending, delayed, dead int64) statusz.Queue {
	return statusz.Queue{Endpoint: "bots/bank-bot", Kind: "Local", Pending: pending, Delayed: delayed, Dead: dead}
}

func TestPlanRetirement(t *testing.T) {
	cases := map[string]struct {
		desired, current int32
		reports          map[string]PodReport
		wantReplicas     int32
		wantDrain        []string
		wantHolding      string
	}{
		"scaling up":  {desired: 3, current: 2, wantReplicas: 3},
		"steady":      {desired: 2, current: 2, wantReplicas: 2},
		"first apply": {desired: 2, current: 0, wantReplicas: 2},
		"the retired pod has not loaded the configuration yet": {desired: 1, current: 2, wantReplicas: 2,
			reports:   map[string]PodReport{"bank-bot-1": report("bank-bot-1", false, localQueue(0, 0, 0))},
			wantDrain: []string{"bank-bot-1"}, wantHolding: "has not loaded the configuration that retires it"},
		"the retired pod delivers its events first": {desired: 1, current: 2, wantReplicas: 2,
			reports:   map[string]PodReport{"bank-bot-1": report("bank-bot-1", true, localQueue(40, 17, 0))},
			wantDrain: []string{"bank-bot-1"}, wantHolding: "pod bank-bot-1 delivers its 57 queued events first"},
		"dead letters hold it too": {desired: 1, current: 2, wantReplicas: 2,
			reports:   map[string]PodReport{"bank-bot-1": report("bank-bot-1", true, localQueue(0, 0, 3))},
			wantDrain: []string{"bank-bot-1"}, wantHolding: "holds 3 dead letters: replay or purge them"},
		"empty: retired": {desired: 1, current: 2, wantReplicas: 1,
			reports:   map[string]PodReport{"bank-bot-1": report("bank-bot-1", true, localQueue(0, 0, 0))},
			wantDrain: []string{"bank-bot-1"}},
		"a missing pod may hold events on its volume": {desired: 1, current: 2, wantReplicas: 2, reports: map[string]PodReport{},
			wantDrain: []string{"bank-bot-1"}, wantHolding: "pod bank-bot-1 is not running"},
		"a pod that does not answer": {desired: 1, current: 2, wantReplicas: 2,
			reports:   map[string]PodReport{"bank-bot-1": {Pod: "bank-bot-1", Found: true, Error: "connection refused"}},
			wantDrain: []string{"bank-bot-1"}, wantHolding: "did not report its queue: connection refused"},
		"the highest ordinals go first": {desired: 1, current: 4, wantReplicas: 3,
			reports: map[string]PodReport{
				"bank-bot-1": report("bank-bot-1", true, localQueue(0, 0, 0)),
				"bank-bot-2": report("bank-bot-2", true, localQueue(5, 0, 0)),
				"bank-bot-3": report("bank-bot-3", true, localQueue(0, 0, 0)),
			},
			wantDrain: []string{"bank-bot-1", "bank-bot-2", "bank-bot-3"}, wantHolding: "pod bank-bot-2 delivers its 5 queued events"},
		"a shared Redis queue holds nothing of the pod's": {desired: 0, current: 1, wantReplicas: 0,
			reports: map[string]PodReport{"bank-bot-0": report("bank-bot-0", true,
				statusz.Queue{Endpoint: "bots/other", Kind: "Redis", Pending: 9})},
			wantDrain: []string{"bank-bot-0"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			plan := planRetirement("bank-bot", c.desired, c.current, c.reports)
			if plan.Replicas != c.wantReplicas || strings.Join(plan.Drain, ",") != strings.Join(c.wantDrain, ",") {
				t.Errorf("replicas %d, drain %v; want %d, %v", plan.Replicas, plan.Drain, c.wantReplicas, c.wantDrain)
			}
			holding := strings.Join(plan.Holding, "; ")
			if (c.wantHolding == "") != (holding == "") || !strings.Contains(holding, c.wantHolding) {
				t.Errorf("holding %q, want %q", holding, c.wantHolding)
			}
		})
	}
}

func TestQueueStatus(t *testing.T) {
	early, late := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 9, 5, 0, 0, time.UTC)
	withOldest := func(q statusz.Queue, at time.Time) statusz.Queue { q.OldestReceived = &at; return q }
	redis := statusz.Queue{Endpoint: "bots/bank-bot", Kind: "Redis", Pending: 4, Dead: 1}
	cases := map[string]struct {
		reports []PodReport
		want    *fulfillmentv1alpha1.QueueStatus
	}{
		"no Async queue": {reports: []PodReport{report("a", false)}},
		"Local queues add up": {reports: []PodReport{
			report("a", false, withOldest(localQueue(2, 1, 0), late)),
			report("b", false, withOldest(localQueue(3, 0, 2), early)),
		}, want: &fulfillmentv1alpha1.QueueStatus{Waiting: 6, DeadLetters: 2}},
		"a Redis queue is shared: counted once": {reports: []PodReport{report("a", false, redis), report("b", false, redis)},
			want: &fulfillmentv1alpha1.QueueStatus{Waiting: 4, DeadLetters: 1}},
		"an unread queue is left out": {reports: []PodReport{
			report("a", false, statusz.Queue{Endpoint: "bots/bank-bot", Kind: "Local", Error: "timeout"}),
			report("b", false, localQueue(1, 0, 0)),
		}, want: &fulfillmentv1alpha1.QueueStatus{Waiting: 1}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := queueStatus("bots/bank-bot", c.reports)
			switch {
			case (got == nil) != (c.want == nil):
				t.Fatalf("%+v, want %+v", got, c.want)
			case got == nil:
			case got.Waiting != c.want.Waiting || got.DeadLetters != c.want.DeadLetters:
				t.Errorf("%+v, want %+v", got, c.want)
			}
		})
	}
	got := queueStatus("bots/bank-bot", cases["Local queues add up"].reports)
	if got.OldestEventTime == nil || !got.OldestEventTime.Time.Equal(early) {
		t.Errorf("oldest %v, want the earliest of the pods' oldest events, %v", got.OldestEventTime, early)
	}
}

func TestStatefulSetCheck(t *testing.T) {
	endpoint := localQueueEndpoint(nil)
	endpoint.Spec.Replicas = ptr.To(int32(2))
	set := func(mod func(*appsv1.StatefulSetStatus)) *appsv1.StatefulSet {
		s := &appsv1.StatefulSet{}
		s.Name, s.Generation = "bank-bot", 2
		s.Status = appsv1.StatefulSetStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2,
			ReadyReplicas: 2, CurrentRevision: "r2", UpdateRevision: "r2"}
		if mod != nil {
			mod(&s.Status)
		}
		return s
	}
	cases := map[string]struct {
		set      *appsv1.StatefulSet
		draining string
		reason   string
		ok       bool
	}{
		"not created":      {reason: fulfillmentv1alpha1.ReasonDeploymentNotCreated},
		"available":        {set: set(nil), reason: fulfillmentv1alpha1.ReasonAvailable, ok: true},
		"draining":         {set: set(nil), draining: "pod bank-bot-2 delivers", reason: fulfillmentv1alpha1.ReasonQueueDraining},
		"not observed yet": {set: set(func(s *appsv1.StatefulSetStatus) { s.ObservedGeneration = 1 }), reason: fulfillmentv1alpha1.ReasonRollingOut},
		"rolling out": {set: set(func(s *appsv1.StatefulSetStatus) { s.CurrentRevision = "r1"; s.UpdatedReplicas = 1 }),
			reason: fulfillmentv1alpha1.ReasonRollingOut},
		"a pod unavailable": {set: set(func(s *appsv1.StatefulSetStatus) { s.AvailableReplicas = 1 }), reason: fulfillmentv1alpha1.ReasonReplicasUnavailable},
	}
	for name, c := range cases {
		check := statefulSetCheck(endpoint, c.set, c.draining)
		if check.reason != c.reason || check.ok != c.ok {
			t.Errorf("%s: %+v, want reason %s ok %v", name, check, c.reason, c.ok)
		}
	}
	suspended := endpoint.DeepCopy()
	suspended.Spec.Suspend = true
	if check := statefulSetCheck(suspended, set(func(s *appsv1.StatefulSetStatus) { s.Replicas = 0 }), ""); check.reason != fulfillmentv1alpha1.ReasonSuspended || !check.idle {
		t.Errorf("suspended and scaled down: %+v", check)
	}
}

// A pod still loading the configuration is asked again soon, also on an Async endpoint, whose queue status is
// otherwise refreshed every queuedRecheck.
func TestPodsRecheck(t *testing.T) {
	endpoint := localQueueEndpoint(nil)
	loading := report("a", false, localQueue(0, 0, 0))
	loading.Report.Configuration.Serving = "old"
	served := report("a", false, localQueue(0, 0, 0))
	served.Report.Configuration.Serving = "new"
	cases := map[string]struct {
		facts EndpointFacts
		plan  retirement
		want  time.Duration
	}{
		"draining":                       {facts: EndpointFacts{QueueDraining: "pod a delivers"}, want: drainingRecheck},
		"not read":                       {want: 0},
		"loading, with a queue":          {facts: EndpointFacts{PodsRead: true, ConfigHash: "new", PodReports: []PodReport{loading}}, want: configurationLoadingRecheck},
		"served, with a queue":           {facts: EndpointFacts{PodsRead: true, ConfigHash: "new", PodReports: []PodReport{served}}, want: queuedRecheck},
		"served, no queue (synchronous)": {facts: EndpointFacts{PodsRead: true, ConfigHash: "new", PodReports: []PodReport{{Pod: "a", Found: true, Ready: true, Report: statusz.Report{Configuration: statusz.Configuration{Serving: "new"}}}}}, want: configurationServedRecheck},
	}
	for name, c := range cases {
		if got := podsRecheck(endpoint, &c.facts, c.plan); got != c.want {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}
