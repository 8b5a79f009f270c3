package controllers_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// startGarbageCollector runs kube-controller-manager's garbage collector and namespace controller next to the
// suite's API server until the container's specs end, so that deleting an endpoint deletes what it controls, and
// deleting a namespace deletes everything in it, as on a real cluster.
func startGarbageCollector() {
	GinkgoHelper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(), "bin", "k8s")
	}
	binary := filepath.Join(dir, "kube-controller-manager")
	_, err := os.Stat(binary)
	Expect(err).NotTo(HaveOccurred(), "build it with `hack/build-envtest.sh --with-controller-manager`")
	user, err := testEnv.AddUser(envtest.User{Name: "system:kube-controller-manager", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := user.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(GinkgoT().TempDir(), "kube-controller-manager.kubeconfig")
	Expect(os.WriteFile(path, kubeconfig, 0o600)).To(Succeed())
	cmd := exec.Command(binary, "--kubeconfig", path, "--controllers", "garbage-collector-controller,namespace-controller",
		"--leader-elect=false", "--secure-port=0", "--concurrent-gc-syncs=5")
	cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
	Expect(cmd.Start()).To(Succeed())
	DeferCleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// hmacEndpoint is an endpoint whose HMAC key the operator generates (<name>-hmac).
func hmacEndpoint(namespace, name string) *fulfillmentv1alpha1.WebhookEndpoint {
	return &fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Dialect: fulfillmentv1alpha1.DialectGeneric,
			Auth:    fulfillmentv1alpha1.EndpointAuth{HMAC: &fulfillmentv1alpha1.HMACAuth{Scheme: fulfillmentv1alpha1.HMACSchemeStandardWebhooks}},
		},
	}
}

// usersObjects are a team's own objects that happen to have the names an endpoint `name` would use: a
// postgres Service and Deployment (available), a ConfigMap and an HMAC Secret.
func usersObjects(namespace, name string) []client.Object {
	postgres := map[string]string{"app": "postgres"}
	return []client.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Spec: corev1.ServiceSpec{Selector: postgres, Ports: []corev1.ServicePort{{Port: 5432, TargetPort: intstr.FromInt32(5432)}}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-config"},
			Data: map[string]string{"config.yaml": "max_connections: 100\n"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-hmac"},
			Data: map[string][]byte{"secret": []byte("the team's own key")}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: postgres},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: postgres},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "postgres", Image: "postgres:17"}}}}}},
	}
}

// snapshot is each object's kind/name and resourceVersion: an object nobody wrote keeps it.
func snapshot(g Gomega, objects []client.Object) map[string]string {
	versions := map[string]string{}
	for _, obj := range objects {
		current := obj.DeepCopyObject().(client.Object)
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), current)).To(Succeed())
		g.Expect(current.GetOwnerReferences()).To(BeEmpty(), "%T %s", obj, obj.GetName())
		versions[typeName(obj)+"/"+obj.GetName()] = current.GetResourceVersion()
	}
	return versions
}

func typeName(obj client.Object) string {
	switch obj.(type) {
	case *corev1.Service:
		return "Service"
	case *corev1.ConfigMap:
		return "ConfigMap"
	case *corev1.Secret:
		return "Secret"
	case *appsv1.Deployment:
		return "Deployment"
	}
	return "Object"
}

func stalled(g Gomega, namespace, name string) *metav1.Condition {
	return condition(g, namespace, name, fulfillmentv1alpha1.ConditionStalled)
}

