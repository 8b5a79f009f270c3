package controllers

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

func TestQueueDurability(t *testing.T) {
	queue := func(kind, durability, detail string) statusz.Queue {
		return statusz.Queue{Endpoint: "bots/events", Kind: kind, Durability: durability, DurabilityDetail: detail}
	}
	cases := map[string]struct {
		queues  []statusz.Queue
		present bool
		status  metav1.ConditionStatus
		reason  string
		says    string
	}{
		"no Async queue": {},
		"a server that does not report durability": {queues: []statusz.Queue{queue("Redis", "", "")}},
		"another endpoint's queue":                 {queues: []statusz.Queue{{Endpoint: "bots/other", Kind: "Redis", Durability: "None"}}},
		"a Local queue": {queues: []statusz.Queue{queue("Local", "Fsync", "")}, present: true,
			status: metav1.ConditionTrue, reason: "Fsync", says: "fsynced on the pod's volume"},
		"Redis with appendfsync always": {queues: []statusz.Queue{queue("Redis", "Fsync", "appendonly yes, appendfsync always")},
			present: true, status: metav1.ConditionTrue, reason: "Fsync", says: "appendfsync always"},
		"Redis with appendfsync everysec": {queues: []statusz.Queue{queue("Redis", "EverySecond", "appendonly yes, appendfsync everysec")},
			present: true, status: metav1.ConditionFalse, reason: "EverySecond", says: "about the last second; set appendonly yes and appendfsync always"},
		"Redis without persistence": {queues: []statusz.Queue{queue("Redis", "None", `appendonly no, save ""`)},
			present: true, status: metav1.ConditionFalse, reason: "None", says: "a Redis restart loses every queued event"},
		"Redis evicting keys when full": {queues: []statusz.Queue{queue("Redis", "Evicts", "maxmemory 67108864, maxmemory-policy allkeys-lru")},
			present: true, status: metav1.ConditionFalse, reason: "Evicts", says: "queued events included; set maxmemory-policy noeviction"},
		"eviction is worse than no persistence": {
			queues:  []statusz.Queue{queue("Redis", "None", ""), queue("Redis", "Evicts", "")},
			present: true, status: metav1.ConditionFalse, reason: "Evicts"},
		"settings not read": {queues: []statusz.Queue{queue("Redis", "Unknown", "CONFIG and INFO refused")},
			present: true, status: metav1.ConditionUnknown, reason: "Unknown", says: "CONFIG and INFO refused"},
		"the weakest pod's answer wins": {
			queues:  []statusz.Queue{queue("Redis", "Fsync", ""), queue("Redis", "Snapshots", "appendonly no, save 3600 1")},
			present: true, status: metav1.ConditionFalse, reason: "Snapshots", says: "since the last snapshot"},
		"a known loss is not hidden behind an unknown": {
			queues:  []statusz.Queue{queue("Redis", "Unknown", "timeout"), queue("Redis", "None", "")},
			present: true, status: metav1.ConditionFalse, reason: "None"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var reports []PodReport
			for i, q := range c.queues {
				reports = append(reports, PodReport{Pod: string(rune('a' + i)), Found: true, Report: statusz.Report{Queues: []statusz.Queue{q}}})
			}
			status, reason, message, ok := queueDurability("bots/events", reports)
			if ok != c.present || status != c.status || reason != c.reason || !strings.Contains(message, c.says) {
				t.Errorf("(%s, %s, %q, %v), want (%s, %s, ...%q..., %v)", status, reason, message, ok, c.status, c.reason, c.says, c.present)
			}
		})
	}
}
