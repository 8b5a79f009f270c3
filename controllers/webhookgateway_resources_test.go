package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

func TestPathWinnersKeepsTheOldestClaim(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	losers := PathWinners([]PathClaim{
		{Name: "late", Created: t0.Add(time.Hour), Path: "/bank"},
		{Name: "bank", Created: t0, Path: "/bank"},
		{Name: "pay", Created: t0.Add(2 * time.Hour), Path: "/pay"},
		{Name: "b-twin", Created: t0.Add(3 * time.Hour), Path: "/twin"},
		{Name: "a-twin", Created: t0.Add(3 * time.Hour), Path: "/twin"},
	})
	want := map[string]string{"late": "bank", "b-twin": "a-twin"}
	if len(losers) != len(want) {
		t.Fatalf("losers %v, want %v", losers, want)
	}
	for name, winner := range want {
		if losers[name] != winner {
			t.Errorf("%s loses to %q, want %q", name, losers[name], winner)
		}
	}
}

func TestStillServedWhileAnotherMemberLoads(t *testing.T) {
	const hash = "0123456789abcdef0123"
	served := &fulfillmentv1alpha1.WebhookEndpoint{ObjectMeta: metav1.ObjectMeta{Name: "bank"},
		Status: fulfillmentv1alpha1.WebhookEndpointStatus{ConfigHash: hash, Conditions: []metav1.Condition{{
			Type: fulfillmentv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: fulfillmentv1alpha1.ReasonGatewayServing}}}}
	gatewayConfig := func(members string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationGatewayMembers: members}}}
	}
	cases := []struct {
		name     string
		endpoint *fulfillmentv1alpha1.WebhookEndpoint
		members  string
		hash     string
		want     bool
	}{
		{"another member joins", served, "bank=" + shortHash(hash) + ",pay=aaaaaaaaaaaa", hash, true},
		{"its own configuration changed", served, "bank=" + shortHash(hash), "ffffffffffffffff", false},
		{"left out of the loading configuration", served, "pay=aaaaaaaaaaaa", hash, false},
		{"never confirmed served", &fulfillmentv1alpha1.WebhookEndpoint{ObjectMeta: metav1.ObjectMeta{Name: "bank"},
			Status: fulfillmentv1alpha1.WebhookEndpointStatus{ConfigHash: hash}}, "bank=" + shortHash(hash), hash, false},
	}
	for _, c := range cases {
		if got := stillServed(c.endpoint, gatewayConfig(c.members), c.hash); got != c.want {
			t.Errorf("%s: stillServed = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRenderGatewayConfigStopsAtWhatAConfigMapHolds(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	member := func(name string, age time.Duration, text string) GatewayMember {
		endpoint := &fulfillmentv1alpha1.WebhookEndpoint{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "bots"},
			Spec: fulfillmentv1alpha1.WebhookEndpointSpec{Dialect: fulfillmentv1alpha1.DialectGeneric, Path: "/" + name,
				Fallback: &fulfillmentv1alpha1.Fallback{Text: text}}}
		data, hash, err := RenderConfig(endpoint, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		configMap := DesiredConfigMap(endpoint, data, hash)
		joinConfigMap(configMap, endpoint, "shared")
		configMap.Annotations[AnnotationEndpointCreated] = t0.Add(age).Format(time.RFC3339)
		m, err := ReadGatewayMember(configMap)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	large := strings.Repeat("x", 4000)
	var members []GatewayMember
	for i := range 300 { // about 1.2 MB of configurations
		members = append(members, member(fmt.Sprintf("bot-%03d", i), time.Duration(i)*time.Minute, large))
	}
	config, err := RenderGatewayConfig(members)
	if err != nil {
		t.Fatal(err)
	}
	if len(config.Data) > MaxConfigBytes {
		t.Fatalf("the gateway's configuration is %d bytes, over the %d a ConfigMap holds", len(config.Data), MaxConfigBytes)
	}
	if len(config.TooLarge) == 0 || len(config.Served)+len(config.TooLarge) != len(members) {
		t.Fatalf("%d served, %d refused for size, of %d", len(config.Served), len(config.TooLarge), len(members))
	}
	for _, m := range config.Served {
		for _, refused := range config.TooLarge {
			if refused < m.Name { // names sort like their ages here
				t.Fatalf("%s refused while the newer %s is served: the older endpoints keep their place", refused, m.Name)
			}
		}
	}
	if !strings.Contains(config.Refused[config.TooLarge[0]], "exceed") {
		t.Errorf("refusal of %s: %q", config.TooLarge[0], config.Refused[config.TooLarge[0]])
	}
}
