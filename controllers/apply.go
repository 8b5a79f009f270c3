package controllers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// apply writes obj with server-side apply as the operator's field manager, taking over fields a person changed
// by hand: what the operator renders is the desired state. Unchanged objects cost the API server a no-op.
func apply(ctx context.Context, c client.Client, obj client.Object) error {
	u, err := applyContent(obj)
	if err != nil {
		return err
	}
	return applyUnstructured(ctx, c, u)
}

// applyIfChanged applies obj like apply, unless the copy in the cache (read through cached) already is what
// the apply would make; it reports whether it applied. When obj names a controller and the cached copy is not
// controlled by it (nor adoptable, ownerOf), nothing is applied and the error is a conflictError. Secrets must
// not come here: their values are not cached, and reading one through the cache would start caching them all.
//
// Skipping is safe only when applying would change nothing, and three checks together show that from the
// cache alone (no request, and the same after an operator restart):
//
//  1. The object's AnnotationAppliedHash is the hash of what we would apply now, so the last apply was of this
//     very content. This catches a field we no longer set: our apply would remove it, and a subset check
//     alone cannot tell our old field from someone else's.
//  2. Every field we set has the same value in the cached object (extra fields, defaults and status are
//     ignored). This catches a hand-edited value (an image) and a deleted object (not in the cache).
//  3. Our field manager's Apply entry in managedFields (read as structured-merge-diff's fieldpath.Set, the
//     API server's own representation) still owns every field we set. A person's edit of one of our fields
//     moves its ownership to them, even when the value ends up looking the same to check 2: a key added to a
//     map the API treats as atomic (nodeSelector), a field added inside an atomic list item. Only our own
//     apply takes it back.
//
// Anything unexpected (no managedFields because a cache transform strips them, a list shape the walk does
// not know) fails a check and falls back to the apply, which is always correct: a wrong check costs a
// request, never a missed repair.
func applyIfChanged(ctx context.Context, c client.Client, cached client.Reader, obj client.Object) (bool, error) {
	u, err := applyContent(obj)
	if err != nil {
		return false, err
	}
	hash, err := contentHash(u.Object)
	if err != nil {
		return false, err
	}
	annotations := u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationAppliedHash] = hash
	u.SetAnnotations(annotations)

	if cached != nil {
		current, err := emptyLike(obj)
		if err != nil {
			return false, err
		}
		err = cached.Get(ctx, client.ObjectKeyFromObject(obj), current)
		if err == nil {
			// An object of someone else's is never written over (ownership.go): the same check as the one
			// before the first apply, here too so that no apply path can skip it.
			if controller := metav1.GetControllerOfNoCopy(obj); controller != nil {
				if owner := ownerOf(*controller, current); owner != "" {
					kind := u.GetKind()
					return false, &conflictError{kind: controller.Kind, conflicts: []objectConflict{{Kind: kind, Name: obj.GetName(), Owner: owner}}}
				}
			}
			upToDate, err := appliedAlready(u, current)
			if err != nil {
				return false, err
			}
			if upToDate {
				return false, nil
			}
		}
		// Not found, or a kind whose API is not installed: the apply says what is wrong.
	}
	return true, applyUnstructured(ctx, c, u)
}

// applyContent is what apply sends for obj: its content without status, which is not the operator's to apply
// on the main resource, and without the empty creationTimestamp, which is noise.
func applyContent(obj client.Object) (*unstructured.Unstructured, error) {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %T: %w", obj, err)
	}
	u := &unstructured.Unstructured{Object: content}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

