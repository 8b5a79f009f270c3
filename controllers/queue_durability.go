package controllers

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// durabilityRisk says, per Redis durability, what a crash of Redis does to acknowledged events.
var durabilityRisk = map[string]string{
	statusz.DurabilityEverySecond: "a crash of the Redis host loses the events acknowledged in about the last second",
	statusz.DurabilityOSFlush:     "a crash of the Redis host loses the events the kernel had not written to disk yet",
	statusz.DurabilitySnapshots:   "a Redis crash or restart loses the events acknowledged since the last snapshot",
	statusz.DurabilityNone:        "a Redis restart loses every queued event",
	statusz.DurabilityEvicts:      "a full Redis deletes keys, queued events included",
}

// queueDurability is the QueueDurable condition from the pods' reports of the endpoint's queue: the weakest
// durability any pod reported wins. ok is false when no pod reported one (no Async queue, or a server that does
// not report it): then the condition is left out.
func queueDurability(endpoint string, reports []PodReport) (status metav1.ConditionStatus, reason, message string, ok bool) {
	var weakest *statusz.Queue
	for _, report := range reports {
		for i, q := range report.Report.Queues {
			if q.Endpoint != endpoint || q.Durability == "" {
				continue
			}
			if weakest == nil || durabilityRank(q.Durability) > durabilityRank(weakest.Durability) {
				weakest = &report.Report.Queues[i]
			}
		}
	}
	if weakest == nil {
		return "", "", "", false
	}
	detail := ""
	if weakest.DurabilityDetail != "" {
		detail = " (" + weakest.DurabilityDetail + ")"
	}
	switch d := weakest.Durability; {
	case d == statusz.DurabilityFsync && weakest.Kind == statusz.QueueLocal:
		return metav1.ConditionTrue, d, "every event is written and fsynced on the pod's volume before it is acknowledged", true
	case d == statusz.DurabilityFsync:
		return metav1.ConditionTrue, d, "Redis writes and fsyncs every event before it is acknowledged" + detail, true
	case d == statusz.DurabilityEvicts:
		return metav1.ConditionFalse, d, fmt.Sprintf("Redis%s: %s; set maxmemory-policy noeviction on the Redis server, "+
			"so that a full Redis refuses new events (their senders retry) instead of deleting acknowledged ones", detail, durabilityRisk[d]), true
	case durabilityRisk[d] != "":
		return metav1.ConditionFalse, d, fmt.Sprintf("Redis%s: %s; set appendonly yes and appendfsync always on the Redis "+
			"server for acknowledged events to survive it", detail, durabilityRisk[d]), true
	default:
		return metav1.ConditionUnknown, statusz.DurabilityUnknown, strings.TrimSpace("the pods could not read Redis's persistence settings" + detail), true
	}
}

// durabilityRank orders durabilities from the strongest (0); an unknown one ranks between the known risky ones
// and None, so that a known loss is never hidden behind it.
func durabilityRank(durability string) int {
	switch durability {
	case statusz.DurabilityFsync:
		return 0
	case statusz.DurabilityEverySecond:
		return 1
	case statusz.DurabilityOSFlush:
		return 2
	case statusz.DurabilitySnapshots:
		return 3
	case statusz.DurabilityNone:
		return 5
	case statusz.DurabilityEvicts:
		return 6
	default:
		return 4
	}
}
