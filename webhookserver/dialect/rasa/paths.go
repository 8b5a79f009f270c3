package rasa

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// ExtraPaths are what a Rasa action server answers beside its webhook (<base>/webhook): GET <base>/health, open
// as in rasa-sdk, and GET <base>/actions, the actions it runs.
func (codec) ExtraPaths(webhookPath string) []dialect.ExtraPath {
	base := webhookPath[:strings.LastIndex(webhookPath, "/")]
	return []dialect.ExtraPath{
		{Path: base + "/health", Health: true},
		{Path: base + "/actions", ListActions: listActions},
	}
}

// listActions is the body of GET /actions as rasa-sdk answers it: [{"name": ...}, ...], sorted, each name once.
func listActions(actions []string) []byte {
	names := slices.Clone(actions)
	slices.Sort(names)
	names = slices.Compact(names)
	list := make([]map[string]string, 0, len(names))
	for _, name := range names {
		list = append(list, map[string]string{"name": name})
	}
	// Maps of strings always marshal. The newline is json.Encoder's, which wrote this body before.
	body, _ := json.Marshal(list)
	return append(body, '\n')
}

// RefuseNoRoute is Rasa's own answer to an action the server does not know: 404, after which Rasa runs its
// default action.
func (codec) RefuseNoRoute(req *model.Request) dialect.Refusal {
	return dialect.Refusal{Status: http.StatusNotFound, Code: "unknown_action",
		Message: "No registered action found for name '" + req.Action + "'."}
}
