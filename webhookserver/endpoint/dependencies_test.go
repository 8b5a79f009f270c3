package endpoint

import (
	"slices"
	"strings"
	"testing"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
)

// TestDependencies: readiness waits only for what an endpoint cannot serve without.
func TestDependencies(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	const password = "s3cret-password"
	redis := &fulfillmentv1alpha1.RedisConnection{URL: "redis://:" + password + "@127.0.0.1:1/0"} // never dialled
	idempotency := func(store fulfillmentv1alpha1.IdempotencyStore, policy fulfillmentv1alpha1.IdempotencyFailurePolicy) *fulfillmentv1alpha1.Idempotency {
		return &fulfillmentv1alpha1.Idempotency{Enabled: true, Store: store, FailurePolicy: policy}
	}
	async := func(queue fulfillmentv1alpha1.QueueKind) *fulfillmentv1alpha1.Delivery {
		return &fulfillmentv1alpha1.Delivery{Mode: fulfillmentv1alpha1.DeliveryAsync, Queue: queue}
	}
	tests := map[string]struct {
		idempotency *fulfillmentv1alpha1.Idempotency
		delivery    *fulfillmentv1alpha1.Delivery
		want        []string
	}{
		"nothing":                          {want: nil},
		"memory store":                     {idempotency: idempotency(fulfillmentv1alpha1.IdempotencyStoreMemory, ""), want: nil},
		"redis store, policy unset (Fail)": {idempotency: idempotency(fulfillmentv1alpha1.IdempotencyStoreRedis, ""), want: []string{"redis idempotency store"}},
		"redis store, Fail":                {idempotency: idempotency(fulfillmentv1alpha1.IdempotencyStoreRedis, fulfillmentv1alpha1.IdempotencyFailurePolicyFail), want: []string{"redis idempotency store"}},
		"redis store, Ignore":              {idempotency: idempotency(fulfillmentv1alpha1.IdempotencyStoreRedis, fulfillmentv1alpha1.IdempotencyFailurePolicyIgnore), want: nil},
		"local queue":                      {delivery: async(fulfillmentv1alpha1.QueueLocal), want: nil},
		"redis queue":                      {delivery: async(fulfillmentv1alpha1.QueueRedis), want: []string{"redis queue"}},
		"redis store and queue": {idempotency: idempotency(fulfillmentv1alpha1.IdempotencyStoreRedis, ""), delivery: async(fulfillmentv1alpha1.QueueRedis),
			want: []string{"redis idempotency store", "redis queue"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			spec := configfile.Endpoint{Name: "bot", Namespace: "ns", Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
				Dialect: fulfillmentv1alpha1.DialectGeneric, Auth: fulfillmentv1alpha1.EndpointAuth{AllowUnauthenticated: true},
				Idempotency: tt.idempotency, Delivery: tt.delivery, Redis: redis}}
			e, err := Compile(spec, config.MapSecrets{}, Options{Env: env, QueueDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if e.queue != nil {
					_ = e.queue.Close()
				}
			})
			var kinds []string
			for _, dep := range e.Dependencies() {
				kinds = append(kinds, dep.Kind)
				if dep.Ping == nil || dep.Identity == "" {
					t.Errorf("%s: no ping or identity", dep.Kind)
				}
				if strings.Contains(dep.Identity, password) {
					t.Errorf("%s: the identity holds the Redis password: %s", dep.Kind, dep.Identity)
				}
			}
			if !slices.Equal(kinds, tt.want) {
				t.Errorf("dependencies %v, want %v", kinds, tt.want)
			}
		})
	}
}
