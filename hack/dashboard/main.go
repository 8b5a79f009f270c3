// Command dashboard writes the fulfillment Grafana dashboard (config/grafana/fulfillment-dashboard.json) from its
// definition in Go, so that the panels are reviewed as code and the JSON is never edited by hand. `make
// dashboards` runs it; a test fails while the committed file differs from what it writes.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("out", "config/grafana/fulfillment-dashboard.json", "file to write the dashboard's JSON to")
	flag.Parse()
	content, err := dashboardJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, content, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
