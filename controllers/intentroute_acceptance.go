package controllers

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/expr"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

// maxRouteProblems is how many problems a condition message lists before it says how many more there are.
const maxRouteProblems = 5

// RouteFacts is what the reconciler read about a route's surroundings; AcceptRoute reads nothing else.
type RouteFacts struct {
	// Endpoint is the route's WebhookEndpoint, nil when it does not exist.
	Endpoint *fulfillmentv1alpha1.WebhookEndpoint
	// MissingSecrets are the Secret keys the route reads (call headers, auth, tls) that do not exist, as
	// "name/key" (or "name" when the whole Secret is missing).
	MissingSecrets []string
	// UnlabelledSecrets are the Secrets the route reads that exist without LabelSecretReference
	// while the operator requires it, by name.
	UnlabelledSecrets []string
	// InvalidSecretKeys are the keys of existing (and permitted) Secrets the route reads that are missing or
	// hold no valid value (a header value, a CA bundle, a certificate and key...).
	InvalidSecretKeys []SecretKeyProblem
	// ConfigMapProblems are the ConfigMap keys the route reads (a CA bundle) that are missing or hold no valid
	// value.
	ConfigMapProblems []ConfigMapKeyProblem
	// Siblings are the other routes of the same endpoint, accepted or not.
	Siblings []fulfillmentv1alpha1.IntentRoute
}

// RouteSecretFacts is what the reconciler read about the Secrets of one route's call headers (RouteFacts'
// MissingSecrets, UnlabelledSecrets and InvalidSecretKeys).
type RouteSecretFacts struct {
	Missing, Unlabelled []string
	Invalid             []SecretKeyProblem
	// ConfigMaps are the problems of the ConfigMaps the route reads.
	ConfigMaps []ConfigMapKeyProblem
}

// Acceptance is the decision about one route: the Accepted and ResolvedRefs conditions.
type Acceptance struct {
	Accepted        bool
	Reason, Message string

	ResolvedRefs            bool
	RefsReason, RefsMessage string
}

// AcceptRoute decides whether the endpoint serves route. The checks run in order and the first failure gives
// the reason:
//
//  1. EndpointNotFound: the WebhookEndpoint does not exist (or is being deleted).
//  2. InvalidExpression: match.when, a template or an expression does not compile exactly as the server
//     compiles it (routespec.Compile, which webhookserver/endpoint.Compile runs), so that an accepted route
//     never makes the server refuse the whole configuration.
//  3. InvalidTarget: the route matches on something the endpoint's dialect never sends, answers with something
//     it cannot send (routespec.DialectProblems), or a Secret its call headers read is missing.
//  4. Conflict: an older sibling has the same match and priority, so this route could never answer.
//
// A missing Secret sets ResolvedRefs=False (SecretNotFound; SecretKeyMissing or SecretKeyInvalid when the
// Secret exists without the key or with a value that is no header value) and also rejects the route with
// InvalidTarget: the server reads header Secrets when it compiles a route, and one failed route refuses the whole new
// configuration, so a route with a missing Secret must stay out of it. InvalidTarget is the reason of
// DESIGN's list that fits: the call cannot reach its target as configured. Messages name Secrets and keys,
// never values (AcceptRoute never sees a value).
//
// env must be the server's environment (expr.NewEnv).
func AcceptRoute(env *expr.Env, route *fulfillmentv1alpha1.IntentRoute, facts RouteFacts) Acceptance {
	a := Acceptance{}
	a.ResolvedRefs, a.RefsReason, a.RefsMessage = resolveRouteRefs(route, facts)
	a.Accepted, a.Reason, a.Message = acceptRoute(env, route, facts)
	return a
}

