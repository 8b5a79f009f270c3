package controllers

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

func TestExposureCondition(t *testing.T) {
	withService := func(kind fulfillmentv1alpha1.ServiceType) func(*fulfillmentv1alpha1.WebhookEndpoint) {
		return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.Service = &fulfillmentv1alpha1.ServiceSettings{Type: kind}
		}
	}
	withIngress := func(tlsSecret string) func(*fulfillmentv1alpha1.WebhookEndpoint) {
		return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.Ingress = &fulfillmentv1alpha1.IngressSettings{Host: "bank.example.com", TLSSecretName: tlsSecret}
		}
	}
	withRoute := func(refs ...fulfillmentv1alpha1.ParentReference) func(*fulfillmentv1alpha1.WebhookEndpoint) {
		return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.HTTPRoute = &fulfillmentv1alpha1.HTTPRouteSettings{ParentRefs: refs, Hostnames: []string{"bank.example.com"}}
		}
	}
	podTLS := func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.TLS = &fulfillmentv1alpha1.EndpointTLS{Mode: fulfillmentv1alpha1.TLSModeSelfSigned}
	}
	acknowledged := func(e *fulfillmentv1alpha1.WebhookEndpoint) {
		e.Spec.Exposure = &fulfillmentv1alpha1.Exposure{PlaintextAcknowledged: true}
	}
	edge := GatewayFacts{Listeners: map[string][]GatewayListener{
		"bots/edge": {{Name: "http", Protocol: "HTTP", Port: 80}, {Name: "https", Protocol: "HTTPS", Port: 443}},
		"infra/tls": {{Name: "https", Protocol: "HTTPS", Port: 443}, {Name: "tcp", Protocol: "TCP", Port: 5432}},
	}}

	tests := map[string]struct {
		endpoint    *fulfillmentv1alpha1.WebhookEndpoint
		gateways    GatewayFacts
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage []string
	}{
		"a ClusterIP Service only": {
			endpoint:   endpointFixture(withService("ClusterIP")),
			wantStatus: metav1.ConditionFalse, wantReason: ReasonNotExposed,
		},
		"a LoadBalancer Service in plain HTTP": {
			endpoint:   endpointFixture(withService("LoadBalancer")),
			wantStatus: metav1.ConditionTrue, wantReason: ReasonPlaintextExposure,
			wantMessage: []string{"the LoadBalancer Service serves plain HTTP (set spec.tls.mode)",
				"set spec.exposure.plaintextAcknowledged: true"},
		},
		"a NodePort Service whose pods serve HTTPS": {
			endpoint:   endpointFixture(withService("NodePort"), podTLS),
			wantStatus: metav1.ConditionFalse, wantReason: ReasonEncrypted,
		},
		"an Ingress without TLS, even with pods serving HTTPS": {
			endpoint:   endpointFixture(withIngress(""), podTLS),
			wantStatus: metav1.ConditionTrue, wantReason: ReasonPlaintextExposure,
			wantMessage: []string{"the Ingress serves bank.example.com over plain HTTP (set spec.ingress.tlsSecretName)"},
		},
		"an Ingress with TLS": {
			endpoint:   endpointFixture(withIngress("bank-tls")),
			wantStatus: metav1.ConditionFalse, wantReason: ReasonEncrypted,
		},
		"acknowledged: TLS ends at a load balancer in front": {
			endpoint:   endpointFixture(withIngress(""), withService("LoadBalancer"), acknowledged),
			wantStatus: metav1.ConditionFalse, wantReason: ReasonPlaintextAcknowledged,
		},
		"an HTTPRoute on every listener of a Gateway with an HTTP listener": {
			endpoint: endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "edge"})), gateways: edge,
			wantStatus: metav1.ConditionTrue, wantReason: ReasonPlaintextExposure,
			wantMessage: []string{"listener http of Gateway bots/edge, which serves HTTP on port 80"},
		},
		"an HTTPRoute on the HTTPS listener by section name": {
			endpoint:   endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "edge", SectionName: ptr.To("https")})),
			gateways:   edge,
			wantStatus: metav1.ConditionFalse, wantReason: ReasonEncrypted,
		},
		"an HTTPRoute on port 443, in another namespace; TCP listeners do not count": {
			endpoint: endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "tls", Namespace: ptr.To("infra")},
				fulfillmentv1alpha1.ParentReference{Name: "edge", Port: ptr.To(int32(443))})),
			gateways:   edge,
			wantStatus: metav1.ConditionFalse, wantReason: ReasonEncrypted,
		},
		"a Gateway that could not be read: unknown, never a guess": {
			endpoint:   endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "missing"})),
			gateways:   GatewayFacts{Listeners: edge.Listeners, Unread: map[string]string{"bots/missing": "not found"}},
			wantStatus: metav1.ConditionUnknown, wantReason: ReasonGatewayUnknown,
			wantMessage: []string{"Gateway bots/missing: not found"},
		},
		"a Gateway not read at all is unknown too": {
			endpoint:   endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "edge"})),
			wantStatus: metav1.ConditionUnknown, wantReason: ReasonGatewayUnknown,
			wantMessage: []string{"Gateway bots/edge: not read"},
		},
		"a known plain way in wins over an unknown one": {
			endpoint:   endpointFixture(withService("LoadBalancer"), withRoute(fulfillmentv1alpha1.ParentReference{Name: "missing"})),
			gateways:   GatewayFacts{Unread: map[string]string{"bots/missing": "not found"}},
			wantStatus: metav1.ConditionTrue, wantReason: ReasonPlaintextExposure,
		},
		"a mesh parent (a Service) is not a way in from outside": {
			endpoint:   endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "bank", Group: ptr.To(""), Kind: ptr.To("Service")})),
			wantStatus: metav1.ConditionFalse, wantReason: ReasonNotExposed,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, reason, message := exposureCondition(tc.endpoint, tc.gateways)
			if status != tc.wantStatus || reason != tc.wantReason {
				t.Errorf("InsecureExposure = %s %s, want %s %s (%s)", status, reason, tc.wantStatus, tc.wantReason, message)
			}
			for _, part := range tc.wantMessage {
				if !strings.Contains(message, part) {
					t.Errorf("message %q does not contain %q", message, part)
				}
			}
		})
	}
}
