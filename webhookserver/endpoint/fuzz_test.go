package endpoint

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/delivery"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency"
)

// FuzzCompileAdmittedConfiguration compiles arbitrary configuration files that say admitted: true, which the
// server does not validate again (configfile.File.Admitted): whatever they hold, compiling never panics, and an
// endpoint that compiles authenticates its callers (or says allowUnauthenticated) and has a positive deadline
// and body limit. The seeds are the samples as the operator would render them.
func FuzzCompileAdmittedConfiguration(f *testing.F) {
	loaded, err := config.LoadManifests(filepath.Join(testenv.RepoRoot(), "config", "samples"))
	if err != nil {
		f.Fatal(err)
	}
	for _, endpoint := range loaded.File.Endpoints {
		rendered, err := configfile.Render(&configfile.File{Header: configfile.Header{Admitted: true}, Endpoints: []configfile.Endpoint{endpoint}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rendered)
	}
	f.Add([]byte("apiVersion: fulfillment.dev/v1alpha1\nkind: WebhookServerConfig\nadmitted: true\nendpoints:\n" +
		"- name: b\n  spec: {dialect: DialogflowES, auth: {hmac: {scheme: Slack}}, timeout: 1ms, fallback: {text: '${'}}\n" +
		"  routes:\n  - name: r\n    spec: {match: {intents: [a], when: 'x'}, call: {url: '', respond: {parameters: {a: '1 +'}}}}\n"))
	env, err := expr.NewEnv()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		file, err := config.ParseFile("config.yaml", content)
		if err != nil {
			return
		}
		var stores []idempotency.Store
		defer func() {
			for _, store := range stores {
				_ = store.Close()
			}
		}()
		opts := Options{
			Env: env,
			Stores: func(identity string, create func() (idempotency.Store, error)) (idempotency.Store, error) {
				if strings.Contains(identity, " redis ") {
					return nil, errors.New("no Redis in this test")
				}
				store, err := create()
				if err == nil {
					stores = append(stores, store)
				}
				return store, err
			},
			Queues: func(string, func() (delivery.Queue, error)) (delivery.Queue, error) {
				return nil, errors.New("no queues in this test")
			},
		}
		for _, spec := range file.Endpoints {
			endpoint, err := Compile(spec, loaded.Secrets, opts)
			switch {
			case err != nil:
				continue
			case endpoint == nil:
				t.Fatal("no endpoint and no error")
			case len(endpoint.Auth) == 0 && !spec.Spec.Auth.AllowUnauthenticated:
				t.Fatalf("an endpoint without authentication compiled: %+v", spec.Spec.Auth)
			case endpoint.Timeout <= 0 || endpoint.MaxBodyBytes <= 0:
				t.Fatalf("deadline %v, body limit %d", endpoint.Timeout, endpoint.MaxBodyBytes)
			}
		}
	})
}
