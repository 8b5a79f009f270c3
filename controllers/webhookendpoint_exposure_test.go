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
			wantStatus: metav1.ConditionFalse, wantReason: fulfillmentv1alpha1.ReasonNotExposed,
		},
		"a LoadBalancer Service in plain HTTP": {
			endpoint:   endpointFixture(withService("LoadBalancer")),
			wantStatus: metav1.ConditionTrue, wantReason: fulfillmentv1alpha1.ReasonPlaintextExposure,
			wantMessage: []string{"the LoadBalancer Service serves plain HTTP (set spec.tls.mode)",
				"set spec.exposure.plaintextAcknowledged: true"},
		},
		"a NodePort Service whose pods serve HTTPS": {
			endpoint:   endpointFixture(withService("NodePort"), podTLS),
			wantStatus: metav1.ConditionFalse, wantReason: fulfillmentv1alpha1.ReasonEncrypted,
		},
		"an Ingress without TLS, even with pods serving HTTPS": {
			endpoint:   endpointFixture(withIngress(""), podTLS),
			wantStatus: metav1.ConditionTrue, wantReason: fulfillmentv1alpha1.ReasonPlaintextExposure,
			wantMessage: []string{"the Ingress serves bank.example.com over plain HTTP (set spec.ingress.tlsSecretName)"},
		},
		"an Ingress with TLS": {
			endpoint:   endpointFixture(withIngress("bank-tls")),
			wantStatus: metav1.ConditionFalse, wantReason: fulfillmentv1alpha1.ReasonEncrypted,
		},
		"acknowledged: TLS ends at a load balancer in front": {
			endpoint:   endpointFixture(withIngress(""), withService("LoadBalancer"), acknowledged),
			wantStatus: metav1.ConditionFalse, wantReason: fulfillmentv1alpha1.ReasonPlaintextAcknowledged,
		},
		"an HTTPRoute on every listener of a Gateway with an HTTP listener": {
			endpoint: endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "edge"})), gateways: edge,
			wantStatus: metav1.ConditionTrue, wantReason: fulfillmentv1alpha1.ReasonPlaintextExposure,
			wantMessage: []string{"listener http of Gateway bots/edge, which serves HTTP on port 80"},
		},
		"an HTTPRoute on the HTTPS listener by section name": {
			endpoint:   endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "edge", SectionName: ptr.To("https")})),
			gateways:   edge,
			wantStatus: metav1.ConditionFalse, wantReason: fulfillmentv1alpha1.ReasonEncrypted,
		},
		"an HTTPRoute on port 443, in another namespace; TCP listeners do not count": {
			endpoint: endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "tls", Namespace: ptr.To("infra")},
				fulfillmentv1alpha1.ParentReference{Name: "edge", Port: ptr.To(int32(443))})),
			gateways:   edge,
			wantStatus: metav1.ConditionFalse, wantReason: fulfillmentv1alpha1.ReasonEncrypted,
		},
		"a Gateway that could not be read: unknown, never a guess": {
			endpoint:   endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "missing"})),
			gateways:   GatewayFacts{Listeners: edge.Listeners, Unread: map[string]string{"bots/missing": "not found"}},
			wantStatus: metav1.ConditionUnknown, wantReason: fulfillmentv1alpha1.ReasonGatewayUnknown,
			wantMessage: []string{"Gateway bots/missing: not found"},
		},
		"a Gateway not read at all is unknown too": {
			endpoint:   endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "edge"})),
			wantStatus: metav1.ConditionUnknown, wantReason: fulfillmentv1alpha1.ReasonGatewayUnknown,
			wantMessage: []string{"Gateway bots/edge: not read"},
		},
		"a known plain way in wins over an unknown one": {
			endpoint:   endpointFixture(withService("LoadBalancer"), withRoute(fulfillmentv1alpha1.ParentReference{Name: "missing"})),
			gateways:   GatewayFacts{Unread: map[string]string{"bots/missing": "not found"}},
			wantStatus: metav1.ConditionTrue, wantReason: fulfillmentv1alpha1.ReasonPlaintextExposure,
		},
		"a mesh parent (a Service) is not a way in from outside": {
			endpoint:   endpointFixture(withRoute(fulfillmentv1alpha1.ParentReference{Name: "bank", Group: ptr.To(""), Kind: ptr.To("Service")})),
			wantStatus: metav1.ConditionFalse, wantReason: fulfillmentv1alpha1.ReasonNotExposed,
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

func TestExternalURL(t *testing.T) {
	withIngress := func(host, tlsSecret string) func(*fulfillmentv1alpha1.WebhookEndpoint) {
		return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.Ingress = &fulfillmentv1alpha1.IngressSettings{Host: host, TLSSecretName: tlsSecret}
		}
	}
	withRoute := func(hostnames []string, refs ...fulfillmentv1alpha1.ParentReference) func(*fulfillmentv1alpha1.WebhookEndpoint) {
		return func(e *fulfillmentv1alpha1.WebhookEndpoint) {
			e.Spec.HTTPRoute = &fulfillmentv1alpha1.HTTPRouteSettings{ParentRefs: refs, Hostnames: hostnames}
		}
	}
	withPath := func(e *fulfillmentv1alpha1.WebhookEndpoint) { e.Spec.Path = "/bots/bank" }
	bank := []string{"bank.example.com"}
	gateways := GatewayFacts{
		Listeners: map[string][]GatewayListener{
			"bots/edge":     {{Name: "http", Protocol: "HTTP", Port: 80}, {Name: "https", Protocol: "HTTPS", Port: 443}},
			"bots/plain":    {{Name: "http", Protocol: "HTTP", Port: 8080}},
			"bots/odd":      {{Name: "https", Protocol: "HTTPS", Port: 8443}},
			"bots/tcp":      {{Name: "db", Protocol: "TCP", Port: 5432}},
			"bots/wildcard": {{Name: "https", Protocol: "HTTPS", Port: 443, Hostname: "*.example.com"}},
			"bots/other":    {{Name: "https", Protocol: "HTTPS", Port: 443, Hostname: "api.example.org"}},
			"bots/named":    {{Name: "https", Protocol: "HTTPS", Port: 443, Hostname: "chat.example.com"}},
			"infra/public":  {{Name: "https", Protocol: "HTTPS", Port: 443}},
		},
		Unread: map[string]string{"bots/gone": "not found"},
	}

	tests := map[string]struct {
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		want     string
	}{
		"no exposure":                            {endpointFixture(), ""},
		"an Ingress with TLS":                    {endpointFixture(withIngress("bank.example.com", "bank-tls")), "https://bank.example.com/webhook"},
		"an Ingress without TLS":                 {endpointFixture(withIngress("bank.example.com", "")), "http://bank.example.com/webhook"},
		"an Ingress without a host: unknown":     {endpointFixture(withIngress("", "bank-tls")), ""},
		"the endpoint's path":                    {endpointFixture(withIngress("bank.example.com", "bank-tls"), withPath), "https://bank.example.com/bots/bank"},
		"an HTTPS listener is preferred":         {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "edge"})), "https://bank.example.com/webhook"},
		"attached to the HTTP listener only":     {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "edge", SectionName: ptr.To("http")})), "http://bank.example.com/webhook"},
		"attached by port":                       {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "edge", Port: ptr.To[int32](80)})), "http://bank.example.com/webhook"},
		"an HTTP listener on another port":       {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "plain"})), "http://bank.example.com:8080/webhook"},
		"an HTTPS listener on another port":      {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "odd"})), "https://bank.example.com:8443/webhook"},
		"a Gateway in another namespace":         {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "public", Namespace: ptr.To("infra")})), "https://bank.example.com/webhook"},
		"the Gateway could not be read: unknown": {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "gone"})), ""},
		"the Gateway was not read at all":        {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "never"})), ""},
		"an unread Gateway, then a read one": {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "gone"},
			fulfillmentv1alpha1.ParentReference{Name: "plain"})), "http://bank.example.com:8080/webhook"},
		"HTTPS on a second parent wins over HTTP on the first": {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "plain"},
			fulfillmentv1alpha1.ParentReference{Name: "odd"})), "https://bank.example.com:8443/webhook"},
		"no HTTP listener attached":              {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "tcp"})), ""},
		"no such section":                        {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "edge", SectionName: ptr.To("grpc")})), ""},
		"a listener for a wildcard":              {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "wildcard"})), "https://bank.example.com/webhook"},
		"a listener for another host":            {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "other"})), ""},
		"the first hostname the listener serves": {endpointFixture(withRoute([]string{"bank.example.org", "bank.example.com"}, fulfillmentv1alpha1.ParentReference{Name: "wildcard"})), "https://bank.example.com/webhook"},
		"a wildcard route on a named listener":   {endpointFixture(withRoute([]string{"*.example.com"}, fulfillmentv1alpha1.ParentReference{Name: "named"})), "https://chat.example.com/webhook"},
		"a wildcard route, any listener host":    {endpointFixture(withRoute([]string{"*.example.com"}, fulfillmentv1alpha1.ParentReference{Name: "edge"})), ""},
		"no route hostname, a named listener":    {endpointFixture(withRoute(nil, fulfillmentv1alpha1.ParentReference{Name: "named"})), "https://chat.example.com/webhook"},
		"no route hostname, any listener host":   {endpointFixture(withRoute(nil, fulfillmentv1alpha1.ParentReference{Name: "edge"})), ""},
		"a mesh parent is not a way in": {endpointFixture(withRoute(bank, fulfillmentv1alpha1.ParentReference{Name: "bank", Kind: ptr.To("Service"),
			Group: ptr.To("")})), ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ExternalURL(tc.endpoint, gateways); got != tc.want {
				t.Errorf("ExternalURL = %q, want %q", got, tc.want)
			}
		})
	}
}
