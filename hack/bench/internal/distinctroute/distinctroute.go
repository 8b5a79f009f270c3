// Package distinctroute makes the benchmarks' generated IntentRoutes: route i has an intent, a when guard and a
// text template whose CEL expressions appear in no other route, so that a server compiles each one and its
// program cache shares none of them, as a bot with that many hand-written routes would load. hack/bench/routegen
// and hack/bench/gatewaygen write them.
package distinctroute

import "fmt"

// guardShapes are the when guards the routes take in turn; %d makes each one's source unique, which is what the
// program cache keys on. They read what real guards read: parameters, their presence, contexts, the language.
var guardShapes = []string{
	`has(params.topic) && params.topic == "topic-%d"`,
	`has(params.amount) && double(params.amount) > %d.0`,
	`has(request.contexts.menu) && request.contexts.menu.lifespanCount < %d + 3`,
	`request.languageCode.startsWith("en") && size(params) > %d %% 4`,
}

// templateShapes are the text templates, likewise: the expression inside ${...} is unique to the route.
var templateShapes = []string{
	`Answer %d: ${params.topic + " (%d)"}.`,
	`Your limit for item %d is ${string(%d + size(params))} EUR.`,
	`Step %d of the menu: ${request.intent + " #%d"}.`,
	`Reply %d in ${request.languageCode + "-%d"}.`,
}

// Shapes is how many shapes the routes take in turn: routes i and i+Shapes differ only by their numbers.
var Shapes = len(guardShapes)

// Route is what one generated IntentRoute says.
type Route struct {
	Name, Intent, Guard, Text string
}

// At is the i-th route: its intent, guard and template, each unique to it.
func At(i int) Route {
	shape := i % len(guardShapes)
	return Route{
		Name:   fmt.Sprintf("bench-route-%04d", i),
		Intent: fmt.Sprintf("Bench Intent %04d", i),
		Guard:  fmt.Sprintf(guardShapes[shape], i),
		Text:   fmt.Sprintf(templateShapes[shape], i, i),
	}
}
