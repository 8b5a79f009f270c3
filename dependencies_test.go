package main

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// managerMustNotLink are packages the manager has no use for: the fulfillment server's runtime (it renders the
// server's configuration and checks routes and keys through webhookserver/{configfile,routespec,hmackey}), and
// what only that runtime or the standalone server's admission of manifests needs. Each one (or any package
// under it) would grow the manager's binary and its list of dependencies to keep up to date.
var managerMustNotLink = []string{
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/action",
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/auth",
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config",
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/delivery",
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/endpoint",
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/idempotency",
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/server",
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/tracing", // the server's spans; the manager renders OTEL_* only
	"github.com/go-jose/go-jose",                   // OIDC tokens, checked by the server only
	"github.com/sony/gobreaker",                    // circuit breakers of the server's upstream calls
	"k8s.io/apiextensions-apiserver/pkg/apiserver", // CRD validation, which the API server runs for the manager
}

// TestManagerDependencies keeps the manager from linking the server's runtime again by an import of
// convenience: the packages both share are small on purpose.
func TestManagerDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("go list -deps .: %v\n%s", err, exitErr.Stderr)
		}
		t.Fatalf("go list -deps .: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps . listed nothing")
	}
	for _, dep := range deps {
		for _, forbidden := range managerMustNotLink {
			if dep == forbidden || strings.HasPrefix(dep, forbidden+"/") {
				t.Errorf("the manager links %s, which it must not (%s); `go list -f '{{.ImportPath}}: {{.Imports}}' -deps .` "+
					"shows who imports it", dep, forbidden)
			}
		}
	}
}

// serverMustNotLink are packages that would make the fulfillment server's binary much larger for nothing:
// html/template's reflection keeps every exported method alive. gRPC's request tracing (golang.org/x/net/trace)
// imports it unless the image's grpcnotrace build tag (hack/image/build-binaries.sh) is set.
var serverMustNotLink = []string{"html/template", "golang.org/x/net/trace"}

// TestServerDependencies keeps html/template out of webhookserver as the image builds it.
func TestServerDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "grpcnotrace", "./webhookserver/cmd/webhookserver").Output()
	if err != nil {
		t.Fatalf("go list -deps ./webhookserver/cmd/webhookserver: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	for _, dep := range deps {
		if slices.Contains(serverMustNotLink, dep) {
			t.Errorf("webhookserver links %s, which it must not; `go list -tags grpcnotrace -f '{{.ImportPath}}: {{.Imports}}' "+
				"-deps ./webhookserver/cmd/webhookserver` shows who imports it", dep)
		}
	}
}
