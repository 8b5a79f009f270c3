package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// ReasonNodeLocalVolume is the QueueDurable reason of a Local queue on a volume that lives on one node only.
const ReasonNodeLocalVolume = "NodeLocalVolume"

// nodeLocalVolume says whether a PersistentVolume lives on one node only, and which when it says: a hostPath
// or local volume, or one whose node affinity requires a hostname. A network-attached disk is reachable from
// other nodes (its affinity names a zone at most), so a pod replaced on another node finds it again.
func nodeLocalVolume(pv *corev1.PersistentVolume) (node string, local bool) {
	local = pv.Spec.HostPath != nil || pv.Spec.Local != nil
	if affinity := pv.Spec.NodeAffinity; affinity != nil && affinity.Required != nil {
		for _, term := range affinity.Required.NodeSelectorTerms {
			for _, requirement := range term.MatchExpressions {
				if requirement.Key == corev1.LabelHostname && requirement.Operator == corev1.NodeSelectorOpIn && len(requirement.Values) == 1 {
					return requirement.Values[0], true
				}
			}
		}
	}
	return "", local
}

// readQueueVolumes finds, for an endpoint with a Local queue, the claims bound to volumes of one node only
// (facts.NodeLocalClaims): losing that node loses the events on them. Claims and volumes are read from the API
// server, not cached: only a Local queue's few claims are asked for. A failed read leaves the facts unread: it
// says nothing about the volumes. Forbidden is not logged: an installation limited to namespaces (Helm's
// watchNamespaces) has no ClusterRole to read PersistentVolumes with.
func (r *WebhookEndpointReconciler) readQueueVolumes(ctx context.Context, rec *endpointReconcile) error {
	if !rec.local || r.APIReader == nil {
		return nil
	}
	endpoint := rec.endpoint
	claims := &corev1.PersistentVolumeClaimList{}
	if err := r.APIReader.List(ctx, claims, client.InNamespace(endpoint.Namespace),
		client.MatchingLabels{LabelEndpoint: endpoint.Name, LabelInstance: endpoint.Name}); err != nil {
		logUnlessForbidden(ctx, err, "listing the queue's PersistentVolumeClaims")
		return nil
	}
	var nodeLocal []string
	for _, claim := range claims.Items {
		if claim.Spec.VolumeName == "" {
			continue
		}
		pv := &corev1.PersistentVolume{}
		if err := r.APIReader.Get(ctx, types.NamespacedName{Name: claim.Spec.VolumeName}, pv); err != nil {
			logUnlessForbidden(ctx, err, "reading the queue's PersistentVolume", "claim", claim.Name)
			return nil
		}
		if node, local := nodeLocalVolume(pv); local {
			where := "a hostPath or local volume"
			if node != "" {
				where = "on node " + node
			}
			nodeLocal = append(nodeLocal, fmt.Sprintf("%s (PersistentVolume %s, %s)", claim.Name, pv.Name, where))
		}
	}
	slices.Sort(nodeLocal)
	rec.facts.NodeLocalClaims, rec.facts.QueueVolumesRead = nodeLocal, true
	return nil
}

func logUnlessForbidden(ctx context.Context, err error, message string, keysAndValues ...any) {
	if !apierrors.IsForbidden(err) {
		log.FromContext(ctx).Error(err, message, keysAndValues...)
	}
}

// nodeLocalMessage is the QueueDurable message of a Local queue on volumes of one node.
func nodeLocalMessage(claims []string) string {
	return fmt.Sprintf("the Local queue's events are fsynced, but on volumes that live on one node only: %s; losing "+
		"that node loses the events on it. Set spec.delivery.storage.storageClassName to a class of network-attached "+
		"volumes, or use the Redis queue", strings.Join(claims, ", "))
}