func acceptRoute(env *expr.Env, route *fulfillmentv1alpha1.IntentRoute, facts RouteFacts) (bool, string, string) {
	endpoint := facts.Endpoint
	if endpoint == nil {
		return false, fulfillmentv1alpha1.ReasonEndpointNotFound, fmt.Sprintf(
			"WebhookEndpoint %s does not exist in namespace %s", route.Spec.EndpointRef.Name, route.Namespace)
	}
	if endpoint.DeletionTimestamp != nil {
		return false, fulfillmentv1alpha1.ReasonEndpointNotFound, fmt.Sprintf(
			"WebhookEndpoint %s in namespace %s is being deleted", endpoint.Name, route.Namespace)
	}
	if problems := routeCompileProblems(env, &route.Spec); len(problems) > 0 {
		return false, fulfillmentv1alpha1.ReasonInvalidExpression, problemList(problems)
	}
	problems := routeTargetProblems(&route.Spec, endpoint.Spec.Dialect)
	for _, p := range routespec.DialectProblems(&route.Spec, endpoint.Spec.Dialect) {
		problems = append(problems, p.Error())
	}
	problems = append(problems, missingSecretProblems(route, facts.MissingSecrets)...)
	problems = append(problems, unlabelledSecretProblems(route, facts.UnlabelledSecrets)...)
	for _, p := range facts.InvalidSecretKeys {
		problems = append(problems, p.Message())
	}
	for _, p := range facts.ConfigMapProblems {
		problems = append(problems, p.Message())
	}
	if len(problems) > 0 {
		return false, fulfillmentv1alpha1.ReasonInvalidTarget, problemList(problems)
	}
	if winner := conflictWinner(env, route, endpoint, facts.Siblings); winner != nil {
		return false, fulfillmentv1alpha1.ReasonConflict, conflictMessage(route, winner)
	}
	return true, fulfillmentv1alpha1.ReasonAccepted, acceptedMessage(env, route, endpoint.Name)
}

// acceptedMessage says which endpoint serves the route and warns, without refusing it, about a fallback that
// may not render (a value the request may lack): the server answers the next fallback then, and the person
// who wrote it should know before an end user meets it; and about credentials the route sends unencrypted.
func acceptedMessage(env *expr.Env, route *fulfillmentv1alpha1.IntentRoute, endpointName string) string {
	message := fmt.Sprintf("served by WebhookEndpoint %s", endpointName)
	warnings := append(routespec.FallbackWarnings(env, route.Spec.Fallback, route.Spec.Match.When, "spec.fallback"),
		routespec.OutboundWarnings(&route.Spec)...)
	if len(warnings) == 0 {
		return message
	}
	return message + "; warning: " + strings.Join(warnings, "; ")
}

// resolveRouteRefs is the ResolvedRefs condition: the Secret keys of the call headers.
func resolveRouteRefs(route *fulfillmentv1alpha1.IntentRoute, facts RouteFacts) (bool, string, string) {
	if problems := missingSecretProblems(route, facts.MissingSecrets); len(problems) > 0 {
		return false, fulfillmentv1alpha1.ReasonSecretNotFound, problemList(problems)
	}
	if problems := unlabelledSecretProblems(route, facts.UnlabelledSecrets); len(problems) > 0 {
		return false, fulfillmentv1alpha1.ReasonRefNotPermitted, problemList(problems)
	}
	if invalid := facts.InvalidSecretKeys; len(invalid) > 0 {
		return false, secretKeyProblemsReason(invalid), secretKeyProblemsMessage(invalid)
	}
	if problems := facts.ConfigMapProblems; len(problems) > 0 {
		reason, messages := fulfillmentv1alpha1.ReasonConfigMapKeyInvalid, make([]string, 0, len(problems))
		for _, p := range problems {
			if p.Reason == fulfillmentv1alpha1.ReasonConfigMapNotFound {
				reason = p.Reason
			}
			messages = append(messages, p.Message())
		}
		return false, reason, problemList(messages)
	}
	refs := RouteSecretKeys(route)
	switch len(refs) {
	case 0:
		return true, fulfillmentv1alpha1.ReasonRefsResolved, "the route reads no Secret"
	case 1:
		return true, fulfillmentv1alpha1.ReasonRefsResolved, "the referenced Secret key exists"
	default:
		return true, fulfillmentv1alpha1.ReasonRefsResolved, fmt.Sprintf("all %d referenced Secret keys exist", len(refs))
	}
}

