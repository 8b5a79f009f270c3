package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// DefaultSecretsDir is where the operator mounts referenced Secrets when the file names no secretsDir.
const DefaultSecretsDir = "/etc/fulfillment/secrets"

// SecretsFolder is where the configuration file at path finds its Secrets when it names secretsDir:
// DefaultSecretsDir when it names none, and a relative one is relative to the file.
func SecretsFolder(path, secretsDir string) string {
	switch {
	case secretsDir == "":
		return DefaultSecretsDir
	case filepath.IsAbs(secretsDir):
		return secretsDir
	default:
		return filepath.Join(filepath.Dir(path), secretsDir)
	}
}

// SecretCopiesFolder is where the configuration file at path finds the copies of Secrets' keys it names in
// secretCopiesDir, relative to the file; "" when it names none.
func SecretCopiesFolder(path, secretCopiesDir string) string {
	if secretCopiesDir == "" {
		return ""
	}
	return SecretsFolder(path, secretCopiesDir)
}

// DefaultConfigMapsDir is where the operator mounts referenced ConfigMaps when the file names no configMapsDir.
const DefaultConfigMapsDir = "/etc/fulfillment/configmaps"

// ConfigMapsFolder is SecretsFolder for configMapsDir.
func ConfigMapsFolder(path, configMapsDir string) string {
	if configMapsDir == "" {
		return DefaultConfigMapsDir
	}
	return SecretsFolder(path, configMapsDir)
}

// rawFile is File with specs kept as decoded JSON, so that admission sees what was written (an omitted field
// gets its default, which a typed zero value would hide).
type rawFile struct {
	configfile.Header
	Endpoints []struct {
		Name      string         `json:"name"`
		Namespace string         `json:"namespace"`
		Spec      map[string]any `json:"spec"`
		Routes    []struct {
			Name    string         `json:"name"`
			Created metav1.Time    `json:"created,omitempty"`
			Spec    map[string]any `json:"spec"`
		} `json:"routes,omitempty"`
		Leaving bool `json:"leaving,omitempty"`
	} `json:"endpoints"`
	DrainPods []string `json:"drainPods,omitempty"`
}

// ParseFile decodes and admits a configuration file; name is used in problems. With problems in its endpoints
// or routes, what could be admitted is returned too, as LoadManifests does; nil when the file is not a
// configuration at all.
func ParseFile(name string, content []byte) (*configfile.File, error) {
	raw := &rawFile{}
	jsonContent, err := yaml.YAMLToJSON(content)
	if err == nil {
		// Numbers decode as int64 where integral, as in the API server, so that integer fields validate.
		err = utiljson.Unmarshal(jsonContent, raw)
	}
	if err == nil {
		err = yaml.UnmarshalStrict(content, &rawFile{}) // refuses unknown top-level fields
	}
	if err != nil {
		return nil, &Error{Problems: []Problem{{File: name, Message: "not a valid configuration: " + err.Error()}}}
	}
	if raw.APIVersion != configfile.APIVersion || raw.Kind != configfile.Kind {
		return nil, &Error{Problems: []Problem{{File: name, Message: fmt.Sprintf(
			"apiVersion %q and kind %q are not a webhookserver configuration: want apiVersion %s and kind %s",
			raw.APIVersion, raw.Kind, configfile.APIVersion, configfile.Kind)}}}
	}
	file := &configfile.File{Header: raw.Header, DrainPods: raw.DrainPods}
	validate := !raw.Admitted
	var found problems
	for i, rawEndpoint := range raw.Endpoints {
		at := configfile.Location{File: name, Path: fmt.Sprintf("endpoints[%d]", i)}
		endpoint := configfile.Endpoint{Name: rawEndpoint.Name, Namespace: rawEndpoint.Namespace, Leaving: rawEndpoint.Leaving, Source: at}
		if endpoint.Namespace == "" {
			endpoint.Namespace = DefaultNamespace
		}
		ok := admitObject(name, at.Path, "WebhookEndpoint", endpoint.Name, endpoint.Namespace, rawEndpoint.Spec, &endpoint.Spec, validate, &found)
		for j, rawRoute := range rawEndpoint.Routes {
			routeAt := configfile.Location{File: name, Path: fmt.Sprintf("%s.routes[%d]", at.Path, j)}
			route := configfile.Route{Name: rawRoute.Name, Created: rawRoute.Created, Source: routeAt}
			if admitObject(name, routeAt.Path, "IntentRoute", route.Name, endpoint.Namespace, rawRoute.Spec, &route.Spec, validate, &found) {
				endpoint.Routes = append(endpoint.Routes, route)
			}
		}
		if ok {
			file.Endpoints = append(file.Endpoints, endpoint)
		} else {
			file.Refused = append(file.Refused, endpoint)
		}
	}
	if len(found) == 0 && len(file.Endpoints) == 0 {
		return nil, &Error{Problems: []Problem{{File: name, Field: "endpoints", Message: "Required value: the configuration serves no endpoint"}}}
	}
	return file, found.err()
}

// admitObject wraps spec into an object of kind, admits it with the CRD rules (validating it when validate is
// set) and decodes the defaulted spec into out. Problems are located at prefix (e.g. endpoints[0]) in file.
func admitObject(file, prefix, kind, name, namespace string, spec map[string]any, out any, validate bool, found *problems) bool {
	// Numbers must be int64 where integral, as in the API server; a struct field of type map[string]any does
	// not get that conversion, so the spec is decoded again on its own.
	converted := map[string]any{}
	if raw, err := json.Marshal(spec); err == nil && spec != nil {
		_ = utiljson.Unmarshal(raw, &converted)
	}
	spec = converted
	doc := document{file: file, object: map[string]any{
		"apiVersion": configfile.APIVersion,
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": namespace},
		"spec":       spec,
	}}
	before := len(*found)
	defer func() {
		for i := before; i < len(*found); i++ {
			(*found)[i].Field = prefix + "." + (*found)[i].Field
		}
	}()
	if problem, ok := checkName(doc); !ok {
		found.add(problem)
		return false
	}
	var admitted struct {
		Spec json.RawMessage `json:"spec"`
	}
	if !admitInto(doc, &admitted, validate, found) {
		return false
	}
	if err := json.Unmarshal(admitted.Spec, out); err != nil {
		found.add(doc.problem("spec", err.Error()))
		return false
	}
	return true
}
