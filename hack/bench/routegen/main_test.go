package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/hack/bench/internal/distinctroute"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

// TestRoutesAreDistinctPrograms loads the generated routes with the bank-bot sample as the server does and
// compiles them with one expression environment, as one server process does: every guard and every template
// expression must be a program of its own, so that the program cache shares nothing between them.
func TestRoutesAreDistinctPrograms(t *testing.T) {
	const n = 200
	file := filepath.Join(t.TempDir(), "routes.yaml")
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeRoutes(out, n, "bank-bot"); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	manifests, err := config.LoadManifests("../../../config/samples/dialogflow-es-bank", file)
	if err != nil {
		t.Fatalf("loading the sample with the generated routes: %v", err)
	}
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}

	guards := map[*expr.Program]bool{}
	templates := map[*expr.Program]bool{}
	intents := map[string]bool{}
	for _, endpoint := range manifests.File.Endpoints {
		for _, r := range endpoint.Routes {
			if !strings.HasPrefix(r.Name, "bench-route-") {
				continue
			}
			if endpoint.Name != "bank-bot" {
				t.Fatalf("route %s is on endpoint %s, want bank-bot", r.Name, endpoint.Name)
			}
			compiled, err := routespec.Compile(env, &r.Spec, nil, nil)
			if err != nil {
				t.Fatalf("route %s: %v", r.Name, err)
			}
			guards[compiled.When] = true
			templates[templateProgram(t, env, compiled.Respond.Text.Source())] = true
			for _, intent := range r.Spec.Match.Intents {
				intents[intent] = true
			}
		}
	}
	if len(intents) != n || len(guards) != n || len(templates) != n {
		t.Errorf("%d routes compiled to %d intents, %d guard programs and %d template programs; want %d of each",
			n, len(intents), len(guards), len(templates), n)
	}
}

// templateProgram compiles the one ${...} expression of a generated template, which the program cache returns
// when the template's own compilation holds it.
func templateProgram(t *testing.T, env *expr.Env, template string) *expr.Program {
	t.Helper()
	start, end := strings.Index(template, "${"), strings.LastIndex(template, "}")
	if start < 0 || end < start || strings.Count(template, "${") != 1 {
		t.Fatalf("template %q: want exactly one ${...} expression", template)
	}
	p, err := env.Compile(template[start+2 : end])
	if err != nil {
		t.Fatalf("template %q: %v", template, err)
	}
	return p
}

// TestRoutesOfTheSameShapeDiffer guards the cache's key: routes that take the same shape in turn must still
// differ in their sources.
func TestRoutesOfTheSameShapeDiffer(t *testing.T) {
	a, b := distinctroute.At(1), distinctroute.At(1+distinctroute.Shapes)
	if a.Guard == b.Guard || a.Text == b.Text || a.Intent == b.Intent {
		t.Errorf("routes 1 and %d share a guard, template or intent: %+v, %+v", 1+distinctroute.Shapes, a, b)
	}
}
