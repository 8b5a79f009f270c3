package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// appliedService is what the operator applies in these tests, with its AnnotationAppliedHash.
func appliedService(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	u, err := applyContent(&corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "bank", Namespace: "bots", Labels: map[string]string{"app": "bank"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "bank"},
			Ports:    []corev1.ServicePort{{Name: "webhook", Port: 80, TargetPort: intstr.FromString("webhook")}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := contentHash(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	u.SetAnnotations(map[string]string{AnnotationAppliedHash: hash})
	return u
}

// ourFields is the managed-fields set the API server records for appliedService: the port is keyed by port and
// the defaulted protocol.
const ourFields = `{"f:metadata":{"f:annotations":{".":{},"f:fulfillment.dev/applied-hash":{}},"f:labels":{".":{},"f:app":{}}},` +
	`"f:spec":{"f:ports":{".":{},"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:targetPort":{}}},"f:selector":{}}}`

func cachedService(t *testing.T, fields string, modify ...func(*corev1.Service)) *corev1.Service {
	t.Helper()
	applied := appliedService(t)
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "bank", Namespace: "bots", ResourceVersion: "7",
			Labels: map[string]string{"app": "bank"}, Annotations: map[string]string{AnnotationAppliedHash: applied.GetAnnotations()[AnnotationAppliedHash]},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: FieldOwner, Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1",
				FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}}},
		Spec: corev1.ServiceSpec{
			Selector:  map[string]string{"app": "bank"},
			Ports:     []corev1.ServicePort{{Name: "webhook", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("webhook")}},
			ClusterIP: "10.0.0.7", Type: corev1.ServiceTypeClusterIP,
		},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{}},
	}
	for _, m := range modify {
		m(s)
	}
	return s
}

func TestAppliedAlready(t *testing.T) {
	tests := map[string]struct {
		current *corev1.Service
		want    bool
	}{
		"as applied, with defaults and fields of the API server's": {
			current: cachedService(t, ourFields),
			want:    true,
		},
		"someone else's label and annotation do not matter": {
			current: cachedService(t, ourFields, func(s *corev1.Service) {
				s.Labels["team"] = "bots"
				s.Annotations["example.com/note"] = "x"
			}),
			want: true,
		},
		"another hash: the last apply was of other content": {
			current: cachedService(t, ourFields, func(s *corev1.Service) { s.Annotations[AnnotationAppliedHash] = "0000" }),
		},
		"no hash: never applied by this version": {
			current: cachedService(t, ourFields, func(s *corev1.Service) { delete(s.Annotations, AnnotationAppliedHash) }),
		},
		"a value edited by hand": {
			current: cachedService(t, ourFields, func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 }),
		},
		"a label of ours removed by hand": {
			current: cachedService(t, ourFields, func(s *corev1.Service) { delete(s.Labels, "app") }),
		},
		"a port added by hand": {
			current: cachedService(t, ourFields, func(s *corev1.Service) {
				s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "debug", Port: 6060})
			}),
		},
		"an atomic map edited by hand: same values of ours, but no longer ours": {
			current: cachedService(t, `{"f:metadata":{"f:annotations":{"f:fulfillment.dev/applied-hash":{}},"f:labels":{"f:app":{}}},`+
				`"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{"f:name":{},"f:port":{},"f:targetPort":{}}}}}`),
		},
		"a list whose set is empty is owned whole, like an atomic list": {
			current: cachedService(t, `{"f:metadata":{"f:annotations":{"f:fulfillment.dev/applied-hash":{}},"f:labels":{"f:app":{}}},`+
				`"f:spec":{"f:ports":{},"f:selector":{}}}`),
			want: true,
		},
		"a port keyed by another port": {
			current: cachedService(t, `{"f:metadata":{"f:annotations":{"f:fulfillment.dev/applied-hash":{}},"f:labels":{"f:app":{}}},`+
				`"f:spec":{"f:ports":{"k:{\"port\":81,\"protocol\":\"TCP\"}":{"f:name":{},"f:port":{},"f:targetPort":{}}},"f:selector":{}}}`),
		},
		"no managed fields (a cache that strips them)": {
			current: cachedService(t, ourFields, func(s *corev1.Service) { s.ManagedFields = nil }),
		},
		"only another manager's entry": {
			current: cachedService(t, ourFields, func(s *corev1.Service) { s.ManagedFields[0].Manager = "kubectl" }),
		},
		"unreadable managed fields": {
			current: cachedService(t, "not json"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := appliedAlready(appliedService(t), tc.current)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("appliedAlready = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestContainsValues(t *testing.T) {
	tests := map[string]struct {
		have, want any
		ok         bool
	}{
		"equal scalars":                {have: int64(1), want: int64(1), ok: true},
		"different scalars":            {have: int64(1), want: int64(2)},
		"a scalar of another type":     {have: "1", want: int64(1)},
		"more keys in have":            {have: map[string]any{"a": "x", "b": "y"}, want: map[string]any{"a": "x"}, ok: true},
		"a key missing":                {have: map[string]any{"b": "y"}, want: map[string]any{"a": "x"}},
		"null and empty ask nothing":   {have: map[string]any{}, want: map[string]any{"a": nil, "b": map[string]any{}, "c": []any{}}, ok: true},
		"lists item by item":           {have: []any{map[string]any{"n": "a", "d": true}}, want: []any{map[string]any{"n": "a"}}, ok: true},
		"lists of another length":      {have: []any{"a", "b"}, want: []any{"a"}},
		"lists in another order":       {have: []any{"b", "a"}, want: []any{"a", "b"}},
		"a map where a list is wanted": {have: map[string]any{}, want: []any{"a"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := containsValues(tc.have, tc.want); got != tc.ok {
				t.Errorf("containsValues = %v, want %v", got, tc.ok)
			}
		})
	}
}

func TestOwnsFieldsSetItems(t *testing.T) {
	owned := &fieldpath.Set{}
	if err := owned.FromJSON(strings.NewReader(`{"f:finalizers":{"v:\"a\"":{},"v:\"b\"":{}}}`)); err != nil {
		t.Fatal(err)
	}
	if !ownsFields(owned, map[string]any{"finalizers": []any{"a", "b"}}) {
		t.Error("set items not found")
	}
	if ownsFields(owned, map[string]any{"finalizers": []any{"a", "c"}}) {
		t.Error("an item not in the set is owned")
	}
}

func TestEmptyLike(t *testing.T) {
	typed, err := emptyLike(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if cm, ok := typed.(*corev1.ConfigMap); !ok || cm.Name != "" {
		t.Errorf("emptyLike(ConfigMap) = %#v", typed)
	}
	route := DesiredHTTPRoute(endpointFixture(withHTTPRouteFixture))
	empty, err := emptyLike(route)
	if err != nil {
		t.Fatal(err)
	}
	if u := empty.(*unstructured.Unstructured); u.GroupVersionKind() != route.GroupVersionKind() || u.GetName() != "" {
		t.Errorf("emptyLike(HTTPRoute) = %#v", u)
	}
}

func withHTTPRouteFixture(e *fulfillmentv1alpha1.WebhookEndpoint) {
	e.Spec.HTTPRoute = &fulfillmentv1alpha1.HTTPRouteSettings{ParentRefs: []fulfillmentv1alpha1.ParentReference{{Name: "public"}}}
}
