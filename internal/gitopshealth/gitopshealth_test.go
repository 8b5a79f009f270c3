package gitopshealth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// TestGatewayHealthIsTheEndpoints: a WebhookGateway's status has a WebhookEndpoint's conditions with their
// meaning, so its health script is the endpoint's (Argo CD needs one per kind); only the first comment line,
// which names the kind, may differ.
func TestGatewayHealthIsTheEndpoints(t *testing.T) {
	read := func(kind string) []string {
		content, err := os.ReadFile(filepath.Join(CustomizationDir(testenv.RepoRoot(), kind), "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(content), "\n")[1:]
	}
	endpoint, gateway := read("WebhookEndpoint"), read("WebhookGateway")
	if strings.Join(endpoint, "\n") != strings.Join(gateway, "\n") {
		t.Fatal("config/argocd/.../WebhookGateway/health.lua differs from WebhookEndpoint's beyond its first line: change both")
	}
}