// RouteSecretKeys are the Secret keys a route reads (RouteSecretRequirements), as "name/key", sorted and without
// duplicates: what the reconciler checks to fill RouteFacts.MissingSecrets.
func RouteSecretKeys(route *fulfillmentv1alpha1.IntentRoute) []string {
	var keys []string
	for _, req := range RouteSecretRequirements(route) {
		keys = append(keys, req.Secret+"/"+req.Key)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// missingSecretProblems explains each missing Secret key with the fields that read it.
func missingSecretProblems(route *fulfillmentv1alpha1.IntentRoute, missing []string) []string {
	missing = slices.Compact(slices.Sorted(slices.Values(missing)))
	problems := make([]string, 0, len(missing))
	for _, ref := range missing {
		name, key, hasKey := strings.Cut(ref, "/")
		var fields []string
		for _, req := range RouteSecretRequirements(route) {
			if req.Secret == name && (!hasKey || req.Key == key) && !slices.Contains(fields, req.Field) {
				fields = append(fields, req.Field)
			}
		}
		problem := fmt.Sprintf("Secret %s not found", name)
		if hasKey {
			problem = fmt.Sprintf("Secret %s with key %s not found", name, key)
		}
		if len(fields) > 0 {
			problem = strings.Join(fields, ", ") + ": " + problem + ": create it or fix the reference"
		}
		problems = append(problems, problem)
	}
	return problems
}

// unlabelledSecretProblems explains each Secret the route may not read, with the fields that read it.
func unlabelledSecretProblems(route *fulfillmentv1alpha1.IntentRoute, unlabelled []string) []string {
	problems := make([]string, 0, len(unlabelled))
	for _, name := range slices.Compact(slices.Sorted(slices.Values(unlabelled))) {
		var fields []string
		for _, req := range RouteSecretRequirements(route) {
			if req.Secret == name && !slices.Contains(fields, req.Field) {
				fields = append(fields, req.Field)
			}
		}
		problems = append(problems, strings.Join(fields, ", ")+": "+unlabelledSecretProblem(name))
	}
	return problems
}

// unlabelledSecretProblem says why a Secret may not be referenced and how to allow it.
func unlabelledSecretProblem(name string) string {
	return fmt.Sprintf("Secret %s is not labelled %s: \"true\", which the operator requires of referenced Secrets "+
		"(--require-secret-reference-label): label it if it is meant for fulfillment (kubectl label secret %s %s=true)",
		name, LabelSecretReference, name, LabelSecretReference)
}

// routeCompileProblems compiles the route as the server does: webhookserver/endpoint compiles every route
// with routespec.Compile too. Header Secrets are not read: the operator never reads their values, and whether
// they exist is RouteFacts.MissingSecrets' business. Each problem names its field.
func routeCompileProblems(env *expr.Env, spec *fulfillmentv1alpha1.IntentRouteSpec) []string {
	_, err := routespec.Compile(env, spec, nil, nil)
	if err == nil {
		return nil
	}
	var problems []string
	// errors.Join writes one error per line; each of the server's errors is one line with its field.
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			problems = append(problems, line)
		}
	}
	return problems
}

// routeTargetProblems finds match lists the endpoint's dialect never fills (routespec.MatchProblems, which the
// standalone server refuses too). call and forward are fine with every dialect and delivery mode, and a forward
// Service is in the route's namespace by construction.
func routeTargetProblems(spec *fulfillmentv1alpha1.IntentRouteSpec, dialect fulfillmentv1alpha1.Dialect) []string {
	var problems []string
	for _, p := range routespec.MatchProblems(spec, dialect) {
		problems = append(problems, p.Error())
	}
	return problems
}

// RouteConflictKey is equal for two routes exactly when they conflict: same endpoint and the same
// routespec.ConflictKey. Of such routes only the first in the server's order (older first, then name) can ever
// answer. The key can serve as a field index to find the routes a change may un-conflict.
func RouteConflictKey(route *fulfillmentv1alpha1.IntentRoute) string {
	// An endpoint name is a DNS label: it holds no "/".
	return route.Spec.EndpointRef.Name + "/" + routespec.ConflictKey(&route.Spec)
}

// routeBefore is the server's route order among equals (routespec.AnswersFirst).
func routeBefore(a, b *fulfillmentv1alpha1.IntentRoute) bool {
	return routespec.AnswersFirst(a.CreationTimestamp.Time, a.Name, b.CreationTimestamp.Time, b.Name)
}

