// Command etcd is upstream etcd's server (etcdmain), built from the Go module
// proxy because no download site for envtest binaries is reachable.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