var _ = Describe("Objects the operator does not own", Ordered, func() {
	BeforeAll(startGarbageCollector)

	It("are never modified, nor deleted with the endpoint, and an available Deployment of someone else's is not Ready", func() {
		namespace := newNamespace()
		objects := usersObjects(namespace, "own")
		for _, obj := range objects {
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		}
		userDeployment := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key(namespace, "own"), userDeployment)).To(Succeed())
		userDeployment.Status = appsv1.DeploymentStatus{ObservedGeneration: userDeployment.Generation, Replicas: 1,
			UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
		Expect(k8sClient.Status().Update(ctx, userDeployment)).To(Succeed())
		var before map[string]string
		Eventually(func(g Gomega) { before = snapshot(g, objects) }).Should(Succeed())

		endpoint := hmacEndpoint(namespace, "own")
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		// A canary the garbage collector deletes with the endpoint: once it is gone, the collector has
		// processed the endpoint's deletion.
		canary := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "canary",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: fulfillmentv1alpha1.GroupVersion.String(), Kind: "WebhookEndpoint",
				Name: endpoint.Name, UID: endpoint.UID}}}}
		Expect(k8sClient.Create(ctx, canary)).To(Succeed())

		Eventually(func(g Gomega) {
			c := stalled(g, namespace, "own")
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(fulfillmentv1alpha1.ReasonObjectConflict))
			for _, object := range []string{"Service own ", "ConfigMap own-config ", "Secret own-hmac ", "Deployment own "} {
				g.Expect(c.Message).To(ContainSubstring(object))
			}
			g.Expect(c.Message).To(ContainSubstring("not managed by the operator"))
			g.Expect(c.Message).To(ContainSubstring("Rename the WebhookEndpoint, or delete or rename the object"))
			ready := condition(g, namespace, "own", fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(fulfillmentv1alpha1.ReasonObjectConflict))
			g.Expect(ready.Message).NotTo(ContainSubstring("serving"))
			available := condition(g, namespace, "own", fulfillmentv1alpha1.ConditionDeploymentAvailable)
			g.Expect(available.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(available.Reason).To(Equal(fulfillmentv1alpha1.ReasonObjectConflict))
		}).Should(Succeed())
		Expect(warnings(Default, namespace, "own", fulfillmentv1alpha1.ReasonObjectConflict)).To(HaveLen(1))
		Consistently(func(g Gomega) { g.Expect(snapshot(g, objects)).To(Equal(before)) }, 2*time.Second).Should(Succeed())

		Expect(k8sClient.Delete(ctx, endpoint)).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, key(namespace, "canary"), &corev1.ConfigMap{})
		}, time.Minute).Should(beNotFound(), "the garbage collector deletes what the endpoint owns")
		Expect(snapshot(Default, objects)).To(Equal(before))
	})

	It("never adopts a ConfigMap that another owner controls, even one annotated for adoption", func() {
		namespace := newNamespace()
		owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "release-db"}}
		Expect(k8sClient.Create(ctx, owner)).To(Succeed())
		configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "held-config",
			Annotations: map[string]string{controllers.AnnotationAdopt: "true"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID,
				Controller: ptr.To(true)}}},
			Data: map[string]string{"config.yaml": "max_connections: 100\n"}}
		Expect(k8sClient.Create(ctx, configMap)).To(Succeed())
		var before map[string]string
		Eventually(func(g Gomega) {
			current := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "held-config"), current)).To(Succeed())
			before = map[string]string{"resourceVersion": current.ResourceVersion, "config.yaml": current.Data["config.yaml"]}
		}).Should(Succeed())

		Expect(k8sClient.Create(ctx, hmacEndpoint(namespace, "held"))).To(Succeed())
		Eventually(func(g Gomega) {
			for _, conditionType := range []string{fulfillmentv1alpha1.ConditionStalled, fulfillmentv1alpha1.ConditionReady} {
				c := condition(g, namespace, "held", conditionType)
				g.Expect(c).NotTo(BeNil(), conditionType)
				g.Expect(c.Reason).To(Equal(fulfillmentv1alpha1.ReasonObjectConflict), conditionType)
				g.Expect(c.Message).To(ContainSubstring("ConfigMap held-config (controlled by ConfigMap release-db)"), conditionType)
			}
			g.Expect(condition(g, namespace, "held", fulfillmentv1alpha1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(condition(g, namespace, "held", fulfillmentv1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())
		Expect(warnings(Default, namespace, "held", fulfillmentv1alpha1.ReasonObjectConflict)).To(HaveLen(1))
		Consistently(func(g Gomega) {
			current := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "held-config"), current)).To(Succeed())
			g.Expect(map[string]string{"resourceVersion": current.ResourceVersion, "config.yaml": current.Data["config.yaml"]}).To(Equal(before))
			g.Expect(k8sClient.Get(ctx, key(namespace, "held"), &appsv1.Deployment{})).To(beNotFound(), "nothing is written")
		}, 2*time.Second).Should(Succeed())
	})

	It("writes nothing in a namespace the namespace controller is emptying, for endpoints and gateways", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, hmacEndpoint(namespace, "going"))).To(Succeed())
		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, gatewayMember(namespace, "member", "/member"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "going"), &appsv1.Deployment{})).To(Succeed())
			g.Expect(servedEndpoints(g, namespace, "shared")).To(HaveKey("member"))
			g.Expect(condition(g, namespace, "going", fulfillmentv1alpha1.ConditionReady).Reason).To(Equal(fulfillmentv1alpha1.ReasonRollingOut))
			ready := meta.FindStatusCondition(mustGetGateway(namespace, "shared").Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(fulfillmentv1alpha1.ReasonRollingOut))
		}).Should(Succeed())
		// Settled: no write for longer than a reconcile that read a stale copy waits to try again.
		written := writes.in(namespace)
		var settled int64
		Eventually(func(g Gomega) {
			settled = written.count.Load()
			g.Consistently(written.count.Load, 2*time.Second).Should(Equal(settled))
		}, 30*time.Second).Should(Succeed())

		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, key("", namespace), &corev1.Namespace{})
		}, 2*time.Minute).Should(beNotFound(), "the namespace controller deletes its objects, then the namespace")
		Expect(written.count.Load()).To(Equal(settled), "the manager wrote in the terminating namespace")
	})

	It("converges once the conflicting object is deleted, and takes over one annotated for adoption", func() {
		namespace := newNamespace()
		objects := usersObjects(namespace, "own")
		configMap, secret := objects[1], objects[2]
		configMap.SetAnnotations(map[string]string{controllers.AnnotationAdopt: "true"})
		Expect(k8sClient.Create(ctx, configMap)).To(Succeed())
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())

		Expect(k8sClient.Create(ctx, hmacEndpoint(namespace, "own"))).To(Succeed())
		Eventually(func(g Gomega) {
			c := stalled(g, namespace, "own")
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Message).To(ContainSubstring("Secret own-hmac (not managed by the operator"))
			g.Expect(c.Message).NotTo(ContainSubstring("ConfigMap"), "annotated for adoption")
		}).Should(Succeed())

		// Only the deletion of the conflicting Secret brings the endpoint back (a stalled endpoint is not retried).
		Expect(k8sClient.Delete(ctx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "own")
			g.Expect(stalled(g, namespace, "own")).To(BeNil())
			ready := condition(g, namespace, "own", fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		endpoint := mustGetEndpoint(namespace, "own")
		adopted := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, key(namespace, "own-config"), adopted)).To(Succeed())
		Expect(adopted).To(beControlledBy(endpoint))
		Expect(adopted.Data[controllers.ConfigKey]).To(ContainSubstring("endpoints"))
		generated := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, key(namespace, "own-hmac"), generated)).To(Succeed())
		Expect(generated).To(beControlledBy(endpoint))
	})
})

