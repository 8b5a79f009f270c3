// Command webhookserver is the fulfillment server that the operator deploys and that users run on their laptop
// from the same YAML files.
package main

import (
	"fmt"
	"os"
)

const usage = `webhookserver: webhook fulfillment for chatbots and automation platforms

Usage:
  webhookserver version     print the version
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "version":
		fmt.Println(version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
