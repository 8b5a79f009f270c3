package controllers_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// outboundRoute calls the bank with an OAuth2 token and mutual TLS, from the Secrets bank-oauth, bank-ca and
// bank-client-cert.
func outboundRoute(namespace string) *fulfillmentv1alpha1.IntentRoute {
	return &fulfillmentv1alpha1.IntentRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "balance"},
		Spec: fulfillmentv1alpha1.IntentRouteSpec{
			EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: "bank-bot"},
			Match:       fulfillmentv1alpha1.RouteMatch{Intents: []string{"GetAccountBalance"}},
			Call: &fulfillmentv1alpha1.CallAction{URL: "https://bank.internal/balance",
				Auth: &fulfillmentv1alpha1.OutboundAuth{OAuth2: &fulfillmentv1alpha1.OAuth2ClientCredentials{
					TokenURL: "https://idp.internal/oauth/token", SecretRef: fulfillmentv1alpha1.OAuth2SecretRef{Name: "bank-oauth"}}},
				TLS: &fulfillmentv1alpha1.OutboundTLS{
					CARef:                      &fulfillmentv1alpha1.CABundleRef{SecretKeyRef: &fulfillmentv1alpha1.SecretKeySelector{Name: "bank-ca", Key: "ca.crt"}},
					ClientCertificateSecretRef: &fulfillmentv1alpha1.LocalObjectReference{Name: "bank-client-cert"},
				}},
		},
	}
}

// selfSigned is a self-signed certificate for commonName and its key, in PEM.
func selfSigned(commonName string) (certPEM, keyPEM []byte) {
	GinkgoHelper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: commonName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func mountsSecret(g Gomega, namespace, secret string) {
	deployment := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(ctx, key(namespace, "bank-bot"), deployment)).To(Succeed())
	g.Expect(deployment.Spec.Template.Spec.Volumes).To(ContainElement(
		HaveField("VolumeSource.Secret", And(Not(BeNil()), HaveField("SecretName", secret)))),
		"the Deployment does not mount %s", secret)
}

var _ = Describe("A route's OAuth2 and TLS Secrets", func() {
	It("are mounted into the pods, and a missing one is reported at its field", func() {
		namespace := newNamespace()
		caPEM, _ := selfSigned("bank CA")
		certPEM, keyPEM := selfSigned("fulfillment")
		Expect(k8sClient.Create(ctx, basicSecret(namespace, "bank-basic"))).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-oauth"},
			StringData: map[string]string{"clientID": "fulfillment", "clientSecret": "oauth-client-secret"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-ca"},
			Data: map[string][]byte{"ca.crt": caPEM}})).To(Succeed())
		Expect(k8sClient.Create(ctx, bankEndpoint(namespace))).To(Succeed())
		Expect(k8sClient.Create(ctx, outboundRoute(namespace))).To(Succeed())

		// The client certificate's Secret does not exist yet: the route is refused, naming the field.
		Eventually(func(g Gomega) {
			route := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "balance"), route)).To(Succeed())
			refs := meta.FindStatusCondition(route.Status.Conditions, fulfillmentv1alpha1.ConditionResolvedRefs)
			g.Expect(refs).NotTo(BeNil())
			g.Expect(refs.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(refs.Reason).To(Equal(fulfillmentv1alpha1.ReasonSecretNotFound))
			g.Expect(refs.Message).To(ContainSubstring("spec.call.tls.clientCertificateSecretRef"))
			g.Expect(refs.Message).To(ContainSubstring("bank-client-cert"))
		}).Should(Succeed())

		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bank-client-cert"},
			Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(accepted(g, namespace, "balance").Reason).To(Equal(fulfillmentv1alpha1.ReasonAccepted))
			for _, secret := range []string{"bank-oauth", "bank-ca", "bank-client-cert"} {
				mountsSecret(g, namespace, secret)
			}
		}).Should(Succeed())

		// The OAuth2 Secret loses its client secret: reported, without its value.
		oauth := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, key(namespace, "bank-oauth"), oauth)).To(Succeed())
		oauth.Data = map[string][]byte{"clientID": []byte("fulfillment")}
		Expect(k8sClient.Update(ctx, oauth)).To(Succeed())
		Eventually(func(g Gomega) {
			route := &fulfillmentv1alpha1.IntentRoute{}
			g.Expect(k8sClient.Get(ctx, key(namespace, "balance"), route)).To(Succeed())
			refs := meta.FindStatusCondition(route.Status.Conditions, fulfillmentv1alpha1.ConditionResolvedRefs)
			g.Expect(refs).NotTo(BeNil())
			g.Expect(refs.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(refs.Message).To(ContainSubstring("spec.call.auth.oauth2.secretRef"))
			g.Expect(refs.Message).To(ContainSubstring("clientSecret"))
			g.Expect(refs.Message).NotTo(ContainSubstring("oauth-client-secret"))
		}).Should(Succeed())
	})
})
