package controllers_test

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers/pki"
)

func tlsEndpoint(namespace string, tls *fulfillmentv1alpha1.EndpointTLS) *fulfillmentv1alpha1.WebhookEndpoint {
	endpoint := bankEndpoint(namespace)
	endpoint.Spec.TLS = tls
	return endpoint
}

func parseCert(pemBytes []byte) *x509.Certificate {
	GinkgoHelper()
	block, _ := pem.Decode(pemBytes)
	Expect(block).NotTo(BeNil())
	cert, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	return cert
}

func mountsTLS(g Gomega, namespace, secret string) {
	deployment := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment)).To(Succeed())
	g.Expect(deployment.Spec.Template.Spec.Volumes).To(ContainElement(
		HaveField("VolumeSource.Secret", And(Not(BeNil()), HaveField("SecretName", secret)))),
		"the Deployment does not mount %s", secret)
	g.Expect(strings.Join(deployment.Spec.Template.Spec.Containers[0].Args, " ")).To(ContainSubstring("--tls-cert-file"))
}

var _ = Describe("TLS", func() {
	var namespace string
	BeforeEach(func() {
		namespace = newNamespace()
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
	})

	It("SelfSigned: runs its own CA, issues the serving certificate, publishes the CA and renews before expiry", func() {
		Expect(k8sClient.Create(ctx, tlsEndpoint(namespace, &fulfillmentv1alpha1.EndpointTLS{
			Mode: fulfillmentv1alpha1.TLSModeSelfSigned, Duration: &metav1.Duration{Duration: 2 * time.Hour},
		}))).To(Succeed())
		serving, ca := &corev1.Secret{}, &corev1.Secret{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-tls"), serving)).To(Succeed())
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-ca"), ca)).To(Succeed())
			mountsTLS(g, namespace, "bank-bot-tls")
		}).Should(Succeed())
		leaf, caCert := parseCert(serving.Data["tls.crt"]), parseCert(ca.Data["tls.crt"])
		pool := x509.NewCertPool()
		pool.AddCert(caCert)
		_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "bank-bot." + namespace + ".svc", CurrentTime: clock.Now()})
		Expect(err).NotTo(HaveOccurred(), "the serving certificate does not verify for the Service name")

		bundle := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-ca-bundle"), bundle)).To(Succeed())
		Expect(bundle.Data["ca.crt"]).To(Equal(string(ca.Data["tls.crt"])))
		Eventually(func(g Gomega) {
			status := mustGetEndpoint(namespace, "bank-bot").Status
			g.Expect(status.Certificate).NotTo(BeNil())
			g.Expect(status.Certificate.CABundle).To(Equal(string(ca.Data["tls.crt"])))
			g.Expect(status.Certificate.NotAfter.Time).To(BeTemporally("~", leaf.NotAfter, time.Second))
			g.Expect(status.URL).To(HavePrefix("https://"))
		}).Should(Succeed())

		// Past two thirds of its life the certificate is renewed by the same CA, before it expires.
		clock.Step(90 * time.Minute)
		touch(namespace, "bank-bot")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-tls"), serving)).To(Succeed())
			renewed := parseCert(serving.Data["tls.crt"])
			g.Expect(renewed.SerialNumber).NotTo(Equal(leaf.SerialNumber))
			g.Expect(renewed.NotAfter).To(BeTemporally(">", leaf.NotAfter))
			g.Expect(pki.CheckPair(serving.Data["tls.crt"], serving.Data["tls.key"])).To(Succeed())
		}).Should(Succeed())
		again := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-bot-ca"), again)).To(Succeed())
		Expect(again.Data["tls.crt"]).To(Equal(ca.Data["tls.crt"]), "renewal must keep the CA callers trust")
	})

	It("CertManager: creates a Certificate the real schema accepts, mounts the Secret cert-manager writes, and becomes Ready", func() {
		Expect(k8sClient.Create(ctx, tlsEndpoint(namespace, &fulfillmentv1alpha1.EndpointTLS{
			Mode:      fulfillmentv1alpha1.TLSModeCertManager,
			IssuerRef: &fulfillmentv1alpha1.IssuerReference{Name: "letsencrypt", Kind: "ClusterIssuer", Group: "cert-manager.io"},
			DNSNames:  []string{"bank.example.com"},
		}))).To(Succeed())
		certificate := &unstructured.Unstructured{}
		certificate.SetAPIVersion("cert-manager.io/v1")
		certificate.SetKind("Certificate")
		Eventually(func() error { return k8sClient.Get(ctx, key(namespace, "bank-bot"), certificate) }).Should(Succeed())
		Expect(certificate.Object["spec"]).To(HaveKeyWithValue("secretName", "bank-bot-tls"))
		Expect(certificate.Object["spec"]).To(HaveKeyWithValue("dnsNames", ConsistOf("bank.example.com")))
		Eventually(func(g Gomega) {
			ready := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionCertificateReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		}).Should(Succeed())

		// Play cert-manager: write the Secret it would write.
		caCert, caKey, err := pki.NewCA("test issuer", clock.Now(), 24*time.Hour)
		Expect(err).NotTo(HaveOccurred())
		cert, keyPEM, err := pki.IssueServing(caCert, caKey, []string{"bank.example.com"}, clock.Now(), 12*time.Hour)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-bot-tls"},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{"tls.crt": cert, "tls.key": keyPEM, "ca.crt": caCert},
		})).To(Succeed())
		Eventually(func(g Gomega) {
			ready := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionCertificateReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
			mountsTLS(g, namespace, "bank-bot-tls")
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			playDeploymentController(g, namespace, "bank-bot")
			ready := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
	})

	It("Secret: waits while the user's TLS Secret is missing, then serves it and reports its expiry", func() {
		Expect(k8sClient.Create(ctx, tlsEndpoint(namespace, &fulfillmentv1alpha1.EndpointTLS{
			Mode: fulfillmentv1alpha1.TLSModeSecret, SecretName: "bank-tls",
		}))).To(Succeed())
		Eventually(func(g Gomega) {
			reconciling := condition(g, namespace, "bank-bot", fulfillmentv1alpha1.ConditionReconciling)
			g.Expect(reconciling).NotTo(BeNil())
			g.Expect(reconciling.Reason).To(Equal(fulfillmentv1alpha1.ReasonSecretNotFound))
			g.Expect(reconciling.Message).To(ContainSubstring("bank-tls"))
		}).Should(Succeed())
		caCert, caKey, err := pki.NewCA("my CA", clock.Now(), 24*time.Hour)
		Expect(err).NotTo(HaveOccurred())
		cert, keyPEM, err := pki.IssueServing(caCert, caKey, []string{"bank.example.com"}, clock.Now(), 12*time.Hour)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-tls"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": cert, "tls.key": keyPEM},
		})).To(Succeed())
		Eventually(func(g Gomega) {
			mountsTLS(g, namespace, "bank-tls")
			status := mustGetEndpoint(namespace, "bank-bot").Status
			g.Expect(status.Certificate).NotTo(BeNil())
			g.Expect(status.Certificate.NotAfter.Time).To(BeTemporally("~", parseCert(cert).NotAfter, time.Second))
		}).Should(Succeed())
	})
})