// conflictWinner returns the sibling that takes route's place: the first, in the server's order, of the
// siblings with route's conflict key that come before route and would be accepted on their own (they compile
// and match what the dialect sends). A broken older route therefore never shadows a working newer one. Whether
// a sibling's header Secrets exist is not known here, so a sibling missing one still wins.
func conflictWinner(env *expr.Env, route *fulfillmentv1alpha1.IntentRoute, endpoint *fulfillmentv1alpha1.WebhookEndpoint,
	siblings []fulfillmentv1alpha1.IntentRoute) *fulfillmentv1alpha1.IntentRoute {
	key := RouteConflictKey(route)
	var winner *fulfillmentv1alpha1.IntentRoute
	for i := range siblings {
		sibling := &siblings[i]
		if sibling.Name == route.Name || sibling.Namespace != route.Namespace || sibling.DeletionTimestamp != nil ||
			!routeBefore(sibling, route) || (winner != nil && !routeBefore(sibling, winner)) ||
			RouteConflictKey(sibling) != key {
			continue
		}
		if len(routeCompileProblems(env, &sibling.Spec)) > 0 ||
			len(routeTargetProblems(&sibling.Spec, endpoint.Spec.Dialect)) > 0 {
			continue
		}
		winner = sibling
	}
	return winner
}

func conflictMessage(route, winner *fulfillmentv1alpha1.IntentRoute) string {
	why := "was created earlier"
	if winner.CreationTimestamp.Equal(&route.CreationTimestamp) {
		why = "was created at the same time and its name sorts first"
	}
	return fmt.Sprintf("IntentRoute %s has the same match and priority and %s, so this route could never answer; "+
		"change the match or priority of one of them, or delete one", winner.Name, why)
}

