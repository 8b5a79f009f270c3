package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// operatorMetric is the value of the operator's metric name for endpoint (namespace/name) in controller-runtime's
// registry, which the manager serves; false when the series does not exist.
func operatorMetric(g Gomega, name, endpoint string) (float64, bool) {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, metric := range family.GetMetric() {
			for _, label := range metric.GetLabel() {
				if label.GetName() == "endpoint" && label.GetValue() == endpoint {
					return metric.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

var _ = Describe("Operator metrics", func() {
	It("export Ready, the generated key's age against its rotation interval and the certificate's expiry, and forget a deleted endpoint", func() {
		namespace := newNamespace()
		endpoint := hmacEndpoint(namespace, "events")
		endpoint.Spec.Auth.HMAC.Rotation = &fulfillmentv1alpha1.KeyRotation{Interval: metav1.Duration{Duration: 24 * time.Hour}}
		endpoint.Spec.TLS = &fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSelfSigned}
		Expect(k8sClient.Create(ctx, endpoint)).To(Succeed())
		name := namespace + "/events"
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "events")
			g.Expect(mustGetEndpoint(namespace, "events")).To(beReady())
			ready, found := operatorMetric(g, "fulfillment_operator_endpoint_ready", name)
			g.Expect(found).To(BeTrue(), "no Ready series")
			g.Expect(ready).To(Equal(1.0))
		}).Should(Succeed())

		status := mustGetEndpoint(namespace, "events").Status
		Expect(status.LastKeyRotationTime).NotTo(BeNil())
		Expect(status.Certificate).NotTo(BeNil())
		Expect(status.Certificate.NotAfter).NotTo(BeNil())
		interval, found := operatorMetric(Default, "fulfillment_operator_hmac_key_rotation_interval_seconds", name)
		Expect(found).To(BeTrue(), "no rotation interval series")
		Expect(interval).To(Equal(86400.0))
		notAfter, found := operatorMetric(Default, "fulfillment_operator_certificate_not_after_seconds", name)
		Expect(found).To(BeTrue(), "no certificate expiry series")
		Expect(notAfter).To(Equal(float64(status.Certificate.NotAfter.Unix())))

		// The age is read at scrape time: the clock moving on ages the key without a reconcile.
		age, found := operatorMetric(Default, "fulfillment_operator_hmac_key_age_seconds", name)
		Expect(found).To(BeTrue(), "no key age series")
		Expect(age).To(Equal(clock.Since(status.LastKeyRotationTime.Time).Seconds()))
		clock.Step(time.Hour)
		older, _ := operatorMetric(Default, "fulfillment_operator_hmac_key_age_seconds", name)
		Expect(older).To(Equal(age + 3600))

		Expect(k8sClient.Delete(ctx, mustGetEndpoint(namespace, "events"))).To(Succeed())
		Eventually(func(g Gomega) {
			for _, metric := range []string{"fulfillment_operator_endpoint_ready", "fulfillment_operator_hmac_key_age_seconds",
				"fulfillment_operator_hmac_key_rotation_interval_seconds", "fulfillment_operator_certificate_not_after_seconds"} {
				_, found := operatorMetric(g, metric, name)
				g.Expect(found).To(BeFalse(), "%s of the deleted endpoint is still exported", metric)
			}
		}).Should(Succeed())
	})

	It("export 0 for an endpoint that is not Ready, and no key or certificate series it has none of", func() {
		namespace := newNamespace()
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed()) // its basic-auth Secret does not exist
		name := namespace + "/bank-bot"
		Eventually(func(g Gomega) {
			g.Expect(condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReady)).To(HaveField("Status", metav1.ConditionFalse))
			ready, found := operatorMetric(g, "fulfillment_operator_endpoint_ready", name)
			g.Expect(found).To(BeTrue(), "no Ready series")
			g.Expect(ready).To(Equal(0.0))
		}).Should(Succeed())
		for _, metric := range []string{"fulfillment_operator_hmac_key_age_seconds", "fulfillment_operator_hmac_key_rotation_interval_seconds",
			"fulfillment_operator_certificate_not_after_seconds"} {
			_, found := operatorMetric(Default, metric, name)
			Expect(found).To(BeFalse(), "%s exported for an endpoint without it", metric)
		}
	})
})
