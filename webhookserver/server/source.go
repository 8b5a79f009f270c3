package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// Source is where the configuration comes from: manifests or a rendered file with mounted Secrets.
type Source interface {
	// Load reads and admits the configuration. Loaded.Version is set whenever the configuration was read,
	// also when it is then refused. With problems in some objects, Loaded.File holds the others along with the
	// error, so that their compile problems are reported in the same round; it is never served.
	Load() (Loaded, error)
	// Fingerprint is a hash of every input Load reads, so that a change (even an atomic symlink swap, as
	// Kubernetes does for mounted ConfigMaps and Secrets) is noticed by comparing two fingerprints.
	Fingerprint() (string, error)
	// Describe says what the source is, for logs.
	Describe() string
}

// Loaded is a configuration read from a Source.
type Loaded struct {
	File    *configfile.File
	Secrets config.SecretSource
	// Version names what was read: for the file the operator renders, the SHA-256 of its content in hex (the
	// endpoint's status.configHash), so that the operator can tell which configuration a pod serves; for
	// manifests, the hash of their files.
	Version string
}

// ManifestSource reads WebhookEndpoint, IntentRoute, Secret and ConfigMap manifests (standalone mode).
type ManifestSource struct {
	Paths []string
	// Endpoint, when set, serves only these endpoints (comma-separated names or namespace/names).
	Endpoint string
	// Logf receives notes such as ignored documents; may be nil.
	Logf func(format string, args ...any)

	fp fingerprinter
}

// Load implements Source.
func (s *ManifestSource) Load() (Loaded, error) {
	version, err := s.fp.fingerprint(s.Paths...)
	if err != nil {
		return Loaded{}, err
	}
	loaded, problems := config.LoadManifests(s.Paths...)
	if loaded == nil {
		return Loaded{Version: version}, problems
	}
	if s.Logf != nil {
		for _, ignored := range loaded.Ignored {
			s.Logf("ignored a document that is not a WebhookEndpoint, IntentRoute, Secret or ConfigMap: %s", ignored)
		}
		// One process serves every endpoint of the manifests, so their tracing blocks cannot each apply: the
		// standard variables configure the process's one exporter instead.
		for _, endpoint := range loaded.File.Endpoints {
			if endpoint.Spec.Observability != nil && endpoint.Spec.Observability.Tracing != nil {
				s.Logf("endpoint %s/%s: spec.observability.tracing is applied by the operator only; standalone, set "+
					"OTEL_EXPORTER_OTLP_ENDPOINT and the other OTEL_* variables (docs/tracing.md)", endpoint.Namespace, endpoint.Name)
			}
		}
	}
	file, err := selectEndpoints(loaded.File, s.Endpoint, problems)
	if err != nil {
		return Loaded{Version: version}, err
	}
	return Loaded{File: file, Secrets: config.Sources{SecretSource: loaded.Secrets, ConfigMaps: loaded.ConfigMaps}, Version: version}, problems
}

// Fingerprint implements Source.
func (s *ManifestSource) Fingerprint() (string, error) { return s.fp.fingerprint(s.Paths...) }

// Describe implements Source.
func (s *ManifestSource) Describe() string { return "manifests " + strings.Join(s.Paths, ", ") }

// FileSource reads the configuration file the operator renders, with Secrets mounted as files.
type FileSource struct {
	Path string
	// Endpoint, when set, serves only the endpoint of this name.
	Endpoint string

	// mountDirs caches the Secrets and ConfigMaps folders the file names, by the file's content, so that the
	// fingerprint taken every reload interval does not parse (and admit) the whole configuration.
	mu          sync.Mutex
	contentHash [sha256.Size]byte
	mountDirs   []string
	fp          fingerprinter
}

// Load implements Source.
func (s *FileSource) Load() (Loaded, error) {
	content, err := os.ReadFile(s.Path)
	if err != nil {
		return Loaded{}, fmt.Errorf("reading the configuration: %w", err)
	}
	sum := sha256.Sum256(content)
	loaded := Loaded{Version: hex.EncodeToString(sum[:])}
	file, problems := config.ParseFile(s.Path, content)
	if file == nil {
		return loaded, problems
	}
	if loaded.File, err = selectEndpoints(file, s.Endpoint, problems); err != nil {
		return loaded, err
	}
	secrets := config.CopiedSecrets{Copies: config.SecretCopiesFolder(s.Path, file.SecretCopiesDir),
		Mounted: config.DirSecrets(config.SecretsFolder(s.Path, file.SecretsDir))}
	loaded.Secrets = config.Sources{SecretSource: secrets,
		ConfigMaps: config.DirConfigMaps(config.ConfigMapsFolder(s.Path, file.ConfigMapsDir))}
	return loaded, problems
}

// Fingerprint implements Source: the file and every mounted Secret and ConfigMap.
func (s *FileSource) Fingerprint() (string, error) {
	paths := []string{s.Path}
	if dirs, ok := s.mountFolders(); ok {
		paths = append(paths, dirs...)
	}
	return s.fp.fingerprint(paths...)
}

// mountFolders are the Secrets and ConfigMaps folders the file names; the file is parsed again only when its
// content changed.
func (s *FileSource) mountFolders() ([]string, bool) {
	sum, ok := s.fp.contentSum(s.Path)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sum == s.contentHash && s.mountDirs != nil {
		return s.mountDirs, true
	}
	content, err := os.ReadFile(s.Path)
	if err != nil {
		return nil, false
	}
	var file struct {
		SecretsDir      string `json:"secretsDir"`
		SecretCopiesDir string `json:"secretCopiesDir"`
		ConfigMapsDir   string `json:"configMapsDir"`
	}
	if err := yaml.Unmarshal(content, &file); err != nil {
		return nil, false
	}
	dirs := []string{config.SecretsFolder(s.Path, file.SecretsDir), config.ConfigMapsFolder(s.Path, file.ConfigMapsDir)}
	if copies := config.SecretCopiesFolder(s.Path, file.SecretCopiesDir); copies != "" {
		dirs = append(dirs, copies)
	}
	s.contentHash, s.mountDirs = sum, dirs
	return dirs, true
}

// Describe implements Source.
func (s *FileSource) Describe() string { return "config " + s.Path }

// selectEndpoints is selectEndpoint for a configuration read with problems (nil when none): a named endpoint
// may be missing because its own document was refused, so only those problems are reported then.
func selectEndpoints(file *configfile.File, names string, problems error) (*configfile.File, error) {
	selected, err := selectEndpoint(file, names)
	if err != nil && problems != nil {
		return nil, problems
	}
	return selected, err
}

// selectEndpoint keeps only the named endpoints (a comma-separated list of names or namespace/names) when any
// are named.
func selectEndpoint(file *configfile.File, names string) (*configfile.File, error) {
	if names == "" {
		return file, nil
	}
	selected := *file
	selected.Endpoints = nil
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, e := range file.Endpoints {
			if e.Name == name || e.Namespace+"/"+e.Name == name {
				selected.Endpoints = append(selected.Endpoints, e)
				found = true
			}
		}
		if !found {
			var all []string
			for _, e := range file.Endpoints {
				all = append(all, e.Namespace+"/"+e.Name)
			}
			return nil, fmt.Errorf("--endpoint %s: no such WebhookEndpoint; the configuration has %s", name, strings.Join(all, ", "))
		}
	}
	return &selected, nil
}
