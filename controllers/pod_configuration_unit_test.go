package controllers

import (
	"strings"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

func TestConfigurationCheck(t *testing.T) {
	const want, old = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"
	serving := func(pod, version string) PodReport {
		return PodReport{Pod: pod, Found: true, Ready: true, Report: statusz.Report{Configuration: statusz.Configuration{Serving: version}}}
	}
	refusing := func(pod, servingVersion, refused string) PodReport {
		return PodReport{Pod: pod, Found: true, Ready: true, Report: statusz.Report{Configuration: statusz.Configuration{Serving: servingVersion,
			Refused: &statusz.Refusal{Version: refused, Error: "Secret bank-basic: key username missing"}}}}
	}
	unread := func(pod, err string) PodReport { return PodReport{Pod: pod, Found: true, Ready: true, Error: err} }
	notReady := serving("c", old)
	notReady.Ready = false
	cases := map[string]struct {
		pods        []PodReport
		ok, stalled bool
		reason      string
		contains    []string
	}{
		"every ready pod serves it": {pods: []PodReport{serving("a", want), serving("b", want), notReady}, ok: true,
			reason: fulfillmentv1alpha1.ReasonAvailable, contains: []string{"2 ready pods serve configuration aaaaaaaaaaaa"}},
		"one pod still on the previous one": {pods: []PodReport{serving("a", want), serving("b", old)},
			reason: fulfillmentv1alpha1.ReasonConfigurationLoading, contains: []string{"1/2 ready pods", "waiting for b"}},
		"a refusal of an older configuration is not this one's": {pods: []PodReport{refusing("a", want, old)}, ok: true,
			reason: fulfillmentv1alpha1.ReasonAvailable},
		"refused, the previous one keeps serving": {pods: []PodReport{serving("a", want), refusing("b", old, want)},
			stalled: true, reason: fulfillmentv1alpha1.ReasonConfigurationRefused,
			contains: []string{"pod b refuses it and keeps serving configuration bbbbbbbbbbbb", "key username missing"}},
		"its Secrets refused": {pods: []PodReport{refusing("a", want, want)}, stalled: true,
			reason: fulfillmentv1alpha1.ReasonConfigurationRefused, contains: []string{"pod a refuses the Secrets of this configuration"}},
		"a report not read": {pods: []PodReport{serving("a", want), unread("b", "connection refused")},
			reason: fulfillmentv1alpha1.ReasonConfigurationUnconfirmed, contains: []string{"pod b: connection refused", "--confirm-pod-configuration=false"}},
		"a refusal outweighs an unread report": {pods: []PodReport{unread("a", "timeout"), refusing("b", old, want)},
			stalled: true, reason: fulfillmentv1alpha1.ReasonConfigurationRefused},
		"no ready pod: nothing to say": {pods: []PodReport{notReady}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			check := configurationCheck(want, c.pods)
			if check.ok != c.ok || check.stalled != c.stalled || check.reason != c.reason {
				t.Fatalf("ok %v stalled %v reason %s (%s), want ok %v stalled %v reason %s",
					check.ok, check.stalled, check.reason, check.message, c.ok, c.stalled, c.reason)
			}
			for _, text := range c.contains {
				if !strings.Contains(check.message, text) {
					t.Errorf("message %q does not say %q", check.message, text)
				}
			}
		})
	}
}

func TestConfigurationRecheck(t *testing.T) {
	if got := configurationRecheck(endpointCheck{ok: true}); got != configurationServedRecheck {
		t.Errorf("served: recheck in %v", got)
	}
	if got := configurationRecheck(endpointCheck{reason: fulfillmentv1alpha1.ReasonConfigurationLoading}); got != configurationLoadingRecheck {
		t.Errorf("loading: recheck in %v", got)
	}
	if got := configurationRecheck(endpointCheck{reason: fulfillmentv1alpha1.ReasonConfigurationRefused, stalled: true}); got != configurationProblemRecheck {
		t.Errorf("refused: recheck in %v", got)
	}
}
