package routespec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// conflictIdentity is what makes two routes of one endpoint indistinguishable to the server.
type conflictIdentity struct {
	Priority int32    `json:"priority"`
	Intents  []string `json:"intents"`
	Actions  []string `json:"actions"`
	Tags     []string `json:"tags"`
	Events   []string `json:"events"`
	When     string   `json:"when"`
	// Environments and versions split requests as the lists above do: routes that differ only in them answer
	// different requests (test and production, two payload versions side by side).
	Environments []string `json:"environments,omitempty"`
	Versions     []string `json:"versions,omitempty"`
}

// ConflictKey is equal for two routes of one endpoint exactly when they conflict: same priority, the same sets
// of intents, actions, tags, events, environments and versions, and the same when guard (as written,
// surrounding space aside). Of such routes only the first in the server's order (older first, then name) can
// ever answer: the operator refuses the others (Conflict), and the standalone server warns about them.
func ConflictKey(spec *fulfillmentv1alpha1.IntentRouteSpec) string {
	set := func(values []string) []string {
		if len(values) == 0 {
			return []string{}
		}
		return slices.Compact(slices.Sorted(slices.Values(values)))
	}
	m := spec.Match
	key, err := json.Marshal(conflictIdentity{
		Priority: spec.Priority,
		Intents:  set(m.Intents),
		Actions:  set(m.Actions),
		Tags:     set(m.Tags),
		Events:   set(m.Events),
		When:     strings.TrimSpace(m.When),

		Environments: set(m.Environments),
		Versions:     set(m.Versions),
	})
	if err != nil { // strings and an integer always marshal
		panic(fmt.Sprintf("marshal route conflict key: %v", err))
	}
	return string(key)
}

// AnswersFirst is the server's order of two routes of equal priority: the older first, then by name. Of routes
// with one ConflictKey, the first in this order is the one that answers.
func AnswersFirst(aCreated time.Time, aName string, bCreated time.Time, bName string) bool {
	if !aCreated.Equal(bCreated) {
		return aCreated.Before(bCreated)
	}
	return aName < bName
}
