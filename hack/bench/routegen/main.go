// Command routegen writes IntentRoute manifests for hack/bench/compare.sh: n routes on one endpoint, each on an
// intent of its own, with a when guard and a text template whose CEL expressions appear in no other route, so
// that the server compiles n guards and n template expressions and its program cache shares none of them, as a
// bot with that many hand-written routes would load. The benchmark's request matches none of these intents:
// they cost memory and a place in the intent index, not evaluation.
//
//	go run ./hack/bench/routegen -n 1000 -endpoint bank-bot >routes.yaml
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
)

func main() {
	n := flag.Int("n", 1000, "how many routes")
	endpoint := flag.String("endpoint", "bank-bot", "the WebhookEndpoint the routes name in endpointRef")
	flag.Parse()
	out := bufio.NewWriter(os.Stdout)
	if err := writeRoutes(out, *n, *endpoint); err != nil {
		log.Fatal(err)
	}
	if err := out.Flush(); err != nil {
		log.Fatal(err)
	}
}

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

// route is what one generated IntentRoute says.
type route struct {
	name, intent, guard, text string
}

// routeAt is the i-th route: its intent, guard and template, each unique to it.
func routeAt(i int) route {
	shape := i % len(guardShapes)
	return route{
		name:   fmt.Sprintf("bench-route-%04d", i),
		intent: fmt.Sprintf("Bench Intent %04d", i),
		guard:  fmt.Sprintf(guardShapes[shape], i),
		text:   fmt.Sprintf(templateShapes[shape], i, i),
	}
}

// writeRoutes writes n IntentRoute documents on endpoint as YAML.
func writeRoutes(w io.Writer, n int, endpoint string) error {
	for i := range n {
		r := routeAt(i)
		_, err := fmt.Fprintf(w, "---\napiVersion: fulfillment.dev/v1alpha1\nkind: IntentRoute\nmetadata:\n  name: %s\n"+
			"spec:\n  endpointRef:\n    name: %s\n  match:\n    intents: [%q]\n    when: %q\n  respond:\n    text: %q\n",
			r.name, endpoint, r.intent, r.guard, r.text)
		if err != nil {
			return err
		}
	}
	return nil
}
