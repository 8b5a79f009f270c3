// Package testenv starts a real API server (envtest) with the project's CRDs for the test suites of every
// package, from the kube-apiserver and etcd binaries that hack/build-envtest.sh builds into bin/k8s.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// RepoRoot is the root of the repository, found from this file's location so that tests run from any package.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Assets is the folder of the control plane binaries: KUBEBUILDER_ASSETS when set, else bin/k8s.
func Assets() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(), "bin", "k8s")
}

// ExternalCRD is the path of a third-party CRD (Gateway API, cert-manager) that hack/external-crds.sh copied into
// bin/crds, so that a suite installs the real schema without downloading a module when it starts.
func ExternalCRD(file string) string {
	return filepath.Join(RepoRoot(), "bin", "crds", file)
}

// New returns an envtest environment that installs the project's CRDs and any extra CRD paths. It uses
// KUBEBUILDER_ASSETS when set and bin/k8s otherwise.
func New(extraCRDPaths ...string) *envtest.Environment {
	return &envtest.Environment{
		CRDDirectoryPaths:     append([]string{filepath.Join(RepoRoot(), "config", "crd", "bases")}, extraCRDPaths...),
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: filepath.Join(RepoRoot(), "bin", "k8s"),
	}
}

// Start starts env after checking that the binaries and the CRDs exist, so that a missing build says how to fix
// it instead of failing deep inside envtest.
func Start(env *envtest.Environment) (*rest.Config, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = env.BinaryAssetsDirectory
	}
	for _, binary := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, binary)); err != nil {
			return nil, fmt.Errorf("envtest binary %s not found in %s: run `make envtest` (or hack/build-envtest.sh) "+
				"to build it, or set KUBEBUILDER_ASSETS", binary, dir)
		}
	}
	for _, path := range env.CRDDirectoryPaths {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("CRD path %s not found (`make envtest` copies the third-party CRDs into bin/crds)", path)
		}
	}
	return env.Start()
}
