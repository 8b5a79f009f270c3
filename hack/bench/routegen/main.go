// Command routegen writes IntentRoute manifests for hack/bench/compare.sh: n routes on one endpoint, each on an
// intent of its own, with a when guard and a text template whose CEL expressions appear in no other route
// (hack/bench/internal/distinctroute), so that the server compiles n guards and n template expressions and its
// program cache shares none of them. The benchmark's request matches none of these intents: they cost memory
// and a place in the intent index, not evaluation.
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

	"github.com/fulfillment-dev/fulfillment-operator/hack/bench/internal/distinctroute"
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

// writeRoutes writes n IntentRoute documents on endpoint as YAML.
func writeRoutes(w io.Writer, n int, endpoint string) error {
	for i := range n {
		r := distinctroute.At(i)
		_, err := fmt.Fprintf(w, "---\napiVersion: fulfillment.dev/v1alpha1\nkind: IntentRoute\nmetadata:\n  name: %s\n"+
			"spec:\n  endpointRef:\n    name: %s\n  match:\n    intents: [%q]\n    when: %q\n  respond:\n    text: %q\n",
			r.Name, endpoint, r.Intent, r.Guard, r.Text)
		if err != nil {
			return err
		}
	}
	return nil
}
