// Package route picks the route that answers a request: by intent, action, tag or event, then the CEL guard,
// in priority order (higher first; ties: older first, then name), as IntentRoute documents.
package route

import (
	"context"
	"sort"
	"time"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

// Rule is what a route matches. A request matches when it matches one of the listed values of any list that
// is set (or when no list is set), and the guard, if any, is true.
type Rule struct {
	Name     string
	Priority int32
	Created  time.Time
	Intents  []string
	Actions  []string
	Tags     []string
	Events   []string
	// Environments and Versions narrow the route to requests of these environments and payload versions;
	// empty, every one.
	Environments []string
	Versions     []string
	// Guard is the compiled `when` expression, or nil.
	Guard *expr.Program
}

// criterion keys the index: which request field, and its value.
type criterion struct {
	field int
	value string
}

const (
	byIntent = iota
	byAction
	byTag
	byEvent
)

type entry[T any] struct {
	rank  int // position in priority order: lower wins
	rule  *Rule
	value T
	// environments and versions are the rule's lists as sets, nil for a list that is not set, so that a
	// candidate is checked in constant time however long its lists are.
	environments, versions map[string]struct{}
}

// narrows reports whether the request is in the entry's environments and versions.
func (e *entry[T]) narrows(req *Request) bool {
	if e.environments != nil {
		if _, ok := e.environments[req.Environment]; !ok {
			return false
		}
	}
	if e.versions != nil {
		if _, ok := e.versions[req.Version]; !ok {
			return false
		}
	}
	return true
}

func setOf(values []string) map[string]struct{} {
	if len(values) == 0 {
		return nil
	}
	set := make(map[string]struct{}, len(values))
	for _, v := range values {
		set[v] = struct{}{}
	}
	return set
}

// Table finds the best route for a request without scanning every route: an index from each intent, action,
// tag and event to the routes that list it, each list in priority order, plus the routes that only have a
// guard. Each route carries a value of type T (its action). A Table is immutable and safe for concurrent use.
type Table[T any] struct {
	indexed   map[criterion][]*entry[T]
	guardOnly []*entry[T]
	size      int
}

// Candidate is a route with its value, as given to NewTable.
type Candidate[T any] struct {
	Rule  Rule
	Value T
}

// NewTable builds the table. The order of candidates does not matter.
func NewTable[T any](candidates []Candidate[T]) *Table[T] {
	entries := make([]*entry[T], len(candidates))
	for i := range candidates {
		rule := &candidates[i].Rule
		entries[i] = &entry[T]{rule: rule, value: candidates[i].Value,
			environments: setOf(rule.Environments), versions: setOf(rule.Versions)}
	}
	sort.SliceStable(entries, func(i, j int) bool { return before(entries[i].rule, entries[j].rule) })
	table := &Table[T]{indexed: map[criterion][]*entry[T]{}, size: len(entries)}
	for rank, e := range entries {
		e.rank = rank
		lists := [...][]string{byIntent: e.rule.Intents, byAction: e.rule.Actions, byTag: e.rule.Tags, byEvent: e.rule.Events}
		listed := false
		for field, values := range lists {
			for _, value := range values {
				key := criterion{field, value}
				table.indexed[key] = append(table.indexed[key], e)
				listed = true
			}
		}
		if !listed {
			table.guardOnly = append(table.guardOnly, e)
		}
	}
	return table
}

// before orders routes: higher priority first; ties: older first, then name.
func before(a, b *Rule) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return routespec.AnswersFirst(a.Created, a.Name, b.Created, b.Name)
}

// Len is the number of routes.
func (t *Table[T]) Len() int { return t.size }

// Request is what matching reads of a request.
type Request struct {
	Intent, Action, Tag, Event string
	// Environment and Version are what match.environments and match.versions select by.
	Environment, Version string
}

// Decision is what matching made of one route it considered: the route matched (its guard passed, or it has
// none), its guard was false, or its guard failed to evaluate (GuardErr).
type Decision struct {
	Route    string
	Matched  bool
	GuardErr error
}

// Match returns the best matching route and its value. A guard that fails to evaluate (for example a missing
// parameter) counts as false. observe, when not nil, is told of every route considered, in order, so that the
// decision can be explained in a log; routes whose criteria the request does not meet are not considered.
func (t *Table[T]) Match(ctx context.Context, req Request, vars *expr.Vars, observe func(Decision)) (*Rule, T, bool) {
	var lists [5][]*entry[T]
	n := 0
	for field, value := range [...]string{byIntent: req.Intent, byAction: req.Action, byTag: req.Tag, byEvent: req.Event} {
		if value == "" {
			continue
		}
		if list := t.indexed[criterion{field, value}]; len(list) > 0 {
			lists[n] = list
			n++
		}
	}
	if len(t.guardOnly) > 0 {
		lists[n] = t.guardOnly
		n++
	}
	// Walk the candidate lists together in rank order, so that the first route whose guard passes is the
	// best one; a route listed under several matching criteria is tried once.
	var positions [5]int
	lastRank := -1
	for {
		best := -1
		for i := 0; i < n; i++ {
			if positions[i] < len(lists[i]) && (best < 0 || lists[i][positions[i]].rank < lists[best][positions[best]].rank) {
				best = i
			}
		}
		if best < 0 {
			var zero T
			return nil, zero, false
		}
		candidate := lists[best][positions[best]]
		positions[best]++
		if candidate.rank == lastRank {
			continue
		}
		lastRank = candidate.rank
		// A route of another environment or version is not considered, as one of another intent is not.
		if !candidate.narrows(&req) {
			continue
		}
		if guardPasses(ctx, candidate.rule, vars, observe) {
			return candidate.rule, candidate.value, true
		}
	}
}

func guardPasses(ctx context.Context, rule *Rule, vars *expr.Vars, observe func(Decision)) bool {
	ok, err := true, error(nil)
	if rule.Guard != nil {
		ok, err = rule.Guard.EvalBool(ctx, vars)
		ok = ok && err == nil
	}
	if observe != nil {
		observe(Decision{Route: rule.Name, Matched: ok, GuardErr: err})
	}
	return ok
}
