package es

import (
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/dialogflow"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// Decode reads a WebhookRequest of API v2 or v2beta1, whose fields it keeps whole in the request's body.
// Parameters are the session context's parameters overlaid by the matched intent's (queryResult.parameters), the
// newer values; DeliveryID is responseId; Environment the session's (.../environments/E/..., else "draft");
// Version the API's (apiVersion). request.contexts (model.Views) is built from queryResult.outputContexts
// when a route reads it.
func (codec) Decode(in dialect.Input) (dialect.Decoded, error) {
	if err := dialect.CheckJSONContentType(in.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	body, whole, err := wire.DecodeEnvelope(in.Body, envelopeFields)
	if err != nil {
		return nil, err
	}
	var r wire.Reader
	queryResult := body.Object(&r, "queryResult")
	intent := queryResult.Object(&r, "queryResult.intent")
	d := &decoded{envelope: body}
	req := &d.request
	*req = model.Request{
		Dialect:      Name,
		DeliveryID:   body.String(&r, "responseId"),
		Session:      body.String(&r, "session"),
		Text:         queryResult.String(&r, "queryResult.queryText"),
		Action:       queryResult.String(&r, "queryResult.action"),
		LanguageCode: queryResult.String(&r, "queryResult.languageCode"),
		Intent:       intent.String(&r, "queryResult.intent.displayName"),
		Query:        wire.Query(&r, in.Query),
	}
	req.SetHeadersFrom(in.Header, wire.Headers)
	whole.SetOn(req)
	req.SetViewsFrom(func() model.Views { return model.Views{Contexts: contextViews(queryResult)} })
	stored := sessionParameters(&r, queryResult, true)
	current := queryResult.Map(&r, "queryResult.parameters")
	if err := r.Err(); err != nil {
		return nil, err
	}
	req.Parameters = mergeParameters(stored, current)
	req.Environment = dialogflow.Environment(req.Session)
	req.Version = apiVersion(body, queryResult)
	return d, nil
}

// apiVersion is the API version of the agent that sent the request, as far as the request shows it: V2Beta1 when
// it has a field only v2beta1 has (the knowledge connectors' answers), else V2. An agent with beta features on
// that uses no knowledge connector sends requests v2 could have sent too: spec.versionFrom says V2Beta1 then.
func apiVersion(body, queryResult wire.Object) string {
	if body.Has("alternativeQueryResults") || queryResult.Has("knowledgeAnswers") {
		return V2Beta1
	}
	return V2
}

// envelopeFields are the fields Decode and Encode read (sessionParameters in both).
var envelopeFields = wire.Fields{
	"responseId": nil,
	"session":    nil,
	// Only whether they are there is read (apiVersion): their text is kept for request.body.
	"alternativeQueryResults": {Later: true},
	"queryResult": {Fields: wire.Fields{
		"knowledgeAnswers": {Later: true},
		"queryText":        nil,
		"action":           nil,
		"languageCode":     nil,
		"intent":           {Fields: wire.Fields{"displayName": nil}},
		"parameters":       nil,
		// Only the session context's parameters are read on every request: the others are kept as text, built
		// when a route reads request.contexts (contextViews).
		"outputContexts": {Each: &wire.Field{Fields: wire.Fields{
			"name":          nil,
			"lifespanCount": nil,
			"parameters":    {Later: true},
		}}},
	}},
}

// sessionParameters finds the session context among queryResult.outputContexts and returns its parameters.
// Every context's name is checked, so a malformed request fails the same way wherever the context sits. Decode
// sets build, so that the parameters it reads are kept built in the request's envelope for Encode.
func sessionParameters(r *wire.Reader, queryResult wire.Object, build bool) map[string]any {
	contexts := queryResult.Array(r, contextsPath)
	var parameters map[string]any
	found := false
	for i := range contexts.Len() {
		context := contexts.Object(r, contextsPath, i)
		name := context.ElementString(r, contextsPath, i, "name")
		// Context names are <session>/contexts/<id>; matching the suffix also covers the longer session names
		// of environments and users (.../environments/e/users/u/sessions/s).
		if !found && strings.HasSuffix(name, sessionContextSuffix) {
			if build {
				context.Build("parameters")
			}
			parameters = context.ElementMap(r, contextsPath, i, "parameters")
			found = true
		}
	}
	return parameters
}

// mergeParameters overlays the intent's parameters on the stored ones, except an unfilled one: ES sends "" (or
// an empty list) for every parameter of the intent the user did not give, which must not hide a value the
// session already holds.
func mergeParameters(stored, current map[string]any) map[string]any {
	switch {
	case len(stored)+len(current) == 0:
		return nil
	case len(stored) == 0:
		// Nothing to overlay (no session context yet, as on a conversation's first turn): the intent's
		// parameters as they are, read-only like every decoded value, rather than a copy.
		return current
	}
	merged := make(map[string]any, len(stored)+len(current))
	for name, value := range stored {
		merged[name] = value
	}
	for name, value := range current {
		if _, kept := merged[name]; kept && isUnfilled(value) {
			continue
		}
		merged[name] = value
	}
	return merged
}

func isUnfilled(value any) bool {
	switch value := value.(type) {
	case string:
		return value == ""
	case []any:
		return len(value) == 0
	}
	return false
}
