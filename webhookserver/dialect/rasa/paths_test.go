package rasa_test

import (
	"net/http"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/rasa"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// An action server answers GET /health and /actions next to its webhook.
func TestExtraPaths(t *testing.T) {
	paths := rasa.New().(dialect.ExtraPather).ExtraPaths("/bots/rasa/webhook")
	if len(paths) != 2 || paths[0].Path != "/bots/rasa/health" || !paths[0].Health ||
		paths[1].Path != "/bots/rasa/actions" || paths[1].Health || paths[1].ListActions == nil {
		t.Fatalf("ExtraPaths = %+v", paths)
	}
	if got := string(paths[1].ListActions([]string{"b", "a", "b"})); got != `[{"name":"a"},{"name":"b"}]`+"\n" {
		t.Errorf("actions = %s", got)
	}
	if got := string(paths[1].ListActions(nil)); got != "[]\n" {
		t.Errorf("no actions = %s", got)
	}
}

// Rasa runs its own default after a 404 for an action no route handles.
func TestRefuseNoRoute(t *testing.T) {
	refusal := rasa.New().(dialect.NoRouteRefuser).RefuseNoRoute(&model.Request{Action: "action_x"})
	if refusal.Status != http.StatusNotFound || refusal.Code != "unknown_action" || refusal.Message != "No registered action found for name 'action_x'." {
		t.Errorf("RefuseNoRoute = %+v", refusal)
	}
}