// eventTypes counts the events recorded on an object by type.
func eventTypes(g Gomega, namespace, name string) map[string][]string {
	events := &eventsv1.EventList{}
	g.Expect(k8sClient.List(ctx, events, client.InNamespace(namespace))).To(Succeed())
	types := map[string][]string{}
	for _, event := range events.Items {
		if event.Regarding.Name == name {
			types[event.Type] = append(types[event.Type], event.Reason)
		}
	}
	return types
}

var _ = Describe("Events", func() {
	It("a normal create that becomes Ready records no Warning", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, hmacEndpoint(namespace, "quiet"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(eventTypes(g, namespace, "quiet")[corev1.EventTypeNormal]).To(ContainElement(fulfillmentv1alpha1.ReasonRollingOut))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "quiet")
			ready := condition(g, namespace, "quiet", fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(eventTypes(g, namespace, "quiet")[corev1.EventTypeNormal]).To(ContainElements(fulfillmentv1alpha1.ReasonAvailable, "KeyGenerated"))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(eventTypes(g, namespace, "quiet")[corev1.EventTypeWarning]).To(BeEmpty())
		}, time.Second).Should(Succeed())
	})

	It("a normal gateway create that becomes Ready records no Warning, on the gateway or its endpoint", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, gatewayMember(namespace, "member", "/member"))).To(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "shared")
			g.Expect(meta.IsStatusConditionTrue(mustGetGateway(namespace, "shared").Status.Conditions, fulfillmentv1alpha1.ConditionReady)).To(BeTrue())
			g.Expect(mustGetEndpoint(namespace, "member")).To(beReady())
			g.Expect(gatewayEvents(g, namespace, "shared")[corev1.EventTypeNormal]).To(ContainElement(fulfillmentv1alpha1.ReasonAvailable))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(gatewayEvents(g, namespace, "shared")[corev1.EventTypeWarning]).To(BeEmpty())
			g.Expect(eventTypes(g, namespace, "member")[corev1.EventTypeWarning]).To(BeEmpty())
		}, time.Second).Should(Succeed())
	})

	It("a lost generated key is a Warning KeyRegenerated, and keys added by hand are removed once", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, hmacEndpoint(namespace, "keys"))).To(Succeed())
		secret := &corev1.Secret{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "keys-hmac"), secret)).To(Succeed())
			g.Expect(mustGetEndpoint(namespace, "keys").Status.LastKeyRotationTime).NotTo(BeNil())
		}).Should(Succeed())
		first := string(secret.Data["secret"])

		Expect(k8sClient.Delete(ctx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "keys-hmac"), secret)).To(Succeed())
			g.Expect(string(secret.Data["secret"])).NotTo(BeEmpty())
			g.Expect(string(secret.Data["secret"])).NotTo(Equal(first))
			g.Expect(warnings(g, namespace, "keys", "KeyRegenerated")).To(ConsistOf(ContainSubstring("The old key is gone")))
		}).Should(Succeed())
		Expect(eventTypes(Default, namespace, "keys")[corev1.EventTypeNormal]).NotTo(ContainElement("KeyRotated"))

		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := k8sClient.Get(ctx, key(namespace, "keys-hmac"), secret); err != nil {
				return err
			}
			secret.Data["note"] = []byte("added by hand")
			return k8sClient.Update(ctx, secret)
		})).To(Succeed())
		// A spec change brings the endpoint back (a Secret data change does not, by design: metadata watch).
		setPath(namespace, "keys", "/hooks")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "keys-hmac"), secret)).To(Succeed())
			g.Expect(secret.Data).NotTo(HaveKey("note"))
		}).Should(Succeed())
		resourceVersion := secret.ResourceVersion
		setPath(namespace, "keys", "/hooks2")
		Eventually(func(g Gomega) {
			g.Expect(renderedConfig(g, namespace, "keys").Endpoints[0].Spec.Path).To(Equal("/hooks2"))
		}).Should(Succeed())
		Expect(k8sClient.Get(ctx, key(namespace, "keys-hmac"), secret)).To(Succeed())
		Expect(secret.ResourceVersion).To(Equal(resourceVersion), "no re-patch once the stray key is gone")
		removed := 0
		for _, reason := range eventTypes(Default, namespace, "keys")[corev1.EventTypeNormal] {
			if reason == "StrayKeysRemoved" {
				removed++
			}
		}
		Expect(removed).To(Equal(1))
	})
})

