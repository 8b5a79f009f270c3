package controllers

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/internal/reference"
)

// TestMetricReference keeps the operator's table in docs/reference/metrics.md what its collector exports, from
// an endpoint that has every series: a generated, rotated HMAC key and a serving certificate.
func TestMetricReference(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	rotated, notAfter := metav1.NewTime(now.Add(-time.Hour)), metav1.NewTime(now.Add(90*24*time.Hour))
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: "bots", Name: "events"},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{Auth: fulfillmentv1alpha1.EndpointAuth{HMAC: &fulfillmentv1alpha1.HMACAuth{
			Rotation: &fulfillmentv1alpha1.KeyRotation{Interval: metav1.Duration{Duration: 24 * time.Hour}}}}},
		Status: fulfillmentv1alpha1.WebhookEndpointStatus{LastKeyRotationTime: &rotated,
			Certificate: &fulfillmentv1alpha1.CertificateStatus{NotAfter: &notAfter}},
	}
	collector := &endpointCollector{endpoints: map[types.NamespacedName]endpointState{}}
	collector.observe(endpoint, clocktesting.NewFakePassiveClock(now))
	registry := prometheus.NewRegistry()
	registry.MustRegister(collector)
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 4 {
		t.Fatalf("the collector exports %d families for an endpoint with every series, want the 4 it describes", len(families))
	}
	reference.Check(t, "docs/reference/metrics.md", "operator", "\n"+reference.MetricTable(families)+"\n")
}
