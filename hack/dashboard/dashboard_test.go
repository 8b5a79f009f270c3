package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// TestCommittedDashboardIsGenerated keeps config/grafana/fulfillment-dashboard.json what this generator writes,
// so that the dashboard is changed in Go and reviewed there.
func TestCommittedDashboardIsGenerated(t *testing.T) {
	generated, err := dashboardJSON()
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "grafana", "fulfillment-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, generated) {
		t.Error("config/grafana/fulfillment-dashboard.json is not what hack/dashboard generates: run make dashboards and commit it")
	}
}
