package expr

import (
	"context"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// The conversation views a dialect fills are read by name, built once and only when an expression reads one.
func TestRequestViews(t *testing.T) {
	env := testEnv(t)
	builds := 0
	req := &model.Request{}
	req.SetViewsFrom(func() model.Views {
		builds++
		return model.Views{
			Contexts: map[string]any{"awaiting_pin": map[string]any{"name": "awaiting_pin", "lifespanCount": 2,
				"parameters": map[string]any{"tries": 1.0}}},
			PageInfo:        map[string]any{"formInfo": map[string]any{"parameterInfo": []any{map[string]any{"displayName": "promo_code", "justCollected": true}}}},
			SlotsToValidate: map[string]any{"promo_code": "SPRING10"},
		}
	})
	vars := &Vars{Request: req}
	if builds != 0 {
		t.Fatalf("the views were built before any expression read them")
	}
	for src, want := range map[string]any{
		`request.contexts["awaiting_pin"].parameters.tries`: 1.0,
		`request.contexts.awaiting_pin.lifespanCount`:       int64(2),
		`has(request.contexts.menu)`:                        false,
		`request.pageInfo.formInfo.parameterInfo.exists(p, p.displayName == "promo_code" && p.justCollected)`: true,
		`request.slotsToValidate.promo_code == "SPRING10"`:                                                    true,
		`has(request.slotsToValidate.email)`:                                                                  false,
	} {
		p, err := env.Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := p.Eval(context.Background(), vars)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got != want {
			t.Errorf("%s = %v (%T), want %v", src, got, got, want)
		}
	}
	if builds != 1 {
		t.Errorf("the views were built %d times, want once", builds)
	}
	if p, _ := env.Compile(`has(request.contexts)`); p != nil {
		if got, err := p.Eval(context.Background(), &Vars{Request: &model.Request{}}); err != nil || got != false {
			t.Errorf("has(request.contexts) on a request without views = %v, %v; want false", got, err)
		}
	}
}