func applyUnstructured(ctx context.Context, c client.Client, u *unstructured.Unstructured) error {
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// contentHash is the hex SHA-256 of the JSON of content (encoding/json sorts map keys, so equal content gives
// equal hashes).
func contentHash(content map[string]any) (string, error) {
	data, err := json.Marshal(content)
	if err != nil {
		return "", fmt.Errorf("hashing the applied content: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16]), nil
}

// emptyLike is a new empty object of obj's type, for reading the cached copy (an Unstructured keeps obj's
// kind).
func emptyLike(obj client.Object) (client.Object, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		empty := &unstructured.Unstructured{}
		empty.SetGroupVersionKind(u.GroupVersionKind())
		return empty, nil
	}
	t := reflect.TypeOf(obj)
	if t.Kind() != reflect.Pointer {
		return nil, fmt.Errorf("%T is not a pointer", obj)
	}
	empty, ok := reflect.New(t.Elem()).Interface().(client.Object)
	if !ok {
		return nil, fmt.Errorf("%T is not a client.Object", obj)
	}
	return empty, nil
}

// appliedAlready runs the checks of applyIfChanged: desired (with its AnnotationAppliedHash) against current,
// the cached object.
func appliedAlready(desired *unstructured.Unstructured, current client.Object) (bool, error) {
	if current.GetAnnotations()[AnnotationAppliedHash] != desired.GetAnnotations()[AnnotationAppliedHash] {
		return false, nil
	}
	owned, ok := ourAppliedFields(current, desired.GetAPIVersion())
	if !ok {
		return false, nil
	}

	// Identity is not compared: a typed object read from the cache has no apiVersion and kind, and managed
	// fields never list them nor the name and namespace.
	want := runtime.DeepCopyJSON(desired.Object)
	delete(want, "apiVersion")
	delete(want, "kind")
	unstructured.RemoveNestedField(want, "metadata", "name")
	unstructured.RemoveNestedField(want, "metadata", "namespace")

	var have map[string]any
	if u, ok := current.(*unstructured.Unstructured); ok {
		have = u.Object
	} else {
		var err error
		if have, err = runtime.DefaultUnstructuredConverter.ToUnstructured(current); err != nil {
			return false, fmt.Errorf("converting %T: %w", current, err)
		}
	}
	return containsValues(have, want) && ownsFields(owned, want), nil
}

// ourAppliedFields is the set of fields the operator's last apply of obj at apiVersion owns, decoded from its
// managedFields entry; ok is false without one, or when it cannot be read.
func ourAppliedFields(obj client.Object, apiVersion string) (owned *fieldpath.Set, ok bool) {
	var ours *metav1.ManagedFieldsEntry
	for i, entry := range obj.GetManagedFields() {
		if entry.Manager == FieldOwner && entry.Operation == metav1.ManagedFieldsOperationApply &&
			entry.Subresource == "" && entry.APIVersion == apiVersion && entry.FieldsV1 != nil {
			ours = &obj.GetManagedFields()[i]
		}
	}
	if ours == nil {
		return nil, false
	}
	owned = &fieldpath.Set{}
	if err := owned.FromJSON(bytes.NewReader(ours.FieldsV1.GetRawBytes())); err != nil {
		return nil, false // unreadable managedFields: apply, which is always right
	}
	return owned, true
}

// containsValues reports whether have has every value of want: maps may have more keys, lists must have the
// same length and each item contain want's item. A null or empty value in want asks for nothing.
func containsValues(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return len(w) == 0 && isEmpty(have)
		}
		for k, wv := range w {
			if isEmpty(wv) {
				continue
			}
			hv, ok := h[k]
			if !ok || !containsValues(hv, wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return len(w) == 0 && isEmpty(have)
		}
		if len(h) != len(w) {
			return false
		}
		for i := range w {
			if !containsValues(h[i], w[i]) {
				return false
			}
		}
		return true
	case nil:
		return true
	}
	return reflect.DeepEqual(have, want)
}

// ownsFields reports whether the managed-fields set owned holds every field of want. A field that is a member
// of the set without children is owned whole (a scalar, or an atomic map, struct or list), whatever it holds.
func ownsFields(owned *fieldpath.Set, want map[string]any) bool {
	for name, wv := range want {
		if isEmpty(wv) {
			continue
		}
		if !ownsValue(owned, fieldpath.FieldNameElement(name), wv) {
			return false
		}
	}
	return true
}

// ownsValue reports whether the element of owned holds want: as a whole (a member without children), or
// field by field and item by item.
func ownsValue(owned *fieldpath.Set, element fieldpath.PathElement, want any) bool {
	children, ok := owned.Children.Get(element)
	if !ok {
		return owned.Members.Has(element)
	}
	switch w := want.(type) {
	case map[string]any:
		return ownsFields(children, w)
	case []any:
		for _, item := range w {
			itemElement, ok := ownedItem(children, item)
			if !ok || !ownsValue(children, itemElement, item) {
				return false
			}
		}
	}
	return true
}

// ownedItem finds the element of a list item in its list's managed-fields set: a key whose fields the item has
// with the same values (a key field the item leaves out, like a port's defaulted protocol, is not compared), or
// the value itself for an item of a set of scalars.
func ownedItem(owned *fieldpath.Set, item any) (fieldpath.PathElement, bool) {
	fields, isMap := item.(map[string]any)
	if !isMap {
		element := fieldpath.ValueElement(value.NewValueInterface(item))
		return element, owned.Members.Has(element) || hasChild(owned, element)
	}
	for element := range owned.Members.All() {
		if element.Key != nil && itemHasKey(fields, *element.Key) {
			return element, true
		}
	}
	for element := range owned.Children.All() {
		if element.Key != nil && itemHasKey(fields, *element.Key) {
			return element, true
		}
	}
	return fieldpath.PathElement{}, false
}

func hasChild(owned *fieldpath.Set, element fieldpath.PathElement) bool {
	_, ok := owned.Children.Get(element)
	return ok
}

func itemHasKey(item map[string]any, key value.FieldList) bool {
	matched := false
	for _, field := range key {
		v, ok := item[field.Name]
		if !ok {
			continue
		}
		if !value.Equals(value.NewValueInterface(v), field.Value) {
			return false
		}
		matched = true
	}
	return matched
}

// isEmpty is a value that sets nothing: null, or an empty map or list.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// deleteUnwanted deletes an object the operator no longer wants (an HPA after autoscaling was turned off), only
// when it exists and the owner controls it: the read comes from cached, so a steady state costs no request.
func deleteUnwanted(ctx context.Context, c client.Client, cached client.Reader, obj client.Object, owner metav1.Object) error {
	if err := cached.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(obj, owner) {
		return nil
	}
	if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}
