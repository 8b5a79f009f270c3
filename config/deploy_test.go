// Package config_test checks what the kustomize folders render, and that the release installer (make
// build-installer) installs a working operator.
package config_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

// TestDeployRunsIMG: make deploy IMG=... runs that image for the operator and for the fulfillment pods it
// creates (WEBHOOKSERVER_IMAGE), and no other image.
func TestDeployRunsIMG(t *testing.T) {
	const image = "example.com/x:1"
	cmd := exec.Command("make", "-s", "--no-print-directory", "deploy-yaml", "IMG="+image, "KUBECTL="+kubectl(t))
	cmd.Dir = testenv.RepoRoot()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make deploy-yaml: %v\n%s", err, stderr.String())
	}
	if strings.Contains(string(out), "ghcr.io/fulfillment-dev/fulfillment-operator") {
		t.Error("the rendered manifests still name the default image")
	}
	manager := managerContainer(t, out)
	if manager.Image != image {
		t.Errorf("manager image %q, want %q", manager.Image, image)
	}
	var webhookserverImage string
	for _, env := range manager.Env {
		if env.Name == "WEBHOOKSERVER_IMAGE" {
			webhookserverImage = env.Value
		}
	}
	if webhookserverImage != image {
		t.Errorf("WEBHOOKSERVER_IMAGE %q, want %q", webhookserverImage, image)
	}
}

// managerContainer is the manager container of the operator's Deployment in the rendered manifests.
func managerContainer(t *testing.T, manifests []byte) corev1.Container {
	t.Helper()
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	for {
		var deployment appsv1.Deployment
		err := decoder.Decode(&deployment)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if deployment.Kind != "Deployment" || deployment.Name != "fulfillment-operator-controller-manager" {
			continue
		}
		for _, container := range deployment.Spec.Template.Spec.Containers {
			if container.Name == "manager" {
				return container
			}
		}
	}
	t.Fatal("no manager container in a Deployment fulfillment-operator-controller-manager in the rendered manifests")
	return corev1.Container{}
}

// kubectl is the kubectl on PATH, else the one make envtest builds.
func kubectl(t *testing.T) string {
	if path, err := exec.LookPath("kubectl"); err == nil {
		return path
	}
	for _, dir := range []string{os.Getenv("KUBEBUILDER_ASSETS"), filepath.Join(testenv.RepoRoot(), "bin", "k8s")} {
		if path := filepath.Join(dir, "kubectl"); dir != "" && isFile(path) {
			return path
		}
	}
	t.Fatal("kubectl not found on PATH nor in bin/k8s: run `make envtest`")
	return ""
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}
