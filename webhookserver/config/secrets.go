package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// SecretSource gives the value of a key of a Secret in the endpoint's namespace.
type SecretSource interface {
	Secret(namespace, name, key string) ([]byte, error)
}

// ConfigMapSource gives the value of a key of a ConfigMap in the endpoint's namespace (a route's CA bundle). A
// SecretSource that is also one serves the ConfigMaps routes read; with one that is not, they are missing.
type ConfigMapSource interface {
	ConfigMap(namespace, name, key string) ([]byte, error)
}

// Sources are Secrets and ConfigMaps read from two places, as a SecretSource that is also a ConfigMapSource.
type Sources struct {
	SecretSource
	ConfigMaps ConfigMapSource
}

// ConfigMap implements ConfigMapSource.
func (s Sources) ConfigMap(namespace, name, key string) ([]byte, error) {
	return ReadConfigMap(s.ConfigMaps, namespace, name, key)
}

// ReadConfigMap reads a ConfigMap key from source, which may not be a ConfigMapSource (nothing is then found).
func ReadConfigMap(source any, namespace, name, key string) ([]byte, error) {
	if configMaps, ok := source.(ConfigMapSource); ok && configMaps != nil {
		return configMaps.ConfigMap(namespace, name, key)
	}
	return nil, fmt.Errorf("configmap %s/%s not found", namespace, name)
}

// MapConfigMaps holds ConfigMaps read from manifests, by namespace/name then key.
type MapConfigMaps map[string]map[string][]byte

// ConfigMap implements ConfigMapSource.
func (m MapConfigMaps) ConfigMap(namespace, name, key string) ([]byte, error) {
	return readMapKey(m, configMapKind, namespace, name, key)
}

// DirConfigMaps reads ConfigMaps mounted as files, <dir>/<name>/<key>, as the operator mounts them.
type DirConfigMaps string

// ConfigMap implements ConfigMapSource.
func (d DirConfigMaps) ConfigMap(_, name, key string) ([]byte, error) {
	return readMountedKey(string(d), configMapKind, name, key)
}

// MapSecrets holds Secrets read from manifests, by namespace/name then key.
type MapSecrets map[string]map[string][]byte

// Secret implements SecretSource.
func (m MapSecrets) Secret(namespace, name, key string) ([]byte, error) {
	return readMapKey(m, secretKind, namespace, name, key)
}

// DirSecrets reads Secrets mounted as files, <dir>/<name>/<key>, as the operator mounts them. The namespace is
// the pod's own, so it is not part of the path.
type DirSecrets string

// Secret implements SecretSource.
func (d DirSecrets) Secret(_, name, key string) ([]byte, error) {
	return readMountedKey(string(d), secretKind, name, key)
}

// CopiedSecrets reads a Secret's key from its copy in Copies (configfile.SecretCopyKey) when there is one, and
// from Mounted otherwise: a WebhookGateway's pods mount their members' Secrets as copies in one Secret, and a
// Secret too large to copy as a folder of its own.
type CopiedSecrets struct {
	Copies  string
	Mounted DirSecrets
}

// Secret implements SecretSource.
func (c CopiedSecrets) Secret(namespace, name, key string) ([]byte, error) {
	// A name with "_" is no Secret's, and a "/" would leave the folder: neither is looked up as a copy.
	if c.Copies != "" && name != "" && key != "" && !strings.Contains(name, "_") && !strings.Contains(name+key, "/") {
		value, err := os.ReadFile(filepath.Join(c.Copies, configfile.SecretCopyKey(name, key)))
		if err == nil {
			return value, nil
		}
		if !os.IsNotExist(err) {
			return nil, fmt.Errorf("%s %s key %q: %w", secretKind.text, name, key, err)
		}
	}
	return c.Mounted.Secret(namespace, name, key)
}

// objectKind names Secrets or ConfigMaps in errors: lower-case in running text, as the API spells it when it
// names the kind.
type objectKind struct{ text, kind string }

var (
	secretKind    = objectKind{"secret", "Secret"}
	configMapKind = objectKind{"configmap", "ConfigMap"}
)

// readMapKey reads a key of an object read from manifests, by namespace/name then key.
func readMapKey(objects map[string]map[string][]byte, kind objectKind, namespace, name, key string) ([]byte, error) {
	data, ok := objects[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("%s %s/%s not found: add its manifest", kind.text, namespace, name)
	}
	value, ok := data[key]
	if !ok {
		return nil, fmt.Errorf("%s %s/%s has no key %q", kind.text, namespace, name, key)
	}
	return value, nil
}

// readMountedKey reads a key of an object mounted as files, <dir>/<name>/<key>.
func readMountedKey(dir string, kind objectKind, name, key string) ([]byte, error) {
	if name == "." || name == ".." || key == "." || key == ".." {
		return nil, fmt.Errorf("%s %q key %q: not a %s name and key", kind.text, name, key, kind.kind)
	}
	path := filepath.Join(dir, name, key)
	value, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%s %s key %q is not mounted at %s", kind.text, name, key, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s key %q: %w", kind.text, name, key, err)
	}
	return value, nil
}