// gatewayEvents are the reasons of the events recorded on a WebhookGateway, by type.
func gatewayEvents(g Gomega, namespace, name string) map[string][]string {
	events := &eventsv1.EventList{}
	g.Expect(k8sClient.List(ctx, events, client.InNamespace(namespace))).To(Succeed())
	types := map[string][]string{}
	for _, event := range events.Items {
		if event.Regarding.Kind == "WebhookGateway" && event.Regarding.Name == name {
			types[event.Type] = append(types[event.Type], event.Reason)
		}
	}
	return types
}

// setPath changes an endpoint's spec.path, a spec change that brings it back to the reconciler.
func setPath(namespace, name, path string) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		endpoint := mustGetEndpoint(namespace, name)
		endpoint.Spec.Path = path
		return k8sClient.Update(ctx, endpoint)
	})).To(Succeed())
}

var _ = Describe("A namespace being deleted", func() {
	It("is left alone: nothing is applied again and the status does not churn", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, hmacEndpoint(namespace, "going"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "going-config"), &corev1.ConfigMap{})).To(Succeed())
			g.Expect(k8sClient.Get(ctx, key(namespace, "going"), &appsv1.Deployment{})).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			ready := condition(g, namespace, "going", fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(fulfillmentv1alpha1.ReasonRollingOut))
		}).Should(Succeed())
		statusVersion := mustGetEndpoint(namespace, "going").ResourceVersion

		// envtest runs no namespace controller: the namespace stays Terminating, and the test deletes what the
		// namespace controller and the garbage collector would.
		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
		Expect(k8sClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "going-config"}})).To(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "going-config"), &corev1.ConfigMap{})).To(beNotFound())
			g.Expect(mustGetEndpoint(namespace, "going").ResourceVersion).To(Equal(statusVersion))
		}, 2*time.Second).Should(Succeed())
	})

	It("leaves the status of its routes alone when their endpoint goes", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, hmacEndpoint(namespace, "going"))).To(Succeed())
		Expect(k8sClient.Create(ctx, respondRoute(namespace, "hello", "going", "Hello", "Hi!"))).To(Succeed())
		route := &fulfillmentv1alpha1.IntentRoute{}
		Eventually(func(g Gomega) {
			g.Expect(accepted(g, namespace, "hello").Status).To(Equal(metav1.ConditionTrue))
			g.Expect(k8sClient.Get(ctx, key(namespace, "hello"), route)).To(Succeed())
		}).Should(Succeed())

		// The namespace controller would delete the endpoint: the route is not told it lost it.
		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
		Expect(k8sClient.Delete(ctx, mustGetEndpoint(namespace, "going"))).To(Succeed())
		Consistently(func(g Gomega) {
			current := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "hello"), current)).To(Succeed())
			g.Expect(current.ResourceVersion).To(Equal(route.ResourceVersion))
		}, 2*time.Second).Should(Succeed())
	})

	It("leaves a gateway alone too", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared-config"), &corev1.ConfigMap{})).To(Succeed())
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared"), &appsv1.Deployment{})).To(Succeed())
			g.Expect(mustGetGateway(namespace, "shared").Status.ConfigHash).NotTo(BeEmpty())
		}).Should(Succeed())
		// Settled: RollingOut (nothing runs Deployments here), and no status write for longer than a reconcile
		// that read a stale copy waits to try again.
		var statusVersion string
		Eventually(func(g Gomega) {
			gateway := mustGetGateway(namespace, "shared")
			ready := meta.FindStatusCondition(gateway.Status.Conditions, fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(fulfillmentv1alpha1.ReasonRollingOut))
			statusVersion = gateway.ResourceVersion
			g.Consistently(func() string { return mustGetGateway(namespace, "shared").ResourceVersion }, 2*time.Second).Should(Equal(statusVersion))
		}, 30*time.Second).Should(Succeed())

		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
		Expect(k8sClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "shared-config"}})).To(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared-config"), &corev1.ConfigMap{})).To(beNotFound())
			g.Expect(mustGetGateway(namespace, "shared").ResourceVersion).To(Equal(statusVersion))
		}, 2*time.Second).Should(Succeed())
	})
})

