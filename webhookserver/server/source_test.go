package server

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The fingerprint of a FileSource covers the file and the Secrets folder it names (relative to itself), and
// follows a change of that folder.
func TestFileSourceFingerprintFollowsTheSecretsFolder(t *testing.T) {
	root := t.TempDir()
	write := func(path, content string) { writeFile(t, path, content) }
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

// A file that names secretCopiesDir (a WebhookGateway's) reads a Secret's key from its copy there, a Secret that
// has no copy from its own folder, and its fingerprint follows a change of a copy.
func TestFileSourceReadsSecretCopies(t *testing.T) {
	root := t.TempDir()
	write := func(path, content string) { writeFile(t, path, content) }
	configFile := filepath.Join(root, "config", "config.yaml")
	write(configFile, "apiVersion: fulfillment.dev/v1alpha1\nkind: WebhookServerConfig\nsecretsDir: ../secrets\n"+
		"secretCopiesDir: ../gateway-secrets\nadmitted: true\nendpoints:\n- name: bot\n  namespace: bots\n"+
		"  spec: {dialect: Generic, auth: {basic: {secretRef: {name: bot-basic}}}}\n")
	write(filepath.Join(root, "gateway-secrets", "bot-basic_password"), "copied")
	write(filepath.Join(root, "secrets", "bot-basic", "password"), "stale mount")
	write(filepath.Join(root, "secrets", "big", "password"), "mounted")
	source := &FileSource{Path: configFile}
	loaded, err := source.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for name, want := range map[string]string{"bot-basic": "copied", "big": "mounted"} {
		got, err := loaded.Secrets.Secret("default", name, "password")
		if err != nil || string(got) != want {
			t.Errorf("Secret %s password = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := loaded.Secrets.Secret("default", "missing", "password"); err == nil {
		t.Errorf("a Secret neither copied nor mounted was read")
	}
	before, err := source.Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(root, "gateway-secrets", "bot-basic_password"), "rotated")
	after, err := source.Fingerprint()
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Fatalf("a copied Secret key changed, the fingerprint did not")
	}
}

// writeFile writes content at path, making its folders.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A fingerprint reads a file again only when its size or modification time changed, or when it changed within
// racyWindow; and knows a folder the kubelet writes by its ..data link, without reading its files.
func TestFingerprintReadsOnlyWhatMayHaveChanged(t *testing.T) {
	root := t.TempDir()
	settled := time.Now().Add(-time.Minute)
	file := filepath.Join(root, "config.yaml")
	writeFile(t, file, "one")
	if err := os.Chtimes(file, settled, settled); err != nil {
		t.Fatal(err)
	}
	var fp fingerprinter
	first, err := fp.fingerprint(root)
	if err != nil {
		t.Fatal(err)
	}
	// The same size and modification time, long settled: taken as unchanged without reading it.
	writeFile(t, file, "two")
	if err := os.Chtimes(file, settled, settled); err != nil {
		t.Fatal(err)
	}
	if again, _ := fp.fingerprint(root); again != first {
		t.Fatalf("a settled file with its size and time unchanged was read again")
	}
	// A recent change is read even with the same size (the racy window).
	writeFile(t, file, "six")
	recent, _ := fp.fingerprint(root)
	if recent == first {
		t.Fatalf("a file changed just now, with its size unchanged, kept the fingerprint")
	}

	// A kubelet-written folder: files are links into the folder ..data points at; an update swaps ..data.
	secret := filepath.Join(root, "secret")
	for _, version := range []string{"..v1", "..v2"} {
		writeFile(t, filepath.Join(secret, version, "password"), "p"+version)
	}
	link := func(target string) {
		t.Helper()
		_ = os.Remove(filepath.Join(secret, atomicWriterLink))
		if err := os.Symlink(target, filepath.Join(secret, atomicWriterLink)); err != nil {
			t.Fatal(err)
		}
	}
	link("..v1")
	if err := os.Symlink(filepath.Join(atomicWriterLink, "password"), filepath.Join(secret, "password")); err != nil {
		t.Fatal(err)
	}
	before, _ := fp.fingerprint(root)
	link("..v2")
	if after, _ := fp.fingerprint(root); after == before {
		t.Fatalf("the kubelet swapped ..data, the fingerprint did not change")
	}
	if _, read := fp.known[filepath.Join(secret, "password")]; read {
		t.Errorf("the files of a kubelet-written folder were read, not only its ..data link")
	}
}
