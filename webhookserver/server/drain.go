package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/statusz"
)

// A replica drains while the configuration names its pod in drainPods: the operator is retiring it, and a
// Local queue's events live only in the pod's volume. So it reports not ready and refuses new events for its
// Local queues, sending them to other replicas, while it delivers what those queues hold; Sync endpoints and
// Redis queues keep nothing in the pod and are served as usual.

// retiringRetryAfter is the Retry-After, in seconds, of an event refused while draining: time for the readiness
// probe to take the replica out of the Service, so that the retry lands on another one.
const retiringRetryAfter = "5"

// drains says whether file names podName in drainPods. A server without a pod name (standalone) never drains.
func drains(file *configfile.File, podName string) bool {
	return podName != "" && slices.Contains(file.DrainPods, podName)
}

// noteDraining logs and counts the start or the end of draining between the previous snapshot (nil at the
// first load) and the next.
func (s *Server) noteDraining(previous, next *snapshot) {
	was := previous != nil && previous.draining
	switch {
	case next.draining && !was:
		s.metrics.draining.Set(1)
		s.log.Info("draining: the configuration names this pod in drainPods; new events for Local queues are refused "+
			"while the queued ones are delivered", "pod", s.opts.PodName, "waiting", waiting(s.readLocalQueues(next)))
	case was && !next.draining:
		s.metrics.draining.Set(0)
		s.log.Info("draining ended: the configuration no longer names this pod in drainPods", "pod", s.opts.PodName)
	}
}

// refuseWhileDraining refuses a new event for ep while snap drains, when ep queues it in the pod (Local).
func refuseWhileDraining(snap *snapshot, ep *endpoint.Endpoint) *refusal {
	if !snap.draining || ep.Queue() == nil || queueKind(ep.Queue()) != statusz.QueueLocal {
		return nil
	}
	return &refusal{status: http.StatusServiceUnavailable, code: "replica_retiring",
		message:    "this replica is being retired and takes no new events; retry after " + retiringRetryAfter + "s and another replica will take it",
		retryAfter: retiringRetryAfter,
		// The retry must open a new connection for the Service to pick another replica: a kept one comes back here.
		closeConnection: true}
}

// retiringMessage is /readyz's answer while draining: what the Local queues still hold.
func retiringMessage(local []statusz.Queue) string {
	message := fmt.Sprintf("not ready: this replica is being retired (drainPods); its Local queues hold %d events to deliver", waiting(local))
	var dead int64
	var unread []string
	for _, q := range local {
		dead += q.Dead
		if q.Error != "" {
			unread = append(unread, q.Endpoint+": "+q.Error)
		}
	}
	if dead > 0 {
		message += fmt.Sprintf(" and %d dead letters", dead)
	}
	if len(unread) > 0 {
		message += "; could not read " + strings.Join(unread, "; ")
	}
	return message
}

// waiting is how many events the queues hold to deliver.
func waiting(queues []statusz.Queue) int64 {
	var n int64
	for _, q := range queues {
		n += q.Waiting()
	}
	return n
}
