package es

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect/internal/wire"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

const (
	contextsPath = "queryResult.outputContexts"
	// contextsSegment separates a context's session from its id in the context's name.
	contextsSegment = "/contexts/"
	// systemContextPrefix starts the ids of the contexts Dialogflow keeps for itself (__system_counters__).
	systemContextPrefix = "__"
)

// outputContexts are the contexts an answer writes, in this order: the session context (the answer's
// Parameters), the route's contexts in the route's order, then the contexts it ends (lifespan 0): its
// clearContexts in order and, for clearAllContexts, every other context of the request by id. Dialogflow
// lower-cases context ids, so ids are compared lower-cased; a context the answer sets is not also ended.
func outputContexts(req *model.Request, body wire.Object, answer *model.Answer) ([]outputContext, error) {
	if len(answer.Parameters) == 0 && len(answer.Contexts) == 0 && len(answer.ClearContexts) == 0 &&
		!answer.ClearAllContexts {
		return nil, nil
	}
	var contexts []outputContext
	written := map[string]int{} // id -> index in contexts
	if len(answer.Parameters) > 0 {
		session, err := sessionContext(req, body, answer.Parameters)
		if err != nil {
			return nil, err
		}
		contexts = append(contexts, session)
		written[SessionContextID] = 0
	}
	if req.Session == "" {
		return nil, &dialect.EncodeError{
			Message: "cannot set or end contexts: the request named no session to put them in"}
	}
	for _, c := range answer.Contexts {
		id := strings.ToLower(c.Name)
		if id == SessionContextID {
			return nil, &dialect.EncodeError{Message: fmt.Sprintf("the answer sets the context %q, the "+
				"endpoint's session context, which would replace the session parameters: set them with "+
				"respond.parameters, or give the context another name", c.Name)}
		}
		context := outputContext{Name: contextName(req, id), LifespanCount: c.LifespanCount, Parameters: c.Parameters}
		if i, seen := written[id]; seen { // the same id in other letter cases: the last one wins
			contexts[i] = context
			continue
		}
		written[id] = len(contexts)
		contexts = append(contexts, context)
	}
	ended := func(id string) {
		if _, seen := written[id]; !seen {
			written[id] = len(contexts)
			contexts = append(contexts, outputContext{Name: contextName(req, id)})
		}
	}
	for _, id := range answer.ClearContexts {
		ended(strings.ToLower(id))
	}
	if answer.ClearAllContexts {
		for _, id := range clearableContextIDs(body) {
			ended(id)
		}
	}
	return contexts, nil
}

func contextName(req *model.Request, id string) string {
	return req.Session + contextsSegment + id
}

// clearableContextIDs are the ids of the request's contexts that clearAllContexts ends, lower-cased and sorted:
// all but the session context, the system contexts and names that hold no valid context id.
func clearableContextIDs(body wire.Object) []string {
	var r wire.Reader
	contexts := body.Object(&r, "queryResult").Array(&r, contextsPath)
	var ids []string
	for i := range contexts.Len() {
		id, ok := contextID(contexts.Object(&r, contextsPath, i).ElementString(&r, contextsPath, i, "name"))
		id = strings.ToLower(id)
		if ok && isContextID(id) && id != SessionContextID && !strings.HasPrefix(id, systemContextPrefix) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// contextID is the id of the context named name (<session>/contexts/<id>).
func contextID(name string) (string, bool) {
	i := strings.LastIndex(name, contextsSegment)
	if i < 0 || i+len(contextsSegment) == len(name) {
		return "", false
	}
	return name[i+len(contextsSegment):], true
}

// isContextID says whether id has only the characters of a context id (the API's pattern for a route's
// context names), so that an odd name in the request does not become a name Dialogflow refuses in the answer.
func isContextID(id string) bool {
	for _, c := range []byte(id) {
		if !isContextIDByte(c) {
			return false
		}
	}
	return id != ""
}

func isContextIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '%'
}

// contextViews are the request's contexts as request.contexts shows them: by id as sent, each with its name
// (the id), lifespanCount (0 when absent) and parameters (empty when absent). A context whose name or fields
// are malformed is left out. Only the contexts are read, from the envelope Decode kept.
func contextViews(queryResult wire.Object) map[string]any {
	var r wire.Reader
	contexts := queryResult.Array(&r, contextsPath)
	if contexts.Len() == 0 {
		return nil
	}
	views := make(map[string]any, contexts.Len())
	for i := range contexts.Len() {
		var r wire.Reader // a malformed context leaves out itself only
		context := contexts.Object(&r, contextsPath, i)
		id, ok := contextID(context.ElementString(&r, contextsPath, i, "name"))
		lifespan := context.Number(&r, contextsPath+".lifespanCount")
		parameters := context.ElementMap(&r, contextsPath, i, "parameters")
		if !ok || r.Err() != nil {
			continue
		}
		if parameters == nil {
			parameters = map[string]any{}
		}
		views[id] = map[string]any{"name": id, "lifespanCount": lifespanOf(lifespan), "parameters": parameters}
	}
	return views
}

// lifespanOf is a lifespanCount as the int CEL compares with, within an int32 as the API's field is.
func lifespanOf(n float64) int64 {
	return int64(max(0, min(n, math.MaxInt32)))
}