var _ = Describe("A gateway and an endpoint of the same name", func() {
	It("stall the second one with ObjectConflict naming the first, whose objects stay as they are", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, hmacEndpoint(namespace, "shared"))).To(Succeed())
		endpoint := mustGetEndpoint(namespace, "shared")
		deployment := &appsv1.Deployment{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared"), deployment)).To(Succeed())
		}).Should(Succeed())

		Expect(k8sClient.Create(ctx, sharedGateway(namespace))).To(Succeed())
		Eventually(func(g Gomega) {
			gateway := mustGetGateway(namespace, "shared")
			stalled := meta.FindStatusCondition(gateway.Status.Conditions, fulfillmentv1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(stalled.Reason).To(Equal(fulfillmentv1alpha1.ReasonObjectConflict))
			g.Expect(stalled.Message).To(ContainSubstring("Deployment shared (controlled by WebhookEndpoint shared)"))
			g.Expect(stalled.Message).To(ContainSubstring("Rename the WebhookGateway"))
			g.Expect(stalled.Message).NotTo(ContainSubstring("earlier"), "the endpoint is alive, not an earlier gateway")
		}).Should(Succeed())
		Eventually(func(g Gomega) []string {
			return gatewayEvents(g, namespace, "shared")[corev1.EventTypeWarning]
		}).Should(ConsistOf(fulfillmentv1alpha1.ReasonObjectConflict), "one Warning, on the gateway")
		Consistently(func(g Gomega) {
			current := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared"), current)).To(Succeed())
			g.Expect(current.ResourceVersion).To(Equal(deployment.ResourceVersion))
			g.Expect(current).To(beControlledBy(endpoint))
			g.Expect(k8sClient.Get(ctx, key(namespace, "shared-secrets"), &corev1.Secret{})).To(beNotFound(), "nothing is written")
		}, time.Second).Should(Succeed())
	})
})