// problemList writes problems on one line, at most maxRouteProblems of them.
func problemList(problems []string) string {
	if len(problems) <= maxRouteProblems {
		return strings.Join(problems, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(problems[:maxRouteProblems], "; "), len(problems)-maxRouteProblems)
}

// RouteSet is the decision about every route of an endpoint (AcceptedRoutes).
type RouteSet struct {
	// Accepted are the routes the configuration holds, in the server's order: priority (higher first), then
	// older, then name.
	Accepted []fulfillmentv1alpha1.IntentRoute
	Counts   fulfillmentv1alpha1.RouteCounts
	// TooLarge are the routes AcceptRoute accepts that do not fit in the configuration, by name, with the
	// message of their Accepted=False condition (reason ConfigurationTooLarge).
	TooLarge map[string]string
}

// AcceptedRoutes decides every route of endpoint at once, as the endpoint's reconciler needs it to render
// <endpoint>-config and the route's reconciler to know whether the route fits in it: it calls AcceptRoute
// itself instead of reading the routes' status, which may lag behind a route's spec and would briefly drop a
// route that is only being edited. secrets gives a route's Secret facts (nil means every Secret may be read and
// holds what the server needs). Routes of other endpoints and routes being deleted are left out, of the result
// and of the counts.
//
// Then the accepted routes must fit in a ConfigMap (FitConfiguration): taken in the server's order, a route
// whose rendering does not fit after the earlier ones is left out with ConfigurationTooLarge, and the later ones
// still get their chance. The decision depends only on the routes, so both reconcilers agree.
func AcceptedRoutes(env *expr.Env, endpoint *fulfillmentv1alpha1.WebhookEndpoint, routes []fulfillmentv1alpha1.IntentRoute,
	secrets func(*fulfillmentv1alpha1.IntentRoute) RouteSecretFacts) RouteSet {
	var mine []fulfillmentv1alpha1.IntentRoute
	for i := range routes {
		r := &routes[i]
		if r.Spec.EndpointRef.Name == endpoint.Name && r.Namespace == endpoint.Namespace && r.DeletionTimestamp == nil {
			mine = append(mine, *r)
		}
	}
	var accepted []fulfillmentv1alpha1.IntentRoute
	var counts fulfillmentv1alpha1.RouteCounts
	for i := range mine {
		r := &mine[i]
		facts := RouteFacts{Endpoint: endpoint, Siblings: mine}
		if secrets != nil {
			s := secrets(r)
			facts.MissingSecrets, facts.UnlabelledSecrets, facts.InvalidSecretKeys = s.Missing, s.Unlabelled, s.Invalid
			facts.ConfigMapProblems = s.ConfigMaps
		}
		if AcceptRoute(env, r, facts).Accepted {
			accepted = append(accepted, *r)
		} else {
			counts.Rejected++
		}
	}
	sort.SliceStable(accepted, func(i, j int) bool {
		if accepted[i].Spec.Priority != accepted[j].Spec.Priority {
			return accepted[i].Spec.Priority > accepted[j].Spec.Priority
		}
		return routeBefore(&accepted[i], &accepted[j])
	})
	fit, tooLarge := FitConfiguration(endpoint, accepted, MaxConfigBytes)
	counts.Accepted = int32(len(fit))
	counts.Rejected += int32(len(tooLarge))
	return RouteSet{Accepted: fit, Counts: counts, TooLarge: tooLarge}
}

// MaxConfigBytes is the most a rendered configuration may hold: the API server refuses a ConfigMap whose data
// values add up to more than 1 MiB (k8s.io/kubernetes/pkg/apis/core/validation.ValidateConfigMap, MaxSecretSize),
// and <endpoint>-config holds only the configuration.
const MaxConfigBytes = 1 << 20

// FitConfiguration keeps, of routes (in the server's order), those whose configuration rendered by RenderConfig
// fits in limit bytes: each route in turn is kept when it fits after the routes kept before it, and left out
// otherwise, so the routes that come first in the server's order are served and one oversized route never
// takes the others with it. Sizes are measured by rendering: a route adds what the rendering grows by with it
// (YAML list items are rendered independently), and the result is rendered again to make sure. tooLarge maps
// each route left out to its message. A configuration that does not render is returned as it is: the
// reconciler reports that error itself.
func FitConfiguration(endpoint *fulfillmentv1alpha1.WebhookEndpoint, routes []fulfillmentv1alpha1.IntentRoute,
	limit int) (fit []fulfillmentv1alpha1.IntentRoute, tooLarge map[string]string) {
	all, _, err := RenderConfig(endpoint, routes, nil)
	if err != nil || len(all) <= limit {
		return routes, nil
	}
	base, _, err := RenderConfig(endpoint, nil, nil)
	if err != nil {
		return routes, nil
	}
	size := len(base)
	tooLarge = map[string]string{}
	leaveOut := func(route *fulfillmentv1alpha1.IntentRoute, adds int) {
		tooLarge[route.Name] = configTooLargeMessage(endpoint, size, adds, limit)
	}
	// rendersWithin renders fit and route, for a route near the limit (the list's header is counted once).
	rendersWithin := func(route fulfillmentv1alpha1.IntentRoute) (int, bool) {
		data, _, err := RenderConfig(endpoint, append(slices.Clone(fit), route), nil)
		return len(data), err == nil && len(data) <= limit
	}
	const nearLimit = 256
	for _, route := range routes {
		alone, _, err := RenderConfig(endpoint, []fulfillmentv1alpha1.IntentRoute{route}, nil)
		if err != nil {
			continue // leaves the route out of fit; RenderConfig of the whole set already worked, so never here
		}
		adds := len(alone) - len(base)
		switch {
		case size+adds <= limit:
			fit, size = append(fit, route), size+adds
		case size+adds-limit <= nearLimit:
			if total, ok := rendersWithin(route); ok {
				fit, size = append(fit, route), total
				continue
			}
			leaveOut(&route, adds)
		default:
			leaveOut(&route, adds)
		}
	}
	for len(fit) > 0 {
		data, _, err := RenderConfig(endpoint, fit, nil)
		if err == nil && len(data) <= limit {
			break
		}
		// Never reached while list items render independently; should that change, the last kept route goes.
		last := fit[len(fit)-1]
		fit = fit[:len(fit)-1]
		without, _, _ := RenderConfig(endpoint, fit, nil)
		size = len(without)
		leaveOut(&last, len(data)-len(without))
	}
	return fit, tooLarge
}

// configTooLargeMessage says how large the configuration would be with the route and what to do.
func configTooLargeMessage(endpoint *fulfillmentv1alpha1.WebhookEndpoint, before, adds, limit int) string {
	what := fmt.Sprintf("the configuration of WebhookEndpoint %s would be %s with this route", endpoint.Name, byteSize(before+adds))
	if adds > 0 {
		what += fmt.Sprintf(" (the route adds %s to the %s the endpoint and the routes before it in the server's order take)",
			byteSize(adds), byteSize(before))
	}
	return fmt.Sprintf("%s, more than the %s a ConfigMap holds, so the route is left out and the others are served: make it "+
		"smaller (its payloads, messages and templates), or serve it from another WebhookEndpoint; a higher priority "+
		"would serve it instead of later routes", what, byteSize(limit))
}

// byteSize writes a size in bytes and in KiB or MiB.
func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d bytes (%.2f MiB)", n, float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d bytes (%.1f KiB)", n, float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
