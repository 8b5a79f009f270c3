package server

import (
	"os"
	"path/filepath"
	"testing"
)

// The fingerprint of a FileSource covers the file and the Secrets folder it names (relative to itself), and
// follows a change of that folder.
func TestFileSourceFingerprintFollowsTheSecretsFolder(t *testing.T) {
	root := t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	configFile := filepath.Join(root, "config", "config.yaml")
	write(configFile, "apiVersion: fulfillment.dev/v1alpha1\nkind: Config\nsecretsDir: ../secrets\nendpoints: []\n")
	write(filepath.Join(root, "secrets", "basic", "password"), "one")
	write(filepath.Join(root, "other", "basic", "password"), "one")
	source := &FileSource{Path: configFile}
	fingerprint := func() string {
		t.Helper()
		value, err := source.Fingerprint()
		if err != nil {
			t.Fatal(err)
		}
		return value
	}
	first := fingerprint()
	if again := fingerprint(); again != first {
		t.Fatalf("nothing changed, yet the fingerprint did")
	}
	write(filepath.Join(root, "secrets", "basic", "password"), "two")
	second := fingerprint()
	if second == first {
		t.Fatalf("a Secret file in ../secrets changed, the fingerprint did not")
	}
	write(filepath.Join(root, "other", "basic", "password"), "two")
	if fingerprint() != second {
		t.Fatalf("a file outside the Secrets folder changed the fingerprint")
	}
	write(configFile, "apiVersion: fulfillment.dev/v1alpha1\nkind: Config\nsecretsDir: ../other\nendpoints: []\n")
	third := fingerprint()
	write(filepath.Join(root, "other", "basic", "password"), "three")
	if fingerprint() == third {
		t.Fatalf("after secretsDir moved to ../other, a change there did not change the fingerprint")
	}
}
