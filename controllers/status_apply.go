package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// staleReadRequeue is how soon a reconcile whose status write found the object changed since it was read runs
// again: the cache catches up with the write that made its copy stale within moments.
const staleReadRequeue = time.Second

// applyStatus writes status to obj's status subresource with server-side apply, as the operator's field
// owner, on condition that obj is still at the resourceVersion it was read at. A reconcile that read a stale
// copy (its own previous status write not yet in the cache) gets a conflict (isStaleRead) instead of writing
// the same transition, and recording its events, a second time.
func applyStatus(ctx context.Context, c client.Client, obj client.Object, status any) error {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return err
	}
	desired, err := runtime.DefaultUnstructuredConverter.ToUnstructured(status)
	if err != nil {
		return fmt.Errorf("converting the status: %w", err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": desired}}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(obj.GetNamespace())
	u.SetName(obj.GetName())
	u.SetResourceVersion(obj.GetResourceVersion())
	if err := c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying the status: %w", err)
	}
	written, _, _ := unstructured.NestedMap(u.Object, "status")
	return removeStrayStatus(ctx, c, obj, u.GetResourceVersion(), written, desired)
}

// removeStrayStatus removes what the status still holds after the apply (written) beyond what was applied
// (desired). An apply removes only the fields its manager owns alone: a condition or a field that an earlier
// operator version wrote with a merge patch, or a person by hand, outlives the apply that leaves it out. The
// status is the operator's, so a merge patch, conditioned on the resourceVersion the apply made, removes it.
// Once the status has no other writer, nothing is left over and nothing is sent.
func removeStrayStatus(ctx context.Context, c client.Client, obj client.Object, resourceVersion string, written, desired map[string]any) error {
	before, err := json.Marshal(written)
	if err != nil {
		return err
	}
	after, err := json.Marshal(desired)
	if err != nil {
		return err
	}
	stray, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return fmt.Errorf("comparing the status written with the one applied: %w", err)
	}
	if string(stray) == "{}" {
		return nil
	}
	patch := fmt.Appendf(nil, `{"metadata":{"resourceVersion":%q},"status":%s}`, resourceVersion, stray)
	if err := c.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("removing status fields the operator no longer reports: %w", err)
	}
	log.FromContext(ctx).Info("removed status fields another writer left", "patch", string(stray))
	return nil
}

// isStaleRead reports whether a status write failed because the object changed since it was read.
func isStaleRead(err error) bool {
	return apierrors.IsConflict(err)
}
